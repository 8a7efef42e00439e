//! Full-text and faceted search over the resource catalog (信息资源目录).
//!
//! The crate indexes plain [`IndexDoc`]s in a tantivy index: Chinese text is segmented with jieba
//! (search mode) and additionally indexed as character n-grams, so that both word-level ranking and
//! substring matching work (`企业 登记` finds `企业登记信息`, `户籍` finds `居民户籍信息`). Filters are
//! exact terms; facets are counted from fast fields over the whole filtered result set.

mod analysis;
mod facets;
mod query;
mod recent;
mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::schema::Value;
use tantivy::{DocAddress, Index, IndexBuilder, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{JIEBA_TOKENIZER, JiebaWords, NGRAM_TOKENIZER, NgramTokenizer};
use crate::facets::{FacetCollector, FacetFruit};
use crate::recent::RecentCollector;
use crate::schema::Fields;

/// Memory budget of the index writer (all indexing threads together).
const WRITER_MEMORY_BUDGET: usize = 50_000_000;
/// Number of indexing threads.
const WRITER_THREADS: usize = 1;
/// Doc store blocks cached per segment by the reader (keeps idle memory low).
const DOC_STORE_CACHE_BLOCKS: usize = 10;

/// A catalog entry (one version of it) as indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDoc {
    /// Unique per document, e.g. `"101001/000123@published"` or `"101001/000123@draft"`.
    pub key: String,
    /// Resource code, e.g. `"101001/000123"`.
    pub code: String,
    pub name: String,
    pub summary: String,
    pub item_names: Vec<String>,
    pub provider_id: String,
    pub provider_name: String,
    /// Classification part of the code, e.g. `"101001"`.
    pub class_code: String,
    /// 类: 1, 2, 3.
    pub lei: u8,
    /// `unconditional` | `conditional` | `not_shared`.
    pub share_type: String,
    pub open: bool,
    pub update_cycle: String,
    /// `draft` | `submitted` | `returned` | `published` | `retired`.
    pub status: String,
    /// 6-digit region code of the provider.
    pub region: String,
    /// Unix seconds; sort key when there is no text query.
    pub updated_at: i64,
}

/// A search request. All filters are exact and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Free user text; words (split on whitespace and punctuation) are ANDed. Never an error.
    pub text: Option<String>,
    /// `provider_id`, exact.
    pub provider: Option<String>,
    /// Prefix of `class_code`: `"1"` (类), `"101"`, `"101001"`.
    pub class: Option<String>,
    pub share_type: Option<String>,
    pub open: Option<bool>,
    pub update_cycle: Option<String>,
    /// Any of these statuses; empty = any status.
    pub status: Vec<String>,
    pub region: Option<String>,
    /// Docs whose status is not published/retired are visible only to this department (None = see
    /// all, e.g. the authority).
    pub viewer_department: Option<String>,
    /// true: apply the `viewer_department` rule; false: no visibility filter.
    pub restrict_non_public: bool,
    pub offset: usize,
    pub limit: usize,
    /// Fill [`Hit::name_highlight`] with `<mark>…</mark>` around matches (HTML-escaped otherwise).
    pub highlight: bool,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub key: String,
    pub code: String,
    /// Relevance score (0 when there is no text query).
    pub score: f32,
    /// HTML-safe name with `<mark>` around matched words, when [`SearchQuery::highlight`] is set.
    pub name_highlight: Option<String>,
}

/// Number of results having one facet value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Search results: one page of hits, the total and facets over the whole filtered result set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub total: u64,
    pub hits: Vec<Hit>,
    /// Keys: `provider` (provider id), `class` (first 3 characters of `class_code`: 类 + 项, e.g.
    /// `"101"`), `share_type`, `open` (`"true"`/`"false"`), `update_cycle`, `status`, `region`.
    /// Values sorted by count desc, then value. Empty values are not counted.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
}

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Error of the underlying index (I/O, corruption, lock, schema mismatch…).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be created.
    #[error("cannot create index directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The query cannot be executed. User text never causes it; kept for callers' matching.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
}

impl From<tantivy::directory::error::OpenDirectoryError> for SearchError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        SearchError::Index(e.into())
    }
}

/// The catalog search index. `Send + Sync`; share it with `Arc`.
pub struct CatalogIndex {
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
}

impl std::fmt::Debug for CatalogIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogIndex").field("num_docs", &self.num_docs()).finish_non_exhaustive()
    }
}

