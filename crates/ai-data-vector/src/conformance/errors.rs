//! Collection lifecycle rules and the errors bad input must give.

use serde_json::json;

use super::check::{fresh, must, must_fail, payload, pick_index, pick_metric};
use super::collection_name;
use crate::{
    CollectionSpec, ErrorKind, FieldKind, Filter, Metric, Record, RecordId, SearchQuery, Selector,
    VectorStore,
};

/// `ensure_collection` is idempotent; the same name with another dimension,
/// metric, field set or embedding model is `Conflict`; drop then ensure
/// creates it again.
pub async fn ensure_collection_rules(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "ensure");
    let metric = pick_metric(&caps, Metric::Cosine);
    let spec = CollectionSpec::new(&name, 8, metric)
        .with_index(pick_index(&caps))
        .with_field("lang", FieldKind::Text)
        .with_embedding_model("model-a");
    fresh(store, &spec).await;
    let again = must(
        store.ensure_collection(&spec).await,
        "ensure_collection twice",
    );
    assert!(
        !again,
        "conformance: {name}: a second ensure_collection must report it existed"
    );

    let mut other_dim = spec.clone();
    other_dim.dimension = 16;
    must_fail(
        store.ensure_collection(&other_dim).await,
        ErrorKind::Conflict,
        format_args!("{name}: other dimension"),
    );
    if let Some(other) = caps.metrics.iter().copied().find(|m| *m != metric) {
        let mut other_metric = spec.clone();
        other_metric.metric = other;
        must_fail(
            store.ensure_collection(&other_metric).await,
            ErrorKind::Conflict,
            format_args!("{name}: other metric"),
        );
    }
    let other_fields = spec.clone().with_field("year", FieldKind::Int);
    must_fail(
        store.ensure_collection(&other_fields).await,
        ErrorKind::Conflict,
        format_args!("{name}: other fields"),
    );
    let other_model = spec.clone().with_embedding_model("model-b");
    must_fail(
        store.ensure_collection(&other_model).await,
        ErrorKind::Conflict,
        format_args!("{name}: other model"),
    );

    assert_eq!(
        must(store.count(&name, None).await, "count after conflicts"),
        0,
        "conformance: {name}: conflicts change nothing"
    );
    assert!(
        must(store.drop_collection(&name).await, "drop"),
        "conformance: {name}: drop of an existing collection"
    );
    assert!(
        !must(store.drop_collection(&name).await, "drop again"),
        "conformance: {name}: second drop reports nothing dropped"
    );
    assert!(
        must(
            store.ensure_collection(&other_dim).await,
            "ensure after drop"
        ),
        "conformance: {name}: re-created"
    );
    must(store.drop_collection(&name).await, "drop_collection");
}

/// Every operation on a collection that does not exist is `NotFound`.
pub async fn missing_collection_is_not_found(store: &dyn VectorStore, name_prefix: &str) {
    let name = collection_name(name_prefix, "missing");
    must(store.drop_collection(&name).await, "drop_collection");
    let id = RecordId::from_key("x");
    let record = Record::new(id, vec![1.0, 0.0], Default::default());
    let what = |op: &str| format!("{op} on missing collection {name}");
    must_fail(
        store.upsert(&name, &[record]).await,
        ErrorKind::NotFound,
        what("upsert"),
    );
    must_fail(
        store.get(&name, &[id]).await,
        ErrorKind::NotFound,
        what("get"),
    );
    must_fail(
        store.delete(&name, Selector::Ids(vec![id])).await,
        ErrorKind::NotFound,
        what("delete"),
    );
    must_fail(
        store.count(&name, None).await,
        ErrorKind::NotFound,
        what("count"),
    );
    must_fail(
        store
            .search(&name, &SearchQuery::new(vec![1.0, 0.0], 1))
            .await,
        ErrorKind::NotFound,
        what("search"),
    );
}

