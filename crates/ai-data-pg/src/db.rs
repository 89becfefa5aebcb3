//! `PgDatabase`: the primary pool, optional replica pools, and the read
//! routing between them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data_core::executor::{Executor, PoolState};
use ai_data_core::observe::record_pool;
use ai_data_core::{Error, ErrorKind, HealthCheck, HealthReport, Result, RetryPolicy, Store};
use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::error::{map_sqlx, SqlxResultExt};
use crate::PgConfig;

/// Where a read may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFrom {
    /// A replica when one is configured and answers, else the primary.
    /// For reads that tolerate replication lag (lists, searches).
    #[default]
    Replica,
    /// Always the primary: read-your-writes.
    Primary,
}

/// The platform database: a primary pool and zero or more replica pools.
///
/// Cheap to clone (pools are reference-counted).
///
/// ```no_run
/// # async fn demo() -> ai_data_core::Result<()> {
/// use ai_data_pg::{PgConfig, PgDatabase};
/// let db = PgDatabase::connect(&PgConfig::from_env()?).await?;
/// let version: String = sqlx::query_scalar("SELECT version()").fetch_one(db.primary()).await.unwrap();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgDatabase {
    primary: PgPool,
    replicas: Arc<[PgPool]>,
    next_replica: Arc<AtomicUsize>,
    /// Per replica: skip it until this instant (set after it failed).
    replica_down_until: Arc<Mutex<Vec<Option<Instant>>>>,
    retry: RetryPolicy,
    executor: Executor,
}

/// How long a replica that failed is skipped before it is tried again.
pub const REPLICA_COOLDOWN: Duration = Duration::from_secs(10);
/// Replica pools give up on a checkout sooner than the primary's: a slow
/// replica read falls back to the primary instead of waiting. The connect
/// timeout, when shorter, bounds it further.
pub const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

impl PgDatabase {
    /// Build the pools and check the primary.
    ///
    /// The primary is checked on a connection of its own, opened and
    /// pinged (`SELECT 1`) within the connect timeout
    /// (`AI_DATA_PG_CONNECT_TIMEOUT`, [`ConnectionConfig::connect_timeout`]),
    /// then closed, so a wrong URL or password, or an unreachable server,
    /// fails here: an unreachable server with [`ErrorKind::Connect`] within
    /// that timeout, naming the address, the cause (connection refused, or
    /// an [`std::io::ErrorKind::TimedOut`] error) as `source()`. The pools
    /// open their connections lazily; replica pools give up on a checkout
    /// after the connect timeout or [`REPLICA_ACQUIRE_TIMEOUT`], whichever
    /// is shorter, so an unreachable replica costs a read at most that
    /// before it falls back to the primary.
    ///
    /// [`ConnectionConfig::connect_timeout`]: ai_data_core::ConnectionConfig::connect_timeout
    /// [`ErrorKind::Connect`]: ai_data_core::ErrorKind::Connect
    pub async fn connect(config: &PgConfig) -> Result<Self> {
        let connect_timeout = config.connection.connect_timeout;
        if connect_timeout.is_zero() {
            return Err(Error::config(format!(
                "{} must be greater than zero",
                Store::Postgres.var("CONNECT_TIMEOUT")
            ))
            .with_store(Store::Postgres));
        }
        let primary_options = config.primary_options()?;
        let primary = pool_options(config).connect_lazy_with(primary_options.clone());
        let replica_acquire = config
            .connection
            .pool
            .acquire_timeout
            .min(REPLICA_ACQUIRE_TIMEOUT)
            .min(connect_timeout);
        let replicas = config
            .replica_options()?
            .into_iter()
            .map(|options: PgConnectOptions| {
                pool_options(config)
                    .acquire_timeout(replica_acquire)
                    .connect_lazy_with(options)
            })
            .collect::<Vec<_>>();
        let db = Self::from_pools(primary, replicas);
        db.observe(
            "connect",
            "",
            check_server(&primary_options, connect_timeout, "primary"),
        )
        .await?;
        Ok(db)
    }

