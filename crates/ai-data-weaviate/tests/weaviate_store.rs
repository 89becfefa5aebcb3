//! `WeaviateStore` and `WeaviateClient` behaviour beyond the shared
//! conformance suite, against the contract fake: name collisions, foreign
//! classes, server-side per-object failures, the batch-delete loop, auth,
//! secrets, stale caches, the stored form of values, bootstrap, health.

use ai_data_core::{ErrorKind, HealthCheck};
use ai_data_vector::{
    CollectionSpec, FieldKind, Filter, Metric, Record, RecordId, SearchQuery, Selector, VectorStore,
};
use ai_data_weaviate::bootstrap::{bootstrap, SeedOptions, SeedVectorizers};
use ai_data_weaviate::{
    BatchObject, ClassDef, GrpcMode, PropertyDef, ServerVersion, WeaviateClient, WeaviateStore,
};
use ai_data_weaviate_fake::{FakeServer, FakeWeaviate};
use serde_json::json;

const KEY: &str = "store-tests-key-9f2c";

async fn fake(builder: FakeWeaviate) -> FakeServer {
    builder
        .with_api_key(KEY)
        .start()
        .await
        .expect("fake starts")
}

async fn store(fake: &FakeServer) -> WeaviateStore {
    WeaviateStore::connect(&fake.config())
        .await
        .expect("connects")
}

fn payload(value: serde_json::Value) -> ai_data_vector::Payload {
    value.as_object().cloned().unwrap_or_default()
}

fn record(key: &str, vector: Vec<f32>, p: serde_json::Value) -> Record {
    Record::new(RecordId::from_key(key), vector, payload(p))
}

#[tokio::test]
async fn collection_names_that_collide_on_case_are_rejected_clearly() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    assert!(store
        .ensure_collection(&CollectionSpec::new("docs", 2, Metric::L2))
        .await
        .expect("created"));
    for other in ["Docs", "DOCS"] {
        let err = store
            .ensure_collection(&CollectionSpec::new(other, 2, Metric::L2))
            .await
            .expect_err("collision");
        assert_eq!(err.kind(), ErrorKind::Conflict, "{other}: {err}");
        assert!(err.message().contains("collide"), "{err}");
    }
    let err = store
        .drop_collection("Docs")
        .await
        .expect_err("not ours to drop");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = store
        .count("Docs", None)
        .await
        .expect_err("not this collection");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(store.drop_collection("docs").await.expect("dropped"));
    let err = store
        .ensure_collection(&CollectionSpec::new("_hidden", 2, Metric::L2))
        .await
        .expect_err("no class name");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn classes_made_by_others_are_neither_reused_nor_dropped() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    let foreign = ClassDef::new("Legacy").with_property(PropertyDef::new("title", "text"));
    store
        .client()
        .create_class(&foreign)
        .await
        .expect("created by hand");
    let spec = CollectionSpec::new("Legacy", 2, Metric::Cosine);
    let err = store.ensure_collection(&spec).await.expect_err("foreign");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        err.message().contains("not created by ai-data-vector"),
        "{err}"
    );
    assert_eq!(
        store
            .drop_collection("Legacy")
            .await
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::Conflict)
    );
    assert!(store
        .client()
        .get_class("Legacy")
        .await
        .expect("get")
        .is_some());
}

#[tokio::test]
async fn the_registry_lives_in_the_class_and_binds_other_stores() {
    let fake = fake(FakeWeaviate::new()).await;
    let spec = CollectionSpec::new("shared", 4, Metric::Dot).with_field("lang", FieldKind::Text);
    assert!(store(&fake)
        .await
        .ensure_collection(&spec)
        .await
        .expect("created"));
    let other = store(&fake).await;
    assert!(!other.ensure_collection(&spec).await.expect("same spec"));
    let mut wider = spec.clone();
    wider.dimension = 8;
    assert_eq!(
        other
            .ensure_collection(&wider)
            .await
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::Conflict)
    );
    let err = other
        .ensure_collection(
            &CollectionSpec::new("shared", 4, Metric::Cosine).with_field("lang", FieldKind::Text),
        )
        .await
        .expect_err("metric");
    assert!(err.message().contains("metric"), "{err}");
    let class = other
        .client()
        .get_class("Shared")
        .await
        .expect("get")
        .expect("class");
    assert_eq!(class.distance(), Some("dot"));
    assert_eq!(
        class
            .property("lang")
            .and_then(|p| p.tokenization.as_deref()),
        Some("field")
    );
}

