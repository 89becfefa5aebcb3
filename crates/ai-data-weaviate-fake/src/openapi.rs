//! Request (and reply) bodies checked against the Weaviate 1.22.13 OpenAPI
//! (Swagger 2.0) definitions, read at run time from
//! `../shared/weaviate/openapi-1.22.13.json` beside the workspace (or the
//! file named by `AI_DATA_WEAVIATE_OPENAPI`), never copied into the project.
//!
//! The check is stricter than the real server in one way, on purpose: a
//! key the definition does not list is an error (the server would ignore
//! it), so a misspelt field in a request the client sends fails the test
//! that sent it. Schemas without `properties` (`JsonObject`,
//! `PropertySchema`, `vectorIndexConfig`) are open.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value as Json;

/// Where the spec is looked for.
pub fn spec_path() -> PathBuf {
    match std::env::var_os("AI_DATA_WEAVIATE_OPENAPI") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/weaviate/openapi-1.22.13.json"),
    }
}

/// The loaded spec, or why it is not there.
pub(crate) fn spec() -> Result<&'static Json, &'static str> {
    static SPEC: OnceLock<Result<Json, String>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("OpenAPI spec not found at {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("OpenAPI spec at {} is not JSON: {e}", path.display()))
    })
    .as_ref()
    .map_err(String::as_str)
}

/// Whether the spec could be loaded (`Err`: why not).
pub fn available() -> Result<(), String> {
    spec().map(|_| ()).map_err(str::to_owned)
}

/// Check a request body of `method path` (a path template of the spec,
/// without `/v1`). `Ok(())` when the spec is not available.
pub fn check_request(path: &str, method: &str, body: &Json) -> Result<(), String> {
    let Ok(spec) = spec() else { return Ok(()) };
    let Some(schema) = body_schema(spec, path, method) else {
        return Err(format!("{method} {path} takes no body in the OpenAPI spec"));
    };
    let mut errors = Vec::new();
    check(spec, schema, body, "body", &mut errors);
    summary(errors)
}

/// Check a reply body of `method path` with `status`. `Ok(())` when the
/// spec is not available.
pub fn check_reply(path: &str, method: &str, status: u16, body: &Json) -> Result<(), String> {
    let Ok(spec) = spec() else { return Ok(()) };
    let schema = spec
        .get("paths")
        .and_then(|p| p.get(path))
        .and_then(|p| p.get(method))
        .and_then(|op| op.get("responses"))
        .and_then(|r| r.get(status.to_string()))
        .and_then(|r| r.get("schema"));
    let Some(schema) = schema else {
        return Err(format!(
            "{method} {path} has no {status} reply schema in the OpenAPI spec"
        ));
    };
    let mut errors = Vec::new();
    check(spec, schema, body, "reply", &mut errors);
    summary(errors)
}

/// Check `value` against definition `name` (e.g. `Class`).
pub fn check_definition(name: &str, value: &Json) -> Result<(), String> {
    let Ok(spec) = spec() else { return Ok(()) };
    let schema = serde_json::json!({ "$ref": format!("#/definitions/{name}") });
    let mut errors = Vec::new();
    check(spec, &schema, value, name, &mut errors);
    summary(errors)
}

fn summary(errors: Vec<String>) -> Result<(), String> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn body_schema<'a>(spec: &'a Json, path: &str, method: &str) -> Option<&'a Json> {
    spec.get("paths")?
        .get(path)?
        .get(method)?
        .get("parameters")?
        .as_array()?
        .iter()
        .find(|p| p.get("in").and_then(Json::as_str) == Some("body"))?
        .get("schema")
}

fn resolve<'a>(spec: &'a Json, schema: &'a Json) -> &'a Json {
    let mut schema = schema;
    for _ in 0..16 {
        match schema.get("$ref").and_then(Json::as_str) {
            Some(r) => match r
                .strip_prefix("#/definitions/")
                .and_then(|name| spec.get("definitions")?.get(name))
            {
                Some(target) => schema = target,
                None => return schema,
            },
            None => return schema,
        }
    }
    schema
}

fn check(spec: &Json, schema: &Json, value: &Json, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if let Some(parts) = schema.get("allOf").and_then(Json::as_array) {
        // Properties of all parts together decide what keys are known.
        let mut merged = serde_json::Map::new();
        for part in parts {
            let part = resolve(spec, part);
            if let Some(props) = part.get("properties").and_then(Json::as_object) {
                merged.extend(props.clone());
            }
        }
        let mut combined = serde_json::Map::new();
        combined.insert("type".into(), Json::from("object"));
        combined.insert("properties".into(), Json::Object(merged));
        check(spec, &Json::Object(combined), value, at, errors);
        return;
    }
    if value.is_null() {
        let nullable = schema.get("x-nullable").and_then(Json::as_bool) == Some(true);
        if !nullable {
            errors.push(format!("{at}: null is not allowed here"));
        }
        return;
    }
    let kind = schema
        .get("type")
        .and_then(Json::as_str)
        .or_else(|| schema.get("properties").map(|_| "object"));
    match kind {
        Some("object") => {
            let Some(map) = value.as_object() else {
                errors.push(format!("{at}: expected an object, got {}", short(value)));
                return;
            };
            let props = schema.get("properties").and_then(Json::as_object);
            let extra = schema.get("additionalProperties");
            for (key, item) in map {
                let here = format!("{at}.{key}");
                match (props.and_then(|p| p.get(key)), extra) {
                    (Some(s), _) => check(spec, s, item, &here, errors),
                    (None, Some(s)) if s.is_object() => check(spec, s, item, &here, errors),
                    (None, Some(Json::Bool(true))) => {}
                    (None, _) if props.is_some() => {
                        errors.push(format!("{here}: not a property of this definition"));
                    }
                    (None, _) => {}
                }
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                errors.push(format!("{at}: expected an array, got {}", short(value)));
                return;
            };
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(spec, item_schema, item, &format!("{at}[{i}]"), errors);
                }
            }
        }
        Some("string") => match value.as_str() {
            None => errors.push(format!("{at}: expected a string, got {}", short(value))),
            Some(s) => {
                if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
                    if !allowed.iter().any(|a| a.as_str() == Some(s)) {
                        errors.push(format!("{at}: {s:?} is not one of {allowed:?}"));
                    }
                }
                if schema.get("format").and_then(Json::as_str) == Some("uuid")
                    && uuid::Uuid::parse_str(s).is_err()
                {
                    errors.push(format!("{at}: {s:?} is not a UUID"));
                }
            }
        },
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            errors.push(format!("{at}: expected an integer, got {}", short(value)));
        }
        Some("number") if !value.is_number() => {
            errors.push(format!("{at}: expected a number, got {}", short(value)));
        }
        Some("boolean") if !value.is_boolean() => {
            errors.push(format!("{at}: expected a boolean, got {}", short(value)));
        }
        _ => {}
    }
}

fn short(value: &Json) -> String {
    let text = value.to_string();
    if text.len() > 60 {
        let cut = (0..=60)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}…", &text[..cut])
    } else {
        text
    }
}