    /// Wrap existing pools (the first is the primary).
    pub fn from_pools(primary: PgPool, replicas: Vec<PgPool>) -> Self {
        let gauged = primary.clone();
        let executor = Executor::new(Store::Postgres).with_pool_gauges(move || {
            let (in_use, idle, max) = pool_state(&gauged);
            PoolState { in_use, idle, max }
        });
        PgDatabase {
            executor,
            primary,
            replica_down_until: Arc::new(Mutex::new(vec![None; replicas.len()])),
            replicas: replicas.into(),
            next_replica: Arc::new(AtomicUsize::new(0)),
            retry: RetryPolicy::default(),
        }
    }

    /// Replace the retry policy used by [`PgDatabase::read`] and the repositories.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The primary pool (all writes, read-your-writes reads).
    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    /// The replica pools.
    pub fn replicas(&self) -> &[PgPool] {
        &self.replicas
    }

    /// Run a read. With [`ReadFrom::Replica`] it goes to the next replica
    /// (round robin); if that replica fails with a retryable error (it is
    /// down, restarting, unreachable) the read is repeated on the primary.
    /// Retryable errors on the primary are retried by the retry policy.
    pub async fn read<T, F, Fut>(&self, from: ReadFrom, op: F) -> Result<T>
    where
        F: Fn(PgPool) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        if from == ReadFrom::Replica {
            if let Some(i) = self.pick_replica() {
                match op(self.replicas[i].clone()).await {
                    Err(e) if e.is_retryable() => {
                        tracing::warn!(replica = i, error = %e, "replica read failed; reading from the primary");
                        self.mark_replica_down(i);
                    }
                    other => return other,
                }
            }
        }
        self.write(|| op(self.primary.clone())).await
    }

    /// The next replica in round-robin order that is not cooling down.
    fn pick_replica(&self) -> Option<usize> {
        let n = self.replicas.len();
        if n == 0 {
            return None;
        }
        let now = Instant::now();
        let down = self
            .replica_down_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let start = self.next_replica.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| down[i].is_none_or(|until| until <= now))
    }

    fn mark_replica_down(&self, i: usize) {
        let mut down = self
            .replica_down_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        down[i] = Some(Instant::now() + REPLICA_COOLDOWN);
    }

    /// Run an operation on the primary under the retry policy.
    pub async fn write<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.retry.run(op).await
    }

    /// Apply `migrator`'s migrations (e.g. `sqlx::migrate!("./migrations")`
    /// of the caller's crate; the platform schema's is
    /// `ai_data_platform::pg::MIGRATOR`) on the primary, observed as one
    /// `migrate` operation. Safe to run twice and from several processes
    /// at once: sqlx holds an advisory lock while migrating and skips
    /// applied versions.
    ///
    /// ```no_run
    /// # async fn demo(db: ai_data_pg::PgDatabase, migrator: &sqlx::migrate::Migrator) -> ai_data_core::Result<()> {
    /// // In the crate that owns the schema:
    /// // static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    /// db.migrate(migrator).await?;
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self, migrator: &Migrator) -> Result<()> {
        self.observe("migrate", MIGRATIONS_TABLE, async {
            migrator.run(&self.primary).await.map_err(|e| {
                Error::new(ErrorKind::Backend, "migration failed")
                    .with_store(Store::Postgres)
                    .with_operation("migrate")
                    .with_source(e)
            })
        })
        .await
    }

    /// Run one repository or database call as one observed operation
    /// (span, latency and outcome metrics, `store="postgres"`, `operation`
    /// and `target` as given), then publish the primary pool's gauges.
    ///
    /// ```no_run
    /// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
    /// use ai_data_pg::SqlxResultExt;
    /// let pool = db.primary().clone();
    /// let tags: i64 = db
    ///     .observe("tags.count", "tags", async move {
    ///         sqlx::query_scalar("SELECT count(*) FROM tags").fetch_one(&pool).await.op("tags.count", "tags")
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn observe<T, F>(&self, operation: &'static str, target: &str, work: F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        self.executor
            .call(operation)
            .target(target)
            .run_once(work)
            .await
    }

    /// As [`PgDatabase::observe`], also recording the rows `count` finds
    /// in the result.
    pub async fn observe_counted<T, F, C, N>(
        &self,
        operation: &'static str,
        target: &str,
        work: F,
        count: C,
    ) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
        C: FnOnce(&T) -> N,
        N: TryInto<u64>,
    {
        self.executor
            .call(operation)
            .target(target)
            .run_once_counted(work, count)
            .await
    }

    /// The executor every observed call of this database runs on
    /// (`store="postgres"`, the primary pool's gauges after each call):
    /// a service's own repository gets the same spans and metrics with
    /// `db.executor().call("op").target("table").run(..)`, and may mark
    /// its reads [`idempotent`](ai_data_core::executor::Call::idempotent)
    /// on an executor with a retry policy (`db.executor().clone().with_retry(..)`).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Publish the primary pool's state (`ai_data_pool_connections`
    /// gauges with `store="postgres"`): connections checked out, idle, and
    /// the configured maximum. Reads three counters the pool keeps anyway;
    /// called after every observed operation and by the health check.
    /// Replica pools are not published (the gauges carry no pool label).
    pub fn record_pool_gauges(&self) {
        let (in_use, idle, max) = pool_state(&self.primary);
        record_pool(Store::Postgres, in_use, idle, max);
    }
}

