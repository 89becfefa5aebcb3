//! [`Filter`] to a SQL condition over the collection's typed columns, every
//! value a bound parameter (never pasted into the SQL text).
//!
//! Semantics follow [`ai_data_vector::filter`]: a leaf on a null field is SQL `NULL`,
//! which a `WHERE` treats as false, and `Not(x)` is `NOT COALESCE(x, false)`
//! so that it stays two-valued.

use chrono::{DateTime, Utc};

use ai_data_vector::filter::{truncate_to_micros, Value};
use ai_data_vector::{CollectionSpec, Error, FieldKind, Filter, Result};

/// One bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Timestamp(DateTime<Utc>),
    TextArray(Vec<String>),
    IntArray(Vec<i64>),
    FloatArray(Vec<f64>),
    BoolArray(Vec<bool>),
    TimestampArray(Vec<DateTime<Utc>>),
}

/// A condition and its parameters, numbered from `first_param`.
#[derive(Debug)]
pub(crate) struct SqlFilter {
    pub(crate) sql: String,
    pub(crate) binds: Vec<Bind>,
}

/// Column of declared field `name`: `f<position in spec.fields>`.
pub(crate) fn column(spec: &CollectionSpec, name: &str) -> Result<(String, FieldKind)> {
    spec.fields
        .iter()
        .position(|f| f.name == name)
        .map(|i| (format!("f{i}"), spec.fields[i].kind))
        .ok_or_else(|| Error::invalid_input(format!("filter on undeclared field {name:?}")))
}

/// Translate `filter` (already validated against `spec`).
pub(crate) fn translate(
    spec: &CollectionSpec,
    filter: &Filter,
    first_param: usize,
) -> Result<SqlFilter> {
    let mut out = SqlFilter {
        sql: String::new(),
        binds: Vec::new(),
    };
    let mut next = first_param;
    out.sql = node(spec, filter, &mut out.binds, &mut next)?;
    Ok(out)
}

fn node(
    spec: &CollectionSpec,
    filter: &Filter,
    binds: &mut Vec<Bind>,
    next: &mut usize,
) -> Result<String> {
    let mut param = |bind: Bind, binds: &mut Vec<Bind>| {
        binds.push(bind);
        let p = format!("${next}");
        *next += 1;
        p
    };
    Ok(match filter {
        Filter::Eq(f, v)
        | Filter::Ne(f, v)
        | Filter::Lt(f, v)
        | Filter::Le(f, v)
        | Filter::Gt(f, v)
        | Filter::Ge(f, v) => {
            let (col, kind) = column(spec, f)?;
            let op = match filter {
                Filter::Eq(..) => "=",
                Filter::Ne(..) => "<>",
                Filter::Lt(..) => "<",
                Filter::Le(..) => "<=",
                Filter::Gt(..) => ">",
                _ => ">=",
            };
            let p = param(scalar(kind, v)?, binds);
            // Byte-wise text comparison whatever the database's collation.
            let collate = if kind == FieldKind::Text {
                " COLLATE \"C\""
            } else {
                ""
            };
            format!("({col}{collate} {op} {p})")
        }
        Filter::In(f, values) | Filter::NotIn(f, values) => {
            let (col, kind) = column(spec, f)?;
            let p = param(array(kind, values)?, binds);
            let test = format!("{col} = ANY({p})");
            if matches!(filter, Filter::In(..)) {
                format!("({test})")
            } else {
                // NULL stays NULL (false on null), as in memory.
                format!("(NOT ({test}))")
            }
        }
        Filter::ContainsAny(f, values) => {
            let (col, kind) = column(spec, f)?;
            let element = match kind {
                FieldKind::TextList => FieldKind::Text,
                FieldKind::IntList => FieldKind::Int,
                other => {
                    return Err(Error::invalid_input(format!(
                        "contains_any on non-list field {f:?} ({other})"
                    )))
                }
            };
            let p = param(array(element, values)?, binds);
            format!("({col} && {p})")
        }
        Filter::IsNull(f) => {
            let (col, _) = column(spec, f)?;
            format!("({col} IS NULL)")
        }
        Filter::And(parts) | Filter::Or(parts) => {
            let joiner = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let parts = parts
                .iter()
                .map(|p| node(spec, p, binds, next))
                .collect::<Result<Vec<_>>>()?;
            format!("({})", parts.join(joiner))
        }
        Filter::Not(inner) => format!("(NOT COALESCE({}, false))", node(spec, inner, binds, next)?),
    })
}

