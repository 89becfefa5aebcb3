//! `PgConfig`: where the primary (and optional read replicas) are, and how
//! each pooled connection is set up.

use std::fmt;
use std::time::Duration;

use ai_data_core::store_config::debug_struct;
use ai_data_core::{
    ConnectionConfig, ConnectionUrl, EnvSource, Error, ExposeSecret, Result, Store, TlsMode,
};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// Default `application_name` reported to the server.
pub const DEFAULT_APPLICATION_NAME: &str = "ai-data";

/// PostgreSQL settings.
///
/// From the environment (prefix `AI_DATA_PG_`): everything
/// [`ConnectionConfig`] reads, plus
///
/// | variable | meaning |
/// |---|---|
/// | `AI_DATA_PG_STATEMENT_TIMEOUT` | per-connection `statement_timeout`, e.g. `30s` (default 30 s) |
/// | `AI_DATA_PG_APPLICATION_NAME` | `application_name` (default `ai-data`) |
/// | `AI_DATA_PG_TEST_BEFORE_ACQUIRE` | ping a connection before handing it out (default `true`) |
/// | `AI_DATA_PG_REPLICA_URLS` | comma-separated read-replica URLs (password as the primary's when absent) |
///
/// `AI_DATA_PG_CONNECT_TIMEOUT` (read by [`ConnectionConfig`], default
/// 10 s, zero refused) bounds establishing one connection: TCP, TLS and
/// the startup/authentication exchange. [`PgDatabase::connect`] opens its
/// first connection to the primary under it, so an unreachable server
/// fails there within the timeout with the cause (refused, timed out);
/// replica checkouts wait at most it (and at most
/// [`REPLICA_ACQUIRE_TIMEOUT`](crate::REPLICA_ACQUIRE_TIMEOUT)) before a
/// read falls back to the primary. Later checkouts from the primary pool
/// that must open a connection are bounded by the pool's
/// `AI_DATA_PG_POOL_ACQUIRE_TIMEOUT` (sqlx has no per-connection timeout).
///
/// [`PgDatabase::connect`]: crate::PgDatabase::connect
///
/// ```
/// use ai_data_core::EnvSource;
/// use ai_data_pg::PgConfig;
///
/// let env = EnvSource::from_pairs([
///     ("AI_DATA_PG_URL", "postgres://app@db:5432/ai_platform"),
///     ("AI_DATA_PG_PASSWORD", "hunter2"),
///     ("AI_DATA_PG_REPLICA_URLS", "postgres://app@replica-1/ai_platform,postgres://app@replica-2/ai_platform"),
///     ("AI_DATA_PG_STATEMENT_TIMEOUT", "5s"),
/// ]);
/// let config = PgConfig::from_env_source(&env).unwrap();
/// assert_eq!(config.replica_urls.len(), 2);
/// assert_eq!(config.statement_timeout, Some(std::time::Duration::from_secs(5)));
/// assert!(!format!("{config:?} {config}").contains("hunter2"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct PgConfig {
    /// Endpoint, credentials, TLS and pool settings of the primary.
    pub connection: ConnectionConfig,
    /// `statement_timeout` set on every connection (`None`: server default).
    pub statement_timeout: Option<Duration>,
    /// `application_name` set on every connection.
    pub application_name: String,
    /// Check a connection with a ping before handing it out (survives server restarts).
    pub test_before_acquire: bool,
    /// Read replicas for lag-tolerant reads.
    pub replica_urls: Vec<ConnectionUrl>,
}

#[derive(Deserialize)]
struct PgExtra {
    #[serde(default, with = "humantime_serde")]
    statement_timeout: Option<Duration>,
    application_name: Option<String>,
    test_before_acquire: Option<bool>,
    replica_urls: Option<String>,
}

impl PgConfig {
    /// From a URL, with defaults for everything else.
    pub fn from_url(url: &str) -> Result<Self> {
        Ok(Self::from_connection(ConnectionConfig::from_url(
            Store::Postgres,
            url,
        )?))
    }

    /// From a shared [`ConnectionConfig`], with PostgreSQL defaults.
    pub fn from_connection(connection: ConnectionConfig) -> Self {
        PgConfig {
            connection,
            statement_timeout: Some(Duration::from_secs(30)),
            application_name: DEFAULT_APPLICATION_NAME.to_owned(),
            test_before_acquire: true,
            replica_urls: Vec::new(),
        }
    }