#[tokio::test]
async fn per_object_failures_from_the_server_name_the_record() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    store
        .ensure_collection(&CollectionSpec::new("mixed", 2, Metric::L2))
        .await
        .expect("created");
    // Another writer put a 3-d vector in first: the server now refuses 2-d ones.
    let outcomes = store
        .client()
        .batch_objects(&[BatchObject {
            class: "Mixed",
            id: RecordId::from_key("other"),
            properties: serde_json::Map::new(),
            vector: Some(&[1.0, 2.0, 3.0]),
        }])
        .await
        .expect("batch");
    assert!(outcomes[0].is_ok());
    let records = vec![
        record("a", vec![1.0, 0.0], json!({})),
        record("bad", vec![f32::NAN, 0.0], json!({})),
        record("b", vec![0.0, 1.0], json!({})),
    ];
    let report = store.upsert("mixed", &records).await.expect("upsert");
    assert_eq!(report.upserted, 0);
    let failed: Vec<(usize, RecordId, ErrorKind)> = report
        .failures
        .iter()
        .map(|f| (f.index, f.id, f.error.kind()))
        .collect();
    assert_eq!(
        failed,
        vec![
            (0, records[0].id, ErrorKind::Backend),
            (1, records[1].id, ErrorKind::InvalidInput),
            (2, records[2].id, ErrorKind::Backend)
        ]
    );
    let message = report.failures[0].error.message();
    assert!(
        message.contains("record #0") && message.contains("vector with length 2"),
        "{message}"
    );
}

#[tokio::test]
async fn delete_by_filter_loops_past_the_servers_per_call_limit() {
    let fake = fake(FakeWeaviate::new().with_query_maximum_results(7)).await;
    let store = store(&fake).await;
    let spec = CollectionSpec::new("many", 2, Metric::L2).with_field("group", FieldKind::Int);
    store.ensure_collection(&spec).await.expect("created");
    let records: Vec<Record> = (0..30)
        .map(|i| {
            record(
                &format!("m{i}"),
                vec![i as f32, 1.0],
                json!({"group": i % 2}),
            )
        })
        .collect();
    assert!(store
        .upsert("many", &records)
        .await
        .expect("upsert")
        .is_complete());
    let before = fake.stats().batch_deletes;
    let deleted = store
        .delete("many", Selector::Filter(Filter::eq("group", 0)))
        .await
        .expect("delete");
    assert_eq!(deleted, 15);
    assert_eq!(fake.stats().batch_deletes - before, 3, "7 + 7 + 1");
    assert_eq!(store.count("many", None).await.expect("count"), 15);
    let ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
    assert_eq!(
        store
            .delete("many", Selector::Ids(ids))
            .await
            .expect("delete ids"),
        15
    );
}

#[tokio::test]
async fn a_bad_api_key_is_an_auth_error_that_never_shows_the_key() {
    let fake = fake(FakeWeaviate::new()).await;
    let wrong = "wrong-key-never-printed-7d1";
    let config = fake.config().with_api_key(wrong);
    let err = WeaviateStore::connect(&config).await.expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.message().contains("invalid api key"), "{err}");
    let shown = format!("{err} {err:?} {config} {config:?}");
    assert!(!shown.contains(wrong) && !shown.contains(KEY), "{shown}");
    let store = store(&fake).await;
    let shown = format!("{store:?} {:?}", store.client());
    assert!(!shown.contains(KEY), "{shown}");
}

