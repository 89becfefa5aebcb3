//! [`MemoryStore`]: exact search in process memory. The embedded default,
//! and the reference every other backend is checked against.

mod scan;
mod table;
mod text;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::batch::plan_upsert;
use crate::distance::distance;
use crate::fusion::{fuse, Fusion};
use crate::text::analyze;
use crate::{
    validate, Capabilities, CollectionSpec, Error, ErrorKind, Filter, KeywordScoring, Metric,
    Precision, Record, RecordId, Result, SearchHit, SearchMode, SearchQuery, Selector,
    TextAnalyzer, UpsertReport, VectorStore,
};
use scan::{score_limit, top_k, Rows};
use table::Table;

/// An exact, in-memory [`VectorStore`].
///
/// - **Exact**: every search scores every (filtered) row, whatever
///   [`crate::IndexSpec`] the collection names, so recall is always 1.
/// - **Fast scan**: each collection keeps its vectors in one contiguous
///   `Vec<f32>` (`rows * dimension`) with precomputed inverse norms for
///   cosine; the SIMD-friendly kernels of [`crate::distance`] score rows into
///   a bounded top-k heap, and scans over 4 MiB of vectors are split across
///   threads. The winners' distances are then recomputed in `f64`
///   ([`crate::distance::distance`]), so they are exact to `f32` precision.
/// - **Ties** go by id: when `k` cuts through records at an equal distance,
///   the smallest ids are kept, whatever order the records were written in
///   (candidates within `f32` rounding of the `k`-th are re-ranked by their
///   exact distance, then id).
/// - **Filters** are evaluated in memory with [`crate::filter::matches`].
/// - **Keyword search** scores every matching row by exact BM25
///   ([`crate::text::Bm25`], statistics over the whole collection), and
///   hybrid search fuses the two exact arms ([`crate::fusion`]): the
///   oracle the conformance suite compares other backends with.
/// - **`F16` collections** keep each component rounded to half precision
///   (`half::f16`), the values pgvector's `halfvec` holds.
/// - **Thread-safe**: a lock per collection (many readers or one writer);
///   large upserts take the write lock once per `max_batch_size` chunk.
///
/// Its methods do their work on the calling task's thread: a search over
/// 100k x 768 vectors takes tens of milliseconds, so a latency-sensitive
/// async service with such collections should call it from
/// `tokio::task::spawn_blocking` (the store is cheap to share in an `Arc`).
///
/// ```
/// use ai_data_vector::{CollectionSpec, MemoryStore, Metric, Record, RecordId, SearchQuery, VectorStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_vector::Result<()> {
/// let store = MemoryStore::new().with_max_batch_size(1000);
/// assert_eq!(store.capabilities().max_batch_size, 1000);
/// store.ensure_collection(&CollectionSpec::new("img", 3, Metric::Cosine)).await?;
/// let records: Vec<Record> = (0..100)
///     .map(|i| Record::new(RecordId::from_key(&format!("img-{i}")), vec![1.0, i as f32, 0.5], Default::default()))
///     .collect();
/// store.upsert("img", &records).await?;
/// let hits = store.search("img", &SearchQuery::new(vec![1.0, 7.0, 0.5], 3)).await?;
/// assert_eq!(hits[0].id, RecordId::from_key("img-7"));
/// assert!(hits[0].distance.abs() < 1e-6);
/// assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
/// # Ok(())
/// # }
/// ```
pub struct MemoryStore {
    collections: RwLock<HashMap<String, Arc<Entry>>>,
    capabilities: Capabilities,
    threads: usize,
}

#[derive(Debug)]
struct Entry {
    spec: CollectionSpec,
    table: RwLock<Table>,
}

impl MemoryStore {
    /// Default records per write-lock hold.
    pub const DEFAULT_MAX_BATCH_SIZE: usize = 4096;
    /// Largest dimension accepted.
    pub const MAX_DIMENSION: usize = 65_536;
    /// Default largest `k`.
    pub const DEFAULT_MAX_K: usize = 10_000;

