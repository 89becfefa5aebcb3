//! `where` filters: one internal form ([`Cond`]) read from REST JSON,
//! GraphQL and gRPC, type-checked against the class like Weaviate does,
//! and evaluated on stored objects with Weaviate's rules: tokenization
//! decides what `Equal` compares, arrays match when some element does,
//! `IsNull` needs the null-state index and counts missing, `null`, `""`
//! and `[]` as null, and `NotEqual` changes meaning at 1.24.

use std::cmp::Ordering;

use serde_json::Value as Json;

use crate::state::{Class, Obj, Prop};
use crate::FakeError;

/// A `where` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Equal,
    NotEqual,
    GreaterThan,
    GreaterThanEqual,
    LessThan,
    LessThanEqual,
    IsNull,
    ContainsAny,
    ContainsAll,
    Like,
    WithinGeoRange,
}

impl Op {
    /// The operator named `name`, if the server version has it. `Not` and
    /// `ContainsNone` (1.33) are not operators of the versions faked here.
    pub(crate) fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "Equal" => Op::Equal,
            "NotEqual" => Op::NotEqual,
            "GreaterThan" => Op::GreaterThan,
            "GreaterThanEqual" => Op::GreaterThanEqual,
            "LessThan" => Op::LessThan,
            "LessThanEqual" => Op::LessThanEqual,
            "IsNull" => Op::IsNull,
            "ContainsAny" => Op::ContainsAny,
            "ContainsAll" => Op::ContainsAll,
            "Like" => Op::Like,
            "WithinGeoRange" => Op::WithinGeoRange,
            _ => return None,
        })
    }
}

/// The kind of a `value*` operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    Number,
    Boolean,
    Date,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Text => "valueText",
            Kind::Int => "valueInt",
            Kind::Number => "valueNumber",
            Kind::Boolean => "valueBoolean",
            Kind::Date => "valueDate",
        }
    }
}

/// A `where` filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Leaf {
        path: String,
        op: Op,
        kind: Kind,
        values: Vec<Json>,
        /// Whether the operand was given as an array.
        array: bool,
    },
}

/// Read the REST form (`WhereFilter`).
pub(crate) fn from_json(json: &Json) -> Result<Cond, FakeError> {
    let map = json
        .as_object()
        .ok_or_else(|| FakeError::unprocessable("where filter must be an object"))?;
    let operator = map
        .get("operator")
        .and_then(Json::as_str)
        .ok_or_else(|| FakeError::unprocessable("where filter without an operator"))?;
    if operator == "And" || operator == "Or" {
        let operands = map
            .get("operands")
            .and_then(Json::as_array)
            .ok_or_else(|| FakeError::unprocessable(format!("operator {operator} needs operands")))?
            .iter()
            .map(from_json)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if operator == "And" {
            Cond::And(operands)
        } else {
            Cond::Or(operands)
        });
    }
    let op = Op::parse(operator).ok_or_else(|| {
        FakeError::unprocessable(format!(
            "invalid where filter: unknown operator {operator:?}"
        ))
    })?;
    let path = read_path(map.get("path"))?;
    let keys: [(&str, Kind, bool); 12] = [
        ("valueText", Kind::Text, false),
        ("valueString", Kind::Text, false),
        ("valueInt", Kind::Int, false),
        ("valueNumber", Kind::Number, false),
        ("valueBoolean", Kind::Boolean, false),
        ("valueDate", Kind::Date, false),
        ("valueTextArray", Kind::Text, true),
        ("valueStringArray", Kind::Text, true),
        ("valueIntArray", Kind::Int, true),
        ("valueNumberArray", Kind::Number, true),
        ("valueBooleanArray", Kind::Boolean, true),
        ("valueDateArray", Kind::Date, true),
    ];
    let mut found = keys.iter().filter_map(|(key, kind, array)| {
        map.get(*key)
            .filter(|v| !v.is_null())
            .map(|v| (v, *kind, *array))
    });
    let (value, kind, array) = found
        .next()
        .ok_or_else(|| FakeError::unprocessable("invalid where filter: no value given"))?;
    if found.next().is_some() {
        return Err(FakeError::unprocessable(
            "invalid where filter: more than one value given",
        ));
    }
    let values = if array {
        value.as_array().cloned().unwrap_or_default()
    } else {
        vec![value.clone()]
    };
    Ok(Cond::Leaf {
        path,
        op,
        kind,
        values,
        array,
    })
}

