//! A standalone mongod (no replica set, so no transactions), started
//! privately for this test: the health check says what it cannot measure.
//! (The configuration repository on it: ai-data-platform's
//! `mongo_standalone`.)

mod common;

use common::standalone_store;

#[tokio::test]
async fn health_reports_version_six_and_why_lag_is_not_measured() {
    let Some((_server, store)) = standalone_store().await else {
        return;
    };
    let report = store.health().await.expect("healthy");
    let version = report.server_version.as_deref().expect("version");
    assert!(version.starts_with("6.0."), "{version}");
    assert_eq!(report.details["transactions"], "unsupported");
    assert!(!report.details.contains_key("replica_set"));
    let why = &report.details["replication_lag"];
    assert!(why.contains("standalone"), "{why}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}
