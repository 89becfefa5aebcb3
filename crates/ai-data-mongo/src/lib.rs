//! MongoDB on the `ai-data` core: a pooled [`mongodb::Client`] built from
//! [`MongoConfig`], the driver's errors mapped to [`ai_data_core::Error`],
//! the health check, an idempotent [`Bootstrap`] of collections and indexes
//! from a spec list, and the field-name policy for user-supplied maps.
//! The AI platform's seed model on it (the `system_logs`,
//! `configurations` and `task_status_cache` collections, their indexes,
//! seed users and repositories) is `ai_data_platform::mongo`.
//!
//! | module role | items |
//! |---|---|
//! | config | [`MongoConfig`] (env prefix `AI_DATA_MONGO_`) |
//! | client / pool | [`MongoStore`]: client, database, [`Executor`](ai_data_core::executor::Executor), pool gauges |
//! | error mapping | [`from_driver_error`], [`map_err`], [`server_code`] |
//! | health | [`MongoStore::health`], [`MongoStore::supports_transactions`] |
//! | bootstrap | [`Bootstrap`], [`IndexSpec`], [`PlatformUser`], [`BootstrapReport`] |
//! | field names | [`validate_field_names`] |
//!
//! Every call that talks to the server runs through the store's
//! [`MongoStore::executor`] (store `mongodb`): `connect`, `bootstrap`,
//! `health`, and the repositories' operations (the platform's `logs.*`,
//! `configurations.*`, `tasks.*`, or a service's own). A call made inside
//! another (a repository method calling another) is part of it, not an
//! operation of its own. A client built by [`MongoStore::connect`] also
//! publishes its pool gauges (see [`MongoStore::connect_lazy`]); the health
//! check warns on the seed's replication-lag alert (see
//! [`MongoStore::health`]).
//!
//! Errors are [`ai_data_core::Error`]s (see [`from_driver_error`] for the
//! mapping); [`MongoStore`] implements [`ai_data_core::HealthCheck`].
//!
//! User-supplied maps are checked before any I/O: a field name that is
//! empty, starts with `$`, contains `.` or contains NUL, at any depth, is
//! refused with [`ErrorKind::InvalidInput`] and nothing is written (see
//! [`validate_field_names`]). Values are always stored and matched as
//! literals: `"$gt"` is a string, never an operator.
//!
//! ```no_run
//! # async fn demo() -> ai_data_core::Result<()> {
//! use ai_data_mongo::bson::doc;
//! use ai_data_mongo::{Bootstrap, IndexSpec, MongoConfig, MongoStore};
//!
//! let store = MongoStore::connect(&MongoConfig::from_env()?).await?;
//! let events = Bootstrap::new(["events"], [IndexSpec::new("events", doc! { "at": 1 }, None)]);
//! store.run_bootstrap(&events).await?.into_result()?;
//! let health = store.health().await?;
//! # Ok(()) }
//! ```

mod bootstrap;
mod config;
mod error;
mod field_names;
mod health;
mod pool;
mod store;

pub use bootstrap::{
    Bootstrap, BootstrapReport, CollectionOutcome, IndexOutcome, IndexSpec, IndexStatus,
    PlatformUser, UserAccess, UserOutcome,
};
pub use config::{
    MongoConfig, DEFAULT_DATABASE, DEFAULT_REPLICATION_LAG_ALERT, DEFAULT_SERVER_SELECTION_TIMEOUT,
    DEFAULT_TASK_STATUS_TTL, DEFAULT_USER,
};
pub use error::{
    from_driver_error, is_duplicate_code, is_duplicate_key, kind_of_code, map_err, server_code,
};
pub use field_names::validate_field_names;
pub use store::MongoStore;

pub use ai_data_core::{Error, ErrorKind, Result};
/// The driver, for what the repositories do not cover.
pub use mongodb;
/// BSON types (`doc!`, `DateTime`, `ObjectId`, `Document`).
pub use mongodb::bson;
