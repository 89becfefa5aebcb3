//! [`WeaviateClient`]: Weaviate's REST and GraphQL API on reqwest (rustls).
//!
//! Errors follow the server's shapes: `{"error":[{"message":..}]}` (400,
//! 403, 422, 500), `{"code":401,"message":..}` (a bad API key), empty 404s,
//! and GraphQL errors with HTTP 200 (see [`super::graphql::take_data`]).
//! HTTP 429/502/503/504, timeouts and connection failures are retryable;
//! a failure to connect within the connect timeout is
//! [`ErrorKind::Connect`] (not `Timeout`), its cause in `source()`.
//! Reply bodies are streamed and reading stops at
//! [`WeaviateConfig::max_response_size`] with an [`ErrorKind::Backend`]
//! error naming the limit and `AI_DATA_WEAVIATE_MAX_RESPONSE_SIZE`.
//! The API key is sent as `Authorization: Bearer <key>` (a sensitive
//! header) and scrubbed from every message the server returns.

use std::fmt;
use std::sync::Arc;

use ai_data_core::observe::Operation;
use ai_data_core::{
    ErrorKind, ExposeSecret, HealthCheck, HealthReport, SecretString, Store, TlsMode,
};
use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::filter::Where;
use super::graphql::check_name;
use super::schema::ClassDef;
use super::WeaviateConfig;
use ai_data_vector::{Error, RecordId, Result};

/// At most this much of a reply's declared `Content-Length` is reserved
/// up front (1 MiB); a longer body grows as its bytes arrive.
const INITIAL_BODY_CAPACITY: usize = 1 << 20;

/// `GET /v1/meta`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Meta {
    /// The server version, e.g. `1.22.13`.
    pub version: String,
    /// The server's own URL.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Module-specific information (enabled modules are its keys).
    #[serde(default)]
    pub modules: Json,
}

/// One object of a batch write (`POST /v1/batch/objects`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchObject<'a> {
    /// The class.
    pub class: &'a str,
    /// The object id.
    pub id: RecordId,
    /// The properties.
    pub properties: Map<String, Json>,
    /// The vector (optional when the class has a vectorizer module).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<&'a [f32]>,
}

/// The outcome of one object of a batch write, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectOutcome {
    /// The object's id as the server echoed it.
    pub id: Option<RecordId>,
    /// The server's messages; empty when the object was written.
    pub errors: Vec<String>,
}

impl ObjectOutcome {
    /// Whether the object was written.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

const READY: &str = "/.well-known/ready";
const LIVE: &str = "/.well-known/live";

/// The observed client or store `operation` on `target` (a class or
/// collection name; empty for server-wide calls).
pub(super) fn observe<'a>(operation: &'static str, target: &'a str) -> Operation<'a> {
    Operation::new(Store::Weaviate, operation).target(target)
}

/// A client of one Weaviate server's REST and GraphQL API. Cheap to clone
/// (one connection pool).
///
/// Every public call that talks to the server is one observed
/// [`Operation`] (store `weaviate`), named `ready`, `live`, `meta`,
/// `schema`, `get_class`, `create_class`, `delete_class`, `batch_objects`,
/// `delete_object`, `delete_where`, `graphql`, or `health` for the
/// [`HealthCheck`]. [`super::WeaviateStore`] uses the same requests
/// unobserved, inside its own one operation per trait call.
///
/// ```no_run
/// use ai_data_weaviate::{WeaviateClient, WeaviateConfig};
///
/// # async fn demo() -> ai_data_vector::Result<()> {
/// let client = WeaviateClient::new(&WeaviateConfig::from_env()?)?;
/// assert!(client.is_ready().await?);
/// println!("Weaviate {}", client.meta().await?.version);
/// let data = client.graphql("{ Aggregate { Document { meta { count } } } }").await?;
/// println!("{} documents", data["Aggregate"]["Document"][0]["meta"]["count"]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WeaviateClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    auth: Option<HeaderValue>,
    key: Option<SecretString>,
    connect_timeout: std::time::Duration,
    max_response_size: usize,
}

