//! Validation every backend runs **before any I/O**, so bad input fails the
//! same way everywhere: `ErrorKind::InvalidInput` with a message naming the
//! problem, or `ErrorKind::Unsupported` for a metric, index or filter
//! operator the backend's [`Capabilities`] do not list.
//!
//! ```
//! use ai_data_vector::{validate, Capabilities, CollectionSpec, ErrorKind, Filter, Metric, SearchQuery};
//!
//! let caps = Capabilities::new(1000, 2000, 100);
//! let spec = CollectionSpec::new("docs", 3, Metric::Cosine).with_field("year", ai_data_vector::FieldKind::Int);
//!
//! assert!(validate::query(&spec, &caps, &SearchQuery::new(vec![1.0, 0.0, 0.0], 10)).is_ok());
//! let err = validate::query(&spec, &caps, &SearchQuery::new(vec![1.0, 0.0], 10)).err();
//! assert_eq!(err.as_ref().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
//! assert!(err.map(|e| e.message().contains("dimension 3")).unwrap_or(false));
//!
//! let wrong_type = Filter::eq("year", "2024");
//! assert!(validate::filter(&spec, &caps, &wrong_type).is_err());
//! assert!(validate::identifier("collection", "docs; drop table x").is_err());
//! ```

use crate::filter::{Filter, FilterOp, Value};
use crate::fusion::Fusion;
use crate::{
    Capabilities, CollectionSpec, Error, ErrorKind, FieldKind, IndexSpec, Metric, Payload,
    Precision, Record, Result, SearchMode, SearchQuery, Selector,
};

/// Longest identifier accepted (PostgreSQL's limit is 63 bytes).
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// Deepest filter tree accepted.
pub const MAX_FILTER_DEPTH: usize = 32;

/// `name` is a safe identifier: `^[A-Za-z_][A-Za-z0-9_]{0,62}$`. `what` names
/// it in the message ("collection name", "field name").
pub fn identifier(what: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok_first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let ok_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok_first && ok_rest && name.len() <= MAX_IDENTIFIER_LEN {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{what} {name:?} is not a safe identifier: it must match ^[A-Za-z_][A-Za-z0-9_]{{0,62}}$"
        )))
    }
}

/// A collection name is a safe identifier.
pub fn collection_name(name: &str) -> Result<()> {
    identifier("collection name", name)
}

/// A spec a backend can create: safe names, a dimension within
/// `1..=max_dimension`, positive index parameters, unique field names, and a
/// metric and index kind the backend supports (`Unsupported` otherwise).
pub fn collection_spec(spec: &CollectionSpec, caps: &Capabilities) -> Result<()> {
    collection_name(&spec.name)?;
    if spec.dimension == 0 || spec.dimension > caps.max_dimension {
        return Err(Error::invalid_input(format!(
            "collection `{}`: dimension {} is outside 1..={}",
            spec.name, spec.dimension, caps.max_dimension
        )));
    }
    if !caps.supports_metric(spec.metric) {
        return Err(Error::unsupported(format!(
            "collection `{}`: this backend does not support the {} metric",
            spec.name, spec.metric
        )));
    }
    if !caps.supports_index(spec.index.kind()) {
        return Err(Error::unsupported(format!(
            "collection `{}`: this backend does not support {:?} indexes",
            spec.name,
            spec.index.kind()
        )));
    }
    let zero_param = match spec.index {
        IndexSpec::Hnsw { m, ef_construction } => m == 0 || ef_construction == 0,
        IndexSpec::IvfFlat { lists } => lists == 0,
        IndexSpec::Exact => false,
    };
    if zero_param {
        return Err(Error::invalid_input(format!(
            "collection `{}`: index parameters must be positive, got {:?}",
            spec.name, spec.index
        )));
    }
    for (i, field) in spec.fields.iter().enumerate() {
        identifier("field name", &field.name)?;
        if spec.fields[..i].iter().any(|f| f.name == field.name) {
            return Err(Error::invalid_input(format!(
                "collection `{}`: field `{}` is declared twice",
                spec.name, field.name
            )));
        }
    }
    if spec.embedding_model.as_deref().is_some_and(str::is_empty) {
        return Err(Error::invalid_input(format!(
            "collection `{}`: embedding model name is empty",
            spec.name
        )));
    }
    storage(spec, caps)?;
    text_search(spec, caps)
}

