//! GraphQL queries for Weaviate's `POST /v1/graphql`, and their replies.
//!
//! Filter values must be written inline (Weaviate does not take GraphQL
//! variables for them), so this is an injection surface. The rules:
//!
//! - **every string** goes through [`write_string`], the one function that
//!   places text into a query (quoted, with `"`, `\` and control characters
//!   escaped); it is fuzzed (`tests/weaviate_graphql_escape.rs`, 10,000
//!   proptest cases parsed with a real GraphQL parser);
//! - names (class, properties) are checked against GraphQL's name grammar
//!   ([`check_name`]) and never quoted;
//! - operators are fixed enum literals; numbers are formatted from `i64` /
//!   finite `f32` / `f64`.

use std::fmt::Write;

use serde_json::Value as Json;

use super::filter::{Leaf, Where, WhereValue};
use ai_data_vector::{Error, ErrorKind, Result};

/// Append `text` to `out` as a GraphQL string literal: `"` + escaped text +
/// `"`. Quotes and backslashes are escaped, control characters (U+0000 to
/// U+001F, U+007F) written as `\uXXXX`, everything else (all of Unicode,
/// including characters outside the BMP) is copied as UTF-8.
///
/// ```
/// use ai_data_weaviate::graphql::write_string;
///
/// let mut q = String::new();
/// write_string(&mut q, "say \"hi\"\n} { Get");
/// assert_eq!(q, r#""say \"hi\"\u000a} { Get""#);
/// ```
pub fn write_string(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Every control character as `\uXXXX`: parsers disagree on
            // the short forms (graphql-parser reads `\b` as U+0010).
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `name` is a GraphQL name (`^[_A-Za-z][_0-9A-Za-z]*$`), so it can be
/// written into a query unquoted; else `InvalidInput`.
pub fn check_name(name: &str) -> Result<&str> {
    let mut chars = name.chars();
    let first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with("__") {
        Ok(name)
    } else {
        Err(Error::invalid_input(format!(
            "{name:?} is not a GraphQL name"
        )))
    }
}

/// What `_additional` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Additional {
    /// The object id.
    pub id: bool,
    /// The distance to the `nearVector`.
    pub distance: bool,
    /// The stored vector.
    pub vector: bool,
}

/// A `Get` query.
#[derive(Debug, Clone, PartialEq)]
pub struct GetQuery<'a> {
    /// The class.
    pub class: &'a str,
    /// `limit`.
    pub limit: usize,
    /// `nearVector: {vector, distance}`.
    pub near_vector: Option<(&'a [f32], Option<f64>)>,
    /// `where`.
    pub filter: Option<&'a Where>,
    /// Properties to return.
    pub properties: &'a [&'a str],
    /// `_additional` fields to return.
    pub additional: Additional,
}

impl GetQuery<'_> {
    /// The query text.
    ///
    /// ```
    /// use ai_data_weaviate::graphql::{Additional, GetQuery};
    ///
    /// let query = GetQuery {
    ///     class: "Document",
    ///     limit: 2,
    ///     near_vector: Some((&[0.5, -1.0], Some(0.35))),
    ///     filter: None,
    ///     properties: &["title"],
    ///     additional: Additional { id: true, distance: true, vector: false },
    /// };
    /// assert_eq!(
    ///     query.to_query()?,
    ///     "{ Get { Document(limit: 2, nearVector: {vector: [0.5,-1.0], distance: 0.35}) { title _additional { id distance } } } }"
    /// );
    /// # Ok::<(), ai_data_vector::Error>(())
    /// ```
    pub fn to_query(&self) -> Result<String> {
        let vector_len = self.near_vector.map_or(0, |(v, _)| v.len());
        let mut q = String::with_capacity(200 + vector_len * 12);
        q.push_str("{ Get { ");
        q.push_str(check_name(self.class)?);
        let _ = write!(q, "(limit: {}", self.limit);
        if let Some((vector, distance)) = self.near_vector {
            if vector.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid_input(
                    "query vector has a non-finite component",
                ));
            }
            q.push_str(", nearVector: {vector: ");
            q.push_str(&ai_data_vector::wire::encode_json(vector));
            if let Some(d) = distance {
                q.push_str(", distance: ");
                write_float(&mut q, d)?;
            }
            q.push('}');
        }
        if let Some(filter) = self.filter {
            q.push_str(", where: ");
            write_where(&mut q, filter)?;
        }
        q.push_str(") {");
        for property in self.properties {
            q.push(' ');
            q.push_str(check_name(property)?);
        }
        let a = self.additional;
        if a.id || a.distance || a.vector {
            q.push_str(" _additional {");
            for (on, name) in [
                (a.id, " id"),
                (a.distance, " distance"),
                (a.vector, " vector"),
            ] {
                if on {
                    q.push_str(name);
                }
            }
            q.push_str(" }");
        }
        q.push_str(" } } }");
        Ok(q)
    }
}

