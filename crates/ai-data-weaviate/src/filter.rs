//! [`Filter`] to Weaviate's `where` tree ([`Where`]) with exactly the
//! semantics of [`ai_data_vector::filter`].
//!
//! Weaviate has no `Not` before 1.33, its `NotEqual` changed meaning in 1.24
//! (before: "holds some value other than v", nulls excluded; from 1.24: the
//! complement of `Equal`, nulls included), and `IsNull` needs the null-state
//! index. The translation therefore:
//!
//! - pushes every `Not` down to the leaves (De Morgan), turning each negated
//!   leaf into a positive test that is exact under both `NotEqual`
//!   meanings, e.g. `Not(Eq(f, v))` = `IsNull(f) OR (NOT IsNull(f) AND NotEqual(f, v))`;
//! - guards `Ne`/`NotIn` with `IsNull(f) = false` (nulls fail comparisons);
//! - tests list fields for null through their length property, so an empty
//!   list is not null;
//! - needs the complement `NotEqual` (1.24+) only for `Not(ContainsAny)`:
//!   that is why older servers do not list `Not` in their capabilities.
//!
//! `Not` and `ContainsNone` are never sent.

use serde_json::{json, Map, Value as Json};

use super::schema::{FieldLayout, Layout};
use super::values::{encode_text, format_date};
use ai_data_vector::filter::Value;
use ai_data_vector::{Error, FieldKind, Filter, RecordId, Result};

/// A Weaviate `where` operator (the subset this backend sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operator {
    /// `Equal` (on arrays: some element equals).
    Equal,
    /// `NotEqual` (see the [module docs](self)).
    NotEqual,
    /// `GreaterThan`.
    GreaterThan,
    /// `GreaterThanEqual`.
    GreaterThanEqual,
    /// `LessThan`.
    LessThan,
    /// `LessThanEqual`.
    LessThanEqual,
    /// `IsNull` with a boolean operand.
    IsNull,
    /// `ContainsAny` with an array operand.
    ContainsAny,
}

impl Operator {
    /// The enum literal Weaviate expects.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operator::Equal => "Equal",
            Operator::NotEqual => "NotEqual",
            Operator::GreaterThan => "GreaterThan",
            Operator::GreaterThanEqual => "GreaterThanEqual",
            Operator::LessThan => "LessThan",
            Operator::LessThanEqual => "LessThanEqual",
            Operator::IsNull => "IsNull",
            Operator::ContainsAny => "ContainsAny",
        }
    }

    /// The operator true exactly where this one is false, among non-null values.
    const fn complement(self) -> Operator {
        match self {
            Operator::GreaterThan => Operator::LessThanEqual,
            Operator::GreaterThanEqual => Operator::LessThan,
            Operator::LessThan => Operator::GreaterThanEqual,
            Operator::LessThanEqual => Operator::GreaterThan,
            Operator::Equal => Operator::NotEqual,
            other => other,
        }
    }
}

/// A `where` operand.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WhereValue {
    /// `valueText` (already in stored form).
    Text(String),
    /// `valueInt`.
    Int(i64),
    /// `valueNumber`.
    Number(f64),
    /// `valueBoolean`.
    Boolean(bool),
    /// `valueDate` (RFC 3339).
    Date(String),
    /// `valueTextArray` (GraphQL: `valueText: [..]`).
    TextArray(Vec<String>),
    /// `valueIntArray` (GraphQL: `valueInt: [..]`).
    IntArray(Vec<i64>),
}

/// One comparison on a property.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// The property (`id` for the object id).
    pub path: String,
    /// The operator.
    pub operator: Operator,
    /// The operand.
    pub value: WhereValue,
}

/// A Weaviate `where` filter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Where {
    /// Every operand holds.
    And(Vec<Where>),
    /// Some operand holds.
    Or(Vec<Where>),
    /// A comparison.
    Leaf(Leaf),
}

