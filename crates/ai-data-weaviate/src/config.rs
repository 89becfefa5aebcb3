//! [`WeaviateConfig`]: where the Weaviate server is, its API key, the gRPC
//! endpoint and the timeouts, from the environment, a URL or code.

use std::fmt;
use std::time::Duration;

use ai_data_core::{ConnectionConfig, EnvSource, Error, Result, Store, TlsMode};
use serde::Deserialize;

/// Weaviate's REST port when only a host is given.
pub const DEFAULT_REST_PORT: u16 = 8080;
/// Weaviate's gRPC port.
pub const DEFAULT_GRPC_PORT: u16 = 50051;
/// How long one request (including reading the reply) may take.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Objects per `POST /v1/batch/objects` request.
pub const DEFAULT_BATCH_SIZE: usize = 200;
/// The largest gRPC `Search` reply read, in bytes: 104,858,000 (about
/// 100 MiB, the message size Weaviate's own clients allow) instead of
/// tonic's 4 MiB.
pub const DEFAULT_GRPC_MAX_MESSAGE_SIZE: usize = 104_858_000;
/// The largest REST / GraphQL reply body read, in bytes (256 MiB): a
/// GraphQL search of 10,000 hits with 1536-d vectors is about 170 MB of JSON.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 256 * 1024 * 1024;

/// Whether searches may use the gRPC fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum GrpcMode {
    /// Use gRPC `Search` when the crate is built with feature `grpc`, the
    /// server's version has it and the call can be expressed there; else
    /// (and once gRPC turns out to be unreachable) GraphQL.
    #[default]
    Auto,
    /// Always GraphQL.
    Off,
}

/// The Weaviate-only variables, read with [`EnvSource::load`].
#[derive(Debug, Default, Deserialize)]
struct WeaviateExtra {
    grpc_url: Option<String>,
    grpc_port: Option<u16>,
    grpc: Option<GrpcMode>,
    #[serde(default, with = "humantime_serde")]
    request_timeout: Option<Duration>,
    batch_size: Option<usize>,
    grpc_max_message_size: Option<usize>,
    max_response_size: Option<usize>,
}

/// Settings for one Weaviate server.
///
/// Built on [`ConnectionConfig`] (URL or host / port, API key, connect
/// timeout, TLS) with Weaviate's own settings on top. Environment variables
/// (prefix `AI_DATA_WEAVIATE_`):
///
/// | variable | meaning |
/// |---|---|
/// | `AI_DATA_WEAVIATE_URL` | REST endpoint, e.g. `http://weaviate:8080` (the seed maps it to 8088); or `_HOST`, `_PORT` (default 8080) |
/// | `AI_DATA_WEAVIATE_API_KEY`, `_API_KEY_FILE`, or `weaviate-apikey` in `AI_DATA_SECRETS_DIR` | API key, sent as `Authorization: Bearer <key>` |
/// | `AI_DATA_WEAVIATE_GRPC_URL` | gRPC endpoint, e.g. `http://weaviate:50051`; default: the REST host on `_GRPC_PORT` (50051) |
/// | `AI_DATA_WEAVIATE_GRPC` | `auto` (default) or `off` |
/// | `AI_DATA_WEAVIATE_CONNECT_TIMEOUT`, `_REQUEST_TIMEOUT` | e.g. `5s` (defaults 10 s, 30 s); the connect timeout bounds opening a REST connection and the gRPC channel: an unreachable server is an [`ErrorKind::Connect`](ai_data_core::ErrorKind::Connect) error with the cause in `source()`, an unreachable gRPC endpoint costs one search at most this long before it is answered over GraphQL |
/// | `AI_DATA_WEAVIATE_BATCH_SIZE` | objects per batch request (default 200) |
/// | `AI_DATA_WEAVIATE_GRPC_MAX_MESSAGE_SIZE` | ceiling of a gRPC `Search` reply in bytes (default 104,858,000, [`DEFAULT_GRPC_MAX_MESSAGE_SIZE`]) |
/// | `AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE` | largest REST / GraphQL reply body in bytes (default 256 MiB, [`DEFAULT_MAX_RESPONSE_SIZE`]) |
/// | `AI_DATA_WEAVIATE_TLS_MODE`, `_TLS_CA_FILE` | `https` URLs verify the server against the web PKI and the CA file; `require` encrypts without verifying |
///
/// `Debug` and `Display` never show the API key.
///
/// **Reply sizes.** A gRPC `Search` may bring back what the request asks
/// for: `k` hits of the vector (when vectors are included) plus an
/// allowance for the id, distance and payload of each hit, at least 4 MiB,
/// at most [`grpc_max_message_size`](Self::grpc_max_message_size). A reply
/// larger than that estimate (large payloads) is asked for once more with
/// the ceiling as its limit; one larger than the ceiling fails with
/// [`ErrorKind::Backend`](ai_data_core::ErrorKind::Backend), naming the
/// limit and `AI_DATA_WEAVIATE_GRPC_MAX_MESSAGE_SIZE` (it is not retried
/// over GraphQL, whose JSON is larger still). REST and GraphQL reply
/// bodies are streamed and reading stops at
/// [`max_response_size`](Self::max_response_size) with the same kind of
/// error, naming `AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE`.
///
/// ```
/// use ai_data_core::{EnvSource, ExposeSecret};
/// use ai_data_weaviate::WeaviateConfig;
///
/// let env = EnvSource::from_pairs([
///     ("AI_DATA_WEAVIATE_URL", "http://weaviate.database.svc:8088"),
///     ("AI_DATA_WEAVIATE_API_KEY", "changeThisToSecurePassword"),
///     ("AI_DATA_WEAVIATE_REQUEST_TIMEOUT", "5s"),
/// ]);
/// let config = WeaviateConfig::from_env_source(&env)?;
/// assert_eq!(config.rest_url()?, "http://weaviate.database.svc:8088");
/// assert_eq!(config.grpc_url()?, "http://weaviate.database.svc:50051");
/// assert_eq!(config.request_timeout, std::time::Duration::from_secs(5));
/// assert!(!format!("{config:?} {config}").contains("changeThis"));
/// # Ok::<(), ai_data_core::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct WeaviateConfig {
    /// Endpoint, API key, connect timeout and TLS settings.
    pub connection: ConnectionConfig,
    /// Explicit gRPC endpoint (`http://host:50051`).
    pub grpc_url: Option<String>,
    /// gRPC port on the REST host when `grpc_url` is not set.
    pub grpc_port: u16,
    /// Whether searches may use gRPC.
    pub grpc: GrpcMode,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Objects per batch request.
    pub batch_size: usize,
    /// Ceiling of a gRPC `Search` reply, in bytes (see "Reply sizes").
    pub grpc_max_message_size: usize,
    /// Largest REST / GraphQL reply body read, in bytes.
    pub max_response_size: usize,
}

