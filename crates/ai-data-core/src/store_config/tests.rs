//! A tiny store config written on the base: one env read, generated
//! setters, redacting Debug/Display, secrets never shown.

// The generated setters are `pub`, as a store's are; this demo type is private.
#![allow(unreachable_pub)]

use std::fmt;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{debug_struct, redacted, write_summary};
use crate::{ConnectionConfig, EnvSource, ErrorKind, SecretString, Store, TlsMode};

const PASSWORD: &str = "Pw-Never-Shown-1";
const TOKEN: &str = "Token-Never-Shown-2";

#[derive(Clone)]
struct DemoConfig {
    connection: ConnectionConfig,
    request_timeout: Duration,
    token: Option<SecretString>,
    batch_size: usize,
}

#[derive(Deserialize)]
struct DemoExtras {
    #[serde(default, with = "humantime_serde")]
    request_timeout: Option<Duration>,
    token: Option<SecretString>,
    batch_size: Option<usize>,
}

impl DemoConfig {
    fn from_env_source(env: &EnvSource) -> crate::Result<Self> {
        let (connection, extras) = env.load_connection::<DemoExtras>(Store::Weaviate)?;
        Ok(DemoConfig {
            connection,
            request_timeout: extras.request_timeout.unwrap_or(Duration::from_secs(2)),
            token: extras.token,
            batch_size: extras.batch_size.unwrap_or(100),
        })
    }
}

crate::connection_setters!(DemoConfig {
    with_host => host,
    with_port => port,
    with_database => database,
    with_username => username,
    /// Set the API key.
    with_api_key => secret,
    with_connect_timeout => connect_timeout,
    with_tls => tls,
    with_pool => pool,
});

impl fmt::Debug for DemoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_struct(f, "DemoConfig", &self.connection)
            .field("request_timeout", &self.request_timeout)
            .field("token", &redacted(&self.token))
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

impl fmt::Display for DemoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self.token.as_ref().map(|_| "token ***");
        write_summary(f, &self.connection, token)
    }
}

fn env(pairs: &[(&str, &str)]) -> EnvSource {
    EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
}

#[test]
fn one_read_gives_the_connection_and_the_extras() {
    let config = DemoConfig::from_env_source(&env(&[
        ("AI_DATA_WEAVIATE_URL", "http://weaviate:8080"),
        ("AI_DATA_WEAVIATE_API_KEY", PASSWORD),
        ("AI_DATA_WEAVIATE_TOKEN", TOKEN),
        ("AI_DATA_WEAVIATE_REQUEST_TIMEOUT", "750ms"),
        ("AI_DATA_WEAVIATE_POOL_MAX_SIZE", "3"),
        ("AI_DATA_PG_BATCH_SIZE", "7"),
    ]))
    .expect("loads");
    assert_eq!(config.connection.effective_host(), Some("weaviate"));
    assert_eq!(config.connection.pool.max_size, 3);
    assert_eq!(
        config.connection.secret.as_ref().map(|s| s.expose_secret()),
        Some(PASSWORD)
    );
    assert_eq!(config.request_timeout, Duration::from_millis(750));
    assert_eq!(
        config.token.as_ref().map(|s| s.expose_secret()),
        Some(TOKEN)
    );
    assert_eq!(
        config.batch_size, 100,
        "another store's variable is not read"
    );
}

