//! The documented connect timeout (`AI_DATA_KAFKA_CONNECT_TIMEOUT`) bounds
//! every step that first needs the brokers — `Producer::connect`,
//! `Admin::ensure_topics` (provisioning), the admin health check and
//! `Consumer::run` — against a closed port, a blackholed address and a
//! server that accepts but never answers: each fails within the timeout
//! with `ErrorKind::Connect`, the cause in `source()`, and nothing secret
//! in what it shows.

use std::future::Future;
use std::time::{Duration, Instant};

use ai_data_core::{EnvSource, Error, HealthCheck};
use ai_data_kafka::{Admin, Consumer, KafkaConfig, Producer, Received, Topic, TopicSpec};
use ai_data_testkit::unreachable::{causes, closed_port, Blackhole, ConnectExpectation};

const SECRET: &str = "Kafka-C0nnect-T1meout-Secret";
const TIMEOUT: Duration = Duration::from_millis(1500);
/// Scheduling slack on a shared two-core machine.
const MARGIN: Duration = Duration::from_millis(1000);

/// The config a service would get from its environment, with the short
/// connect timeout set through the documented variable.
fn config_for(servers: &str) -> KafkaConfig {
    let env = EnvSource::from_pairs([
        ("AI_DATA_KAFKA_BOOTSTRAP_SERVERS", servers),
        ("AI_DATA_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
        ("AI_DATA_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
        ("AI_DATA_KAFKA_USER", "svc"),
        ("AI_DATA_KAFKA_PASSWORD", SECRET),
        ("AI_DATA_KAFKA_CONNECT_TIMEOUT", "1500ms"),
        ("AI_DATA_KAFKA_GROUP_ID", "connect-timeout"),
    ]);
    let config = KafkaConfig::from_env_source(&env).expect("config from env");
    assert_eq!(config.connect_timeout, TIMEOUT);
    config
}

fn expect() -> ConnectExpectation {
    ConnectExpectation::new("kafka", TIMEOUT)
        .with_secret(SECRET)
        .with_margin(MARGIN)
}

/// Run one step that needs the broker, and check what every unreachable
/// case has in common.
async fn fails<T: std::fmt::Debug>(
    what: &str,
    step: impl Future<Output = ai_data_core::Result<T>>,
) -> (Error, Duration) {
    expect().fails(what, step).await
}

/// Every documented connect step against `servers`; returns each step's
/// error and duration.
async fn every_step_fails(servers: &str, case: &str) -> Vec<(String, Error, Duration)> {
    let config = config_for(servers);
    let mut out = Vec::new();
    let mut record = |step: &str, (err, elapsed): (Error, Duration)| {
        out.push((format!("{case}: {step}"), err, elapsed));
    };

    record(
        "Producer::connect",
        fails(
            &format!("{case}: Producer::connect"),
            Producer::connect(&config),
        )
        .await,
    );

    let admin = Admin::new(&config).expect("the admin client needs no broker to be made");
    let spec = TopicSpec::new("connect-timeout", 1, 1);
    record(
        "Admin::ensure_topics",
        fails(
            &format!("{case}: Admin::ensure_topics"),
            admin.ensure_topics(std::slice::from_ref(&spec)),
        )
        .await,
    );
    record(
        "Admin::check",
        fails(&format!("{case}: Admin::check"), admin.check()).await,
    );

    let consumer = Consumer::new(&config, Topic::<String>::new("connect-timeout"));
    record(
        "Consumer::run",
        fails(
            &format!("{case}: Consumer::run"),
            consumer.run(
                |_: Received<String>| async { Ok(()) },
                std::future::pending::<()>(),
            ),
        )
        .await,
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_refused_with_the_cause() {
    let addr = closed_port().expect("closed port");
    for (what, err, _) in every_step_fails(&addr.to_string(), "closed port").await {
        expect().refused(&err, &what);
        let causes = causes(&err);
        assert!(
            format!("{err} {}", causes.join(" ")).contains(&addr.port().to_string()),
            "{what}: which broker? {err} / {causes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackholed_address_fails_within_the_connect_timeout() {
    let hole = Blackhole::new().expect("blackhole");
    for (what, err, elapsed) in every_step_fails(&hole.host_port(), "blackhole").await {
        expect().timed_out(&err, elapsed, &what);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_accepts_but_never_answers_fails_within_the_connect_timeout() {
    // The kernel completes the handshake for the backlog; nobody ever reads
    // the ApiVersions request, like a frozen broker.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr").to_string();
    for (what, err, elapsed) in every_step_fails(&addr, "silent server").await {
        assert!(
            elapsed >= TIMEOUT.mul_f64(0.8),
            "{what}: gave up before the connect timeout: {elapsed:?}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_timeout_connects_to_the_real_broker() {
    // The control: the same steps succeed within the timeout when the
    // broker is there.
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let config = KafkaConfig::new(&kafka.brokers).with_connect_timeout(TIMEOUT);
    let started = Instant::now();
    let producer = Producer::connect(&config).await.expect("connect");
    Admin::new(&config)
        .expect("admin")
        .check()
        .await
        .expect("healthy");
    assert!(started.elapsed() < 2 * TIMEOUT, "{:?}", started.elapsed());
    producer.shutdown().await.expect("shutdown");
}