impl WeaviateConfig {
    /// A configuration on top of `connection` with Weaviate defaults.
    pub fn new(connection: ConnectionConfig) -> Self {
        WeaviateConfig {
            connection,
            grpc_url: None,
            grpc_port: DEFAULT_GRPC_PORT,
            grpc: GrpcMode::Auto,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            batch_size: DEFAULT_BATCH_SIZE,
            grpc_max_message_size: DEFAULT_GRPC_MAX_MESSAGE_SIZE,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
        }
    }

    /// From an `http://` or `https://` REST URL.
    pub fn from_url(url: &str) -> Result<Self> {
        let config = Self::new(ConnectionConfig::from_url(Store::Weaviate, url)?);
        config.rest_url()?;
        Ok(config)
    }

    /// From the process environment and the secret files it names.
    pub fn from_env() -> Result<Self> {
        Self::from_env_source(&EnvSource::from_process())
    }

    /// From the given environment and the secret files it names.
    pub fn from_env_source(env: &EnvSource) -> Result<Self> {
        let (connection, extra) = env.load_connection::<WeaviateExtra>(Store::Weaviate)?;
        let config = WeaviateConfig {
            connection,
            grpc_url: extra.grpc_url,
            grpc_port: extra.grpc_port.unwrap_or(DEFAULT_GRPC_PORT),
            grpc: extra.grpc.unwrap_or_default(),
            request_timeout: extra.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            batch_size: extra.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
            grpc_max_message_size: extra
                .grpc_max_message_size
                .unwrap_or(DEFAULT_GRPC_MAX_MESSAGE_SIZE),
            max_response_size: extra.max_response_size.unwrap_or(DEFAULT_MAX_RESPONSE_SIZE),
        };
        for (value, name) in [
            (config.batch_size, "BATCH_SIZE"),
            (config.grpc_max_message_size, "GRPC_MAX_MESSAGE_SIZE"),
            (config.max_response_size, "MAX_RESPONSE_SIZE"),
        ] {
            if value == 0 {
                return Err(config_error(format!(
                    "{} must be at least 1",
                    Store::Weaviate.var(name)
                )));
            }
        }
        config.rest_url()?;
        config.grpc_url()?;
        Ok(config)
    }

    /// Set the gRPC endpoint (`http://host:50051`).
    #[must_use]
    pub fn with_grpc_url(mut self, url: impl Into<String>) -> Self {
        self.grpc_url = Some(url.into());
        self
    }

    /// Allow or forbid the gRPC fast path.
    #[must_use]
    pub fn with_grpc(mut self, mode: GrpcMode) -> Self {
        self.grpc = mode;
        self
    }

