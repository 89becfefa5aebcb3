//! MongoDB for the AI platform (seed §3): a pooled [`mongodb::Client`]
//! built from [`MongoConfig`], the idempotent [`Bootstrap`] of the seed's
//! collections and indexes, and typed repositories:
//!
//! | collection | repository | what |
//! |---|---|---|
//! | `system_logs` | [`SystemLogRepo`] | batched inserts, level / service / time queries with keyset pages, counts, purge |
//! | `configurations` | [`ConfigurationRepo`] | versions per component and environment, exactly one active |
//! | `task_status_cache` | [`TaskStatusRepo`] | upserted task states, expired by a TTL index |
//!
//! Every call that talks to the server is one observed
//! [`ai_data_core::observe::Operation`] (store `mongodb`): `logs.*`,
//! `configurations.*` and `tasks.*` per repository method (target: the
//! collection), `connect`, `bootstrap` and `health`. A client built by
//! [`MongoStore::connect`] also publishes its pool gauges (see
//! [`MongoStore::connect_lazy`]); the health check warns on the seed's
//! replication-lag alert (see [`MongoStore::health`]).
//!
//! Errors are [`ai_data_core::Error`]s (see [`from_driver_error`] for the
//! mapping); [`MongoStore`] implements [`ai_data_core::HealthCheck`].
//!
//! User-supplied maps (log details, configuration content, task results)
//! are checked before any I/O: a field name that is empty, starts with `$`,
//! contains `.` or contains NUL, at any depth, is refused with
//! [`ErrorKind::InvalidInput`] and nothing is written (see
//! [`validate_field_names`]). Values are always stored and matched as
//! literals: `"$gt"` is a string, never an operator.
//!
//! ```no_run
//! # async fn demo() -> ai_data_core::Result<()> {
//! use ai_data_mongo::{LogLevel, LogQuery, MongoConfig, MongoStore, SystemLog};
//!
//! let store = MongoStore::connect(&MongoConfig::from_env()?).await?;
//! store.bootstrap().await?;
//! store.logs().insert_one(&SystemLog::new(LogLevel::Info, "user_service", "started")).await?;
//! let page = store.logs().query(&LogQuery::new().service("user_service")).await?;
//! assert!(!page.logs.is_empty());
//! # Ok(()) }
//! ```

mod bootstrap;
mod config;
mod configurations;
mod error;
mod health;
mod keys;
mod logs;
mod pool;
mod store;
mod tasks;

pub use bootstrap::{
    seed_indexes, Bootstrap, BootstrapReport, CollectionOutcome, IndexOutcome, IndexSpec,
    IndexStatus, PlatformUser, UserAccess, UserOutcome, COLLECTIONS, CONFIGURATIONS, SEED_APP_USER,
    SEED_READ_ONLY_USER, SYSTEM_LOGS, TASK_STATUS_CACHE,
};
pub use config::{
    MongoConfig, DEFAULT_DATABASE, DEFAULT_REPLICATION_LAG_ALERT, DEFAULT_SERVER_SELECTION_TIMEOUT,
    DEFAULT_TASK_STATUS_TTL,
};
pub use configurations::{ActivationMode, Configuration, ConfigurationRepo, NewConfiguration};
pub use error::{from_driver_error, server_code};
pub use keys::validate_field_names;
pub use logs::{
    InsertFailure, InsertManyReport, LevelCount, LogCursor, LogLevel, LogPage, LogQuery, SortOrder,
    SystemLog, SystemLogRepo, DEFAULT_BATCH_SIZE, MAX_PAGE_SIZE,
};
pub use store::MongoStore;
pub use tasks::{TaskState, TaskStatus, TaskStatusRepo, TaskUpdate};

pub use ai_data_core::{Error, ErrorKind, Result};
/// The driver, for what the repositories do not cover.
pub use mongodb;
/// BSON types (`doc!`, `DateTime`, `ObjectId`, `Document`).
pub use mongodb::bson;
