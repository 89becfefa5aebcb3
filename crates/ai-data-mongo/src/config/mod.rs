//! [`MongoConfig`]: the shared connection settings plus MongoDB's own
//! (auth source, replica set, app name, server selection), mapped onto the
//! driver's [`ClientOptions`].

mod client_options;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use ai_data_core::store_config::{debug_struct, redacted, write_summary};
use ai_data_core::{ConnectionConfig, EnvSource, Error, Result, Store};

use client_options::split_hosts;

/// The platform's database (seed §3).
pub const DEFAULT_DATABASE: &str = "ai_platform";

/// The user a configured password without a user logs in as: the seed's
/// application user, whose password the seed's `mongodb-password` Secret
/// key is (see [`MongoConfig::username`]).
pub const DEFAULT_USER: &str = "ai_platform_user";

/// How long the driver looks for a suitable server before an operation
/// fails with [`ai_data_core::ErrorKind::Connect`] (the driver's default).
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Replication lag above which the health check warns: the seed's
/// `MongoDBReplicationLag` alert (a SECONDARY more than 60 s behind).
pub const DEFAULT_REPLICATION_LAG_ALERT: Duration = Duration::from_secs(60);

/// Lifetime of `task_status_cache` entries after their last update (the
/// seed's TTL index: `expireAfterSeconds: 86400`).
pub const DEFAULT_TASK_STATUS_TTL: Duration = Duration::from_secs(86_400);

/// The Mongo-only variables, read with the shared ones by
/// [`EnvSource::load_connection`].
#[derive(Debug, Default, Deserialize)]
struct MongoExtras {
    auth_source: Option<String>,
    replica_set: Option<String>,
    app_name: Option<String>,
    hosts: Option<String>,
    direct_connection: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    server_selection_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    task_status_ttl: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    replication_lag_alert: Option<Duration>,
}

/// Settings for one MongoDB deployment and the platform database in it.
///
/// Built on [`ConnectionConfig`] (URL or host / port / database / user,
/// password, connect timeout, TLS, pool) with MongoDB's own settings on
/// top. Environment variables (prefix `AI_DATA_MONGO_`):
///
/// | variable | meaning |
/// |---|---|
/// | `AI_DATA_MONGO_URL` | `mongodb://` or `mongodb+srv://` URL; its query options are honoured |
/// | `AI_DATA_MONGO_HOST`, `_PORT`, `_DATABASE`, `_USER` | override the URL's parts (database default `ai_platform`; user default, when a password is configured: the seed's `ai_platform_user`) |
/// | `AI_DATA_MONGO_HOSTS` | seed list `h1:27017,h2:27017` (the shared URL parser takes one host) |
/// | `AI_DATA_MONGO_PASSWORD`, `_PASSWORD_FILE`, or `mongodb-password` in `AI_DATA_SECRETS_DIR` | password |
/// | `AI_DATA_MONGO_AUTH_SOURCE` | database holding the user; default: the URL's `authSource`, else the configured database, else `admin` (`ai_platform` for the default user) |
/// | `AI_DATA_MONGO_REPLICA_SET` | replica set name (the seed uses `rs0`) |
/// | `AI_DATA_MONGO_DIRECT_CONNECTION` | `true` to talk to one node only |
/// | `AI_DATA_MONGO_APP_NAME` | shown in the server's logs and `currentOp` |
/// | `AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT` | e.g. `5s` (default 30 s) |
/// | `AI_DATA_MONGO_CONNECT_TIMEOUT` | e.g. `5s` (default 10 s): opening one connection; [`MongoStore::connect`](crate::MongoStore::connect) fails after it when no server answers |
/// | `AI_DATA_MONGO_TLS_MODE`, `_TLS_CA_FILE` | see below |
/// | `AI_DATA_MONGO_POOL_MAX_SIZE`, `_POOL_MIN_IDLE`, `_POOL_IDLE_TIMEOUT` | driver pool: `maxPoolSize`, `minPoolSize`, `maxIdleTime` |
/// | `AI_DATA_MONGO_TASK_STATUS_TTL` | TTL of `task_status_cache` (default `24h`, the seed's 86400 s) |
/// | `AI_DATA_MONGO_REPLICATION_LAG_ALERT` | lag of a SECONDARY above which the health check warns (default `60s`, the seed's alert) |
///
/// TLS modes: `disable` turns TLS off; `require` encrypts without checking
/// the certificate; `verify-full` checks the chain (against the CA file
/// when given) and the host name; `prefer` leaves it to the URL (MongoDB
/// has no opportunistic TLS); `verify-ca` (chain but not host name) needs
/// the OpenSSL driver build and is refused. `_POOL_ACQUIRE_TIMEOUT` and
/// `_POOL_MAX_LIFETIME` have no MongoDB driver equivalent and are ignored.
///
/// A password without a user (the seed's whole Secret mounted as
/// `AI_DATA_SECRETS_DIR`, no `AI_DATA_MONGO_USER`) logs in as the seed's
/// application user `ai_platform_user`, whose password the seed's
/// `mongodb-password` is, in the database it is created in (`ai_platform`
/// unless another database is configured); see [`MongoConfig::username`].
///
/// `Debug` and `Display` never show the password.
///
/// ```
/// use ai_data_core::{EnvSource, ExposeSecret};
/// use ai_data_mongo::MongoConfig;
///
/// let env = EnvSource::from_pairs([
///     ("AI_DATA_MONGO_URL", "mongodb://ai_platform_user@db:27017/ai_platform"),
///     ("AI_DATA_MONGO_PASSWORD", "changeThisToSecurePassword"),
///     ("AI_DATA_MONGO_REPLICA_SET", "rs0"),
///     ("AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT", "5s"),
/// ]);
/// let config = MongoConfig::from_env_source(&env).unwrap();
/// assert_eq!(config.database(), "ai_platform");
/// assert_eq!(config.replica_set.as_deref(), Some("rs0"));
/// assert_eq!(config.to_string(), "mongodb://ai_platform_user:***@db:27017/ai_platform (replicaSet=rs0)");
/// assert!(!format!("{config:?}").contains("changeThis"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct MongoConfig {
    /// Endpoint, credentials, connect timeout, TLS and pool settings.
    pub connection: ConnectionConfig,
    /// Seed list overriding the URL's host(s), as `host[:port]`.
    pub hosts: Vec<String>,
    /// Database holding the user's credentials.
    pub auth_source: Option<String>,
    /// Replica set name.
    pub replica_set: Option<String>,
    /// Connect to the given host only, without discovering the others.
    pub direct_connection: Option<bool>,
    /// Application name sent in the handshake.
    pub app_name: Option<String>,
    /// How long to look for a suitable server before failing.
    pub server_selection_timeout: Duration,
    /// TTL of `task_status_cache` documents, used by the bootstrap.
    pub task_status_ttl: Duration,
    /// Replication lag above which the health check warns.
    pub replication_lag_alert: Duration,
}