/// Wrong dimensions, NaN/infinite/empty/zero vectors, bad `k`, unsafe
/// names, undeclared filter fields and mistyped filter values are
/// `InvalidInput`; in an upsert batch the bad records are reported one by
/// one and the good ones written.
pub async fn invalid_input_errors(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "invalid");
    let metric = pick_metric(&caps, Metric::Cosine);
    let spec = CollectionSpec::new(&name, 3, metric)
        .with_index(pick_index(&caps))
        .with_field("year", FieldKind::Int)
        .with_field("published", FieldKind::Timestamp);
    fresh(store, &spec).await;
    let invalid = ErrorKind::InvalidInput;

    // Per-record failures in a batch; the rest are written.
    let rec = |key: &str, v: Vec<f32>, p: serde_json::Value| {
        Record::new(RecordId::from_key(key), v, payload(p))
    };
    let mut batch = vec![
        rec("good-1", vec![1.0, 0.0, 0.0], json!({"year": 2024})),
        rec("short", vec![1.0, 0.0], json!({})),
        rec("long", vec![1.0, 0.0, 0.0, 0.0], json!({})),
        rec("nan", vec![1.0, f32::NAN, 0.0], json!({})),
        rec("inf", vec![f32::NEG_INFINITY, 0.0, 0.0], json!({})),
        rec("empty", vec![], json!({})),
        rec("year-text", vec![0.0, 1.0, 0.0], json!({"year": "2024"})),
        rec(
            "bad-time",
            vec![0.0, 1.0, 0.0],
            json!({"published": "last tuesday"}),
        ),
        rec(
            "good-2",
            vec![0.0, 0.0, 1.0],
            json!({"published": "2024-05-01T12:00:00Z"}),
        ),
    ];
    if metric == Metric::Cosine {
        batch.push(rec("zero", vec![0.0, 0.0, 0.0], json!({})));
    }
    let report = must(store.upsert(&name, &batch).await, "upsert with bad records");
    assert_eq!(
        report.upserted, 2,
        "conformance: {name}: the good records are written"
    );
    let failed: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
    let want: Vec<usize> = (1..8).chain((batch.len() > 9).then_some(9)).collect();
    assert_eq!(
        failed, want,
        "conformance: {name}: each bad record is reported at its position"
    );
    for f in &report.failures {
        assert_eq!(f.id, batch[f.index].id, "conformance: {name}: failure id");
        assert_eq!(
            f.error.kind(),
            invalid,
            "conformance: {name}: failure #{} is {}",
            f.index,
            f.error
        );
    }
    assert_eq!(must(store.count(&name, None).await, "count"), 2);

    // Queries.
    let q = |v: Vec<f32>, k: usize| SearchQuery::new(v, k);
    let bad_queries = [
        ("short query vector", q(vec![1.0, 0.0], 1)),
        ("long query vector", q(vec![1.0, 0.0, 0.0, 0.0], 1)),
        ("NaN query", q(vec![f32::NAN, 0.0, 0.0], 1)),
        ("infinite query", q(vec![f32::INFINITY, 0.0, 0.0], 1)),
        ("empty query", q(vec![], 1)),
        ("k = 0", q(vec![1.0, 0.0, 0.0], 0)),
        (
            "k over max_k",
            q(vec![1.0, 0.0, 0.0], caps.max_k.saturating_add(1)),
        ),
        (
            "NaN threshold",
            q(vec![1.0, 0.0, 0.0], 1).with_max_distance(f32::NAN),
        ),
        (
            "undeclared filter field",
            q(vec![1.0, 0.0, 0.0], 1).with_filter(Filter::eq("lang", "en")),
        ),
        (
            "mistyped filter value",
            q(vec![1.0, 0.0, 0.0], 1).with_filter(Filter::eq("year", "2024")),
        ),
        (
            "unsafe filter field",
            q(vec![1.0, 0.0, 0.0], 1).with_filter(Filter::eq("year\"; --", 1)),
        ),
    ];
    for (label, query) in bad_queries {
        must_fail(
            store.search(&name, &query).await,
            invalid,
            format_args!("{name}: {label}"),
        );
    }
    let undeclared = Filter::eq("lang", "en");
    must_fail(
        store.count(&name, Some(&undeclared)).await,
        invalid,
        "count with undeclared field",
    );
    let mistyped = Filter::gt("published", 5);
    must_fail(
        store.delete(&name, Selector::Filter(mistyped)).await,
        invalid,
        "delete with mistyped filter",
    );
    assert_eq!(
        must(store.count(&name, None).await, "count"),
        2,
        "conformance: {name}: rejected deletes delete nothing"
    );

    // Names and specs.
    for bad in [
        "bad-name",
        "x; DROP TABLE y",
        "",
        "Émile",
        "1starts_with_digit",
    ] {
        let spec = CollectionSpec::new(bad, 3, metric);
        must_fail(
            store.ensure_collection(&spec).await,
            invalid,
            format_args!("collection name {bad:?}"),
        );
        must_fail(
            store.search(bad, &q(vec![1.0, 0.0, 0.0], 1)).await,
            invalid,
            format_args!("search in {bad:?}"),
        );
    }
    let long = "x".repeat(64);
    must_fail(
        store
            .ensure_collection(&CollectionSpec::new(&long, 3, metric))
            .await,
        invalid,
        "64-byte name",
    );
    let bad_field = CollectionSpec::new(&name, 3, metric).with_field("a b", FieldKind::Int);
    must_fail(
        store.ensure_collection(&bad_field).await,
        invalid,
        "unsafe field name",
    );
    let zero_dim = CollectionSpec::new(collection_name(name_prefix, "zero_dim"), 0, metric);
    must_fail(
        store.ensure_collection(&zero_dim).await,
        invalid,
        "dimension 0",
    );
    let huge = CollectionSpec::new(
        collection_name(name_prefix, "huge_dim"),
        caps.max_dimension + 1,
        metric,
    );
    must_fail(
        store.ensure_collection(&huge).await,
        invalid,
        "dimension over max_dimension",
    );
    must(store.drop_collection(&name).await, "drop_collection");
}