fn read_path(path: Option<&Json>) -> Result<String, FakeError> {
    match path.and_then(Json::as_array).map(Vec::as_slice) {
        Some([Json::String(p)]) => Ok(p.clone()),
        Some([_, _, ..]) => Err(FakeError::unprocessable(
            "reference paths are not implemented by the fake",
        )),
        _ => Err(FakeError::unprocessable(
            "invalid where filter: path must be a one-element list",
        )),
    }
}

/// Check `cond` against `class` the way Weaviate validates a filter.
pub(crate) fn check(cond: &Cond, class: &Class, grpc: bool) -> Result<(), FakeError> {
    match cond {
        Cond::And(ops) | Cond::Or(ops) => ops.iter().try_for_each(|c| check(c, class, grpc)),
        Cond::Leaf {
            path,
            op,
            kind,
            values,
            array,
        } => {
            if matches!(op, Op::Like | Op::WithinGeoRange) {
                return Err(FakeError::unprocessable(format!(
                    "the fake does not implement the {op:?} operator"
                )));
            }
            if *array && !matches!(op, Op::ContainsAny | Op::ContainsAll) {
                return Err(FakeError::unprocessable(format!(
                    "invalid where filter: operator {op:?} does not take an array value"
                )));
            }
            if matches!(op, Op::ContainsAny | Op::ContainsAll) && values.is_empty() {
                return Err(FakeError::unprocessable(
                    "invalid where filter: empty value array",
                ));
            }
            if path == "id" || path == "_id" {
                return match kind {
                    Kind::Text => Ok(()),
                    _ => Err(FakeError::unprocessable(format!(
                        "invalid where filter: the id filter cannot use \"{}\", use \"valueText\"",
                        kind.key()
                    ))),
                };
            }
            let Some(prop) = class.prop(path) else {
                return Err(FakeError::unprocessable(format!(
                    "no such prop with name '{path}' found in class '{}' in the schema. Check your schema files for which properties in this class are available",
                    class.name
                )));
            };
            if *op == Op::IsNull {
                if !class.index_null_state {
                    return Err(FakeError::unprocessable(
                        "Nullstate must be indexed to be filterable! Add `indexNullState: true` to the invertedIndexConfig",
                    ));
                }
                if *kind != Kind::Boolean {
                    return Err(FakeError::unprocessable(
                        "invalid where filter: IsNull needs valueBoolean",
                    ));
                }
                return Ok(());
            }
            if prop.index_filterable == Some(false) {
                return Err(FakeError::unprocessable(format!(
                    "Filtering by property '{path}' requires inverted index. Is `indexFilterable` option of property '{path}' enabled?"
                )));
            }
            let want = match prop.base_type() {
                "text" | "uuid" => Kind::Text,
                "int" => Kind::Int,
                "number" => Kind::Number,
                "boolean" => Kind::Boolean,
                "date" => Kind::Date,
                other => {
                    return Err(FakeError::unprocessable(format!(
                        "the fake does not filter on data type {other:?}"
                    )))
                }
            };
            // gRPC sends dates as text.
            let ok = *kind == want || (grpc && want == Kind::Date && *kind == Kind::Text);
            if !ok {
                return Err(FakeError::unprocessable(format!(
                    "invalid 'where' filter: data type filter cannot use \"{}\" on type \"{}\", use \"{}\" instead",
                    kind.key(),
                    prop.data_type,
                    want.key()
                )));
            }
            for value in values {
                let fits = match want {
                    Kind::Text => value.is_string(),
                    Kind::Int => value.is_i64(),
                    Kind::Number => value.is_number(),
                    Kind::Boolean => value.is_boolean(),
                    Kind::Date => value.as_str().is_some_and(|s| parse_date(s).is_some()),
                };
                if !fits {
                    return Err(FakeError::unprocessable(format!(
                        "invalid 'where' filter: value {value} does not fit property '{path}' of type {}",
                        prop.data_type
                    )));
                }
            }
            Ok(())
        }
    }
}

