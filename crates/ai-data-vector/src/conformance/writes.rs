//! Writes and reads: overwrite, delete, count, payload round trips, batch
//! sizes, `get` order.

use serde_json::json;

use super::check::{close, fresh, must, payload, pick_index, pick_metric};
use super::collection_name;
use super::data::clustered;
use crate::distance::distance;
use crate::{
    CollectionSpec, FieldKind, Filter, Metric, Payload, Record, RecordId, SearchQuery, Selector,
    VectorStore,
};

fn spec(store: &dyn VectorStore, name: &str, dim: usize, preferred: Metric) -> CollectionSpec {
    let caps = store.capabilities();
    CollectionSpec::new(name, dim, pick_metric(caps, preferred)).with_index(pick_index(caps))
}

/// Upserting an existing id replaces its vector and payload (no second
/// record, no merged payload); within one batch the last record wins.
pub async fn upsert_overwrite(store: &dyn VectorStore, name_prefix: &str) {
    let name = collection_name(name_prefix, "overwrite");
    let spec = spec(store, &name, 3, Metric::L2).with_field("version", FieldKind::Int);
    fresh(store, &spec).await;
    let (a, b, c) = (
        RecordId::from_key("a"),
        RecordId::from_key("b"),
        RecordId::from_key("c"),
    );
    let first = vec![
        Record::new(
            a,
            vec![1.0, 0.0, 0.0],
            payload(json!({"version": 1, "old_only": true})),
        ),
        Record::new(b, vec![0.0, 1.0, 0.0], payload(json!({"version": 1}))),
    ];
    must(store.upsert(&name, &first).await, "first upsert");
    let new_a = Record::new(a, vec![0.0, 0.0, 5.0], payload(json!({"version": 2})));
    let report = must(
        store.upsert(&name, std::slice::from_ref(&new_a)).await,
        "overwrite",
    );
    assert_eq!(
        (report.upserted, report.failures.len()),
        (1, 0),
        "conformance: {name}: overwrite report"
    );
    assert_eq!(
        must(store.count(&name, None).await, "count"),
        2,
        "conformance: {name}: overwrite adds no record"
    );
    let got = must(store.get(&name, &[a]).await, "get a");
    assert_eq!(
        got,
        vec![new_a.clone()],
        "conformance: {name}: vector and payload replaced, not merged"
    );
    let hits = must(
        store
            .search(&name, &SearchQuery::new(vec![0.0, 0.0, 5.0], 1))
            .await,
        "search",
    );
    assert_eq!(
        hits.first().map(|h| h.id),
        Some(a),
        "conformance: {name}: search sees the new vector"
    );
    let want = distance(spec.metric, &[0.0, 0.0, 5.0], &new_a.vector);
    assert!(
        hits.first().is_some_and(|h| close(h.distance, want)),
        "conformance: {name}: {hits:?}"
    );
    let version_one = must(
        store.count(&name, Some(&Filter::eq("version", 1))).await,
        "count v1",
    );
    assert_eq!(
        version_one, 1,
        "conformance: {name}: filters see the new payload"
    );

    let twice = vec![
        Record::new(c, vec![1.0, 1.0, 0.0], payload(json!({"version": 1}))),
        Record::new(c, vec![2.0, 2.0, 1.0], payload(json!({"version": 3}))),
    ];
    let report = must(
        store.upsert(&name, &twice).await,
        "same id twice in a batch",
    );
    assert!(
        report.is_complete(),
        "conformance: {name}: {:?}",
        report.failures
    );
    let got = must(store.get(&name, &[c]).await, "get c");
    assert_eq!(
        got,
        vec![twice[1].clone()],
        "conformance: {name}: the last record of a batch wins"
    );
    assert_eq!(must(store.count(&name, None).await, "count"), 3);
    must(store.drop_collection(&name).await, "drop_collection");
}