/// The precision is supported, and an indexed `F32` collection is within
/// the backend's indexed dimension limit.
fn storage(spec: &CollectionSpec, caps: &Capabilities) -> Result<()> {
    if !caps.supports_precision(spec.precision) {
        return Err(Error::unsupported(format!(
            "collection `{}`: this backend does not store {} vectors",
            spec.name, spec.precision
        )));
    }
    if let Some(limit) = caps.max_indexed_f32_dimension {
        let indexed = !spec.index.is_exact();
        if indexed && spec.precision == Precision::F32 && spec.dimension > limit {
            return Err(Error::invalid_input(format!(
                "collection `{}`: an indexed f32 collection has at most {limit} dimensions, not {} \
                 (use Precision::F16, which indexes up to {}, or an exact index)",
                spec.name, spec.dimension, caps.max_dimension
            )));
        }
    }
    Ok(())
}

/// Text search, if declared: supported by the backend with this analyzer,
/// over at least one field, each a declared `Text` field named once.
fn text_search(spec: &CollectionSpec, caps: &Capabilities) -> Result<()> {
    let Some(search) = &spec.text_search else {
        return Ok(());
    };
    if !caps.supports_analyzer(search.analyzer) {
        return Err(Error::unsupported(format!(
            "collection `{}`: this backend has no keyword search with the {} analyzer",
            spec.name, search.analyzer
        )));
    }
    if search.fields.is_empty() {
        return Err(Error::invalid_input(format!(
            "collection `{}`: text search names no fields",
            spec.name
        )));
    }
    for (i, name) in search.fields.iter().enumerate() {
        if search.fields[..i].contains(name) {
            return Err(Error::invalid_input(format!(
                "collection `{}`: text search names field `{name}` twice",
                spec.name
            )));
        }
        if spec.field(name).map(|f| f.kind) != Some(FieldKind::Text) {
            return Err(Error::invalid_input(format!(
                "collection `{}`: text search field `{name}` is not a declared text field",
                spec.name
            )));
        }
    }
    Ok(())
}

/// Whether an existing collection may be reused for `requested`: the same
/// dimension, metric and field set (any order), and the same embedding model
/// when both name one. The index may differ (the existing one is kept).
/// A mismatch is `ErrorKind::Conflict`.
pub fn compatible(existing: &CollectionSpec, requested: &CollectionSpec) -> Result<()> {
    let conflict = |what: String| {
        Err(Error::new(
            ErrorKind::Conflict,
            format!("collection `{}` already exists with {what}", existing.name),
        ))
    };
    if existing.dimension != requested.dimension {
        return conflict(format!(
            "dimension {}, not {}",
            existing.dimension, requested.dimension
        ));
    }
    if existing.metric != requested.metric {
        return conflict(format!(
            "metric {}, not {}",
            existing.metric, requested.metric
        ));
    }
    let same_fields = existing.fields.len() == requested.fields.len()
        && requested.fields.iter().all(|f| existing.fields.contains(f));
    if !same_fields {
        return conflict(format!(
            "fields {:?}, not {:?}",
            existing.fields, requested.fields
        ));
    }
    if let (Some(a), Some(b)) = (&existing.embedding_model, &requested.embedding_model) {
        if a != b {
            return conflict(format!("embedding model {a:?}, not {b:?}"));
        }
    }
    if existing.precision != requested.precision {
        return conflict(format!(
            "precision {}, not {}",
            existing.precision, requested.precision
        ));
    }
    if existing.text_search != requested.text_search {
        return conflict(format!(
            "text search {:?}, not {:?}",
            existing.text_search, requested.text_search
        ));
    }
    Ok(())
}

