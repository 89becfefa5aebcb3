//! The object-safe [`VectorStore`] trait every backend implements, and the
//! [`VectorStoreExt`] conveniences on top of it.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::{
    Capabilities, CollectionSpec, Filter, Record, RecordId, Result, SearchHit, SearchQuery,
    Selector, UpsertReport,
};

/// A vector store: collections of [`Record`]s searched by distance.
///
/// # Contract (checked by the `conformance` suite)
///
/// - **Validation before I/O**: every method validates its input with the
///   shared [`crate::validate`] functions first, so a bad vector, `k`, name
///   or filter fails with `ErrorKind::InvalidInput` (or `Unsupported` for an
///   operator/metric/index the backend lacks) and never reaches the server.
/// - **Distances** are the same numbers on every backend (see [`crate::Metric`]).
/// - **Filters** mean the same on every backend (see [`crate::filter`]); a
///   backend never evaluates a different condition than asked.
/// - **Payloads** come back from `get` and `search` unchanged, to the bit
///   (see [`crate::Payload`]); a stored value that does not decode is an
///   error naming the record, never a hit without its payload.
/// - Operations on a collection that does not exist fail with
///   `ErrorKind::NotFound`, the collection as the error's target.
///
/// ```
/// use ai_data_vector::{CollectionSpec, Filter, MemoryStore, Metric, Record, RecordId, SearchQuery, Selector, VectorStore};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_vector::Result<()> {
/// let store = MemoryStore::new();
/// let spec = CollectionSpec::new("docs", 2, Metric::L2).with_field("lang", ai_data_vector::FieldKind::Text);
/// assert!(store.ensure_collection(&spec).await?); // created
/// assert!(!store.ensure_collection(&spec).await?); // already there, same spec
///
/// let en = json!({"lang": "en"}).as_object().cloned().unwrap_or_default();
/// let de = json!({"lang": "de"}).as_object().cloned().unwrap_or_default();
/// let report = store
///     .upsert("docs", &[
///         Record::new(RecordId::from_key("a"), vec![0.0, 0.0], en),
///         Record::new(RecordId::from_key("b"), vec![1.0, 0.0], de),
///     ])
///     .await?;
/// assert_eq!(report.upserted, 2);
///
/// let hits = store.search("docs", &SearchQuery::new(vec![0.9, 0.0], 2)).await?;
/// assert_eq!(hits[0].id, RecordId::from_key("b"));
/// assert!((hits[0].distance - 0.1).abs() < 1e-6);
///
/// let en_only = SearchQuery::new(vec![0.9, 0.0], 2).with_filter(Filter::eq("lang", "en"));
/// assert_eq!(store.search("docs", &en_only).await?.len(), 1);
/// assert_eq!(store.count("docs", Some(&Filter::eq("lang", "de"))).await?, 1);
/// assert_eq!(store.delete("docs", Selector::Filter(Filter::eq("lang", "de"))).await?, 1);
/// assert_eq!(store.count("docs", None).await?, 1);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait VectorStore: Send + Sync + Debug {
    /// What this backend supports.
    fn capabilities(&self) -> &Capabilities;

    /// Create the collection if it does not exist. `Ok(true)` when created,
    /// `Ok(false)` when it already existed with a compatible spec (see
    /// [`crate::validate::compatible`]: same dimension, metric, fields and
    /// embedding model; the existing index is kept). An existing collection
    /// with another dimension, metric, field set or model is
    /// `ErrorKind::Conflict`, never silently reused.
    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool>;

    /// Drop the collection and its records. `Ok(false)` when it did not exist.
    async fn drop_collection(&self, name: &str) -> Result<bool>;

    /// Insert or replace records by id.
    ///
    /// - An empty batch is a no-op.
    /// - A record that fails validation (wrong dimension, NaN or infinite
    ///   component, declared field of the wrong type, a U+0000 in its
    ///   payload) is listed in
    ///   [`UpsertReport::failures`]; **the other records are still written**.
    /// - Several records with one id in a batch: the last one wins.
    /// - Batches over `max_batch_size` are written in chunks
    ///   ([`crate::batch::UpsertPlan::chunks`]); an `Err` means a chunk
    ///   failed as a whole (earlier chunks may have been written).
    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport>;

    /// The records with these ids that exist, in the order first requested
    /// (missing ids are skipped, repeated ids returned once).
    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>>;

    /// Delete the selected records; returns how many existed and were deleted.
    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64>;

    /// How many records match `filter` (all records for `None`).
    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64>;

    /// The `query.k` records nearest to `query.vector` that match the filter
    /// and threshold, sorted by ascending distance, equal distances by
    /// ascending id.
    ///
    /// - Fewer than `k` hits only when fewer than `k` records match the
    ///   filter (and threshold): a selective filter still gives `k` hits.
    /// - With an exact index (and on `MemoryStore`, whatever the index) the
    ///   hits are exactly the `k` nearest. When `k` cuts through records at
    ///   an equal distance, a backend whose
    ///   [`Capabilities::ties_by_id`] is true keeps those with the smallest
    ///   ids (`MemoryStore`, `PgVectorStore`); `WeaviateStore` sets it false:
    ///   its `flat` index cuts such a tie as the server does (the server
    ///   returns only `k` objects and does not promise which of equal
    ///   distances it keeps, so the client cannot re-cut the tie exactly), and only the order of the
    ///   kept hits is by distance, then id. An approximate index (HNSW,
    ///   IVFFlat) may return other near records (recall below 1) but still
    ///   sorts them by distance, then id.
    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>>;
}

