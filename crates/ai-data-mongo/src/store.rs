//! [`MongoStore`]: the shared client, the platform database, and the
//! repositories on it.

use std::time::Duration;

use mongodb::bson::doc;
use mongodb::{Client, Database};

use ai_data_core::Result;

use crate::bootstrap::{Bootstrap, BootstrapReport};
use crate::config::{MongoConfig, DEFAULT_TASK_STATUS_TTL};
use crate::error::map_err;
use crate::{ConfigurationRepo, SystemLogRepo, TaskStatusRepo};

/// A pooled MongoDB client and the platform database.
///
/// Cheap to clone (the driver's `Client` is an `Arc`); create one per
/// process and share it.
///
/// ```no_run
/// # async fn demo() -> ai_data_core::Result<()> {
/// use ai_data_mongo::{MongoConfig, MongoStore};
///
/// let store = MongoStore::connect(&MongoConfig::from_env()?).await?;
/// store.bootstrap().await?;
/// let report = store.health().await?;
/// println!("MongoDB {:?} in {:?}", report.server_version, report.latency);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MongoStore {
    client: Client,
    database: Database,
    task_status_ttl: Duration,
}

impl MongoStore {
    /// Build the client and check that the server answers `ping` (which
    /// also authenticates): fails fast with
    /// [`ai_data_core::ErrorKind::Connect`] or
    /// [`ai_data_core::ErrorKind::Auth`].
    pub async fn connect(config: &MongoConfig) -> Result<Self> {
        let store = Self::connect_lazy(config).await?;
        store
            .database
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(map_err("connect", store.database.name()))?;
        Ok(store)
    }

    /// Build the client without contacting the server (connections open on
    /// first use).
    pub async fn connect_lazy(config: &MongoConfig) -> Result<Self> {
        let options = config.client_options().await?;
        let client =
            Client::with_options(options).map_err(map_err("connect", config.database()))?;
        let database = client.database(config.database());
        Ok(MongoStore {
            client,
            database,
            task_status_ttl: config.task_status_ttl,
        })
    }

    /// Wrap an existing client; `database` is the platform database.
    pub fn from_client(client: Client, database: &str) -> Self {
        let database = client.database(database);
        MongoStore {
            client,
            database,
            task_status_ttl: DEFAULT_TASK_STATUS_TTL,
        }
    }

    /// Set the TTL the bootstrap gives `task_status_cache`.
    #[must_use]
    pub fn with_task_status_ttl(mut self, ttl: Duration) -> Self {
        self.task_status_ttl = ttl;
        self
    }

    /// The driver's client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The platform database.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// `system_logs`.
    pub fn logs(&self) -> SystemLogRepo {
        SystemLogRepo::new(&self.database)
    }

    /// `configurations`.
    pub fn configurations(&self) -> ConfigurationRepo {
        ConfigurationRepo::new(&self.database)
    }

    /// `task_status_cache`.
    pub fn tasks(&self) -> TaskStatusRepo {
        TaskStatusRepo::new(&self.database)
    }

    /// Create the seed's collections and indexes (TTL from the config);
    /// an index that exists with other options is an
    /// [`ai_data_core::ErrorKind::Conflict`] error. Use [`Bootstrap`] for
    /// the report without failing, TTL updates, or users.
    pub async fn bootstrap(&self) -> Result<BootstrapReport> {
        Bootstrap::new()
            .task_status_ttl(self.task_status_ttl)
            .run(&self.database)
            .await?
            .into_result()
    }
}
