//! How large a Weaviate reply may be, against the contract fake: a gRPC
//! `Search` reply is allowed what the request can bring back (k x the
//! vector, plus an allowance for properties), up to a configurable
//! ceiling; REST / GraphQL replies are read up to a configurable maximum.
//! Past either limit the call fails with a clear error naming the limit
//! and the setting; below them large searches simply work.

use std::collections::HashMap;
use std::io::{Read, Write};

use ai_data_core::ErrorKind;
use ai_data_vector::{CollectionSpec, Metric, Record, RecordId, SearchQuery, VectorStore};
use ai_data_weaviate::{GrpcMode, WeaviateClient, WeaviateStore};
use ai_data_weaviate_fake::{FakeServer, FakeWeaviate};
use serde_json::json;

const DIM: usize = 768;

/// A distinct, deterministic vector per record.
fn vector(i: usize) -> Vec<f32> {
    (0..DIM)
        .map(|j| ((i * 131 + j * 17) % 1009) as f32 / 1009.0 - 0.25 + (j == i % DIM) as u8 as f32)
        .collect()
}

/// `n` records of `DIM` dimensions in a new collection `name`; returns
/// their vectors by id.
async fn fill(
    store: &WeaviateStore,
    name: &str,
    metric: Metric,
    n: usize,
    payload_bytes: usize,
) -> HashMap<RecordId, Vec<f32>> {
    store
        .ensure_collection(&CollectionSpec::new(name, DIM, metric))
        .await
        .expect("collection");
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let payload = json!({"i": i, "text": "x".repeat(payload_bytes)});
            Record::new(
                RecordId::from_key(&format!("{name}-{i}")),
                vector(i),
                payload.as_object().cloned().unwrap_or_default(),
            )
        })
        .collect();
    let report = store.upsert(name, &records).await.expect("upsert");
    assert_eq!(report.upserted, n as u64, "{:?}", report.failures);
    records.into_iter().map(|r| (r.id, r.vector)).collect()
}

async fn fake() -> FakeServer {
    FakeWeaviate::new().start().await.expect("fake")
}

