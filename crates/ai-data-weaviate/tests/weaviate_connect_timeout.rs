//! The documented connect timeout (`AI_DATA_WEAVIATE_CONNECT_TIMEOUT`)
//! bounds the first request of `WeaviateStore::connect` / `WeaviateClient`
//! over REST and the gRPC `Search` channel: against a closed port and a
//! blackholed address, the attempt fails within the timeout with
//! `ErrorKind::Connect`, the cause in `source()`, and no secret shown; a
//! gRPC endpoint that cannot be reached costs a search at most the connect
//! timeout before it is answered over GraphQL.

use std::time::{Duration, Instant};

use ai_data_core::{EnvSource, Error, HealthCheck};
use ai_data_testkit::unreachable::{closed_port, Blackhole, ConnectExpectation};
use ai_data_vector::{CollectionSpec, Metric, Record, RecordId, SearchQuery, VectorStore};
use ai_data_weaviate::{WeaviateClient, WeaviateConfig, WeaviateStore};
use ai_data_weaviate_fake::FakeWeaviate;

const SECRET: &str = "Weaviate-Conn3ct-T1meout-Key";
const TIMEOUT: Duration = Duration::from_millis(1500);
/// Scheduling slack on a shared two-core machine.
const MARGIN: Duration = Duration::from_millis(750);

/// The config a service would get from its environment, with the short
/// connect timeout set through the documented variable.
fn config_for(rest: &str, grpc: &str) -> WeaviateConfig {
    let env = EnvSource::from_pairs([
        ("AI_DATA_WEAVIATE_URL", rest),
        ("AI_DATA_WEAVIATE_GRPC_URL", grpc),
        ("AI_DATA_WEAVIATE_API_KEY", SECRET),
        ("AI_DATA_WEAVIATE_CONNECT_TIMEOUT", "1500ms"),
    ]);
    let config = WeaviateConfig::from_env_source(&env).expect("config from env");
    assert_eq!(config.connection.connect_timeout, TIMEOUT);
    assert!(
        config.request_timeout > TIMEOUT * 4,
        "the request timeout must not be what ends the attempt"
    );
    config
}

fn expect() -> ConnectExpectation {
    ConnectExpectation::new("weaviate", TIMEOUT).with_secret(SECRET)
}

/// `WeaviateStore::connect` (its first request, `GET /v1/meta`) and the
/// client's health check against `rest`; returns the connect error and
/// its duration.
async fn rest_fails(rest: &str, what: &str) -> (Error, Duration) {
    let config = config_for(&format!("http://{rest}"), &format!("http://{rest}"));
    let started = Instant::now();
    // The outer bound only keeps a regression from hanging the suite.
    let attempt = tokio::time::timeout(TIMEOUT * 10, WeaviateStore::connect(&config))
        .await
        .unwrap_or_else(|_| panic!("{what}: connect still running after {:?}", TIMEOUT * 10));
    let elapsed = started.elapsed();
    let err = attempt.expect_err(what);
    expect().check(&err, elapsed, what);
    assert!(err.to_string().contains(rest), "{what}: no address: {err}");

    let client = WeaviateClient::new(&config).expect("client");
    let started = Instant::now();
    let health = tokio::time::timeout(TIMEOUT * 10, client.check())
        .await
        .unwrap_or_else(|_| panic!("{what}: health still running"))
        .expect_err(what);
    expect().check(&health, started.elapsed(), &format!("{what} (health)"));
    (err, elapsed)
}

#[tokio::test]
async fn rest_closed_port_is_refused_at_once_with_the_cause() {
    let addr = closed_port().expect("closed port").to_string();
    let (err, elapsed) = rest_fails(&addr, "closed port").await;
    expect().refused_at_once(&err, elapsed, "closed port");
}

#[tokio::test]
async fn rest_blackholed_address_fails_within_the_connect_timeout() {
    let hole = Blackhole::new().expect("blackhole");
    let (err, elapsed) = rest_fails(&hole.host_port(), "blackhole").await;
    expect().timed_out(&err, elapsed, "blackhole");
    assert!(
        err.message().contains("connect timeout of 1.5s"),
        "the message must say which limit ended it: {err}"
    );
}

/// A store on the fake's REST port whose gRPC endpoint is `grpc`: the first
/// search finds gRPC unreachable within the connect timeout and is answered
/// over GraphQL; later searches do not try gRPC again.
async fn grpc_unreachable_falls_back_in_time(grpc: &str, what: &str) -> Duration {
    let fake = FakeWeaviate::new()
        .with_api_key(SECRET)
        .start()
        .await
        .expect("fake");
    let config = config_for(&fake.url(), &format!("http://{grpc}"));
    let store = WeaviateStore::connect(&config)
        .await
        .expect("REST connects");
    store
        .ensure_collection(&CollectionSpec::new("reach", 2, Metric::L2))
        .await
        .expect("collection");
    let id = RecordId::from_key("only");
    store
        .upsert(
            "reach",
            &[Record::new(id, vec![1.0, 0.0], Default::default())],
        )
        .await
        .expect("upsert");
    let query = SearchQuery::new(vec![1.0, 0.0], 1);
    let started = Instant::now();
    let hits = tokio::time::timeout(TIMEOUT * 10, store.search("reach", &query))
        .await
        .unwrap_or_else(|_| panic!("{what}: search still running"))
        .expect("answered over GraphQL");
    let elapsed = started.elapsed();
    assert_eq!(hits.len(), 1, "{what}");
    assert_eq!(hits[0].id, id, "{what}");
    assert!(
        elapsed < TIMEOUT + MARGIN,
        "{what}: the fallback took {elapsed:?}, connect timeout {TIMEOUT:?}"
    );
    let counts = store.search_counts();
    assert_eq!((counts.grpc, counts.graphql), (0, 1), "{what}");
    let started = Instant::now();
    store.search("reach", &query).await.expect("again");
    assert!(
        started.elapsed() < TIMEOUT / 2,
        "{what}: gRPC was tried again"
    );
    assert_eq!(store.search_counts().graphql, 2, "{what}");
    assert_eq!(fake.stats().grpc_search, 0, "{what}");
    elapsed
}

#[tokio::test]
async fn grpc_closed_port_falls_back_to_graphql_at_once() {
    let addr = closed_port().expect("closed port").to_string();
    let elapsed = grpc_unreachable_falls_back_in_time(&addr, "gRPC closed port").await;
    assert!(elapsed < TIMEOUT, "refused should not wait: {elapsed:?}");
}

#[tokio::test]
async fn grpc_blackholed_address_falls_back_within_the_connect_timeout() {
    let hole = Blackhole::new().expect("blackhole");
    let elapsed = grpc_unreachable_falls_back_in_time(&hole.host_port(), "gRPC blackhole").await;
    assert!(
        elapsed >= TIMEOUT.mul_f64(0.8),
        "gave up on gRPC before the connect timeout: {elapsed:?}"
    );
}

#[tokio::test]
async fn the_same_settings_connect_to_the_fake() {
    // The control: nothing but the address differs from the failing cases.
    let fake = FakeWeaviate::new()
        .with_api_key(SECRET)
        .start()
        .await
        .expect("fake");
    let config = config_for(&fake.url(), &fake.grpc_url());
    let started = Instant::now();
    let store = WeaviateStore::connect(&config).await.expect("connects");
    assert!(started.elapsed() < TIMEOUT, "{:?}", started.elapsed());
    store.check().await.expect("healthy");
}
