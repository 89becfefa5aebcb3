//! PostgreSQL + pgvector for the AI platform: a configured pool
//! ([`PgConfig`] -> [`PgDatabase`], with optional read replicas), the
//! platform schema as embedded, versioned migrations ([`MIGRATOR`]), and
//! typed repositories for users, groups and permissions, data sources,
//! models and text embeddings. Errors are [`ai_data_core::Error`]s
//! ([`map_sqlx`] documents the mapping).
//!
//! Every repository method, [`bootstrap_admin`], [`PgDatabase::connect`]'s
//! ping, [`PgDatabase::migrate`] and the health check run as one
//! [`ai_data_core::observe::Operation`] (`store="postgres"`, operation
//! `users.create`, `text_embeddings.search`, `database.health`, ...,
//! target the table; rows counted for lists, batches, searches and
//! deletes), and publish the primary pool's gauges afterwards
//! ([`PgDatabase::record_pool_gauges`]). The health check reports the
//! backends connected to the database against `max_connections` and warns
//! above 75% (the seed's `PostgreSQLHighConnections`).
//!
//! ```no_run
//! # async fn demo() -> ai_data_core::Result<()> {
//! use ai_data_pg::{GroupRepo, NewUser, PgConfig, PgDatabase, UserRepo};
//!
//! let db = PgDatabase::connect(&PgConfig::from_env()?).await?;
//! db.migrate().await?;
//! let user = UserRepo::new(db.clone()).create(NewUser::new("bob", "bob@example.com", "pw")).await?;
//! let can = GroupRepo::new(db).user_has_permission(user.id, "models.deploy").await?;
//! # Ok(()) }
//! ```

mod admin;
mod config;
mod db;
mod error;
pub mod knn;
mod password;
pub mod repo;

pub use admin::bootstrap_admin;
pub use config::{PgConfig, DEFAULT_APPLICATION_NAME};
pub use db::{PgDatabase, ReadFrom, REPLICA_ACQUIRE_TIMEOUT, REPLICA_COOLDOWN};
pub use error::map_sqlx;
pub use password::{hash_password, needs_rehash, verify_password};
pub use repo::data_sources::{ConnectionInfo, DataSource, DataSourceRepo, NewDataSource};
pub use repo::embeddings::{
    NewTextEmbedding, TextEmbedding, TextEmbeddingHit, TextEmbeddingRepo, TEXT_EMBEDDING_DIM,
};
pub use repo::groups::{Group, GroupRepo};
pub use repo::models::{Model, ModelRepo, ModelVersion, NewModel, NewModelVersion};
pub use repo::users::{NewUser, User, UserRepo, UserUpdate};

/// The platform schema's migrations, embedded at compile time from
/// `crates/ai-data-pg/migrations`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