#[tokio::test]
async fn searches_of_2000_hits_at_768d_with_vectors_succeed_over_grpc_and_graphql() {
    let fake = fake().await;
    let store = WeaviateStore::connect(&fake.config())
        .await
        .expect("connects");
    // l2: the vector comes as gRPC metadata (3 KiB a hit); cosine: as the
    // `_vector` blob property (4 KiB of base64 a hit). Both replies are
    // well over tonic's default 4 MiB.
    for (name, metric) in [("large_l2", Metric::L2), ("large_cos", Metric::Cosine)] {
        let vectors = fill(&store, name, metric, 2_000, 0).await;
        let before = store.search_counts();
        let query = SearchQuery::new(vector(7), 2_000).with_vectors(true);
        let hits = store.search(name, &query).await.expect("large gRPC search");
        let after = store.search_counts();
        assert_eq!(
            (after.grpc - before.grpc, after.graphql - before.graphql),
            (1, 0),
            "{name}: answered over gRPC, without falling back"
        );
        assert_eq!(hits.len(), 2_000, "{name}");
        assert_eq!(
            hits[0].id,
            RecordId::from_key(&format!("{name}-7")),
            "{name}"
        );
        for hit in &hits {
            assert_eq!(
                hit.vector.as_ref(),
                vectors.get(&hit.id),
                "{name}: vector of {}",
                hit.id
            );
            assert!(hit.payload.as_ref().is_some_and(|p| p.contains_key("i")));
        }
        // The same search over GraphQL (about 20 MB of JSON) is within the
        // default REST maximum.
        let graphql = WeaviateStore::connect(&fake.config().with_grpc(GrpcMode::Off))
            .await
            .expect("connects");
        let over_graphql = graphql
            .search(name, &query)
            .await
            .expect("large GraphQL search");
        assert_eq!(graphql.search_counts().graphql, 1);
        assert_eq!(over_graphql.len(), 2_000, "{name}");
        for (a, b) in hits.iter().zip(&over_graphql) {
            assert_eq!((a.id, &a.vector), (b.id, &b.vector), "{name}");
        }
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn grpc_replies_past_the_request_estimate_are_still_read_up_to_the_ceiling() {
    // 100 hits with 64 KiB payloads: far more than the per-hit properties
    // allowance, far less than the ceiling.
    let fake = fake().await;
    let store = WeaviateStore::connect(&fake.config())
        .await
        .expect("connects");
    let vectors = fill(&store, "fat", Metric::L2, 100, 64 * 1024).await;
    let hits = store
        .search("fat", &SearchQuery::new(vector(3), 100).with_vectors(true))
        .await
        .expect("search");
    assert_eq!(hits.len(), 100);
    assert_eq!(store.search_counts().graphql, 0, "no fallback");
    for hit in &hits {
        assert_eq!(hit.vector.as_ref(), vectors.get(&hit.id));
        let text = hit.payload.as_ref().and_then(|p| p.get("text"));
        assert_eq!(text.and_then(|t| t.as_str()).map(str::len), Some(64 * 1024));
    }
}

#[tokio::test]
async fn a_grpc_reply_over_the_ceiling_is_an_error_naming_the_limit() {
    let fake = fake().await;
    let ceiling = 1024 * 1024;
    let config = fake.config().with_grpc_max_message_size(ceiling);
    assert_eq!(config.grpc_max_message_size, ceiling);
    let store = WeaviateStore::connect(&config).await.expect("connects");
    fill(&store, "capped", Metric::L2, 500, 0).await;
    // 500 x 3 KiB of vectors is over 1 MiB.
    let err = store
        .search(
            "capped",
            &SearchQuery::new(vector(1), 500).with_vectors(true),
        )
        .await
        .expect_err("over the ceiling");
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(!err.is_retryable(), "{err}");
    let message = err.to_string();
    for needle in [
        "1048576",
        "AI_DATA_WEAVIATE_GRPC_MAX_MESSAGE_SIZE",
        "Capped",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let counts = store.search_counts();
    assert_eq!(counts.graphql, 0, "not silently retried over GraphQL");
    // Below the ceiling the same store answers over gRPC.
    let hits = store
        .search(
            "capped",
            &SearchQuery::new(vector(1), 100).with_vectors(true),
        )
        .await
        .expect("within the ceiling");
    assert_eq!(hits.len(), 100);
    assert_eq!(store.search_counts().grpc, 1);
}

#[tokio::test]
async fn a_rest_reply_over_the_maximum_is_an_error_naming_the_limit() {
    let fake = fake().await;
    let writer = WeaviateStore::connect(&fake.config())
        .await
        .expect("connects");
    // (Batch replies echo the objects, vectors included: written with the
    // default maximum.)
    fill(&writer, "wide", Metric::L2, 200, 0).await;
    let max = 256 * 1024;
    let config = fake
        .config()
        .with_grpc(GrpcMode::Off)
        .with_max_response_size(max);
    assert_eq!(config.max_response_size, max);
    let store = WeaviateStore::connect(&config).await.expect("connects");
    // 200 vectors of 768 numbers as GraphQL JSON: well over 256 KiB.
    let err = store
        .search("wide", &SearchQuery::new(vector(1), 200).with_vectors(true))
        .await
        .expect_err("over the maximum");
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(!err.is_retryable(), "{err}");
    let message = err.to_string();
    for needle in ["262144", "AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE", "graphql"] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    // Small replies through the same client are unaffected.
    let hits = store
        .search("wide", &SearchQuery::new(vector(1), 5).with_vectors(true))
        .await
        .expect("small reply");
    assert_eq!(hits.len(), 5);
}

/// A server whose `/v1/meta` reply never ends: a chunked body without a
/// `Content-Length`, written until the client hangs up.
fn endless_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0_u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1\r\n[\r\n",
                );
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "0,".repeat(32 * 1024));
                while stream.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_rest_reply_without_length_is_cut_at_the_maximum() {
    let addr = endless_server();
    let max = 1024 * 1024;
    let config = ai_data_weaviate::WeaviateConfig::from_url(&format!("http://{addr}"))
        .expect("url")
        .with_max_response_size(max);
    let client = WeaviateClient::new(&config).expect("client");
    // An unbounded read would run until the request timeout (30 s).
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), client.meta())
        .await
        .expect("stopped reading at the maximum")
        .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    let message = err.to_string();
    for needle in ["1048576", "AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE", "meta"] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
}
