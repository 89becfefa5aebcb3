//! Connecting, health, and driver errors provoked for real.

mod common;

use std::time::{Duration, Instant};

use ai_data_core::{ErrorKind, HealthCheck, Store};
use ai_data_mongo::bson::{doc, Document};
use ai_data_mongo::mongodb;
use ai_data_mongo::{from_driver_error, MongoConfig, MongoStore};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

#[tokio::test]
async fn server_down_is_a_quick_retryable_connect_error() {
    let port = closed_port();
    let config = MongoConfig::from_url(&format!("mongodb://127.0.0.1:{port}/ai_platform"))
        .expect("parses")
        .with_server_selection_timeout(Duration::from_millis(400))
        .with_connect_timeout(Duration::from_millis(400));
    let start = Instant::now();
    let err = MongoStore::connect(&config)
        .await
        .expect_err("nobody listens");
    let elapsed = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
    assert!(err.is_retryable());
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(err.store(), Some(Store::Mongo));
    assert_eq!(err.operation(), Some("connect"));
    let source = std::error::Error::source(&err).expect("driver error kept");
    assert!(source.downcast_ref::<mongodb::error::Error>().is_some());

    // The lazy store fails the same way on first use, through the health check.
    let lazy = MongoStore::connect_lazy(&config).await.expect("no I/O yet");
    let checks: Vec<Box<dyn HealthCheck>> = vec![Box::new(lazy)];
    let err = checks[0].check().await.expect_err("down");
    assert_eq!(err.kind(), ErrorKind::Connect);
}

#[tokio::test]
async fn health_reports_version_database_and_transactions() {
    let Some((m, _)) = common::store().await else {
        return;
    };
    let store = MongoStore::connect(&common::config(&m))
        .await
        .expect("connects");
    let report = store.health().await.expect("healthy");
    assert_eq!(report.store, Store::Mongo);
    // The seed runs MongoDB 6.0, and so do the tests.
    let version = report.server_version.as_deref().expect("version");
    assert!(version.starts_with("6.0."), "{version}");
    assert_eq!(report.details["database"], m.database);
    // A (one-node) replica set, as the seed recommends: transactions.
    assert_eq!(report.details["transactions"], "supported");
    let named = mongodb::options::ClientOptions::parse(&m.url)
        .await
        .expect("test URL")
        .repl_set_name;
    if let Some(set) = named {
        assert_eq!(report.details["replica_set"], set);
    }
    assert!(report.details.contains_key("replica_set"));
}

#[tokio::test]
async fn health_measures_replication_lag_from_replset_get_status() {
    let Some((m, store)) = common::store().await else {
        return;
    };
    // The test server's admin has clusterMonitor: the lag is measured from
    // the real replSetGetStatus of a one-member set, where nothing can lag.
    let status = m
        .client
        .database("admin")
        .run_command(doc! { "replSetGetStatus": 1 })
        .await
        .expect("replSetGetStatus");
    let members = status.get_array("members").expect("members").len();
    let report = store.health().await.expect("healthy");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(
        report.details.get("replica_set_members"),
        Some(&members.to_string()),
        "{:?}",
        report.details
    );
    assert_eq!(members, 1, "the local test server is a one-node set");
    assert_eq!(report.details["replica_set_secondaries"], "0");
    assert_eq!(report.details["replication_lag_seconds"], "0");
    assert!(!report.details.contains_key("replication_lag"));
}

#[tokio::test]
async fn a_write_conflict_in_a_transaction_is_retryable() {
    let Some((m, _)) = common::store().await else {
        return;
    };
    let coll = m.db().collection::<Document>("conflicts");
    coll.insert_one(doc! { "_id": 1, "v": 0 })
        .await
        .expect("seed");
    let mut first = m.client.start_session().await.expect("session");
    let mut second = m.client.start_session().await.expect("session");
    first.start_transaction().await.expect("txn 1");
    second.start_transaction().await.expect("txn 2");
    coll.update_one(doc! { "_id": 1 }, doc! { "$set": { "v": 1 } })
        .session(&mut first)
        .await
        .expect("first writer");
    let driver = coll
        .update_one(doc! { "_id": 1 }, doc! { "$set": { "v": 2 } })
        .session(&mut second)
        .await
        .expect_err("second writer conflicts");
    assert!(driver.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR));
    let err = from_driver_error(driver, "update_one", "t.conflicts");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    assert!(err.is_retryable(), "TransientTransactionError is retryable");
    first.commit_transaction().await.expect("commit");
    let _ = second.abort_transaction().await;
}

#[tokio::test]
async fn unknown_command_is_unsupported() {
    let Some((m, _)) = common::store().await else {
        return;
    };
    let driver = m
        .db()
        .run_command(doc! { "noSuchCommandAtAll": 1 })
        .await
        .expect_err("unknown command");
    let err = from_driver_error(driver, "run_command", m.database.clone());
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err:?}");
}