impl MongoConfig {
    /// A configuration on top of `connection` with MongoDB defaults.
    pub fn new(connection: ConnectionConfig) -> Self {
        MongoConfig {
            connection,
            hosts: Vec::new(),
            auth_source: None,
            replica_set: None,
            direct_connection: None,
            app_name: None,
            server_selection_timeout: DEFAULT_SERVER_SELECTION_TIMEOUT,
            task_status_ttl: DEFAULT_TASK_STATUS_TTL,
            replication_lag_alert: DEFAULT_REPLICATION_LAG_ALERT,
        }
    }

    /// From a `mongodb://` URL (its password becomes the secret).
    pub fn from_url(url: &str) -> Result<Self> {
        ConnectionConfig::from_url(Store::Mongo, url).map(Self::new)
    }

    /// From the process environment and the secret files it names.
    pub fn from_env() -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process())
    }

    /// From the given environment and the secret files it names (one
    /// snapshot of the `AI_DATA_MONGO_` variables).
    pub fn from_env_source(env: &EnvSource) -> Result<Self> {
        let (connection, extras) = env
            .load_connection::<MongoExtras>(Store::Mongo)
            .map_err(|e| hint_seed_list(env, e))?;
        let hosts = extras.hosts.as_deref().map(split_hosts).unwrap_or_default();
        Ok(MongoConfig {
            connection,
            hosts,
            auth_source: extras.auth_source,
            replica_set: extras.replica_set,
            direct_connection: extras.direct_connection,
            app_name: extras.app_name,
            server_selection_timeout: extras
                .server_selection_timeout
                .unwrap_or(DEFAULT_SERVER_SELECTION_TIMEOUT),
            task_status_ttl: extras.task_status_ttl.unwrap_or(DEFAULT_TASK_STATUS_TTL),
            replication_lag_alert: extras
                .replication_lag_alert
                .unwrap_or(DEFAULT_REPLICATION_LAG_ALERT),
        })
    }

    /// Set the authentication database.
    #[must_use]
    pub fn with_auth_source(mut self, source: impl Into<String>) -> Self {
        self.auth_source = Some(source.into());
        self
    }

    /// Set the replica set name.
    #[must_use]
    pub fn with_replica_set(mut self, name: impl Into<String>) -> Self {
        self.replica_set = Some(name.into());
        self
    }

    /// Set the application name.
    #[must_use]
    pub fn with_app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Set the server-selection timeout.
    #[must_use]
    pub fn with_server_selection_timeout(mut self, timeout: Duration) -> Self {
        self.server_selection_timeout = timeout;
        self
    }

    /// Set the TTL of `task_status_cache` documents.
    #[must_use]
    pub fn with_task_status_ttl(mut self, ttl: Duration) -> Self {
        self.task_status_ttl = ttl;
        self
    }

    /// Set the replication lag above which the health check warns.
    #[must_use]
    pub fn with_replication_lag_alert(mut self, lag: Duration) -> Self {
        self.replication_lag_alert = lag;
        self
    }

    /// The database to use: the configured one, else `ai_platform`.
    pub fn database(&self) -> &str {
        self.connection
            .effective_database()
            .unwrap_or(DEFAULT_DATABASE)
    }

    /// The user to log in as: the configured one (`AI_DATA_MONGO_USER` or
    /// the URL's), else, when a password is configured, the seed's
    /// application user [`DEFAULT_USER`] (`ai_platform_user`): the seed's
    /// Secret key `mongodb-password` is that user's password.
    pub fn username(&self) -> Option<String> {
        self.connection.effective_username().or_else(|| {
            self.connection
                .secret
                .is_some()
                .then(|| DEFAULT_USER.to_owned())
        })
    }
}

