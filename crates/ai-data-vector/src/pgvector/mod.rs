//! [`PgVectorStore`]: the vector trait on PostgreSQL + pgvector, through
//! `ai-data-pg`'s pool.
//!
//! One table per collection in a configurable schema (default
//! `data_platform`), and a registry table `_vector_collections` recording
//! each collection's dimension, metric, index, fields and embedding model.
//!
//! The search is exactly `ORDER BY embedding <op> $1 LIMIT $2`, with the
//! operator matching the index's operator class; filters are bound
//! parameters over typed, generated columns. With a filter (or a `k` above
//! the index's default candidate list), the search runs in a transaction
//! that sets `hnsw.ef_search` and `hnsw.iterative_scan = strict_order`
//! (IVFFlat: `ivfflat.probes`, `ivfflat.iterative_scan = relaxed_order`)
//! for that transaction only, so a filtered search still returns `k` rows
//! when `k` exist.
//!
//! Each call is one observed [`Operation`] (store `postgres`): the trait
//! methods under their own names (`search`, `upsert`, ...), plus `connect`
//! and `explain_search`, the collection (or schema) as the target; hits,
//! records, deleted or counted rows as the count.

mod copy;
mod ddl;
#[macro_use]
mod sql_filter;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use ai_data_core::observe::Operation;
use ai_data_core::{ErrorKind, Store};
use ai_data_pg::{map_sqlx, PgDatabase, ReadFrom};
use async_trait::async_trait;
use futures::StreamExt;
use pgvector::Vector;
use sqlx::types::Json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::batch::plan_upsert;
use crate::{
    validate, Capabilities, CollectionSpec, Error, Filter, IndexSpec, Payload, Record, RecordId,
    Result, SearchHit, SearchQuery, Selector, UpsertReport, VectorStore,
};
use ddl::{operator, qualified, REGISTRY};
use sql_filter::translate;

/// Default schema of the collection tables.
pub const DEFAULT_SCHEMA: &str = "data_platform";

/// Rows per upsert statement: large enough to amortise a round trip, small
/// enough that a batch spreads over several connections.
const WRITE_CHUNK: usize = 1_000;

/// pgvector's default `hnsw.ef_search`: an HNSW scan returns at most this
/// many rows unless raised, so a larger `k` raises it.
const DEFAULT_EF_SEARCH: usize = 40;

/// Vector search on PostgreSQL + pgvector.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// use ai_data_vector::{CollectionSpec, Filter, FieldKind, Metric, PgVectorStore, SearchQuery, VectorStore};
///
/// let store = PgVectorStore::connect(db, "data_platform").await?;
/// let spec = CollectionSpec::new("documents", 768, Metric::Cosine).with_field("lang", FieldKind::Text);
/// store.ensure_collection(&spec).await?;
/// let hits = store
///     .search("documents", &SearchQuery::new(vec![0.1; 768], 10).with_filter(Filter::eq("lang", "en")))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PgVectorStore {
    db: PgDatabase,
    schema: String,
    reads: ReadFrom,
    write_parallelism: usize,
    caps: Capabilities,
    specs: RwLock<HashMap<String, Arc<CollectionSpec>>>,
}

impl PgVectorStore {
    /// A store whose collections live in `schema` (created if missing, with
    /// the registry). Searches, gets and counts go to the primary; see
    /// [`PgVectorStore::with_replica_reads`].
    ///
    /// Observed as the operation `connect` (target: the schema).
    pub async fn connect(db: PgDatabase, schema: &str) -> Result<Self> {
        observe("connect", schema)
            .run(Self::connect_in(db, schema))
            .await
    }

    async fn connect_in(db: PgDatabase, schema: &str) -> Result<Self> {
        validate::identifier("schema", schema)?;
        let store = PgVectorStore {
            db,
            schema: schema.to_owned(),
            reads: ReadFrom::Primary,
            write_parallelism: 4,
            // 2,000: pgvector's limit for indexing `vector`; 1,000: its ef_search maximum.
            caps: Capabilities::new(2_000, 2_000, 1_000),
            specs: RwLock::new(HashMap::new()),
        };
        let mut tx = store
            .pool()
            .begin()
            .await
            .map_err(|e| pg(e, "init", schema))?;
        lock(&mut tx, &format!("ai_data_vector:{schema}")).await?;
        for statement in ddl::init(schema) {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .map_err(|e| pg(e, "init", schema))?;
        }
        tx.commit().await.map_err(|e| pg(e, "init", schema))?;
        Ok(store)
    }

