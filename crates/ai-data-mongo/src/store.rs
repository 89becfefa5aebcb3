//! [`MongoStore`]: the shared client, the platform database, and the
//! repositories on it.

use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::doc;
use mongodb::{Client, Database};

use ai_data_core::observe::Operation;
use ai_data_core::{Result, Store};

use crate::bootstrap::{Bootstrap, BootstrapReport};
use crate::config::{MongoConfig, DEFAULT_TASK_STATUS_TTL};
use crate::error::map_err;
use crate::pool::PoolGauges;
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
    ///
    /// Observed as operation `connect` (target: the database name).
    pub async fn connect(config: &MongoConfig) -> Result<Self> {
        let store = Self::connect_lazy(config).await?;
        let db = &store.database;
        Operation::new(Store::Mongo, "connect")
            .target(db.name())
            .run(async {
                db.run_command(doc! { "ping": 1 })
                    .await
                    .map_err(map_err("connect", db.name()))
            })
            .await?;
        Ok(store)
    }

    /// Build the client without contacting the server (connections open on
    /// first use).
    ///
    /// The client publishes its pools' state as the
    /// `ai_data_pool_connections{store="mongodb"}` gauges (`in_use`: checked
    /// out, `idle`: open and not checked out, `max`: the sum of every
    /// server's `maxPoolSize`), counted from the driver's connection
    /// monitoring events: the driver has no other view of its pools. A
    /// store built with [`MongoStore::from_client`] publishes none.
    pub async fn connect_lazy(config: &MongoConfig) -> Result<Self> {
        let mut options = config.client_options().await?;
        options.cmap_event_handler = Some(PoolGauges::handler(Arc::default()));
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
    ///
    /// Pool gauges are not published for such a client (see
    /// [`MongoStore::connect_lazy`]).
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
    ///
    /// Observed as operation `bootstrap` (target: the database name).
    pub async fn bootstrap(&self) -> Result<BootstrapReport> {
        let bootstrap = Bootstrap::new().task_status_ttl(self.task_status_ttl);
        Operation::new(Store::Mongo, "bootstrap")
            .target(self.database.name())
            .run(async {
                bootstrap
                    .run_unobserved(&self.database)
                    .await?
                    .into_result()
            })
            .await
    }
}
