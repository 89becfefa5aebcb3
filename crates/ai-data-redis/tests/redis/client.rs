//! Connecting, configuration from the environment, health, errors.

use std::time::Duration;

use ai_data_core::{ConnectionUrl, EnvSource, ErrorKind, ExposeSecret, HealthCheck};
use ai_data_redis::{RedisClient, RedisConfig, Topology};

use crate::common::connect;

fn password_of(url: &str) -> String {
    ConnectionUrl::parse(url)
        .expect("url")
        .password()
        .map(|p| p.expose_secret().to_owned())
        .expect("the test Redis has a password")
}

#[tokio::test]
async fn health_reports_version_memory_and_topology() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let client = connect(&r.url).await;
    let report = client.check().await.expect("healthy");
    let version = report
        .server_version
        .clone()
        .expect("INFO has redis_version");
    assert!(version.starts_with("7."), "{version}");
    let used: u64 = report.details["used_memory"].parse().expect("number");
    assert!(used > 0);
    let max: u64 = report.details["maxmemory"].parse().expect("number");
    let ratio = &report.details["memory_used_ratio"];
    let percent = &report.details["memory_used_percent"];
    if max == 0 {
        assert_eq!(ratio, "unlimited");
        assert_eq!(percent, "unlimited");
    } else {
        assert!(ratio.parse::<f64>().expect("ratio") > 0.0, "{ratio}");
        let percent: f64 = percent.parse().expect("percent");
        let measured = used as f64 / max as f64 * 100.0;
        assert!((percent - measured).abs() < 0.1, "{percent} vs {measured}");
    }
    // The local Redis is far from the seed's RedisHighMemoryUsage (80%).
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let pool_size: usize = report.details["pool_size"].parse().expect("number");
    let connected: usize = report.details["pool_connected"].parse().expect("number");
    assert_eq!(connected, pool_size, "every connection is up");
    let status = client.pool_status();
    assert_eq!((status.size, status.connected), (pool_size, pool_size));
    assert!(report.details.contains_key("maxmemory_policy"));
    assert_eq!(report.details["topology"], "standalone");
    assert_eq!(report.details["role"], "master");
    assert!(report.latency < Duration::from_secs(2));
    client.quit().await.expect("quit");
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_that_shows_no_secret() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let real = password_of(&r.url);
    let wrong = "Wr0ng-Passw0rd-Value";
    let mut url = ConnectionUrl::parse(&r.url).expect("url").expose_url();
    url.set_password(Some(wrong)).expect("set password");
    let config = RedisConfig::from_url(url.as_str()).expect("parses");
    let shown = format!("{config:?} {config}");
    assert!(!shown.contains(wrong), "{shown}");
    let err = RedisClient::connect(config)
        .await
        .expect_err("wrong password refused");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_retryable());
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!chain.contains(wrong), "{chain}");
    assert!(!chain.contains(&real), "{chain}");
}

#[tokio::test]
async fn nothing_listening_is_a_retryable_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let config = RedisConfig::from_url(&format!("redis://127.0.0.1:{port}"))
        .expect("url")
        .with_connect_timeout(Duration::from_secs(2));
    let err = RedisClient::connect(config).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn env_config_with_the_password_from_the_seed_secret_directory() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let password = password_of(&r.url);
    let secrets = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        secrets.path().join("redis-password"),
        format!("{password}\n"),
    )
    .expect("write secret");
    let url = ConnectionUrl::parse(&r.url).expect("url");
    let env = EnvSource::from_pairs([
        ("AI_DATA_REDIS_HOST", url.host().expect("host").to_owned()),
        ("AI_DATA_REDIS_PORT", url.port().expect("port").to_string()),
        ("AI_DATA_REDIS_DATABASE", "0".to_owned()),
        (
            "AI_DATA_SECRETS_DIR",
            secrets.path().to_str().expect("utf8").to_owned(),
        ),
        ("AI_DATA_REDIS_POOL_MAX_SIZE", "2".to_owned()),
        ("AI_DATA_REDIS_COMMAND_TIMEOUT", "1500ms".to_owned()),
    ]);
    let config = RedisConfig::from_env_source(&env).expect("env config");
    assert_eq!(config.topology, Topology::Standalone);
    assert_eq!(config.pool_size, 2);
    let client = RedisClient::connect(config).await.expect("connects");
    let shown = format!("{client:?} {client}");
    assert!(!shown.contains(&password), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    assert_eq!(client.pool().size(), 2);
    let report = client.check().await.expect("healthy");
    assert_eq!(report.details["pool_size"], "2");
}
