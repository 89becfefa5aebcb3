//! The fake's data: classes with Weaviate's defaults and validation rules,
//! objects, batch writes and deletes, and vector search with Weaviate's
//! distances.

use std::collections::BTreeMap;

use ai_data_weaviate::ServerVersion;
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use crate::cond::{self, Cond};
use crate::schema::{class_name, new_property};
use crate::Settings;

/// Weaviate's distances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Distance {
    Cosine,
    Dot,
    L2Squared,
    Hamming,
    Manhattan,
}

impl Distance {
    pub(crate) fn parse(name: &str) -> Option<Distance> {
        Some(match name {
            "cosine" => Distance::Cosine,
            "dot" => Distance::Dot,
            "l2-squared" => Distance::L2Squared,
            "hamming" => Distance::Hamming,
            "manhattan" => Distance::Manhattan,
            _ => return None,
        })
    }

    /// The distance as Weaviate computes it: in `f32`, cosine on the
    /// normalised vectors it stores.
    pub(crate) fn between(self, query: &[f32], stored: &[f32]) -> f32 {
        let pairs = query.iter().zip(stored);
        match self {
            Distance::Cosine => 1.0 - pairs.map(|(a, b)| a * b).sum::<f32>(),
            Distance::Dot => -pairs.map(|(a, b)| a * b).sum::<f32>(),
            Distance::L2Squared => pairs.map(|(a, b)| (a - b) * (a - b)).sum(),
            Distance::Manhattan => pairs.map(|(a, b)| (a - b).abs()).sum(),
            Distance::Hamming => pairs.filter(|(a, b)| a != b).count() as f32,
        }
    }
}

/// A property of a class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prop {
    pub(crate) name: String,
    pub(crate) data_type: String,
    pub(crate) tokenization: Option<String>,
    pub(crate) index_filterable: Option<bool>,
}

impl Prop {
    /// The data type without `[]`.
    pub(crate) fn base_type(&self) -> &str {
        self.data_type.trim_end_matches("[]")
    }

    fn is_array(&self) -> bool {
        self.data_type.ends_with("[]")
    }
}

/// A stored object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Obj {
    pub(crate) id: Uuid,
    pub(crate) props: Map<String, Json>,
    pub(crate) vector: Option<Vec<f32>>,
    created: i64,
    updated: i64,
}

/// A class and its objects.
#[derive(Debug, Clone)]
pub(crate) struct Class {
    pub(crate) name: String,
    /// The definition as `GET /v1/schema/{class}` returns it.
    pub(crate) def: Json,
    pub(crate) props: Vec<Prop>,
    pub(crate) distance: Distance,
    pub(crate) index_null_state: bool,
    pub(crate) objects: BTreeMap<Uuid, Obj>,
    pub(crate) dimension: Option<usize>,
}

impl Class {
    pub(crate) fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }
}

/// One search hit.
#[derive(Debug, Clone)]
pub(crate) struct Hit<'a> {
    pub(crate) obj: &'a Obj,
    pub(crate) distance: Option<f32>,
}

/// Everything the fake stores.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) classes: BTreeMap<String, Class>,
    /// What auto-schema added (classes and properties).
    pub(crate) auto_schema: Vec<String>,
    clock: i64,
}

impl State {
    /// `POST /v1/batch/objects`: one result per object, in order; failures
    /// are reported in the result, never as an HTTP error.
    pub(crate) fn batch(&mut self, objects: &[Json], settings: &Settings) -> Vec<Json> {
        objects
            .iter()
            .map(|object| match self.put_object(object, settings) {
                Ok(echo) => {
                    let mut echo = echo;
                    echo.insert("result".into(), json!({"status": "SUCCESS"}));
                    Json::Object(echo)
                }
                Err(message) => {
                    let mut echo = object.as_object().cloned().unwrap_or_default();
                    echo.insert(
                        "result".into(),
                        json!({"status": "FAILED", "errors": {"error": [{"message": message}]}}),
                    );
                    Json::Object(echo)
                }
            })
            .collect()
    }

