//! How declared field values are stored so that Weaviate compares them
//! exactly as [`ai_data_vector::filter`] defines: text byte for byte, timestamps as
//! instants.
//!
//! `field` tokenization trims leading and trailing white space, and
//! Weaviate's null index treats an empty string as null. So a text value
//! that is empty, starts or ends with white space, or starts with
//! [`MARK`] (U+E000, a private-use character) is stored wrapped in `MARK`s;
//! every other value is stored as it is. The encoding is injective and its
//! results are never empty and never start or end with white space, so
//! `Equal` on the stored values is exact equality of the originals. Filter
//! operands go through the same [`encode_text`].

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use ai_data_vector::FieldKind;

/// The wrapping character of [`encode_text`].
pub const MARK: char = '\u{E000}';

/// The stored form of a text value (see the [module docs](self)).
///
/// ```
/// use ai_data_weaviate::values::encode_text;
///
/// assert_eq!(encode_text("en"), "en");
/// assert_eq!(encode_text(" en"), "\u{E000} en\u{E000}");
/// assert_eq!(encode_text(""), "\u{E000}\u{E000}");
/// ```
pub fn encode_text(text: &str) -> Cow<'_, str> {
    let needs = text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
        || text.starts_with(MARK);
    if needs {
        let mut out = String::with_capacity(text.len() + 2 * MARK.len_utf8());
        out.push(MARK);
        out.push_str(text);
        out.push(MARK);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// A timestamp as Weaviate's `date` takes it: RFC 3339 in UTC, at whole
/// microseconds (the digits below dropped, see
/// [`ai_data_vector::filter::truncate_to_micros`]): stored values and filter values
/// both go through here, so Weaviate compares at the precision every
/// backend does.
pub fn format_date(t: &DateTime<Utc>) -> String {
    ai_data_vector::filter::truncate_to_micros(*t).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The stored property value of a declared field's payload value (already
/// validated against the kind); `None` for null.
pub(crate) fn stored(kind: FieldKind, value: &Value) -> Option<Value> {
    if value.is_null() {
        return None;
    }
    Some(match (kind, value) {
        (FieldKind::Text, Value::String(s)) => Value::String(encode_text(s).into_owned()),
        (FieldKind::Timestamp, Value::String(s)) => {
            let t = ai_data_vector::filter::parse_timestamp(s)?;
            Value::String(format_date(&t))
        }
        (FieldKind::TextList, Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| Value::String(encode_text(s).into_owned()))
                .collect(),
        ),
        (_, other) => other.clone(),
    })
}

/// Whether a payload value fits a mirrored property's data type (mirrors
/// are written as they are, only when they fit).
pub(crate) fn fits(data_type: &str, value: &Value) -> bool {
    let date = |v: &Value| {
        v.as_str()
            .is_some_and(|s| ai_data_vector::filter::parse_timestamp(s).is_some())
    };
    let all = |v: &Value, f: &dyn Fn(&Value) -> bool| v.as_array().is_some_and(|a| a.iter().all(f));
    match data_type {
        "text" => value.is_string(),
        "text[]" => all(value, &Value::is_string),
        "int" => value.is_i64(),
        "int[]" => all(value, &Value::is_i64),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "date" => date(value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encoding_is_injective_and_trim_proof() {
        let samples = [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "\u{E000}",
            "\u{E000}a",
            "a\u{E000}",
            "\u{3000}x",
            "x\u{a0}",
            "O'Brien \"q\" \\ ;--",
            "δέλτα 🦀",
        ];
        let encoded: Vec<String> = samples
            .iter()
            .map(|s| encode_text(s).into_owned())
            .collect();
        for (i, e) in encoded.iter().enumerate() {
            assert!(!e.is_empty());
            assert_eq!(e.trim(), e, "{:?} survives trimming", samples[i]);
            for (j, f) in encoded.iter().enumerate() {
                assert_eq!(i == j, e == f, "{:?} vs {:?}", samples[i], samples[j]);
            }
        }
        assert!(matches!(encode_text("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn stored_values_and_fits() {
        assert_eq!(
            stored(FieldKind::Text, &json!("")),
            Some(json!("\u{E000}\u{E000}"))
        );
        assert_eq!(stored(FieldKind::Int, &json!(null)), None);
        assert_eq!(
            stored(FieldKind::Timestamp, &json!("2024-03-01T10:00:00+01:00")),
            Some(json!("2024-03-01T09:00:00Z"))
        );
        assert_eq!(
            stored(FieldKind::TextList, &json!([" a", "b"])),
            Some(json!(["\u{E000} a\u{E000}", "b"]))
        );
        assert!(fits("text", &json!("x")) && !fits("text", &json!(1)));
        assert!(fits("int[]", &json!([1, 2])) && !fits("int[]", &json!([1.5])));
        assert!(fits("date", &json!("2024-01-01T00:00:00Z")) && !fits("date", &json!("soon")));
        assert!(!fits("blob", &json!("x")));
    }
}
