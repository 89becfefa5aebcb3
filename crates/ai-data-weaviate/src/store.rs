//! [`WeaviateStore`]: the [`VectorStore`] trait on Weaviate.

use std::collections::{HashMap, HashSet};
use std::fmt;
#[cfg(feature = "grpc")]
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ai_data_core::{ErrorKind, HealthCheck, HealthReport, Store};
use async_trait::async_trait;

use super::batch::{self, ReadObject};
use super::client::{observe, WeaviateClient};
use super::filter::{translate, Where};
use super::graphql::{self, Additional, GetQuery};
use super::keyword::{HybridArgs, KeywordGet};
use super::schema::{self, ClassOptions, Layout, PAYLOAD_PROP, SEARCH_PROP, VECTOR_PROP};
use super::{ServerVersion, WeaviateConfig};
use ai_data_vector::batch::plan_upsert;
use ai_data_vector::{
    validate, Capabilities, CollectionSpec, Error, FilterOp, IndexKind, KeywordScoring, Metric,
    Record, RecordId, Result, SearchHit, SearchMode, SearchQuery, Selector, TextAnalyzer,
    UpsertReport, VectorStore,
};

/// Largest vector dimension accepted.
pub const MAX_DIMENSION: usize = 65_536;
/// Largest `k`: Weaviate's default `QUERY_MAXIMUM_RESULTS`.
pub const MAX_K: usize = 10_000;
/// Ids per `get` / delete-by-ids request.
const IDS_PER_REQUEST: usize = 100;

/// How many searches went over each transport (for tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchCounts {
    /// Searches sent as GraphQL `Get` (vector, keyword and hybrid).
    pub graphql: u64,
    /// Searches sent as gRPC `Search`.
    pub grpc: u64,
    /// Of those, keyword and hybrid searches (`bm25` / `hybrid`; over gRPC
    /// from 1.23, else over GraphQL).
    pub keyword: u64,
}

/// Vector search on Weaviate 1.22+.
///
/// - **Collections** are classes (see [`super::schema`] for the layout);
///   the collection's spec lives in the class description and is checked on
///   every `ensure_collection` (dimension, metric, fields, model).
/// - **Distances** are the crate's: Weaviate's `cosine` and `dot` already
///   are; `l2-squared` is square-rooted (and a `max_distance` squared).
/// - **Filters** are translated exactly ([`super::filter`]); `Not` is
///   offered from 1.24 (where `NotEqual` became a complement), the `flat`
///   (exact) index from 1.23; IVFFlat never.
/// - **Searches** use gRPC when built with feature `grpc`, the server has
///   it and the call can be expressed there (keyword and hybrid searches
///   from 1.23), else GraphQL (`bm25`, `hybrid`: see [`crate::keyword`]);
///   gets and counts use GraphQL, writes REST.
/// - **Text search** (the `simple` analyzer only: Weaviate does not stem)
///   keeps the document in a `word`-tokenized `_search` property, scored
///   by the server's BM25 (`k1 = 1.2`, `b = 0.75`, no stop words), fused by
///   its `rankedFusion` (`k = 60` only) or `relativeScoreFusion`.
/// - **Observed**: each call is one [`ai_data_core::observe::Operation`]
///   (store `weaviate`) named after the trait method (`search`, `upsert`,
///   ...; `connect` for [`WeaviateStore::connect`], `ensure_collection` for
///   [`WeaviateStore::ensure_collection_with`]), the collection as target,
///   however many requests it makes (those are not observed again).
///
/// ```no_run
/// use ai_data_weaviate::{WeaviateConfig, WeaviateStore};
/// use ai_data_vector::{CollectionSpec, FieldKind, Filter, Metric, SearchQuery, VectorStore};
///
/// # async fn demo() -> ai_data_vector::Result<()> {
/// let store = WeaviateStore::connect(&WeaviateConfig::from_env()?).await?;
/// let spec = CollectionSpec::new("documents", 768, Metric::Cosine).with_field("lang", FieldKind::Text);
/// store.ensure_collection(&spec).await?;
/// let query = SearchQuery::new(vec![0.1; 768], 10).with_filter(Filter::eq("lang", "en"));
/// let hits = store.search("documents", &query).await?;
/// # Ok(()) }
/// ```
pub struct WeaviateStore {
    client: WeaviateClient,
    version: ServerVersion,
    caps: Capabilities,
    class_options: ClassOptions,
    layouts: RwLock<HashMap<String, Arc<Layout>>>,
    #[cfg(feature = "grpc")]
    grpc: Option<super::grpc::GrpcSearch>,
    #[cfg(feature = "grpc")]
    grpc_down: AtomicBool,
    graphql_searches: AtomicU64,
    grpc_searches: AtomicU64,
    keyword_searches: AtomicU64,
}

