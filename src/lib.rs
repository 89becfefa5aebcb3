//! `ai-data`: typed, pooled, configured clients for the AI platform's stores.
//!
//! This facade re-exports each store crate behind a feature named after its
//! backend (`pg`, `mongo`, `redis`, `kafka`, `weaviate` (+ `weaviate-grpc`),
//! `vector` for the trait and the in-memory store); `platform` adds the
//! seed's data model for the enabled stores ([`platform`]) and `Platform`,
//! which builds every configured store's client in one call
//! (`Platform::from_env`) and checks them all (`Platform::health`);
//! `testcontainers` adds `testkit`, fresh per-test stores for each enabled
//! store feature. [`core`] is always present.
//!
//! ```
//! use ai_data::core::{ErrorKind, Store};
//! assert_eq!(Store::Postgres.env_prefix(), "AI_DATA_PG_");
//! assert!(ErrorKind::Timeout.is_retryable_by_default());
//! ```

pub use ai_data_core as core;

#[cfg(feature = "platform")]
mod clients;
#[cfg(feature = "platform")]
pub use clients::{Platform, PlatformHealth, PlatformOptions};

use ai_data_core::{EnvSource, Store};

/// Whether the environment names an endpoint for `store` (`<PREFIX>URL`
/// or `<PREFIX>HOST`; Kafka also `AI_DATA_KAFKA_BOOTSTRAP_SERVERS`).
///
/// ```
/// use ai_data::core::{EnvSource, Store};
/// let env = EnvSource::from_pairs([("AI_DATA_REDIS_HOST", "cache")]);
/// assert!(ai_data::is_configured(&env, Store::Redis));
/// assert!(!ai_data::is_configured(&env, Store::Postgres));
/// ```
pub fn is_configured(env: &EnvSource, store: Store) -> bool {
    let var = |suffix: &str| env.get(&store.var(suffix)).is_some();
    var("URL") || var("HOST") || (store == Store::Kafka && var("BOOTSTRAP_SERVERS"))
}

#[cfg(feature = "platform")]
pub use ai_data_platform as platform;

#[cfg(feature = "kafka")]
pub use ai_data_kafka as kafka;
#[cfg(feature = "mongo")]
pub use ai_data_mongo as mongo;
#[cfg(feature = "pg")]
pub use ai_data_pg as pg;
#[cfg(feature = "redis")]
pub use ai_data_redis as redis;
#[cfg(feature = "testcontainers")]
pub use ai_data_testkit as testkit;
#[cfg(feature = "vector")]
pub use ai_data_vector as vector;
#[cfg(feature = "weaviate")]
pub use ai_data_weaviate as weaviate;

/// `ai_data::kafka` under its name before 0.1 (kept for one release).
#[cfg(feature = "kafka")]
#[doc(hidden)]
pub use ai_data_kafka as stream;
/// `ai_data::redis` under its name before 0.1 (kept for one release).
#[cfg(feature = "redis")]
#[doc(hidden)]
pub use ai_data_redis as cache;
