//! The query mix: a sequential recall pass, then each concurrency level for
//! a fixed duration, with per-query latency in an HDR histogram.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_data_vector::VectorStore;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{watch, Barrier};
use tokio::task::JoinSet;

use crate::cpu::process_cpu_seconds;
use crate::data::QuerySet;
use crate::error::BenchError;

/// Latencies are recorded in microseconds, 1 µs ..= 1 hour, 3 significant digits.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Recall@k of every query, run once each, one at a time.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RecallStats {
    /// Queries run (each against its exact answer).
    pub(crate) queries: usize,
    /// Found exact neighbours / all exact neighbours.
    pub(crate) recall_at_k: f64,
    /// The worst single query's recall.
    pub(crate) min_query_recall: f64,
}

/// One concurrency level's numbers.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LevelStats {
    /// Concurrent query tasks.
    pub(crate) concurrency: usize,
    /// Queries that succeeded in the measured window.
    pub(crate) queries: u64,
    /// Queries that failed (not in the latencies).
    pub(crate) errors: u64,
    /// The first failure's message.
    pub(crate) first_error: Option<String>,
    /// Measured wall time.
    pub(crate) seconds: f64,
    /// `queries / seconds`.
    pub(crate) qps: f64,
    /// Latency percentiles and extremes, in milliseconds.
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// Recall@k over every query answered in this level.
    pub(crate) recall_at_k: f64,
    /// Process user + system CPU seconds in the window (`None` without procfs).
    pub(crate) client_cpu_seconds: Option<f64>,
    /// `client_cpu_seconds / queries`, in milliseconds.
    pub(crate) client_cpu_ms_per_query: Option<f64>,
}

