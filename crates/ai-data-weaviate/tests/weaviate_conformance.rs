//! `WeaviateStore` against the contract fake (`ai-data-weaviate-fake`): the
//! whole conformance suite over GraphQL and over gRPC, on the platform's
//! Weaviate 1.22.13 and on newer versions (where `flat` and `Not` exist),
//! with the fake checking every request body against the OpenAPI spec.

use ai_data_vector::{conformance, FilterOp, IndexKind, VectorStore};
use ai_data_weaviate::{GrpcMode, ServerVersion, WeaviateStore};
use ai_data_weaviate_fake::{FakeServer, FakeWeaviate};

const KEY: &str = "conformance-api-key";

async fn start(fake: FakeWeaviate) -> FakeServer {
    match fake.with_api_key(KEY).start().await {
        Ok(server) => server,
        Err(e) => panic!("fake Weaviate did not start: {e}"),
    }
}

async fn connect(fake: &FakeServer, grpc: GrpcMode) -> WeaviateStore {
    match WeaviateStore::connect(&fake.config().with_grpc(grpc)).await {
        Ok(store) => store,
        Err(e) => panic!("connect to the fake: {e}"),
    }
}

/// The fake saw only requests that match the OpenAPI definitions, and the
/// store never made auto-schema guess a type.
fn assert_clean(fake: &FakeServer) {
    assert_eq!(
        fake.violations(),
        Vec::<String>::new(),
        "OpenAPI violations"
    );
    assert_eq!(
        fake.auto_schema_events(),
        Vec::<String>::new(),
        "auto-schema had to add classes or properties"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_on_1_22_passes_the_conformance_suite() {
    let fake = start(FakeWeaviate::new()).await;
    let store = connect(&fake, GrpcMode::Off).await;
    let caps = store.capabilities();
    assert!(
        !caps.supports_filter_op(FilterOp::Not),
        "1.22: Not is not offered"
    );
    assert!(
        !caps.supports_index(IndexKind::Exact),
        "1.22: no flat index"
    );
    conformance::run_all(&store, "wv_gql").await;
    let counts = store.search_counts();
    assert!(counts.graphql > 100, "{counts:?}");
    assert_eq!(counts.grpc, 0);
    assert_eq!(fake.stats().grpc_search, 0);
    assert_clean(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_on_1_22_passes_the_conformance_suite() {
    let fake = start(FakeWeaviate::new()).await;
    let store = connect(&fake, GrpcMode::Auto).await;
    conformance::run_all(&store, "wv_grpc").await;
    let counts = store.search_counts();
    assert!(counts.grpc > 100, "most searches go over gRPC: {counts:?}");
    assert_eq!(fake.stats().grpc_search, counts.grpc);
    // Filters with float operands, keyword and hybrid searches go over
    // GraphQL on 1.22.
    assert!(
        counts.graphql > counts.keyword && counts.keyword > 30,
        "{counts:?}"
    );
    assert_clean(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_on_1_25_passes_the_conformance_suite_with_flat_and_not() {
    let fake = start(FakeWeaviate::new().with_version(ServerVersion::new(1, 25, 0))).await;
    let store = connect(&fake, GrpcMode::Auto).await;
    let caps = store.capabilities();
    assert!(caps.supports_filter_op(FilterOp::Not));
    assert!(caps.supports_index(IndexKind::Exact));
    assert!(
        !caps.ties_by_id,
        "a flat index cuts ties as the server does: not promised by id"
    );
    conformance::run_all(&store, "wv_g125").await;
    let counts = store.search_counts();
    // Every search over gRPC, keyword and hybrid ones too.
    assert!(
        counts.grpc > 100 && counts.graphql == 0 && counts.keyword > 30,
        "{counts:?}"
    );
    assert_eq!(fake.stats().grpc_search, counts.grpc);
    assert_clean(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_on_1_28_passes_the_conformance_suite() {
    let fake = start(FakeWeaviate::new().with_version(ServerVersion::new(1, 28, 3))).await;
    let store = connect(&fake, GrpcMode::Off).await;
    conformance::run_all(&store, "wv_q128").await;
    assert!(store.search_counts().graphql > 100);
    assert_clean(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_on_1_28_reads_typed_properties() {
    let fake = start(FakeWeaviate::new().with_version(ServerVersion::new(1, 28, 3))).await;
    let store = connect(&fake, GrpcMode::Auto).await;
    conformance::payload_round_trip(&store, "wv_g128").await;
    conformance::search_matches_reference(&store, "wv_g128", ai_data_vector::IndexSpec::Exact)
        .await;
    conformance::filter_operators(&store, "wv_g128").await;
    assert!(store.search_counts().grpc > 0);
    assert_eq!(store.search_counts().graphql, 0);
    assert_clean(&fake);
}

/// Issue 17: payloads come back exactly over GraphQL and gRPC (the number
/// and U+0000 scenarios are in `run_all`; the typed one needs an `Arc`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_come_back_exactly_over_graphql_and_grpc() {
    for (version, grpc, prefix) in [
        (ServerVersion::new(1, 22, 13), GrpcMode::Off, "wv_xq"),
        (ServerVersion::new(1, 22, 13), GrpcMode::Auto, "wv_xg"),
        (ServerVersion::new(1, 28, 3), GrpcMode::Auto, "wv_xg128"),
    ] {
        let fake = start(FakeWeaviate::new().with_version(version)).await;
        let store = connect(&fake, grpc).await;
        conformance::payload_numbers_round_trip_exactly(&store, prefix).await;
        conformance::nul_in_payload_is_rejected_per_record(&store, prefix).await;
        let store = std::sync::Arc::new(store);
        conformance::typed_collection_round_trip(store.clone(), prefix).await;
        let counts = store.search_counts();
        match grpc {
            GrpcMode::Off => assert_eq!(counts.grpc, 0, "{counts:?}"),
            _ => assert!(counts.grpc > 0, "{counts:?}"),
        }
        assert_clean(&fake);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_grpc_falls_back_to_graphql() {
    let fake = start(FakeWeaviate::new().without_grpc()).await;
    let store = connect(&fake, GrpcMode::Auto).await;
    conformance::upsert_overwrite(&store, "wv_nogrpc").await;
    conformance::filter_operators(&store, "wv_nogrpc").await;
    let counts = store.search_counts();
    assert_eq!(counts.grpc, 0);
    assert!(counts.graphql > 10, "{counts:?}");
    assert_clean(&fake);
}
