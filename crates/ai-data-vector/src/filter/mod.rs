//! The [`Filter`] tree over typed [`Value`]s, its builders, and the in-memory
//! evaluation every backend must agree with ([`matches()`]).
//!
//! # Semantics (the same on every backend)
//!
//! A field that is missing from a payload, or `null`, is *null*.
//!
//! - `Eq`, `Ne`, `Lt`, `Le`, `Gt`, `Ge`, `In`, `NotIn`, `ContainsAny` are
//!   **false on null**: `Ne("lang", "en")` does not match a record without
//!   `lang`. Write `Ne(..).or(IsNull(..))` to include those.
//! - `IsNull(f)` is true when `f` is missing or `null` (an empty list is not null).
//! - `And`, `Or`, `Not` are plain two-valued logic over those answers, so
//!   `Not(Eq("lang", "en"))` *does* match a record without `lang`. SQL
//!   backends must translate `Not(x)` as `NOT COALESCE(x, false)`.
//! - `ContainsAny(f, values)`: the list field `f` holds at least one of `values`.
//! - An `Int` value compares with a `Float` field numerically; text is compared
//!   byte for byte, and only `Int`, `Float` and `Timestamp` fields are ordered.
//! - **Timestamps compare at whole microseconds** (PostgreSQL's precision):
//!   the digits below a microsecond are dropped, toward the past, from the
//!   stored value and from the filter value alike ([`truncate_to_micros`]).
//!   So `Filter::eq("at", Utc::now())` matches a record written with the
//!   same `Utc::now()` (nanoseconds and all) on every backend, and
//!   `.123456999` equals `.123456`. Payloads keep the text as written.
//!
//! Validation ([`crate::validate::filter`]) rejects filters on undeclared
//! fields, with values of the wrong type, with empty `And`/`Or`/value lists,
//! and (as `Unsupported`) with operators the backend cannot express.

pub(crate) mod eval;

/// The timestamp text forms filters accept (backends that store timestamps as text parse them back with it).
pub use eval::parse_timestamp;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use eval::matches;

/// A timestamp at the precision filters compare: whole microseconds, the
/// digits below dropped toward the past (so `-0.0000005 s` becomes
/// `-0.000001 s`, on either side of 1970).
///
/// ```
/// use ai_data_vector::filter::truncate_to_micros;
/// use chrono::DateTime;
///
/// let t = DateTime::from_timestamp(1_714_564_800, 123_456_999).unwrap_or_default();
/// assert_eq!(truncate_to_micros(t).timestamp_subsec_nanos(), 123_456_000);
/// let before_1970 = DateTime::from_timestamp(-1, 999_999_500).unwrap_or_default();
/// assert_eq!(truncate_to_micros(before_1970).timestamp_subsec_nanos(), 999_999_000);
/// ```
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A typed value a filter compares with.
///
/// ```
/// use ai_data_vector::filter::Value;
///
/// assert_eq!(Value::from("en"), Value::Text("en".into()));
/// assert_eq!(Value::from(2024), Value::Int(2024));
/// assert_eq!(Value::from(0.5), Value::Float(0.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Value {
    /// Text.
    Text(String),
    /// Signed integer.
    Int(i64),
    /// Float (must be finite).
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Instant in UTC; compared at whole microseconds (see the
    /// [module docs](self)).
    Timestamp(DateTime<Utc>),
}

impl Value {
    /// Name of the value's type, for messages.
    pub const fn type_name(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Timestamp(_) => "timestamp",
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Timestamp(v)
    }
}

/// A filter operator, as listed in [`crate::Capabilities::filter_ops`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// `field = value`
    Eq,
    /// `field <> value`
    Ne,
    /// `field < value`
    Lt,
    /// `field <= value`
    Le,
    /// `field > value`
    Gt,
    /// `field >= value`
    Ge,
    /// `field` equals one of the values.
    In,
    /// `field` equals none of the values.
    NotIn,
    /// list `field` holds at least one of the values.
    ContainsAny,
    /// `field` is missing or null.
    IsNull,
    /// every sub-filter holds.
    And,
    /// at least one sub-filter holds.
    Or,
    /// the sub-filter does not hold.
    Not,
}