/// Open one connection with `options` and ping it, all within `timeout`,
/// then close it. An I/O failure (refused, unreachable, reset) and the
/// timeout are [`ErrorKind::Connect`] errors that name the address and
/// keep the cause as `source()`; other failures (authentication, unknown
/// database, TLS) are mapped by [`map_sqlx`].
async fn check_server(options: &PgConnectOptions, timeout: Duration, target: &str) -> Result<()> {
    let address = format!("{}:{}", options.get_host(), options.get_port());
    let attempt = tokio::time::timeout(timeout, async {
        let mut conn = PgConnection::connect_with(options).await?;
        sqlx::query("SELECT 1").execute(&mut conn).await?;
        Ok::<_, sqlx::Error>(conn)
    })
    .await;
    match attempt {
        Ok(Ok(conn)) => {
            // Only a courtesy to the server: the check has passed.
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing the connect check's connection failed");
            }
            Ok(())
        }
        Ok(Err(sqlx::Error::Io(io))) => Err(Error::new(
            ErrorKind::Connect,
            format!("cannot connect to PostgreSQL at {address}: {io}"),
        )
        .with_store(Store::Postgres)
        .with_operation("connect")
        .with_target(target)
        .with_source(sqlx::Error::Io(io))),
        Ok(Err(e)) => Err(map_sqlx(e, "connect", target)),
        Err(_elapsed) => Err(Error::new(
            ErrorKind::Connect,
            format!(
                "no connection to PostgreSQL at {address} within {timeout:?} \
                 ({})",
                Store::Postgres.var("CONNECT_TIMEOUT")
            ),
        )
        .with_store(Store::Postgres)
        .with_operation("connect")
        .with_target(target)
        .with_source(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("connecting to {address} timed out after {timeout:?}"),
        ))),
    }
}

/// Where sqlx records applied migrations.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// `(in_use, idle, max)` of a pool. `size` and `num_idle` are read one
/// after the other, so `in_use` saturates at 0 rather than underflowing
/// when a connection is returned in between.
fn pool_state(pool: &PgPool) -> (usize, usize, usize) {
    let size = pool.size() as usize;
    let idle = pool.num_idle();
    let max = pool.options().get_max_connections() as usize;
    (size.saturating_sub(idle), idle, max)
}

/// The seed's `PostgreSQLHighConnections` alert fires above 150 backends
/// with `max_connections = 200`: above 75% of `max_connections`.
const CONNECTIONS_ALERT_PERCENT: i64 = 75;

/// The warning for `connections` backends on the platform database out of
/// `max_connections`, when they exceed 75% of it (the seed's
/// `PostgreSQLHighConnections`: more than 150 of 200). `None` at or below
/// the threshold, or when `max_connections` is unknown (not positive).
fn connections_warning(connections: i64, max_connections: i64) -> Option<String> {
    if max_connections <= 0 || connections * 100 <= max_connections * CONNECTIONS_ALERT_PERCENT {
        return None;
    }
    Some(format!(
        "PostgreSQL: {connections} of {max_connections} connections in use \
         (alert above {CONNECTIONS_ALERT_PERCENT}%, the seed's 150 of 200)"
    ))
}

