//! The REST and GraphQL endpoints (axum), with Weaviate's status codes and
//! error shapes, the API-key check, and every request body checked against
//! the OpenAPI definitions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::cond;
use crate::openapi;
use crate::schema::class_name;
use crate::{FakeError, Shared};

type Reply = Response;

/// The router of the REST API under `/v1`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/.well-known/ready", get(ready))
        .route("/v1/.well-known/live", get(live))
        .route("/v1/meta", get(meta))
        .route("/v1/schema", get(schema).post(create_class))
        .route("/v1/schema/{class}", get(get_class).delete(delete_class))
        .route(
            "/v1/batch/objects",
            post(batch_objects).delete(batch_delete),
        )
        .route("/v1/objects/{class}/{id}", delete(delete_object))
        .route("/v1/graphql", post(graphql))
        .fallback(|| async { StatusCode::NOT_FOUND.into_response() })
        // Weaviate sets no small body limit; batches of 1536-d vectors are MBs.
        .layer(DefaultBodyLimit::max(512 * 1024 * 1024))
        .layer(middleware::from_fn_with_state(shared.clone(), auth))
        .with_state(shared)
}

/// API-key check (`/.well-known/*` is open, like Weaviate's).
async fn auth(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let open = request.uri().path().starts_with("/v1/.well-known/");
    if let (Some(key), false) = (&shared.settings.api_key, open) {
        match bearer(request.headers()) {
            Some(given) if given == key => {}
            Some(_) => return unauthorized("invalid api key, please provide a valid api key"),
            None => {
                return unauthorized(
                    "anonymous access not enabled, please provide an auth scheme such as OIDC",
                )
            }
        }
    }
    next.run(request).await
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"code": 401, "message": message})),
    )
        .into_response()
}

fn error(e: FakeError) -> Reply {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({"error": [{"message": e.message}]}))).into_response()
}

/// Parse and check a request body; a bad one is the reply (boxed: it is large).
fn body(shared: &Shared, path: &str, method: &str, raw: &Bytes) -> Result<Value, Box<Reply>> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| {
        Box::new((
            StatusCode::BAD_REQUEST,
            Json(json!({"code": 400, "message": format!("parsing body body from \"\" failed, because {e}")})),
        )
            .into_response())
    })?;
    if let Err(problem) = openapi::check_request(path, method, &value) {
        let message = format!("{method} {path}: {problem}");
        shared.record_violation(format!("request {message}"));
        return Err(Box::new((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"code": 602, "message": format!("body does not match the OpenAPI definition: {message}")})),
        )
            .into_response()));
    }
    Ok(value)
}

/// A JSON reply, checked against the spec's reply schema.
fn reply(shared: &Shared, path: &str, method: &str, status: StatusCode, value: Value) -> Reply {
    if let Err(problem) = openapi::check_reply(path, method, status.as_u16(), &value) {
        shared.record_violation(format!(
            "reply {method} {path} {}: {problem}",
            status.as_u16()
        ));
    }
    (status, Json(value)).into_response()
}