/// Conveniences for every [`VectorStore`] (including `dyn VectorStore`).
///
/// ```
/// use ai_data_vector::{CollectionSpec, MemoryStore, Metric, Record, RecordId, VectorStore, VectorStoreExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_vector::Result<()> {
/// let store = MemoryStore::new();
/// store.ensure_collection(&CollectionSpec::new("docs", 2, Metric::Dot)).await?;
/// let id = RecordId::from_key("a");
/// store.upsert_checked("docs", &[Record::new(id, vec![1.0, 2.0], Default::default())]).await?;
/// assert_eq!(store.get_one("docs", id).await?.map(|r| r.vector), Some(vec![1.0, 2.0]));
/// let hits = store.nearest("docs", vec![1.0, 0.0], 5).await?;
/// assert_eq!(hits[0].distance, -1.0);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait VectorStoreExt: VectorStore {
    /// The record with this id, if it exists.
    async fn get_one(&self, collection: &str, id: RecordId) -> Result<Option<Record>> {
        Ok(self.get(collection, &[id]).await?.into_iter().next())
    }

    /// The `k` nearest records to `vector`, with payloads, without filter.
    async fn nearest(
        &self,
        collection: &str,
        vector: Vec<f32>,
        k: usize,
    ) -> Result<Vec<SearchHit>> {
        self.search(collection, &SearchQuery::new(vector, k)).await
    }

    /// Upsert, turning any per-record failure into an error (the valid
    /// records are still written). Returns the number written.
    async fn upsert_checked(&self, collection: &str, records: &[Record]) -> Result<u64> {
        self.upsert(collection, records).await?.into_result()
    }

    /// Delete these ids; returns how many existed.
    async fn delete_ids(&self, collection: &str, ids: &[RecordId]) -> Result<u64> {
        self.delete(collection, Selector::Ids(ids.to_vec())).await
    }
}

impl<S: VectorStore + ?Sized> VectorStoreExt for S {}

/// A shared store is a store: `Arc<PgVectorStore>` or `Arc<dyn VectorStore>`
/// can be handed to decorators such as a cache.
#[async_trait]
impl<S: VectorStore + ?Sized> VectorStore for std::sync::Arc<S> {
    fn capabilities(&self) -> &Capabilities {
        (**self).capabilities()
    }
    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        (**self).ensure_collection(spec).await
    }
    async fn drop_collection(&self, name: &str) -> Result<bool> {
        (**self).drop_collection(name).await
    }
    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        (**self).upsert(collection, records).await
    }
    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        (**self).get(collection, ids).await
    }
    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        (**self).delete(collection, selector).await
    }
    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        (**self).count(collection, filter).await
    }
    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        (**self).search(collection, query).await
    }
}