impl Where {
    fn leaf(path: &str, operator: Operator, value: WhereValue) -> Where {
        Where::Leaf(Leaf {
            path: path.to_owned(),
            operator,
            value,
        })
    }

    fn and(mut operands: Vec<Where>) -> Where {
        if operands.len() == 1 {
            operands.remove(0)
        } else {
            Where::And(operands)
        }
    }

    fn or(mut operands: Vec<Where>) -> Where {
        if operands.len() == 1 {
            operands.remove(0)
        } else {
            Where::Or(operands)
        }
    }

    /// Objects whose id is one of `ids` (an `Or` of `Equal`s on `id`).
    ///
    /// ```
    /// use ai_data_vector::RecordId;
    /// use ai_data_weaviate::filter::Where;
    ///
    /// let w = Where::ids(&[RecordId::from_key("a")]);
    /// assert_eq!(w.to_json()["path"][0], "id");
    /// ```
    pub fn ids(ids: &[RecordId]) -> Where {
        Where::or(
            ids.iter()
                .map(|id| Where::leaf("id", Operator::Equal, WhereValue::Text(id.to_string())))
                .collect(),
        )
    }

    /// Whether some operand is a number (gRPC sends those as `float` to 1.22).
    pub fn has_number(&self) -> bool {
        match self {
            Where::And(ops) | Where::Or(ops) => ops.iter().any(Where::has_number),
            Where::Leaf(leaf) => matches!(leaf.value, WhereValue::Number(_)),
        }
    }

    /// The REST form (the OpenAPI `WhereFilter`), as `DELETE /v1/batch/objects` takes it.
    pub fn to_json(&self) -> Json {
        match self {
            Where::And(ops) | Where::Or(ops) => {
                let op = if matches!(self, Where::And(_)) {
                    "And"
                } else {
                    "Or"
                };
                json!({"operator": op, "operands": ops.iter().map(Where::to_json).collect::<Vec<_>>()})
            }
            Where::Leaf(leaf) => {
                let mut map = Map::new();
                map.insert("path".into(), json!([leaf.path]));
                map.insert("operator".into(), json!(leaf.operator.as_str()));
                let (key, value) = match &leaf.value {
                    WhereValue::Text(s) => ("valueText", json!(s)),
                    WhereValue::Int(i) => ("valueInt", json!(i)),
                    WhereValue::Number(x) => ("valueNumber", json!(x)),
                    WhereValue::Boolean(b) => ("valueBoolean", json!(b)),
                    WhereValue::Date(d) => ("valueDate", json!(d)),
                    WhereValue::TextArray(v) => ("valueTextArray", json!(v)),
                    WhereValue::IntArray(v) => ("valueIntArray", json!(v)),
                };
                map.insert(key.into(), value);
                Json::Object(map)
            }
        }
    }
}

/// Translate `filter` (validated against the collection's spec and the
/// backend's capabilities) for `layout`'s class.
pub(crate) fn translate(layout: &Layout, filter: &Filter) -> Result<Where> {
    node(layout, filter, false)
}