    fn put_object(
        &mut self,
        object: &Json,
        settings: &Settings,
    ) -> Result<Map<String, Json>, String> {
        let object = object.as_object().ok_or("object must be a JSON object")?;
        let given = object
            .get("class")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let name = class_name(given);
        if !self.classes.contains_key(&name) {
            if !settings.auto_schema {
                return Err(format!("class {name:?} not present in schema"));
            }
            self.create_class(&json!({"class": name}), settings)
                .map_err(|e| e.message)?;
            self.auto_schema.push(format!("class {name}"));
        }
        let id = match object.get("id").and_then(Json::as_str) {
            Some(text) => {
                Uuid::parse_str(text).map_err(|_| format!("invalid id {text:?}: not a UUID"))?
            }
            None => Uuid::new_v4(),
        };
        let mut props = object
            .get("properties")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        props.retain(|_, v| !v.is_null());
        let vector: Option<Vec<f32>> = match object.get("vector") {
            None | Some(Json::Null) => None,
            Some(Json::Array(items)) => Some(
                items
                    .iter()
                    .map(|x| {
                        x.as_f64()
                            .map(|x| x as f32)
                            .ok_or("vector element is not a number")
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err("vector must be an array of numbers".into()),
        };
        let auto = settings.auto_schema;
        let class = self.classes.get_mut(&name).ok_or("class vanished")?;
        for (key, value) in &props {
            if class.prop(key).is_none() {
                if !auto {
                    return Err(format!(
                        "no such prop with name '{key}' found in class '{name}' in the schema"
                    ));
                }
                let data_type = infer_type(value).ok_or_else(|| {
                    format!("auto-schema cannot infer a type for property '{key}'")
                })?;
                let (prop, def) = new_property(
                    &name,
                    &json!({"name": key, "dataType": [data_type]}),
                    &class.props,
                )
                .map_err(|e| e.message)?;
                class.props.push(prop);
                if let Some(list) = class.def.get_mut("properties").and_then(Json::as_array_mut) {
                    list.push(def);
                }
                self.auto_schema
                    .push(format!("property {name}.{key} ({data_type})"));
            }
        }
        let class = self.classes.get_mut(&name).ok_or("class vanished")?;
        for (key, value) in &props {
            if let Some(prop) = class.prop(key) {
                check_value(&name, prop, value)?;
            }
        }
        let vector = match vector {
            Some(v) => {
                if let Some(dim) = class.dimension {
                    if dim != v.len() {
                        return Err(format!(
                            "insert to vector index: new node has a vector with length {}. Existing nodes have vectors with length {dim}",
                            v.len()
                        ));
                    }
                } else if v.is_empty() {
                    return Err("vector is empty".into());
                }
                class.dimension = Some(v.len());
                Some(if class.distance == Distance::Cosine {
                    normalize(v)
                } else {
                    v
                })
            }
            None => None,
        };
        self.clock += 1;
        let now = self.clock;
        let class = self.classes.get_mut(&name).ok_or("class vanished")?;
        let created = class.objects.get(&id).map_or(now, |o| o.created);
        let stored = Obj {
            id,
            props,
            vector,
            created,
            updated: now,
        };
        let echo = object_json(&name, &stored, true);
        class.objects.insert(id, stored);
        Ok(echo)
    }

    /// Objects of `class` matching `filter`, in id order.
    pub(crate) fn filtered<'a>(
        &'a self,
        class: &'a Class,
        filter: Option<&Cond>,
        version: ServerVersion,
    ) -> impl Iterator<Item = &'a Obj> + 'a {
        let complement = version.has_complement_not_equal();
        let candidates: Box<dyn Iterator<Item = &'a Obj> + 'a> = match filter.and_then(cond::id_set)
        {
            Some(mut ids) => {
                ids.sort_unstable();
                ids.dedup();
                Box::new(ids.into_iter().filter_map(move |id| class.objects.get(&id)))
            }
            None => Box::new(class.objects.values()),
        };
        let filter = filter.cloned();
        candidates.filter(move |o| {
            filter
                .as_ref()
                .is_none_or(|f| cond::matches(f, class, o, complement))
        })
    }

    /// The `limit` objects nearest to `vector` that match `filter`, within
    /// `max_distance`; or, without a vector, the first `limit` matches.
    pub(crate) fn search<'a>(
        &'a self,
        class: &'a Class,
        vector: Option<&[f32]>,
        max_distance: Option<f64>,
        filter: Option<&Cond>,
        limit: usize,
        version: ServerVersion,
    ) -> Result<Vec<Hit<'a>>, String> {
        let Some(query) = vector else {
            return Ok(self
                .filtered(class, filter, version)
                .take(limit)
                .map(|obj| Hit {
                    obj,
                    distance: None,
                })
                .collect());
        };
        if let Some(dim) = class.dimension {
            if dim != query.len() {
                return Err(format!(
                    "vector search: knn search: distance between entrypoint and query node: vector lengths don't match: {} vs {dim}",
                    query.len()
                ));
            }
        }
        let query = if class.distance == Distance::Cosine {
            normalize(query.to_vec())
        } else {
            query.to_vec()
        };
        let mut hits: Vec<Hit<'a>> = self
            .filtered(class, filter, version)
            .filter_map(|obj| {
                let d = class.distance.between(&query, obj.vector.as_ref()?);
                let keep = max_distance.is_none_or(|max| f64::from(d) <= max);
                keep.then_some(Hit {
                    obj,
                    distance: Some(d),
                })
            })
            .collect();
        hits.sort_by(|a, b| {
            a.distance
                .unwrap_or_default()
                .total_cmp(&b.distance.unwrap_or_default())
                .then_with(|| a.obj.id.cmp(&b.obj.id))
        });
        hits.truncate(limit);
        Ok(hits)
    }
}

