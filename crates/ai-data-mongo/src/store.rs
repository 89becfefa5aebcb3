//! [`MongoStore`]: the shared client, the platform database, and the
//! [`Executor`] every call on them runs through.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mongodb::bson::doc;
use mongodb::event::sdam::SdamEvent;
use mongodb::event::EventHandler;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use tokio::sync::Notify;

use ai_data_core::executor::Executor;
use ai_data_core::{Error, ErrorKind, Result, Store};

use crate::bootstrap::{Bootstrap, BootstrapReport};
use crate::config::{MongoConfig, DEFAULT_REPLICATION_LAG_ALERT, DEFAULT_TASK_STATUS_TTL};
use crate::error::map_err;
use crate::pool::PoolGauges;

/// A pooled MongoDB client, the platform database, and the [`Executor`]
/// (span, metrics, pool gauges) its calls run through.
///
/// Cheap to clone (the driver's `Client` and the executor are `Arc`s);
/// create one per process and share it. A service's own repository runs
/// its calls through [`MongoStore::executor`] to get the same spans and
/// metrics.
///
/// ```no_run
/// # async fn demo() -> ai_data_core::Result<()> {
/// use ai_data_mongo::{MongoConfig, MongoStore};
///
/// let store = MongoStore::connect(&MongoConfig::from_env()?).await?;
/// let report = store.health().await?;
/// println!("MongoDB {:?} in {:?}", report.server_version, report.latency);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MongoStore {
    client: Client,
    database: Database,
    executor: Executor,
    task_status_ttl: Duration,
    pub(crate) replication_lag_alert: Duration,
}

/// What the driver's server monitors have seen: whether any server
/// answered, and the latest failure. Fed by SDAM heartbeat events; used by
/// [`MongoStore::connect`] to tell "nobody answers" (fail at the connect
/// timeout) from "servers answer but none is suitable yet" (wait for the
/// server-selection timeout).
#[derive(Debug, Default)]
struct Reachability {
    seen: Mutex<Seen>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct Seen {
    answered: bool,
    failure: Option<mongodb::error::Error>,
}

impl Reachability {
    fn handler(this: Arc<Reachability>) -> EventHandler<SdamEvent> {
        EventHandler::callback(move |event: SdamEvent| {
            let mut seen = this.seen.lock().unwrap_or_else(PoisonError::into_inner);
            match event {
                SdamEvent::ServerHeartbeatSucceeded(_) => seen.answered = true,
                SdamEvent::ServerHeartbeatFailed(e) => seen.failure = Some(e.failure),
                _ => return,
            }
            drop(seen);
            this.changed.notify_waiters();
        })
    }

    fn answered(&self) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .answered
    }

    fn failure(&self) -> Option<mongodb::error::Error> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failure
            .clone()
    }

    /// The latest failure, waiting up to `grace` for one (a monitor whose
    /// attempt ends at the same deadline as the caller's reports just after).
    async fn failure_within(&self, grace: Duration) -> Option<mongodb::error::Error> {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                if let Some(failure) = self.failure() {
                    return failure;
                }
                changed.await;
            }
        };
        tokio::time::timeout(grace, wait).await.ok()
    }
}