fn histogram() -> Histogram<u64> {
    // Bounds are constants that satisfy `new_with_bounds`'s rules.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

fn ratio(found: u64, expected: u64) -> f64 {
    if expected == 0 {
        1.0
    } else {
        found as f64 / expected as f64
    }
}

/// Run every query once, one after another: recall@k, and a warm-up.
pub(crate) async fn recall_pass(
    store: &dyn VectorStore,
    collection: &str,
    set: &QuerySet,
) -> Result<RecallStats, BenchError> {
    let (mut found, mut expected, mut min) = (0, 0, 1.0_f64);
    for (i, query) in set.queries.iter().enumerate() {
        let hits = store
            .search(collection, query)
            .await
            .map_err(|e| BenchError::failed("search", e))?;
        let (f, e) = set.score(i, hits.into_iter().map(|h| h.id));
        found += f;
        expected += e;
        min = min.min(ratio(f, e));
    }
    Ok(RecallStats {
        queries: set.queries.len(),
        recall_at_k: ratio(found, expected),
        min_query_recall: min,
    })
}

/// What one task measured.
struct TaskStats {
    latencies: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
    found: u64,
    expected: u64,
}

/// Run the mix with `concurrency` tasks for `duration`.
///
/// Each task first runs one unmeasured query (so its connection is open);
/// when all have, the window opens: CPU time and wall clock are read and one
/// deadline is handed to every task. Each runs queries back to back, taking
/// the next query of the set in turn, until the deadline; the window closes
/// when the last task is done.
pub(crate) async fn run_level(
    store: Arc<dyn VectorStore>,
    collection: Arc<str>,
    set: Arc<QuerySet>,
    concurrency: usize,
    duration: Duration,
) -> Result<LevelStats, BenchError> {
    let ready = Arc::new(Barrier::new(concurrency + 1));
    let (go, deadline) = watch::channel(None::<Instant>);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for t in 0..concurrency {
        let (store, collection, set) = (store.clone(), collection.clone(), set.clone());
        let (ready, next, mut deadline) = (ready.clone(), next.clone(), deadline.clone());
        tasks.spawn(async move {
            let n = set.queries.len();
            let _ = store.search(&collection, &set.queries[t % n]).await;
            ready.wait().await;
            let deadline = match deadline.wait_for(Option::is_some).await {
                Ok(d) => d.unwrap_or_else(Instant::now),
                Err(_) => Instant::now(), // the level was abandoned
            };
            let mut stats = TaskStats {
                latencies: histogram(),
                errors: 0,
                first_error: None,
                found: 0,
                expected: 0,
            };
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed) % n;
                let began = Instant::now();
                let result = store.search(&collection, &set.queries[i]).await;
                let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                match result {
                    Ok(hits) => {
                        stats.latencies.saturating_record(micros.max(1));
                        let (f, e) = set.score(i, hits.into_iter().map(|h| h.id));
                        stats.found += f;
                        stats.expected += e;
                    }
                    Err(e) => {
                        stats.errors += 1;
                        stats.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
                // A backend that never waits (MemoryStore) would otherwise
                // hold its worker thread for the whole duration.
                tokio::task::yield_now().await;
            }
            stats
        });
    }
    ready.wait().await;
    let cpu_before = process_cpu_seconds();
    let began = Instant::now();
    go.send_replace(Some(began + duration));
    let mut all = histogram();
    let (mut errors, mut first_error, mut found, mut expected) = (0, None, 0, 0);
    while let Some(done) = tasks.join_next().await {
        let stats = done.map_err(|e| BenchError::failed("query task", e))?;
        all.add(&stats.latencies)
            .map_err(|e| BenchError::failed("merge latencies", e))?;
        errors += stats.errors;
        found += stats.found;
        expected += stats.expected;
        if first_error.is_none() {
            first_error = stats.first_error;
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    let cpu = match (cpu_before, process_cpu_seconds()) {
        (Some(a), Some(b)) => Some((b - a).max(0.0)),
        _ => None,
    };
    let queries = all.len();
    let ms = |us: u64| us as f64 / 1_000.0;
    Ok(LevelStats {
        concurrency,
        queries,
        errors,
        first_error,
        seconds,
        qps: queries as f64 / seconds.max(1e-9),
        mean_ms: all.mean() / 1_000.0,
        p50_ms: ms(all.value_at_quantile(0.50)),
        p95_ms: ms(all.value_at_quantile(0.95)),
        p99_ms: ms(all.value_at_quantile(0.99)),
        max_ms: ms(all.max()),
        recall_at_k: ratio(found, expected),
        client_cpu_seconds: cpu,
        client_cpu_ms_per_query: cpu
            .filter(|_| queries > 0)
            .map(|c| c * 1_000.0 / queries as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{collection_spec, query_set, records, QueryParams};
    use crate::marker::DataParams;
    use ai_data_vector::{AccuracyHint, IndexSpec, MemoryStore, Metric};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_level_on_memory_is_exact_and_consistent() {
        let p = DataParams {
            dim: 8,
            size: 500,
            seed: 3,
            clusters: 5,
            metric: Metric::Cosine,
            index: IndexSpec::Exact,
        };
        let records = records(&p);
        let store = MemoryStore::new();
        let spec = collection_spec("m", &p);
        store.ensure_collection(&spec).await.expect("create");
        store.upsert("m", &records).await.expect("load");
        let q = QueryParams {
            count: 10,
            k: 5,
            filter_threshold: Some(500),
            accuracy: AccuracyHint::default(),
        };
        let set = Arc::new(query_set(&p, &q, &records).await.expect("set"));
        let recall = recall_pass(&store, "m", &set).await.expect("recall");
        assert_eq!((recall.queries, recall.recall_at_k), (10, 1.0));
        let store: Arc<dyn VectorStore> = Arc::new(store);
        let level = run_level(store, "m".into(), set, 2, Duration::from_millis(200))
            .await
            .expect("level");
        assert_eq!(level.concurrency, 2);
        assert!(level.queries > 0 && level.errors == 0, "{level:?}");
        assert!(level.seconds >= 0.2, "{level:?}");
        assert!(level.p50_ms <= level.p95_ms && level.p95_ms <= level.p99_ms);
        assert!(level.p99_ms <= level.max_ms && level.max_ms > 0.0);
        assert_eq!(level.recall_at_k, 1.0);
    }

    #[tokio::test]
    async fn failing_queries_are_counted_not_timed() {
        let store: Arc<dyn VectorStore> = Arc::new(MemoryStore::new());
        let set = Arc::new(QuerySet {
            queries: vec![ai_data_vector::SearchQuery::new(vec![1.0, 0.0], 1)],
            truth: vec![Default::default()],
        });
        let level = run_level(store, "missing".into(), set, 1, Duration::from_millis(50))
            .await
            .expect("level");
        assert_eq!(level.queries, 0);
        assert!(level.errors > 0);
        assert!(level.first_error.is_some_and(|e| e.contains("missing")));
        assert_eq!(level.client_cpu_ms_per_query, None);
    }
}