/// A value bound with the column's SQL type (an `Int` against a `Float`
/// column compares numerically, as in memory).
fn scalar(kind: FieldKind, value: &Value) -> Result<Bind> {
    Ok(match (kind, value) {
        (FieldKind::Text, Value::Text(s)) => Bind::Text(s.clone()),
        (FieldKind::Int, Value::Int(i)) => Bind::Int(*i),
        (FieldKind::Int, Value::Float(x)) | (FieldKind::Float, Value::Float(x)) => Bind::Float(*x),
        (FieldKind::Float, Value::Int(i)) => Bind::Float(*i as f64),
        (FieldKind::Bool, Value::Bool(b)) => Bind::Bool(*b),
        // Whole microseconds, dropped toward the past: what the generated
        // column holds (sqlx would drop them toward 2000-01-01 instead).
        (FieldKind::Timestamp, Value::Timestamp(t)) => Bind::Timestamp(truncate_to_micros(*t)),
        (kind, value) => {
            return Err(Error::invalid_input(format!(
                "a {} value cannot be compared with a {kind} field",
                value.type_name()
            )))
        }
    })
}

fn array(kind: FieldKind, values: &[Value]) -> Result<Bind> {
    for v in values {
        scalar(kind, v)?; // type check each value
    }
    let texts = || {
        values
            .iter()
            .filter_map(|v| match v {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    };
    Ok(match kind {
        FieldKind::Text => Bind::TextArray(texts()),
        FieldKind::Int if values.iter().all(|v| matches!(v, Value::Int(_))) => Bind::IntArray(
            values
                .iter()
                .filter_map(|v| match v {
                    Value::Int(i) => Some(*i),
                    _ => None,
                })
                .collect(),
        ),
        // Floats against an Int column, or any number against a Float column: compare as float8.
        FieldKind::Int | FieldKind::Float => {
            Bind::FloatArray(values.iter().filter_map(as_f64).collect())
        }
        FieldKind::Bool => Bind::BoolArray(
            values
                .iter()
                .filter_map(|v| match v {
                    Value::Bool(b) => Some(*b),
                    _ => None,
                })
                .collect(),
        ),
        FieldKind::Timestamp => Bind::TimestampArray(
            values
                .iter()
                .filter_map(|v| match v {
                    Value::Timestamp(t) => Some(truncate_to_micros(*t)),
                    _ => None,
                })
                .collect(),
        ),
        other => {
            return Err(Error::invalid_input(format!(
                "in / not_in on a {other} field"
            )))
        }
    })
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// Bind every parameter of `binds`, in order, onto a sqlx query
/// (`Query`, `QueryAs` or `QueryScalar`: they share `bind` but no trait).
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for b in $binds {
            query = match b {
                $crate::vector::sql_filter::Bind::Text(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::Int(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::Float(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::Bool(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::Timestamp(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::TextArray(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::IntArray(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::FloatArray(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::BoolArray(v) => query.bind(v),
                $crate::vector::sql_filter::Bind::TimestampArray(v) => query.bind(v),
            };
        }
        query
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_vector::Metric;

    fn spec() -> CollectionSpec {
        CollectionSpec::new("c", 2, Metric::L2)
            .with_field("lang", FieldKind::Text)
            .with_field("year", FieldKind::Int)
            .with_field("tags", FieldKind::TextList)
    }

    #[test]
    fn values_are_parameters_and_not_is_two_valued() {
        let f = Filter::eq("lang", "x'; DROP TABLE t; --")
            .and(Filter::gt("year", 2020).negate())
            .or(Filter::contains_any("tags", ["a", "b"]));
        let out = translate(&spec(), &f, 3).expect("translates");
        assert_eq!(
            out.sql,
            "(((f0 COLLATE \"C\" = $3) AND (NOT COALESCE((f1 > $4), false))) OR (f2 && $5))"
        );
        assert!(!out.sql.contains("DROP"));
        assert_eq!(out.binds[0], Bind::Text("x'; DROP TABLE t; --".into()));
        assert_eq!(out.binds[1], Bind::Int(2020));
        assert_eq!(out.binds[2], Bind::TextArray(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn undeclared_field_is_invalid_input() {
        let err = translate(&spec(), &Filter::eq("nope", 1), 1).expect_err("undeclared");
        assert_eq!(err.kind(), ai_data_vector::ErrorKind::InvalidInput);
    }
}
