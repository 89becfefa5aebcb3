//! `WeaviateStore` and `WeaviateClient` against the contract fake: every
//! call is exactly one observed `ai_data.operation` — the store's trait
//! methods named after the method with the collection as target, however
//! many requests they make; the client's public calls named after the
//! call. One test in its own binary: the recording subscriber is this
//! thread's default, and tracing's callsite interest is global, so no
//! other test runs alongside.

use ai_data_core::HealthCheck;
use ai_data_vector::{
    CollectionSpec, FieldKind, Filter, Metric, Record, RecordId, SearchQuery, Selector, VectorStore,
};
use ai_data_weaviate::bootstrap::{bootstrap, SeedOptions};
use ai_data_weaviate::WeaviateStore;
use ai_data_weaviate_fake::FakeWeaviate;
use serde_json::json;

const KEY: &str = "operations-tests-key-51ab";

fn record(key: &str, vector: Vec<f32>, p: serde_json::Value) -> Record {
    Record::new(
        RecordId::from_key(key),
        vector,
        p.as_object().cloned().unwrap_or_default(),
    )
}

use ai_data_testkit::spans as operations;

/// `(operation, target, rows, outcome)` of each observed operation.
fn summary(seen: &[operations::Seen]) -> Vec<(&str, &str, Option<u64>, &str)> {
    assert!(seen.iter().all(|s| s.store == "weaviate"), "{seen:?}");
    seen.iter()
        .map(|s| {
            (
                s.operation.as_str(),
                s.target.as_str(),
                s.rows,
                s.outcome.as_str(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_call_is_exactly_one_observed_operation() {
    let (ops, _guard) = operations::Operations::install();
    let fake = FakeWeaviate::new()
        .with_api_key(KEY)
        .start()
        .await
        .expect("fake starts");
    let mut config = fake.config();
    config.batch_size = 2; // an upsert of 3 is two batch requests, one operation
    let store = WeaviateStore::connect(&config).await.expect("connects");
    assert_eq!(summary(&ops.take()), [("connect", "", None, "ok")]);

    let spec = CollectionSpec::new("obs", 2, Metric::L2).with_field("lang", FieldKind::Text);
    store.ensure_collection(&spec).await.expect("created");
    assert_eq!(
        summary(&ops.take()),
        [("ensure_collection", "obs", None, "ok")]
    );
    let records = [
        record("a", vec![0.0, 0.0], json!({"lang": "en"})),
        record("b", vec![1.0, 0.0], json!({"lang": "de"})),
        record("c", vec![2.0, 0.0], json!({"lang": "en"})),
    ];
    store.upsert("obs", &records).await.expect("upsert");
    assert_eq!(summary(&ops.take()), [("upsert", "obs", Some(3), "ok")]);
    let ids = [RecordId::from_key("a"), RecordId::from_key("c")];
    assert_eq!(store.get("obs", &ids).await.expect("get").len(), 2);
    assert_eq!(summary(&ops.take()), [("get", "obs", Some(2), "ok")]);
    let query = SearchQuery::new(vec![0.0, 0.0], 2).with_filter(Filter::eq("lang", "en"));
    assert_eq!(store.search("obs", &query).await.expect("search").len(), 2);
    assert_eq!(summary(&ops.take()), [("search", "obs", Some(2), "ok")]);
    assert_eq!(store.count("obs", None).await.expect("count"), 3);
    assert_eq!(summary(&ops.take()), [("count", "obs", Some(3), "ok")]);
    let deleted = store
        .delete("obs", Selector::Filter(Filter::eq("lang", "de")))
        .await
        .expect("delete");
    assert_eq!(deleted, 1);
    assert_eq!(summary(&ops.take()), [("delete", "obs", Some(1), "ok")]);
    assert!(store.drop_collection("obs").await.expect("dropped"));
    assert_eq!(
        summary(&ops.take()),
        [("drop_collection", "obs", None, "ok")]
    );

    // Failures are one operation too, with the error kind as the outcome.
    store.search("obs", &query).await.expect_err("gone");
    assert_eq!(summary(&ops.take()), [("search", "obs", None, "not_found")]);

    // The client's own public calls, the health check, bootstrap.
    let client = store.client();
    client
        .graphql("{ Get { Document { _additional { id } } } }")
        .await
        .ok();
    client.meta().await.expect("meta");
    let report = client.check().await.expect("healthy");
    // No seed alert rule for Weaviate: no warnings, the measured facts as details.
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(report.details.contains_key("url"), "{:?}", report.details);
    store.check().await.expect("healthy");
    let seen = ops.take();
    let names: Vec<&str> = summary(&seen).iter().map(|s| s.0).collect();
    assert_eq!(names, ["graphql", "meta", "health", "health"]);
    assert!(seen.iter().all(|s| s.target.is_empty()), "{seen:?}");
    let report = bootstrap(&store, &SeedOptions::default().with_dimension(4))
        .await
        .expect("bootstrap");
    let seen = ops.take();
    assert_eq!(seen.len(), report.created.len(), "{seen:?}");
    assert!(seen.iter().all(|s| s.operation == "ensure_collection"));
    assert!(
        seen.iter().all(|s| !s.target.contains(KEY)),
        "targets are names, never secrets"
    );
}