impl fmt::Debug for WeaviateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("WeaviateStore");
        d.field("client", &self.client)
            .field("version", &self.version)
            .field("caps", &self.caps);
        #[cfg(feature = "grpc")]
        d.field("grpc", &self.grpc);
        d.finish()
    }
}

impl WeaviateStore {
    /// Connect: read the server version from `/v1/meta`, derive the
    /// capabilities, and prepare (lazily) the gRPC channel.
    ///
    /// Observed as the operation `connect`.
    pub async fn connect(config: &WeaviateConfig) -> Result<Self> {
        observe("connect", "").run(Self::connect_in(config)).await
    }

    async fn connect_in(config: &WeaviateConfig) -> Result<Self> {
        let client = WeaviateClient::new(config)?;
        let meta = client.meta_in().await?;
        let version = ServerVersion::parse(&meta.version)
            .map_err(|e| Error::new(ErrorKind::Backend, e.message().to_owned()))?;
        if !version.is_supported() {
            return Err(Error::unsupported(format!(
                "Weaviate {version} is older than 1.22, the oldest version this backend supports"
            ))
            .with_store(Store::Weaviate));
        }
        #[cfg(feature = "grpc")]
        let grpc = match config.grpc {
            super::GrpcMode::Off => None,
            _ if !version.has_grpc_search() => None,
            _ => Some(super::grpc::GrpcSearch::new(config)?),
        };
        // The server cuts a tie at the k-th distance as it likes (not by
        // id), and returns only k objects: see `VectorStore::search`.
        let mut caps = Capabilities::new(config.batch_size, MAX_DIMENSION, MAX_K)
            .with_metrics(Metric::ALL)
            .with_ties_by_id(false)
            // `word` tokenization without stop words is the `simple`
            // analyzer; Weaviate has no stemming, so no `english`.
            .with_text_search([TextAnalyzer::Simple], KeywordScoring::Bm25, false);
        caps = if version.has_flat_index() {
            caps.with_index_kinds([IndexKind::Hnsw, IndexKind::Exact])
        } else {
            caps.with_index_kinds([IndexKind::Hnsw])
        };
        if !version.has_complement_not_equal() {
            caps =
                caps.with_filter_ops(FilterOp::ALL.into_iter().filter(|op| *op != FilterOp::Not));
        }
        Ok(WeaviateStore {
            client,
            version,
            caps,
            class_options: ClassOptions::default(),
            layouts: RwLock::new(HashMap::new()),
            #[cfg(feature = "grpc")]
            grpc,
            #[cfg(feature = "grpc")]
            grpc_down: AtomicBool::new(false),
            graphql_searches: AtomicU64::new(0),
            grpc_searches: AtomicU64::new(0),
            keyword_searches: AtomicU64::new(0),
        })
    }

    /// Create new collections' classes with these options (a vectorizer
    /// module, module settings); default: `vectorizer: none`.
    #[must_use]
    pub fn with_class_options(mut self, options: ClassOptions) -> Self {
        self.class_options = options;
        self
    }

    /// The REST/GraphQL client.
    pub fn client(&self) -> &WeaviateClient {
        &self.client
    }

    /// The server's version, from `/v1/meta`.
    pub fn version(&self) -> ServerVersion {
        self.version
    }