    /// An empty store: every metric, index kind and filter operator; scans
    /// use as many threads as [`std::thread::available_parallelism`].
    pub fn new() -> Self {
        MemoryStore {
            collections: RwLock::new(HashMap::new()),
            capabilities: Capabilities::new(
                Self::DEFAULT_MAX_BATCH_SIZE,
                Self::MAX_DIMENSION,
                Self::DEFAULT_MAX_K,
            )
            .with_text_search(TextAnalyzer::ALL, KeywordScoring::Bm25, true)
            .with_precisions([Precision::F32, Precision::F16]),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Write at most `n` records per write-lock hold (readers get in between).
    #[must_use]
    pub fn with_max_batch_size(mut self, n: usize) -> Self {
        self.capabilities.max_batch_size = n.max(1);
        self
    }

    /// Allow `k` up to `n`.
    #[must_use]
    pub fn with_max_k(mut self, n: usize) -> Self {
        self.capabilities.max_k = n.max(1);
        self
    }

    /// Split large scans across at most `n` threads (1: never).
    #[must_use]
    pub fn with_threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    fn entry(&self, name: &str) -> Result<Arc<Entry>> {
        validate::collection_name(name)?;
        read(&self.collections).get(name).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("collection `{name}` does not exist"),
            )
        })
    }
}

impl fmt::Debug for MemoryStore {
    /// Collection names and sizes, never the vectors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let collections = read(&self.collections);
        let mut sizes: Vec<(&str, usize)> = collections
            .iter()
            .map(|(name, entry)| (name.as_str(), read(&entry.table).len()))
            .collect();
        sizes.sort_unstable();
        f.debug_struct("MemoryStore")
            .field("collections", &sizes)
            .field("capabilities", &self.capabilities)
            .field("threads", &self.threads)
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Adds the operation and collection to an error.
fn context<'a>(
    operation: &'static str,
    collection: &'a str,
) -> impl Fn(Error) -> Error + Copy + 'a {
    move |e| e.with_operation(operation).with_target(collection)
}