/// A vector for a collection of `dimension` and `metric`: not empty, the
/// right length, finite components, and not all zero under `Cosine`.
pub fn vector(vector: &[f32], dimension: usize, metric: Metric) -> Result<()> {
    if vector.is_empty() {
        return Err(Error::invalid_input("vector is empty"));
    }
    if vector.len() != dimension {
        return Err(Error::invalid_input(format!(
            "vector has {} components but the collection has dimension {dimension}",
            vector.len()
        )));
    }
    if let Some(i) = vector.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid_input(format!(
            "vector component {i} is {} (NaN and infinite values are not allowed)",
            vector[i]
        )));
    }
    if metric == Metric::Cosine && vector.iter().all(|x| *x == 0.0) {
        return Err(Error::invalid_input(
            "vector is all zeros, which has no direction under the cosine metric",
        ));
    }
    Ok(())
}

/// `k` within `1..=caps.max_k`.
pub fn k(k: usize, caps: &Capabilities) -> Result<()> {
    if k == 0 || k > caps.max_k {
        return Err(Error::invalid_input(format!(
            "k = {k} is outside 1..={}",
            caps.max_k
        )));
    }
    Ok(())
}

/// Every component fits the collection's precision (`F16`: magnitude at
/// most 65504, the largest half-precision value).
pub fn components_fit(vector: &[f32], precision: Precision) -> Result<()> {
    let max = precision.max_component();
    match vector.iter().position(|x| x.abs() > max) {
        None => Ok(()),
        Some(i) => Err(Error::invalid_input(format!(
            "vector component {i} is {}, beyond the largest {precision} value {max}",
            vector[i]
        ))),
    }
}

/// A search: its vector (none for a keyword search), `k`, a finite
/// `max_distance` (vector search only), its filter, and its text: a
/// backend with text search, a collection that declares it, an `alpha` in
/// `0..=1`, a rank constant of at least 1 (only 60 unless
/// `any_rank_constant`), arms no deeper than `max_k`.
pub fn query(spec: &CollectionSpec, caps: &Capabilities, query: &SearchQuery) -> Result<()> {
    let mode = query.mode();
    if mode != SearchMode::Keyword {
        vector(&query.vector, spec.dimension, spec.metric)
            .and_then(|()| components_fit(&query.vector, spec.precision))
            .map_err(|e| Error::invalid_input(format!("query {}", e.message())))?;
    }
    k(query.k, caps)?;
    if mode != SearchMode::Vector {
        text_query(spec, caps, query)?;
    }
    if let Some(max) = query.max_distance {
        if !max.is_finite() {
            return Err(Error::invalid_input(format!(
                "max_distance {max} is not finite"
            )));
        }
    }
    if let Some(f) = &query.filter {
        filter(spec, caps, f)?;
    }
    Ok(())
}

fn text_query(spec: &CollectionSpec, caps: &Capabilities, query: &SearchQuery) -> Result<()> {
    let Some(text) = &query.text else {
        return Ok(());
    };
    if !caps.hybrid {
        return Err(Error::unsupported(
            "this backend has no keyword or hybrid search",
        ));
    }
    if spec.text_search.is_none() {
        return Err(Error::invalid_input(format!(
            "collection `{}` declares no text search (CollectionSpec::with_text_search)",
            spec.name
        )));
    }
    if text.text.contains('\0') {
        return Err(Error::invalid_input(
            "query text contains U+0000 (NUL), which no stored text can",
        ));
    }
    if query.max_distance.is_some() {
        return Err(Error::invalid_input(
            "max_distance applies to vector search only, not to keyword or hybrid search",
        ));
    }
    if !(0.0..=1.0).contains(&text.alpha) {
        return Err(Error::invalid_input(format!(
            "alpha {} is outside 0..=1",
            text.alpha
        )));
    }
    if let Fusion::Ranked { k } = text.fusion {
        if k == 0 {
            return Err(Error::invalid_input(
                "the rank constant k must be at least 1",
            ));
        }
        if k != Fusion::DEFAULT_RANK_CONSTANT && !caps.any_rank_constant {
            return Err(Error::unsupported(format!(
                "this backend fuses ranks with k = {} only, not {k}",
                Fusion::DEFAULT_RANK_CONSTANT
            )));
        }
    }
    if query.arm_depth() > caps.max_k {
        return Err(Error::invalid_input(format!(
            "{} candidates per arm is above max_k {}",
            query.arm_depth(),
            caps.max_k
        )));
    }
    Ok(())
}