    /// Send searches, gets and counts to a read replica when the database
    /// has one (they may then lag behind writes).
    #[must_use]
    pub fn with_replica_reads(mut self) -> Self {
        self.reads = ReadFrom::Replica;
        self
    }

    /// How many chunks of one upsert are written at once, each on its own
    /// pooled connection (default 4; 1 writes them one after another).
    /// Chunks are separate statements: an error may leave earlier chunks written.
    #[must_use]
    pub fn with_write_parallelism(mut self, n: usize) -> Self {
        self.write_parallelism = n.max(1);
        self
    }

    /// The schema holding the collection tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn pool(&self) -> &PgPool {
        self.db.primary()
    }

    fn table(&self, collection: &str) -> String {
        qualified(&self.schema, collection)
    }

    /// The collection's spec, from the cache or the registry; `NotFound` if absent.
    async fn spec(&self, collection: &str) -> Result<Arc<CollectionSpec>> {
        validate::collection_name(collection)?;
        if let Some(spec) = self
            .specs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(collection)
        {
            return Ok(spec.clone());
        }
        let sql = format!(
            "SELECT spec FROM {} WHERE name = $1",
            qualified(&self.schema, REGISTRY)
        );
        let row: Option<Json<CollectionSpec>> = sqlx::query_scalar(&sql)
            .bind(collection)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| pg(e, "registry", collection))?;
        let spec = Arc::new(
            row.ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("no collection {collection:?}"))
                    .with_target(collection)
            })?
            .0,
        );
        self.specs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(collection.to_owned(), spec.clone());
        Ok(spec)
    }

    /// The plan PostgreSQL chooses for `query` (`EXPLAIN`, with the same
    /// per-transaction settings the search uses): to check that the vector
    /// index serves it.
    ///
    /// Observed as the operation `explain_search` (target: the collection).
    pub async fn explain_search(&self, collection: &str, query: &SearchQuery) -> Result<String> {
        observe("explain_search", collection)
            .run(self.explain_search_in(collection, query))
            .await
    }

    async fn explain_search_in(&self, collection: &str, query: &SearchQuery) -> Result<String> {
        let spec = self.spec(collection).await?;
        validate::query(&spec, &self.caps, query)?;
        let mut plan = SearchPlan::new(&self.schema, &spec, query)?;
        plan.sql = format!("EXPLAIN {}", plan.sql);
        let rows = plan
            .run(self.pool())
            .await
            .map_err(|e| pg(e, "explain", collection))?;
        let lines = rows
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| pg(e, "explain", collection))?;
        Ok(lines.join("\n"))
    }

    fn forget(&self, collection: &str) {
        self.specs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(collection);
    }
}

fn pg(err: sqlx::Error, operation: &'static str, target: &str) -> Error {
    map_sqlx(err, operation, target)
}

/// The observed `operation` on `target` (a schema or collection name).
fn observe<'a>(operation: &'static str, target: &'a str) -> Operation<'a> {
    Operation::new(Store::Postgres, operation).target(target)
}

/// A transaction-scoped advisory lock, so concurrent creators of one
/// collection (or one schema's registry) take turns.
async fn lock(tx: &mut sqlx::PgConnection, key: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(tx)
        .await
        .map_err(|e| pg(e, "lock", key))?;
    Ok(())
}