async fn ready(State(shared): State<Arc<Shared>>) -> StatusCode {
    if shared.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn live() -> StatusCode {
    StatusCode::OK
}

async fn meta(State(shared): State<Arc<Shared>>) -> Reply {
    let modules: serde_json::Map<String, Value> = shared
        .settings
        .modules
        .iter()
        .map(|m| (m.clone(), json!({})))
        .collect();
    let meta = json!({
        "hostname": "http://[::]:8080",
        "modules": modules,
        "version": shared.settings.version.to_string(),
    });
    reply(&shared, "/meta", "get", StatusCode::OK, meta)
}

async fn schema(State(shared): State<Arc<Shared>>) -> Reply {
    let classes: Vec<Value> =
        shared.with_state(|s| s.classes.values().map(|c| c.def.clone()).collect());
    reply(
        &shared,
        "/schema",
        "get",
        StatusCode::OK,
        json!({"classes": classes}),
    )
}

async fn create_class(State(shared): State<Arc<Shared>>, raw: Bytes) -> Reply {
    shared.count(|s| s.schema_writes += 1);
    let value = match body(&shared, "/schema", "post", &raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match shared.with_state(|s| s.create_class(&value, &shared.settings)) {
        Ok(def) => reply(&shared, "/schema", "post", StatusCode::OK, def),
        Err(e) => error(e),
    }
}

async fn get_class(State(shared): State<Arc<Shared>>, Path(class): Path<String>) -> Reply {
    match shared.with_state(|s| s.classes.get(&class_name(&class)).map(|c| c.def.clone())) {
        Some(def) => reply(&shared, "/schema/{className}", "get", StatusCode::OK, def),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn delete_class(State(shared): State<Arc<Shared>>, Path(class): Path<String>) -> Reply {
    shared.count(|s| s.schema_writes += 1);
    shared.with_state(|s| s.classes.remove(&class_name(&class)));
    StatusCode::OK.into_response()
}

async fn batch_objects(State(shared): State<Arc<Shared>>, raw: Bytes) -> Reply {
    shared.count(|s| s.batch_objects += 1);
    let value = match body(&shared, "/batch/objects", "post", &raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if value.get("fields").is_some() {
        shared.record_violation(
            "request POST /batch/objects: sent `fields`, which in 1.22 also limits what is stored"
                .into(),
        );
    }
    let objects = value
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let results = shared.with_state(|s| s.batch(&objects, &shared.settings));
    reply(
        &shared,
        "/batch/objects",
        "post",
        StatusCode::OK,
        Value::Array(results),
    )
}

async fn batch_delete(State(shared): State<Arc<Shared>>, raw: Bytes) -> Reply {
    shared.count(|s| s.batch_deletes += 1);
    let value = match body(&shared, "/batch/objects", "delete", &raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let class = class_name(value["match"]["class"].as_str().unwrap_or_default());
    let filter = match value["match"].get("where") {
        Some(w) => match cond::from_json(w) {
            Ok(c) => c,
            Err(e) => return error(e),
        },
        None => {
            return error(FakeError::unprocessable(
                "validate: match.where is required",
            ))
        }
    };
    let verbose = value["output"].as_str() == Some("verbose");
    let dry_run = value["dryRun"].as_bool().unwrap_or(false);
    let limit = shared.settings.query_maximum_results;
    let version = shared.settings.version;
    let outcome = shared.with_state(|s| {
        let Some(found) = s.classes.get(&class) else {
            return Err(FakeError::unprocessable(format!(
                "validate: class: {class} doesn't exist"
            )));
        };
        cond::check(&filter, found, false)?;
        let ids: Vec<uuid::Uuid> = s
            .filtered(found, Some(&filter), version)
            .take(limit)
            .map(|o| o.id)
            .collect();
        if !dry_run {
            if let Some(found) = s.classes.get_mut(&class) {
                for id in &ids {
                    found.objects.remove(id);
                }
            }
        }
        Ok(ids)
    });
    let ids = match outcome {
        Ok(ids) => ids,
        Err(e) => return error(e),
    };
    let status = if dry_run { "DRYRUN" } else { "SUCCESS" };
    let objects: Vec<Value> = if verbose {
        ids.iter()
            .map(|id| json!({"id": id.to_string(), "status": status}))
            .collect()
    } else {
        Vec::new()
    };
    let successful = if dry_run { 0 } else { ids.len() };
    let result = json!({
        "match": value["match"].clone(),
        "output": if verbose { "verbose" } else { "minimal" },
        "dryRun": dry_run,
        "results": {"matches": ids.len(), "limit": limit, "successful": successful, "failed": 0, "objects": objects}
    });
    reply(&shared, "/batch/objects", "delete", StatusCode::OK, result)
}

async fn delete_object(
    State(shared): State<Arc<Shared>>,
    Path((class, id)): Path<(String, String)>,
) -> Reply {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return error(FakeError::unprocessable(format!("id {id:?} is not a UUID")));
    };
    let removed = shared.with_state(|s| {
        s.classes
            .get_mut(&class_name(&class))
            .and_then(|c| c.objects.remove(&id))
            .is_some()
    });
    if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn graphql(State(shared): State<Arc<Shared>>, raw: Bytes) -> Reply {
    shared.count(|s| s.graphql += 1);
    let value = match body(&shared, "/graphql", "post", &raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(query) = value.get("query").and_then(Value::as_str) else {
        return error(FakeError::unprocessable("no query"));
    };
    let result = shared.with_state(|s| crate::graphql::execute(s, &shared.settings, query));
    reply(&shared, "/graphql", "post", StatusCode::OK, result)
}
