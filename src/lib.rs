//! `ai-data`: typed, pooled, configured clients for the AI platform's stores.
//!
//! This facade re-exports each store crate behind a feature of the same name
//! (`pg`, `mongo`, `vector`, `redis`, `kafka`; `weaviate` and
//! `weaviate-grpc` add the Weaviate backend to `vector`; `testcontainers`
//! adds `testkit`, fresh per-test stores for each enabled store feature);
//! [`core`] is always present. [`Platform::from_env`] builds every configured store's client
//! in one call and checks them all with [`Platform::health`].
//!
//! ```
//! use ai_data::core::{ErrorKind, Store};
//! assert_eq!(Store::Postgres.env_prefix(), "AI_DATA_PG_");
//! assert!(ErrorKind::Timeout.is_retryable_by_default());
//! ```

pub use ai_data_core as core;

mod platform;
pub use platform::{is_configured, Platform, PlatformHealth, PlatformOptions};

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

/// `ai_data::kafka` under its name before 0.1 (kept for one release).
#[cfg(feature = "kafka")]
#[doc(hidden)]
pub use ai_data_kafka as stream;
/// `ai_data::redis` under its name before 0.1 (kept for one release).
#[cfg(feature = "redis")]
#[doc(hidden)]
pub use ai_data_redis as cache;
