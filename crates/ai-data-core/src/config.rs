//! The connection settings every store shares, loadable from the
//! environment, from a URL, or from code.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::{resolve_secret, ConnectionUrl, EnvSource, Error, Result, Store};

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

/// The environment's view of [`ConnectionConfig`]: every field optional,
/// the URL as text so that a parse error never echoes it.
#[derive(Deserialize)]
struct RawConnectionConfig {
    url: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    user: Option<String>,
    password: Option<SecretString>,
    api_key: Option<SecretString>,
    #[serde(default, with = "humantime_serde")]
    connect_timeout: Option<Duration>,
    tls_mode: Option<TlsMode>,
    tls_ca_file: Option<PathBuf>,
    pool_max_size: Option<u32>,
    pool_min_idle: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pool_acquire_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pool_idle_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pool_max_lifetime: Option<Duration>,
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

    /// From the process environment and secret files.
    pub fn from_env(store: Store) -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process(), store)
    }

    /// From the given environment and the secret files it names.
    ///
    /// `<PREFIX>URL` or `<PREFIX>HOST` is required.
    pub fn from_env_source(env: &EnvSource, store: Store) -> Result<Self> {
        let raw: RawConnectionConfig = env.load(store)?;
        let url = match raw.url.as_deref() {
            Some(text) => Some(ConnectionUrl::parse(text).map_err(|e| {
                Error::config(format!("{}: {}", store.var("URL"), e.message())).with_store(store)
            })?),
            None => None,
        };
        if url.is_none() && raw.host.is_none() {
            return Err(Error::config(format!(
                "missing required variable {} (or {})",
                store.var("URL"),
                store.var("HOST")
            ))
            .with_store(store));
        }
        let explicit = match store {
            Store::Weaviate => raw.api_key,
            _ => raw.password,
        }
        .or_else(|| url.as_ref().and_then(ConnectionUrl::password));
        let secret = resolve_secret(env, store, explicit)?;
        if let Some(ca) = &raw.tls_ca_file {
            if !ca.is_file() {
                return Err(Error::config(format!(
                    "{} points to {}, which is not a readable file",
                    store.var("TLS_CA_FILE"),
                    ca.display()
                ))
                .with_store(store));
            }
        }
        let defaults = PoolConfig::default();
        Ok(ConnectionConfig {
            store,
            url,
            host: raw.host,
            port: raw.port,
            database: raw.database,
            username: raw.user,
            secret,
            connect_timeout: raw.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            tls: TlsConfig {
                mode: raw.tls_mode,
                ca_file: raw.tls_ca_file,
            },
            pool: PoolConfig {
                max_size: raw.pool_max_size.unwrap_or(defaults.max_size),
                min_idle: raw.pool_min_idle.unwrap_or(defaults.min_idle),
                acquire_timeout: raw.pool_acquire_timeout.unwrap_or(defaults.acquire_timeout),
                idle_timeout: raw.pool_idle_timeout.or(defaults.idle_timeout),
                max_lifetime: raw.pool_max_lifetime.or(defaults.max_lifetime),
            },
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use secrecy::ExposeSecret;

    const SECRET: &str = "Sup3r-Secret-Value";

    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn every_store_config_hides_its_secret_from_every_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        for store in Store::ALL {
            std::fs::write(dir.path().join(store.secret_file_key()), SECRET).expect("write");
        }
        let dir_s = dir.path().to_str().expect("utf8");
        let secret_var = |s: Store| s.var(s.secret_var());
        for store in Store::ALL {
            let host = store.var("HOST");
            let url_var = store.var("URL");
            let url = format!(
                "{}://user:{SECRET}@host:1/db?password={SECRET}",
                store.name()
            );
            let sources = [
                env(&[(host.as_str(), "h"), ("AI_DATA_SECRETS_DIR", dir_s)]),
                env(&[(host.as_str(), "h"), (secret_var(store).as_str(), SECRET)]),
                env(&[(url_var.as_str(), url.as_str())]),
            ];
            for source in &sources {
                let config = ConnectionConfig::from_env_source(source, store).expect("loads");
                let secret = config.secret.as_ref().expect("secret resolved");
                assert_eq!(secret.expose_secret(), SECRET);
                let debug = format!("{config:?}");
                let display = format!("{config}");
                for shown in [&debug, &display] {
                    assert!(!shown.contains(SECRET), "{store}: {shown}");
                    assert!(shown.contains("***"), "{store}: {shown}");
                }
            }
            let from_url = ConnectionConfig::from_url(store, &url).expect("parses");
            assert!(!format!("{from_url:?} {from_url}").contains(SECRET));
        }
    }

    #[test]
    fn missing_endpoint_names_both_variables() {
        let err =
            ConnectionConfig::from_env_source(&env(&[]), Store::Postgres).expect_err("no endpoint");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_PG_URL"), "{err}");
        assert!(err.message().contains("AI_DATA_PG_HOST"), "{err}");
    }

    #[test]
    fn unparsable_url_names_the_variable_not_the_secret() {
        let bad = format!("postgres://u:{SECRET}@[::1");
        let err =
            ConnectionConfig::from_env_source(&env(&[("AI_DATA_PG_URL", &bad)]), Store::Postgres)
                .expect_err("bad url");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_PG_URL"), "{err}");
        assert!(!format!("{err} {err:?}").contains(SECRET));
    }

    #[test]
    fn unparsable_port_and_duration_name_their_variables() {
        let err = ConnectionConfig::from_env_source(
            &env(&[("AI_DATA_REDIS_HOST", "h"), ("AI_DATA_REDIS_PORT", "70000")]),
            Store::Redis,
        )
        .expect_err("port out of range");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_REDIS_PORT"), "{err}");

        let err = ConnectionConfig::from_env_source(
            &env(&[
                ("AI_DATA_KAFKA_HOST", "h"),
                ("AI_DATA_KAFKA_CONNECT_TIMEOUT", "soon"),
            ]),
            Store::Kafka,
        )
        .expect_err("bad duration");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("AI_DATA_KAFKA_CONNECT_TIMEOUT"),
            "{err}"
        );
    }

    #[test]
    fn bad_tls_mode_and_missing_ca_file_are_config_errors() {
        let err = ConnectionConfig::from_env_source(
            &env(&[
                ("AI_DATA_PG_HOST", "h"),
                ("AI_DATA_PG_TLS_MODE", "sometimes"),
            ]),
            Store::Postgres,
        )
        .expect_err("bad mode");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_PG_TLS_MODE"), "{err}");

        let err = ConnectionConfig::from_env_source(
            &env(&[
                ("AI_DATA_PG_HOST", "h"),
                ("AI_DATA_PG_TLS_CA_FILE", "/nonexistent/ca.pem"),
            ]),
            Store::Postgres,
        )
        .expect_err("missing CA");
        assert!(err.message().contains("AI_DATA_PG_TLS_CA_FILE"), "{err}");
    }

    #[test]
    fn parts_override_the_url_and_values_parse() {
        let config = ConnectionConfig::from_env_source(
            &env(&[
                ("AI_DATA_PG_URL", "postgres://a@url-host:1/urldb"),
                ("AI_DATA_PG_HOST", "part-host"),
                ("AI_DATA_PG_TLS_MODE", "verify-full"),
                ("AI_DATA_PG_POOL_ACQUIRE_TIMEOUT", "250ms"),
                // A numeric password must stay a string.
                ("AI_DATA_PG_PASSWORD", "12345678"),
            ]),
            Store::Postgres,
        )
        .expect("loads");
        assert_eq!(config.effective_host(), Some("part-host"));
        assert_eq!(config.effective_port(), Some(1));
        assert_eq!(config.effective_database(), Some("urldb"));
        assert_eq!(config.effective_username().as_deref(), Some("a"));
        assert_eq!(config.tls.mode, Some(TlsMode::VerifyFull));
        assert_eq!(config.pool.acquire_timeout, Duration::from_millis(250));
        assert_eq!(config.secret.expect("secret").expose_secret(), "12345678");
    }
}