impl fmt::Debug for WeaviateClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeaviateClient")
            .field("base", &self.inner.base)
            .field("api_key", &self.inner.key.as_ref().map(|_| "***"))
            .finish()
    }
}

impl WeaviateClient {
    /// A client for `config` (no I/O: connections are opened on first use).
    pub fn new(config: &WeaviateConfig) -> Result<Self> {
        let base = format!("{}/v1", config.rest_url()?);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connection.connect_timeout)
            .timeout(config.request_timeout)
            .pool_idle_timeout(config.connection.pool.idle_timeout)
            .pool_max_idle_per_host(config.connection.pool.max_size as usize)
            .tcp_keepalive(std::time::Duration::from_secs(60))
            .user_agent(concat!("ai-data-vector/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &config.connection.tls.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                config_error(format!("cannot read the CA file {}: {e}", ca.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                config_error(format!("the CA file {} is not PEM: {e}", ca.display()))
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if config.connection.tls.mode == Some(TlsMode::Require) {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| config_error(format!("cannot build the HTTP client: {e}")))?;
        let key = config.connection.secret.clone();
        let auth = match &key {
            None => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                    .map_err(|_| {
                    config_error(
                        "the Weaviate API key has characters an HTTP header cannot carry".into(),
                    )
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(WeaviateClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                key,
                connect_timeout: config.connection.connect_timeout,
                max_response_size: config.max_response_size.max(1),
            }),
        })
    }

    /// The REST base URL, ending in `/v1`.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// `GET /v1/.well-known/ready`: `true` on 200, `false` on 503.
    pub async fn is_ready(&self) -> Result<bool> {
        observe("ready", "").run(self.probe(READY)).await
    }

    /// `GET /v1/.well-known/live`: `true` on 200, `false` on 503.
    pub async fn is_live(&self) -> Result<bool> {
        observe("live", "").run(self.probe(LIVE)).await
    }

    async fn probe(&self, path: &str) -> Result<bool> {
        let (status, body) = self.send(Method::GET, path, None, "probe", "").await?;
        match status {
            StatusCode::OK => Ok(true),
            StatusCode::SERVICE_UNAVAILABLE => Ok(false),
            other => Err(self.http_error(other, &body, "probe", "")),
        }
    }

    /// `GET /v1/meta`.
    pub async fn meta(&self) -> Result<Meta> {
        observe("meta", "").run(self.meta_in()).await
    }

    pub(super) async fn meta_in(&self) -> Result<Meta> {
        let body = self.ok(Method::GET, "/meta", None, "meta", "").await?;
        parse(&body, "meta")
    }

    /// `GET /v1/schema`: every class.
    pub async fn schema(&self) -> Result<Vec<ClassDef>> {
        observe("schema", "").run(self.schema_in()).await
    }

    pub(super) async fn schema_in(&self) -> Result<Vec<ClassDef>> {
        #[derive(Deserialize)]
        struct Schema {
            #[serde(default)]
            classes: Option<Vec<ClassDef>>,
        }
        let body = self.ok(Method::GET, "/schema", None, "schema", "").await?;
        Ok(parse::<Schema>(&body, "schema")?
            .classes
            .unwrap_or_default())
    }

    /// `GET /v1/schema/{class}`; `None` on 404.
    pub async fn get_class(&self, class: &str) -> Result<Option<ClassDef>> {
        observe("get_class", class)
            .run(self.get_class_in(class))
            .await
    }

    pub(super) async fn get_class_in(&self, class: &str) -> Result<Option<ClassDef>> {
        let path = format!("/schema/{}", check_name(class)?);
        let (status, body) = self
            .send(Method::GET, &path, None, "get_class", class)
            .await?;
        match status {
            StatusCode::OK => parse(&body, "get_class").map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            other => Err(self.http_error(other, &body, "get_class", class)),
        }
    }

    /// `POST /v1/schema`; an existing class is `Conflict` (HTTP 422).
    pub async fn create_class(&self, class: &ClassDef) -> Result<ClassDef> {
        observe("create_class", &class.class)
            .run(self.create_class_in(class))
            .await
    }

    pub(super) async fn create_class_in(&self, class: &ClassDef) -> Result<ClassDef> {
        check_name(&class.class)?;
        let body = to_body(class)?;
        let reply = self
            .ok(
                Method::POST,
                "/schema",
                Some(body),
                "create_class",
                &class.class,
            )
            .await?;
        parse(&reply, "create_class")
    }

    /// `DELETE /v1/schema/{class}`.
    pub async fn delete_class(&self, class: &str) -> Result<()> {
        observe("delete_class", class)
            .run(self.delete_class_in(class))
            .await
    }

    pub(super) async fn delete_class_in(&self, class: &str) -> Result<()> {
        let path = format!("/schema/{}", check_name(class)?);
        self.ok(Method::DELETE, &path, None, "delete_class", class)
            .await
            .map(|_| ())
    }

    /// `POST /v1/batch/objects`: one [`ObjectOutcome`] per object, in order.
    /// The server answers 200 even when objects fail; every failure is
    /// returned with its id and messages.
    ///
    /// Observed with the first object's class as its target and the
    /// objects written as its count.
    pub async fn batch_objects(&self, objects: &[BatchObject<'_>]) -> Result<Vec<ObjectOutcome>> {
        let target = objects.first().map(|o| o.class).unwrap_or_default();
        observe("batch_objects", target)
            .run_counted(self.batch_objects_in(objects), |outcomes| {
                outcomes.iter().filter(|o| o.is_ok()).count()
            })
            .await
    }

    pub(super) async fn batch_objects_in(
        &self,
        objects: &[BatchObject<'_>],
    ) -> Result<Vec<ObjectOutcome>> {
        #[derive(Serialize)]
        struct Body<'a, 'b> {
            objects: &'a [BatchObject<'b>],
        }
        #[derive(Deserialize)]
        struct Item {
            #[serde(default)]
            id: Option<String>,
            #[serde(default)]
            result: Option<ItemResult>,
        }
        #[derive(Deserialize)]
        struct ItemResult {
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            errors: Option<ErrorList>,
        }
        let target = objects.first().map(|o| o.class).unwrap_or_default();
        let body = to_body(&Body { objects })?;
        let reply = self
            .ok(
                Method::POST,
                "/batch/objects",
                Some(body),
                "batch_objects",
                target,
            )
            .await?;
        let items: Vec<Item> = parse(&reply, "batch_objects")?;
        if items.len() != objects.len() {
            return Err(backend(
                format!(
                    "batch reply has {} items for {} objects",
                    items.len(),
                    objects.len()
                ),
                "batch_objects",
                target,
            ));
        }
        Ok(items
            .into_iter()
            .map(|item| {
                let result = item.result;
                let mut errors: Vec<String> = result
                    .as_ref()
                    .and_then(|r| r.errors.as_ref())
                    .map(ErrorList::messages)
                    .unwrap_or_default();
                let failed = result
                    .as_ref()
                    .and_then(|r| r.status.as_deref())
                    .is_some_and(|s| s == "FAILED");
                if failed && errors.is_empty() {
                    errors.push("status FAILED without a message".into());
                }
                ObjectOutcome {
                    id: item.id.as_deref().and_then(|s| RecordId::parse(s).ok()),
                    errors: errors.into_iter().map(|m| self.scrub(m)).collect(),
                }
            })
            .collect())
    }

    /// `DELETE /v1/objects/{class}/{id}`: `true` on 204, `false` on 404.
    pub async fn delete_object(&self, class: &str, id: RecordId) -> Result<bool> {
        observe("delete_object", class)
            .run_counted(self.delete_object_in(class, id), |deleted| {
                u64::from(*deleted)
            })
            .await
    }

    pub(super) async fn delete_object_in(&self, class: &str, id: RecordId) -> Result<bool> {
        let path = format!("/objects/{}/{id}", check_name(class)?);
        let (status, body) = self
            .send(Method::DELETE, &path, None, "delete_object", class)
            .await?;
        match status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            other => Err(self.http_error(other, &body, "delete_object", class)),
        }
    }

    /// `DELETE /v1/batch/objects` with `where`, repeated while a round hits
    /// the server's per-call `limit`; returns how many objects were deleted.
    /// Per-object failures are an error naming the first one.
    pub async fn delete_where(&self, class: &str, filter: &Where) -> Result<u64> {
        observe("delete_where", class)
            .run_counted(self.delete_where_in(class, filter), |n| *n)
            .await
    }

    pub(super) async fn delete_where_in(&self, class: &str, filter: &Where) -> Result<u64> {
        let body = to_body(&json!({
            "match": {"class": check_name(class)?, "where": filter.to_json()},
            "output": "minimal",
            "dryRun": false,
        }))?;
        let mut deleted = 0_u64;
        loop {
            let reply = self
                .ok(
                    Method::DELETE,
                    "/batch/objects",
                    Some(body.clone()),
                    "delete_where",
                    class,
                )
                .await?;
            let reply: Json = parse(&reply, "delete_where")?;
            let results = &reply["results"];
            let number = |key: &str| results.get(key).and_then(Json::as_f64).unwrap_or(0.0) as u64;
            let (matches, limit) = (number("matches"), number("limit"));
            let (successful, failed) = (number("successful"), number("failed"));
            deleted += successful;
            if failed > 0 {
                let first = results["objects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|o| o["status"] == "FAILED")
                    .map(|o| {
                        let messages = serde_json::from_value::<ErrorList>(o["errors"].clone())
                            .map(|e| e.messages().join("; "))
                            .unwrap_or_default();
                        format!("{}: {messages}", o["id"].as_str().unwrap_or("?"))
                    })
                    .unwrap_or_default();
                return Err(backend(
                    self.scrub(format!(
                        "{failed} of {matches} matched objects could not be deleted (first: {first}); {deleted} were"
                    )),
                    "delete_where",
                    class,
                ));
            }
            if matches == 0 || matches < limit {
                return Ok(deleted);
            }
            if successful == 0 {
                return Err(backend(
                    format!("batch delete matched {matches} objects but deleted none"),
                    "delete_where",
                    class,
                ));
            }
        }
    }

    /// `POST /v1/graphql`: the reply's `data`. `errors` in the reply (sent
    /// with HTTP 200) are an error (see [`super::graphql::take_data`]);
    /// the API key is scrubbed from their messages. Observed without a
    /// target (the query text is never recorded).
    pub async fn graphql(&self, query: &str) -> Result<Json> {
        observe("graphql", "").run(self.graphql_in(query)).await
    }

    pub(super) async fn graphql_in(&self, query: &str) -> Result<Json> {
        let body = super::graphql::request_body(query);
        let reply = self
            .ok(Method::POST, "/graphql", Some(body), "graphql", "")
            .await?;
        super::graphql::take_data(parse(&reply, "graphql")?).map_err(|e| {
            let message = self.scrub(e.message().to_owned());
            let target = e.target().unwrap_or_default().to_owned();
            Error::new(e.kind(), message)
                .with_store(Store::Weaviate)
                .with_operation("graphql")
                .with_target(target)
        })
    }

    /// Send and require a 2xx status.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        operation: &'static str,
        target: &str,
    ) -> Result<Bytes> {
        let (status, reply) = self.send(method, path, body, operation, target).await?;
        if status.is_success() {
            Ok(reply)
        } else {
            Err(self.http_error(status, &reply, operation, target))
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        operation: &'static str,
        target: &str,
    ) -> Result<(StatusCode, Bytes)> {
        let url = format!("{}{path}", self.inner.base);
        let mut request = self.inner.http.request(method.clone(), &url);
        if let Some(auth) = &self.inner.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| self.transport_error(e, operation, target))?;
        let status = response.status();
        let max = self.inner.max_response_size;
        let declared = response.content_length();
        if let Some(length) = declared.filter(|n| *n > max as u64) {
            return Err(self.too_large(Some(length), operation, target));
        }
        // The declared length only as a hint, capped: a server's word alone
        // must not allocate up to `max` before any byte arrived.
        let initial = declared.map_or(0, |n| n.min(INITIAL_BODY_CAPACITY as u64) as usize);
        let mut body = Vec::with_capacity(initial);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e, operation, target))?
        {
            if body.len() + chunk.len() > max {
                return Err(self.too_large(None, operation, target));
            }
            body.extend_from_slice(&chunk);
        }
        let reply = Bytes::from(body);
        tracing::debug!(%method, path, status = status.as_u16(), bytes = reply.len(), "weaviate");
        Ok((status, reply))
    }

    /// A reply body over [`WeaviateConfig::max_response_size`] (`length`:
    /// the size the server declared, if it did).
    fn too_large(&self, length: Option<u64>, operation: &'static str, target: &str) -> Error {
        let size = match length {
            Some(n) => format!("{n} bytes"),
            None => "more".to_owned(),
        };
        backend(
            format!(
                "Weaviate's reply ({size}) is larger than the limit of {} bytes; raise {} (WeaviateConfig::max_response_size) or ask for less (a smaller k or batch, without vectors)",
                self.inner.max_response_size,
                Store::Weaviate.var("MAX_RESPONSE_SIZE"),
            ),
            operation,
            target,
        )
    }

    fn transport_error(&self, e: reqwest::Error, operation: &'static str, target: &str) -> Error {
        // A connect that timed out is both: it is a connection failure.
        let (kind, message) = if e.is_connect() {
            let why = if e.is_timeout() {
                format!(
                    "no connection within the connect timeout of {:?}",
                    self.inner.connect_timeout
                )
            } else {
                root_cause(&e)
            };
            (
                ErrorKind::Connect,
                format!("cannot connect to Weaviate at {}: {why}", self.inner.base),
            )
        } else if e.is_timeout() {
            (
                ErrorKind::Timeout,
                format!("request to Weaviate failed: {e}"),
            )
        } else {
            (
                ErrorKind::Backend,
                format!("request to Weaviate failed: {e}"),
            )
        };
        let mut error = Error::new(kind, self.scrub(message))
            .with_store(Store::Weaviate)
            .with_operation(operation)
            .with_target(target.to_owned());
        if e.is_request() || e.is_body() {
            error = error.temporary();
        }
        error.with_source(e.without_url())
    }

    fn http_error(
        &self,
        status: StatusCode,
        body: &[u8],
        operation: &'static str,
        target: &str,
    ) -> Error {
        let message = self.scrub(server_message(body));
        let kind = match status.as_u16() {
            401 | 403 => ErrorKind::Auth,
            404 => ErrorKind::NotFound,
            408 => ErrorKind::Timeout,
            422 if message.contains("already exists") => ErrorKind::Conflict,
            400 | 422 => ErrorKind::InvalidInput,
            _ => ErrorKind::Backend,
        };
        let error = Error::new(kind, format!("HTTP {}: {message}", status.as_u16()))
            .with_store(Store::Weaviate)
            .with_operation(operation)
            .with_target(target.to_owned());
        if matches!(status.as_u16(), 429 | 502 | 503 | 504) {
            error.temporary()
        } else {
            error
        }
    }

    /// `text` with the API key replaced by `***`.
    fn scrub(&self, text: String) -> String {
        match &self.inner.key {
            Some(key) if !key.expose_secret().is_empty() && text.contains(key.expose_secret()) => {
                text.replace(key.expose_secret(), "***")
            }
            _ => text,
        }
    }
}

