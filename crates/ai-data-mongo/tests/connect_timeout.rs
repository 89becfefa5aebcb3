//! The documented connect timeout (`AI_DATA_MONGO_CONNECT_TIMEOUT`) bounds
//! `MongoStore::connect`: against a closed port and a blackholed address,
//! connecting fails within the timeout with `ErrorKind::Connect`, the cause
//! in `source()`, and nothing secret in what is shown. A shorter
//! server-selection timeout (`AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT`)
//! bounds it too.

use std::time::Duration;

use ai_data_core::{EnvSource, Error};
use ai_data_mongo::{MongoConfig, MongoStore};
use ai_data_testkit::unreachable::{closed_port, Blackhole, ConnectExpectation};

const SECRET: &str = "Conn3ct-T1meout-M0ngo";
const TIMEOUT: Duration = Duration::from_millis(1500);

/// The config a service would get from its environment: a user and
/// password, and the short connect timeout through the documented variable
/// (the server-selection timeout left at its 30 s default).
fn config_for(host_port: &str, extra: &[(&str, &str)]) -> MongoConfig {
    let url = format!("mongodb://ai_platform_user@{host_port}/ai_platform");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("AI_DATA_MONGO_URL", url.as_str()),
        ("AI_DATA_MONGO_PASSWORD", SECRET),
        ("AI_DATA_MONGO_CONNECT_TIMEOUT", "1500ms"),
    ];
    // `extra` overrides.
    pairs.retain(|(k, _)| extra.iter().all(|(e, _)| e != k));
    pairs.extend_from_slice(extra);
    MongoConfig::from_env_source(&EnvSource::from_pairs(pairs)).expect("config from env")
}

/// Connect, and check what every unreachable case has in common; `bound`
/// is the timeout expected to end the attempt.
async fn connect_fails(config: &MongoConfig, bound: Duration, what: &str) -> (Error, Duration) {
    let expect = ConnectExpectation::new("mongodb", bound).with_secret(SECRET);
    let (err, elapsed) = expect.fails(what, MongoStore::connect(config)).await;
    assert_eq!(err.operation(), Some("connect"), "{what}: {err}");
    (err, elapsed)
}

#[tokio::test]
async fn closed_port_fails_within_the_connect_timeout_with_the_refusal() {
    let addr = closed_port().expect("closed port");
    let config = config_for(&addr.to_string(), &[]);
    let (err, _) = connect_fails(&config, TIMEOUT, "closed port").await;
    ConnectExpectation::new("mongodb", TIMEOUT).refused(&err, "closed port");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn blackholed_address_fails_within_the_connect_timeout() {
    let hole = Blackhole::new().expect("blackhole");
    let config = config_for(&hole.host_port(), &[]);
    let (err, elapsed) = connect_fails(&config, TIMEOUT, "blackhole").await;
    ConnectExpectation::new("mongodb", TIMEOUT).timed_out(&err, elapsed, "blackhole");
}

#[tokio::test]
async fn a_shorter_server_selection_timeout_bounds_connect_too() {
    let hole = Blackhole::new().expect("blackhole");
    let selection = Duration::from_millis(800);
    let config = config_for(
        &hole.host_port(),
        &[
            ("AI_DATA_MONGO_CONNECT_TIMEOUT", "10s"),
            ("AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT", "800ms"),
        ],
    );
    assert_eq!(config.server_selection_timeout, selection);
    let (err, elapsed) = connect_fails(&config, selection, "blackhole").await;
    assert!(
        elapsed >= selection.mul_f64(0.8),
        "gave up before the server-selection timeout: {elapsed:?}: {err}"
    );
}