/// Delete by ids (missing ids not counted, empty list a no-op, repeat is
/// 0) and by filter; deleted records are gone from get, count and search.
pub async fn delete_by_ids_and_filter(store: &dyn VectorStore, name_prefix: &str) {
    let name = collection_name(name_prefix, "delete");
    let spec = spec(store, &name, 8, Metric::Cosine).with_field("group", FieldKind::Int);
    fresh(store, &spec).await;
    let mut records = clustered(11, 100, 8, 4);
    for (i, r) in records.iter_mut().enumerate() {
        r.payload.insert("group".into(), json!(i % 4));
    }
    must(store.upsert(&name, &records).await, "upsert");
    let (r0, r1) = (records[0].id, records[1].id);
    let missing = RecordId::from_key("never-written");
    let n = must(
        store
            .delete(&name, Selector::Ids(vec![r0, r1, missing, r0]))
            .await,
        "delete ids",
    );
    assert_eq!(
        n, 2,
        "conformance: {name}: delete counts only existing ids, once"
    );
    assert_eq!(
        must(store.delete(&name, Selector::Ids(vec![r0])).await, "repeat"),
        0
    );
    assert_eq!(
        must(store.delete(&name, Selector::Ids(vec![])).await, "empty"),
        0
    );
    assert!(
        must(store.get(&name, &[r0, r1]).await, "get deleted").is_empty(),
        "conformance: {name}: deleted records are gone"
    );
    // Group 1 held records 1, 5, 9, ...: 25, one of them (record 1) already deleted.
    let n = must(
        store
            .delete(&name, Selector::Filter(Filter::eq("group", 1)))
            .await,
        "delete by filter",
    );
    assert_eq!(n, 24, "conformance: {name}: delete by filter");
    assert_eq!(must(store.count(&name, None).await, "count"), 74);
    assert_eq!(
        must(
            store.count(&name, Some(&Filter::eq("group", 1))).await,
            "count"
        ),
        0
    );
    let hits = must(
        store
            .search(&name, &SearchQuery::new(records[5].vector.clone(), 74))
            .await,
        "search",
    );
    assert_eq!(
        hits.len(),
        74,
        "conformance: {name}: search sees exactly the remaining records"
    );
    assert!(
        hits.iter().all(|h| h.id != r0
            && h.id != r1
            && h.payload.as_ref().is_some_and(|p| p["group"] != 1)),
        "conformance: {name}: a deleted record was returned"
    );
    must(store.drop_collection(&name).await, "drop_collection");
}

/// `count` of an empty collection, of all records, and with filters.
pub async fn count_with_and_without_filter(store: &dyn VectorStore, name_prefix: &str) {
    let name = collection_name(name_prefix, "count");
    let spec = spec(store, &name, 4, Metric::Dot)
        .with_field("even", FieldKind::Bool)
        .with_field("i", FieldKind::Int);
    fresh(store, &spec).await;
    assert_eq!(must(store.count(&name, None).await, "count empty"), 0);
    let records: Vec<Record> = (0..37)
        .map(|i| {
            Record::new(
                RecordId::from_key(&format!("count-{i}")),
                vec![i as f32, 1.0, 0.0, -1.0],
                payload(json!({"even": i % 2 == 0, "i": i})),
            )
        })
        .collect();
    must(store.upsert(&name, &records).await, "upsert");
    assert_eq!(must(store.count(&name, None).await, "count all"), 37);
    assert_eq!(
        must(
            store.count(&name, Some(&Filter::eq("even", true))).await,
            "count even"
        ),
        19
    );
    let f = Filter::ge("i", 30).or(Filter::lt("i", 2));
    assert_eq!(must(store.count(&name, Some(&f)).await, "count or"), 9);
    must(store.drop_collection(&name).await, "drop_collection");
}

/// The payload every backend must store and return byte for byte.
fn tricky_payload() -> Payload {
    payload(json!({
        "title": "'; DROP TABLE users;--",
        "single": "It's",
        "double": "say \"hi\"",
        "backslash": "C:\\temp\\new \\\" \\'",
        "sql_comment": "a;-- b /* c */",
        "emoji": "🦀🚀👍🏽 family: 👨‍👩‍👧",
        "cjk": "向量数据库 ベクトル 벡터",
        "rtl": "مرحبا שלום",
        "control": "tab\tnewline\nreturn\r",
        "graphql": "{ Get { Doc(where: {}) } } $var @dir",
        "empty": "",
        "null": null,
        "int_max": i64::MAX,
        "int_min": i64::MIN,
        "float": 0.1,
        "negative": -2.5,
        "small": 1e-7,
        "bool": false,
        "list": ["x", 1, 2.5, null, true, [], {}],
        "nested": {"k'ey": {"\"": "\\"}, "deeper": {"a": [1, {"b": "ü"}]}},
        "key with spaces and ключ 键": "value",
    }))
}