/// Auto-schema's guess for a value (1.22 defaults: numbers are `number`,
/// RFC 3339 strings `date`).
fn infer_type(value: &Json) -> Option<&'static str> {
    Some(match value {
        Json::String(s) if cond::parse_date(s).is_some() => "date",
        Json::String(_) => "text",
        Json::Number(_) => "number",
        Json::Bool(_) => "boolean",
        Json::Array(items) => match items.first()? {
            Json::String(_) => "text[]",
            Json::Number(_) => "number[]",
            Json::Bool(_) => "boolean[]",
            _ => return None,
        },
        _ => return None,
    })
}

fn check_value(class: &str, prop: &Prop, value: &Json) -> Result<(), String> {
    let items: Vec<&Json> = if prop.is_array() {
        match value {
            Json::Array(items) => items.iter().collect(),
            other => {
                return Err(format!(
                    "invalid {} property '{}' on class '{class}': not an array, but {}",
                    prop.data_type,
                    prop.name,
                    go_type(other)
                ))
            }
        }
    } else {
        vec![value]
    };
    for item in items {
        let ok = match prop.base_type() {
            "text" | "string" => item.is_string(),
            "int" => item.is_i64() || item.as_f64().is_some_and(|x| x.fract() == 0.0),
            "number" => item.is_number(),
            "boolean" => item.is_boolean(),
            "date" => item.as_str().and_then(cond::parse_date).is_some(),
            "uuid" => item.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()),
            "blob" => item.as_str().is_some_and(is_base64),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "invalid {} property '{}' on class '{class}': not a valid {}, but {} {item}",
                prop.base_type(),
                prop.name,
                prop.base_type(),
                go_type(item)
            ));
        }
    }
    Ok(())
}

fn go_type(value: &Json) -> &'static str {
    match value {
        Json::String(_) => "string",
        Json::Number(_) => "float64",
        Json::Bool(_) => "bool",
        Json::Array(_) => "[]interface {}",
        Json::Object(_) => "map[string]interface {}",
        Json::Null => "nil",
    }
}

fn is_base64(text: &str) -> bool {
    text.len() % 4 == 0
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// An object as the REST API shows it.
pub(crate) fn object_json(class: &str, obj: &Obj, with_vector: bool) -> Map<String, Json> {
    let mut map = Map::new();
    map.insert("class".into(), json!(class));
    map.insert("id".into(), json!(obj.id.to_string()));
    map.insert("properties".into(), Json::Object(obj.props.clone()));
    map.insert("creationTimeUnix".into(), json!(obj.created));
    map.insert("lastUpdateTimeUnix".into(), json!(obj.updated));
    if with_vector {
        if let Some(v) = &obj.vector {
            map.insert("vector".into(), json!(v));
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_as_weaviate_reports_them() {
        let a = normalize(vec![3.0, 4.0]);
        assert!((Distance::Cosine.between(&a, &a)).abs() < 1e-6);
        assert_eq!(Distance::Dot.between(&[1.0, 2.0], &[3.0, 4.0]), -11.0);
        assert_eq!(Distance::L2Squared.between(&[0.0, 0.0], &[3.0, 4.0]), 25.0);
        assert_eq!(Distance::Manhattan.between(&[0.0, 0.0], &[3.0, -4.0]), 7.0);
        assert_eq!(Distance::Hamming.between(&[1.0, 2.0], &[1.0, 3.0]), 1.0);
        assert_eq!(Distance::parse("l2"), None);
    }

    #[test]
    fn auto_schema_types() {
        assert_eq!(infer_type(&json!("2024-01-01T00:00:00Z")), Some("date"));
        assert_eq!(infer_type(&json!(3)), Some("number"));
        assert_eq!(infer_type(&json!(["a"])), Some("text[]"));
        assert!(is_base64("AAAAAA==") && !is_base64("AA?A"));
    }
}
