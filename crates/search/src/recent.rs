//! Top-k collector ordering by `updated_at` desc, then `code`, then `key` (used without text).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{ColumnValues, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::{CODE, KEY, UPDATED_AT};

/// Collects documents `range.start..range.end` of the ordering.
pub(crate) struct RecentCollector {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Segment-local sort key; term ordinals compare like their strings within one segment.
#[derive(Clone, Copy, PartialEq, Eq)]
struct LocalKey {
    updated_at: i64,
    code: u64,
    key: u64,
    doc: DocId,
}

impl Ord for LocalKey {
    /// "Better" (earlier in the result list) is greater.
    fn cmp(&self, other: &Self) -> Ordering {
        self.updated_at
            .cmp(&other.updated_at)
            .then_with(|| other.code.cmp(&self.code))
            .then_with(|| other.key.cmp(&self.key))
            .then_with(|| other.doc.cmp(&self.doc))
    }
}

impl PartialOrd for LocalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Heap entry ordered so that the *worst* kept document is on top.
#[derive(PartialEq, Eq)]
struct Worst(LocalKey);

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp(&self.0)
    }
}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub(crate) struct RecentSegmentCollector {
    segment: SegmentOrdinal,
    k: usize,
    updated_at: Option<Arc<dyn ColumnValues<i64>>>,
    code: Option<StrColumn>,
    key: Option<StrColumn>,
    heap: BinaryHeap<Worst>,
}

/// (updated_at, code, key, address) of a kept document.
pub(crate) type RecentEntry = (i64, String, String, DocAddress);

impl Collector for RecentCollector {
    type Fruit = Vec<DocAddress>;
    type Child = RecentSegmentCollector;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<RecentSegmentCollector> {
        let fast = segment.fast_fields();
        let updated_at = fast.i64(UPDATED_AT).ok().map(|c| c.first_or_default_col(i64::MIN));
        Ok(RecentSegmentCollector {
            segment: segment_local_id,
            k: self.end,
            updated_at,
            code: fast.str(CODE)?,
            key: fast.str(KEY)?,
            heap: BinaryHeap::with_capacity(self.end.min(1024) + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segment_fruits: Vec<Vec<RecentEntry>>) -> tantivy::Result<Vec<DocAddress>> {
        let mut all: Vec<RecentEntry> = segment_fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| {
            b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)).then_with(|| a.2.cmp(&b.2)).then_with(|| a.3.cmp(&b.3))
        });
        Ok(all.into_iter().skip(self.start).take(self.end.saturating_sub(self.start)).map(|e| e.3).collect())
    }
}

fn ord(col: &Option<StrColumn>, doc: DocId) -> u64 {
    col.as_ref().and_then(|c| c.ords().first(doc)).unwrap_or(u64::MAX)
}

fn ord_str(col: &Option<StrColumn>, ord: u64) -> String {
    let mut s = String::new();
    if let Some(c) = col
        && let Err(err) = c.ord_to_str(ord, &mut s)
    {
        tracing::warn!(%err, "sort value lookup failed");
    }
    s
}

impl SegmentCollector for RecentSegmentCollector {
    type Fruit = Vec<RecentEntry>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if self.k == 0 {
            return;
        }
        let updated_at = self.updated_at.as_ref().map_or(i64::MIN, |c| c.get_val(doc));
        if self.heap.len() >= self.k
            && let Some(worst) = self.heap.peek()
            && updated_at < worst.0.updated_at
        {
            return;
        }
        let candidate = LocalKey { updated_at, code: ord(&self.code, doc), key: ord(&self.key, doc), doc };
        if self.heap.len() < self.k {
            self.heap.push(Worst(candidate));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate > worst.0
        {
            *worst = Worst(candidate);
        }
    }

    fn harvest(self) -> Vec<RecentEntry> {
        self.heap
            .into_iter()
            .map(|Worst(k)| {
                (
                    k.updated_at,
                    ord_str(&self.code, k.code),
                    ord_str(&self.key, k.key),
                    DocAddress::new(self.segment, k.doc),
                )
            })
            .collect()
    }
}
