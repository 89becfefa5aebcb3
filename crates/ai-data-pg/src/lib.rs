//! PostgreSQL for the AI platform's services: a configured pool
//! ([`PgConfig`] -> [`PgDatabase`], with optional read replicas and the
//! read routing between them), migrations the caller brings
//! ([`PgDatabase::migrate`]), a base for typed repositories
//! ([`Repository`]), the k-nearest-neighbour scans of pgvector ([`knn`]),
//! and, with the feature `pgvector`, [`PgVectorStore`]: `ai-data-vector`'s
//! `VectorStore` on PostgreSQL + pgvector ([`vector`]). Errors are
//! [`ai_data_core::Error`]s ([`map_sqlx`] documents the mapping). The
//! platform's own schema and repositories live in `ai-data-platform`
//! (feature `pg`).
//!
//! [`PgDatabase::connect`]'s ping, [`PgDatabase::migrate`], the health
//! check and every call a repository wraps in [`PgDatabase::observe`] run
//! as one [`ai_data_core::observe::Operation`] (`store="postgres"`), and
//! publish the primary pool's gauges afterwards
//! ([`PgDatabase::record_pool_gauges`]). The health check reports the
//! backends connected to the database against `max_connections` and warns
//! above 75% (the seed's `PostgreSQLHighConnections`).
//!
//! ```no_run
//! # async fn demo() -> ai_data_core::Result<()> {
//! use ai_data_pg::{map_sqlx, PgConfig, PgDatabase, ReadFrom};
//!
//! let db = PgDatabase::connect(&PgConfig::from_env()?).await?;
//! let version: String = db
//!     .read(ReadFrom::Replica, |pool| async move {
//!         sqlx::query_scalar("SELECT version()")
//!             .fetch_one(&pool)
//!             .await
//!             .map_err(|e| map_sqlx(e, "version", "-"))
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

mod config;
mod db;
mod error;
pub mod knn;
mod repository;
#[cfg(feature = "pgvector")]
pub mod vector;

pub use config::{PgConfig, DEFAULT_APPLICATION_NAME};
pub use db::{PgDatabase, ReadFrom, REPLICA_ACQUIRE_TIMEOUT, REPLICA_COOLDOWN};
pub use error::{map_sqlx, SqlxResultExt};
pub use repository::Repository;
#[cfg(feature = "pgvector")]
pub use vector::PgVectorStore;
