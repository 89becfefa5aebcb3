//! Every connection of the pool carries the configured session settings
//! (`statement_timeout`, `application_name`), and the health check names
//! the server and pgvector versions.

use ai_data_core::HealthCheck;
use ai_data_pg::{PgConfig, PgDatabase};

#[tokio::test]
async fn connections_carry_statement_timeout_and_application_name() {
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let config = PgConfig::from_url(&test_db.url)
        .expect("url")
        .with_statement_timeout(Some(std::time::Duration::from_millis(1500)));
    let db = PgDatabase::connect(&config).await.expect("connect");
    let (timeout, app): (String, String) = sqlx::query_as(
        "SELECT current_setting('statement_timeout'), current_setting('application_name')",
    )
    .fetch_one(db.primary())
    .await
    .expect("settings");
    assert_eq!(timeout, "1500ms");
    assert_eq!(app, ai_data_pg::DEFAULT_APPLICATION_NAME);

    let report = db.check().await.expect("health");
    assert!(
        report
            .server_version
            .as_deref()
            .is_some_and(|v| v.starts_with("PostgreSQL")),
        "{report:?}"
    );
    let pgvector = &report.details["pgvector"];
    assert!(pgvector.starts_with("0."), "{pgvector}");
}
