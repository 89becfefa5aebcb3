//! Observability: every repository call is one `ai_data.operation`
//! (metrics by store/operation/outcome) and the primary pool's gauges are
//! published. (The health check's connections against `max_connections`
//! are tested in `ai-data-pg`, tests/observe.rs.)

mod common;

use ai_data_core::observe::{OPERATIONS_TOTAL, OPERATION_DURATION, POOL_CONNECTIONS};
use ai_data_core::{ErrorKind, HealthCheck};
use ai_data_platform::pg::{
    bootstrap_admin, GroupRepo, NewTextEmbedding, NewUser, TextEmbeddingRepo, UserRepo,
    TEXT_EMBEDDING_DIM,
};
use ai_data_testkit::metrics::Snapshot;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;

/// `(labels, value)` of every metric named `name` of `kind`; a
/// histogram's value is its number of samples.
fn series(snapshot: &Snapshot, kind: MetricKind, name: &str) -> Vec<(Vec<(String, String)>, f64)> {
    snapshot
        .iter()
        .filter(|(key, _, _, _)| key.kind() == kind && key.key().name() == name)
        .map(|(key, _, _, value)| {
            let labels = key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => *n as f64,
                DebugValue::Gauge(v) => v.into_inner(),
                DebugValue::Histogram(samples) => samples.len() as f64,
            };
            (labels, value)
        })
        .collect()
}

fn has(labels: &[(String, String)], key: &str, value: &str) -> bool {
    labels.iter().any(|(k, v)| k == key && v == value)
}

#[test]
fn repository_calls_are_counted_by_operation_and_outcome_and_pool_gauges_published() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let max_connections = metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let (_test_db, db) = common::migrated().await?;
                let users = UserRepo::new(db.clone());
                users
                    .create(NewUser::new("obs", "obs@example.com", "a password"))
                    .await
                    .expect("create");
                bootstrap_admin(&db, "root", "root@example.com", "a long password")
                    .await
                    .expect("bootstrap");
                // Validation failures are counted too (nothing reaches the server).
                let short = bootstrap_admin(&db, "root2", "root2@example.com", "short").await;
                assert_eq!(short.expect_err("short").kind(), ErrorKind::InvalidInput);
                assert_eq!(users.list(None, 10).await.expect("list").len(), 2);
                let missing = GroupRepo::new(db.clone()).get(999_999).await;
                assert_eq!(missing.expect_err("absent").kind(), ErrorKind::NotFound);
                let embeddings = TextEmbeddingRepo::new(db.clone());
                let v = common::unit_vector(TEXT_EMBEDDING_DIM, 3, 0.0);
                let rows = [
                    NewTextEmbedding::new(1, "a", "a", v.clone()),
                    NewTextEmbedding::new(1, "b", "b", v.clone()),
                ];
                embeddings.insert_batch(&rows).await.expect("insert");
                let hits = embeddings.search(&v, 5, Some(1)).await.expect("search");
                assert_eq!(hits.len(), 2);
                db.check().await.expect("health");
                Some(db.primary().options().get_max_connections())
            })
    });
    let Some(max_connections) = max_connections else {
        return; // no local PostgreSQL
    };
    // One snapshot: taking one drains the histograms.
    let snapshot = snapshotter.snapshot().into_vec();

    let counters = series(&snapshot, MetricKind::Counter, OPERATIONS_TOTAL);
    let count = |operation: &str, outcome: &str| -> f64 {
        counters
            .iter()
            .filter(|(labels, _)| {
                has(labels, "store", "postgres")
                    && has(labels, "operation", operation)
                    && has(labels, "outcome", outcome)
            })
            .map(|(_, value)| value)
            .sum()
    };
    let not_found = ai_data_core::observe::outcome_label(ErrorKind::NotFound);
    let invalid = ai_data_core::observe::outcome_label(ErrorKind::InvalidInput);
    for (operation, outcome, expected) in [
        ("connect", "ok", 1.0),
        ("migrate", "ok", 1.0),
        // bootstrap_admin is its own single operation, not also a users.create.
        ("users.create", "ok", 1.0),
        ("users.bootstrap_admin", "ok", 1.0),
        ("users.bootstrap_admin", invalid, 1.0),
        ("users.list", "ok", 1.0),
        ("groups.get", not_found, 1.0),
        ("text_embeddings.insert_batch", "ok", 1.0),
        ("text_embeddings.search", "ok", 1.0),
        ("health", "ok", 1.0),
    ] {
        assert_eq!(
            count(operation, outcome),
            expected,
            "{operation} {outcome}: {counters:?}"
        );
    }
    let histograms = series(&snapshot, MetricKind::Histogram, OPERATION_DURATION);
    assert!(
        histograms
            .iter()
            .any(|(labels, n)| has(labels, "operation", "text_embeddings.search") && *n == 1.0),
        "{histograms:?}"
    );

    let gauges = series(&snapshot, MetricKind::Gauge, POOL_CONNECTIONS);
    let gauge = |state: &str| {
        gauges
            .iter()
            .find(|(labels, _)| has(labels, "store", "postgres") && has(labels, "state", state))
            .map(|(_, value)| *value)
            .unwrap_or_else(|| panic!("no {state} gauge: {gauges:?}"))
    };
    assert_eq!(gauge("max"), f64::from(max_connections));
    let (in_use, idle) = (gauge("in_use"), gauge("idle"));
    assert!(
        in_use + idle >= 1.0,
        "the pool holds a connection: {gauges:?}"
    );
    assert!(in_use + idle <= f64::from(max_connections), "{gauges:?}");
}
