//! Payloads come back exactly as written: every number (random and extreme
//! floats, `-0.0`, integral floats such as `1e18`, the largest integers)
//! through `get` and `search`, typed [`Collection<T>`] items equal after
//! both, and a U+0000 anywhere in a payload refused per record, the same
//! way on every backend.
//!
//! "Exactly" is stricter than `==` on [`serde_json::Value`] (which has
//! `-0.0 == 0.0`): the payload must serialise to the same JSON text as the
//! one written, so a float stays a float (`1e18` is not turned into the
//! integer `1000000000000000000`), its sign and every bit of it are kept.

use std::collections::HashMap;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::check::{fresh, must, must_fail, payload, pick_index, pick_metric};
use super::collection_name;
use crate::{
    Collection, CollectionSpec, ErrorKind, FieldKind, Filter, Metric, Payload, Record, RecordId,
    SearchQuery, Selector, VectorStore,
};

/// Floats that parsers, numeric types and JSON normalisers get wrong.
fn special_floats() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::from_bits(1),                     // 5e-324, the smallest subnormal
        -f64::from_bits(1),                    // its negative
        f64::from_bits(0x000F_FFFF_FFFF_FFFF), // the largest subnormal
        f64::EPSILON,
        1e16,
        1e18,
        -1e18,
        1e21,
        1e22,
        1e300,
        9_007_199_254_740_992.0,      // 2^53
        9_223_372_036_854_775_808.0,  // 2^63
        18_446_744_073_709_551_616.0, // 2^64
        0.1,
        1.0 / 3.0,
        0.454_569_057_927_796_67,
        2.5,
        -1.0,
        1.0,
    ]
}

/// Integers at the edges of what JSON numbers carry exactly.
fn special_integers() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(9_007_199_254_740_993_u64), // 2^53 + 1: no f64 holds it
        json!(-9_007_199_254_740_993_i64),
    ]
}

/// A finite f64 from random bits: every exponent, subnormals included.
fn any_finite(rng: &mut StdRng) -> f64 {
    loop {
        let x = f64::from_bits(rng.random::<u64>());
        if x.is_finite() {
            return x;
        }
    }
}

fn random_vector(rng: &mut StdRng, dim: usize) -> Vec<f32> {
    loop {
        let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0_f32..1.0)).collect();
        if v.iter().any(|x| x.abs() > 0.01) {
            return v;
        }
    }
}

/// The JSON text a payload serialises to (keys sorted: `serde_json::Map`
/// is ordered unless `preserve_order` is on, and then both sides are built
/// the same way).
fn text(payload: &Payload) -> String {
    serde_json::to_string(payload).unwrap_or_default()
}