    /// Set the timeout of one request.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Set the number of objects per batch request (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Set the ceiling of a gRPC `Search` reply, in bytes (at least 1).
    #[must_use]
    pub fn with_grpc_max_message_size(mut self, bytes: usize) -> Self {
        self.grpc_max_message_size = bytes.max(1);
        self
    }

    /// Set the largest REST / GraphQL reply body read, in bytes (at least 1).
    #[must_use]
    pub fn with_max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes.max(1);
        self
    }

    /// Whether TLS is used (an `https` URL, or a TLS mode that requires it).
    pub fn uses_tls(&self) -> bool {
        let scheme_tls = self
            .connection
            .url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https");
        let mode_tls = matches!(
            self.connection.tls.mode,
            Some(TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull)
        );
        scheme_tls || mode_tls
    }

    /// The REST base URL, `scheme://host:port`, without `/v1`.
    pub fn rest_url(&self) -> Result<String> {
        let scheme = match self.connection.url.as_ref().map(|u| u.scheme()) {
            None => {
                if self.uses_tls() {
                    "https"
                } else {
                    "http"
                }
            }
            Some(s @ ("http" | "https")) => s,
            Some(other) => {
                return Err(config_error(format!(
                    "{}: scheme {other:?} is not http or https",
                    Store::Weaviate.var("URL")
                )))
            }
        };
        if scheme == "https" && self.connection.tls.mode == Some(TlsMode::Disable) {
            return Err(config_error(format!(
                "{} is https but {} is disable",
                Store::Weaviate.var("URL"),
                Store::Weaviate.var("TLS_MODE")
            )));
        }
        let host = self.connection.effective_host().ok_or_else(|| {
            config_error(format!(
                "no Weaviate host: set {} or {}",
                Store::Weaviate.var("URL"),
                Store::Weaviate.var("HOST")
            ))
        })?;
        let port = self
            .connection
            .port
            .or_else(|| {
                self.connection
                    .url
                    .as_ref()
                    .and_then(|u| u.without_password().port_or_known_default())
            })
            .unwrap_or(DEFAULT_REST_PORT);
        Ok(format!("{scheme}://{}:{port}", bracket(host)))
    }

    /// The gRPC endpoint: `grpc_url`, else the REST host on `grpc_port`.
    pub fn grpc_url(&self) -> Result<String> {
        if let Some(url) = &self.grpc_url {
            let parsed = url::Url::parse(url).map_err(|e| {
                config_error(format!(
                    "{} is not a valid URL: {e}",
                    Store::Weaviate.var("GRPC_URL")
                ))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(config_error(format!(
                    "{} must be http(s)://host:port",
                    Store::Weaviate.var("GRPC_URL")
                )));
            }
            return Ok(url.trim_end_matches('/').to_owned());
        }
        let scheme = if self.uses_tls() { "https" } else { "http" };
        let host = self.connection.effective_host().unwrap_or("localhost");
        Ok(format!("{scheme}://{}:{}", bracket(host), self.grpc_port))
    }
}

/// IPv6 literals need brackets in a URL.
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn config_error(message: String) -> Error {
    Error::config(message).with_store(Store::Weaviate)
}

impl fmt::Display for WeaviateConfig {
    /// The REST endpoint (API key as `***`) and the gRPC endpoint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest = self.rest_url().unwrap_or_else(|_| "?".to_owned());
        let key = if self.connection.secret.is_some() {
            " (api key ***)"
        } else {
            ""
        };
        let grpc = match self.grpc {
            GrpcMode::Off => "off".to_owned(),
            GrpcMode::Auto => self.grpc_url().unwrap_or_else(|_| "?".to_owned()),
        };
        write!(f, "{rest}{key}, grpc {grpc}")
    }
}

ai_data_core::connection_setters!(WeaviateConfig {
    /// Set the API key.
    with_api_key => secret,
    /// Set the connect timeout.
    with_connect_timeout => connect_timeout,
});