#[async_trait]
impl VectorStore for MemoryStore {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        let ctx = context("ensure_collection", &spec.name);
        validate::collection_spec(spec, &self.capabilities).map_err(ctx)?;
        let mut collections = write(&self.collections);
        if let Some(existing) = collections.get(&spec.name) {
            validate::compatible(&existing.spec, spec).map_err(ctx)?;
            return Ok(false);
        }
        let entry = Entry {
            spec: spec.clone(),
            table: RwLock::new(Table::new(spec)),
        };
        collections.insert(spec.name.clone(), Arc::new(entry));
        Ok(true)
    }

    async fn drop_collection(&self, name: &str) -> Result<bool> {
        validate::collection_name(name).map_err(context("drop_collection", name))?;
        Ok(write(&self.collections).remove(name).is_some())
    }

    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        let entry = self
            .entry(collection)
            .map_err(context("upsert", collection))?;
        let plan = plan_upsert(&entry.spec, records);
        for chunk in plan.chunks(self.capabilities.max_batch_size) {
            let mut table = write(&entry.table);
            for record in chunk {
                table.upsert(record);
            }
        }
        Ok(plan.into_report())
    }

    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        let entry = self.entry(collection).map_err(context("get", collection))?;
        let table = read(&entry.table);
        Ok(table
            .rows_of(ids)
            .into_iter()
            .map(|row| table.record(row))
            .collect())
    }

    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        let ctx = context("delete", collection);
        let entry = self.entry(collection).map_err(ctx)?;
        validate::selector(&entry.spec, &self.capabilities, &selector).map_err(ctx)?;
        let mut table = write(&entry.table);
        let rows = match &selector {
            Selector::Ids(ids) => table.rows_of(ids),
            Selector::Filter(filter) => table.matching_rows(filter),
        };
        Ok(table.delete_rows(rows))
    }

    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        let entry = self
            .entry(collection)
            .map_err(context("count", collection))?;
        let table = read(&entry.table);
        let Some(filter) = filter else {
            return Ok(table.len() as u64);
        };
        validate::filter(&entry.spec, &self.capabilities, filter)
            .map_err(context("count", collection))?;
        Ok(table.matching_rows(filter).len() as u64)
    }

    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        let entry = self
            .entry(collection)
            .map_err(context("search", collection))?;
        validate::query(&entry.spec, &self.capabilities, query)
            .map_err(context("search", collection))?;
        let table = read(&entry.table);
        let filtered = query.filter.as_ref().map(|f| table.matching_rows(f));
        let rows = filtered.as_deref().map_or(Rows::All, Rows::Only);
        let hit = |row: usize, distance: f32, score: Option<f32>| SearchHit {
            id: table.ids[row],
            distance,
            score,
            payload: query.include_payload.then(|| table.payloads[row].clone()),
            vector: query.include_vector.then(|| table.vector(row).to_vec()),
        };
        let metric = entry.spec.metric;
        let hits = match query.mode() {
            SearchMode::Vector => self
                .nearest(&table, metric, query, query.k, rows)
                .into_iter()
                .map(|(row, d)| hit(row, d, None))
                .collect(),
            SearchMode::Keyword => {
                text::keyword_arm(&table, &query_terms(&entry.spec, query), query.k, rows)
                    .into_iter()
                    .map(|(row, score)| hit(row, f32::NAN, Some(score)))
                    .collect()
            }
            SearchMode::Hybrid => {
                let text = query.text.as_ref().map(|t| (t.alpha, t.fusion));
                let (alpha, fusion) = text.unwrap_or((0.5, Fusion::default()));
                let depth = query.arm_depth();
                let vector_arm = if alpha > 0.0 {
                    self.nearest(&table, metric, query, depth, rows)
                } else {
                    Vec::new()
                };
                let keyword_arm = if alpha < 1.0 {
                    text::keyword_arm(&table, &query_terms(&entry.spec, query), depth, rows)
                } else {
                    Vec::new()
                };
                let as_ids = |arm: &[(usize, f32)]| -> Vec<(RecordId, f32)> {
                    arm.iter().map(|(row, v)| (table.ids[*row], *v)).collect()
                };
                fuse(&as_ids(&vector_arm), &as_ids(&keyword_arm), alpha, fusion)
                    .into_iter()
                    .take(query.k)
                    .filter_map(|(id, score)| table.row(&id).map(|row| (row, score)))
                    .map(|(row, score)| {
                        let d = distance(metric, &query.vector, table.vector(row));
                        hit(row, d, Some(score))
                    })
                    .collect()
            }
        };
        Ok(hits)
    }
}

impl MemoryStore {
    /// The `k` nearest rows with their exact distances, within the query's
    /// `max_distance`, by distance then id.
    fn nearest(
        &self,
        table: &Table,
        metric: Metric,
        query: &SearchQuery,
        k: usize,
        rows: Rows<'_>,
    ) -> Vec<(usize, f32)> {
        let limit = score_limit(metric, query.max_distance);
        let candidates = top_k(table, metric, &query.vector, k, limit, rows, self.threads);
        let mut nearest: Vec<(usize, f32)> = candidates
            .into_iter()
            .map(|c| (c.row, distance(metric, &query.vector, table.vector(c.row))))
            .filter(|(_, d)| query.max_distance.is_none_or(|max| *d <= max))
            .collect();
        // The candidates include the near ties of the k-th: exact distance,
        // then id, decides, then the cut.
        nearest.sort_by(|a, b| {
            a.1.total_cmp(&b.1)
                .then(table.ids[a.0].cmp(&table.ids[b.0]))
        });
        nearest.truncate(k);
        nearest
    }
}

/// The query text's terms under the collection's analyzer.
fn query_terms(spec: &CollectionSpec, query: &SearchQuery) -> Vec<String> {
    match (&spec.text_search, &query.text) {
        (Some(search), Some(text)) => analyze(search.analyzer, &text.text),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
