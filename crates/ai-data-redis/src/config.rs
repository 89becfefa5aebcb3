//! [`RedisConfig`]: endpoint, credentials, topology (standalone, sentinel,
//! cluster), pool size, timeouts and reconnect policy, from the environment,
//! a URL or code; and its translation into a fred pool builder.

use std::fmt;
use std::time::Duration;

use ai_data_core::{ConnectionConfig, EnvSource, Error, Result, Store, TlsMode};
use serde::Deserialize;

/// Redis's default port.
pub const DEFAULT_PORT: u16 = 6379;
/// Redis Sentinel's default port (the seed's `ai-redis-headless:26379`).
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;
/// Default number of pooled connections. Each fred connection pipelines
/// many concurrent commands, so a handful serves a busy service.
pub const DEFAULT_POOL_SIZE: usize = 4;
/// Default timeout of one command.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// The Bitnami chart's default Sentinel master set name (the seed's production layout).
pub const DEFAULT_SENTINEL_MASTER: &str = "mymaster";

/// Redis settings.
///
/// From the environment (prefix `AI_DATA_REDIS_`): everything
/// [`ConnectionConfig`] reads (`_URL` or `_HOST`/`_PORT`, `_DATABASE`, `_USER`
/// for an ACL user, `_PASSWORD`/`_PASSWORD_FILE` or the key `redis-password`
/// in `AI_DATA_SECRETS_DIR`, `_CONNECT_TIMEOUT`, `_TLS_MODE`,
/// `_TLS_CA_FILE`, `_POOL_MAX_SIZE`), plus
///
/// | variable | meaning |
/// |---|---|
/// | `AI_DATA_REDIS_MODE` | `standalone`, `sentinel` or `cluster` (default: from the other variables and the URL scheme) |
/// | `AI_DATA_REDIS_SENTINEL_MASTER` | Sentinel master set name (implies `sentinel`; Bitnami: `mymaster`) |
/// | `AI_DATA_REDIS_SENTINELS` | comma-separated sentinel `host:port`s (default: `_HOST`:`_PORT`, port 26379) |
/// | `AI_DATA_REDIS_SENTINEL_AUTH` | authenticate to sentinels with the Redis credentials (default `true`) |
/// | `AI_DATA_REDIS_CLUSTER_NODES` | comma-separated cluster seed nodes (implies `cluster`) |
/// | `AI_DATA_REDIS_CONNECT_TIMEOUT` | bound of the whole initial connect (every pooled connection, every sentinel or seed node; default 10 s; see [`RedisClient::connect`](crate::RedisClient::connect)) |
/// | `AI_DATA_REDIS_COMMAND_TIMEOUT` | timeout of one command, e.g. `500ms` (default 2 s) |
/// | `AI_DATA_REDIS_RECONNECT_MAX_ATTEMPTS` | `0` = forever (default) |
/// | `AI_DATA_REDIS_RECONNECT_MIN_DELAY`, `_RECONNECT_MAX_DELAY` | backoff bounds (default 100 ms, 5 s) |
///
/// URLs: `redis://` or `rediss://` (TLS), `redis-sentinel://` /
/// `rediss-sentinel://` (the URL's host and `node=` query parameters are
/// sentinels; `sentinelServiceName=` names the master), `redis-cluster://` /
/// `rediss-cluster://` (host and `node=` parameters are seed nodes). The
/// path is the database number. `_URL` or `_HOST` is always required (for
/// sentinels, the seed's headless service `ai-redis-headless` is the natural
/// host; an explicit `_SENTINELS` / `_CLUSTER_NODES` list replaces it).
/// `_POOL_MAX_SIZE` defaults to
/// [`DEFAULT_POOL_SIZE`] here, not to the shared default of 10: fred
/// pipelines concurrent commands on each connection.
///
/// ```
/// use ai_data_redis::{RedisConfig, Topology};
/// use ai_data_core::EnvSource;
///
/// let env = EnvSource::from_pairs([
///     ("AI_DATA_REDIS_HOST", "ai-redis-headless.default.svc.cluster.local"),
///     ("AI_DATA_REDIS_SENTINEL_MASTER", "mymaster"),
///     ("AI_DATA_REDIS_PASSWORD", "changeThisToSecurePassword"),
///     ("AI_DATA_REDIS_COMMAND_TIMEOUT", "250ms"),
/// ]);
/// let config = RedisConfig::from_env_source(&env).unwrap();
/// let Topology::Sentinel { service_name, sentinels, .. } = &config.topology else { panic!() };
/// assert_eq!(service_name, "mymaster");
/// assert_eq!(sentinels[0].port, 26379);
/// assert_eq!(config.command_timeout, std::time::Duration::from_millis(250));
/// assert!(!format!("{config:?} {config}").contains("changeThis"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// Endpoint, credentials, TLS and connect timeout.
    pub connection: ConnectionConfig,
    /// Standalone, sentinel or cluster.
    pub topology: Topology,
    /// Pooled connections (each pipelines many commands).
    pub pool_size: usize,
    /// Timeout of one command (fred's default command timeout).
    pub command_timeout: Duration,
    /// Reconnect policy.
    pub reconnect: Reconnect,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Standalone,
    Sentinel,
    Cluster,
}