impl FilterOp {
    /// Every operator.
    pub const ALL: [FilterOp; 13] = [
        FilterOp::Eq,
        FilterOp::Ne,
        FilterOp::Lt,
        FilterOp::Le,
        FilterOp::Gt,
        FilterOp::Ge,
        FilterOp::In,
        FilterOp::NotIn,
        FilterOp::ContainsAny,
        FilterOp::IsNull,
        FilterOp::And,
        FilterOp::Or,
        FilterOp::Not,
    ];

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::Ne => "ne",
            FilterOp::Lt => "lt",
            FilterOp::Le => "le",
            FilterOp::Gt => "gt",
            FilterOp::Ge => "ge",
            FilterOp::In => "in",
            FilterOp::NotIn => "not_in",
            FilterOp::ContainsAny => "contains_any",
            FilterOp::IsNull => "is_null",
            FilterOp::And => "and",
            FilterOp::Or => "or",
            FilterOp::Not => "not",
        }
    }
}

impl fmt::Display for FilterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition on payload fields. See the [module docs](self) for the exact
/// semantics every backend implements.
///
/// ```
/// use ai_data_vector::Filter;
///
/// let f = Filter::eq("lang", "en")
///     .and(Filter::gt("year", 2020))
///     .and(!Filter::contains_any("tags", ["draft", "spam"]));
/// let payload = serde_json::json!({"lang": "en", "year": 2024, "tags": ["ai"]});
/// assert!(ai_data_vector::filter::matches(&f, payload.as_object().unwrap_or(&Default::default())));
/// assert_eq!(f.fields(), vec!["lang", "year", "tags"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// `field = value`
    Eq(String, Value),
    /// `field <> value` (false when the field is null)
    Ne(String, Value),
    /// `field < value`
    Lt(String, Value),
    /// `field <= value`
    Le(String, Value),
    /// `field > value`
    Gt(String, Value),
    /// `field >= value`
    Ge(String, Value),
    /// `field` equals one of the values.
    In(String, Vec<Value>),
    /// `field` is not null and equals none of the values.
    NotIn(String, Vec<Value>),
    /// list `field` holds at least one of the values.
    ContainsAny(String, Vec<Value>),
    /// `field` is missing or null.
    IsNull(String),
    /// Every sub-filter holds.
    And(Vec<Filter>),
    /// At least one sub-filter holds.
    Or(Vec<Filter>),
    /// The sub-filter does not hold.
    Not(Box<Filter>),
}