ai_data_core::connection_setters!(MongoConfig {
    /// Set the database (default `ai_platform`).
    with_database => database,
    /// Set the user name.
    with_username => username,
    /// Set the password.
    with_password => secret,
    /// Set the timeout for opening one connection.
    with_connect_timeout => connect_timeout,
    with_tls => tls,
});

/// The shared URL parser takes one host; say how to give a seed list.
fn hint_seed_list(env: &EnvSource, err: Error) -> Error {
    let multi_host = env
        .get("AI_DATA_MONGO_URL")
        .and_then(|u| u.split_once("://"))
        .map(|(_, rest)| {
            rest.split(['/', '?'])
                .next()
                .unwrap_or_default()
                .contains(',')
        })
        .unwrap_or(false);
    if multi_host {
        Error::config(format!(
            "{}; a seed list of several hosts goes in AI_DATA_MONGO_HOSTS (h1:27017,h2:27017) \
             with AI_DATA_MONGO_URL naming one of them, or use a mongodb+srv:// URL",
            err.message()
        ))
        .with_store(Store::Mongo)
    } else {
        err
    }
}

/// `mongodb://user:***@host:port/db`: the endpoint part of the `Display`
/// form (the seed list when there is one, no URL query).
struct Endpoint<'a>(&'a MongoConfig);

impl fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.0;
        let conn = &config.connection;
        let scheme = conn.url.as_ref().map_or("mongodb", |u| u.scheme());
        write!(f, "{scheme}://")?;
        if let Some(user) = config.username() {
            f.write_str(&user)?;
            if conn.secret.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        if config.hosts.is_empty() {
            f.write_str(conn.effective_host().unwrap_or("?"))?;
            if let Some(port) = conn.effective_port() {
                write!(f, ":{port}")?;
            }
        } else {
            f.write_str(&config.hosts.join(","))?;
        }
        write!(f, "/{}", config.database())
    }
}

impl fmt::Display for MongoConfig {
    /// `mongodb://user:***@host:port/db` plus the Mongo options that are set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut notes = Vec::new();
        if let Some(rs) = &self.replica_set {
            notes.push(format!("replicaSet={rs}"));
        }
        if let Some(src) = &self.auth_source {
            notes.push(format!("authSource={src}"));
        }
        if let Some(app) = &self.app_name {
            notes.push(format!("appName={app}"));
        }
        if let Some(mode) = self.connection.tls.mode {
            notes.push(format!("tls={mode:?}"));
        }
        write_summary(f, &Endpoint(self), notes)
    }
}

impl fmt::Debug for MongoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection is shown without its URL: a MongoDB URL's query may
        // hold secret-bearing options the shared redaction does not know
        // (tlsCertificateKeyFilePassword). The URL's parts are shown as the
        // effective host / port / database / user instead, and the endpoint
        // through Display.
        let conn = &self.connection;
        let mut shown = conn.clone();
        shown.url = None;
        shown.host = conn.effective_host().map(str::to_owned);
        shown.port = conn.effective_port();
        shown.database = conn.effective_database().map(str::to_owned);
        shown.username = conn.effective_username();
        debug_struct(f, "MongoConfig", &shown)
            .field("endpoint", &Endpoint(self).to_string())
            .field("password", &redacted(&conn.secret))
            .field("hosts", &self.hosts)
            .field("auth_source", &self.auth_source)
            .field("replica_set", &self.replica_set)
            .field("direct_connection", &self.direct_connection)
            .field("app_name", &self.app_name)
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("task_status_ttl", &self.task_status_ttl)
            .field("replication_lag_alert", &self.replication_lag_alert)
            .finish()
    }
}
