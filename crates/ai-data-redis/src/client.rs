//! [`RedisClient`]: a connected fred pool built from a [`RedisConfig`].

use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use ai_data_core::observe::{record_pool, Operation};
use ai_data_core::{Error, ErrorKind, Result, Store};
use fred::clients::{Client, Pool, WithOptions};
use fred::interfaces::{ClientLike, KeysInterface, MetricsInterface};
use fred::types::config::Options;
use fred::types::scripts::Script;
use fred::types::{FromValue, Key, MultipleKeys, MultipleValues};
use futures::StreamExt;

use crate::error::{connect_error, map_fred, timed};
use crate::{RedisConfig, Topology};

/// What fred's pool says about its connections (see
/// [`RedisClient::pool_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// Connections in the pool (the configured pool size).
    pub size: usize,
    /// Connections connected now (the others are reconnecting or closed).
    pub connected: usize,
    /// Connected connections with commands queued in fred, not yet
    /// written to the socket (a sign of load or backpressure; each
    /// connection pipelines, so this is usually 0).
    pub busy: usize,
}

/// A pool of fred connections to Redis (standalone, sentinel or cluster).
///
/// Cheap to clone: clones share the pool. Each connection pipelines
/// concurrent commands, so there is no checkout: every command goes to the
/// next connected client. Nothing here needs an exclusive connection (no
/// blocking commands, no `WATCH`; atomic steps are Lua scripts), so no
/// second pool (deadpool) is kept; [`RedisClient::pool`] gives fred's own
/// pool for anything else.
///
/// `Debug` and `Display` show the configuration with the password as `***`.
///
/// ```no_run
/// use ai_data_redis::{RedisClient, RedisConfig};
/// use ai_data_core::HealthCheck;
/// use fred::interfaces::KeysInterface;
///
/// # async fn demo() -> ai_data_core::Result<()> {
/// let client = RedisClient::connect(RedisConfig::from_env()?).await?;
/// let report = client.check().await?;
/// println!("Redis {:?}, memory {}", report.server_version, report.details["used_memory"]);
/// // fred's own API for anything this crate does not wrap:
/// let _: () = client.pool().set("greeting", "hello", None, None, false).await.unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisClient {
    pool: Pool,
    config: Arc<RedisConfig>,
}