fn node(layout: &Layout, filter: &Filter, negated: bool) -> Result<Where> {
    let sub = |f: &Filter| node(layout, f, negated);
    Ok(match filter {
        Filter::And(subs) | Filter::Or(subs) => {
            let operands = subs.iter().map(sub).collect::<Result<Vec<_>>>()?;
            if matches!(filter, Filter::And(_)) != negated {
                Where::and(operands)
            } else {
                Where::or(operands)
            }
        }
        Filter::Not(inner) => node(layout, inner, !negated)?,
        Filter::IsNull(name) => {
            let field = layout.field(name)?;
            is_null(field, !negated)
        }
        Filter::Eq(name, v) | Filter::Ne(name, v) => {
            let field = layout.field(name)?;
            let value = scalar(field, v)?;
            let equal = Where::leaf(&field.prop, Operator::Equal, value.clone());
            let not_equal = Where::and(vec![
                is_null(field, false),
                Where::leaf(&field.prop, Operator::NotEqual, value),
            ]);
            // Eq, or Not(Ne): Equal (or null, when negated). Ne, or Not(Eq): the rest.
            match (matches!(filter, Filter::Eq(..)), negated) {
                (true, false) => equal,
                (false, false) => not_equal,
                (true, true) => Where::or(vec![is_null(field, true), not_equal]),
                (false, true) => Where::or(vec![equal, is_null(field, true)]),
            }
        }
        Filter::Lt(name, v) | Filter::Le(name, v) | Filter::Gt(name, v) | Filter::Ge(name, v) => {
            let field = layout.field(name)?;
            let op = match filter {
                Filter::Lt(..) => Operator::LessThan,
                Filter::Le(..) => Operator::LessThanEqual,
                Filter::Gt(..) => Operator::GreaterThan,
                _ => Operator::GreaterThanEqual,
            };
            let value = scalar(field, v)?;
            if negated {
                Where::or(vec![
                    Where::leaf(&field.prop, op.complement(), value),
                    is_null(field, true),
                ])
            } else {
                Where::leaf(&field.prop, op, value)
            }
        }
        Filter::In(name, values) | Filter::NotIn(name, values) => {
            let field = layout.field(name)?;
            let values = values
                .iter()
                .map(|v| scalar(field, v))
                .collect::<Result<Vec<_>>>()?;
            let any_equal = Where::or(
                values
                    .iter()
                    .map(|v| Where::leaf(&field.prop, Operator::Equal, v.clone()))
                    .collect(),
            );
            let mut none_equal = vec![is_null(field, false)];
            none_equal.extend(
                values
                    .into_iter()
                    .map(|v| Where::leaf(&field.prop, Operator::NotEqual, v)),
            );
            let none_equal = Where::and(none_equal);
            match (matches!(filter, Filter::In(..)), negated) {
                (true, false) => any_equal,
                (false, false) => none_equal,
                (true, true) => Where::or(vec![is_null(field, true), none_equal]),
                (false, true) => Where::or(vec![is_null(field, true), any_equal]),
            }
        }
        Filter::ContainsAny(name, values) => {
            let field = layout.field(name)?;
            if negated {
                // Complement `NotEqual` (1.24+): objects whose list holds
                // none of the values, null and empty lists included.
                Where::and(
                    values
                        .iter()
                        .map(|v| {
                            scalar(field, v)
                                .map(|v| Where::leaf(&field.prop, Operator::NotEqual, v))
                        })
                        .collect::<Result<Vec<_>>>()?,
                )
            } else {
                Where::leaf(&field.prop, Operator::ContainsAny, array(field, values)?)
            }
        }
    })
}

fn is_null(field: &FieldLayout, null: bool) -> Where {
    Where::leaf(
        field.null_prop(),
        Operator::IsNull,
        WhereValue::Boolean(null),
    )
}

/// One operand for `field`, in stored form.
fn scalar(field: &FieldLayout, value: &Value) -> Result<WhereValue> {
    Ok(match (field.kind, value) {
        (FieldKind::Text | FieldKind::TextList, Value::Text(s)) => {
            WhereValue::Text(encode_text(s).into_owned())
        }
        (FieldKind::Int | FieldKind::IntList, Value::Int(i)) => WhereValue::Int(*i),
        (FieldKind::Float, Value::Float(x)) => WhereValue::Number(*x),
        (FieldKind::Float, Value::Int(i)) => WhereValue::Number(*i as f64),
        (FieldKind::Bool, Value::Bool(b)) => WhereValue::Boolean(*b),
        (FieldKind::Timestamp, Value::Timestamp(t)) => WhereValue::Date(format_date(t)),
        (kind, value) => {
            return Err(Error::invalid_input(format!(
                "filter on field `{}` of type {kind} has a value of type {}",
                field.name,
                value.type_name()
            )))
        }
    })
}

