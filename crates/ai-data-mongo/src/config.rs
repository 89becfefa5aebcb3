//! [`MongoConfig`]: the shared connection settings plus MongoDB's own
//! (auth source, replica set, app name, server selection), mapped onto the
//! driver's [`ClientOptions`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use serde::Deserialize;

use ai_data_core::{
    ConnectionConfig, EnvSource, Error, ExposeSecret, Result, SecretString, Store, TlsMode,
};

use crate::bootstrap::SEED_APP_USER;

/// The platform's database (seed §3).
pub const DEFAULT_DATABASE: &str = "ai_platform";

/// How long the driver looks for a suitable server before an operation
/// fails with [`ai_data_core::ErrorKind::Connect`] (the driver's default).
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Replication lag above which the health check warns: the seed's
/// `MongoDBReplicationLag` alert (a SECONDARY more than 60 s behind).
pub const DEFAULT_REPLICATION_LAG_ALERT: Duration = Duration::from_secs(60);

/// Lifetime of `task_status_cache` entries after their last update (the
/// seed's TTL index: `expireAfterSeconds: 86400`).
pub const DEFAULT_TASK_STATUS_TTL: Duration = Duration::from_secs(86_400);

/// The Mongo-only variables, read with [`EnvSource::load`].
#[derive(Debug, Default, Deserialize)]
struct MongoExtra {
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

    /// From the given environment and the secret files it names.
    pub fn from_env_source(env: &EnvSource) -> Result<Self> {
        let connection = ConnectionConfig::from_env_source(env, Store::Mongo)
            .map_err(|e| hint_seed_list(env, e))?;
        let extra: MongoExtra = env.load(Store::Mongo)?;
        let hosts = extra.hosts.as_deref().map(split_hosts).unwrap_or_default();
        Ok(MongoConfig {
            connection,
            hosts,
            auth_source: extra.auth_source,
            replica_set: extra.replica_set,
            direct_connection: extra.direct_connection,
            app_name: extra.app_name,
            server_selection_timeout: extra
                .server_selection_timeout
                .unwrap_or(DEFAULT_SERVER_SELECTION_TIMEOUT),
            task_status_ttl: extra.task_status_ttl.unwrap_or(DEFAULT_TASK_STATUS_TTL),
            replication_lag_alert: extra
                .replication_lag_alert
                .unwrap_or(DEFAULT_REPLICATION_LAG_ALERT),
        })
    }

