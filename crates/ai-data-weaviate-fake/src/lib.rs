//! An in-process contract fake of Weaviate for tests: the REST, GraphQL
//! and gRPC subset `ai-data-weaviate` uses, answering the
//! way Weaviate 1.22 does (see `shared/design/weaviate.md`), because no
//! Weaviate server can run on our machines.
//!
//! What it implements, like the real server:
//!
//! - `/.well-known/ready|live`, `/meta`; the API key (`Authorization:
//!   Bearer`, gRPC `authorization` metadata; 401 `{"code":401,"message":..}`);
//! - schema: create (422 `class name "X" already exists`; class names
//!   capitalised, property names' first letter lower-cased; distances
//!   `cosine|dot|l2-squared|hamming|manhattan`, plain `l2` rejected; `flat`
//!   from 1.23; module vectorizers only when enabled; server defaults filled
//!   in), get (404 without body), delete;
//! - batch writes: HTTP 200 with a result per object (`SUCCESS` / `FAILED`
//!   with messages: wrong vector length, wrong property types), auto-schema
//!   for unknown classes and properties (recorded), cosine vectors
//!   normalised on import;
//! - deletes by id (204/404) and by filter, at most `limit` per call;
//! - GraphQL `Get` (`limit`, `nearVector`, `where`, `_additional { id
//!   distance vector certainty }`) and `Aggregate { meta { count } }`,
//!   errors with HTTP 200 (`vector lengths don't match`, unknown classes,
//!   fields, arguments and operators);
//! - filters with Weaviate's rules: tokenization (`word` matches tokens,
//!   `field` whole trimmed values), arrays match on any element, `IsNull`
//!   needs `indexNullState` and counts `""` and `[]` as null, `NotEqual`
//!   "holds another value" before 1.24 and "not `Equal`" from 1.24, no
//!   `Not` / `ContainsNone`;
//! - distances as Weaviate reports them (`f32`; cosine on normalised
//!   vectors; `l2-squared`);
//! - `bm25` and `hybrid` (GraphQL and gRPC): BM25 from the class's
//!   `invertedIndexConfig`, Weaviate's `rankedFusion` and
//!   `relativeScoreFusion` (see `keyword`);
//! - gRPC `Search` with the version-dependent layouts.
//!
//! Every request body is checked against the 1.22.13 OpenAPI definitions
//! (see [`openapi`]); violations (and replies that do not match the spec)
//! are recorded for the test to assert on.
//!
//! ```no_run
//! use ai_data_weaviate_fake::FakeWeaviate;
//!
//! # async fn demo() {
//! let fake = FakeWeaviate::new().with_api_key("test-key").start().await.expect("fake");
//! let config = fake.config(); // a WeaviateConfig for ai-data-weaviate
//! println!("REST {} gRPC {}", fake.url(), fake.grpc_url());
//! assert!(fake.violations().is_empty());
//! # }
//! ```

mod cond;
mod graphql;
mod grpc;
mod http;
mod keyword;
pub mod openapi;
mod schema;
mod state;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ai_data_weaviate::{ServerVersion, WeaviateConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An error the fake answers with: status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FakeError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl FakeError {
    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        FakeError {
            status: 422,
            message: message.into(),
        }
    }
}

/// How the fake server behaves.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) version: ServerVersion,
    pub(crate) api_key: Option<String>,
    pub(crate) query_maximum_results: usize,
    pub(crate) query_defaults_limit: usize,
    pub(crate) auto_schema: bool,
    pub(crate) modules: Vec<String>,
    pub(crate) default_vectorizer: String,
}

/// Requests served, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeStats {
    /// `POST /v1/graphql`.
    pub graphql: u64,
    /// gRPC `Search`.
    pub grpc_search: u64,
    /// `POST /v1/batch/objects`.
    pub batch_objects: u64,
    /// `DELETE /v1/batch/objects`.
    pub batch_deletes: u64,
    /// `POST /v1/schema`, `DELETE /v1/schema/{class}`.
    pub schema_writes: u64,
}

/// State shared by the HTTP and gRPC servers.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    state: Mutex<state::State>,
    stats: Mutex<FakeStats>,
    violations: Mutex<Vec<String>>,
    ready: AtomicBool,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("version", &self.settings.version)
            .finish()
    }
}