#[derive(Deserialize)]
struct RedisExtra {
    mode: Option<Mode>,
    sentinel_master: Option<String>,
    sentinels: Option<String>,
    sentinel_auth: Option<bool>,
    cluster_nodes: Option<String>,
    pool_max_size: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    command_timeout: Option<Duration>,
    reconnect_max_attempts: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    reconnect_min_delay: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    reconnect_max_delay: Option<Duration>,
}

/// What a URL scheme says: TLS, and sentinel / cluster.
fn scheme_info(scheme: &str) -> Result<(bool, Option<Mode>)> {
    let (base, mode) = match scheme.split_once('-') {
        Some((base, "sentinel")) => (base, Some(Mode::Sentinel)),
        Some((base, "cluster")) => (base, Some(Mode::Cluster)),
        Some(_) => (scheme, None),
        None => (scheme, Some(Mode::Standalone)),
    };
    let tls = match base {
        "redis" | "valkey" => false,
        "rediss" | "valkeys" => true,
        _ => {
            return Err(Error::config(format!(
                "unsupported Redis URL scheme `{scheme}` (expected redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster)"
            ))
            .with_store(Store::Redis))
        }
    };
    if scheme.contains('-') && mode.is_none() {
        return Err(
            Error::config(format!("unsupported Redis URL scheme `{scheme}`"))
                .with_store(Store::Redis),
        );
    }
    Ok((tls, mode))
}

impl RedisConfig {
    /// From a URL (see the type docs for the schemes), with defaults for
    /// everything else. The URL's password becomes the secret.
    ///
    /// ```
    /// use ai_data_redis::{RedisConfig, Topology};
    ///
    /// let config = RedisConfig::from_url(
    ///     "redis-cluster://:pw@node-a:7000?node=node-b:7001&node=node-c:7002",
    /// ).unwrap();
    /// let Topology::Cluster { nodes } = &config.topology else { panic!() };
    /// assert_eq!(nodes.len(), 3);
    /// assert_eq!(config.to_string(), "redis-cluster://:***@node-a:7000 (cluster of 3 seed nodes)");
    /// ```
    pub fn from_url(url: &str) -> Result<Self> {
        let connection = ConnectionConfig::from_url(Store::Redis, url)?;
        let mut config = Self::from_connection(connection);
        config.topology = config.topology_from_url(None)?;
        Ok(config)
    }

    /// From a shared [`ConnectionConfig`], standalone, with Redis defaults.
    pub fn from_connection(connection: ConnectionConfig) -> Self {
        RedisConfig {
            connection,
            topology: Topology::Standalone,
            pool_size: DEFAULT_POOL_SIZE,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            reconnect: Reconnect::default(),
        }
    }