    /// How many searches went over GraphQL and over gRPC so far.
    pub fn search_counts(&self) -> SearchCounts {
        SearchCounts {
            graphql: self.graphql_searches.load(Ordering::Relaxed),
            grpc: self.grpc_searches.load(Ordering::Relaxed),
            keyword: self.keyword_searches.load(Ordering::Relaxed),
        }
    }

    /// Like [`VectorStore::ensure_collection`], creating the class with
    /// `options` (vectorizer, extra properties) instead of the store's.
    /// Observed as the operation `ensure_collection`.
    pub async fn ensure_collection_with(
        &self,
        spec: &CollectionSpec,
        options: &ClassOptions,
    ) -> Result<bool> {
        observe("ensure_collection", &spec.name)
            .run(self.ensure_collection_in(spec, options))
            .await
    }

    async fn ensure_collection_in(
        &self,
        spec: &CollectionSpec,
        options: &ClassOptions,
    ) -> Result<bool> {
        validate::collection_spec(spec, &self.caps)?;
        schema::check_spec(spec)?;
        let class = schema::class_for(spec, options)?;
        let name = spec.name.as_str();
        let existing = self.client.schema_in().await?;
        if let Some(found) = existing
            .iter()
            .find(|c| c.class.eq_ignore_ascii_case(&class.class))
        {
            if found.class != class.class {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "collection `{name}` would be Weaviate class `{}`, but class `{}` exists: class names differing only in case collide",
                        class.class, found.class
                    ),
                )
                .with_store(Store::Weaviate)
                .with_target(name.to_owned()));
            }
            return self.reuse(name, spec, found);
        }
        match self.client.create_class_in(&class).await {
            Ok(_) => {
                self.remember(name, Layout::of(name, &class)?);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::Conflict => {
                // Created meanwhile by someone else: compare with theirs.
                match self.client.get_class_in(&class.class).await? {
                    Some(found) => self.reuse(name, spec, &found),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn reuse(&self, name: &str, spec: &CollectionSpec, class: &schema::ClassDef) -> Result<bool> {
        let layout = Layout::of(name, class).map_err(|e| e.with_store(Store::Weaviate))?;
        validate::compatible(&layout.spec, spec)
            .map_err(|e| e.with_store(Store::Weaviate).with_target(name.to_owned()))?;
        self.remember(name, layout);
        Ok(false)
    }

    fn remember(&self, name: &str, layout: Layout) -> Arc<Layout> {
        let layout = Arc::new(layout);
        self.layouts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), layout.clone());
        layout
    }

    fn forget(&self, name: &str) {
        self.layouts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// The collection's layout: cached, or (and always when `fresh`) read
    /// from its class. `NotFound` when the class does not exist.
    async fn layout(&self, name: &str, fresh: bool) -> Result<Arc<Layout>> {
        let class = schema::class_name(name)?;
        if !fresh {
            if let Some(layout) = self
                .layouts
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(name)
            {
                return Ok(layout.clone());
            }
        }
        match self.client.get_class_in(&class).await? {
            Some(def) => Ok(self.remember(name, Layout::of(name, &def)?)),
            None => {
                self.forget(name);
                Err(not_found(name))
            }
        }
    }

    /// Run a GraphQL query for `collection`, forgetting the cached layout
    /// when the class turns out to be gone.
    async fn graphql(&self, name: &str, class: &str, query: &str) -> Result<serde_json::Value> {
        self.client.graphql_in(query).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound && e.target() == Some(class) {
                self.forget(name);
                not_found(name).with_source(e)
            } else {
                e.with_store(Store::Weaviate).with_target(name.to_owned())
            }
        })
    }

    async fn search_graphql(
        &self,
        name: &str,
        layout: &Layout,
        query: &SearchQuery,
        filter: Option<&Where>,
        distance: Option<f64>,
    ) -> Result<Vec<ReadObject>> {
        let blob = query.include_vector && layout.vector_blob;
        let mut properties: Vec<&str> = Vec::with_capacity(2);
        if query.include_payload {
            properties.push(PAYLOAD_PROP);
        }
        if blob {
            properties.push(VECTOR_PROP);
        }
        let text = GetQuery {
            class: &layout.class,
            limit: query.k,
            near_vector: Some((&query.vector, distance)),
            filter,
            properties: &properties,
            additional: Additional {
                id: true,
                distance: true,
                vector: query.include_vector && !blob,
            },
        }
        .to_query()?;
        self.graphql_searches.fetch_add(1, Ordering::Relaxed);
        let data = self.graphql(name, &layout.class, &text).await?;
        graphql::get_objects(&data, &layout.class)?
            .iter()
            .map(|o| batch::read_object(o, query.include_payload, query.include_vector))
            .collect()
    }

    #[cfg(feature = "grpc")]
    async fn search_grpc(
        &self,
        layout: &Layout,
        query: &SearchQuery,
        filter: Option<&Where>,
        distance: Option<f64>,
    ) -> Option<Result<Vec<ReadObject>>> {
        let blob = query.include_vector && layout.vector_blob;
        let parts = super::grpc::SearchParts {
            class: &layout.class,
            vector: &query.vector,
            limit: query.k,
            filter,
            distance,
            payload: query.include_payload,
            vector_blob: blob,
            metadata_vector: query.include_vector && !blob,
            keyword: None,
        };
        self.grpc_search(&parts).await
    }

    /// One gRPC `Search` for `parts`; `None` when gRPC is off, down, or
    /// cannot express the request on this version (the caller then uses
    /// GraphQL).
    #[cfg(feature = "grpc")]
    async fn grpc_search(
        &self,
        parts: &super::grpc::SearchParts<'_>,
    ) -> Option<Result<Vec<ReadObject>>> {
        use super::grpc;
        let channel = self.grpc.as_ref()?;
        // 1.22 takes filter numbers as `float`, and its keyword messages are
        // not all documented: send those over GraphQL.
        let expressible = self.version.has_grpc_123_api()
            || (parts.keyword.is_none() && !parts.filter.is_some_and(Where::has_number));
        if self.grpc_down.load(Ordering::Relaxed) || !expressible {
            return None;
        }
        let request = grpc::search_request(parts, self.version);
        match channel.search(request).await {
            Ok(reply) => {
                self.grpc_searches.fetch_add(1, Ordering::Relaxed);
                Some(grpc::read_reply(reply, parts))
            }
            Err(e) if grpc::is_unavailable(&e) => {
                tracing::warn!(error = %e, "Weaviate gRPC unavailable; searching over GraphQL from now on");
                self.grpc_down.store(true, Ordering::Relaxed);
                None
            }
            Err(e) => Some(Err(e)),
        }
    }
}

