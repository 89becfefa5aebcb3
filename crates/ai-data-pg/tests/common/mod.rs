//! Shared set-up: a fresh database per test.

#![allow(dead_code, unreachable_pub)]

use ai_data_pg::{PgConfig, PgDatabase};
use ai_data_testkit::PgTestDb;

/// A fresh database (pgvector installed, no schema of the platform) and a
/// [`PgDatabase`] on it.
pub async fn connected() -> Option<(PgTestDb, PgDatabase)> {
    let test_db = ai_data_testkit::pg().await?;
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    Some((test_db, db))
}

/// Run `sql` statements on the primary, in order (a test's own tables).
pub async fn execute(db: &PgDatabase, sql: &[&str]) {
    for statement in sql {
        sqlx::query(statement)
            .execute(db.primary())
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}