#[test]
fn secrets_never_show_in_debug_display_or_errors() {
    let config = DemoConfig::from_env_source(&env(&[
        (
            "AI_DATA_WEAVIATE_URL",
            &format!("http://u:{PASSWORD}@weaviate:8080"),
        ),
        ("AI_DATA_WEAVIATE_TOKEN", TOKEN),
    ]))
    .expect("loads");
    let debug = format!("{config:?}");
    let display = config.to_string();
    for shown in [&debug, &display] {
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(TOKEN),
            "{shown}"
        );
        assert!(shown.contains("***"), "{shown}");
    }
    assert_eq!(display, "http://u:***@weaviate:8080 (token ***)");
    assert!(
        debug.starts_with("DemoConfig { connection: ConnectionConfig {"),
        "{debug}"
    );
    assert!(debug.contains(r#"token: Some("***")"#), "{debug}");

    // A bad extra, next to secrets in the connection and the extras.
    let err = DemoConfig::from_env_source(&env(&[
        ("AI_DATA_WEAVIATE_HOST", "weaviate"),
        ("AI_DATA_WEAVIATE_API_KEY", PASSWORD),
        ("AI_DATA_WEAVIATE_TOKEN", TOKEN),
        ("AI_DATA_WEAVIATE_BATCH_SIZE", "lots"),
    ]))
    .expect_err("bad batch size");
    let shown = format!("{err} {err:?}");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(shown.contains("AI_DATA_WEAVIATE_BATCH_SIZE"), "{shown}");
    assert!(
        !shown.contains(PASSWORD) && !shown.contains(TOKEN),
        "{shown}"
    );
}

#[test]
fn connection_errors_come_first_with_their_usual_messages() {
    let err = DemoConfig::from_env_source(&env(&[("AI_DATA_WEAVIATE_BATCH_SIZE", "lots")]))
        .expect_err("no endpoint");
    assert_eq!(
        err.message(),
        "missing required variable AI_DATA_WEAVIATE_URL (or AI_DATA_WEAVIATE_HOST)"
    );
    let err = DemoConfig::from_env_source(&env(&[
        ("AI_DATA_WEAVIATE_HOST", "h"),
        ("AI_DATA_WEAVIATE_REQUEST_TIMEOUT", "soon"),
    ]))
    .expect_err("bad duration");
    assert!(
        err.message()
            .starts_with("invalid value for AI_DATA_WEAVIATE_REQUEST_TIMEOUT"),
        "{err}"
    );
}

#[test]
fn without_a_required_endpoint_only_the_endpoint_may_be_missing() {
    #[derive(Debug, Deserialize)]
    struct KafkaExtras {
        bootstrap_servers: Option<String>,
    }
    let source = env(&[("AI_DATA_KAFKA_PASSWORD", PASSWORD)]);
    let (connection, extras) = source
        .load_connection_optional_endpoint::<KafkaExtras>(Store::Kafka)
        .expect("no endpoint needed");
    assert!(extras.bootstrap_servers.is_none() && connection.effective_host().is_none());
    assert!(connection.secret.is_some());
    let err = source
        .load_connection::<KafkaExtras>(Store::Kafka)
        .expect_err("endpoint required");
    assert!(err.message().contains("AI_DATA_KAFKA_HOST"), "{err}");
    let err = env(&[("AI_DATA_KAFKA_PORT", "x")])
        .load_connection_optional_endpoint::<KafkaExtras>(Store::Kafka)
        .expect_err("bad port");
    assert!(err.message().contains("AI_DATA_KAFKA_PORT"), "{err}");
}

#[test]
fn generated_setters_write_the_connection() {
    let config = DemoConfig::from_env_source(&env(&[("AI_DATA_WEAVIATE_HOST", "a")]))
        .expect("loads")
        .with_host("b")
        .with_port(8081)
        .with_database("db")
        .with_username("u")
        .with_api_key(PASSWORD)
        .with_connect_timeout(Duration::from_secs(4))
        .with_tls(TlsMode::VerifyFull, None)
        .with_pool(crate::PoolConfig::default());
    let c = &config.connection;
    assert_eq!(c.to_string(), "weaviate://u:***@b:8081/db");
    assert_eq!(c.connect_timeout, Duration::from_secs(4));
    assert_eq!(c.tls.mode, Some(TlsMode::VerifyFull));
    assert_eq!(c.secret.as_ref().map(|s| s.expose_secret()), Some(PASSWORD));
}