/// The innermost cause's message (`Connection refused (os error 111)`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[derive(Deserialize)]
struct ErrorList {
    #[serde(default)]
    error: Vec<ErrorMessage>,
}

#[derive(Deserialize)]
struct ErrorMessage {
    #[serde(default)]
    message: String,
}

impl ErrorList {
    fn messages(&self) -> Vec<String> {
        self.error.iter().map(|e| e.message.clone()).collect()
    }
}

/// The message of an error reply in any of Weaviate's shapes.
fn server_message(body: &[u8]) -> String {
    if body.is_empty() {
        return "(no body)".into();
    }
    if let Ok(json) = serde_json::from_slice::<Json>(body) {
        if let Ok(list) = serde_json::from_value::<ErrorList>(json.clone()) {
            if !list.error.is_empty() {
                return list.messages().join("; ");
            }
        }
        if let Some(message) = json.get("message").and_then(Json::as_str) {
            return message.to_owned();
        }
        return json.to_string().chars().take(500).collect();
    }
    String::from_utf8_lossy(body).chars().take(500).collect()
}

fn to_body<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| {
        Error::invalid_input(format!("request cannot be serialised: {e}")).with_source(e)
    })
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], operation: &'static str) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| backend(format!("unexpected reply: {e}"), operation, "").with_source(e))
}

