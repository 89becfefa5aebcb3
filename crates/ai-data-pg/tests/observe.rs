//! Observability of the driver layer: the health check reports
//! connections against `max_connections` (the seed's
//! `PostgreSQLHighConnections`). That every repository call is one
//! `ai_data.operation` with its metrics and the pool gauges is tested with
//! the platform's repositories (`ai-data-platform`, tests/observe.rs).

mod common;

use ai_data_core::HealthCheck;

#[tokio::test]
async fn health_reports_connections_against_max_connections_without_warning() {
    let Some((_test_db, db)) = common::connected().await else {
        return;
    };
    let report = db.check().await.expect("health");
    let number = |key: &str| -> i64 {
        report.details[key]
            .parse()
            .unwrap_or_else(|e| panic!("{key}: {e} in {report:?}"))
    };
    let (connections, max) = (number("connections"), number("max_connections"));
    assert!(
        connections >= 1,
        "at least the check's own backend: {report:?}"
    );
    assert!(connections <= max, "{report:?}");
    assert!(report.details["pgvector"].starts_with("0."), "{report:?}");
    assert!(report.warnings.is_empty(), "{report:?}");
}