impl Filter {
    /// `field = value`
    pub fn eq(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::Eq(field.into(), value.into())
    }
    /// `field <> value`
    pub fn ne(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::Ne(field.into(), value.into())
    }
    /// `field < value`
    pub fn lt(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::Lt(field.into(), value.into())
    }
    /// `field <= value`
    pub fn le(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::Le(field.into(), value.into())
    }
    /// `field > value`
    pub fn gt(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::Gt(field.into(), value.into())
    }
    /// `field >= value`
    pub fn ge(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::Ge(field.into(), value.into())
    }
    /// `field` equals one of `values`.
    pub fn is_in<V: Into<Value>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        Filter::In(field.into(), values.into_iter().map(Into::into).collect())
    }
    /// `field` is not null and equals none of `values`.
    pub fn not_in<V: Into<Value>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        Filter::NotIn(field.into(), values.into_iter().map(Into::into).collect())
    }
    /// List `field` holds at least one of `values`.
    pub fn contains_any<V: Into<Value>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        Filter::ContainsAny(field.into(), values.into_iter().map(Into::into).collect())
    }
    /// `field` is missing or null.
    pub fn is_null(field: impl Into<String>) -> Self {
        Filter::IsNull(field.into())
    }
    /// Every filter of `filters` holds.
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Self {
        Filter::And(filters.into_iter().collect())
    }
    /// At least one filter of `filters` holds.
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Self {
        Filter::Or(filters.into_iter().collect())
    }

    /// `self AND other` (flattens into an existing `And`).
    #[must_use]
    pub fn and(self, other: Filter) -> Self {
        match self {
            Filter::And(mut all) => {
                all.push(other);
                Filter::And(all)
            }
            first => Filter::And(vec![first, other]),
        }
    }

    /// `self OR other` (flattens into an existing `Or`).
    #[must_use]
    pub fn or(self, other: Filter) -> Self {
        match self {
            Filter::Or(mut any) => {
                any.push(other);
                Filter::Or(any)
            }
            first => Filter::Or(vec![first, other]),
        }
    }

    /// `NOT self`; the same as `!self`.
    #[must_use]
    pub fn negate(self) -> Self {
        Filter::Not(Box::new(self))
    }

    /// This node's operator.
    pub const fn op(&self) -> FilterOp {
        match self {
            Filter::Eq(..) => FilterOp::Eq,
            Filter::Ne(..) => FilterOp::Ne,
            Filter::Lt(..) => FilterOp::Lt,
            Filter::Le(..) => FilterOp::Le,
            Filter::Gt(..) => FilterOp::Gt,
            Filter::Ge(..) => FilterOp::Ge,
            Filter::In(..) => FilterOp::In,
            Filter::NotIn(..) => FilterOp::NotIn,
            Filter::ContainsAny(..) => FilterOp::ContainsAny,
            Filter::IsNull(_) => FilterOp::IsNull,
            Filter::And(_) => FilterOp::And,
            Filter::Or(_) => FilterOp::Or,
            Filter::Not(_) => FilterOp::Not,
        }
    }

    /// The field this node tests, for leaf nodes.
    pub fn field(&self) -> Option<&str> {
        match self {
            Filter::Eq(f, _)
            | Filter::Ne(f, _)
            | Filter::Lt(f, _)
            | Filter::Le(f, _)
            | Filter::Gt(f, _)
            | Filter::Ge(f, _)
            | Filter::In(f, _)
            | Filter::NotIn(f, _)
            | Filter::ContainsAny(f, _)
            | Filter::IsNull(f) => Some(f),
            Filter::And(_) | Filter::Or(_) | Filter::Not(_) => None,
        }
    }

    /// Every operator used in the tree, sorted, without repeats.
    pub fn ops(&self) -> Vec<FilterOp> {
        let mut ops = Vec::new();
        self.walk(&mut |f| ops.push(f.op()));
        ops.sort_unstable();
        ops.dedup();
        ops
    }

    /// Every field the tree tests, in first-use order, without repeats.
    pub fn fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> = Vec::new();
        self.walk(&mut |f| {
            if let Some(name) = f.field() {
                if !fields.contains(&name) {
                    fields.push(name);
                }
            }
        });
        fields
    }

    /// Depth of the tree (a leaf is 1).
    pub fn depth(&self) -> usize {
        match self {
            Filter::And(subs) | Filter::Or(subs) => {
                1 + subs.iter().map(Filter::depth).max().unwrap_or(0)
            }
            Filter::Not(sub) => 1 + sub.depth(),
            _ => 1,
        }
    }

    /// Visit every node, parents before children.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Filter)) {
        visit(self);
        match self {
            Filter::And(subs) | Filter::Or(subs) => subs.iter().for_each(|s| s.walk(visit)),
            Filter::Not(sub) => sub.walk(visit),
            _ => {}
        }
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;

    fn not(self) -> Filter {
        self.negate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_flatten_and_or() {
        let f = Filter::eq("a", 1)
            .and(Filter::eq("b", 2))
            .and(Filter::eq("c", 3));
        assert!(matches!(&f, Filter::And(all) if all.len() == 3));
        let g = Filter::eq("a", 1)
            .or(Filter::eq("b", 2))
            .or(Filter::eq("c", 3));
        assert!(matches!(&g, Filter::Or(any) if any.len() == 3));
        assert_eq!(
            !Filter::is_null("a"),
            Filter::Not(Box::new(Filter::IsNull("a".into())))
        );
    }

    #[test]
    fn ops_fields_depth() {
        let f = Filter::eq("lang", "en")
            .and(Filter::gt("year", 2020).or(!Filter::is_in("lang", ["de", "fr"])));
        assert_eq!(
            f.ops(),
            vec![
                FilterOp::Eq,
                FilterOp::Gt,
                FilterOp::In,
                FilterOp::And,
                FilterOp::Or,
                FilterOp::Not
            ]
        );
        assert_eq!(f.fields(), vec!["lang", "year"]);
        assert_eq!(f.depth(), 4);
    }

    #[test]
    fn serde_round_trip() {
        let f = Filter::eq("lang", "en").and(Filter::contains_any("tags", ["a", "b"]));
        let json = serde_json::to_string(&f).unwrap_or_default();
        let back: Option<Filter> = serde_json::from_str(&json).ok();
        assert_eq!(back, Some(f));
    }
}
