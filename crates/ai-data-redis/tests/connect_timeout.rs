//! The documented connect timeout (`AI_DATA_REDIS_CONNECT_TIMEOUT`) bounds
//! `RedisClient::connect`: against a closed port, a blackholed address, a
//! server that accepts but never answers, and topologies that try several
//! unreachable endpoints in turn, connecting fails within the timeout with
//! `ErrorKind::Connect` and the cause in `source()`, and says nothing secret.

use std::time::{Duration, Instant};

use ai_data_core::{EnvSource, Error};
use ai_data_redis::{HostPort, RedisClient, RedisConfig};
use ai_data_testkit::unreachable::{closed_port, Blackhole, ConnectExpectation};

const SECRET: &str = "Conn3ct-T1meout-Secret";
const TIMEOUT: Duration = Duration::from_millis(1500);

/// The config a service would get from its environment, with the short
/// connect timeout set through the documented variable.
fn config_for(url: &str) -> RedisConfig {
    let env = EnvSource::from_pairs([
        ("AI_DATA_REDIS_URL", url),
        ("AI_DATA_REDIS_PASSWORD", SECRET),
        ("AI_DATA_REDIS_CONNECT_TIMEOUT", "1500ms"),
    ]);
    let config = RedisConfig::from_env_source(&env).expect("config from env");
    assert_eq!(config.connection.connect_timeout, TIMEOUT);
    config
}

fn expect() -> ConnectExpectation {
    ConnectExpectation::new("redis", TIMEOUT).with_secret(SECRET)
}

/// Connect, and check what every unreachable case has in common.
async fn connect_fails(config: RedisConfig, what: &str) -> (Error, Duration) {
    expect().fails(what, RedisClient::connect(config)).await
}

#[tokio::test]
async fn closed_port_is_refused_at_once_with_the_cause() {
    let addr = closed_port().expect("closed port");
    let url = format!("redis://{addr}");
    let (err, elapsed) = connect_fails(config_for(&url), "closed port").await;
    expect().refused_at_once(&err, elapsed, "closed port");
    assert!(err.to_string().contains(&addr.port().to_string()), "{err}");
}

#[tokio::test]
async fn blackholed_address_fails_within_the_connect_timeout() {
    let hole = Blackhole::new().expect("blackhole");
    let url = format!("redis://{}", hole.host_port());
    let (err, elapsed) = connect_fails(config_for(&url), "blackhole").await;
    expect().timed_out(&err, elapsed, "blackhole");
}

#[tokio::test]
async fn a_server_that_accepts_but_never_answers_fails_within_the_connect_timeout() {
    // The kernel completes the handshake for the backlog; nobody ever reads
    // the AUTH / HELLO, like a frozen server.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("redis://{}", silent.local_addr().expect("addr"));
    let (err, elapsed) = connect_fails(config_for(&url), "silent server").await;
    assert!(
        elapsed >= TIMEOUT.mul_f64(0.8),
        "gave up before the connect timeout: {elapsed:?}: {err}"
    );
}

#[tokio::test]
async fn several_unreachable_endpoints_share_one_connect_timeout() {
    // Cluster seed nodes and sentinels are tried one after another; the
    // timeout bounds the whole connect, not each endpoint.
    let holes: Vec<Blackhole> = (0..3).map(|_| Blackhole::new().expect("hole")).collect();
    let endpoints = || {
        holes
            .iter()
            .map(|h| HostPort::new("127.0.0.1", h.addr().port()))
            .collect::<Vec<_>>()
    };
    let base = format!("redis://{}", holes[0].host_port());
    let cluster = config_for(&base).with_cluster(endpoints());
    connect_fails(cluster, "cluster of blackholes").await;
    let sentinel = config_for(&base).with_sentinel("mymaster", endpoints());
    connect_fails(sentinel, "sentinels that are blackholes").await;
}

#[tokio::test]
async fn the_same_settings_connect_to_the_real_server() {
    // The control: nothing but the address differs from the failing cases.
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let config = RedisConfig::from_url(&r.url)
        .expect("url")
        .with_connect_timeout(TIMEOUT);
    let started = Instant::now();
    let client = RedisClient::connect(config).await.expect("connect");
    assert!(started.elapsed() < TIMEOUT, "{:?}", started.elapsed());
    assert_eq!(client.pool_status().connected, client.pool_status().size);
    client.quit().await.expect("quit");
}