    /// From the process environment and Secret files.
    pub fn from_env() -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process())
    }

    /// From the given environment and the Secret files it names.
    pub fn from_env_source(env: &EnvSource) -> Result<Self> {
        let (connection, extra) = env.load_connection::<PgExtra>(Store::Postgres)?;
        if connection.connect_timeout.is_zero() {
            return Err(Error::config(format!(
                "{} must be greater than zero",
                Store::Postgres.var("CONNECT_TIMEOUT")
            ))
            .with_store(Store::Postgres));
        }
        let mut config = Self::from_connection(connection);
        if let Some(t) = extra.statement_timeout {
            config.statement_timeout = Some(t);
        }
        if let Some(name) = extra.application_name {
            config.application_name = name;
        }
        if let Some(test) = extra.test_before_acquire {
            config.test_before_acquire = test;
        }
        if let Some(list) = extra.replica_urls {
            config.replica_urls = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    ConnectionUrl::parse(s).map_err(|e| {
                        Error::config(format!(
                            "{}: {}",
                            Store::Postgres.var("REPLICA_URLS"),
                            e.message()
                        ))
                        .with_store(Store::Postgres)
                    })
                })
                .collect::<Result<_>>()?;
        }
        Ok(config)
    }

    /// Add a read replica.
    #[must_use]
    pub fn with_replica(mut self, url: ConnectionUrl) -> Self {
        self.replica_urls.push(url);
        self
    }

    /// Set `statement_timeout`.
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// sqlx options for the primary.
    pub fn primary_options(&self) -> Result<PgConnectOptions> {
        let c = &self.connection;
        let mut options = match &c.url {
            Some(url) => url
                .expose_url()
                .as_str()
                .parse::<PgConnectOptions>()
                .map_err(|e| Error::config(format!("{}: {e}", Store::Postgres.var("URL"))))?,
            None => PgConnectOptions::new_without_pgpass(),
        };
        if let Some(host) = &c.host {
            options = options.host(host);
        }
        if let Some(port) = c.port {
            options = options.port(port);
        }
        if let Some(db) = &c.database {
            options = options.database(db);
        }
        if let Some(user) = &c.username {
            options = options.username(user);
        }
        if let Some(secret) = &c.secret {
            options = options.password(secret.expose_secret());
        }
        self.apply_session_settings(options)
    }

    /// sqlx options for each replica: the replica's URL, with the primary's
    /// credentials, TLS and session settings where the URL has none.
    pub fn replica_options(&self) -> Result<Vec<PgConnectOptions>> {
        self.replica_urls
            .iter()
            .map(|url| {
                let mut options = url
                    .expose_url()
                    .as_str()
                    .parse::<PgConnectOptions>()
                    .map_err(|e| {
                        Error::config(format!("{}: {e}", Store::Postgres.var("REPLICA_URLS")))
                    })?;
                if url.password().is_none() {
                    if let Some(secret) = &self.connection.secret {
                        options = options.password(secret.expose_secret());
                    }
                }
                self.apply_session_settings(options)
            })
            .collect()
    }

    fn apply_session_settings(&self, mut options: PgConnectOptions) -> Result<PgConnectOptions> {
        options = options.application_name(&self.application_name);
        if let Some(timeout) = self.statement_timeout {
            options =
                options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
        }
        let tls = &self.connection.tls;
        if let Some(mode) = tls.mode {
            options = options.ssl_mode(match mode {
                TlsMode::Disable => PgSslMode::Disable,
                TlsMode::Prefer => PgSslMode::Prefer,
                TlsMode::Require => PgSslMode::Require,
                TlsMode::VerifyCa => PgSslMode::VerifyCa,
                TlsMode::VerifyFull => PgSslMode::VerifyFull,
                _ => return Err(Error::unsupported("TLS mode not supported by PostgreSQL")),
            });
        }
        if let Some(ca) = &tls.ca_file {
            options = options.ssl_root_cert(ca);
        }
        Ok(options)
    }
}

ai_data_core::connection_setters!(PgConfig {
    /// Set the pool settings.
    with_pool => pool,
    /// Set the connect timeout (`AI_DATA_PG_CONNECT_TIMEOUT`).
    with_connect_timeout => connect_timeout,
});

impl fmt::Display for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.connection)?;
        for url in &self.replica_urls {
            write!(f, " replica {url}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_struct(f, "PgConfig", &self.connection)
            .field("statement_timeout", &self.statement_timeout)
            .field("application_name", &self.application_name)
            .field("test_before_acquire", &self.test_before_acquire)
            .field("replica_urls", &self.replica_urls)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_core::ErrorKind;

    #[test]
    fn secrets_never_show() {
        let env = EnvSource::from_pairs([
            ("AI_DATA_PG_URL", "postgres://app:url-secret-1@db/ai"),
            (
                "AI_DATA_PG_REPLICA_URLS",
                "postgres://app:replica-secret-2@r1/ai",
            ),
        ]);
        let config = PgConfig::from_env_source(&env).expect("loads");
        let shown = format!("{config:?} {config}");
        assert!(
            !shown.contains("url-secret-1") && !shown.contains("replica-secret-2"),
            "{shown}"
        );
        assert!(shown.contains("***"));
    }

    #[test]
    fn bad_replica_url_is_a_config_error() {
        let env = EnvSource::from_pairs([
            ("AI_DATA_PG_HOST", "db"),
            ("AI_DATA_PG_REPLICA_URLS", "postgres://ok/ai, not a url"),
        ]);
        let err = PgConfig::from_env_source(&env).expect_err("bad replica");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_PG_REPLICA_URLS"), "{err}");
    }

    #[test]
    fn options_carry_session_settings_and_credentials() {
        let env = EnvSource::from_pairs([
            ("AI_DATA_PG_HOST", "db.internal"),
            ("AI_DATA_PG_PORT", "6432"),
            ("AI_DATA_PG_DATABASE", "ai_platform"),
            ("AI_DATA_PG_USER", "app"),
            ("AI_DATA_PG_PASSWORD", "pw"),
            ("AI_DATA_PG_APPLICATION_NAME", "svc-a"),
            ("AI_DATA_PG_TLS_MODE", "require"),
        ]);
        let options = PgConfig::from_env_source(&env)
            .expect("loads")
            .primary_options()
            .expect("options");
        assert_eq!(options.get_host(), "db.internal");
        assert_eq!(options.get_port(), 6432);
        assert_eq!(options.get_database(), Some("ai_platform"));
        assert_eq!(options.get_username(), "app");
        assert_eq!(options.get_application_name(), Some("svc-a"));
        assert!(matches!(options.get_ssl_mode(), PgSslMode::Require));
        assert!(options
            .get_options()
            .is_some_and(|o| o.contains("statement_timeout=30000ms")));
    }
}
