//! Shared set-up of the pgvector benches: the server URL and a runtime.
//! Included with `#[path]` by each bench (criterion benches are separate crates).

#![allow(dead_code)]

use ai_data::pg::{PgConfig, PgDatabase, PgVectorStore};

/// The PostgreSQL the benches use: `AI_DATA_PG_URL`, else the local
/// stores' `AI_DATA_TEST_PG_URL` (from the environment or `.stores/env`).
pub(crate) fn pg_url() -> String {
    std::env::var("AI_DATA_PG_URL")
        .ok()
        .or_else(|| ai_data_testkit::test_var("AI_DATA_TEST_PG_URL"))
        .expect("no PostgreSQL: set AI_DATA_PG_URL or run scripts/stores.sh start")
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub(crate) async fn database(max_connections: u32) -> PgDatabase {
    let mut config = PgConfig::from_url(&pg_url()).expect("URL");
    config.connection.pool.max_size = max_connections;
    config.connection.pool.min_idle = max_connections;
    PgDatabase::connect(&config)
        .await
        .expect("connect to PostgreSQL")
}

/// A pool of `max_connections` and a `PgVectorStore` on it, schema `bench`.
pub(crate) fn vector_store(
    rt: &tokio::runtime::Runtime,
    max_connections: u32,
) -> (PgDatabase, PgVectorStore) {
    let db = rt.block_on(database(max_connections));
    let store = rt
        .block_on(PgVectorStore::connect(db.clone(), "bench"))
        .expect("store");
    (db, store)
}