    /// Set the database (default `ai_platform`).
    #[must_use]
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.connection.database = Some(database.into());
        self
    }

    /// Set the user name.
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.connection.username = Some(username.into());
        self
    }

    /// Set the password.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<SecretString>) -> Self {
        self.connection.secret = Some(password.into());
        self
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

    /// Set the timeout for opening one connection.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connection.connect_timeout = timeout;
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

    /// Set TLS: a mode and an optional CA bundle (PEM).
    #[must_use]
    pub fn with_tls(mut self, mode: TlsMode, ca_file: Option<PathBuf>) -> Self {
        self.connection = self.connection.with_tls(mode, ca_file);
        self
    }

    /// The database to use: the configured one, else `ai_platform`.
    pub fn database(&self) -> &str {
        self.connection
            .effective_database()
            .unwrap_or(DEFAULT_DATABASE)
    }

    /// The driver options: the URL parsed by the driver (password
    /// restored), then every explicit setting applied on top.
    ///
    /// Needs no server, except for the DNS lookups of a `mongodb+srv://` URL.
    pub async fn client_options(&self) -> Result<ClientOptions> {
        let conn = &self.connection;
        let mut options = match &conn.url {
            Some(url) => {
                let exposed = url.expose_url();
                let encoded = exposed.password().map(str::to_owned);
                ClientOptions::parse(exposed.as_str()).await.map_err(|e| {
                    let secrets = [
                        conn.secret.as_ref().map(|s| s.expose_secret().to_owned()),
                        encoded,
                    ];
                    parse_error(&e.to_string(), &secrets)
                })?
            }
            None => ClientOptions::default(),
        };

        let port = conn
            .port
            .or_else(|| conn.url.as_ref().and_then(|u| u.port()));
        let hosts: Vec<String> = if !self.hosts.is_empty() {
            self.hosts.clone()
        } else if let Some(host) = conn.host.as_deref() {
            split_hosts(host)
        } else {
            Vec::new()
        };
        if !hosts.is_empty() {
            options.hosts = hosts
                .iter()
                .map(|h| server_address(h, port))
                .collect::<Result<_>>()?;
        } else if let (Some(port), None) = (conn.port, conn.host.as_ref()) {
            for address in &mut options.hosts {
                if let ServerAddress::Tcp { port: p, .. } = address {
                    *p = Some(port);
                }
            }
        }

        options.default_database = Some(self.database().to_owned());
        options.credential = self.credential(options.credential.take())?;
        if let Some(name) = &self.replica_set {
            options.repl_set_name = Some(name.clone());
        }
        if let Some(direct) = self.direct_connection {
            options.direct_connection = Some(direct);
        }
        if let Some(name) = &self.app_name {
            options.app_name = Some(name.clone());
        }
        options.server_selection_timeout = Some(self.server_selection_timeout);
        options.connect_timeout = Some(conn.connect_timeout);
        options.max_pool_size = Some(conn.pool.max_size);
        options.min_pool_size = Some(conn.pool.min_idle);
        options.max_idle_time = conn.pool.idle_timeout;
        self.apply_tls(&mut options)?;
        Ok(options)
    }

    /// The user to log in as: the configured one (`AI_DATA_MONGO_USER` or
    /// the URL's), else, when a password is configured, the seed's
    /// application user [`SEED_APP_USER`] (`ai_platform_user`): the seed's
    /// Secret key `mongodb-password` is that user's password.
    pub fn username(&self) -> Option<String> {
        self.connection.effective_username().or_else(|| {
            self.connection
                .secret
                .is_some()
                .then(|| SEED_APP_USER.to_owned())
        })
    }

    fn credential(&self, from_url: Option<Credential>) -> Result<Option<Credential>> {
        let conn = &self.connection;
        let configured = conn.effective_username().is_some();
        let Some(username) = self.username() else {
            return Ok(from_url);
        };
        let mut credential = from_url.unwrap_or_default();
        credential.username = Some(username);
        credential.password = conn.secret.as_ref().map(|s| s.expose_secret().to_owned());
        credential.source = self
            .auth_source
            .clone()
            .or(credential.source)
            .or_else(|| conn.effective_database().map(str::to_owned))
            // The seed creates its application user in the platform database.
            .or_else(|| (!configured).then(|| self.database().to_owned()));
        Ok(Some(credential))
    }

    fn apply_tls(&self, options: &mut ClientOptions) -> Result<()> {
        let tls = &self.connection.tls;
        let ca_file_path = tls.ca_file.clone();
        let with_ca = |allow_invalid: Option<bool>| {
            let mut o = TlsOptions::default();
            o.ca_file_path = ca_file_path.clone();
            o.allow_invalid_certificates = allow_invalid;
            Tls::Enabled(o)
        };
        match tls.mode {
            None | Some(TlsMode::Prefer) => {
                // Leave TLS as the URL says; a CA file is added to TLS the
                // URL turned on, and a CA file alone (no mode, no `tls=`
                // in the URL) turns TLS on.
                options.tls = match (options.tls.take(), ca_file_path.is_some()) {
                    (Some(Tls::Enabled(mut o)), true) => {
                        o.ca_file_path = ca_file_path.clone();
                        Some(Tls::Enabled(o))
                    }
                    (None, true) if tls.mode.is_none() => Some(with_ca(None)),
                    (other, _) => other,
                };
            }
            Some(TlsMode::Disable) => options.tls = Some(Tls::Disabled),
            Some(TlsMode::Require) => options.tls = Some(with_ca(Some(true))),
            Some(TlsMode::VerifyFull) => options.tls = Some(with_ca(None)),
            Some(TlsMode::VerifyCa) => {
                return Err(Error::unsupported(
                    "AI_DATA_MONGO_TLS_MODE=verify-ca (skip the host-name check) needs the \
                     OpenSSL build of the MongoDB driver; use verify-full or require",
                )
                .with_store(Store::Mongo))
            }
            Some(_) => {
                return Err(Error::unsupported("unknown TLS mode").with_store(Store::Mongo));
            }
        }
        Ok(())
    }
}