#[tokio::test]
async fn graphql_errors_sent_with_http_200_are_errors() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    store
        .ensure_collection(&CollectionSpec::new("g", 2, Metric::L2))
        .await
        .expect("created");
    store
        .upsert("g", &[record("x", vec![1.0, 2.0], json!({}))])
        .await
        .expect("upsert");
    let err = store
        .client()
        .graphql("{ Get { G(nearVector: {vector: [1, 2, 3]}) { _additional { id } } } }")
        .await
        .expect_err("errors sent with HTTP 200");
    assert_eq!(err.kind(), ErrorKind::Backend);
    assert!(
        err.message().contains("vector lengths don't match: 3 vs 2"),
        "{err}"
    );
    let err = store
        .client()
        .graphql("{ Aggregate { Missing { meta { count } } } }")
        .await
        .expect_err("unknown class");
    assert_eq!(
        (err.kind(), err.target()),
        (ErrorKind::NotFound, Some("Missing"))
    );
    let data = store
        .client()
        .graphql("{ Aggregate { G { meta { count } } } }")
        .await
        .expect("data");
    assert_eq!(data["Aggregate"]["G"][0]["meta"]["count"], 1);
}

#[tokio::test]
async fn a_class_dropped_behind_the_stores_back_is_not_found_not_recreated() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    let spec = CollectionSpec::new("gone", 2, Metric::Cosine).with_field("n", FieldKind::Int);
    store.ensure_collection(&spec).await.expect("created");
    store
        .upsert("gone", &[record("a", vec![1.0, 0.0], json!({"n": 1}))])
        .await
        .expect("upsert");
    store
        .client()
        .delete_class("Gone")
        .await
        .expect("dropped elsewhere");
    let err = store
        .upsert("gone", &[record("b", vec![0.0, 1.0], json!({"n": 2}))])
        .await
        .expect_err("gone");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = store
        .search("gone", &SearchQuery::new(vec![1.0, 0.0], 1))
        .await
        .expect_err("gone");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        fake.auto_schema_events().is_empty(),
        "{:?}",
        fake.auto_schema_events()
    );
}

#[tokio::test]
async fn text_is_stored_so_field_tokenization_compares_exactly() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    let spec = CollectionSpec::new("exact", 2, Metric::L2)
        .with_field("title", FieldKind::Text)
        .with_field("tags", FieldKind::TextList);
    store.ensure_collection(&spec).await.expect("created");
    let records = vec![
        record(
            "padded",
            vec![0.0, 1.0],
            json!({"title": " alpha ", "tags": []}),
        ),
        record(
            "plain",
            vec![1.0, 0.0],
            json!({"title": "alpha", "tags": ["", " x"]}),
        ),
        record("empty", vec![1.0, 1.0], json!({"title": ""})),
    ];
    store.upsert("exact", &records).await.expect("upsert");
    let stored = fake
        .object_properties("Exact", *records[0].id.as_uuid())
        .expect("stored");
    assert_eq!(stored["title"], "\u{E000} alpha \u{E000}");
    assert_eq!(stored["_n_tags"], 0);
    let ids =
        |hits: Vec<ai_data_vector::SearchHit>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
    let q = |f: Filter| SearchQuery::new(vec![0.0, 0.0], 5).with_filter(f);
    assert_eq!(
        ids(store
            .search("exact", &q(Filter::eq("title", "alpha")))
            .await
            .expect("s")),
        vec![records[1].id]
    );
    assert_eq!(
        ids(store
            .search("exact", &q(Filter::eq("title", " alpha ")))
            .await
            .expect("s")),
        vec![records[0].id]
    );
    assert_eq!(
        ids(store
            .search("exact", &q(Filter::eq("title", "")))
            .await
            .expect("s")),
        vec![records[2].id]
    );
    assert_eq!(
        ids(store
            .search("exact", &q(Filter::is_null("tags")))
            .await
            .expect("s")),
        vec![records[2].id]
    );
    assert_eq!(
        ids(store
            .search("exact", &q(Filter::contains_any("tags", [""])))
            .await
            .expect("s")),
        vec![records[1].id]
    );
}

