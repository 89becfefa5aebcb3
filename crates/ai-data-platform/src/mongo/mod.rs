//! The platform's MongoDB model (seed §3) on [`ai_data_mongo`]: the seed's
//! collections, indexes and users ([`seed_bootstrap`]) and the typed
//! repositories of its collections:
//!
//! | collection | repository | what |
//! |---|---|---|
//! | `system_logs` | [`SystemLogRepo`] | batched inserts, level / service / time queries with keyset pages, counts, purge |
//! | `configurations` | [`ConfigurationRepo`] | versions per component and environment, exactly one active |
//! | `task_status_cache` | [`TaskStatusRepo`] | upserted task states, expired by a TTL index |
//!
//! Every repository method is one operation of the store's
//! [`executor`](ai_data_mongo::MongoStore::executor) (store `mongodb`):
//! `logs.*`, `configurations.*` and `tasks.*` (target: the collection);
//! [`SeedCollections::bootstrap`] is operation `bootstrap`. User-supplied
//! maps (log details, configuration content, task results) are checked
//! with [`ai_data_mongo::validate_field_names`] before any I/O.
//!
//! ```no_run
//! # async fn demo() -> ai_data_core::Result<()> {
//! use ai_data_mongo::{MongoConfig, MongoStore};
//! use ai_data_platform::mongo::{LogQuery, SeedCollections, SystemLog};
//! use ai_data_platform::LogLevel;
//!
//! let store = MongoStore::connect(&MongoConfig::from_env()?).await?;
//! store.bootstrap().await?;
//! store.logs().insert_one(&SystemLog::new(LogLevel::Info, "user_service", "started")).await?;
//! let page = store.logs().query(&LogQuery::new().service("user_service")).await?;
//! assert!(!page.logs.is_empty());
//! # Ok(()) }
//! ```

mod collections;
mod configurations;
mod logs;
mod tasks;

use async_trait::async_trait;

use ai_data_core::Result;
use ai_data_mongo::{BootstrapReport, MongoStore};

pub use collections::{
    seed_app_user, seed_bootstrap, seed_indexes, seed_read_only_user, COLLECTIONS,
    CONFIGURATIONS_COLLECTION, SEED_APP_USER, SEED_READ_ONLY_USER, SYSTEM_LOGS_COLLECTION,
    TASK_STATUS_CACHE_COLLECTION,
};
pub use configurations::{ActivationMode, Configuration, ConfigurationRepo, NewConfiguration};
pub use logs::{
    InsertFailure, InsertManyReport, LevelCount, LogCursor, LogPage, LogQuery, SortOrder,
    SystemLog, SystemLogRepo, DEFAULT_BATCH_SIZE, MAX_PAGE_SIZE,
};
pub use tasks::{TaskState, TaskStatus, TaskStatusRepo, TaskUpdate};

/// The seed's collections on a [`MongoStore`]: its repositories and its
/// bootstrap, as methods of the store.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use ai_data_platform::mongo::{SeedCollections, TaskState};
///
/// store.bootstrap().await?;
/// let running = store.tasks().list_by_status(&TaskState::Running, 100).await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait SeedCollections {
    /// `system_logs`.
    fn logs(&self) -> SystemLogRepo;

    /// `configurations`.
    fn configurations(&self) -> ConfigurationRepo;

    /// `task_status_cache`.
    fn tasks(&self) -> TaskStatusRepo;

    /// Create the seed's collections and indexes (TTL from the store's
    /// config, [`MongoStore::task_status_ttl`]); an index that exists with
    /// other options is an [`ai_data_core::ErrorKind::Conflict`] error. Use
    /// [`seed_bootstrap`] for the report without failing, TTL updates, or
    /// users.
    ///
    /// Observed as operation `bootstrap` (target: the database name).
    async fn bootstrap(&self) -> Result<BootstrapReport>;
}

#[async_trait]
impl SeedCollections for MongoStore {
    fn logs(&self) -> SystemLogRepo {
        SystemLogRepo::new(self)
    }

    fn configurations(&self) -> ConfigurationRepo {
        ConfigurationRepo::new(self)
    }

    fn tasks(&self) -> TaskStatusRepo {
        TaskStatusRepo::new(self)
    }

    async fn bootstrap(&self) -> Result<BootstrapReport> {
        let bootstrap = seed_bootstrap(self.task_status_ttl());
        // The conflict check is part of the operation, so a conflict is
        // its outcome.
        self.executor()
            .call("bootstrap")
            .target(self.database().name())
            .idempotent()
            .run(|| async { bootstrap.run(self.database()).await?.into_result() })
            .await
    }
}
