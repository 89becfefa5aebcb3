use chrono::Utc;
use serde_json::json;

use super::*;
use crate::{FieldSpec, IndexKind, RecordId};

fn caps() -> Capabilities {
    Capabilities::new(100, 4096, 50)
}

fn spec() -> CollectionSpec {
    CollectionSpec::new("docs", 3, Metric::Cosine)
        .with_field("title", FieldKind::Text)
        .with_field("year", FieldKind::Int)
        .with_field("score", FieldKind::Float)
        .with_field("ok", FieldKind::Bool)
        .with_field("at", FieldKind::Timestamp)
        .with_field("tags", FieldKind::TextList)
        .with_field("ids", FieldKind::IntList)
}

fn kind_and_message(r: Result<()>) -> (Option<ErrorKind>, String) {
    match r {
        Ok(()) => (None, String::new()),
        Err(e) => (Some(e.kind()), e.message().to_owned()),
    }
}

fn invalid(r: Result<()>, needle: &str) {
    let (kind, message) = kind_and_message(r);
    assert_eq!(kind, Some(ErrorKind::InvalidInput), "message: {message}");
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
}

#[test]
fn identifiers() {
    for ok in ["a", "_", "docs_2024", "A_b_C", &"x".repeat(63)] {
        assert!(identifier("name", ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "1abc",
        "a-b",
        "a b",
        "a;--",
        "é",
        "\"x\"",
        &"x".repeat(64),
    ] {
        invalid(identifier("field name", bad), "field name");
    }
    invalid(
        collection_name("docs\"; DROP TABLE x"),
        "not a safe identifier",
    );
}

#[test]
fn vectors() {
    assert!(vector(&[1.0, 0.0, 0.0], 3, Metric::Cosine).is_ok());
    invalid(vector(&[], 3, Metric::L2), "empty");
    invalid(vector(&[1.0, 2.0], 3, Metric::L2), "has 2 components");
    invalid(
        vector(&[1.0, f32::NAN, 0.0], 3, Metric::L2),
        "component 1 is NaN",
    );
    invalid(
        vector(&[f32::INFINITY, 0.0, 0.0], 3, Metric::Dot),
        "component 0 is inf",
    );
    invalid(vector(&[0.0, 0.0, 0.0], 3, Metric::Cosine), "all zeros");
    assert!(vector(&[0.0, 0.0, 0.0], 3, Metric::L2).is_ok());
}

#[test]
fn queries_and_k() {
    let s = spec();
    let q = |v: Vec<f32>, k| SearchQuery::new(v, k);
    assert!(query(&s, &caps(), &q(vec![1.0, 0.0, 0.0], 50)).is_ok());
    invalid(query(&s, &caps(), &q(vec![1.0, 0.0, 0.0], 0)), "k = 0");
    invalid(query(&s, &caps(), &q(vec![1.0, 0.0, 0.0], 51)), "1..=50");
    invalid(
        query(&s, &caps(), &q(vec![1.0, 0.0], 5)),
        "query vector has 2 components",
    );
    invalid(
        query(
            &s,
            &caps(),
            &q(vec![1.0, 0.0, 0.0], 5).with_max_distance(f32::NAN),
        ),
        "max_distance",
    );
    invalid(
        query(
            &s,
            &caps(),
            &q(vec![1.0, 0.0, 0.0], 5).with_filter(Filter::eq("nope", 1)),
        ),
        "does not declare",
    );
}

#[test]
fn filter_fields_and_types() {
    let (s, c) = (spec(), caps());
    let ok = [
        Filter::eq("title", "x"),
        Filter::ne("year", 1),
        Filter::lt("score", 1),
        Filter::ge("score", 0.5),
        Filter::eq("ok", true),
        Filter::gt("at", Utc::now()),
        Filter::is_in("title", ["a", "b"]),
        Filter::not_in("year", [1, 2]),
        Filter::contains_any("tags", ["a"]),
        Filter::contains_any("ids", [1]),
        Filter::is_null("tags"),
        !Filter::eq("title", "x").or(Filter::is_null("year")),
    ];
    for f in &ok {
        assert!(filter(&s, &c, f).is_ok(), "{f:?}");
    }
    invalid(
        filter(&s, &c, &Filter::eq("lang", "en")),
        "field `lang`, which collection `docs` does not declare",
    );
    invalid(
        filter(&s, &c, &Filter::eq("year", "2024")),
        "field `year` of type int has a value of type text",
    );
    invalid(
        filter(&s, &c, &Filter::eq("year", 1.5)),
        "has a value of type float",
    );
    invalid(
        filter(&s, &c, &Filter::eq("ok", 1)),
        "has a value of type int",
    );
    invalid(
        filter(&s, &c, &Filter::lt("title", "m")),
        "`lt` does not apply to field `title`",
    );
    invalid(
        filter(&s, &c, &Filter::eq("tags", "a")),
        "`eq` does not apply",
    );
    invalid(
        filter(&s, &c, &Filter::contains_any("title", ["a"])),
        "`contains_any` does not apply",
    );
    invalid(
        filter(&s, &c, &Filter::contains_any("tags", [1])),
        "has a value of type int",
    );
    invalid(
        filter(&s, &c, &Filter::is_in("year", Vec::<i64>::new())),
        "at least one value",
    );
    invalid(filter(&s, &c, &Filter::And(vec![])), "no sub-filters");
    invalid(filter(&s, &c, &Filter::eq("score", f64::NAN)), "not finite");
    invalid(
        filter(&s, &c, &Filter::eq("bad-name", 1)),
        "not a safe identifier",
    );
    let mut deep = Filter::eq("year", 1);
    for _ in 0..MAX_FILTER_DEPTH {
        deep = !deep;
    }
    invalid(filter(&s, &c, &deep), "nested");
}

#[test]
fn unsupported_operator_is_unsupported() {
    let c = caps().with_filter_ops([FilterOp::Eq, FilterOp::And]);
    let s = spec();
    assert!(filter(&s, &c, &Filter::eq("title", "a").and(Filter::eq("year", 1))).is_ok());
    let (kind, message) = kind_and_message(filter(
        &s,
        &c,
        &Filter::eq("title", "a").or(Filter::eq("year", 1)),
    ));
    assert_eq!(kind, Some(ErrorKind::Unsupported));
    assert!(message.contains("`or`"), "{message}");
}

#[test]
fn payload_types() {
    let s = spec();
    let p = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
    let good = p(json!({
        "title": "t", "year": -3, "score": 1, "ok": false, "at": "2024-01-01T00:00:00Z",
        "tags": [], "ids": [1, 2], "undeclared": {"any": ["thing"]}
    }));
    assert!(payload(&s, &good).is_ok());
    assert!(payload(&s, &p(json!({"title": null}))).is_ok());
    invalid(
        payload(&s, &p(json!({"year": 1.5}))),
        "`year` must be an integer",
    );
    invalid(
        payload(&s, &p(json!({"year": u64::MAX}))),
        "`year` must be an integer",
    );
    invalid(
        payload(&s, &p(json!({"title": 5}))),
        "`title` must be a text value",
    );
    invalid(payload(&s, &p(json!({"at": "yesterday"}))), "RFC 3339");
    invalid(
        payload(&s, &p(json!({"tags": ["a", 1]}))),
        "`tags` must be a text_list",
    );
    invalid(
        payload(&s, &p(json!({"ok": "true"}))),
        "`ok` must be a bool",
    );
    let long = "x".repeat(500);
    let (_, message) = kind_and_message(payload(&s, &p(json!({ "year": long }))));
    assert!(message.len() < 200, "long values are cut: {message}");
    let rec = Record::new(RecordId::from_key("r"), vec![1.0, 0.0, 0.0], good);
    assert!(record(&s, &rec).is_ok());
}

#[test]
fn specs() {
    let c = caps();
    assert!(collection_spec(&spec(), &c).is_ok());
    invalid(
        collection_spec(&CollectionSpec::new("x", 0, Metric::L2), &c),
        "dimension 0",
    );
    invalid(
        collection_spec(&CollectionSpec::new("x", 5000, Metric::L2), &c),
        "outside 1..=4096",
    );
    invalid(
        collection_spec(&CollectionSpec::new("bad name", 3, Metric::L2), &c),
        "collection name",
    );
    invalid(
        collection_spec(
            &CollectionSpec::new("x", 3, Metric::L2)
                .with_field("a", FieldKind::Int)
                .with_field("a", FieldKind::Text),
            &c,
        ),
        "declared twice",
    );
    invalid(
        collection_spec(
            &CollectionSpec::new("x", 3, Metric::L2).with_index(IndexSpec::IvfFlat { lists: 0 }),
            &c,
        ),
        "positive",
    );
    let no_dot = c
        .clone()
        .with_metrics([Metric::L2])
        .with_index_kinds([IndexKind::Exact]);
    let kind = |r: Result<()>| r.err().map(|e| e.kind());
    assert_eq!(
        kind(collection_spec(
            &CollectionSpec::new("x", 3, Metric::Dot),
            &no_dot
        )),
        Some(ErrorKind::Unsupported)
    );
    assert_eq!(
        kind(collection_spec(
            &CollectionSpec::new("x", 3, Metric::L2),
            &no_dot
        )),
        Some(ErrorKind::Unsupported),
        "default index is HNSW"
    );
}

#[test]
fn compatibility() {
    let a = spec().with_embedding_model("m1");
    let conflict = |b: &CollectionSpec| {
        compatible(&a, b)
            .err()
            .map(|e| (e.kind(), e.message().to_owned()))
    };
    assert!(compatible(&a, &a.clone().with_index(IndexSpec::Exact)).is_ok());
    let mut reordered = a.clone();
    reordered.fields.reverse();
    reordered.embedding_model = None;
    assert!(compatible(&a, &reordered).is_ok());
    let mut dim = a.clone();
    dim.dimension = 4;
    assert!(
        matches!(conflict(&dim), Some((ErrorKind::Conflict, m)) if m.contains("dimension 3, not 4"))
    );
    let mut metric = a.clone();
    metric.metric = Metric::L2;
    assert!(
        matches!(conflict(&metric), Some((ErrorKind::Conflict, m)) if m.contains("metric cosine, not l2"))
    );
    let mut fields = a.clone();
    fields.fields[0] = FieldSpec::new("title", FieldKind::Int);
    assert!(matches!(conflict(&fields), Some((ErrorKind::Conflict, _))));
    assert!(
        matches!(conflict(&a.clone().with_embedding_model("m2")), Some((ErrorKind::Conflict, m)) if m.contains("\"m1\""))
    );
}
