//! Every repository call is one observed operation (metrics labelled
//! `store="mongodb"`), and the pool's state is published from CMAP events.

mod mongo_common;

use std::time::Duration;

use ai_data_core::observe::{OPERATIONS_TOTAL, OPERATION_DURATION};
use ai_data_mongo::bson::{doc, DateTime};
use ai_data_mongo::MongoStore;
use ai_data_platform::mongo::{
    LogQuery, NewConfiguration, SeedCollections, SystemLog, TaskState, TaskUpdate,
};
use ai_data_platform::LogLevel;
use ai_data_testkit::metrics::{label, Snapshot};
use metrics_util::debugging::DebuggingRecorder;
use metrics_util::MetricKind;

fn operations(snapshot: &Snapshot, operation: &str, outcome: &str) -> u64 {
    ai_data_testkit::metrics::operations(snapshot, "mongodb", operation, outcome)
}

fn pool(snapshot: &Snapshot, state: &str) -> Option<f64> {
    ai_data_testkit::metrics::pool(snapshot, "mongodb", state)
}

#[test]
fn repositories_bootstrap_and_health_are_observed_and_the_pool_published() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // One thread: the driver's pool tasks and events run on it too, so the
    // thread-local recorder sees them.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let Some((m, _)) = mongo_common::store().await else {
                return;
            };
            let mut config = mongo_common::config(&m);
            config.connection.pool.max_size = 4;
            let store = MongoStore::connect(&config).await.expect("connects");
            exercise(&store).await;

            // Connections go back to the pool once the operations end (the
            // pool's task emits the check-in events: let it run). A snapshot
            // drains what it reads, so there is exactly one.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let snapshot = snapshotter.snapshot().into_vec();
            assert_eq!(pool(&snapshot, "in_use"), Some(0.0));
            assert!(pool(&snapshot, "idle").expect("idle") >= 1.0);
            assert_eq!(pool(&snapshot, "max"), Some(4.0));
            assert_observed(&snapshot);
        });
    });
}

async fn exercise(store: &MongoStore) {
    store.bootstrap().await.expect("bootstrap");
    store.health().await.expect("health");

    let logs = store.logs();
    logs.insert_one(&SystemLog::new(LogLevel::Info, "obs", "one"))
        .await
        .expect("insert_one");
    let batch: Vec<SystemLog> = (0..3)
        .map(|i| {
            SystemLog::new(LogLevel::Warn, "obs", format!("batch {i}"))
                .with_timestamp(DateTime::from_millis(1_000 + i))
        })
        .collect();
    assert_eq!(
        logs.insert_many(&batch)
            .await
            .expect("insert_many")
            .inserted(),
        3
    );
    let page = logs
        .query(&LogQuery::new().service("obs"))
        .await
        .expect("query");
    assert_eq!(page.logs.len(), 4);
    logs.count_by_level(None, None).await.expect("count");
    assert_eq!(
        logs.purge_older_than(DateTime::from_millis(10_000))
            .await
            .expect("purge"),
        3
    );
    // Refused before any I/O, still observed with its outcome.
    logs.query(&LogQuery::new().limit(0))
        .await
        .expect_err("limit 0");

    let configs = store.configurations();
    let v1 = configs
        .publish(&NewConfiguration::new("obs", "test", &doc! { "a": 1 }).expect("new"))
        .await
        .expect("publish");
    configs
        .publish(&NewConfiguration::new("obs", "test", &doc! { "a": 2 }).expect("new"))
        .await
        .expect("publish");
    configs.activate("obs", "test", 2).await.expect("activate");
    configs.get_active("obs", "test").await.expect("get_active");
    configs
        .get_version("obs", "test", v1.version)
        .await
        .expect("get_version");
    assert_eq!(
        configs
            .list_versions("obs", "test")
            .await
            .expect("list")
            .len(),
        2
    );
    configs.roll_back("obs", "test").await.expect("roll_back");
    configs.effective_mode().await.expect("mode");

    let tasks = store.tasks();
    tasks
        .upsert(&TaskUpdate::new("obs-1", "obs_job", TaskState::Running))
        .await
        .expect("upsert");
    tasks.get("obs-1").await.expect("get");
    tasks
        .list_by_status(&TaskState::Running, 10)
        .await
        .expect("list_by_status");
    tasks
        .list_by_type("obs_job", None, 10)
        .await
        .expect("list_by_type");
    assert!(tasks.remove("obs-1").await.expect("remove"));
}

fn assert_observed(snapshot: &Snapshot) {
    for (operation, calls) in [
        ("connect", 1),
        ("bootstrap", 1),
        ("health", 1),
        ("logs.insert_one", 1),
        ("logs.insert_many", 1),
        ("logs.query", 1),
        ("logs.count_by_level", 1),
        ("logs.purge_older_than", 1),
        ("configurations.publish", 2),
        // roll_back activates through the same code, not a second operation.
        ("configurations.activate", 1),
        ("configurations.roll_back", 1),
        ("configurations.get_active", 1),
        ("configurations.get_version", 1),
        ("configurations.list_versions", 1),
        ("configurations.effective_mode", 1),
        ("tasks.upsert", 1),
        ("tasks.get", 1),
        ("tasks.list_by_status", 1),
        ("tasks.list_by_type", 1),
        ("tasks.remove", 1),
    ] {
        assert_eq!(operations(snapshot, operation, "ok"), calls, "{operation}");
    }
    let invalid = ai_data_core::observe::outcome_label(ai_data_mongo::ErrorKind::InvalidInput);
    assert_eq!(operations(snapshot, "logs.query", invalid), 1);
    // Inner calls (hello for the activation mode, get_version after
    // activating) are not operations of their own.
    let names: Vec<&str> = snapshot
        .iter()
        .filter(|(k, _, _, _)| k.key().name() == OPERATIONS_TOTAL)
        .filter_map(|(k, _, _, _)| label(k, "operation"))
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.is_empty() && !n.contains("obs") && !n.contains("_unobserved")),
        "{names:?}"
    );
    let histograms = snapshot
        .iter()
        .filter(|(k, _, _, _)| {
            k.kind() == MetricKind::Histogram
                && k.key().name() == OPERATION_DURATION
                && label(k, "store") == Some("mongodb")
        })
        .count();
    assert!(histograms >= 20, "{histograms}");
}
