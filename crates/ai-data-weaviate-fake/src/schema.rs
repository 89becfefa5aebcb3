//! Classes: `POST /v1/schema`'s rules (names, distances, index types,
//! vectorizers, properties) and the defaults Weaviate fills in.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::state::{Class, Distance, Prop, State};
use crate::{FakeError, Settings};

/// Weaviate upper-cases the first letter of class names.
pub(crate) fn class_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// Weaviate lower-cases the first letter of property names.
fn property_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn valid_name(name: &str, first_upper: bool) -> bool {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| {
        if first_upper {
            c.is_ascii_uppercase()
        } else {
            c.is_ascii_alphabetic() || c == '_'
        }
    });
    first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const DATA_TYPES: [&str; 14] = [
    "text",
    "text[]",
    "int",
    "int[]",
    "number",
    "number[]",
    "boolean",
    "boolean[]",
    "date",
    "date[]",
    "uuid",
    "uuid[]",
    "blob",
    "string",
];

impl State {
    /// `POST /v1/schema`: validate, fill defaults, store; the stored definition.
    pub(crate) fn create_class(
        &mut self,
        body: &Json,
        settings: &Settings,
    ) -> Result<Json, FakeError> {
        let mut def = body
            .as_object()
            .cloned()
            .ok_or_else(|| FakeError::unprocessable("class must be an object"))?;
        let given = def.get("class").and_then(Json::as_str).unwrap_or_default();
        let name = class_name(given);
        if !valid_name(&name, true) {
            return Err(FakeError::unprocessable(format!(
                "'{given}' is not a valid class name"
            )));
        }
        if self.classes.contains_key(&name) {
            return Err(FakeError::unprocessable(format!(
                "class name {name:?} already exists"
            )));
        }
        def.insert("class".into(), json!(name));
        let vectorizer = def
            .get("vectorizer")
            .and_then(Json::as_str)
            .unwrap_or(&settings.default_vectorizer)
            .to_owned();
        if vectorizer != "none" && !settings.modules.contains(&vectorizer) {
            return Err(FakeError::unprocessable(format!(
                "vectorizer: invalid vectorizer \"{vectorizer}\""
            )));
        }
        def.insert("vectorizer".into(), json!(vectorizer));
        let index_type = def
            .get("vectorIndexType")
            .and_then(Json::as_str)
            .unwrap_or("hnsw")
            .to_owned();
        let flat_ok = settings.version.has_flat_index();
        if !(index_type == "hnsw" || (index_type == "flat" && flat_ok)) {
            return Err(FakeError::unprocessable(format!(
                "unrecognized or unsupported vectorIndexType \"{index_type}\""
            )));
        }
        def.insert("vectorIndexType".into(), json!(index_type));
        let mut config = def
            .get("vectorIndexConfig")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        let distance_name = config
            .get("distance")
            .and_then(Json::as_str)
            .unwrap_or("cosine")
            .to_owned();
        let distance = Distance::parse(&distance_name).ok_or_else(|| {
            FakeError::unprocessable(format!(
                "vector index config: unrecognized or unsupported distance metric \"{distance_name}\""
            ))
        })?;
        let defaults = json!({
            "distance": distance_name, "ef": -1, "efConstruction": 128, "maxConnections": 64,
            "dynamicEfMin": 100, "dynamicEfMax": 500, "dynamicEfFactor": 8,
            "vectorCacheMaxObjects": 1_000_000_000_000_i64, "flatSearchCutoff": 40000,
            "cleanupIntervalSeconds": 300, "skip": false,
            "pq": {"enabled": false}, "bq": {"enabled": false}
        });
        for (key, value) in defaults.as_object().into_iter().flatten() {
            config.entry(key.clone()).or_insert_with(|| value.clone());
        }
        def.insert("vectorIndexConfig".into(), Json::Object(config));
        let mut inverted = def
            .get("invertedIndexConfig")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        let inverted_defaults = json!({
            "bm25": {"b": 0.75, "k1": 1.2}, "cleanupIntervalSeconds": 60,
            "stopwords": {"preset": "en"},
            "indexNullState": false, "indexPropertyLength": false, "indexTimestamps": false
        });
        for (key, value) in inverted_defaults.as_object().into_iter().flatten() {
            inverted.entry(key.clone()).or_insert_with(|| value.clone());
        }
        let index_null_state = inverted["indexNullState"].as_bool().unwrap_or(false);
        def.insert("invertedIndexConfig".into(), Json::Object(inverted));
        def.entry("multiTenancyConfig")
            .or_insert(json!({"enabled": false}));
        def.entry("replicationConfig")
            .or_insert(json!({"factor": 1}));
        def.entry("shardingConfig").or_insert(json!({
            "virtualPerPhysical": 128, "desiredCount": 1, "actualCount": 1,
            "desiredVirtualCount": 128, "actualVirtualCount": 128, "key": "_id",
            "strategy": "hash", "function": "murmur3"
        }));
        let given_props = def
            .get("properties")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let mut props = Vec::with_capacity(given_props.len());
        let mut prop_defs = Vec::with_capacity(given_props.len());
        for given in given_props {
            let (prop, def) = new_property(&name, &given, &props)?;
            props.push(prop);
            prop_defs.push(def);
        }
        def.insert("properties".into(), Json::Array(prop_defs));
        let def = Json::Object(def);
        self.classes.insert(
            name.clone(),
            Class {
                name,
                def: def.clone(),
                props,
                distance,
                index_null_state,
                objects: BTreeMap::new(),
                dimension: None,
            },
        );
        Ok(def)
    }
}