fn not_found(name: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("collection `{name}` does not exist"),
    )
    .with_store(Store::Weaviate)
    .with_target(name.to_owned())
}

/// The distance Weaviate is asked to cut at for a `max_distance`, a little
/// wider than exact (its distances are `f32`); hits are then cut exactly.
fn server_threshold(metric: Metric, max: f32) -> Option<f64> {
    let max = f64::from(max);
    match metric {
        Metric::L2 if max < 0.0 => None,
        Metric::L2 => Some(max * max * (1.0 + 1e-5) + 1e-9),
        _ => Some(max + 1e-5 * max.abs().max(1.0)),
    }
}

/// Weaviate's distance in the crate's units.
fn to_distance(metric: Metric, server: f32) -> f32 {
    match metric {
        Metric::L2 => server.max(0.0).sqrt(),
        _ => server,
    }
}

/// `ids` without repeats, in first-seen order.
fn distinct(ids: &[RecordId]) -> Vec<RecordId> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// The trait's work, each method observed once by the trait impl below
/// (through the client's unobserved calls, so one call is one operation).
impl WeaviateStore {
    async fn drop_collection_in(&self, name: &str) -> Result<bool> {
        let class = schema::class_name(name)?;
        let Some(def) = self.client.get_class_in(&class).await? else {
            self.forget(name);
            return Ok(false);
        };
        match schema::spec_of(&def)? {
            Some(spec) if spec.name == name => {}
            Some(spec) => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "Weaviate class `{class}` holds collection `{}`, not `{name}`: names differing only in the case of their first letter collide",
                        spec.name
                    ),
                )
                .with_store(Store::Weaviate)
                .with_target(name.to_owned()))
            }
            None => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("Weaviate class `{class}` was not created by ai-data-vector; not dropping it"),
                )
                .with_store(Store::Weaviate)
                .with_target(name.to_owned()))
            }
        }
        self.client.delete_class_in(&class).await?;
        self.forget(name);
        Ok(true)
    }

    async fn upsert_in(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        // Fresh: writing to a class dropped behind our back would let
        // auto-schema re-create it with guessed types.
        let layout = self.layout(collection, true).await?;
        let plan = plan_upsert(&layout.spec, records);
        if plan.is_empty() {
            return Ok(plan.into_report());
        }
        // Batch positions by record address (the plan keeps references).
        let address = |r: &Record| r as *const Record as usize;
        let position: HashMap<usize, usize> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (address(r), i))
            .collect();
        let mut failed: Vec<(usize, RecordId, String)> = Vec::new();
        for chunk in plan.chunks(self.caps.max_batch_size) {
            let objects: Vec<_> = chunk.iter().map(|r| batch::object(&layout, r)).collect();
            let outcomes = self.client.batch_objects_in(&objects).await?;
            for (record, outcome) in chunk.iter().zip(outcomes) {
                if !outcome.is_ok() {
                    let index = position.get(&address(record)).copied().unwrap_or_default();
                    failed.push((index, record.id, outcome.errors.join("; ")));
                }
            }
        }
        let mut report = plan.into_report();
        for (index, id, message) in failed {
            report.upserted = report.upserted.saturating_sub(1);
            let error = Error::new(
                ErrorKind::Backend,
                format!("record #{index} ({id}): Weaviate: {message}"),
            )
            .with_store(Store::Weaviate)
            .with_operation("upsert")
            .with_target(collection.to_owned());
            report.push_failure(index, id, error);
        }
        report.failures.sort_by_key(|f| f.index);
        Ok(report)
    }

    async fn get_in(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        let layout = self.layout(collection, false).await?;
        let ids = distinct(ids);
        let mut found: HashMap<RecordId, Record> = HashMap::with_capacity(ids.len());
        let mut properties = vec![PAYLOAD_PROP];
        if layout.vector_blob {
            properties.push(VECTOR_PROP);
        }
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            let filter = Where::ids(chunk);
            let text = GetQuery {
                class: &layout.class,
                limit: chunk.len(),
                near_vector: None,
                filter: Some(&filter),
                properties: &properties,
                additional: Additional {
                    id: true,
                    distance: false,
                    vector: !layout.vector_blob,
                },
            }
            .to_query()?;
            let data = self.graphql(collection, &layout.class, &text).await?;
            for object in graphql::get_objects(&data, &layout.class)? {
                let read = batch::read_object(&object, true, true)?;
                let record = Record::new(
                    read.id,
                    read.vector.unwrap_or_default(),
                    read.payload.unwrap_or_default(),
                );
                found.insert(read.id, record);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    async fn delete_in(&self, collection: &str, selector: Selector) -> Result<u64> {
        let layout = self.layout(collection, true).await?;
        validate::selector(&layout.spec, &self.caps, &selector)?;
        match selector {
            Selector::Ids(ids) => {
                let ids = distinct(&ids);
                if let [id] = ids[..] {
                    return Ok(u64::from(
                        self.client.delete_object_in(&layout.class, id).await?,
                    ));
                }
                let mut deleted = 0;
                for chunk in ids.chunks(IDS_PER_REQUEST) {
                    deleted += self
                        .client
                        .delete_where_in(&layout.class, &Where::ids(chunk))
                        .await?;
                }
                Ok(deleted)
            }
            Selector::Filter(filter) => {
                let filter = translate(&layout, &filter)?;
                self.client.delete_where_in(&layout.class, &filter).await
            }
        }
    }

    async fn count_in(
        &self,
        collection: &str,
        filter: Option<&ai_data_vector::Filter>,
    ) -> Result<u64> {
        let layout = self.layout(collection, false).await?;
        let filter = match filter {
            Some(f) => {
                validate::filter(&layout.spec, &self.caps, f)?;
                Some(translate(&layout, f)?)
            }
            None => None,
        };
        let text = graphql::count_query(&layout.class, filter.as_ref())?;
        let data = self.graphql(collection, &layout.class, &text).await?;
        graphql::aggregate_count(&data, &layout.class)
    }

    /// A keyword (`bm25`) or hybrid (`hybrid`) search, over gRPC (1.23+)
    /// or GraphQL: each arm ranked to the query's arm depth, fused by the
    /// server, re-sorted by score then id and cut to `k`; a hybrid hit's
    /// distance computed from its stored vector.
    async fn search_text(
        &self,
        collection: &str,
        layout: &Layout,
        query: &SearchQuery,
        filter: Option<&Where>,
    ) -> Result<Vec<SearchHit>> {
        let metric = layout.spec.metric;
        let hybrid = query.mode() == SearchMode::Hybrid;
        let text = query.text.as_ref().map_or("", |t| t.text.as_str());
        let hybrid_args = query.text.as_ref().filter(|_| hybrid).map(|t| HybridArgs {
            vector: &query.vector,
            alpha: t.alpha,
            fusion: t.fusion,
        });
        let want_vector = hybrid || query.include_vector;
        let blob = want_vector && layout.vector_blob;
        self.keyword_searches.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "grpc")]
        let fast = {
            let fusion = hybrid_args.map(|h| h.grpc_fusion()).transpose()?;
            let parts = super::grpc::SearchParts {
                class: &layout.class,
                vector: &query.vector,
                limit: query.arm_depth(),
                filter,
                distance: None,
                payload: query.include_payload,
                vector_blob: blob,
                metadata_vector: want_vector && !blob,
                keyword: Some(super::grpc::KeywordParts {
                    text,
                    property: SEARCH_PROP,
                    hybrid: hybrid_args.zip(fusion).map(|(h, f)| (h.alpha, f)),
                }),
            };
            self.grpc_search(&parts).await
        };
        #[cfg(not(feature = "grpc"))]
        let fast: Option<Result<Vec<ReadObject>>> = None;
        let objects = match fast {
            Some(result) => result?,
            None => {
                let mut properties: Vec<&str> = vec![PAYLOAD_PROP];
                if blob {
                    properties.push(VECTOR_PROP);
                }
                let get = KeywordGet {
                    class: &layout.class,
                    limit: query.arm_depth(),
                    text,
                    property: SEARCH_PROP,
                    hybrid: hybrid_args,
                    filter,
                    properties: &properties,
                    vector: want_vector && !blob,
                }
                .to_query()?;
                self.graphql_searches.fetch_add(1, Ordering::Relaxed);
                let data = self.graphql(collection, &layout.class, &get).await?;
                graphql::get_objects(&data, &layout.class)?
                    .iter()
                    .map(|o| batch::read_object(o, query.include_payload, want_vector))
                    .collect::<Result<Vec<_>>>()?
            }
        };
        let mut hits = Vec::with_capacity(objects.len());
        for read in objects {
            let score = read.score.ok_or_else(|| {
                Error::new(
                    ErrorKind::Backend,
                    format!("Weaviate returned keyword hit {} without a score", read.id),
                )
                .with_store(Store::Weaviate)
            })?;
            let distance = match (&read.vector, hybrid) {
                (Some(v), true) => ai_data_vector::distance::distance(metric, &query.vector, v),
                _ => f32::NAN,
            };
            hits.push(SearchHit {
                id: read.id,
                distance,
                score: Some(score),
                payload: read.payload.filter(|_| query.include_payload),
                vector: read.vector.filter(|_| query.include_vector),
            });
        }
        hits.sort_by(|a, b| {
            b.score
                .unwrap_or_default()
                .total_cmp(&a.score.unwrap_or_default())
                .then_with(|| a.id.cmp(&b.id))
        });
        hits.truncate(query.k);
        Ok(hits)
    }

    async fn search_in(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        let layout = self.layout(collection, false).await?;
        validate::query(&layout.spec, &self.caps, query)?;
        let metric = layout.spec.metric;
        if query.mode() != SearchMode::Vector {
            let filter = query
                .filter
                .as_ref()
                .map(|f| translate(&layout, f))
                .transpose()?;
            return self
                .search_text(collection, &layout, query, filter.as_ref())
                .await;
        }
        let filter = query
            .filter
            .as_ref()
            .map(|f| translate(&layout, f))
            .transpose()?;
        let distance = match query.max_distance {
            Some(max) => match server_threshold(metric, max) {
                Some(d) => Some(d),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        #[cfg(feature = "grpc")]
        let fast = self
            .search_grpc(&layout, query, filter.as_ref(), distance)
            .await;
        #[cfg(not(feature = "grpc"))]
        let fast: Option<Result<Vec<ReadObject>>> = None;
        let objects = match fast {
            Some(result) => result?,
            None => {
                self.search_graphql(collection, &layout, query, filter.as_ref(), distance)
                    .await?
            }
        };
        let mut hits: Vec<SearchHit> = objects
            .into_iter()
            .map(|o| SearchHit {
                id: o.id,
                distance: to_distance(metric, o.distance.unwrap_or(f32::NAN)),
                score: None,
                payload: o.payload,
                vector: o.vector,
            })
            .filter(|h| query.max_distance.is_none_or(|max| h.distance <= max))
            .collect();
        hits.sort_by(|a, b| {
            a.distance
                .total_cmp(&b.distance)
                .then_with(|| a.id.cmp(&b.id))
        });
        hits.truncate(query.k);
        Ok(hits)
    }
}

#[async_trait]
impl VectorStore for WeaviateStore {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    // One `Operation` per call, named after the method, the collection as
    // its target: a span and two metric calls, nothing allocated for them.

    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        self.ensure_collection_with(spec, &self.class_options).await
    }

    async fn drop_collection(&self, name: &str) -> Result<bool> {
        observe("drop_collection", name)
            .run(self.drop_collection_in(name))
            .await
    }

    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        observe("upsert", collection)
            .run_counted(self.upsert_in(collection, records), |r| r.upserted)
            .await
    }

    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        observe("get", collection)
            .run_counted(self.get_in(collection, ids), Vec::len)
            .await
    }

    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        observe("delete", collection)
            .run_counted(self.delete_in(collection, selector), |n| *n)
            .await
    }

    async fn count(
        &self,
        collection: &str,
        filter: Option<&ai_data_vector::Filter>,
    ) -> Result<u64> {
        observe("count", collection)
            .run_counted(self.count_in(collection, filter), |n| *n)
            .await
    }

    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        observe("search", collection)
            .run_counted(self.search_in(collection, query), Vec::len)
            .await
    }
}

#[async_trait]
impl HealthCheck for WeaviateStore {
    async fn check(&self) -> Result<HealthReport> {
        self.client.check().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_and_distances() {
        assert_eq!(server_threshold(Metric::L2, -1.0), None);
        let t = server_threshold(Metric::L2, 2.0).unwrap_or_default();
        assert!((4.0..4.001).contains(&t));
        let t = server_threshold(Metric::Dot, -3.0).unwrap_or_default();
        assert!(t > -3.0 && t < -2.99, "{t}");
        assert_eq!(to_distance(Metric::L2, 9.0), 3.0);
        assert_eq!(to_distance(Metric::L2, -1e-9), 0.0);
        assert_eq!(to_distance(Metric::Dot, -2.0), -2.0);
        let (a, b) = (RecordId::from_key("a"), RecordId::from_key("b"));
        assert_eq!(distinct(&[b, a, b, a]), vec![b, a]);
    }
}