#[tokio::test]
async fn validation_fails_before_any_request() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    store
        .ensure_collection(&CollectionSpec::new("v", 3, Metric::Cosine))
        .await
        .expect("created");
    let before = fake.stats();
    let bad_spec = CollectionSpec::new("v2", 3, Metric::L2).with_field("_payload", FieldKind::Text);
    assert_eq!(
        store
            .ensure_collection(&bad_spec)
            .await
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::InvalidInput)
    );
    let flat =
        CollectionSpec::new("v3", 3, Metric::L2).with_index(ai_data_vector::IndexSpec::Exact);
    assert_eq!(
        store
            .ensure_collection(&flat)
            .await
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::Unsupported)
    );
    let ivf = CollectionSpec::new("v4", 3, Metric::L2)
        .with_index(ai_data_vector::IndexSpec::IvfFlat { lists: 4 });
    assert_eq!(
        store
            .ensure_collection(&ivf)
            .await
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::Unsupported)
    );
    let not = SearchQuery::new(vec![1.0, 0.0, 0.0], 1);
    assert_eq!(
        store
            .search("v", &SearchQuery::new(vec![1.0], 1))
            .await
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::InvalidInput)
    );
    assert!(store.search("v", &not).await.expect("search").is_empty());
    let after = fake.stats();
    assert_eq!(
        after.schema_writes, before.schema_writes,
        "no schema request for invalid specs"
    );
    assert_eq!(
        after.graphql + after.grpc_search,
        before.graphql + before.grpc_search + 1,
        "only the valid search went out"
    );
}

#[tokio::test]
async fn bootstrap_creates_the_seed_classes_once() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    let options = SeedOptions::default().with_dimension(4);
    let first = bootstrap(&store, &options).await.expect("bootstrap");
    assert_eq!(first.created, ["Document", "Image", "ModelData"]);
    let again = bootstrap(&store, &options).await.expect("again");
    assert!(again.created.is_empty());
    assert_eq!(again.existing, ["Document", "Image", "ModelData"]);
    let document = store
        .client()
        .get_class("Document")
        .await
        .expect("get")
        .expect("class");
    assert_eq!(
        document
            .description
            .as_deref()
            .map(|d| d.starts_with("A document with vector representation")),
        Some(true)
    );
    assert_eq!(document.vectorizer.as_deref(), Some("none"));
    for (name, data_type, tokenization) in [
        ("title", "text", "word"),
        ("content", "text", "word"),
        ("source", "text", "field"),
        ("category", "text", "field"),
        ("creationDate", "date", ""),
        ("author", "text", "field"),
        ("tags", "text[]", "field"),
    ] {
        let prop = document
            .property(name)
            .unwrap_or_else(|| panic!("property {name}"));
        assert_eq!(prop.data_type(), data_type, "{name}");
        assert_eq!(
            prop.tokenization.as_deref().unwrap_or_default(),
            tokenization,
            "{name}"
        );
        assert!(prop.description.is_some(), "{name}");
    }
    let image = store
        .client()
        .get_class("Image")
        .await
        .expect("get")
        .expect("class");
    assert_eq!(
        image
            .properties
            .iter()
            .filter(|p| !p.name.starts_with('_'))
            .count(),
        7
    );
    let doc = record(
        "doc-1",
        vec![0.1, 0.2, 0.3, 0.4],
        json!({"title": "Vector search", "content": "Weaviate and pgvector", "category": "guide", "tags": ["db"], "creationDate": "2024-05-01T00:00:00Z", "internal": {"k": 1}}),
    );
    store
        .upsert("Document", std::slice::from_ref(&doc))
        .await
        .expect("upsert");
    let stored = fake
        .object_properties("Document", *doc.id.as_uuid())
        .expect("stored");
    assert_eq!(
        stored["content"], "Weaviate and pgvector",
        "free-text properties are written for BM25 users"
    );
    assert!(stored.get("internal").is_none());
    let hits = store
        .search(
            "Document",
            &SearchQuery::new(vec![0.1, 0.2, 0.3, 0.4], 3)
                .with_filter(Filter::eq("category", "guide")),
        )
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].payload.as_ref(), Some(&doc.payload));
    assert_eq!(fake.auto_schema_events(), Vec::<String>::new());
}

