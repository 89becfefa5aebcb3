//! The platform's PostgreSQL schema (`shared/seed/`: `auth`, `data`,
//! `model`, `service` schemas and the text embeddings) on
//! [`ai_data_pg`]: its migrations ([`MIGRATOR`], also the binary
//! `ai-data-pg-migrate`), the typed repositories ([`repo`]), the
//! password hashing they use and [`bootstrap_admin`].
//!
//! ```no_run
//! # async fn demo() -> ai_data_core::Result<()> {
//! use ai_data_pg::{PgConfig, PgDatabase};
//! use ai_data_platform::pg::{UserRepo, MIGRATOR};
//!
//! let db = PgDatabase::connect(&PgConfig::from_env()?).await?;
//! db.migrate(&MIGRATOR).await?;
//! let users = UserRepo::new(db.clone());
//! let admin = users.get_by_username("admin").await?;
//! # Ok(()) }
//! ```

mod admin;
mod password;
pub mod repo;

pub use admin::bootstrap_admin;
pub use password::{hash_password, needs_rehash, verify_password};
pub use repo::data_sources::{ConnectionInfo, DataSource, DataSourceRepo, NewDataSource};
pub use repo::embeddings::{
    NewTextEmbedding, TextEmbedding, TextEmbeddingHit, TextEmbeddingRepo, TEXT_EMBEDDING_DIM,
};
pub use repo::groups::{Group, GroupRepo};
pub use repo::models::{Model, ModelRepo, ModelVersion, NewModel, NewModelVersion};
pub use repo::users::{NewUser, User, UserRepo, UserUpdate};

/// The platform schema's migrations, embedded at compile time from
/// `crates/ai-data-platform/migrations`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