/// Where two JSON values first differ, as `path: wrote X, read Y`.
fn difference(path: &str, wrote: &Value, read: &Value) -> Option<String> {
    match (wrote, read) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let sub = format!("{path}.{key}");
                match b.get(key) {
                    Some(other) => {
                        if let Some(d) = difference(&sub, value, other) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{sub}: wrote {value}, read nothing")),
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: wrote nothing, read {}", b[k]))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| difference(&format!("{path}[{i}]"), x, y)),
        _ => {
            let (a, b) = (wrote.to_string(), read.to_string());
            (a != b).then(|| format!("{path}: wrote {a}, read {b}"))
        }
    }
}

/// Panics when `read` is not exactly `wrote`, naming how many of `total`
/// differ and the first few differences.
fn assert_exact(what: &str, differences: &[String], total: usize) {
    assert!(
        differences.is_empty(),
        "conformance: {what}: {} of {total} payloads did not come back exactly, e.g.:\n  {}",
        differences.len(),
        differences
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

fn compare(id: RecordId, wrote: &Payload, read: Option<&Payload>) -> Option<String> {
    match read {
        None => Some(format!("record {id}: no payload returned")),
        Some(read) if text(read) == text(wrote) => None,
        Some(read) => Some(format!(
            "record {id}: {}",
            difference(
                "$",
                &Value::Object(wrote.clone()),
                &Value::Object(read.clone())
            )
            .unwrap_or_else(|| "same values, other text".to_owned())
        )),
    }
}

/// Random floats (uniform in `[0, 1)`, where one in ten misparses with a
/// non-round-trip parser, and random bit patterns of every magnitude),
/// subnormals, `±f64::MAX`, `-0.0`, integral floats (`1e16`, `1e18`, `2^63`)
/// and the largest integers come back from `get` and `search` as the same
/// JSON text: each value, its sign and its float-or-integer kind kept. In
/// a declared `Float` field too, and one extreme value in a record does not
/// fail a `get` of the others.
pub async fn payload_numbers_round_trip_exactly(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "exact_numbers");
    let dim = 6;
    let spec = CollectionSpec::new(&name, dim, pick_metric(&caps, Metric::Cosine))
        .with_index(pick_index(&caps))
        .with_field("x", FieldKind::Float)
        .with_field("n", FieldKind::Int);
    fresh(store, &spec).await;
    let mut rng = StdRng::seed_from_u64(17);
    let specials = special_floats();
    let integers = special_integers();
    let mut records = Vec::new();
    // One record per special float, as the declared field, a free key and
    // inside a list and a nested object.
    for (i, x) in specials.iter().enumerate() {
        let n = integers[i % integers.len()].clone();
        let n_declared = if n.is_i64() { n.clone() } else { json!(i) };
        records.push(Record::new(
            RecordId::from_key(&format!("special-{i}")),
            random_vector(&mut rng, dim),
            payload(json!({
                "x": x, "free": x, "n": n_declared, "int": n,
                "list": [x, -x, n], "nested": {"v": x, "w": [[x]]},
            })),
        ));
    }
    // Random floats, the way embeddings' scores and model outputs look.
    for i in 0..150 {
        let uniform: Vec<f64> = (0..4).map(|_| rng.random::<f64>()).collect();
        let any: Vec<f64> = (0..4).map(|_| any_finite(&mut rng)).collect();
        records.push(Record::new(
            RecordId::from_key(&format!("random-{i}")),
            random_vector(&mut rng, dim),
            payload(json!({
                "x": uniform[0], "uniform": uniform, "bits": any,
                "n": rng.random::<i64>(), "u": rng.random::<u64>(),
                "deep": {"a": {"b": [any[0], uniform[1]]}},
            })),
        ));
    }
    let all: Vec<Value> = specials
        .iter()
        .map(|x| json!(x))
        .chain(integers.iter().cloned())
        .collect();
    records.push(Record::new(
        RecordId::from_key("all-specials"),
        random_vector(&mut rng, dim),
        payload(json!({"all": all, "x": f64::MAX, "n": i64::MIN})),
    ));
    let report = must(store.upsert(&name, &records).await, "upsert numbers");
    assert!(
        report.is_complete(),
        "conformance: {name}: every number is valid JSON: {:?}",
        report.failures.first()
    );
    let wrote: HashMap<RecordId, &Record> = records.iter().map(|r| (r.id, r)).collect();

    // get: all at once (a batch holding f64::MAX), then each alone.
    let ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
    let got = must(store.get(&name, &ids).await, "get every record at once");
    assert_eq!(
        got.len(),
        records.len(),
        "conformance: {name}: get returns every record"
    );
    let differences: Vec<String> = got
        .iter()
        .filter_map(|r| compare(r.id, &wrote[&r.id].payload, Some(&r.payload)))
        .collect();
    assert_exact(&format!("{name}: get"), &differences, records.len());
    for record in records.iter().filter(|r| r.payload.contains_key("free")) {
        let got = must(store.get(&name, &[record.id]).await, "get one");
        let read = got.first().map(|r| &r.payload);
        if let Some(d) = compare(record.id, &record.payload, read) {
            panic!("conformance: {name}: get of one record: {d}");
        }
    }

    // search: every record in one answer, and each special one nearest to its own vector.
    let k = records.len().min(caps.max_k);
    let hits = must(
        store
            .search(&name, &SearchQuery::new(records[0].vector.clone(), k))
            .await,
        "search all",
    );
    if spec.index.is_exact() {
        assert_eq!(
            hits.len(),
            k,
            "conformance: {name}: an exact search returns k hits"
        );
    }
    let differences: Vec<String> = hits
        .iter()
        .filter_map(|h| compare(h.id, &wrote[&h.id].payload, h.payload.as_ref()))
        .collect();
    assert_exact(&format!("{name}: search"), &differences, hits.len());
    let special = |r: &&Record| r.payload.contains_key("free") || r.payload.contains_key("all");
    for record in records.iter().filter(special) {
        let hits = must(
            store
                .search(&name, &SearchQuery::new(record.vector.clone(), 1))
                .await,
            "search one",
        );
        let hit = hits.first();
        assert_eq!(
            hit.map(|h| h.id),
            Some(record.id),
            "conformance: {name}: a record is nearest to its own vector"
        );
        if let Some(d) = compare(
            record.id,
            &record.payload,
            hit.and_then(|h| h.payload.as_ref()),
        ) {
            panic!("conformance: {name}: search hit: {d}");
        }
    }
    must(store.drop_collection(&name).await, "drop_collection");
}

/// A service's own struct, the way a document's metadata looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TypedDoc {
    title: String,
    lang: String,
    year: i64,
    score: f64,
    weight: f32,
    views: u64,
    chunk_scores: Vec<f64>,
    tags: Vec<String>,
    source: Option<TypedSource>,
    draft: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TypedSource {
    url: String,
    relevance: f64,
    offsets: Vec<u32>,
}

fn typed_doc(rng: &mut StdRng, i: usize) -> TypedDoc {
    let langs = ["en", "de", "fr", "ja"];
    TypedDoc {
        title: format!("document {i}: «{}»", rng.random::<u32>()),
        lang: langs[i % langs.len()].to_owned(),
        year: rng.random_range(1990..2030),
        score: rng.random::<f64>(),
        weight: rng.random::<f32>(),
        views: rng.random::<u64>(),
        chunk_scores: (0..rng.random_range(0..6))
            .map(|_| rng.random::<f64>())
            .collect(),
        tags: (0..i % 3).map(|t| format!("tag-{t}")).collect(),
        source: (i % 2 == 0).then(|| TypedSource {
            url: format!("https://example.invalid/doc/{i}?q=a&b=\"c\""),
            relevance: rng.random::<f64>() * 1e-3,
            offsets: vec![0, rng.random::<u32>()],
        }),
        draft: i % 5 == 0,
    }
}

/// 300 structs written through [`Collection<T>`] are equal (`==`) after
/// `Collection::get` and `Collection::search`: no float of them is off by
/// one ulp. Takes the store as an `Arc` (what `Collection` holds), so it is
/// not part of [`super::run_all`]: call it beside it.
pub async fn typed_collection_round_trip(store: Arc<dyn VectorStore>, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "typed_exact");
    let dim = 8;
    let spec = CollectionSpec::new(&name, dim, pick_metric(&caps, Metric::Cosine))
        .with_index(pick_index(&caps))
        .with_field("lang", FieldKind::Text)
        .with_field("score", FieldKind::Float);
    fresh(store.as_ref(), &spec).await;
    let docs: Collection<TypedDoc> = Collection::new(store.clone(), &name);
    let mut rng = StdRng::seed_from_u64(300);
    let items: Vec<(RecordId, Vec<f32>, TypedDoc)> = (0..300)
        .map(|i| {
            let id = RecordId::from_key(&format!("typed-{i}"));
            (id, random_vector(&mut rng, dim), typed_doc(&mut rng, i))
        })
        .collect();
    let written = must(docs.upsert(items.clone()).await, "typed upsert");
    assert!(
        written.is_complete() && written.upserted == 300,
        "conformance: {name}: typed upsert: {:?}",
        written.failures.first()
    );
    let by_id: HashMap<RecordId, &TypedDoc> = items.iter().map(|(id, _, d)| (*id, d)).collect();
    let ids: Vec<RecordId> = items.iter().map(|(id, _, _)| *id).collect();
    let got = must(docs.get(&ids).await, "typed get");
    assert_eq!(got.len(), 300, "conformance: {name}: typed get count");
    let unequal: Vec<String> = got
        .iter()
        .filter(|r| by_id[&r.id] != &r.item)
        .map(|r| format!("{}: wrote {:?}, read {:?}", r.id, by_id[&r.id], r.item))
        .collect();
    assert!(
        unequal.is_empty(),
        "conformance: {name}: {} of 300 typed items differ after get, e.g. {}",
        unequal.len(),
        unequal.first().cloned().unwrap_or_default()
    );
    // One search returning all 300, then every tenth item nearest to its own vector.
    for (i, (id, vector, doc)) in items.iter().enumerate().step_by(10) {
        let k = if i == 0 { 300.min(caps.max_k) } else { 1 };
        let hits = must(
            docs.search(&SearchQuery::new(vector.clone(), k).with_payloads(false))
                .await,
            "typed search",
        );
        assert_eq!(
            hits.first().map(|h| h.id),
            Some(*id),
            "conformance: {name}: a record is nearest to its own vector"
        );
        assert_eq!(
            &hits[0].item, doc,
            "conformance: {name}: typed item after search"
        );
        let unequal = hits.iter().filter(|h| by_id[&h.id] != &h.item).count();
        assert_eq!(
            unequal,
            0,
            "conformance: {name}: {unequal} of {} typed hits differ after search",
            hits.len()
        );
    }
    let filtered = must(
        docs.search(
            &SearchQuery::new(items[1].1.clone(), 300.min(caps.max_k))
                .with_filter(Filter::eq("lang", "de")),
        )
        .await,
        "typed filtered search",
    );
    assert!(
        !filtered.is_empty() && filtered.iter().all(|h| by_id[&h.id] == &h.item),
        "conformance: {name}: typed items after a filtered search"
    );
    must(store.drop_collection(&name).await, "drop_collection");
}

/// A U+0000 in any string of a payload (a value, a key, nested in objects
/// and lists, a declared text field) makes that record a per-record
/// `InvalidInput` failure naming it, on every backend (PostgreSQL cannot
/// store it, so no backend does); the other records of the batch are
/// written. A filter value with U+0000 is `InvalidInput` too.
pub async fn nul_in_payload_is_rejected_per_record(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "nul");
    let spec = CollectionSpec::new(&name, 3, pick_metric(&caps, Metric::L2))
        .with_index(pick_index(&caps))
        .with_field("title", FieldKind::Text)
        .with_field("tags", FieldKind::TextList);
    fresh(store, &spec).await;
    let record = |key: &str, vector: Vec<f32>, p: Value| {
        Record::new(RecordId::from_key(key), vector, payload(p))
    };
    let records = vec![
        record(
            "nul-good-1",
            vec![1.0, 0.0, 0.0],
            json!({"title": "good", "n": 1.5}),
        ),
        record("nul-value", vec![0.0, 1.0, 0.0], json!({"note": "a\u{0}b"})),
        record("nul-key", vec![0.0, 0.0, 1.0], json!({"k\u{0}ey": 1})),
        record(
            "nul-nested",
            vec![1.0, 1.0, 0.0],
            json!({"deep": {"list": ["ok", {"x": ["\u{0}"]}]}}),
        ),
        record(
            "nul-declared",
            vec![0.0, 1.0, 1.0],
            json!({"title": "\u{0}"}),
        ),
        record(
            "nul-list",
            vec![1.0, 0.0, 1.0],
            json!({"tags": ["a", "b\u{0}"]}),
        ),
        record(
            "nul-good-2",
            vec![1.0, 1.0, 1.0],
            json!({"title": "also good", "s": "\\u0000 is text"}),
        ),
    ];
    let report = must(store.upsert(&name, &records).await, "upsert with NULs");
    let failed: Vec<(usize, RecordId, ErrorKind)> = report
        .failures
        .iter()
        .map(|f| (f.index, f.id, f.error.kind()))
        .collect();
    let want: Vec<(usize, RecordId, ErrorKind)> = (1..=5)
        .map(|i| (i, records[i].id, ErrorKind::InvalidInput))
        .collect();
    assert_eq!(
        failed,
        want,
        "conformance: {name}: each record with U+0000 is its own InvalidInput failure ({:?})",
        report.failures.first().map(|f| f.error.to_string())
    );
    for failure in &report.failures {
        let message = failure.error.to_string();
        assert!(
            message.contains(&failure.id.to_string()) && message.contains("U+0000"),
            "conformance: {name}: the failure names the record and the character: {message}"
        );
    }
    assert_eq!(
        report.upserted, 2,
        "conformance: {name}: the good records count"
    );
    let good = [records[0].clone(), records[6].clone()];
    let ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
    assert_eq!(
        must(store.get(&name, &ids).await, "get after NULs"),
        good.to_vec(),
        "conformance: {name}: the good records are written, the others not"
    );
    assert_eq!(must(store.count(&name, None).await, "count"), 2);
    let bad = Filter::eq("title", "a\u{0}b");
    must_fail(
        store
            .search(
                &name,
                &SearchQuery::new(vec![1.0, 0.0, 0.0], 2).with_filter(bad.clone()),
            )
            .await,
        ErrorKind::InvalidInput,
        format_args!("{name}: search with a U+0000 filter value"),
    );
    must_fail(
        store.count(&name, Some(&bad)).await,
        ErrorKind::InvalidInput,
        format_args!("{name}: count with a U+0000 filter value"),
    );
    must_fail(
        store
            .delete(
                &name,
                Selector::Filter(Filter::contains_any("tags", ["\u{0}"])),
            )
            .await,
        ErrorKind::InvalidInput,
        format_args!("{name}: delete with a U+0000 filter value"),
    );
    assert_eq!(must(store.count(&name, None).await, "count"), 2);
    must(store.drop_collection(&name).await, "drop_collection");
}
