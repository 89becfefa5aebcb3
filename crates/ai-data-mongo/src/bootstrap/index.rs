//! [`IndexSpec`]: one index to ensure, and how an existing index is
//! compared with it (key patterns numerically, options as text).

use std::time::Duration;

use mongodb::bson::{Bson, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

/// One index to ensure.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IndexSpec {
    /// Collection the index belongs to.
    pub collection: &'static str,
    /// Index name, as mongod names it by default (`level_1_timestamp_1`).
    pub name: String,
    /// Key pattern, in order.
    pub keys: Document,
    /// TTL (`expireAfterSeconds`), for a TTL index.
    pub expire_after: Option<Duration>,
}

impl IndexSpec {
    /// An index on `collection` with the key pattern `keys` (in order), a
    /// TTL when `expire_after` is given, named as mongod names it by
    /// default.
    ///
    /// ```
    /// use ai_data_mongo::bson::doc;
    /// use ai_data_mongo::IndexSpec;
    /// let spec = IndexSpec::new("events", doc! { "tenant": 1, "at": -1 }, None);
    /// assert_eq!(spec.name, "tenant_1_at_-1");
    /// ```
    pub fn new(collection: &'static str, keys: Document, expire_after: Option<Duration>) -> Self {
        let name = keys
            .iter()
            .map(|(k, v)| format!("{k}_{}", key_value_text(v)))
            .collect::<Vec<_>>()
            .join("_");
        IndexSpec {
            collection,
            name,
            keys,
            expire_after,
        }
    }

    pub(super) fn model(&self) -> IndexModel {
        let options = IndexOptions::builder()
            .name(self.name.clone())
            .expire_after(self.expire_after)
            .build();
        IndexModel::builder()
            .keys(self.keys.clone())
            .options(options)
            .build()
    }
}

pub(super) fn index_name(model: &IndexModel) -> Option<&str> {
    model.options.as_ref().and_then(|o| o.name.as_deref())
}

/// `1` for numbers equal to 1 (whatever their BSON type), else the text.
fn key_value_text(v: &Bson) -> String {
    match number(v) {
        Some(n) if n.fract() == 0.0 => format!("{n:.0}"),
        Some(n) => n.to_string(),
        None => match v {
            Bson::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

fn number(v: &Bson) -> Option<f64> {
    match v {
        Bson::Int32(i) => Some(f64::from(*i)),
        #[allow(clippy::cast_precision_loss)]
        Bson::Int64(i) => Some(*i as f64),
        Bson::Double(d) => Some(*d),
        _ => None,
    }
}

/// Same fields in the same order with the same directions (1 == 1.0 == 1i64).
pub(super) fn keys_equal(a: &Document, b: &Document) -> bool {
    a.len() == b.len()
        && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| {
            ka == kb
                && match (number(va), number(vb)) {
                    (Some(x), Some(y)) => x == y,
                    _ => va == vb,
                }
        })
}

pub(super) fn describe(model: &IndexModel) -> String {
    let mut text = format!("key {}", model.keys);
    if let Some(o) = &model.options {
        if o.unique == Some(true) {
            text.push_str(", unique");
        }
        if o.sparse == Some(true) {
            text.push_str(", sparse");
        }
        if o.hidden == Some(true) {
            text.push_str(", hidden");
        }
        if let Some(ttl) = o.expire_after {
            text.push_str(&format!(", expireAfterSeconds {}", ttl.as_secs()));
        }
        if let Some(p) = &o.partial_filter_expression {
            text.push_str(&format!(", partialFilterExpression {p}"));
        }
        if o.collation.is_some() {
            text.push_str(", collation");
        }
        if o.weights.is_some() {
            text.push_str(", text weights");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn keys_compare_numerically_and_in_order() {
        assert!(keys_equal(
            &doc! { "a": 1, "b": 1 },
            &doc! { "a": 1.0, "b": 1_i64 }
        ));
        assert!(!keys_equal(
            &doc! { "a": 1, "b": 1 },
            &doc! { "b": 1, "a": 1 }
        ));
        assert!(!keys_equal(&doc! { "a": 1 }, &doc! { "a": -1 }));
        assert!(!keys_equal(&doc! { "a": 1 }, &doc! { "a": "hashed" }));
    }
}