/// The body of `POST /v1/graphql` for `query`: `{"query": "..."}`.
///
/// ```
/// let body = ai_data_weaviate::graphql::request_body("{ Get { D { x } } }");
/// assert_eq!(body, br#"{"query":"{ Get { D { x } } }"}"#);
/// ```
pub fn request_body(query: &str) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        query: &'a str,
    }
    // Serialising a struct of one string cannot fail.
    serde_json::to_vec(&Body { query }).unwrap_or_default()
}

/// `{ Aggregate { Class(where: ..) { meta { count } } } }`.
pub fn count_query(class: &str, filter: Option<&Where>) -> Result<String> {
    let mut q = String::with_capacity(96);
    q.push_str("{ Aggregate { ");
    q.push_str(check_name(class)?);
    if let Some(filter) = filter {
        q.push_str("(where: ");
        write_where(&mut q, filter)?;
        q.push(')');
    }
    q.push_str(" { meta { count } } } }");
    Ok(q)
}

/// Append a `where` argument value.
pub fn write_where(q: &mut String, filter: &Where) -> Result<()> {
    match filter {
        Where::And(ops) | Where::Or(ops) => {
            let op = if matches!(filter, Where::And(_)) {
                "And"
            } else {
                "Or"
            };
            let _ = write!(q, "{{operator: {op}, operands: [");
            for (i, operand) in ops.iter().enumerate() {
                if i > 0 {
                    q.push_str(", ");
                }
                write_where(q, operand)?;
            }
            q.push_str("]}");
        }
        Where::Leaf(leaf) => write_leaf(q, leaf)?,
    }
    Ok(())
}

fn write_leaf(q: &mut String, leaf: &Leaf) -> Result<()> {
    q.push_str("{path: [");
    write_string(q, &leaf.path);
    let _ = write!(q, "], operator: {}, ", leaf.operator.as_str());
    match &leaf.value {
        WhereValue::Text(s) => {
            q.push_str("valueText: ");
            write_string(q, s);
        }
        WhereValue::Date(s) => {
            q.push_str("valueDate: ");
            write_string(q, s);
        }
        WhereValue::Int(i) => {
            let _ = write!(q, "valueInt: {i}");
        }
        WhereValue::Number(x) => {
            q.push_str("valueNumber: ");
            write_float(q, *x)?;
        }
        WhereValue::Boolean(b) => {
            let _ = write!(q, "valueBoolean: {b}");
        }
        WhereValue::TextArray(items) => {
            q.push_str("valueText: [");
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    q.push_str(", ");
                }
                write_string(q, s);
            }
            q.push(']');
        }
        WhereValue::IntArray(items) => {
            q.push_str("valueInt: [");
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    q.push_str(", ");
                }
                let _ = write!(q, "{x}");
            }
            q.push(']');
        }
    }
    q.push('}');
    Ok(())
}

/// A finite `f64` as a GraphQL float literal (`1.0`, `2.5e-7`).
fn write_float(q: &mut String, x: f64) -> Result<()> {
    if !x.is_finite() {
        return Err(Error::invalid_input(format!("{x} is not a finite number")));
    }
    // serde_json writes the shortest round-trip form, always with a `.` or
    // an exponent, which is a valid GraphQL FloatValue.
    q.push_str(&serde_json::to_string(&x).unwrap_or_else(|_| "0.0".into()));
    Ok(())
}