pub(crate) fn new_property(
    class: &str,
    given: &Json,
    existing: &[Prop],
) -> Result<(Prop, Json), FakeError> {
    let mut def = given
        .as_object()
        .cloned()
        .ok_or_else(|| FakeError::unprocessable("property must be an object"))?;
    let raw = def.get("name").and_then(Json::as_str).unwrap_or_default();
    let name = property_name(raw);
    if !valid_name(&name, false) {
        return Err(FakeError::unprocessable(format!(
            "'{raw}' is not a valid property name"
        )));
    }
    if ["_additional", "_id", "id"].contains(&name.to_lowercase().as_str()) {
        return Err(FakeError::unprocessable(format!(
            "'{name}' is a reserved property name"
        )));
    }
    if existing.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
        return Err(FakeError::unprocessable(format!(
            "class \"{class}\": conflict for property \"{name}\": already in use or provided multiple times"
        )));
    }
    let data_type = match def
        .get("dataType")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
    {
        Some([Json::String(t)]) if DATA_TYPES.contains(&t.as_str()) => t.clone(),
        other => {
            return Err(FakeError::unprocessable(format!(
                "property '{name}': unsupported dataType {other:?}"
            )))
        }
    };
    let text = data_type == "text" || data_type == "text[]";
    let tokenization = def
        .get("tokenization")
        .and_then(Json::as_str)
        .map(str::to_owned);
    if tokenization.is_some() && !text {
        return Err(FakeError::unprocessable(format!(
            "Tokenization is not allowed for data type '{data_type}'"
        )));
    }
    let tokenization = if text {
        Some(tokenization.unwrap_or_else(|| "word".into()))
    } else {
        None
    };
    if def.get("indexSearchable").and_then(Json::as_bool) == Some(true) && !text {
        return Err(FakeError::unprocessable(format!(
            "`indexSearchable` is allowed only for text/text[] data types. For other data types set false or leave empty (property '{name}')"
        )));
    }
    def.insert("name".into(), json!(name));
    if let Some(t) = &tokenization {
        def.insert("tokenization".into(), json!(t));
    }
    let index_filterable = def.get("indexFilterable").and_then(Json::as_bool);
    def.entry("indexFilterable")
        .or_insert(json!(data_type != "blob"));
    def.entry("indexSearchable").or_insert(json!(text));
    Ok((
        Prop {
            name,
            data_type,
            tokenization,
            index_filterable: index_filterable.or(Some(true)),
        },
        Json::Object(def),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(class_name("docs"), "Docs");
        assert_eq!(property_name("Title"), "title");
        assert!(valid_name("Docs_1", true) && !valid_name("docs", true));
        assert!(valid_name("_x", false) && !valid_name("a-b", false));
    }
}