/// `a:1,b:2` -> `["a:1", "b:2"]`, blanks dropped.
fn split_hosts(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` -> a TCP address, with
/// `default_port` when the entry has none.
fn server_address(entry: &str, default_port: Option<u16>) -> Result<ServerAddress> {
    let invalid =
        || Error::config(format!("invalid MongoDB host entry {entry:?}")).with_store(Store::Mongo);
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(invalid)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| invalid())?),
            None if after.is_empty() => None,
            None => return Err(invalid()),
        };
        (host.to_owned(), port)
    } else {
        match entry.rsplit_once(':') {
            Some((host, p)) => (
                host.to_owned(),
                Some(p.parse::<u16>().map_err(|_| invalid())?),
            ),
            None => (entry.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(invalid());
    }
    Ok(ServerAddress::Tcp {
        host,
        port: port.or(default_port),
    })
}

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

/// A driver parse error as a config error, with any trace of the secret
/// (decoded or as written in the URL) removed.
fn parse_error(driver_message: &str, secrets: &[Option<String>]) -> Error {
    let mut message = driver_message.to_owned();
    for secret in secrets.iter().flatten().filter(|s| !s.is_empty()) {
        message = message.replace(secret.as_str(), "***");
    }
    Error::config(format!(
        "AI_DATA_MONGO_URL is not a valid MongoDB connection string: {message}"
    ))
    .with_store(Store::Mongo)
}

impl fmt::Display for MongoConfig {
    /// `mongodb://user:***@host:port/db` plus the Mongo options that are set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let conn = &self.connection;
        let scheme = conn.url.as_ref().map_or("mongodb", |u| u.scheme());
        write!(f, "{scheme}://")?;
        if let Some(user) = self.username() {
            f.write_str(&user)?;
            if conn.secret.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        if self.hosts.is_empty() {
            f.write_str(conn.effective_host().unwrap_or("?"))?;
            if let Some(port) = conn.effective_port() {
                write!(f, ":{port}")?;
            }
        } else {
            f.write_str(&self.hosts.join(","))?;
        }
        write!(f, "/{}", self.database())?;
        let mut opts = Vec::new();
        if let Some(rs) = &self.replica_set {
            opts.push(format!("replicaSet={rs}"));
        }
        if let Some(src) = &self.auth_source {
            opts.push(format!("authSource={src}"));
        }
        if let Some(app) = &self.app_name {
            opts.push(format!("appName={app}"));
        }
        if let Some(mode) = conn.tls.mode {
            opts.push(format!("tls={mode:?}"));
        }
        if !opts.is_empty() {
            write!(f, " ({})", opts.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for MongoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The endpoint is shown through Display (no URL query, which may
        // hold secret-bearing options such as tlsCertificateKeyFilePassword).
        let conn = &self.connection;
        f.debug_struct("MongoConfig")
            .field("endpoint", &self.to_string())
            .field("database", &self.database())
            .field("username", &self.username())
            .field("password", &conn.secret.as_ref().map(|_| "***"))
            .field("hosts", &self.hosts)
            .field("auth_source", &self.auth_source)
            .field("replica_set", &self.replica_set)
            .field("direct_connection", &self.direct_connection)
            .field("app_name", &self.app_name)
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("connect_timeout", &conn.connect_timeout)
            .field("tls", &conn.tls)
            .field("pool", &conn.pool)
            .field("task_status_ttl", &self.task_status_ttl)
            .field("replication_lag_alert", &self.replication_lag_alert)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_core::ErrorKind;

    const SECRET: &str = "Pa55-w0rd-in-test";

    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    fn assert_hidden(config: &MongoConfig) {
        for shown in [format!("{config:?}"), config.to_string()] {
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
    }

    #[tokio::test]
    async fn password_never_shows_from_any_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mongodb-password"), format!("{SECRET}\n")).expect("write");
        let file = dir.path().join("pw");
        std::fs::write(&file, SECRET).expect("write");
        let url = format!("mongodb://app:{SECRET}@db:27017/ai_platform?appName=x");
        // Options with secrets in the query are not shown either.
        let query =
            format!("mongodb://app:{SECRET}@db/ai_platform?tlsCertificateKeyFilePassword={SECRET}");
        assert_hidden(&MongoConfig::from_url(&query).expect("parses"));
        let sources = [
            env(&[("AI_DATA_MONGO_URL", url.as_str())]),
            env(&[
                ("AI_DATA_MONGO_HOST", "db"),
                ("AI_DATA_MONGO_USER", "app"),
                ("AI_DATA_MONGO_PASSWORD", SECRET),
            ]),
            env(&[
                ("AI_DATA_MONGO_HOST", "db"),
                ("AI_DATA_MONGO_USER", "app"),
                ("AI_DATA_MONGO_PASSWORD_FILE", file.to_str().expect("utf8")),
            ]),
            env(&[
                ("AI_DATA_MONGO_HOST", "db"),
                ("AI_DATA_MONGO_USER", "app"),
                ("AI_DATA_SECRETS_DIR", dir.path().to_str().expect("utf8")),
            ]),
        ];
        for source in &sources {
            let config = MongoConfig::from_env_source(source).expect("loads");
            assert_hidden(&config);
            let options = config.client_options().await.expect("options");
            let credential = options.credential.as_ref().expect("credential");
            assert_eq!(credential.password.as_deref(), Some(SECRET));
            assert_eq!(credential.username.as_deref(), Some("app"));
            assert!(!format!("{credential:?}").contains(SECRET));
        }
        let coded = MongoConfig::new(ConnectionConfig::new(Store::Mongo).with_host("h"))
            .with_username("u")
            .with_password(SECRET.to_owned());
        assert_hidden(&coded);
    }

    #[tokio::test]
    async fn url_parts_and_mongo_options_map_to_client_options() {
        let config = MongoConfig::from_env_source(&env(&[
            (
                "AI_DATA_MONGO_URL",
                "mongodb://u:p@url-host:1/urldb?authSource=admin&appName=fromurl",
            ),
            ("AI_DATA_MONGO_HOST", "part-host"),
            ("AI_DATA_MONGO_PORT", "27018"),
            ("AI_DATA_MONGO_REPLICA_SET", "rs0"),
            ("AI_DATA_MONGO_APP_NAME", "svc"),
            ("AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT", "1500ms"),
            ("AI_DATA_MONGO_CONNECT_TIMEOUT", "2s"),
            ("AI_DATA_MONGO_POOL_MAX_SIZE", "7"),
            ("AI_DATA_MONGO_POOL_MIN_IDLE", "2"),
            ("AI_DATA_MONGO_TASK_STATUS_TTL", "1h"),
        ]))
        .expect("loads");
        assert_eq!(config.task_status_ttl, Duration::from_secs(3600));
        let o = config.client_options().await.expect("options");
        assert_eq!(
            o.hosts,
            vec![ServerAddress::Tcp {
                host: "part-host".into(),
                port: Some(27018)
            }]
        );
        assert_eq!(o.default_database.as_deref(), Some("urldb"));
        assert_eq!(o.repl_set_name.as_deref(), Some("rs0"));
        assert_eq!(o.app_name.as_deref(), Some("svc"));
        assert_eq!(
            o.server_selection_timeout,
            Some(Duration::from_millis(1500))
        );
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!((o.max_pool_size, o.min_pool_size), (Some(7), Some(2)));
        let credential = o.credential.expect("credential");
        assert_eq!(
            credential.source.as_deref(),
            Some("admin"),
            "URL authSource kept"
        );
    }

    #[tokio::test]
    async fn auth_source_defaults_follow_the_uri_rules() {
        // Explicit variable wins.
        let c = MongoConfig::from_env_source(&env(&[
            (
                "AI_DATA_MONGO_URL",
                "mongodb://u:p@h/ai_platform?authSource=x",
            ),
            ("AI_DATA_MONGO_AUTH_SOURCE", "admin"),
        ]))
        .expect("loads");
        let cred = c.client_options().await.expect("options").credential;
        assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("admin"));
        // The configured database when nothing else says.
        let c = MongoConfig::from_env_source(&env(&[
            ("AI_DATA_MONGO_HOST", "h"),
            ("AI_DATA_MONGO_DATABASE", "ai_platform"),
            ("AI_DATA_MONGO_USER", "ai_platform_user"),
            ("AI_DATA_MONGO_PASSWORD", "p"),
        ]))
        .expect("loads");
        let cred = c.client_options().await.expect("options").credential;
        assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("ai_platform"));
        // No database anywhere: the URI rule, admin (not our default database).
        let c = MongoConfig::from_url("mongodb://root:p@h:27017").expect("loads");
        assert_eq!(c.database(), DEFAULT_DATABASE);
        let cred = c.client_options().await.expect("options").credential;
        assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("admin"));
    }

    #[tokio::test]
    async fn seed_list_and_bad_entries() {
        let c = MongoConfig::from_env_source(&env(&[
            ("AI_DATA_MONGO_URL", "mongodb://h1/ai_platform"),
            (
                "AI_DATA_MONGO_HOSTS",
                "10.0.0.1:27017, 10.0.0.2,[::1]:27019",
            ),
        ]))
        .expect("loads");
        let o = c.client_options().await.expect("options");
        assert_eq!(o.hosts.len(), 3);
        assert_eq!(
            o.hosts[2],
            ServerAddress::Tcp {
                host: "::1".into(),
                port: Some(27019)
            }
        );
        let err = MongoConfig::from_env_source(&env(&[(
            "AI_DATA_MONGO_URL",
            &format!("mongodb://u:{SECRET}@h1:1,h2:2/db"),
        )]))
        .expect_err("the shared parser takes one host");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("AI_DATA_MONGO_HOSTS"), "{err}");
        assert!(!format!("{err} {err:?}").contains(SECRET));

        let c = MongoConfig::from_env_source(&env(&[
            ("AI_DATA_MONGO_HOST", "h"),
            ("AI_DATA_MONGO_HOSTS", "h:notaport"),
        ]))
        .expect("loads");
        let err = c.client_options().await.expect_err("bad port");
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn tls_modes_map_and_verify_ca_is_refused() {
        let ca = tempfile::NamedTempFile::new().expect("tmp");
        let ca_path = ca.path().to_str().expect("utf8");
        let load = |mode: &str| {
            MongoConfig::from_env_source(&env(&[
                ("AI_DATA_MONGO_HOST", "h"),
                ("AI_DATA_MONGO_TLS_MODE", mode),
                ("AI_DATA_MONGO_TLS_CA_FILE", ca_path),
            ]))
            .expect("loads")
        };
        match load("verify-full").client_options().await.expect("ok").tls {
            Some(Tls::Enabled(o)) => {
                assert_eq!(o.ca_file_path.as_deref(), Some(ca.path()));
                assert_eq!(o.allow_invalid_certificates, None);
            }
            other => panic!("expected TLS on, got {other:?}"),
        }
        match load("require").client_options().await.expect("ok").tls {
            Some(Tls::Enabled(o)) => assert_eq!(o.allow_invalid_certificates, Some(true)),
            other => panic!("expected TLS on, got {other:?}"),
        }
        assert!(matches!(
            load("disable").client_options().await.expect("ok").tls,
            Some(Tls::Disabled)
        ));
        let err = load("verify-ca")
            .client_options()
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("verify-full"));
    }

    #[tokio::test]
    async fn password_without_user_is_the_seed_app_users() {
        let c = MongoConfig::from_env_source(&env(&[
            ("AI_DATA_MONGO_HOST", "h"),
            ("AI_DATA_MONGO_PASSWORD", SECRET),
        ]))
        .expect("loads");
        assert_hidden(&c);
        let cred = c.client_options().await.expect("options").credential;
        let cred = cred.expect("credential");
        assert_eq!(cred.username.as_deref(), Some(SEED_APP_USER));
        assert_eq!(cred.source.as_deref(), Some(DEFAULT_DATABASE));
        // In another configured database, that database.
        let c = c.with_database("tenant_a");
        let cred = c.client_options().await.expect("options").credential;
        assert_eq!(cred.and_then(|c| c.source).as_deref(), Some("tenant_a"));
    }

    #[tokio::test]
    async fn invalid_connection_string_option_is_a_config_error_without_secret() {
        let c = MongoConfig::from_url(&format!("mongodb://u:{SECRET}@h/db?maxPoolSize=lots"))
            .expect("URL itself parses");
        let err = c.client_options().await.expect_err("driver rejects option");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!format!("{err} {err:?}").contains(SECRET), "{err}");
    }
}
