//! The whole conformance suite against a real Weaviate: run by hand where
//! one is reachable (our machines have neither Docker nor a Weaviate, so it
//! is not part of the test command, where it could only have passed without
//! checking anything; the same suite runs against the contract fake in
//! `tests/weaviate_conformance.rs`). Needs `AI_DATA_WEAVIATE_URL` (plus
//! `AI_DATA_WEAVIATE_API_KEY` or the other key sources, and
//! `AI_DATA_WEAVIATE_GRPC_URL` if gRPC is not on the REST host's port
//! 50051). For example, with Docker:
//!
//! ```sh
//! docker run -d -p 8080:8080 -p 50051:50051 \
//!   -e AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true -e DEFAULT_VECTORIZER_MODULE=none \
//!   semitechnologies/weaviate:1.22.13
//! AI_DATA_WEAVIATE_URL=http://localhost:8080 \
//!   cargo run -p ai-data-weaviate --features grpc --example weaviate_live
//! ```
//!
//! A scenario that differs panics with what differed (exit status 101).
//! Collections are named `live_*`.

use ai_data_vector::conformance;
use ai_data_weaviate::{WeaviateConfig, WeaviateStore};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("AI_DATA_WEAVIATE_URL").is_none() {
        return Err("set AI_DATA_WEAVIATE_URL (and the API key) to a real Weaviate".into());
    }
    let config = WeaviateConfig::from_env()?;
    let store = WeaviateStore::connect(&config).await?;
    eprintln!(
        "running the conformance suite against Weaviate {} ({config})",
        store.version()
    );
    conformance::run_all(&store, "live").await;
    let counts = store.search_counts();
    eprintln!(
        "passed; searches: {} over GraphQL, {} over gRPC",
        counts.graphql, counts.grpc
    );
    if counts.graphql + counts.grpc == 0 {
        return Err("the suite ran no search".into());
    }
    Ok(())
}
