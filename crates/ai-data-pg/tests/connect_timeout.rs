//! The documented connect timeout (`AI_DATA_PG_CONNECT_TIMEOUT`) bounds
//! `PgDatabase::connect`: against a closed port and a blackholed address
//! connecting fails within the timeout (not the pool's 30 s acquire
//! timeout) with `ErrorKind::Connect`, the cause in `source()`, and nothing
//! secret shown; a blackholed read replica costs a replica read at most the
//! connect timeout before it falls back to the primary.

use std::time::{Duration, Instant};

use ai_data_core::{EnvSource, Error, ErrorKind};
use ai_data_pg::{PgConfig, PgDatabase, ReadFrom};
use ai_data_testkit::unreachable::{closed_port, io_kinds, Blackhole, ConnectExpectation};

const SECRET: &str = "Pg-C0nnect-T1meout-Secret";
const TIMEOUT: Duration = Duration::from_secs(1);
/// Scheduling slack on a shared two-core machine.
const MARGIN: Duration = Duration::from_millis(750);

/// The config a service would get from its environment, with the short
/// connect timeout set through the documented variable and every other
/// setting (the pool's 30 s acquire timeout too) left at its default.
fn config_for(host_port: &str) -> PgConfig {
    let env = EnvSource::from_pairs([
        (
            "AI_DATA_PG_URL",
            format!("postgres://app@{host_port}/ai_platform"),
        ),
        ("AI_DATA_PG_PASSWORD", SECRET.to_owned()),
        ("AI_DATA_PG_CONNECT_TIMEOUT", "1s".to_owned()),
    ]);
    let config = PgConfig::from_env_source(&env).expect("config from env");
    assert_eq!(config.connection.connect_timeout, TIMEOUT);
    assert!(config.connection.pool.acquire_timeout > TIMEOUT * 10);
    config
}

fn expect() -> ConnectExpectation {
    ConnectExpectation::new("postgresql", TIMEOUT).with_secret(SECRET)
}

/// Connect, and check what every unreachable case has in common, plus
/// that the Display names the address.
async fn connect_fails(config: PgConfig, port: u16, what: &str) -> (Error, Duration) {
    let (err, elapsed) = expect().fails(what, PgDatabase::connect(&config)).await;
    let display = err.to_string();
    assert!(
        display.contains("PostgreSQL") && display.contains(&port.to_string()),
        "{what}: Display must name the store and the address: {display}"
    );
    (err, elapsed)
}

#[tokio::test]
async fn closed_port_is_refused_at_once_with_the_cause() {
    let addr = closed_port().expect("closed port");
    let (err, elapsed) =
        connect_fails(config_for(&addr.to_string()), addr.port(), "closed port").await;
    expect().refused_at_once(&err, elapsed, "closed port");
    assert!(
        io_kinds(&err).contains(&std::io::ErrorKind::ConnectionRefused),
        "the refusal must be an io error in source(): {err}"
    );
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test]
async fn blackholed_address_times_out_after_the_connect_timeout() {
    let hole = Blackhole::new().expect("blackhole");
    let (err, elapsed) = connect_fails(
        config_for(&hole.host_port()),
        hole.addr().port(),
        "blackhole",
    )
    .await;
    expect().timed_out(&err, elapsed, "blackhole");
    assert!(
        io_kinds(&err).contains(&std::io::ErrorKind::TimedOut),
        "the timeout must be an io error in source(): {err}"
    );
    let display = err.to_string();
    assert!(
        display.contains("1s") && display.contains("AI_DATA_PG_CONNECT_TIMEOUT"),
        "names the timeout and its variable: {display}"
    );
}

#[tokio::test]
async fn zero_connect_timeout_is_a_config_error() {
    let env = EnvSource::from_pairs([
        ("AI_DATA_PG_URL", "postgres://app@127.0.0.1:1/ai_platform"),
        ("AI_DATA_PG_CONNECT_TIMEOUT", "0s"),
    ]);
    let err = PgConfig::from_env_source(&env).expect_err("zero");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message().contains("AI_DATA_PG_CONNECT_TIMEOUT"),
        "{err}"
    );
}

#[tokio::test]
async fn blackholed_replica_costs_a_read_at_most_the_connect_timeout() {
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let hole = Blackhole::new().expect("blackhole");
    let timeout = Duration::from_millis(400);
    let env = EnvSource::from_pairs([
        ("AI_DATA_PG_URL", test_db.url.clone()),
        (
            "AI_DATA_PG_REPLICA_URLS",
            format!("postgres://app@{}/ai_platform", hole.host_port()),
        ),
        ("AI_DATA_PG_CONNECT_TIMEOUT", "400ms".to_owned()),
    ]);
    let config = PgConfig::from_env_source(&env).expect("config");
    assert_eq!(config.connection.connect_timeout, timeout);

    // Replicas are connected lazily: a blackholed one does not hold up start-up.
    let started = Instant::now();
    let db = PgDatabase::connect(&config).await.expect("primary is up");
    assert!(
        started.elapsed() < timeout + MARGIN,
        "connect took {:?}",
        started.elapsed()
    );

    // The replica read waits at most the connect timeout (not the 2 s
    // replica acquire timeout), then the primary answers.
    let started = Instant::now();
    let one: i32 = db
        .read(ReadFrom::Replica, |pool| async move {
            sqlx::query_scalar("SELECT 1")
                .fetch_one(&pool)
                .await
                .map_err(|e| ai_data_pg::map_sqlx(e, "select", "-"))
        })
        .await
        .expect("falls back to the primary");
    let elapsed = started.elapsed();
    assert_eq!(one, 1);
    assert!(
        elapsed >= timeout.mul_f32(0.9) && elapsed < timeout + MARGIN,
        "replica attempt bounded by the connect timeout {timeout:?}: took {elapsed:?}"
    );
}