/// The trait's work, each method observed once by the trait impl below.
impl PgVectorStore {
    async fn ensure_collection_in(&self, spec: &CollectionSpec) -> Result<bool> {
        validate::collection_spec(spec, &self.caps)?;
        if spec.name == REGISTRY {
            return Err(Error::invalid_input(format!(
                "{REGISTRY:?} is reserved for the registry"
            )));
        }
        let name = spec.name.as_str();
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| pg(e, "ensure_collection", name))?;
        lock(&mut tx, &format!("ai_data_vector:{}.{name}", self.schema)).await?;
        let sql = format!(
            "SELECT spec FROM {} WHERE name = $1",
            qualified(&self.schema, REGISTRY)
        );
        let existing: Option<Json<CollectionSpec>> = sqlx::query_scalar(&sql)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| pg(e, "ensure_collection", name))?;
        if let Some(Json(existing)) = existing {
            validate::compatible(&existing, spec)
                .map_err(|e| e.with_store(Store::Postgres).with_target(name))?;
            return Ok(false);
        }
        let mut statements = vec![ddl::create_table(&self.schema, spec)];
        statements.extend(ddl::create_indexes(&self.schema, spec));
        for statement in &statements {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(|e| pg(e, "ensure_collection", name))?;
        }
        let sql = format!(
            "INSERT INTO {} (name, dimension, metric, embedding_model, spec) VALUES ($1, $2, $3, $4, $5)",
            qualified(&self.schema, REGISTRY)
        );
        sqlx::query(&sql)
            .bind(name)
            .bind(i32::try_from(spec.dimension).unwrap_or(i32::MAX))
            .bind(spec.metric.as_str())
            .bind(&spec.embedding_model)
            .bind(Json(spec))
            .execute(&mut *tx)
            .await
            .map_err(|e| pg(e, "ensure_collection", name))?;
        tx.commit()
            .await
            .map_err(|e| pg(e, "ensure_collection", name))?;
        self.forget(name);
        Ok(true)
    }

    async fn drop_collection_in(&self, name: &str) -> Result<bool> {
        validate::collection_name(name)?;
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| pg(e, "drop_collection", name))?;
        lock(&mut tx, &format!("ai_data_vector:{}.{name}", self.schema)).await?;
        let sql = format!(
            "DELETE FROM {} WHERE name = $1",
            qualified(&self.schema, REGISTRY)
        );
        let removed = sqlx::query(&sql)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| pg(e, "drop_collection", name))?
            .rows_affected();
        if removed > 0 {
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", self.table(name)))
                .execute(&mut *tx)
                .await
                .map_err(|e| pg(e, "drop_collection", name))?;
        }
        tx.commit()
            .await
            .map_err(|e| pg(e, "drop_collection", name))?;
        self.forget(name);
        Ok(removed > 0)
    }

    async fn upsert_in(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        let spec = self.spec(collection).await?;
        let plan = plan_upsert(&spec, records);
        if plan.is_empty() {
            return Ok(plan.into_report());
        }
        // One statement per chunk: INSERT ... SELECT FROM UNNEST of whole
        // columns (binary-encoded vectors), never a row at a time.
        let sql = format!(
            "INSERT INTO {} (id, embedding, payload) \
             SELECT * FROM UNNEST($1::uuid[], $2::vector[], $3::jsonb[]) \
             ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, payload = EXCLUDED.payload",
            self.table(collection)
        );
        // Chunks go over up to `write_parallelism` pooled connections at
        // once: one statement stream is bound by one server backend. Each
        // chunk is encoded when its turn comes, so the server is loading
        // one chunk while the next is encoded.
        let chunk_size = self.caps.max_batch_size.min(WRITE_CHUNK);
        let table = self.table(collection);
        {
            // Boxed: a named future type keeps the borrows simple for the
            // compiler (async-trait needs the whole future to be `Send`).
            let writes: Vec<Pin<Box<dyn Future<Output = Result<()>> + Send + '_>>> = plan
                .chunks(chunk_size)
                .map(|records| {
                    let write = ChunkWrite {
                        records,
                        pool: self.pool(),
                        table: &table,
                        upsert_sql: &sql,
                        collection,
                    };
                    Box::pin(write.run()) as Pin<Box<dyn Future<Output = Result<()>> + Send>>
                })
                .collect();
            let mut running =
                futures::stream::iter(writes).buffer_unordered(self.write_parallelism);
            while let Some(done) = running.next().await {
                done?;
            }
        }
        Ok(plan.into_report())
    }

    async fn get_in(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        let _spec = self.spec(collection).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let uuids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        let sql = format!(
            "SELECT id, embedding, payload FROM {} WHERE id = ANY($1)",
            self.table(collection)
        );
        let rows = self
            .db
            .read(self.reads, |pool| {
                let (sql, uuids) = (sql.clone(), uuids.clone());
                async move {
                    sqlx::query(&sql)
                        .bind(&uuids)
                        .fetch_all(&pool)
                        .await
                        .map_err(|e| pg(e, "get", collection))
                }
            })
            .await?;
        let mut found: HashMap<Uuid, Record> = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: Uuid = row.try_get("id").map_err(|e| pg(e, "get", collection))?;
            let vector: Vector = row
                .try_get("embedding")
                .map_err(|e| pg(e, "get", collection))?;
            let Json(payload): Json<Payload> = row
                .try_get("payload")
                .map_err(|e| pg(e, "get", collection))?;
            found.insert(
                id,
                Record::new(RecordId::from_uuid(id), vector.to_vec(), payload),
            );
        }
        // The order first requested, each id once.
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id.as_uuid()))
            .collect())
    }

    async fn delete_in(&self, collection: &str, selector: Selector) -> Result<u64> {
        let spec = self.spec(collection).await?;
        validate::selector(&spec, &self.caps, &selector)?;
        let table = self.table(collection);
        let done = match &selector {
            Selector::Ids(ids) => {
                let uuids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
                sqlx::query(&format!("DELETE FROM {table} WHERE id = ANY($1)"))
                    .bind(&uuids)
                    .execute(self.pool())
                    .await
            }
            Selector::Filter(filter) => {
                let cond = translate(&spec, filter, 1)?;
                let sql = format!("DELETE FROM {table} WHERE {} RETURNING 1", cond.sql);
                let deleted: Vec<(i32,)> = bind_all!(sqlx::query_as(&sql), &cond.binds)
                    .fetch_all(self.pool())
                    .await
                    .map_err(|e| pg(e, "delete", collection))?;
                return Ok(deleted.len() as u64);
            }
        };
        Ok(done
            .map_err(|e| pg(e, "delete", collection))?
            .rows_affected())
    }

    async fn count_in(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        let spec = self.spec(collection).await?;
        let (condition, binds) = match filter {
            Some(f) => {
                validate::filter(&spec, &self.caps, f)?;
                let cond = translate(&spec, f, 1)?;
                (format!(" WHERE {}", cond.sql), cond.binds)
            }
            None => (String::new(), Vec::new()),
        };
        let sql = format!("SELECT count(*) FROM {}{condition}", self.table(collection));
        let (n,): (i64,) = self
            .db
            .read(self.reads, |pool| {
                let (sql, binds) = (sql.clone(), binds.clone());
                async move {
                    bind_all!(sqlx::query_as::<_, (i64,)>(&sql), &binds)
                        .fetch_one(&pool)
                        .await
                        .map_err(|e| pg(e, "count", collection))
                }
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn search_in(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        let spec = self.spec(collection).await?;
        validate::query(&spec, &self.caps, query)?;
        let plan = SearchPlan::new(&self.schema, &spec, query)?;
        let hits = self
            .db
            .read(self.reads, |pool| {
                let plan = &plan;
                async move {
                    plan.run(&pool)
                        .await
                        .map_err(|e| pg(e, "search", collection))
                }
            })
            .await?;
        Ok(finish(hits, query))
    }
}

#[async_trait]
impl VectorStore for PgVectorStore {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    // One `Operation` per call, named after the method, the collection as
    // its target: a span and two metric calls, nothing allocated for them.

    async fn ensure_collection(&self, spec: &CollectionSpec) -> Result<bool> {
        observe("ensure_collection", &spec.name)
            .run(self.ensure_collection_in(spec))
            .await
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

    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
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

/// One chunk of an upsert, owned so it can run on its own connection
/// alongside the others.
///
/// Fast path: `COPY ... (FORMAT BINARY)` straight into the table, which is
/// what a bulk load of new ids needs. If an id already exists the COPY
/// fails on the primary key, is rolled back, and the chunk goes through
/// `INSERT ... SELECT FROM UNNEST ... ON CONFLICT DO UPDATE` instead.
struct ChunkWrite<'a> {
    records: &'a [&'a Record],
    pool: &'a PgPool,
    table: &'a str,
    upsert_sql: &'a str,
    collection: &'a str,
}

impl ChunkWrite<'_> {
    async fn run(self) -> Result<()> {
        let err = |e| pg(e, "upsert", self.collection);
        let data = copy::encode(self.records)?;
        let mut tx = self.pool.begin().await.map_err(err)?;
        let copied = async {
            let statement = format!(
                "COPY {} (id, embedding, payload) FROM STDIN (FORMAT BINARY)",
                self.table
            );
            let mut copy = tx.copy_in_raw(&statement).await?;
            copy.send(data.as_slice()).await?;
            copy.finish().await
        }
        .await;
        match copied {
            Ok(_) => return tx.commit().await.map_err(err),
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505") => {
                tx.rollback().await.map_err(err)?;
            }
            Err(e) => return Err(err(e)),
        }
        // Some id exists: the columns for the upsert statement, built only now.
        let ids: Vec<Uuid> = self.records.iter().map(|r| *r.id.as_uuid()).collect();
        let vectors: Vec<Vector> = self
            .records
            .iter()
            .map(|r| Vector::from(r.vector.clone()))
            .collect();
        let payloads: Vec<Json<&Payload>> = self.records.iter().map(|r| Json(&r.payload)).collect();
        sqlx::query(self.upsert_sql)
            .bind(&ids)
            .bind(&vectors)
            .bind(&payloads)
            .execute(self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }
}

/// A search's SQL, parameters and per-transaction settings.
struct SearchPlan {
    sql: String,
    vector: Vector,
    k: i64,
    binds: Vec<sql_filter::Bind>,
    /// Settings for this transaction only (`SET LOCAL`); empty: run the
    /// query alone, with no transaction round trips.
    settings: Vec<(&'static str, String)>,
}

impl SearchPlan {
    fn new(schema: &str, spec: &CollectionSpec, query: &SearchQuery) -> Result<Self> {
        let (op, _) = operator(spec.metric);
        let mut columns = format!("id, (embedding {op} $1)::float8 AS distance");
        if query.include_payload {
            columns.push_str(", payload");
        }
        if query.include_vector {
            columns.push_str(", embedding");
        }
        let (condition, binds) = match &query.filter {
            Some(f) => {
                let cond = translate(spec, f, 3)?;
                (format!(" WHERE {}", cond.sql), cond.binds)
            }
            None => (String::new(), Vec::new()),
        };
        // Exactly the shape the index serves: nothing around the ORDER BY.
        let sql = format!(
            "SELECT {columns} FROM {}{condition} ORDER BY embedding {op} $1 LIMIT $2",
            qualified(schema, &spec.name)
        );
        let filtered = query.filter.is_some();
        let mut settings = Vec::new();
        match spec.index {
            IndexSpec::Hnsw { .. } => {
                let ef = query.accuracy.ef_search.map(|e| e as usize);
                if filtered || ef.is_some() || query.k > DEFAULT_EF_SEARCH {
                    let ef = ef.unwrap_or(DEFAULT_EF_SEARCH).max(query.k).min(1_000);
                    settings.push(("hnsw.ef_search", ef.to_string()));
                }
                if filtered {
                    settings.push(("hnsw.iterative_scan", "strict_order".into()));
                }
            }
            IndexSpec::IvfFlat { lists } => {
                let probes = query
                    .accuracy
                    .probes
                    .unwrap_or((lists / 10).max(1))
                    .min(lists.max(1));
                settings.push(("ivfflat.probes", probes.to_string()));
                if filtered {
                    settings.push(("ivfflat.iterative_scan", "relaxed_order".into()));
                }
            }
            IndexSpec::Exact => {}
        }
        Ok(SearchPlan {
            sql,
            vector: Vector::from(query.vector.clone()),
            k: i64::try_from(query.k).unwrap_or(i64::MAX),
            binds,
            settings,
        })
    }

    /// Boxed so the future's `Send`-ness is checked here, once, with
    /// concrete lifetimes (sqlx's executor bounds defeat the inference
    /// through `async_trait` otherwise).
    fn run<'a>(
        &'a self,
        pool: &'a PgPool,
    ) -> Pin<Box<dyn Future<Output = RowsResult> + Send + 'a>> {
        Box::pin(async move {
            if self.settings.is_empty() {
                let query = sqlx::query(&self.sql).bind(&self.vector).bind(self.k);
                return bind_all!(query, &self.binds).fetch_all(pool).await;
            }
            let mut tx = pool.begin().await?;
            // set_config(name, value, is_local = true): SET LOCAL, in one
            // round trip, with the values as parameters.
            let calls: Vec<String> = (0..self.settings.len())
                .map(|i| format!("set_config(${}, ${}, true)", 2 * i + 1, 2 * i + 2))
                .collect();
            let set = format!("SELECT {}", calls.join(", "));
            let mut settings = sqlx::query(&set);
            for (name, value) in &self.settings {
                settings = settings.bind(*name).bind(value);
            }
            settings.execute(&mut *tx).await?;
            let query = sqlx::query(&self.sql).bind(&self.vector).bind(self.k);
            let rows = bind_all!(query, &self.binds).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(rows)
        })
    }
}

type RowsResult = std::result::Result<Vec<sqlx::postgres::PgRow>, sqlx::Error>;

/// Rows to hits: distance threshold, then ascending distance with ties by id
/// (relaxed iterative scans may return rows slightly out of order).
fn finish(rows: Vec<sqlx::postgres::PgRow>, query: &SearchQuery) -> Vec<SearchHit> {
    let mut hits: Vec<SearchHit> = rows
        .into_iter()
        .filter_map(|row| {
            let id: Uuid = row.try_get("id").ok()?;
            let distance = row.try_get::<f64, _>("distance").ok()? as f32;
            let payload = if query.include_payload {
                row.try_get::<Json<Payload>, _>("payload").ok().map(|j| j.0)
            } else {
                None
            };
            let vector = if query.include_vector {
                row.try_get::<Vector, _>("embedding")
                    .ok()
                    .map(|v| v.to_vec())
            } else {
                None
            };
            Some(SearchHit {
                id: RecordId::from_uuid(id),
                distance,
                payload,
                vector,
            })
        })
        .filter(|hit| query.max_distance.is_none_or(|max| hit.distance <= max))
        .collect();
    hits.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then_with(|| a.id.cmp(&b.id))
    });
    hits
}