impl CatalogIndex {
    /// Open the index in `dir`, creating the directory and an empty index if needed.
    ///
    /// An index written with a different schema (older version of this crate) is an error
    /// ([`SearchError::Index`]): remove the directory and [`rebuild`](Self::rebuild).
    pub fn open_or_create(dir: &Path) -> Result<CatalogIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|source| SearchError::CreateDir { path: dir.to_path_buf(), source })?;
        let (schema, fields) = schema::build();
        let directory = MmapDirectory::open(dir)?;
        let index = Index::open_or_create(directory, schema)?;
        Self::from_index(index, fields)
    }

    /// A new empty index held in memory (tests, demos).
    pub fn in_memory() -> Result<CatalogIndex, SearchError> {
        let (schema, fields) = schema::build();
        let index = IndexBuilder::new().schema(schema).create_in_ram()?;
        Self::from_index(index, fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<CatalogIndex, SearchError> {
        index.tokenizers().register(JIEBA_TOKENIZER, JiebaWords::new(true));
        index.tokenizers().register(NGRAM_TOKENIZER, NgramTokenizer);
        // One indexing thread: the memory it frees after a commit stays in a single malloc arena
        // (two threads retain about twice as much resident memory for no faster indexing on the
        // small machines the platform targets).
        let writer = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BUDGET)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()?;
        Ok(CatalogIndex { fields, reader, writer: Mutex::new(writer) })
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Insert or replace documents (by key), commit, and make them visible to the next search.
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<(), SearchError> {
        if docs.is_empty() {
            return Ok(());
        }
        self.write(|w, f| {
            for d in docs {
                w.delete_term(Term::from_field_text(f.key, &d.key));
                w.add_document(schema::to_document(f, d))?;
            }
            Ok(())
        })
    }

    /// Delete documents by key, commit, and make it visible to the next search.
    pub fn delete(&self, keys: &[String]) -> Result<(), SearchError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.write(|w, f| {
            for k in keys {
                w.delete_term(Term::from_field_text(f.key, k));
            }
            Ok(())
        })
    }

    /// Replace the whole content of the index with `docs`, in one commit.
    pub fn rebuild(&self, docs: &mut dyn Iterator<Item = IndexDoc>) -> Result<(), SearchError> {
        self.write(|w, f| {
            w.delete_all_documents()?;
            for d in docs {
                w.add_document(schema::to_document(f, &d))?;
            }
            Ok(())
        })
    }

    fn lock_writer(&self) -> MutexGuard<'_, IndexWriter> {
        // A panic while holding the lock cannot leave the writer half-committed: uncommitted
        // operations are rolled back below or by the next failed write.
        self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write<F>(&self, ops: F) -> Result<(), SearchError>
    where
        F: FnOnce(&mut IndexWriter, &Fields) -> tantivy::Result<()>,
    {
        let mut writer = self.lock_writer();
        let result = ops(&mut writer, &self.fields).and_then(|()| writer.commit().map(|_| ()));
        if let Err(err) = result {
            tracing::error!(%err, "search index write failed, rolling back");
            if let Err(rb) = writer.rollback() {
                tracing::error!(err = %rb, "search index rollback failed");
            }
            return Err(err.into());
        }
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Run a search.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResult, SearchError> {
        let words = q.text.as_deref().map(analysis::analyze_query).unwrap_or_default();
        let query = query::build(&self.fields, q, &words);
        let searcher = self.reader.searcher();
        let num_docs = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let start = q.offset.min(num_docs);
        let end = q.offset.saturating_add(q.limit).min(num_docs);

        let (page, fruit): (Vec<(f32, DocAddress)>, FacetFruit) = if end <= start {
            (Vec::new(), searcher.search(&*query, &FacetCollector)?)
        } else if !words.is_empty() {
            let top = TopDocs::for_doc_range(start..end).order_by_score();
            searcher.search(&*query, &(top, FacetCollector))?
        } else {
            let top = RecentCollector { start, end };
            let (top, fruit) = searcher.search(&*query, &(top, FacetCollector))?;
            (top.into_iter().map(|a| (0.0, a)).collect(), fruit)
        };

        let f = &self.fields;
        let mut hits = Vec::with_capacity(page.len());
        for (score, addr) in page {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let name_highlight = q.highlight.then(|| analysis::highlight(&text(f.name), &words));
            hits.push(Hit { key: text(f.key), code: text(f.code), score, name_highlight });
        }
        Ok(SearchResult { total: fruit.total, hits, facets: fruit.into_facets() })
    }
}

#[cfg(test)]
mod tests;