fn backend(message: String, operation: &'static str, target: &str) -> Error {
    Error::new(ErrorKind::Backend, message)
        .with_store(Store::Weaviate)
        .with_operation(operation)
        .with_target(target.to_owned())
}

fn config_error(message: String) -> Error {
    Error::config(message).with_store(Store::Weaviate)
}

#[async_trait]
impl HealthCheck for WeaviateClient {
    /// Ready, then `/v1/meta` for the version; observed as one `health`
    /// operation.
    async fn check(&self) -> Result<HealthReport> {
        let report = observe("health", "")
            .run(HealthReport::measure(Store::Weaviate, async {
                if !self.probe(READY).await? {
                    return Err(
                        Error::new(ErrorKind::Connect, "Weaviate is not ready (503)")
                            .with_store(Store::Weaviate)
                            .temporary(),
                    );
                }
                Ok(Some(self.meta_in().await?.version))
            }))
            .await?;
        Ok(report.with_detail("url", self.inner.base.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_in_every_shape() {
        assert_eq!(
            server_message(br#"{"error":[{"message":"class name \"Doc\" already exists"}]}"#),
            "class name \"Doc\" already exists"
        );
        assert_eq!(
            server_message(
                br#"{"code":401,"message":"invalid api key, please provide a valid api key"}"#
            ),
            "invalid api key, please provide a valid api key"
        );
        assert_eq!(server_message(b""), "(no body)");
        assert_eq!(server_message(b"plain"), "plain");
    }

    #[test]
    fn debug_and_errors_hide_the_key() {
        let key = "Secret-Key-4711";
        let config = WeaviateConfig::from_url("http://localhost:1")
            .expect("url")
            .with_api_key(key);
        let client = WeaviateClient::new(&config).expect("client");
        assert!(!format!("{client:?}").contains(key));
        let error = client.http_error(
            StatusCode::UNAUTHORIZED,
            format!(r#"{{"code":401,"message":"bad key {key}"}}"#).as_bytes(),
            "meta",
            "",
        );
        assert_eq!(error.kind(), ErrorKind::Auth);
        assert!(!format!("{error} {error:?}").contains(key), "{error:?}");
        assert!(error.message().contains("***"));
        let busy = client.http_error(StatusCode::SERVICE_UNAVAILABLE, b"", "graphql", "");
        assert!(busy.is_retryable());
        let exists = client.http_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"error":[{"message":"class name \"Doc\" already exists"}]}"#,
            "create_class",
            "Doc",
        );
        assert_eq!(exists.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn header_unsafe_keys_are_config_errors_without_the_key() {
        let config = WeaviateConfig::from_url("http://localhost:1")
            .expect("url")
            .with_api_key("line\nbreak-secret");
        let err = WeaviateClient::new(&config).expect_err("bad header");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("break-secret"));
    }
}
