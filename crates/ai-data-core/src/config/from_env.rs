//! Reading a [`ConnectionConfig`] — alone, or with a store's extra settings
//! from the same snapshot of its prefix — from an [`EnvSource`].

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{ConnectionConfig, PoolConfig, TlsConfig, TlsMode, DEFAULT_CONNECT_TIMEOUT};
use crate::{resolve_secret, ConnectionUrl, EnvSource, Error, Result, Store};

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

/// Whether `<PREFIX>URL` or `<PREFIX>HOST` must be set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Required,
    Optional,
}

impl ConnectionConfig {
    /// From the process environment and secret files.
    pub fn from_env(store: Store) -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process(), store)
    }

    /// From the given environment and the secret files it names.
    ///
    /// `<PREFIX>URL` or `<PREFIX>HOST` is required.
    pub fn from_env_source(env: &EnvSource, store: Store) -> Result<Self> {
        let vars = env.prefixed(store);
        Self::from_vars(env, store, &vars, Endpoint::Required)
    }

    fn from_vars(
        env: &EnvSource,
        store: Store,
        vars: &[(String, String)],
        endpoint: Endpoint,
    ) -> Result<Self> {
        let raw: RawConnectionConfig = env.load_vars(store, vars)?;
        let url = match raw.url.as_deref() {
            Some(text) => Some(ConnectionUrl::parse(text).map_err(|e| {
                Error::config(format!("{}: {}", store.var("URL"), e.message())).with_store(store)
            })?),
            None => None,
        };
        if endpoint == Endpoint::Required && url.is_none() && raw.host.is_none() {
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
}

impl EnvSource {
    /// A store's [`ConnectionConfig`] and its extra settings `E`, from one
    /// snapshot of the store's prefixed variables.
    ///
    /// `E` is a `Deserialize` struct of the store's own variables (field
    /// `statement_timeout` reads `AI_DATA_PG_STATEMENT_TIMEOUT`); the shared
    /// ones (`URL`, `HOST`, `PASSWORD`, `POOL_*`, ...) are ignored by it
    /// unless it names them too. Errors are those of
    /// [`ConnectionConfig::from_env_source`] (checked first, so their
    /// messages are unchanged), then those of [`EnvSource::load`] for `E`:
    /// [`Config`](crate::ErrorKind::Config), naming the variable, never
    /// echoing a secret. Hold secrets in `E` as [`SecretString`].
    ///
    /// ```
    /// use ai_data_core::{EnvSource, Store};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct PgExtras {
    ///     #[serde(default, with = "humantime_serde")]
    ///     statement_timeout: Option<std::time::Duration>,
    ///     application_name: Option<String>,
    /// }
    ///
    /// let env = EnvSource::from_pairs([
    ///     ("AI_DATA_PG_URL", "postgres://app:hunter2@db/ai_platform"),
    ///     ("AI_DATA_PG_STATEMENT_TIMEOUT", "5s"),
    /// ]);
    /// let (connection, extras) = env.load_connection::<PgExtras>(Store::Postgres)?;
    /// assert_eq!(connection.to_string(), "postgres://app:***@db/ai_platform");
    /// assert_eq!(extras.statement_timeout, Some(std::time::Duration::from_secs(5)));
    /// assert!(extras.application_name.is_none());
    /// # Ok::<(), ai_data_core::Error>(())
    /// ```
    pub fn load_connection<E: DeserializeOwned>(
        &self,
        store: Store,
    ) -> Result<(ConnectionConfig, E)> {
        self.load_connection_with(store, Endpoint::Required)
    }

    /// As [`EnvSource::load_connection`], for a store whose endpoint is one
    /// of its extras (Kafka's `BOOTSTRAP_SERVERS`): `<PREFIX>URL` and
    /// `<PREFIX>HOST` may both be unset; the store checks its own endpoint.
    ///
    /// ```
    /// use ai_data_core::{EnvSource, Store};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct KafkaExtras { bootstrap_servers: Option<String> }
    ///
    /// let env = EnvSource::from_pairs([
    ///     ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092"),
    ///     ("AI_DATA_KAFKA_USER", "svc"),
    /// ]);
    /// let (connection, extras) =
    ///     env.load_connection_optional_endpoint::<KafkaExtras>(Store::Kafka)?;
    /// assert_eq!(connection.username.as_deref(), Some("svc"));
    /// assert_eq!(extras.bootstrap_servers.as_deref(), Some("k1:9092,k2:9092"));
    /// # Ok::<(), ai_data_core::Error>(())
    /// ```
    pub fn load_connection_optional_endpoint<E: DeserializeOwned>(
        &self,
        store: Store,
    ) -> Result<(ConnectionConfig, E)> {
        self.load_connection_with(store, Endpoint::Optional)
    }

    fn load_connection_with<E: DeserializeOwned>(
        &self,
        store: Store,
        endpoint: Endpoint,
    ) -> Result<(ConnectionConfig, E)> {
        let vars = self.prefixed(store);
        let connection = ConnectionConfig::from_vars(self, store, &vars, endpoint)?;
        let extras = self.load_vars(store, &vars)?;
        Ok((connection, extras))
    }
}