/// A delete selector: its filter, if any.
pub fn selector(spec: &CollectionSpec, caps: &Capabilities, selector: &Selector) -> Result<()> {
    match selector {
        Selector::Ids(_) => Ok(()),
        Selector::Filter(f) => filter(spec, caps, f),
    }
}

/// A filter on `spec`: every operator supported by the backend
/// (`Unsupported` otherwise), every field declared, every value of the
/// field's type, ordering only on `Int`/`Float`/`Timestamp`, `ContainsAny`
/// only on list fields (and the other comparisons only on scalar fields),
/// no empty `And`/`Or`/value lists, finite floats, depth at most
/// [`MAX_FILTER_DEPTH`].
pub fn filter(spec: &CollectionSpec, caps: &Capabilities, filter: &Filter) -> Result<()> {
    if let Some(op) = filter
        .ops()
        .into_iter()
        .find(|op| !caps.supports_filter_op(*op))
    {
        return Err(Error::unsupported(format!(
            "this backend cannot express the `{op}` filter operator"
        )));
    }
    if filter.depth() > MAX_FILTER_DEPTH {
        return Err(Error::invalid_input(format!(
            "filter is nested {} deep; at most {MAX_FILTER_DEPTH} is allowed",
            filter.depth()
        )));
    }
    let mut result = Ok(());
    filter.walk(&mut |node| {
        if result.is_ok() {
            result = node_ok(spec, node);
        }
    });
    result
}

fn node_ok(spec: &CollectionSpec, node: &Filter) -> Result<()> {
    let op = node.op();
    let values: &[Value] = match node {
        Filter::And(subs) | Filter::Or(subs) if subs.is_empty() => {
            return Err(Error::invalid_input(format!(
                "filter `{op}` has no sub-filters"
            )))
        }
        Filter::And(_) | Filter::Or(_) | Filter::Not(_) => return Ok(()),
        Filter::Eq(_, v) | Filter::Ne(_, v) | Filter::Lt(_, v) => std::slice::from_ref(v),
        Filter::Le(_, v) | Filter::Gt(_, v) | Filter::Ge(_, v) => std::slice::from_ref(v),
        Filter::In(_, vs) | Filter::NotIn(_, vs) | Filter::ContainsAny(_, vs) => {
            if vs.is_empty() {
                return Err(Error::invalid_input(format!(
                    "filter `{op}` needs at least one value"
                )));
            }
            vs
        }
        Filter::IsNull(_) => &[],
    };
    let name = node.field().unwrap_or_default();
    identifier("filter field name", name)?;
    let Some(field) = spec.field(name) else {
        let declared: Vec<&str> = spec.fields.iter().map(|f| f.name.as_str()).collect();
        return Err(Error::invalid_input(format!(
            "filter on field `{name}`, which collection `{}` does not declare (declared: {declared:?})",
            spec.name
        )));
    };
    let kind = field.kind;
    let op_fits = match op {
        FilterOp::IsNull => true,
        FilterOp::ContainsAny => kind.is_list(),
        FilterOp::Lt | FilterOp::Le | FilterOp::Gt | FilterOp::Ge => kind.is_ordered(),
        _ => !kind.is_list(),
    };
    if !op_fits {
        return Err(Error::invalid_input(format!(
            "filter `{op}` does not apply to field `{name}` of type {kind}"
        )));
    }
    for value in values {
        if let Value::Text(text) = value {
            if text.contains('\0') {
                return Err(Error::invalid_input(format!(
                    "filter on field `{name}`: the text value contains U+0000 (NUL), which no stored value can"
                )));
            }
        }
        if let Value::Float(x) = value {
            if !x.is_finite() {
                return Err(Error::invalid_input(format!(
                    "filter on field `{name}`: value {x} is not finite"
                )));
            }
        }
        let fits = matches!(
            (kind, value),
            (FieldKind::Text | FieldKind::TextList, Value::Text(_))
                | (FieldKind::Int | FieldKind::IntList, Value::Int(_))
                | (FieldKind::Float, Value::Float(_) | Value::Int(_))
                | (FieldKind::Bool, Value::Bool(_))
                | (FieldKind::Timestamp, Value::Timestamp(_))
        );
        if !fits {
            return Err(Error::invalid_input(format!(
                "filter on field `{name}` of type {kind} has a value of type {}",
                value.type_name()
            )));
        }
    }
    Ok(())
}