#[tokio::test]
async fn bootstrap_with_the_seeds_vectorizer_modules() {
    let without = fake(FakeWeaviate::new()).await;
    let options = SeedOptions::default().with_vectorizers(SeedVectorizers::Modules);
    let err = bootstrap(&store(&without).await, &options)
        .await
        .expect_err("modules not enabled");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("invalid vectorizer"), "{err}");
    let with =
        fake(FakeWeaviate::new().with_modules(["text2vec-transformers", "img2vec-neural"])).await;
    let store = store(&with).await;
    bootstrap(&store, &options).await.expect("bootstrap");
    let image = store
        .client()
        .get_class("Image")
        .await
        .expect("get")
        .expect("class");
    assert_eq!(image.vectorizer.as_deref(), Some("img2vec-neural"));
    let document = store
        .client()
        .get_class("Document")
        .await
        .expect("get")
        .expect("class");
    assert_eq!(
        document.vectorizer.as_deref(),
        Some("text2vec-transformers")
    );
    let skip = document
        .property("_payload")
        .and_then(|p| p.module_config.clone());
    assert_eq!(
        skip,
        Some(json!({"text2vec-transformers": {"skip": true, "vectorizePropertyName": false}}))
    );
    assert!(
        document
            .property("content")
            .and_then(|p| p.module_config.clone())
            .is_none(),
        "content is vectorized"
    );
}

#[tokio::test]
async fn health_readiness_and_version_gates() {
    let fake = fake(FakeWeaviate::new()).await;
    let client = WeaviateClient::new(&fake.config()).expect("client");
    assert!(client.is_ready().await.expect("ready"));
    assert!(client.is_live().await.expect("live"));
    let report = client.check().await.expect("healthy");
    assert_eq!(report.server_version.as_deref(), Some("1.22.13"));
    fake.set_ready(false);
    assert!(!client.is_ready().await.expect("answers"));
    let err = client.check().await.expect_err("not ready");
    assert!(err.is_retryable());
    let old = ai_data_weaviate_fake::FakeWeaviate::new()
        .with_version(ServerVersion::new(1, 21, 8))
        .start()
        .await
        .expect("fake");
    let err = WeaviateStore::connect(&old.config())
        .await
        .expect_err("too old");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let unreachable = fake.config().with_grpc(GrpcMode::Off);
    drop(fake);
    let err = WeaviateStore::connect(&unreachable)
        .await
        .expect_err("stopped");
    assert!(
        matches!(err.kind(), ErrorKind::Connect | ErrorKind::Backend),
        "{err}"
    );
}

#[tokio::test]
async fn ids_and_distances_only_over_grpc() {
    let fake = fake(FakeWeaviate::new()).await;
    let store = store(&fake).await;
    store
        .ensure_collection(&CollectionSpec::new("bare", 2, Metric::L2))
        .await
        .expect("created");
    store
        .upsert(
            "bare",
            &[
                record("a", vec![3.0, 4.0], json!({"k": 1})),
                record("b", vec![0.0, 1.0], json!({})),
            ],
        )
        .await
        .expect("upsert");
    let hits = store
        .search(
            "bare",
            &SearchQuery::new(vec![0.0, 0.0], 2).with_payloads(false),
        )
        .await
        .expect("search");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, RecordId::from_key("b"));
    assert_eq!(hits[1].distance, 5.0, "l2-squared 25 reported as 5");
    assert!(hits
        .iter()
        .all(|h| h.payload.is_none() && h.vector.is_none()));
    let with_vectors = store
        .search(
            "bare",
            &SearchQuery::new(vec![0.0, 0.0], 1).with_vectors(true),
        )
        .await
        .expect("search");
    assert_eq!(with_vectors[0].vector, Some(vec![0.0, 1.0]));
    assert_eq!(store.search_counts().grpc, 2);
    assert_eq!(fake.stats().grpc_search, 2);
}
