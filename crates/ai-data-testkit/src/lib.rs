//! Hands a test a live store, isolated from every other test.
//!
//! Where a store comes from, in order:
//! 1. its URL variable (`AI_DATA_TEST_PG_URL`, `AI_DATA_TEST_REDIS_URL`,
//!    `AI_DATA_TEST_MONGO_URL`, `AI_DATA_TEST_KAFKA_BROKERS`), or the env
//!    file that `scripts/stores.sh start` wrote (`.stores/env` in the checkout);
//! 2. with the `testcontainers` feature and a reachable Docker engine, a
//!    container started for the test;
//! 3. otherwise the test is skipped with a loud message, except when
//!    `CI=true` or `AI_DATA_TEST_REQUIRE_STORES=1`: then it fails.
//!
//! Each handle is fresh: its own PostgreSQL database, Redis key prefix,
//! Mongo database or Kafka topic prefix, so tests run in parallel.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn demo() {
//! let Some(redis) = ai_data_testkit::redis().await else { return };
//! let key = redis.key("greeting");
//! assert!(key.starts_with(&redis.prefix));
//! # }
//! ```

#[cfg(feature = "kafka")]
mod kafka;
pub mod metrics;
#[cfg(feature = "mongo")]
mod mongo;
#[cfg(feature = "pg")]
mod pg;
#[cfg(feature = "pg")]
mod pg_cluster;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_server;
pub mod spans;
pub mod unreachable;
mod wait;

#[cfg(feature = "kafka")]
pub use kafka::{kafka, KafkaTest};
#[cfg(feature = "mongo")]
pub use mongo::{authenticated_user, mongo, MongoTest, MongodServer, MONGOD_BIN_VAR};
#[cfg(feature = "pg")]
pub use pg::{pg, PgTestDb};
#[cfg(feature = "pg")]
pub use pg_cluster::PgCluster;
#[cfg(feature = "redis")]
pub use redis::{redis, RedisTest};
#[cfg(feature = "redis")]
pub use redis_server::RedisServer;
pub use wait::eventually;

use std::path::PathBuf;

/// Variable naming the PostgreSQL admin URL (a superuser on a throwaway server).
pub const PG_URL_VAR: &str = "AI_DATA_TEST_PG_URL";
/// Variable naming the Redis URL.
pub const REDIS_URL_VAR: &str = "AI_DATA_TEST_REDIS_URL";
/// Variable naming the MongoDB URL.
pub const MONGO_URL_VAR: &str = "AI_DATA_TEST_MONGO_URL";
/// Variable naming the Kafka bootstrap servers.
pub const KAFKA_BROKERS_VAR: &str = "AI_DATA_TEST_KAFKA_BROKERS";

/// Whether a missing store must fail the test instead of skipping it.
pub fn stores_required() -> bool {
    let set =
        |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case(value));
    set("CI", "true") || set("CI", "1") || set("AI_DATA_TEST_REQUIRE_STORES", "1")
}

/// A fresh name for one test's database, prefix or topic: `prefix` plus 12 hex digits.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..12])
}

/// The value of a test variable: the process environment first, then the
/// env file written by `scripts/stores.sh start`.
pub fn test_var(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name) {
        return (!value.is_empty()).then_some(value);
    }
    let file = stores_env_file()?;
    dotenvy::from_path_iter(file)
        .ok()?
        .filter_map(Result::ok)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn stores_env_file() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("AI_DATA_TEST_ENV_FILE") {
        return Some(PathBuf::from(path));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = root.join(".stores/env");
    file.is_file().then_some(file)
}

/// Report that `store` is not available: a loud skip, or a panic when
/// stores are required.
pub fn unavailable<T>(store: &str, why: &str) -> Option<T> {
    if stores_required() {
        panic!(
            "{store} is required (CI=true or AI_DATA_TEST_REQUIRE_STORES=1) but not available: {why}. \
             Start the local stores with scripts/stores.sh start."
        );
    }
    eprintln!(
        "\n==================== SKIPPED: {store} not available ====================\n\
         {why}\nRun scripts/stores.sh start (or set the AI_DATA_TEST_* variables) to run this test.\n\
         ======================================================================\n"
    );
    None
}

/// Whether a Docker engine looks reachable (`DOCKER_HOST` set or the
/// default socket present): the stores' functions start a container only
/// then.
#[cfg(feature = "testcontainers")]
pub fn docker_available() -> bool {
    std::env::var_os("DOCKER_HOST").is_some()
        || std::path::Path::new("/var/run/docker.sock").exists()
}

/// Run async cleanup from `Drop`, on a thread with its own runtime, and
/// wait for it (a test's runtime may be shutting down).
#[cfg(any(feature = "pg", feature = "mongo"))]
pub(crate) fn cleanup_blocking<F, Fut>(make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let handle = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(make());
        }
    });
    let _ = handle.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_keep_prefix() {
        let a = unique_name("t_");
        let b = unique_name("t_");
        assert_ne!(a, b);
        assert!(a.starts_with("t_") && a.len() == 14, "{a}");
        assert!(a[2..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
