//! `ExecutedStore`: the conformance suite through the decorator, one
//! observed operation per call, retries only where a call is idempotent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ai_data_core::executor::Executor;
use ai_data_core::{Error, ErrorKind, RetryPolicy, Store};
use ai_data_testkit::spans::Operations;
use ai_data_vector::{
    conformance, Capabilities, CollectionSpec, ExecutedStore, Filter, MemoryStore, Metric, Payload,
    Record, RecordId, Result, SearchHit, SearchQuery, Selector, UpsertReport, VectorStore,
};
use async_trait::async_trait;

fn retrying() -> Executor {
    Executor::new(Store::Postgres).with_retry(
        RetryPolicy::default()
            .with_min_delay(Duration::from_millis(1))
            .with_max_delay(Duration::from_millis(2))
            .with_max_attempts(3),
    )
}

// Every test here records the operation spans: a test without a
// subscriber, running beside one with, could otherwise leave the span's
// callsite cached as "nobody is interested".

#[tokio::test]
async fn conformance_suite_passes_through_the_decorator() {
    let (_ops, _guard) = Operations::install();
    let store = ExecutedStore::new(MemoryStore::new(), retrying());
    conformance::run_all(&store, "executed").await;
}

#[tokio::test]
async fn each_call_is_one_observed_operation() {
    let store = ExecutedStore::new(MemoryStore::new(), Executor::new(Store::Postgres));
    let (ops, _guard) = Operations::install();
    let spec = CollectionSpec::new("docs", 2, Metric::L2);
    assert!(store.ensure_collection(&spec).await.expect("ensure"));
    let records = [
        Record::new(RecordId::from_key("a"), vec![0.0, 0.0], Payload::new()),
        Record::new(RecordId::from_key("b"), vec![1.0, 0.0], Payload::new()),
    ];
    store.upsert("docs", &records).await.expect("upsert");
    let hits = store
        .search("docs", &SearchQuery::new(vec![0.0, 0.0], 5))
        .await
        .expect("search");
    assert_eq!(hits.len(), 2);
    let missing = store.count("nope", None).await.expect_err("missing");
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    let seen: Vec<_> = ops
        .take()
        .into_iter()
        .map(|s| (s.operation, s.target, s.rows, s.outcome))
        .collect();
    let row = |op: &str, target: &str, rows: Option<u64>, outcome: &str| {
        (op.to_owned(), target.to_owned(), rows, outcome.to_owned())
    };
    assert_eq!(
        seen,
        [
            row("ensure_collection", "docs", None, "ok"),
            row("upsert", "docs", Some(2), "ok"),
            row("search", "docs", Some(2), "ok"),
            row("count", "nope", None, "not_found"),
        ]
    );
}

/// A `MemoryStore` whose searches and collection drops time out the first
/// `failures` times.
#[derive(Debug)]
struct Flaky {
    inner: MemoryStore,
    failures: usize,
    searches: AtomicUsize,
    drops: AtomicUsize,
}

impl Flaky {
    fn new(failures: usize) -> Self {
        Flaky {
            inner: MemoryStore::new(),
            failures,
            searches: AtomicUsize::new(0),
            drops: AtomicUsize::new(0),
        }
    }

    fn attempt(&self, counter: &AtomicUsize) -> Result<()> {
        if counter.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(Error::new(ErrorKind::Timeout, "flaky"));
        }
        Ok(())
    }
}

#[async_trait]
impl VectorStore for Flaky {
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        self.inner.ensure_collection(spec).await
    }
    async fn drop_collection(&self, name: &str) -> Result<bool> {
        self.attempt(&self.drops)?;
        self.inner.drop_collection(name).await
    }
    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        self.inner.upsert(collection, records).await
    }
    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        self.inner.get(collection, ids).await
    }
    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        self.inner.delete(collection, selector).await
    }
    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        self.inner.count(collection, filter).await
    }
    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        self.attempt(&self.searches)?;
        self.inner.search(collection, query).await
    }
}

#[tokio::test]
async fn idempotent_calls_are_retried_the_others_are_not() {
    let (_ops, _guard) = Operations::install();
    let store = ExecutedStore::new(Flaky::new(2), retrying());
    let spec = CollectionSpec::new("docs", 2, Metric::L2);
    store.ensure_collection(&spec).await.expect("ensure");

    // A search is a read: two timeouts, then the third attempt answers.
    let hits = store
        .search("docs", &SearchQuery::new(vec![0.0, 0.0], 1))
        .await
        .expect("retried");
    assert!(hits.is_empty());
    assert_eq!(store.inner().searches.load(Ordering::SeqCst), 3);

    // A drop is not repeated (a repeat after a lost reply says `false`).
    let err = store
        .drop_collection("docs")
        .await
        .expect_err("one attempt");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(store.inner().drops.load(Ordering::SeqCst), 1);

    // Out of attempts: the error is persistent, not temporary.
    let store = ExecutedStore::new(Flaky::new(10), retrying());
    store.ensure_collection(&spec).await.expect("ensure");
    let err = store
        .search("docs", &SearchQuery::new(vec![0.0, 0.0], 1))
        .await
        .expect_err("gave up");
    assert_eq!(err.status(), ai_data_core::ErrorStatus::Persistent);
    assert_eq!(store.inner().searches.load(Ordering::SeqCst), 3);
}