impl Shared {
    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut state::State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    pub(crate) fn count(&self, f: impl FnOnce(&mut FakeStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub(crate) fn record_violation(&self, violation: String) {
        self.violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(violation);
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// Builder of a fake Weaviate server.
#[derive(Debug, Clone)]
pub struct FakeWeaviate {
    settings: Settings,
    grpc: bool,
}

impl Default for FakeWeaviate {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeWeaviate {
    /// A fake of Weaviate 1.22.13 (the platform's version): no API key,
    /// auto-schema on, no modules, `QUERY_MAXIMUM_RESULTS` 10,000, gRPC on.
    pub fn new() -> Self {
        FakeWeaviate {
            settings: Settings {
                version: ServerVersion::PLATFORM,
                api_key: None,
                query_maximum_results: 10_000,
                query_defaults_limit: 25,
                auto_schema: true,
                modules: Vec::new(),
                default_vectorizer: "none".into(),
            },
            grpc: true,
        }
    }

    /// Behave as (and report) `version`.
    #[must_use]
    pub fn with_version(mut self, version: ServerVersion) -> Self {
        self.settings.version = version;
        self
    }

    /// Require this API key.
    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.settings.api_key = Some(key.into());
        self
    }

    /// `QUERY_MAXIMUM_RESULTS`: the largest `limit`, and how many objects
    /// one batch delete removes.
    #[must_use]
    pub fn with_query_maximum_results(mut self, n: usize) -> Self {
        self.settings.query_maximum_results = n.max(1);
        self
    }

    /// Turn auto-schema off (unknown classes and properties are errors).
    #[must_use]
    pub fn without_auto_schema(mut self) -> Self {
        self.settings.auto_schema = false;
        self
    }

    /// Enable vectorizer modules (by name) that classes may use.
    #[must_use]
    pub fn with_modules<I: IntoIterator<Item = S>, S: Into<String>>(mut self, modules: I) -> Self {
        self.settings.modules = modules.into_iter().map(Into::into).collect();
        self
    }

    /// Do not serve gRPC (its port is closed).
    #[must_use]
    pub fn without_grpc(mut self) -> Self {
        self.grpc = false;
        self
    }

    /// Start the servers on `127.0.0.1` (ephemeral ports) on the current
    /// Tokio runtime.
    pub async fn start(self) -> std::io::Result<FakeServer> {
        let shared = Arc::new(Shared {
            settings: self.settings,
            state: Mutex::new(state::State::default()),
            stats: Mutex::new(FakeStats::default()),
            violations: Mutex::new(Vec::new()),
            ready: AtomicBool::new(true),
        });
        let rest = TcpListener::bind("127.0.0.1:0").await?;
        let rest_addr = rest.local_addr()?;
        let router = http::router(shared.clone());
        let mut tasks = vec![tokio::spawn(async move {
            let _ = axum::serve(rest, router).await;
        })];
        let grpc_addr = if self.grpc {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let service = grpc::WeaviateGrpc::new(shared.clone());
            // Without TCP_NODELAY every unary call waits for a delayed ACK (~40 ms).
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            tasks.push(tokio::spawn(async move {
                let _ = tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(incoming)
                    .await;
            }));
            addr
        } else {
            // A port nothing listens on: bind, read, release.
            let probe = TcpListener::bind("127.0.0.1:0").await?;
            let addr = probe.local_addr()?;
            drop(probe);
            addr
        };
        Ok(FakeServer {
            shared,
            rest_addr,
            grpc_addr,
            tasks,
        })
    }
}

/// A running fake; stops when dropped.
pub struct FakeServer {
    shared: Arc<Shared>,
    rest_addr: SocketAddr,
    grpc_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("rest", &self.rest_addr)
            .field("grpc", &self.grpc_addr)
            .field("version", &self.shared.settings.version)
            .finish()
    }
}

impl FakeServer {
    /// The REST base URL, `http://127.0.0.1:<port>` (without `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The gRPC URL, `http://127.0.0.1:<port>`.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The version the fake behaves as.
    pub fn version(&self) -> ServerVersion {
        self.shared.settings.version
    }

    /// A client configuration for this fake (with its API key, if any).
    pub fn config(&self) -> WeaviateConfig {
        // The URL is ours and valid.
        let mut config = match WeaviateConfig::from_url(&self.url()) {
            Ok(config) => config,
            Err(e) => panic!("fake URL {} rejected: {e}", self.url()),
        };
        config = config.with_grpc_url(self.grpc_url());
        match &self.shared.settings.api_key {
            Some(key) => config.with_api_key(key.clone()),
            None => config,
        }
    }

    /// Requests served so far.
    pub fn stats(&self) -> FakeStats {
        *self.shared.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Request bodies (and replies) that did not match the OpenAPI
    /// definitions, and requests the contract forbids (`fields`).
    pub fn violations(&self) -> Vec<String> {
        self.shared
            .violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// What auto-schema added (`class X`, `property X.y (type)`).
    pub fn auto_schema_events(&self) -> Vec<String> {
        self.shared.with_state(|s| s.auto_schema.clone())
    }

    /// The stored properties of one object (for tests of the stored form).
    pub fn object_properties(&self, class: &str, id: uuid::Uuid) -> Option<serde_json::Value> {
        self.shared.with_state(|s| {
            let obj = s.classes.get(class)?.objects.get(&id)?;
            Some(serde_json::Value::Object(obj.props.clone()))
        })
    }

    /// The stored vector of one object (normalised for cosine classes).
    pub fn object_vector(&self, class: &str, id: uuid::Uuid) -> Option<Vec<f32>> {
        self.shared
            .with_state(|s| s.classes.get(class)?.objects.get(&id)?.vector.clone())
    }

    /// Make `/.well-known/ready` answer 200 (`true`) or 503.
    pub fn set_ready(&self, ready: bool) {
        self.shared.ready.store(ready, Ordering::Relaxed);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