/// Unicode and quote-laden payloads (`'`, `"`, `\`, `;--`, emoji, CJK, RTL,
/// control characters, nested objects, extreme integers) come back from
/// `get` and `search` unchanged, and filters on such text match exactly.
pub async fn payload_round_trip(store: &dyn VectorStore, name_prefix: &str) {
    let name = collection_name(name_prefix, "payloads");
    let spec = spec(store, &name, 3, Metric::Cosine).with_field("title", FieldKind::Text);
    fresh(store, &spec).await;
    let tricky = Record::new(
        RecordId::from_key("tricky"),
        vec![0.3, 0.4, 0.5],
        tricky_payload(),
    );
    let mut other_payload = tricky_payload();
    other_payload.insert("title".into(), json!("🦀 \"x\" \\ ' 向量"));
    let other = Record::new(
        RecordId::from_key("other"),
        vec![-0.3, 0.4, 0.5],
        other_payload,
    );
    let plain = Record::new(
        RecordId::from_key("plain"),
        vec![0.5, 0.5, 0.5],
        payload(json!({"title": "plain"})),
    );
    let all = vec![tricky.clone(), other.clone(), plain];
    let report = must(store.upsert(&name, &all).await, "upsert tricky payloads");
    assert!(
        report.is_complete(),
        "conformance: {name}: {:?}",
        report.failures
    );
    let got = must(store.get(&name, &[tricky.id, other.id]).await, "get");
    assert_eq!(
        got,
        vec![tricky.clone(), other.clone()],
        "conformance: {name}: payloads round trip through get"
    );
    let hits = must(
        store
            .search(&name, &SearchQuery::new(tricky.vector.clone(), 1))
            .await,
        "search",
    );
    assert_eq!(
        hits.first().and_then(|h| h.payload.as_ref()),
        Some(&tricky.payload),
        "conformance: {name}: payload round trip through search"
    );
    for record in [&tricky, &other] {
        let title = record.payload["title"].as_str().unwrap_or_default();
        let f = Filter::eq("title", title);
        let hits = must(
            store
                .search(
                    &name,
                    &SearchQuery::new(vec![1.0, 1.0, 1.0], 3).with_filter(f.clone()),
                )
                .await,
            "filter on tricky text",
        );
        let ids: Vec<RecordId> = hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, vec![record.id], "conformance: {name}: eq on {title:?}");
        assert_eq!(must(store.count(&name, Some(&f)).await, "count"), 1);
    }
    assert_eq!(
        must(store.count(&name, None).await, "count"),
        3,
        "conformance: {name}: nothing injected"
    );
    must(store.drop_collection(&name).await, "drop_collection");
}

/// Batches of 0 (a no-op), 1 and 10,000 records (split into chunks by the
/// backend when over its `max_batch_size`).
pub async fn batch_sizes(store: &dyn VectorStore, name_prefix: &str) {
    let name = collection_name(name_prefix, "batches");
    let spec = spec(store, &name, 8, Metric::L2);
    fresh(store, &spec).await;
    let empty = must(store.upsert(&name, &[]).await, "empty batch");
    assert_eq!(
        (empty.upserted, empty.failures.len()),
        (0, 0),
        "conformance: {name}: empty batch"
    );
    assert_eq!(must(store.count(&name, None).await, "count"), 0);
    let one = clustered(3, 1, 8, 1);
    let report = must(store.upsert(&name, &one).await, "batch of 1");
    assert_eq!(report.upserted, 1);
    let big = clustered(4, 10_000, 8, 50);
    let report = must(store.upsert(&name, &big).await, "batch of 10,000");
    assert!(
        report.is_complete(),
        "conformance: {name}: {:?}",
        report.failures.first()
    );
    assert_eq!(
        report.upserted, 10_000,
        "conformance: {name}: batch of 10,000"
    );
    assert_eq!(must(store.count(&name, None).await, "count"), 10_001);
    let sample = [big[0].id, big[4_999].id, big[9_999].id, one[0].id];
    let got = must(store.get(&name, &sample).await, "get sample");
    let want = vec![
        big[0].clone(),
        big[4_999].clone(),
        big[9_999].clone(),
        one[0].clone(),
    ];
    assert_eq!(got, want, "conformance: {name}: records of a big batch");
    let ids: Vec<RecordId> = big.iter().map(|r| r.id).collect();
    assert_eq!(
        must(store.get(&name, &ids).await, "get all").len(),
        10_000,
        "conformance: {name}: get 10,000 ids"
    );
    must(store.drop_collection(&name).await, "drop_collection");
}

/// `get` returns existing records in the order first requested, each once.
pub async fn get_semantics(store: &dyn VectorStore, name_prefix: &str) {
    let name = collection_name(name_prefix, "get");
    let spec = spec(store, &name, 2, Metric::L2);
    fresh(store, &spec).await;
    let a = Record::new(
        RecordId::from_key("get-a"),
        vec![1.0, 2.0],
        payload(json!({"n": "a"})),
    );
    let b = Record::new(
        RecordId::from_key("get-b"),
        vec![3.0, 4.0],
        payload(json!({"n": "b"})),
    );
    must(store.upsert(&name, &[a.clone(), b.clone()]).await, "upsert");
    let missing = RecordId::from_key("get-missing");
    let got = must(store.get(&name, &[b.id, missing, a.id, b.id]).await, "get");
    assert_eq!(
        got,
        vec![b, a],
        "conformance: {name}: request order, missing skipped, repeats once"
    );
    assert!(must(store.get(&name, &[]).await, "get none").is_empty());
    must(store.drop_collection(&name).await, "drop_collection");
}
