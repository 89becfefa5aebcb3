//! Opt-in: the whole conformance suite against a real Weaviate, when
//! `AI_DATA_WEAVIATE_URL` is set (plus `AI_DATA_WEAVIATE_API_KEY` or the
//! other key sources, and `AI_DATA_WEAVIATE_GRPC_URL` if gRPC is not on the
//! REST host's port 50051). For example, with Docker:
//!
//! ```sh
//! docker run -d -p 8080:8080 -p 50051:50051 \
//!   -e AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true -e DEFAULT_VECTORIZER_MODULE=none \
//!   semitechnologies/weaviate:1.22.13
//! AI_DATA_WEAVIATE_URL=http://localhost:8080 \
//!   cargo test -p ai-data-vector --features conformance,weaviate,weaviate-grpc --test weaviate_live
//! ```
//!
//! Our machines have neither Docker nor a Weaviate, so without the variable
//! the test says so and returns; the same suite runs against the contract
//! fake in `weaviate_conformance.rs`. Collections are named `live_*`.

use ai_data_vector::conformance;
use ai_data_vector::weaviate::{WeaviateConfig, WeaviateStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_weaviate_passes_the_conformance_suite() {
    if std::env::var_os("AI_DATA_WEAVIATE_URL").is_none() {
        eprintln!(
            "SKIPPED: set AI_DATA_WEAVIATE_URL (and the API key) to run the conformance suite against a real Weaviate"
        );
        return;
    }
    let config = WeaviateConfig::from_env().expect("AI_DATA_WEAVIATE_* configuration");
    let store = WeaviateStore::connect(&config)
        .await
        .expect("connect to Weaviate");
    eprintln!(
        "running the conformance suite against Weaviate {} ({config})",
        store.version()
    );
    conformance::run_all(&store, "live").await;
    let counts = store.search_counts();
    eprintln!(
        "searches: {} over GraphQL, {} over gRPC",
        counts.graphql, counts.grpc
    );
    assert!(counts.graphql + counts.grpc > 0);
}