fn pool_options(config: &PgConfig) -> PgPoolOptions {
    let pool = &config.connection.pool;
    PgPoolOptions::new()
        .max_connections(pool.max_size)
        .min_connections(pool.min_idle)
        .acquire_timeout(pool.acquire_timeout)
        .idle_timeout(pool.idle_timeout)
        .max_lifetime(pool.max_lifetime)
        .test_before_acquire(config.test_before_acquire)
}

#[async_trait]
impl HealthCheck for PgDatabase {
    /// One round trip to the primary for `version()`, the pgvector
    /// version, the backends connected to this database
    /// (`pg_stat_activity`) and `max_connections`; then whether each
    /// replica answers. Details: `pgvector`, `connections`,
    /// `max_connections`, `replica[i]`. Warns when connections exceed 75%
    /// of `max_connections` (the seed's `PostgreSQLHighConnections`, more
    /// than 150 of 200). Also publishes the primary pool's gauges, before
    /// the probe too, so that an exhausted pool shows even when the check
    /// then times out waiting for a connection.
    async fn check(&self) -> Result<HealthReport> {
        self.record_pool_gauges();
        self.observe(
            "health",
            "pg_stat_activity",
            self.check_primary_and_replicas(),
        )
        .await
    }
}

impl PgDatabase {
    async fn check_primary_and_replicas(&self) -> Result<HealthReport> {
        let mut facts: Option<(Option<String>, i64, i64)> = None;
        let mut report = HealthReport::measure(Store::Postgres, async {
            let (version, vector, connections, max_connections): (
                String,
                Option<String>,
                i64,
                i64,
            ) = sqlx::query_as(
                "SELECT version(), \
                     (SELECT extversion FROM pg_extension WHERE extname = 'vector'), \
                     (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()), \
                     current_setting('max_connections')::int8",
            )
            .fetch_one(&self.primary)
            .await
            .op("health", "pg_stat_activity")?;
            facts = Some((vector, connections, max_connections));
            Ok(Some(version))
        })
        .await?;
        if let Some((vector, connections, max_connections)) = facts {
            report = report
                .with_detail("pgvector", vector.unwrap_or_else(|| "not installed".into()))
                .with_detail("connections", connections.to_string())
                .with_detail("max_connections", max_connections.to_string());
            if let Some(warning) = connections_warning(connections, max_connections) {
                report = report.with_warning(warning);
            }
        }
        for (i, replica) in self.replicas.iter().enumerate() {
            let status = tokio::time::timeout(
                Duration::from_secs(2),
                sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()").fetch_one(replica),
            )
            .await;
            let shown = match status {
                Ok(Ok(true)) => "up (in recovery)".to_owned(),
                Ok(Ok(false)) => "up (NOT in recovery: not a replica)".to_owned(),
                Ok(Err(e)) => format!("down: {e}"),
                Err(_) => "down: no answer within 2 s".to_owned(),
            };
            report = report.with_detail(format!("replica[{i}]"), shown);
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::connections_warning;

    #[test]
    fn connections_warn_only_above_three_quarters_of_max() {
        // The seed's rule: more than 150 of 200.
        assert_eq!(connections_warning(0, 200), None);
        assert_eq!(connections_warning(149, 200), None);
        assert_eq!(connections_warning(150, 200), None, "at the threshold");
        let warning = connections_warning(151, 200).expect("above the threshold");
        assert!(warning.contains("151 of 200"), "{warning}");
        assert!(warning.contains("75%"), "{warning}");
        // Scales with max_connections (100 -> above 75).
        assert_eq!(connections_warning(75, 100), None);
        assert!(connections_warning(76, 100).is_some());
        assert!(connections_warning(100, 100).is_some());
    }

    #[test]
    fn unknown_max_connections_never_warns() {
        assert_eq!(connections_warning(10, 0), None);
        assert_eq!(connections_warning(10, -1), None);
    }
}
