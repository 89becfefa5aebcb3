//! The connection settings every store shares, loadable from the
//! environment, from a URL, or from code.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::{ConnectionUrl, Result, Store};

/// TLS modes, named as PostgreSQL's `sslmode` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TlsMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it.
    Prefer,
    /// Require TLS, do not verify the certificate.
    Require,
    /// Require TLS and verify the certificate chain against the CA.
    VerifyCa,
    /// Require TLS, verify the chain and the host name.
    VerifyFull,
}

/// TLS settings: a mode and an optional CA bundle (PEM).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConfig {
    /// `None` leaves the store's own default (its URL may say).
    pub mode: Option<TlsMode>,
    /// CA certificates to trust, PEM.
    pub ca_file: Option<PathBuf>,
}

/// Pool sizing and timeouts. Defaults are conservative production values:
/// the seed's PostgreSQL allows 200 connections, and many service replicas
/// share them, so the default pool maximum is 10.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Maximum open connections (default 10).
    pub max_size: u32,
    /// Connections kept open when idle (default 0).
    pub min_idle: u32,
    /// How long a checkout may wait for a free connection (default 30 s).
    pub acquire_timeout: Duration,
    /// Close connections idle for this long (default 10 min).
    pub idle_timeout: Option<Duration>,
    /// Close connections older than this (default 30 min).
    pub max_lifetime: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 10,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
        }
    }
}

/// Where and how to connect to one store: endpoint, credentials, TLS, pool.
///
/// Each store crate builds its own `XxxConfig` on top of this one.
///
/// Environment variables (shown for PostgreSQL; other stores use their own
/// prefix, see [`Store::env_prefix`]):
///
/// | variable | meaning |
/// |---|---|
/// | `AI_DATA_PG_URL` | full URL; or the parts below |
/// | `AI_DATA_PG_HOST`, `_PORT`, `_DATABASE`, `_USER` | endpoint parts (override the URL's) |
/// | `AI_DATA_PG_PASSWORD`, `_PASSWORD_FILE` | secret; Weaviate: `_API_KEY`, `_API_KEY_FILE` |
/// | `AI_DATA_SECRETS_DIR` | directory with the seed's secret keys |
/// | `AI_DATA_PG_CONNECT_TIMEOUT` | e.g. `5s` (humantime) |
/// | `AI_DATA_PG_TLS_MODE`, `_TLS_CA_FILE` | `disable`, `prefer`, `require`, `verify-ca`, `verify-full` |
/// | `AI_DATA_PG_POOL_MAX_SIZE`, `_POOL_MIN_IDLE` | pool size |
/// | `AI_DATA_PG_POOL_ACQUIRE_TIMEOUT`, `_POOL_IDLE_TIMEOUT`, `_POOL_MAX_LIFETIME` | pool timeouts |
///
/// Secret precedence: see [`crate::secret`].
///
/// ```
/// use ai_data_core::{ConnectionConfig, EnvSource, Store};
///
/// let env = EnvSource::from_pairs([
///     ("AI_DATA_PG_URL", "postgres://app@db:5432/ai_platform"),
///     ("AI_DATA_PG_PASSWORD", "changeme"),
///     ("AI_DATA_PG_POOL_MAX_SIZE", "20"),
/// ]);
/// let config = ConnectionConfig::from_env_source(&env, Store::Postgres).unwrap();
/// assert_eq!(config.pool.max_size, 20);
/// assert_eq!(config.to_string(), "postgres://app:***@db:5432/ai_platform");
/// assert!(!format!("{config:?}").contains("changeme"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// The store this configuration is for.
    pub store: Store,
    /// Full URL (password split off), when given.
    pub url: Option<ConnectionUrl>,
    /// Host, overriding the URL's.
    pub host: Option<String>,
    /// Port, overriding the URL's.
    pub port: Option<u16>,
    /// Database (or Redis DB number, as text), overriding the URL's.
    pub database: Option<String>,
    /// User name, overriding the URL's.
    pub username: Option<String>,
    /// Password, or API key for Weaviate.
    pub secret: Option<SecretString>,
    /// Timeout for establishing one connection.
    pub connect_timeout: Duration,
    /// TLS settings.
    pub tls: TlsConfig,
    /// Pool settings.
    pub pool: PoolConfig,
}

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl ConnectionConfig {
    /// An empty configuration for `store`; set the endpoint with the builder methods.
    pub fn new(store: Store) -> Self {
        ConnectionConfig {
            store,
            url: None,
            host: None,
            port: None,
            database: None,
            username: None,
            secret: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            tls: TlsConfig::default(),
            pool: PoolConfig::default(),
        }
    }

    /// From a URL; the URL's password becomes the secret.
    pub fn from_url(store: Store, url: &str) -> Result<Self> {
        let url = ConnectionUrl::parse(url).map_err(|e| e.with_store(store))?;
        let mut config = Self::new(store);
        config.secret = url.password();
        config.url = Some(url);
        Ok(config)
    }

    /// Set the host.
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Set the port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Set the database.
    #[must_use]
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Set the user name.
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Set the password (or API key).
    #[must_use]
    pub fn with_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Set the pool settings.
    #[must_use]
    pub fn with_pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Set the TLS settings.
    #[must_use]
    pub fn with_tls(mut self, mode: TlsMode, ca_file: Option<PathBuf>) -> Self {
        self.tls = TlsConfig {
            mode: Some(mode),
            ca_file,
        };
        self
    }

    /// Host to connect to: explicit, else the URL's.
    pub fn effective_host(&self) -> Option<&str> {
        self.host
            .as_deref()
            .or_else(|| self.url.as_ref().and_then(ConnectionUrl::host))
    }

    /// Port to connect to: explicit, else the URL's.
    pub fn effective_port(&self) -> Option<u16> {
        self.port
            .or_else(|| self.url.as_ref().and_then(ConnectionUrl::port))
    }

    /// Database: explicit, else the URL's.
    pub fn effective_database(&self) -> Option<&str> {
        self.database
            .as_deref()
            .or_else(|| self.url.as_ref().and_then(ConnectionUrl::database))
    }

    /// User name: explicit, else the URL's.
    pub fn effective_username(&self) -> Option<String> {
        self.username
            .clone()
            .or_else(|| self.url.as_ref().and_then(ConnectionUrl::username))
    }
}

impl fmt::Display for ConnectionConfig {
    /// A URL-like summary with the secret as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self
            .url
            .as_ref()
            .map(|u| u.scheme().to_owned())
            .unwrap_or_else(|| self.store.name().to_owned());
        write!(f, "{scheme}://")?;
        if let Some(user) = self.effective_username() {
            f.write_str(&user)?;
            if self.secret.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        } else if self.secret.is_some() {
            f.write_str(":***@")?;
        }
        f.write_str(self.effective_host().unwrap_or("?"))?;
        if let Some(port) = self.effective_port() {
            write!(f, ":{port}")?;
        }
        if let Some(db) = self.effective_database() {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("store", &self.store)
            .field("url", &self.url)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("connect_timeout", &self.connect_timeout)
            .field("tls", &self.tls)
            .field("pool", &self.pool)
            .finish()
    }
}

mod from_env;
#[cfg(test)]
mod tests;