impl MongoStore {
    /// Build the client and check that the server answers `ping` (which
    /// also authenticates).
    ///
    /// Fails with [`ai_data_core::ErrorKind::Connect`] (retryable) when no
    /// server answers within the connect timeout
    /// (`AI_DATA_MONGO_CONNECT_TIMEOUT`, default 10 s; refused connections
    /// are retried until then), with the driver's last connection error
    /// (refused, timed out, ...) as `source()`. When servers answer but
    /// none is suitable yet (a replica set electing a primary), it waits up
    /// to the server-selection timeout (`_SERVER_SELECTION_TIMEOUT`,
    /// default 30 s), which also bounds the whole call when it is the
    /// shorter one. Bad credentials are [`ai_data_core::ErrorKind::Auth`].
    ///
    /// Observed as operation `connect` (target: the database name).
    pub async fn connect(config: &MongoConfig) -> Result<Self> {
        let reach = Arc::new(Reachability::default());
        let mut options = config.client_options().await?;
        options.sdam_event_handler = Some(Reachability::handler(reach.clone()));
        let hosts = hosts_of(&options);
        let store = Self::with_options(config, options)?;
        let db = &store.database;
        let connect_timeout = config.connection.connect_timeout;
        store
            .executor
            .call("connect")
            .target(db.name())
            .run_once(async {
                let ping = db.run_command(doc! { "ping": 1 }).into_future();
                tokio::pin!(ping);
                let result = if connect_timeout < config.server_selection_timeout {
                    match tokio::time::timeout(connect_timeout, &mut ping).await {
                        Ok(result) => result,
                        // Servers answer: leave the rest to server selection.
                        Err(_) if reach.answered() => ping.await,
                        Err(_) => {
                            let cause = reach.failure_within(Duration::from_millis(250)).await;
                            return Err(unreachable(&hosts, connect_timeout, cause, db.name()));
                        }
                    }
                } else {
                    ping.await
                };
                result.map_err(map_err("connect", db.name()))
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
        Self::with_options(config, config.client_options().await?)
    }

    fn with_options(config: &MongoConfig, mut options: ClientOptions) -> Result<Self> {
        let gauges = Arc::new(PoolGauges::default());
        options.cmap_event_handler = Some(PoolGauges::handler(gauges.clone()));
        let client =
            Client::with_options(options).map_err(map_err("connect", config.database()))?;
        let database = client.database(config.database());
        let executor = Executor::new(Store::Mongo).with_pool_gauges(move || gauges.state());
        Ok(MongoStore {
            client,
            database,
            executor,
            task_status_ttl: config.task_status_ttl,
            replication_lag_alert: config.replication_lag_alert,
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
            executor: Executor::new(Store::Mongo),
            task_status_ttl: DEFAULT_TASK_STATUS_TTL,
            replication_lag_alert: DEFAULT_REPLICATION_LAG_ALERT,
        }
    }

    /// Set the TTL the bootstrap gives `task_status_cache`.
    #[must_use]
    pub fn with_task_status_ttl(mut self, ttl: Duration) -> Self {
        self.task_status_ttl = ttl;
        self
    }

    /// Set the replication lag above which [`MongoStore::health`] warns
    /// (default 60 s, the seed's `MongoDBReplicationLag` alert).
    #[must_use]
    pub fn with_replication_lag_alert(mut self, lag: Duration) -> Self {
        self.replication_lag_alert = lag;
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

    /// The executor every call of this store runs through: store
    /// `mongodb`, the pool gauges of a client built from a config. A
    /// repository's call made through it gets the span and metrics, and
    /// the calls it makes on this store inside are part of it.
    ///
    /// ```no_run
    /// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
    /// use ai_data_mongo::bson::{doc, Document};
    /// use ai_data_mongo::map_err;
    ///
    /// let orders = store.database().collection::<Document>("orders");
    /// let open = store
    ///     .executor()
    ///     .call("orders.count_open")
    ///     .target("orders")
    ///     .idempotent()
    ///     .run(|| async {
    ///         orders
    ///             .count_documents(doc! { "open": true })
    ///             .await
    ///             .map_err(map_err("count_documents", "app.orders"))
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The TTL the seed's bootstrap gives `task_status_cache`
    /// (`AI_DATA_MONGO_TASK_STATUS_TTL`, default 24 h).
    pub fn task_status_ttl(&self) -> Duration {
        self.task_status_ttl
    }

    /// Run `bootstrap` on the platform database, as operation `bootstrap`
    /// (target: the database name) of this store's executor; the report,
    /// conflicts included (see [`BootstrapReport::into_result`]).
    pub async fn run_bootstrap(&self, bootstrap: &Bootstrap) -> Result<BootstrapReport> {
        self.executor
            .call("bootstrap")
            .target(self.database.name())
            .idempotent()
            .run(|| bootstrap.run(&self.database))
            .await
    }
}

/// `host:port, ...` of the seed list, for messages.
fn hosts_of(options: &ClientOptions) -> String {
    options
        .hosts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// No server answered within the connect timeout.
fn unreachable(
    hosts: &str,
    timeout: Duration,
    cause: Option<mongodb::error::Error>,
    database: &str,
) -> Error {
    let err = Error::new(
        ErrorKind::Connect,
        format!(
            "no MongoDB server answered within the connect timeout ({timeout:?}); tried {hosts}"
        ),
    )
    .with_store(Store::Mongo)
    .with_operation("connect")
    .with_target(database);
    match cause {
        Some(cause) => err.with_source(cause),
        None => err.with_source(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no connection attempt finished within the connect timeout",
        )),
    }
}
