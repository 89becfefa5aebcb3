//! Timestamp precision: every backend compares timestamps at whole
//! microseconds, the digits below a microsecond dropped (toward the past),
//! in stored values and filter values alike.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use serde_json::json;

use super::check::{fresh, must, payload, pick_index, pick_metric};
use super::collection_name;
use crate::{
    CollectionSpec, FieldKind, Filter, Metric, Payload, Record, RecordId, SearchQuery, VectorStore,
};

fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
    match DateTime::from_timestamp(secs, nanos) {
        Some(t) => t,
        None => panic!("conformance: bad timestamp {secs}.{nanos}"),
    }
}

fn nanos(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Timestamps with digits below a microsecond, in payloads (as RFC 3339
/// text, `Z` and `+01:00`) and in filter values (`DateTime<Utc>` with
/// nanoseconds, as `Utc::now()` gives): `Eq` matches every record in the
/// same microsecond, and `Lt`/`Le`/`Gt`/`Ge`/`Ne`/`In` agree, on either
/// side of 1970 and of 2000 (PostgreSQL's epoch). Checked with `count` and
/// `search`.
pub async fn timestamps_compare_at_microseconds(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "timestamps");
    let spec = CollectionSpec::new(&name, 2, pick_metric(&caps, Metric::L2))
        .with_index(pick_index(&caps))
        .with_field("at", FieldKind::Timestamp);
    fresh(store, &spec).await;

    // 2024-05-01T12:00:00.123456Z: a whole microsecond.
    let base = at(1_714_564_800, 123_456_000);
    let ns = Duration::nanoseconds;
    let plus_one = match FixedOffset::east_opt(3600) {
        Some(offset) => offset,
        None => panic!("conformance: offset"),
    };
    let before_2000 = at(946_684_799, 999_999_700);
    let y2000 = at(946_684_800, 0);
    let before_1970 = at(-1, 999_999_500);
    let rows: Vec<(&str, Option<String>)> = vec![
        ("ts-0", Some(nanos(base))),
        ("ts-499", Some(nanos(base + ns(499)))),
        ("ts-500", Some(nanos(base + ns(500)))),
        ("ts-999", Some(nanos(base + ns(999)))),
        (
            "ts-offset",
            Some(
                (base + ns(700))
                    .with_timezone(&plus_one)
                    .to_rfc3339_opts(SecondsFormat::Nanos, false),
            ),
        ),
        ("ts-next", Some(nanos(base + ns(1000)))),
        ("ts-prev", Some(nanos(base - ns(1)))),
        ("ts-1999", Some(nanos(before_2000))),
        ("ts-2000", Some(nanos(y2000))),
        ("ts-1969", Some(nanos(before_1970))),
        ("ts-none", None),
    ];
    let records: Vec<Record> = rows
        .iter()
        .enumerate()
        .map(|(i, (key, value))| {
            let mut p: Payload = payload(json!({ "i": i }));
            if let Some(v) = value {
                p.insert("at".into(), json!(v));
            }
            Record::new(RecordId::from_key(key), vec![i as f32, 1.0], p)
        })
        .collect();
    let report = must(store.upsert(&name, &records).await, "upsert");
    assert!(
        report.is_complete(),
        "conformance: {name}: {:?}",
        report.failures
    );

    let set = |keys: &[&str]| -> BTreeSet<RecordId> {
        keys.iter().map(|k| RecordId::from_key(k)).collect()
    };
    let same = ["ts-0", "ts-499", "ts-500", "ts-999", "ts-offset"];
    let earlier = ["ts-prev", "ts-1999", "ts-2000", "ts-1969"];
    let with = |extra: &[&str], base: &[&str]| {
        let mut keys: Vec<&str> = base.to_vec();
        keys.extend_from_slice(extra);
        set(&keys)
    };
    let cases: Vec<(&str, Filter, BTreeSet<RecordId>)> = vec![
        (
            "eq at +700 ns",
            Filter::eq("at", base + ns(700)),
            set(&same),
        ),
        ("eq at the microsecond", Filter::eq("at", base), set(&same)),
        (
            "in",
            Filter::is_in("at", [base + ns(1), y2000 - ns(1)]),
            with(&["ts-1999"], &same),
        ),
        ("lt", Filter::lt("at", base + ns(999)), set(&earlier)),
        ("le", Filter::le("at", base + ns(1)), with(&earlier, &same)),
        ("gt", Filter::gt("at", base + ns(1)), set(&["ts-next"])),
        (
            "ge",
            Filter::ge("at", base + ns(999)),
            with(&["ts-next"], &same),
        ),
        (
            "ne",
            Filter::ne("at", base + ns(300)),
            with(&["ts-next"], &earlier),
        ),
        (
            "eq just before 2000",
            Filter::eq("at", y2000 - ns(1)),
            set(&["ts-1999"]),
        ),
        ("eq 2000", Filter::eq("at", y2000), set(&["ts-2000"])),
        (
            "eq just before 1970",
            Filter::eq("at", at(-1, 999_999_001)),
            set(&["ts-1969"]),
        ),
    ];
    for (what, filter, want) in cases {
        let what = format!("{name}: {what} ({filter:?})");
        let n = must(store.count(&name, Some(&filter)).await, &what);
        assert_eq!(
            n,
            want.len() as u64,
            "conformance: {what}: count (timestamps compare at whole microseconds)"
        );
        let query = SearchQuery::new(vec![0.0, 1.0], 20).with_filter(filter);
        let hits = must(store.search(&name, &query).await, &what);
        let got: BTreeSet<RecordId> = hits.iter().map(|h| h.id).collect();
        assert_eq!(
            got, want,
            "conformance: {what}: search (timestamps compare at whole microseconds)"
        );
    }
    must(store.drop_collection(&name).await, "drop_collection");
}
