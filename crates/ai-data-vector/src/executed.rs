//! A decorator store: every call of an inner [`VectorStore`] runs through
//! an [`Executor`], which adds the layers it is configured with — span and
//! metrics always, a deadline and retries (idempotent calls only) when set.
//!
//! One decorator rather than an observing one and a retrying one: the
//! executor already stacks those layers in a fixed order (span + metrics
//! outermost, then deadline, then retry, see [`ai_data_core::executor`]),
//! and a call nested in another is not observed twice, so two decorators
//! would only repeat it.
//!
//! Which calls are idempotent (retried): `ensure_collection`, `upsert`
//! (records are keyed by id), `get`, `count`, `search`, and `delete` by
//! ids. `drop_collection` and `delete` by filter are attempted once: a
//! repeat after a lost reply would answer differently (`false`, a smaller
//! count).
//!
//! Wrap a backend that does not observe itself ([`MemoryStore`](crate::MemoryStore),
//! a service's own); the crate backends (pgvector, Weaviate) already
//! observe their calls, so wrapping them would count each call twice.

use std::fmt;

use ai_data_core::executor::Executor;
use async_trait::async_trait;

use crate::{
    Capabilities, CollectionSpec, Filter, Record, RecordId, Result, SearchHit, SearchQuery,
    Selector, UpsertReport, VectorStore,
};

/// `inner` with every call run through `executor`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_vector::Result<()> {
/// use ai_data_core::{executor::Executor, RetryPolicy, Store};
/// use ai_data_vector::{CollectionSpec, ExecutedStore, MemoryStore, Metric, VectorStore};
///
/// // Metrics labelled as the store this one stands in for.
/// let executor = Executor::new(Store::Postgres).with_retry(RetryPolicy::default());
/// let store = ExecutedStore::new(MemoryStore::new(), executor);
/// assert!(store.ensure_collection(&CollectionSpec::new("docs", 3, Metric::Cosine)).await?);
/// assert_eq!(store.count("docs", None).await?, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ExecutedStore<S> {
    inner: S,
    executor: Executor,
}

impl<S: VectorStore> ExecutedStore<S> {
    /// `inner`, its calls run through `executor`.
    pub fn new(inner: S, executor: Executor) -> Self {
        ExecutedStore { inner, executor }
    }

    /// The decorated store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The executor the calls run through.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }
}

impl<S: fmt::Debug> fmt::Debug for ExecutedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutedStore")
            .field("inner", &self.inner)
            .field("executor", &self.executor)
            .finish()
    }
}

#[async_trait]
impl<S: VectorStore> VectorStore for ExecutedStore<S> {
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        self.executor
            .call("ensure_collection")
            .target(&spec.name)
            .idempotent()
            .run(|| self.inner.ensure_collection(spec))
            .await
    }

    async fn drop_collection(&self, name: &str) -> Result<bool> {
        self.executor
            .call("drop_collection")
            .target(name)
            .run(|| self.inner.drop_collection(name))
            .await
    }

    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        self.executor
            .call("upsert")
            .target(collection)
            .idempotent()
            .run_counted(|| self.inner.upsert(collection, records), |r| r.upserted)
            .await
    }

    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        self.executor
            .call("get")
            .target(collection)
            .idempotent()
            .run_counted(|| self.inner.get(collection, ids), Vec::len)
            .await
    }

    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        let by_ids = matches!(selector, Selector::Ids(_));
        self.executor
            .call("delete")
            .target(collection)
            .idempotent_if(by_ids)
            .run_counted(|| self.inner.delete(collection, selector.clone()), |n| *n)
            .await
    }

    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        self.executor
            .call("count")
            .target(collection)
            .idempotent()
            .run(|| self.inner.count(collection, filter))
            .await
    }

    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        self.executor
            .call("search")
            .target(collection)
            .idempotent()
            .run_counted(|| self.inner.search(collection, query), Vec::len)
            .await
    }
}