fn array(field: &FieldLayout, values: &[Value]) -> Result<WhereValue> {
    let scalars = values
        .iter()
        .map(|v| scalar(field, v))
        .collect::<Result<Vec<_>>>()?;
    let mut texts = Vec::new();
    let mut ints = Vec::new();
    for s in scalars {
        match s {
            WhereValue::Text(t) => texts.push(t),
            WhereValue::Int(i) => ints.push(i),
            other => {
                return Err(Error::invalid_input(format!(
                    "`contains_any` on field `{}` with a {other:?} operand",
                    field.name
                )))
            }
        }
    }
    Ok(if ints.is_empty() {
        WhereValue::TextArray(texts)
    } else {
        WhereValue::IntArray(ints)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{class_for, ClassOptions};
    use ai_data_vector::{filter::matches, CollectionSpec, Metric, Payload};
    use serde_json::json;

    fn layout() -> Layout {
        let spec = CollectionSpec::new("c", 2, Metric::L2)
            .with_field("title", FieldKind::Text)
            .with_field("year", FieldKind::Int)
            .with_field("score", FieldKind::Float)
            .with_field("tags", FieldKind::TextList);
        let class = class_for(&spec, &ClassOptions::default()).expect("class");
        Layout::of("c", &class).expect("layout")
    }

    /// Evaluates a `Where` the way Weaviate would on a stored object, with
    /// either `NotEqual` meaning; used to check the translation is exact.
    fn eval(w: &Where, props: &Payload, complement: bool) -> bool {
        match w {
            Where::And(ops) => ops.iter().all(|o| eval(o, props, complement)),
            Where::Or(ops) => ops.iter().any(|o| eval(o, props, complement)),
            Where::Leaf(leaf) => {
                let stored: Vec<Json> = match props.get(&leaf.path) {
                    None | Some(Json::Null) => vec![],
                    Some(Json::Array(a)) => a.clone(),
                    Some(v) => vec![v.clone()],
                };
                let operand: Vec<Json> = match &leaf.value {
                    WhereValue::Text(s) | WhereValue::Date(s) => vec![json!(s)],
                    WhereValue::Int(i) => vec![json!(i)],
                    WhereValue::Number(x) => vec![json!(x)],
                    WhereValue::Boolean(b) => vec![json!(b)],
                    WhereValue::TextArray(v) => v.iter().map(|s| json!(s)).collect(),
                    WhereValue::IntArray(v) => v.iter().map(|s| json!(s)).collect(),
                };
                let num = |v: &Json| v.as_f64();
                let cmp = |a: &Json, b: &Json| match (num(a), num(b)) {
                    (Some(x), Some(y)) => x.partial_cmp(&y),
                    _ => a.as_str().zip(b.as_str()).map(|(x, y)| x.cmp(y)),
                };
                use std::cmp::Ordering::*;
                let some = |f: &dyn Fn(Option<std::cmp::Ordering>) -> bool| {
                    stored.iter().any(|s| f(cmp(s, &operand[0])))
                };
                match leaf.operator {
                    Operator::Equal => some(&|o| o == Some(Equal)),
                    Operator::NotEqual if complement => !some(&|o| o == Some(Equal)),
                    Operator::NotEqual => some(&|o| o.is_some() && o != Some(Equal)),
                    Operator::GreaterThan => some(&|o| o == Some(Greater)),
                    Operator::GreaterThanEqual => some(&|o| matches!(o, Some(Greater | Equal))),
                    Operator::LessThan => some(&|o| o == Some(Less)),
                    Operator::LessThanEqual => some(&|o| matches!(o, Some(Less | Equal))),
                    Operator::IsNull => stored.is_empty() == (operand[0] == json!(true)),
                    Operator::ContainsAny => stored.iter().any(|s| operand.contains(s)),
                }
            }
        }
    }

    fn stored(layout: &Layout, payload: &Payload) -> Payload {
        let mut out = Payload::new();
        for f in &layout.fields {
            if let Some(v) = payload
                .get(&f.name)
                .and_then(|v| super::super::values::stored(f.kind, v))
            {
                if let Some(len) = &f.length_prop {
                    out.insert(len.clone(), json!(v.as_array().map_or(0, Vec::len)));
                }
                // Weaviate's null index: empty strings and arrays are null.
                let empty = v.as_array().is_some_and(Vec::is_empty) || v == json!("");
                if !empty {
                    out.insert(f.prop.clone(), v);
                }
            }
        }
        out
    }

    #[test]
    fn translation_is_exact_under_both_not_equal_meanings() {
        let layout = layout();
        let rows: Vec<Payload> = [
            json!({}),
            json!({"title": null, "year": null, "tags": null}),
            json!({"title": "", "year": 2020, "score": 1.5, "tags": []}),
            json!({"title": "alpha", "year": 2021, "score": 2, "tags": ["a"]}),
            json!({"title": " alpha", "year": 2019, "tags": ["a", "b"]}),
            json!({"title": "alpha beta", "score": 0.5, "tags": ["b", ""]}),
        ]
        .iter()
        .map(|v| v.as_object().cloned().unwrap_or_default())
        .collect();
        let filters = [
            Filter::eq("title", "alpha"),
            Filter::eq("title", ""),
            Filter::ne("title", "alpha"),
            !Filter::eq("title", "alpha"),
            !Filter::ne("year", 2020),
            Filter::lt("year", 2021),
            !Filter::ge("score", 1),
            Filter::is_in("title", ["alpha", ""]),
            Filter::not_in("title", ["alpha"]),
            !Filter::not_in("year", [2019, 2020]),
            !Filter::is_in("year", [2021]),
            Filter::contains_any("tags", ["b", ""]),
            Filter::is_null("tags"),
            !Filter::is_null("title"),
            Filter::eq("year", 2021).or(!Filter::lt("score", 1.0).and(Filter::is_null("tags"))),
        ];
        for filter in &filters {
            let w = translate(&layout, filter).expect("translates");
            for row in &rows {
                let props = stored(&layout, row);
                let want = matches(filter, row);
                assert_eq!(
                    eval(&w, &props, true),
                    want,
                    "{filter:?} on {row:?} (1.24+)"
                );
                let needs_complement = matches!(filter, Filter::Not(inner) if matches!(**inner, Filter::ContainsAny(..)));
                if !needs_complement {
                    assert_eq!(
                        eval(&w, &props, false),
                        want,
                        "{filter:?} on {row:?} (1.22)"
                    );
                }
            }
        }
        let negated = !Filter::contains_any("tags", ["a"]);
        let w = translate(&layout, &negated).expect("translates");
        for row in &rows {
            assert_eq!(
                eval(&w, &stored(&layout, row), true),
                matches(&negated, row)
            );
        }
    }

    #[test]
    fn json_form_matches_the_rest_api() {
        let layout = layout();
        let w = translate(&layout, &Filter::ne("year", 2020)).expect("translates");
        assert_eq!(
            w.to_json(),
            json!({"operator": "And", "operands": [
                {"path": ["year"], "operator": "IsNull", "valueBoolean": false},
                {"path": ["year"], "operator": "NotEqual", "valueInt": 2020}
            ]})
        );
        let w = translate(&layout, &Filter::contains_any("tags", [" x"])).expect("translates");
        assert_eq!(
            w.to_json(),
            json!({"path": ["tags"], "operator": "ContainsAny", "valueTextArray": ["\u{E000} x\u{E000}"]})
        );
        assert!(translate(&layout, &Filter::gt("score", 1))
            .expect("ok")
            .has_number());
        assert!(!Where::ids(&[RecordId::from_key("a"), RecordId::from_key("b")]).has_number());
        let err = translate(&layout, &Filter::eq("nope", 1)).expect_err("undeclared");
        assert_eq!(err.kind(), ai_data_vector::ErrorKind::InvalidInput);
    }
}
