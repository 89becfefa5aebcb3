//! Every filter operator, alone and nested, checked against expectations
//! computed in plain Rust from the generated rows (not against
//! `filter::matches`, so the memory backend is checked too).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value as Json};

use super::check::{assert_sorted, fresh, must, must_fail, pick_index, pick_metric};
use super::collection_name;
use crate::{
    CollectionSpec, ErrorKind, FieldKind, Filter, Metric, Payload, Record, RecordId, SearchQuery,
    VectorStore,
};

const N: usize = 120;
const TITLES: [&str; 5] = [
    "alpha",
    "beta",
    "O'Brien \"q\" \\ ;--",
    "δέλτα 🦀",
    "alpha beta",
];
const TAGS: [&str; 4] = ["ai", "db", "ml", "rust"];

#[derive(Debug)]
struct Row {
    id: RecordId,
    title: Option<&'static str>,
    year: Option<i64>,
    score: Option<f64>,
    active: Option<bool>,
    published: Option<DateTime<Utc>>,
    tags: Option<Vec<&'static str>>,
    ratings: Option<Vec<i64>>,
}

fn hours(h: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default() + Duration::hours(h)
}

fn row(i: usize) -> Row {
    Row {
        id: RecordId::from_key(&format!("filter-{i}")),
        title: (i % 10 < 8).then_some(TITLES[i % 5]),
        year: (i % 7 != 6).then_some(2000 + (i % 25) as i64),
        score: (i % 9 != 0).then_some((i % 13) as f64 / 4.0),
        active: (i % 11 != 0).then_some(i % 2 == 0),
        published: (i % 8 != 7).then(|| hours(i as i64 * 5)),
        tags: match i % 6 {
            5 => None,
            4 => Some(vec![]),
            _ => Some(
                TAGS.iter()
                    .enumerate()
                    .filter(|(b, _)| (i >> b) & 1 == 1)
                    .map(|(_, t)| *t)
                    .collect(),
            ),
        },
        ratings: (i % 5 != 4).then(|| vec![(i % 4) as i64, ((i / 4) % 6) as i64]),
    }
}

/// The row as a payload: `title` is `null` at i % 10 == 8 and missing at
/// 9, `active` is `null` when unset, other unset fields are missing.
fn payload(i: usize, r: &Row) -> Payload {
    let mut p = Payload::new();
    match r.title {
        Some(t) => {
            p.insert("title".into(), t.into());
        }
        None if i % 10 == 8 => {
            p.insert("title".into(), Json::Null);
        }
        None => {}
    }
    p.insert("active".into(), r.active.map_or(Json::Null, Json::Bool));
    if let Some(y) = r.year {
        p.insert("year".into(), y.into());
    }
    if let Some(s) = r.score {
        p.insert("score".into(), s.into());
    }
    if let Some(t) = r.published {
        p.insert(
            "published".into(),
            t.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
        );
    }
    if let Some(t) = &r.tags {
        p.insert("tags".into(), json!(t));
    }
    if let Some(x) = &r.ratings {
        p.insert("ratings".into(), json!(x));
    }
    p.insert("note".into(), json!({ "undeclared": i }));
    p
}