/// Whether `obj` of `class` matches `cond` (already [`check`]ed).
/// `complement_not_equal`: 1.24+ semantics of `NotEqual`.
pub(crate) fn matches(cond: &Cond, class: &Class, obj: &Obj, complement_not_equal: bool) -> bool {
    match cond {
        Cond::And(ops) => ops
            .iter()
            .all(|c| matches(c, class, obj, complement_not_equal)),
        Cond::Or(ops) => ops
            .iter()
            .any(|c| matches(c, class, obj, complement_not_equal)),
        Cond::Leaf {
            path, op, values, ..
        } => {
            if path == "id" || path == "_id" {
                let id = obj.id.to_string();
                let hit = values.iter().any(|v| v.as_str() == Some(id.as_str()));
                return match op {
                    Op::Equal | Op::ContainsAny => hit,
                    Op::NotEqual => !hit,
                    _ => false,
                };
            }
            let Some(prop) = class.prop(path) else {
                return false;
            };
            let raw = obj.props.get(path);
            if *op == Op::IsNull {
                return is_null(raw) == (values.first() == Some(&Json::Bool(true)));
            }
            let keys = keys(prop, raw);
            let operand: Vec<Key> = values.iter().flat_map(|v| operand_keys(prop, v)).collect();
            let has = |k: &Key| keys.iter().any(|x| x.cmp_key(k) == Some(Ordering::Equal));
            match op {
                Op::Equal => !operand.is_empty() && operand.iter().all(has),
                Op::NotEqual if complement_not_equal => {
                    operand.is_empty() || !operand.iter().all(has)
                }
                Op::NotEqual => keys.iter().any(|k| {
                    !operand
                        .iter()
                        .any(|o| k.cmp_key(o) == Some(Ordering::Equal))
                }),
                Op::GreaterThan => some(&keys, &operand, |o| o == Ordering::Greater),
                Op::GreaterThanEqual => some(&keys, &operand, |o| o != Ordering::Less),
                Op::LessThan => some(&keys, &operand, |o| o == Ordering::Less),
                Op::LessThanEqual => some(&keys, &operand, |o| o != Ordering::Greater),
                Op::ContainsAny => operand.iter().any(has),
                Op::ContainsAll => !operand.is_empty() && operand.iter().all(has),
                Op::IsNull | Op::Like | Op::WithinGeoRange => false,
            }
        }
    }
}

fn some(keys: &[Key], operand: &[Key], test: impl Fn(Ordering) -> bool) -> bool {
    let Some(o) = operand.first() else {
        return false;
    };
    keys.iter().any(|k| k.cmp_key(o).is_some_and(&test))
}