/// A payload a backend can store: no U+0000 in any key or string (see
/// [`no_nul`]), and the declared fields of the declared types (or missing /
/// `null`). Undeclared keys are free.
pub fn payload(spec: &CollectionSpec, payload: &Payload) -> Result<()> {
    use serde_json::Value as Json;
    no_nul(payload)?;
    for field in &spec.fields {
        let Some(value) = payload.get(&field.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let is_int = |v: &Json| v.as_i64().is_some();
        let is_text = |v: &Json| v.is_string();
        let fits = match field.kind {
            FieldKind::Text => is_text(value),
            FieldKind::Int => is_int(value),
            FieldKind::Float => value.is_number(),
            FieldKind::Bool => value.is_boolean(),
            FieldKind::Timestamp => value
                .as_str()
                .is_some_and(|s| crate::filter::eval::parse_timestamp(s).is_some()),
            FieldKind::TextList => value.as_array().is_some_and(|a| a.iter().all(is_text)),
            FieldKind::IntList => value.as_array().is_some_and(|a| a.iter().all(is_int)),
        };
        if !fits {
            let expected = match field.kind {
                FieldKind::Timestamp => "an RFC 3339 timestamp string".to_owned(),
                FieldKind::Int => "an integer in i64 range".to_owned(),
                kind => format!("a {kind} value"),
            };
            let mut shown = value.to_string();
            if shown.len() > 80 {
                let cut = (0..=80)
                    .rev()
                    .find(|i| shown.is_char_boundary(*i))
                    .unwrap_or(0);
                shown.truncate(cut);
                shown.push('…');
            }
            return Err(Error::invalid_input(format!(
                "payload field `{}` must be {expected} or null, got {shown}",
                field.name
            )));
        }
    }
    Ok(())
}

/// No key or string anywhere in the payload (nested objects and lists
/// included) contains U+0000 (NUL). PostgreSQL's `text` and `jsonb` cannot
/// hold it, so no backend stores it: a record with one is refused, as
/// `InvalidInput` naming where it is, on every backend alike.
///
/// ```
/// use ai_data_vector::validate;
/// use serde_json::json;
///
/// let ok = json!({"a": ["\\u0000 spelled out is fine"]});
/// assert!(validate::no_nul(ok.as_object().unwrap_or(&Default::default())).is_ok());
/// let bad = json!({"a": [1, {"b": "x\u{0}y"}]});
/// let err = validate::no_nul(bad.as_object().unwrap_or(&Default::default())).err();
/// assert!(err.is_some_and(|e| e.message().contains("$.a[1].b")));
/// ```
pub fn no_nul(payload: &Payload) -> Result<()> {
    fn walk(path: &mut String, value: &serde_json::Value) -> Option<String> {
        use serde_json::Value as Json;
        match value {
            Json::String(s) if s.contains('\0') => Some(format!("the string at {path}")),
            Json::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(path, item);
                path.truncate(len);
                found
            }),
            Json::Object(map) => object(path, map),
            _ => None,
        }
    }
    fn object(path: &mut String, map: &Payload) -> Option<String> {
        map.iter().find_map(|(key, value)| {
            if key.contains('\0') {
                return Some(format!("the key {key:?} in {path}"));
            }
            let len = path.len();
            path.push('.');
            path.push_str(key);
            let found = walk(path, value);
            path.truncate(len);
            found
        })
    }
    match object(&mut "$".to_owned(), payload) {
        None => Ok(()),
        Some(place) => Err(Error::invalid_input(format!(
            "payload: {place} contains U+0000 (NUL), which no backend can store"
        ))),
    }
}

/// A record for `spec`: its vector and its payload.
pub fn record(spec: &CollectionSpec, record: &Record) -> Result<()> {
    vector(&record.vector, spec.dimension, spec.metric)?;
    components_fit(&record.vector, spec.precision)?;
    payload(spec, &record.payload)
}

#[cfg(test)]
mod tests;