type Case = (&'static str, Filter, fn(&Row) -> bool);

fn cases() -> Vec<Case> {
    vec![
        ("eq text", Filter::eq("title", "alpha"), |r| {
            r.title == Some("alpha")
        }),
        ("eq quoted text", Filter::eq("title", TITLES[2]), |r| {
            r.title == Some(TITLES[2])
        }),
        ("eq unicode text", Filter::eq("title", TITLES[3]), |r| {
            r.title == Some(TITLES[3])
        }),
        ("eq int", Filter::eq("year", 2010), |r| r.year == Some(2010)),
        ("eq float", Filter::eq("score", 0.75), |r| {
            r.score == Some(0.75)
        }),
        ("eq bool", Filter::eq("active", true), |r| {
            r.active == Some(true)
        }),
        ("eq timestamp", Filter::eq("published", hours(50)), |r| {
            r.published == Some(hours(50))
        }),
        ("ne text", Filter::ne("title", "alpha"), |r| {
            r.title.is_some_and(|t| t != "alpha")
        }),
        ("ne int", Filter::ne("year", 2003), |r| {
            r.year.is_some_and(|y| y != 2003)
        }),
        ("ne bool", Filter::ne("active", true), |r| {
            r.active == Some(false)
        }),
        ("lt int", Filter::lt("year", 2005), |r| {
            r.year.is_some_and(|y| y < 2005)
        }),
        ("le int", Filter::le("year", 2005), |r| {
            r.year.is_some_and(|y| y <= 2005)
        }),
        ("gt int", Filter::gt("year", 2020), |r| {
            r.year.is_some_and(|y| y > 2020)
        }),
        ("ge int", Filter::ge("year", 2020), |r| {
            r.year.is_some_and(|y| y >= 2020)
        }),
        ("lt float", Filter::lt("score", 1.25), |r| {
            r.score.is_some_and(|s| s < 1.25)
        }),
        ("le float", Filter::le("score", 1.25), |r| {
            r.score.is_some_and(|s| s <= 1.25)
        }),
        ("gt float", Filter::gt("score", 2.0), |r| {
            r.score.is_some_and(|s| s > 2.0)
        }),
        ("ge float", Filter::ge("score", 2.0), |r| {
            r.score.is_some_and(|s| s >= 2.0)
        }),
        ("gt float by int", Filter::gt("score", 2), |r| {
            r.score.is_some_and(|s| s > 2.0)
        }),
        ("lt timestamp", Filter::lt("published", hours(100)), |r| {
            r.published.is_some_and(|t| t < hours(100))
        }),
        ("le timestamp", Filter::le("published", hours(100)), |r| {
            r.published.is_some_and(|t| t <= hours(100))
        }),
        ("gt timestamp", Filter::gt("published", hours(300)), |r| {
            r.published.is_some_and(|t| t > hours(300))
        }),
        ("ge timestamp", Filter::ge("published", hours(300)), |r| {
            r.published.is_some_and(|t| t >= hours(300))
        }),
        (
            "in text",
            Filter::is_in("title", ["beta", TITLES[3], "nowhere"]),
            |r| r.title.is_some_and(|t| t == "beta" || t == TITLES[3]),
        ),
        ("in int", Filter::is_in("year", [2001, 2002, 2024]), |r| {
            r.year.is_some_and(|y| [2001, 2002, 2024].contains(&y))
        }),
        (
            "not in text",
            Filter::not_in("title", ["alpha", "beta"]),
            |r| r.title.is_some_and(|t| t != "alpha" && t != "beta"),
        ),
        ("not in int", Filter::not_in("year", [2000, 2001]), |r| {
            r.year.is_some_and(|y| y > 2001)
        }),
        (
            "contains any text",
            Filter::contains_any("tags", ["ml", "rust"]),
            |r| {
                r.tags
                    .as_ref()
                    .is_some_and(|t| t.contains(&"ml") || t.contains(&"rust"))
            },
        ),
        (
            "contains any int",
            Filter::contains_any("ratings", [0, 5]),
            |r| {
                r.ratings
                    .as_ref()
                    .is_some_and(|x| x.contains(&0) || x.contains(&5))
            },
        ),
        (
            "contains any, no match",
            Filter::contains_any("tags", ["zzz"]),
            |_| false,
        ),
        ("is null text", Filter::is_null("title"), |r| {
            r.title.is_none()
        }),
        (
            "is null list (empty is not null)",
            Filter::is_null("tags"),
            |r| r.tags.is_none(),
        ),
        ("is null bool", Filter::is_null("active"), |r| {
            r.active.is_none()
        }),
        (
            "and",
            Filter::eq("active", true).and(Filter::gt("year", 2010)),
            |r| r.active == Some(true) && r.year.is_some_and(|y| y > 2010),
        ),
        (
            "or",
            Filter::eq("title", "alpha").or(Filter::contains_any("tags", ["db"])),
            |r| r.title == Some("alpha") || r.tags.as_ref().is_some_and(|t| t.contains(&"db")),
        ),
        (
            "not eq (matches nulls)",
            !Filter::eq("title", "alpha"),
            |r| r.title != Some("alpha"),
        ),
        ("not ne (matches nulls)", !Filter::ne("year", 2003), |r| {
            r.year.is_none_or(|y| y == 2003)
        }),
        (
            "not (and (or))",
            !Filter::eq("active", true).and(Filter::ge("score", 1.0).or(Filter::is_null("tags"))),
            |r| {
                !(r.active == Some(true) && (r.score.is_some_and(|s| s >= 1.0) || r.tags.is_none()))
            },
        ),
        (
            "or of ands",
            Filter::any([
                Filter::eq("title", "beta").and(Filter::lt("year", 2010)),
                Filter::not_in("title", ["alpha"]).and(Filter::contains_any("ratings", [3])),
                Filter::is_null("published"),
            ]),
            |r| {
                (r.title == Some("beta") && r.year.is_some_and(|y| y < 2010))
                    || (r.title.is_some_and(|t| t != "alpha")
                        && r.ratings.as_ref().is_some_and(|x| x.contains(&3)))
                    || r.published.is_none()
            },
        ),
        ("double not", !!Filter::eq("year", 2004), |r| {
            r.year == Some(2004)
        }),
        (
            "and of or and not",
            Filter::all([
                Filter::ge("year", 2002),
                Filter::is_in("title", ["beta", "alpha beta"]).or(!Filter::is_null("ratings")),
                !Filter::contains_any("tags", ["ai"]),
            ]),
            |r| {
                r.year.is_some_and(|y| y >= 2002)
                    && (r.title.is_some_and(|t| t == "beta" || t == "alpha beta")
                        || r.ratings.is_some())
                    && !r.tags.as_ref().is_some_and(|t| t.contains(&"ai"))
            },
        ),
        (
            "eq exact, not a word match",
            Filter::eq("title", "alpha").and(Filter::ne("title", "alpha beta")),
            |r| r.title == Some("alpha"),
        ),
    ]
}

/// 120 records with a field of every kind (some missing, some `null`);
/// each of ~40 filters, every operator alone and nested, must select
/// exactly the expected ids through `count` and through `search`. A
/// filter using an operator the backend does not list must fail with
/// `Unsupported` (never a different answer).
pub async fn filter_operators(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "filter_ops");
    let spec = CollectionSpec::new(&name, 4, pick_metric(&caps, Metric::L2))
        .with_index(pick_index(&caps))
        .with_field("title", FieldKind::Text)
        .with_field("year", FieldKind::Int)
        .with_field("score", FieldKind::Float)
        .with_field("active", FieldKind::Bool)
        .with_field("published", FieldKind::Timestamp)
        .with_field("tags", FieldKind::TextList)
        .with_field("ratings", FieldKind::IntList);
    fresh(store, &spec).await;
    let rows: Vec<Row> = (0..N).map(row).collect();
    let records: Vec<Record> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let v = vec![
                i as f32 / N as f32,
                (i % 7) as f32 / 7.0,
                (i % 3) as f32 - 1.0,
                1.0,
            ];
            Record::new(r.id, v, payload(i, r))
        })
        .collect();
    let report = must(store.upsert(&name, &records).await, "upsert filter rows");
    assert!(
        report.is_complete(),
        "conformance: {name}: {:?}",
        report.failures
    );

    let k = N.min(caps.max_k);
    let query = SearchQuery::new(vec![0.5, 0.5, 0.0, 1.0], k).with_payloads(false);
    for (label, filter, predicate) in cases() {
        let what = format!("{name}: filter {label} ({filter:?})");
        if let Some(op) = filter
            .ops()
            .into_iter()
            .find(|op| !caps.supports_filter_op(*op))
        {
            must_fail(
                store.count(&name, Some(&filter)).await,
                ErrorKind::Unsupported,
                format_args!("{what} uses unsupported `{op}`"),
            );
            let q = query.clone().with_filter(filter.clone());
            must_fail(
                store.search(&name, &q).await,
                ErrorKind::Unsupported,
                format_args!("{what} uses unsupported `{op}`"),
            );
            continue;
        }
        let expected: BTreeSet<RecordId> =
            rows.iter().filter(|r| predicate(r)).map(|r| r.id).collect();
        let counted = must(
            store.count(&name, Some(&filter)).await,
            format_args!("count {what}"),
        );
        assert_eq!(counted, expected.len() as u64, "conformance: count {what}");
        let hits = must(
            store
                .search(&name, &query.clone().with_filter(filter.clone()))
                .await,
            format_args!("search {what}"),
        );
        assert_sorted(&hits, &what);
        let got: BTreeSet<RecordId> = hits.iter().map(|h| h.id).collect();
        assert_eq!(
            got.len(),
            hits.len(),
            "conformance: search {what}: repeated ids"
        );
        if expected.len() <= k {
            assert_eq!(got, expected, "conformance: search {what}");
        } else {
            assert!(
                got.is_subset(&expected) && got.len() == k,
                "conformance: search {what}"
            );
        }
    }
    must(store.drop_collection(&name).await, "drop_collection");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_is_discriminating_and_every_operator_is_covered() {
        let rows: Vec<Row> = (0..N).map(row).collect();
        let mut ops = BTreeSet::new();
        for (label, filter, predicate) in cases() {
            ops.extend(filter.ops());
            let n = rows.iter().filter(|r| predicate(r)).count();
            if label != "contains any, no match" {
                assert!(n > 0 && n < N, "{label} selects {n} of {N}");
            }
        }
        assert_eq!(ops.len(), crate::FilterOp::ALL.len());
    }

    #[test]
    fn expectations_agree_with_the_reference_evaluator() {
        for (i, r) in (0..N).map(|i| (i, row(i))) {
            let p = payload(i, &r);
            for (label, filter, predicate) in cases() {
                assert_eq!(
                    crate::filter::matches(&filter, &p),
                    predicate(&r),
                    "row {i}, {label}"
                );
            }
        }
    }
}