    /// From the process environment and Secret files.
    pub fn from_env() -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process())
    }

    /// From the given environment and the Secret files it names.
    pub fn from_env_source(env: &EnvSource) -> Result<Self> {
        let (connection, extra) = env.load_connection::<RedisExtra>(Store::Redis)?;
        let mut config = Self::from_connection(connection);
        let mode = extra.mode.or(
            if extra.sentinel_master.is_some() || extra.sentinels.is_some() {
                Some(Mode::Sentinel)
            } else if extra.cluster_nodes.is_some() {
                Some(Mode::Cluster)
            } else {
                None
            },
        );
        config.topology = config.topology_from_url(mode)?;
        match &mut config.topology {
            Topology::Sentinel {
                service_name,
                sentinels,
                sentinel_auth,
            } => {
                if let Some(name) = extra.sentinel_master {
                    *service_name = name;
                }
                if let Some(list) = &extra.sentinels {
                    *sentinels = HostPort::parse_list(
                        list,
                        DEFAULT_SENTINEL_PORT,
                        &Store::Redis.var("SENTINELS"),
                    )?;
                }
                if let Some(auth) = extra.sentinel_auth {
                    *sentinel_auth = auth;
                }
            }
            Topology::Cluster { nodes } => {
                if let Some(list) = &extra.cluster_nodes {
                    *nodes = HostPort::parse_list(
                        list,
                        DEFAULT_PORT,
                        &Store::Redis.var("CLUSTER_NODES"),
                    )?;
                }
            }
            Topology::Standalone => {}
        }
        if let Some(size) = extra.pool_max_size {
            config.pool_size = size;
        }
        if let Some(t) = extra.command_timeout {
            config.command_timeout = t;
        }
        let defaults = Reconnect::default();
        config.reconnect = Reconnect::new(
            extra
                .reconnect_max_attempts
                .unwrap_or(defaults.max_attempts),
            extra.reconnect_min_delay.unwrap_or(defaults.min_delay),
            extra.reconnect_max_delay.unwrap_or(defaults.max_delay),
        );
        config.validate()?;
        Ok(config)
    }

    /// The topology the URL (and an explicit mode) describe, with the
    /// URL's host and `node=` parameters as the endpoints.
    fn topology_from_url(&self, explicit: Option<Mode>) -> Result<Topology> {
        let url = self.connection.url.as_ref();
        let scheme_mode = match url {
            Some(u) => scheme_info(u.scheme())?.1,
            None => None,
        };
        let mode = explicit.or(scheme_mode).unwrap_or(Mode::Standalone);
        let query = |name: &str| -> Vec<String> {
            url.map(|u| {
                u.without_password()
                    .query_pairs()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .collect()
            })
            .unwrap_or_default()
        };
        let endpoints = |default_port: u16| -> Result<Vec<HostPort>> {
            let mut list = Vec::new();
            if let Some(host) = self.connection.effective_host() {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                list.push(HostPort::new(
                    host,
                    self.connection.effective_port().unwrap_or(default_port),
                ));
            }
            for node in query("node") {
                list.push(
                    HostPort::parse_with_default(&node, default_port).map_err(|e| {
                        Error::config(format!("URL parameter node: {}", e.message()))
                            .with_store(Store::Redis)
                    })?,
                );
            }
            Ok(list)
        };
        Ok(match mode {
            Mode::Standalone => Topology::Standalone,
            Mode::Sentinel => Topology::Sentinel {
                service_name: query("sentinelServiceName")
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| DEFAULT_SENTINEL_MASTER.to_owned()),
                sentinels: endpoints(DEFAULT_SENTINEL_PORT)?,
                sentinel_auth: true,
            },
            Mode::Cluster => Topology::Cluster {
                nodes: endpoints(DEFAULT_PORT)?,
            },
        })
    }

    /// Use these sentinels to find the master `service_name`.
    #[must_use]
    pub fn with_sentinel(
        mut self,
        service_name: impl Into<String>,
        sentinels: impl IntoIterator<Item = HostPort>,
    ) -> Self {
        self.topology = Topology::Sentinel {
            service_name: service_name.into(),
            sentinels: sentinels.into_iter().collect(),
            sentinel_auth: true,
        };
        self
    }

    /// Use a cluster with these seed nodes.
    #[must_use]
    pub fn with_cluster(mut self, nodes: impl IntoIterator<Item = HostPort>) -> Self {
        self.topology = Topology::Cluster {
            nodes: nodes.into_iter().collect(),
        };
        self
    }

    /// Set the pool size.
    #[must_use]
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// Set the command timeout.
    #[must_use]
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Set the reconnect policy.
    #[must_use]
    pub fn with_reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// The database number (`SELECT`), 0 when none is given.
    pub fn database(&self) -> Result<u8> {
        match self.connection.effective_database() {
            None => Ok(0),
            Some(text) => text.parse::<u8>().map_err(|_| {
                Error::config(format!(
                    "{} (or the URL path) must be a database number 0-255, got `{text}`",
                    Store::Redis.var("DATABASE")
                ))
                .with_store(Store::Redis)
            }),
        }
    }

    /// Whether connections use TLS: a `rediss` scheme or a TLS mode from
    /// `verify-full` down to `require`.
    ///
    /// Only `verify-full` (chain and host name, against the system roots
    /// plus `_TLS_CA_FILE`) is offered: `require` and `verify-ca` would need
    /// a certificate verifier that skips checks, which this crate does not
    /// ship; they are configuration errors.
    pub fn uses_tls(&self) -> Result<bool> {
        let scheme_tls = match &self.connection.url {
            Some(u) => scheme_info(u.scheme())?.0,
            None => false,
        };
        match self.connection.tls.mode {
            None | Some(TlsMode::Prefer) => Ok(scheme_tls),
            Some(TlsMode::Disable) => Ok(false),
            Some(TlsMode::VerifyFull) => Ok(true),
            Some(other) => Err(Error::unsupported(format!(
                "{} = {other:?} is not supported for Redis: use verify-full (with {} for a private CA)",
                Store::Redis.var("TLS_MODE"),
                Store::Redis.var("TLS_CA_FILE"),
            ))
            .with_store(Store::Redis)),
        }
    }

    /// The addresses the client starts from.
    pub fn endpoints(&self) -> Vec<HostPort> {
        match &self.topology {
            Topology::Standalone => self
                .connection
                .effective_host()
                .map(|h| {
                    let h = h.trim_start_matches('[').trim_end_matches(']');
                    vec![HostPort::new(
                        h,
                        self.connection.effective_port().unwrap_or(DEFAULT_PORT),
                    )]
                })
                .unwrap_or_default(),
            Topology::Sentinel { sentinels, .. } => sentinels.clone(),
            Topology::Cluster { nodes } => nodes.clone(),
        }
    }

    /// Check the settings without connecting.
    pub fn validate(&self) -> Result<()> {
        let db = self.database()?;
        self.uses_tls()?;
        if self.endpoints().is_empty() {
            return Err(Error::config(format!(
                "no Redis endpoint: set {} or {} (or the sentinel / cluster node list)",
                Store::Redis.var("URL"),
                Store::Redis.var("HOST")
            ))
            .with_store(Store::Redis));
        }
        if self.pool_size == 0 {
            return Err(Error::config(format!(
                "{} must be at least 1",
                Store::Redis.var("POOL_MAX_SIZE")
            ))
            .with_store(Store::Redis));
        }
        if self.connection.connect_timeout.is_zero() {
            return Err(Error::config(format!(
                "{} must be more than 0",
                Store::Redis.var("CONNECT_TIMEOUT")
            ))
            .with_store(Store::Redis));
        }
        if matches!(self.topology, Topology::Cluster { .. }) && db != 0 {
            return Err(Error::config(format!(
                "Redis Cluster has only database 0, {} asks for {db}",
                Store::Redis.var("DATABASE")
            ))
            .with_store(Store::Redis));
        }
        if let Topology::Sentinel { service_name, .. } = &self.topology {
            if service_name.is_empty() {
                return Err(Error::config(format!(
                    "{} must not be empty",
                    Store::Redis.var("SENTINEL_MASTER")
                ))
                .with_store(Store::Redis));
            }
        }
        Ok(())
    }
}

impl fmt::Display for RedisConfig {
    /// The URL-like summary of [`ConnectionConfig`] (secret as `***`) and the topology.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.connection)?;
        match &self.topology {
            Topology::Standalone => Ok(()),
            Topology::Sentinel {
                service_name,
                sentinels,
                ..
            } => {
                let list: Vec<String> = sentinels.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    " (sentinel master {service_name} via {})",
                    list.join(",")
                )
            }
            Topology::Cluster { nodes } => {
                write!(f, " (cluster of {} seed nodes)", nodes.len())
            }
        }
    }
}

ai_data_core::connection_setters!(RedisConfig {
    /// Set the connect timeout.
    with_connect_timeout => connect_timeout,
    /// Set the password (the `requirepass`, or the ACL user's password).
    with_password => secret,
    /// Set the ACL user name.
    with_username => username,
});

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ai_data_core::store_config::debug_struct(f, "RedisConfig", &self.connection)
            .field("topology", &self.topology)
            .field("pool_size", &self.pool_size)
            .field("command_timeout", &self.command_timeout)
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

mod endpoint;
mod fred_builder;
#[cfg(test)]
mod tests;

pub use endpoint::{HostPort, Reconnect, Topology};