/// Weaviate's null index: missing, `null`, `""` and `[]` are null.
pub(crate) fn is_null(raw: Option<&Json>) -> bool {
    match raw {
        None | Some(Json::Null) => true,
        Some(Json::String(s)) => s.is_empty(),
        Some(Json::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// An inverted-index key.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    Date(i64),
}

impl Key {
    fn cmp_key(&self, other: &Key) -> Option<Ordering> {
        match (self, other) {
            (Key::Text(a), Key::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Key::Int(a), Key::Int(b)) => Some(a.cmp(b)),
            (Key::Number(a), Key::Number(b)) => a.partial_cmp(b),
            (Key::Int(a), Key::Number(b)) => (*a as f64).partial_cmp(b),
            (Key::Number(a), Key::Int(b)) => a.partial_cmp(&(*b as f64)),
            (Key::Bool(a), Key::Bool(b)) => Some(a.cmp(b)),
            (Key::Date(a), Key::Date(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// The index keys of a stored value.
fn keys(prop: &Prop, raw: Option<&Json>) -> Vec<Key> {
    let items: Vec<&Json> = match raw {
        None | Some(Json::Null) => return Vec::new(),
        Some(Json::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
    };
    items
        .into_iter()
        .flat_map(|v| operand_keys(prop, v))
        .collect()
}

/// The keys of one value of `prop`'s type (text is tokenized).
fn operand_keys(prop: &Prop, value: &Json) -> Vec<Key> {
    match prop.base_type() {
        "text" => value
            .as_str()
            .map(|s| {
                tokenize(prop.tokenization.as_deref(), s)
                    .into_iter()
                    .map(Key::Text)
                    .collect()
            })
            .unwrap_or_default(),
        "uuid" => value
            .as_str()
            .map(|s| vec![Key::Text(s.to_owned())])
            .unwrap_or_default(),
        "int" => value.as_i64().map(Key::Int).into_iter().collect(),
        "number" => value.as_f64().map(Key::Number).into_iter().collect(),
        "boolean" => value.as_bool().map(Key::Bool).into_iter().collect(),
        "date" => value
            .as_str()
            .and_then(parse_date)
            .map(Key::Date)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// A date as nanoseconds since the epoch.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

/// Weaviate's tokenizations: `word` (default: split on anything not a
/// letter or digit, lowercase), `lowercase` and `whitespace` (split on
/// white space, the first lowercasing), `field` (trim white space).
pub(crate) fn tokenize(tokenization: Option<&str>, text: &str) -> Vec<String> {
    match tokenization.unwrap_or("word") {
        "field" => {
            let t = text.trim();
            if t.is_empty() {
                Vec::new()
            } else {
                vec![t.to_owned()]
            }
        }
        "whitespace" => text.split_whitespace().map(str::to_owned).collect(),
        "lowercase" => text.split_whitespace().map(str::to_lowercase).collect(),
        _ => text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect(),
    }
}

/// The ids a filter selects, when it is only `id` equalities (`Equal`, or
/// an `Or` of them): lets the fake look objects up instead of scanning.
pub(crate) fn id_set(cond: &Cond) -> Option<Vec<uuid::Uuid>> {
    match cond {
        Cond::Leaf {
            path,
            op: Op::Equal | Op::ContainsAny,
            values,
            ..
        } if path == "id" || path == "_id" => values
            .iter()
            .map(|v| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()))
            .collect(),
        Cond::Or(ops) => {
            let mut ids = Vec::new();
            for op in ops {
                ids.extend(id_set(op)?);
            }
            Some(ids)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizations() {
        assert_eq!(
            tokenize(None, "Alpha beta-GAMMA, δ"),
            vec!["alpha", "beta", "gamma", "δ"]
        );
        assert_eq!(tokenize(Some("field"), "  Alpha beta "), vec!["Alpha beta"]);
        assert!(tokenize(Some("field"), " \t").is_empty());
        assert_eq!(tokenize(Some("whitespace"), "A b"), vec!["A", "b"]);
        assert_eq!(tokenize(Some("lowercase"), "A b"), vec!["a", "b"]);
    }

    #[test]
    fn null_index() {
        for v in [
            None,
            Some(Json::Null),
            Some(Json::from("")),
            Some(Json::Array(vec![])),
        ] {
            assert!(is_null(v.as_ref()));
        }
        assert!(!is_null(Some(&Json::from(0))));
        assert!(!is_null(Some(&Json::from(" "))));
        assert_eq!(parse_date("1970-01-01T00:00:01Z"), Some(1_000_000_000));
    }
}
