//! Evaluating a [`Filter`] against a JSON payload: `MemoryStore`'s filter
//! engine, and the reference the other backends' translations must match.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::{Filter, Value};
use crate::Payload;

/// Whether `payload` satisfies `filter`, with the semantics of the
/// [module docs](super): null (missing or `null`) fields fail every
/// comparison, `IsNull` tests for them, and `And`/`Or`/`Not` are two-valued.
///
/// ```
/// use ai_data_vector::{filter::matches, Filter};
///
/// let with_lang = serde_json::json!({"lang": "en"});
/// let without = serde_json::json!({});
/// let (with_lang, without) = (with_lang.as_object().cloned(), without.as_object().cloned());
/// let (with_lang, without) = (with_lang.unwrap_or_default(), without.unwrap_or_default());
///
/// assert!(matches(&Filter::eq("lang", "en"), &with_lang));
/// assert!(!matches(&Filter::ne("lang", "en"), &without)); // null fails `Ne`
/// assert!(matches(&!Filter::eq("lang", "en"), &without)); // but `Not(Eq)` holds
/// assert!(matches(&Filter::is_null("lang"), &without));
/// ```
pub fn matches(filter: &Filter, payload: &Payload) -> bool {
    match filter {
        Filter::Eq(f, v) => compare(field(payload, f), v) == Some(Ordering::Equal),
        Filter::Ne(f, v) => {
            matches!(compare(field(payload, f), v), Some(o) if o != Ordering::Equal)
        }
        Filter::Lt(f, v) => compare(field(payload, f), v) == Some(Ordering::Less),
        Filter::Le(f, v) => matches!(
            compare(field(payload, f), v),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Filter::Gt(f, v) => compare(field(payload, f), v) == Some(Ordering::Greater),
        Filter::Ge(f, v) => matches!(
            compare(field(payload, f), v),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Filter::In(f, values) => {
            let json = field(payload, f);
            values
                .iter()
                .any(|v| compare(json, v) == Some(Ordering::Equal))
        }
        Filter::NotIn(f, values) => match field(payload, f) {
            None => false,
            json => values
                .iter()
                .all(|v| matches!(compare(json, v), Some(o) if o != Ordering::Equal)),
        },
        Filter::ContainsAny(f, values) => match field(payload, f) {
            Some(Json::Array(items)) => items.iter().any(|item| {
                values
                    .iter()
                    .any(|v| compare(Some(item), v) == Some(Ordering::Equal))
            }),
            _ => false,
        },
        Filter::IsNull(f) => field(payload, f).is_none(),
        Filter::And(all) => all.iter().all(|s| matches(s, payload)),
        Filter::Or(any) => any.iter().any(|s| matches(s, payload)),
        Filter::Not(sub) => !matches(sub, payload),
    }
}

/// The field's value, `None` when missing or `null`.
fn field<'a>(payload: &'a Payload, name: &str) -> Option<&'a Json> {
    payload.get(name).filter(|v| !v.is_null())
}

/// Order of the payload value relative to the filter value; `None` when the
/// field is null or the types do not compare.
fn compare(json: Option<&Json>, value: &Value) -> Option<Ordering> {
    match (json?, value) {
        (Json::String(s), Value::Text(t)) => Some(s.as_str().cmp(t.as_str())),
        (Json::Number(n), Value::Int(i)) => match (n.as_i64(), n.as_u64()) {
            (Some(x), _) => Some(x.cmp(i)),
            (None, Some(_)) => Some(Ordering::Greater),
            // A float payload (declared `Float`) against an int value.
            (None, None) => n.as_f64()?.partial_cmp(&(*i as f64)),
        },
        (Json::Number(n), Value::Float(f)) => n.as_f64()?.partial_cmp(f),
        (Json::Bool(b), Value::Bool(c)) => Some(b.cmp(c)),
        // Whole microseconds on both sides (see the module docs).
        (Json::String(s), Value::Timestamp(t)) => Some(
            parse_timestamp(s)?
                .timestamp_micros()
                .cmp(&t.timestamp_micros()),
        ),
        _ => None,
    }
}

