//! Facet counting over the full result set, from string fast fields (term ordinals per segment).

use std::collections::{BTreeMap, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::FacetCount;
use crate::schema::FACETS;

/// Counts matching documents and their values in every facet dimension.
pub(crate) struct FacetCollector;

/// Result of [`FacetCollector`]: total count and, per dimension (same order as [`FACETS`]), counts
/// by value.
#[derive(Default)]
pub(crate) struct FacetFruit {
    pub(crate) total: u64,
    pub(crate) counts: Vec<HashMap<String, u64>>,
}

impl FacetFruit {
    /// Sorted facets as exposed in [`crate::SearchResult::facets`].
    pub(crate) fn into_facets(self) -> BTreeMap<String, Vec<FacetCount>> {
        let mut out = BTreeMap::new();
        for (i, (name, _)) in FACETS.iter().enumerate() {
            let mut values: Vec<FacetCount> = self
                .counts
                .get(i)
                .map(|m| m.iter().map(|(value, count)| FacetCount { value: value.clone(), count: *count }).collect())
                .unwrap_or_default();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            out.insert((*name).to_string(), values);
        }
        out
    }
}

struct Dimension {
    column: StrColumn,
    ords: Column<u64>,
    counts: Vec<u64>,
}

pub(crate) struct FacetSegmentCollector {
    total: u64,
    dims: Vec<Option<Dimension>>,
}

impl Collector for FacetCollector {
    type Fruit = FacetFruit;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetSegmentCollector> {
        let fast = segment.fast_fields();
        let mut dims = Vec::with_capacity(FACETS.len());
        for (_, field) in FACETS.iter() {
            let dim = fast.str(field)?.map(|column| {
                let ords = column.ords().clone();
                let counts = vec![0u64; column.num_terms()];
                Dimension { column, ords, counts }
            });
            dims.push(dim);
        }
        Ok(FacetSegmentCollector { total: 0, dims })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segment_fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut merged = FacetFruit { total: 0, counts: vec![HashMap::new(); FACETS.len()] };
        for fruit in segment_fruits {
            merged.total += fruit.total;
            for (acc, counts) in merged.counts.iter_mut().zip(fruit.counts) {
                for (value, count) in counts {
                    *acc.entry(value).or_insert(0) += count;
                }
            }
        }
        Ok(merged)
    }
}

impl FacetSegmentCollector {
    #[inline]
    fn count(&mut self, doc: DocId) {
        self.total += 1;
        for dim in self.dims.iter_mut().flatten() {
            if let Some(ord) = dim.ords.first(doc)
                && let Some(c) = dim.counts.get_mut(ord as usize)
            {
                *c += 1;
            }
        }
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.count(doc);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for doc in docs {
            self.count(*doc);
        }
    }

    fn harvest(self) -> FacetFruit {
        let mut counts = Vec::with_capacity(self.dims.len());
        for dim in self.dims {
            let mut map = HashMap::new();
            if let Some(dim) = dim {
                for (ord, count) in dim.counts.iter().enumerate() {
                    if *count == 0 {
                        continue;
                    }
                    let mut value = String::new();
                    match dim.column.ord_to_str(ord as u64, &mut value) {
                        Ok(true) if !value.is_empty() => {
                            map.insert(value, *count);
                        }
                        Ok(_) => {}
                        Err(err) => tracing::warn!(%err, "facet value lookup failed"),
                    }
                }
            }
            counts.push(map);
        }
        FacetFruit { total: self.total, counts }
    }
}