impl fmt::Debug for WeaviateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ai_data_core::store_config::debug_struct(f, "WeaviateConfig", &self.connection)
            .field("grpc_url", &self.grpc_url)
            .field("grpc_port", &self.grpc_port)
            .field("grpc", &self.grpc)
            .field("request_timeout", &self.request_timeout)
            .field("batch_size", &self.batch_size)
            .field("grpc_max_message_size", &self.grpc_max_message_size)
            .field("max_response_size", &self.max_response_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_core::{ErrorKind, ExposeSecret};

    const KEY: &str = "Weaviate-Key-Never-Shown-42";

    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn api_key_from_every_source_is_never_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("weaviate-apikey"), format!("{KEY}\n")).expect("write");
        let file = dir.path().join("weaviate-apikey");
        let dir_s = dir.path().to_str().expect("utf8");
        let file_s = file.to_str().expect("utf8");
        let sources = [
            env(&[
                ("AI_DATA_WEAVIATE_URL", "http://w:8080"),
                ("AI_DATA_WEAVIATE_API_KEY", KEY),
            ]),
            env(&[
                ("AI_DATA_WEAVIATE_HOST", "w"),
                ("AI_DATA_WEAVIATE_API_KEY_FILE", file_s),
            ]),
            env(&[
                ("AI_DATA_WEAVIATE_HOST", "w"),
                ("AI_DATA_SECRETS_DIR", dir_s),
            ]),
        ];
        for source in &sources {
            let config = WeaviateConfig::from_env_source(source).expect("loads");
            let key = config.connection.secret.as_ref().expect("key");
            assert_eq!(key.expose_secret(), KEY);
            let shown = format!("{config:?} {config}");
            assert!(!shown.contains(KEY), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
    }

    #[test]
    fn endpoints_and_defaults() {
        let config =
            WeaviateConfig::from_env_source(&env(&[("AI_DATA_WEAVIATE_HOST", "10.0.0.7")]))
                .expect("loads");
        assert_eq!(
            config.rest_url().ok().as_deref(),
            Some("http://10.0.0.7:8080")
        );
        assert_eq!(
            config.grpc_url().ok().as_deref(),
            Some("http://10.0.0.7:50051")
        );
        assert_eq!(config.batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(config.grpc_max_message_size, DEFAULT_GRPC_MAX_MESSAGE_SIZE);
        assert_eq!(config.max_response_size, DEFAULT_MAX_RESPONSE_SIZE);
        assert_eq!(config.grpc, GrpcMode::Auto);
        let config = WeaviateConfig::from_env_source(&env(&[
            ("AI_DATA_WEAVIATE_URL", "https://[::1]:8443"),
            ("AI_DATA_WEAVIATE_GRPC_URL", "https://grpc.example:443/"),
            ("AI_DATA_WEAVIATE_GRPC", "off"),
            ("AI_DATA_WEAVIATE_BATCH_SIZE", "50"),
            ("AI_DATA_WEAVIATE_GRPC_MAX_MESSAGE_SIZE", "8388608"),
            ("AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE", "1048576"),
        ]))
        .expect("loads");
        assert_eq!(config.grpc_max_message_size, 8 * 1024 * 1024);
        assert_eq!(config.max_response_size, 1024 * 1024);
        assert_eq!(
            config.rest_url().ok().as_deref(),
            Some("https://[::1]:8443")
        );
        assert_eq!(
            config.grpc_url().ok().as_deref(),
            Some("https://grpc.example:443")
        );
        assert_eq!(config.grpc, GrpcMode::Off);
        assert_eq!(config.batch_size, 50);
        assert!(config.uses_tls());
    }

    #[test]
    fn bad_values_are_config_errors_naming_the_variable() {
        for (pairs, var) in [
            (
                vec![("AI_DATA_WEAVIATE_URL", "ftp://w:1")],
                "AI_DATA_WEAVIATE_URL",
            ),
            (
                vec![
                    ("AI_DATA_WEAVIATE_HOST", "w"),
                    ("AI_DATA_WEAVIATE_GRPC_URL", "not a url"),
                ],
                "AI_DATA_WEAVIATE_GRPC_URL",
            ),
            (
                vec![
                    ("AI_DATA_WEAVIATE_HOST", "w"),
                    ("AI_DATA_WEAVIATE_BATCH_SIZE", "0"),
                ],
                "AI_DATA_WEAVIATE_BATCH_SIZE",
            ),
            (
                vec![
                    ("AI_DATA_WEAVIATE_HOST", "w"),
                    ("AI_DATA_WEAVIATE_GRPC_MAX_MESSAGE_SIZE", "0"),
                ],
                "AI_DATA_WEAVIATE_GRPC_MAX_MESSAGE_SIZE",
            ),
            (
                vec![
                    ("AI_DATA_WEAVIATE_HOST", "w"),
                    ("AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE", "64MiB"),
                ],
                "AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE",
            ),
            (
                vec![
                    ("AI_DATA_WEAVIATE_HOST", "w"),
                    ("AI_DATA_WEAVIATE_REQUEST_TIMEOUT", "soon"),
                ],
                "AI_DATA_WEAVIATE_REQUEST_TIMEOUT",
            ),
            (
                vec![
                    ("AI_DATA_WEAVIATE_URL", "https://w:1"),
                    ("AI_DATA_WEAVIATE_TLS_MODE", "disable"),
                ],
                "AI_DATA_WEAVIATE_TLS_MODE",
            ),
        ] {
            let err = WeaviateConfig::from_env_source(&env(&pairs)).expect_err("bad value");
            assert_eq!(err.kind(), ErrorKind::Config, "{err}");
            assert!(err.message().contains(var), "{var}: {err}");
        }
    }
}