impl RedisClient {
    /// Connect every pooled connection, once, within the config's connect
    /// timeout (`AI_DATA_REDIS_CONNECT_TIMEOUT`, default 10 s). The timeout
    /// bounds the whole connect: TCP, TLS, `AUTH` / `HELLO` / `SELECT`, every
    /// pooled connection and every sentinel or cluster seed node tried. The
    /// initial connect is never retried (the [`crate::Reconnect`] policy
    /// applies only to connections that drop later), so it fails fast:
    /// wrong password: `ErrorKind::Auth`; nothing listening, or no answer
    /// within the connect timeout: `ErrorKind::Connect` (retryable), with
    /// the cause (the refusal, or the timeout) as `source()`.
    ///
    /// Observed as the operation `client.connect`; publishes the pool
    /// gauges once connected.
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        let connect = pin!(Self::connect_pool(config));
        let client = Operation::new(Store::Redis, "connect").run(connect).await?;
        client.record_pool_metrics();
        Ok(client)
    }

    async fn connect_pool(config: RedisConfig) -> Result<Self> {
        let target = config.to_string();
        let builder = config.fred_builder()?;
        let pool = builder
            .build_pool(config.pool_size)
            .map_err(|e| map_fred(e, "connect", &target))?;
        let budget = config.connection.connect_timeout;
        let connected = match tokio::time::timeout(budget, pool.init()).await {
            Ok(Ok(_connection_task)) => Ok(()),
            Ok(Err(e)) => Err(connect_error(e, budget, &target)),
            Err(_) => Err(Error::new(
                ErrorKind::Connect,
                format!("no connection to Redis within the connect timeout of {budget:?}"),
            )
            .with_store(Store::Redis)
            .with_operation("connect")
            .with_target(&target)
            .with_source(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("connect timed out after {budget:?}"),
            ))),
        };
        if let Err(e) = connected {
            // Stop fred's connection tasks (fail-fast: they end by
            // themselves, never retrying) without making the caller wait.
            let stale = pool.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), stale.quit()).await;
            });
            return Err(e);
        }
        Ok(RedisClient {
            pool,
            config: Arc::new(config),
        })
    }

    /// Connect with [`RedisConfig::from_env`].
    pub async fn from_env() -> Result<Self> {
        Self::connect(RedisConfig::from_env()?).await
    }

    /// fred's pool, for commands this crate does not wrap.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// Whether the servers form a Redis Cluster (multi-key commands must
    /// then stay within one hash slot).
    pub fn is_clustered(&self) -> bool {
        matches!(self.config.topology, Topology::Cluster { .. })
    }

    /// Close every connection (observed as the operation `client.quit`).
    pub async fn quit(&self) -> Result<()> {
        let target = self.config.to_string();
        let quit = pin!(timed(
            self.config.command_timeout,
            "quit",
            &target,
            self.pool.quit(),
        ));
        Operation::new(Store::Redis, "quit").run(quit).await
    }

    /// The pool's connections: how many, how many connected, how many have
    /// commands waiting to be written. Cheap (a few atomic reads per
    /// connection); no round trip.
    pub fn pool_status(&self) -> PoolStatus {
        let clients = self.pool.clients();
        let mut status = PoolStatus {
            size: clients.len(),
            connected: 0,
            busy: 0,
        };
        for client in clients.iter().filter(|c| c.is_connected()) {
            status.connected += 1;
            if client.command_queue_len() > 0 {
                status.busy += 1;
            }
        }
        status
    }

    /// Publish [`pool_status`](Self::pool_status) as the
    /// `ai_data_pool_connections{store="redis"}` gauges, and return it:
    /// `max` the pool size, `in_use` the busy connections, `idle` the
    /// other connected ones (`max - in_use - idle` are disconnected).
    /// fred multiplexes every caller over each connection, so nothing is
    /// ever checked out: there is no "waiting for a connection" to report.
    /// Called by [`connect`](Self::connect) and by every health check; call
    /// it on a timer for finer gauges.
    pub fn record_pool_metrics(&self) -> PoolStatus {
        let status = self.pool_status();
        record_pool(
            Store::Redis,
            status.busy,
            status.connected - status.busy,
            status.size,
        );
        status
    }

    /// The next connected client of the pool.
    pub(crate) fn next(&self) -> &Client {
        self.pool.next_connected()
    }

    /// The next connected client, with commands that fail at once while it
    /// is disconnected (no waiting for a reconnect) and give up after
    /// `timeout` (fred's own per-command timer, so no second one is needed).
    /// For caches: a slow or absent Redis must cost little.
    pub(crate) fn fast(&self, timeout: Duration) -> WithOptions<Client> {
        self.next().with_options(&Options {
            timeout: Some(timeout.max(Duration::from_millis(1))),
            fail_fast: true,
            ..Options::default()
        })
    }

    /// The configured timeout of one command.
    pub(crate) fn command_timeout(&self) -> Duration {
        self.config.command_timeout
    }

    /// `EVALSHA`, loading the script on `NOSCRIPT`, within the command timeout.
    pub(crate) async fn eval<R, K, V>(
        &self,
        script: &Script,
        keys: K,
        args: V,
        operation: &'static str,
        target: &str,
    ) -> Result<R>
    where
        R: FromValue,
        K: Into<MultipleKeys> + Send,
        V: TryInto<MultipleValues> + Send,
        V::Error: Into<fred::error::Error> + Send,
    {
        self.eval_within(
            self.command_timeout(),
            script,
            keys,
            args,
            operation,
            target,
        )
        .await
    }

    /// [`eval`](Self::eval) within `limit`.
    pub(crate) async fn eval_within<R, K, V>(
        &self,
        limit: Duration,
        script: &Script,
        keys: K,
        args: V,
        operation: &'static str,
        target: &str,
    ) -> Result<R>
    where
        R: FromValue,
        K: Into<MultipleKeys> + Send,
        V: TryInto<MultipleValues> + Send,
        V::Error: Into<fred::error::Error> + Send,
    {
        timed(
            limit,
            operation,
            target,
            script.evalsha_with_reload(self.next(), keys, args),
        )
        .await
    }

    /// `UNLINK` these keys; in a cluster one key per command (they may sit
    /// in different slots). Returns how many existed. `target` (a
    /// namespace) names them in errors.
    pub(crate) async fn unlink(&self, keys: Vec<Key>, target: &str) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let limit = self.command_timeout();
        if self.is_clustered() {
            let each = keys
                .into_iter()
                .map(|key| timed(limit, "unlink", target, self.pool.unlink::<u64, _>(key)));
            let counts = futures::future::try_join_all(each).await?;
            Ok(counts.into_iter().sum())
        } else {
            timed(limit, "unlink", target, self.pool.unlink::<u64, _>(keys)).await
        }
    }

    /// `SCAN` (every primary, in a cluster) for keys matching `pattern`,
    /// calling `page` with each page of keys and summing what it returns.
    /// Never `KEYS`. `target` (a namespace) names the scan in errors.
    pub(crate) async fn scan_pages<F, Fut>(
        &self,
        pattern: &str,
        target: &str,
        mut page: F,
    ) -> Result<u64>
    where
        F: FnMut(Vec<Key>) -> Fut,
        Fut: std::future::Future<Output = Result<u64>>,
    {
        let mut total = 0;
        use fred::types::scan::Scanner;
        let client = self.next();
        let mut stream = if self.is_clustered() {
            client.scan_cluster(pattern, Some(500), None).boxed()
        } else {
            client.scan(pattern, Some(500), None).boxed()
        };
        while let Some(result) = stream.next().await {
            let mut result = result.map_err(|e| map_fred(e, "scan", target))?;
            if let Some(keys) = result.take_results() {
                total += page(keys).await?;
            }
            result.next();
        }
        Ok(total)
    }
}

impl fmt::Debug for RedisClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisClient")
            .field("config", &self.config)
            .field("connected", &self.pool.is_connected())
            .finish()
    }
}

impl fmt::Display for RedisClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.config, f)
    }
}
