//! Redis for the AI platform's services, through fred: the seed's uses of
//! Redis (section 5: caching, sessions, real-time counters) as typed,
//! pooled, configured building blocks.
//!
//! - [`RedisConfig`] (environment, Secret files, URL or code; standalone,
//!   the seed's Sentinel layout, or Cluster) → [`RedisClient`], a fred pool
//!   with a [`HealthCheck`](ai_data_core::HealthCheck) (`PING`, version,
//!   memory used against `maxmemory`).
//! - [`TypedCache<T>`]: cache-aside with TTLs, single-flight loads,
//!   namespaced and versioned keys, delete by prefix with `SCAN`.
//! - [`SessionStore`]: sessions with sliding expiry, unguessable ids.
//! - [`RateLimiter`]: fixed- or sliding-window limits, atomic on the server.
//! - [`CachedVectorStore`]: search results of any
//!   [`VectorStore`](ai_data_vector::VectorStore) cached, invalidated per
//!   collection in O(1), and a Redis outage never fails a search.
//!
//! Every key is `<namespace>:v<version>:<key>` ([`KeySpace`]): a version
//! bump abandons a cache whose value type changed. Keys that a command or
//! script uses together share a hash tag (`{collection}`, `{subject}`), so
//! everything works on Redis Cluster too. Atomic steps are Lua scripts
//! (rate limits, session touch, generation counters); nothing needs an
//! exclusive connection (no `WATCH`, no blocking command), so fred's own
//! multiplexed pool is the only pool.
//!
//! Observability: every call that talks to Redis is one
//! [`Operation`](ai_data_core::observe::Operation) (store `redis`, target
//! the key namespace, never a key, a subject or a session id): a DEBUG span
//! and the `ai_data_operation_duration_seconds` / `ai_data_operations_total`
//! metrics. Cache reads also count [`CACHE_LOOKUPS`] by hit, miss or
//! bypass; [`RedisClient::record_pool_metrics`] publishes the pool gauges;
//! the health check warns past the seed's `RedisHighMemoryUsage` (80% of
//! `maxmemory`).
//!
//! Errors are [`ai_data_core::Error`]s ([`map_fred`] says how fred's map).
//! `fred` is re-exported for direct commands on [`RedisClient::pool`].
//! Passwords never appear in `Debug`, `Display`, logs or errors; session
//! ids are stored in Redis only as hashes.
//!
//! ```no_run
//! use std::time::Duration;
//! use ai_data_redis::{RateLimiter, RedisClient, SessionStore, TypedCache};
//!
//! # #[derive(serde::Serialize, serde::Deserialize)] struct Profile { name: String }
//! # async fn demo() -> ai_data_core::Result<()> {
//! // AI_DATA_REDIS_URL / _HOST, the password from AI_DATA_SECRETS_DIR/redis-password, ...
//! let client = RedisClient::from_env().await?;
//! let profiles = TypedCache::<Profile>::new(client.clone(), "profiles", 1)?;
//! let p = profiles.get_or_load("u42", || async { Ok(Profile { name: "Ada".into() }) }).await?;
//! let sessions = SessionStore::<serde_json::Value>::new(client.clone(), "session")?;
//! let s = sessions.create("u42", serde_json::json!({"role": "admin"})).await?;
//! let limiter = RateLimiter::fixed_window(client, "login", 5, Duration::from_secs(60))?;
//! assert!(limiter.check("u42").await?.allowed);
//! # Ok(())
//! # }
//! ```

mod client;
mod codec;
mod config;
mod error;
mod health;
mod keys;
mod observe;
mod rate_limit;
mod session;
mod single_flight;
mod typed;
mod vector;
mod warn;

pub use ai_data_core::{Error, ErrorKind, Result};
pub use client::{PoolStatus, RedisClient};
pub use codec::Codec;
pub use config::{
    HostPort, Reconnect, RedisConfig, Topology, DEFAULT_COMMAND_TIMEOUT, DEFAULT_POOL_SIZE,
    DEFAULT_PORT, DEFAULT_SENTINEL_MASTER, DEFAULT_SENTINEL_PORT,
};
pub use error::map_fred;
pub use fred;
pub use keys::KeySpace;
pub use observe::CACHE_LOOKUPS;
pub use rate_limit::{RateDecision, RateLimiter, WindowKind};
pub use session::{Session, SessionId, SessionStore, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_LIFETIME};
pub use single_flight::SingleFlight;
pub use typed::{CacheStats, TypedCache, DEFAULT_LOAD_LEASE, DEFAULT_TTL};
pub use vector::{
    CachedVectorStore, VectorCacheStats, DEFAULT_MAX_COLLECTIONS, VECTOR_CACHE_FORMAT,
};