/// An RFC 3339 timestamp in UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn payload(v: Json) -> Payload {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn comparisons_on_each_type() {
        let p = payload(json!({
            "title": "Rust", "year": 2021, "score": 0.75, "ok": true,
            "at": "2024-03-01T10:00:00+01:00", "tags": ["ai", "db"], "ids": [1, 5]
        }));
        assert!(matches(&Filter::eq("title", "Rust"), &p));
        assert!(
            !matches(&Filter::eq("title", "rust"), &p),
            "text is case-sensitive"
        );
        assert!(matches(&Filter::ne("title", "Go"), &p));
        assert!(matches(&Filter::lt("year", 2022), &p));
        assert!(!matches(&Filter::lt("year", 2021), &p));
        assert!(matches(&Filter::le("year", 2021), &p));
        assert!(matches(&Filter::gt("score", 0.5), &p));
        assert!(matches(&Filter::ge("score", 0.75), &p));
        assert!(
            matches(&Filter::gt("score", 0), &p),
            "int value vs float field"
        );
        assert!(matches(&Filter::eq("ok", true), &p));
        let nine_utc = Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).single();
        let nine_utc = nine_utc.unwrap_or_default();
        assert!(
            matches(&Filter::eq("at", nine_utc), &p),
            "offsets normalise to UTC"
        );
        assert!(matches(
            &Filter::lt("at", nine_utc + chrono::Duration::seconds(1)),
            &p
        ));
        assert!(matches(&Filter::is_in("year", [2020, 2021]), &p));
        assert!(!matches(&Filter::not_in("year", [2020, 2021]), &p));
        assert!(matches(&Filter::not_in("year", [2019]), &p));
        assert!(matches(&Filter::contains_any("tags", ["x", "db"]), &p));
        assert!(!matches(&Filter::contains_any("tags", ["x"]), &p));
        assert!(matches(&Filter::contains_any("ids", [5]), &p));
    }

    #[test]
    fn null_semantics() {
        let missing = payload(json!({}));
        let null = payload(json!({"year": null, "tags": null}));
        let empty_list = payload(json!({"tags": []}));
        for p in [&missing, &null] {
            assert!(!matches(&Filter::eq("year", 1), p));
            assert!(!matches(&Filter::ne("year", 1), p));
            assert!(!matches(&Filter::lt("year", 1), p));
            assert!(!matches(&Filter::not_in("year", [1]), p));
            assert!(!matches(&Filter::contains_any("tags", ["a"]), p));
            assert!(matches(&Filter::is_null("year"), p));
            assert!(matches(&!Filter::eq("year", 1), p));
        }
        assert!(!matches(&Filter::is_null("tags"), &empty_list));
        assert!(!matches(&Filter::contains_any("tags", ["a"]), &empty_list));
    }

    #[test]
    fn boolean_combinators() {
        let p = payload(json!({"a": 1, "b": 2}));
        let yes = Filter::eq("a", 1);
        let no = Filter::eq("b", 3);
        assert!(matches(&yes.clone().and(!no.clone()), &p));
        assert!(!matches(&yes.clone().and(no.clone()), &p));
        assert!(matches(&no.clone().or(yes.clone()), &p));
        assert!(!matches(&!(no.clone().or(yes.clone())), &p));
        assert!(matches(&!!yes, &p));
    }

    #[test]
    fn large_unsigned_and_mismatched_types() {
        let p = payload(json!({"n": u64::MAX, "t": "2024"}));
        assert!(matches(&Filter::gt("n", i64::MAX), &p));
        assert!(
            !matches(&Filter::eq("t", 2024), &p),
            "text never equals an int"
        );
        assert!(!matches(&Filter::ne("t", 2024), &p), "nor differs from one");
    }
}