/// The `data` of a GraphQL reply; any `errors` (Weaviate sends them with
/// HTTP 200) make it an error: `NotFound` (target: the class) when the
/// query named a class that does not exist, else `Backend`.
///
/// ```
/// use ai_data_vector::ErrorKind;
/// use ai_data_weaviate::graphql::take_data;
/// use serde_json::json;
///
/// let reply = json!({"data": {"Get": {"Doc": null}},
///     "errors": [{"message": "vector lengths don't match: 3 vs 1536", "path": ["Get", "Doc"]}]});
/// assert_eq!(take_data(reply).map_err(|e| e.kind()).err(), Some(ErrorKind::Backend));
/// let missing = json!({"errors": [{"message": "Cannot query field \"Doc\" on type \"GetObjectsObj\"."}]});
/// assert_eq!(take_data(missing).map_err(|e| e.kind()).err(), Some(ErrorKind::NotFound));
/// ```
pub fn take_data(mut reply: Json) -> Result<Json> {
    let errors: Vec<String> = reply
        .get("errors")
        .and_then(Json::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e.get("message")
                        .and_then(Json::as_str)
                        .unwrap_or("(no message)")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() {
        return Ok(reply.get_mut("data").map(Json::take).unwrap_or(Json::Null));
    }
    let message = errors.join("; ");
    let error = match unknown_class(&errors) {
        Some(class) => {
            Error::new(ErrorKind::NotFound, format!("GraphQL error: {message}")).with_target(class)
        }
        None => Error::new(ErrorKind::Backend, format!("GraphQL error: {message}")),
    };
    Err(error.with_store(ai_data_core::Store::Weaviate))
}

/// The class of a `Cannot query field "X" on type "GetObjectsObj"` (or
/// `AggregateObjectsObj`) error: what Weaviate says for an unknown class.
fn unknown_class(messages: &[String]) -> Option<String> {
    messages.iter().find_map(|m| {
        let rest = m.strip_prefix("Cannot query field \"")?;
        let (class, tail) = rest.split_once('"')?;
        let on_class_list =
            tail.contains("\"GetObjectsObj\"") || tail.contains("\"AggregateObjectsObj\"");
        on_class_list.then(|| class.to_owned())
    })
}

/// The objects of a `Get` reply's `data`.
pub fn get_objects(data: &Json, class: &str) -> Result<Vec<Json>> {
    match data.get("Get").and_then(|g| g.get(class)) {
        Some(Json::Array(items)) => Ok(items.clone()),
        Some(Json::Null) | None => Err(Error::new(
            ErrorKind::Backend,
            format!("GraphQL reply has no Get.{class} list"),
        )),
        Some(other) => Err(Error::new(
            ErrorKind::Backend,
            format!("GraphQL Get.{class} is not a list: {other}"),
        )),
    }
}

/// The count of an `Aggregate` reply's `data`.
pub fn aggregate_count(data: &Json, class: &str) -> Result<u64> {
    data.get("Aggregate")
        .and_then(|a| a.get(class))
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("meta"))
        .and_then(|m| m.get("count"))
        .and_then(Json::as_u64)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Backend,
                format!("GraphQL reply has no Aggregate.{class}[0].meta.count"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Operator;
    use serde_json::json;

    #[test]
    fn strings_are_escaped() {
        let mut q = String::new();
        write_string(&mut q, "a\"b\\c\u{0}\u{1f}\u{7f}é🦀\u{2028}");
        assert_eq!(q, "\"a\\\"b\\\\c\\u0000\\u001f\\u007fé🦀\u{2028}\"");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("_payload").is_ok());
        assert!(check_name("Doc2").is_ok());
        for bad in ["", "2x", "a-b", "a b", "__type", "a{", "é"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let query = GetQuery {
            class: "Doc) { x } } } #",
            limit: 1,
            near_vector: None,
            filter: None,
            properties: &[],
            additional: Additional::default(),
        };
        assert!(query.to_query().is_err());
    }

    #[test]
    fn where_and_count_render() {
        let w = Where::And(vec![
            Where::Leaf(Leaf {
                path: "tags".into(),
                operator: Operator::ContainsAny,
                value: WhereValue::TextArray(vec!["a".into(), "\"".into()]),
            }),
            Where::Leaf(Leaf {
                path: "score".into(),
                operator: Operator::GreaterThan,
                value: WhereValue::Number(2.0),
            }),
        ]);
        assert_eq!(
            count_query("Doc", Some(&w)).ok().as_deref(),
            Some("{ Aggregate { Doc(where: {operator: And, operands: [{path: [\"tags\"], operator: ContainsAny, valueText: [\"a\", \"\\\"\"]}, {path: [\"score\"], operator: GreaterThan, valueNumber: 2.0}]}) { meta { count } } } }")
        );
        let mut q = String::new();
        assert!(write_float(&mut q, f64::NAN).is_err());
    }

    #[test]
    fn replies_with_errors_fail_even_with_data() {
        let reply = json!({"data": {"Get": {"Doc": null}}, "errors": [{"message": "vector lengths don't match: 3 vs 1536", "path": ["Get", "Doc"]}]});
        let err = take_data(reply).expect_err("errors");
        assert_eq!(err.kind(), ErrorKind::Backend);
        assert!(err.message().contains("vector lengths"), "{err}");
        let missing = json!({"data": null, "errors": [{"message": "Cannot query field \"Doc\" on type \"GetObjectsObj\"."}]});
        assert_eq!(
            take_data(missing)
                .map_err(|e| (e.kind(), e.target().map(str::to_owned)))
                .err(),
            Some((ErrorKind::NotFound, Some("Doc".to_owned())))
        );
        let other =
            json!({"errors": [{"message": "Cannot query field \"title\" on type \"Doc\"."}]});
        assert_eq!(
            take_data(other).map_err(|e| e.kind()).err(),
            Some(ErrorKind::Backend)
        );
        let ok = take_data(json!({"data": {"Aggregate": {"Doc": [{"meta": {"count": 7}}]}}}))
            .expect("data");
        assert_eq!(aggregate_count(&ok, "Doc").ok(), Some(7));
        assert!(get_objects(&ok, "Doc").is_err());
    }
}
