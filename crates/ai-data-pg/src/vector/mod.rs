//! [`PgVectorStore`]: the vector trait on PostgreSQL + pgvector, through
//! `ai-data-pg`'s pool.
//!
//! One table per collection in a configurable schema (default
//! `data_platform`), and a registry table `_vector_collections` recording
//! each collection's dimension, metric, index, fields and embedding model.
//!
//! The search's core is `ORDER BY embedding <op> $1 LIMIT $2`, with the
//! operator matching the index's operator class (on an exact collection,
//! `ORDER BY embedding <op> $1, id`: ties at the cut go by id); filters are
//! bound parameters over typed, generated columns, and every search also
//! carries the table guard (see `generation`) in its `WHERE`. When the scan
//! takes more candidates than `k` (a filtered HNSW or IVFFlat search, see
//! [`crate::knn::KnnScan::candidates`]) that core, with `LIMIT`
//! the candidates, is wrapped in `WITH c AS MATERIALIZED (...)` and the
//! outer query re-sorts the candidates by distance, then id, and keeps `k`
//! (also reporting how many candidates there were). It runs through
//! [`crate::knn::KnnScan`], the same mechanism as the platform's
//! `TextEmbeddingRepo`: a `k` above 40, an accuracy hint or a filter set
//! `hnsw.ef_search`, `hnsw.iterative_scan = relaxed_order`,
//! `hnsw.max_scan_tuples` and `hnsw.scan_mem_multiplier` (IVFFlat:
//! `ivfflat.probes`, `ivfflat.iterative_scan = relaxed_order`) for the
//! query's transaction only, and an approximate scan that still returns
//! fewer than `k` rows is run once more exactly. So a search returns `k`
//! hits when `k` records match; the hits are sorted by distance, ties by id.
//!
//! Cost of that exact re-run: it runs with `enable_indexscan = off`, with
//! or without a filter, so on a large collection it is a sequential scan
//! of the table (rows matching the filter) plus a top-`k` sort. It happens
//! when the approximate scan comes up short: a selective filter, or, even
//! unfiltered, an HNSW graph whose reachable part holds fewer than `k` live
//! rows (many dead tuples before a `VACUUM`, or a `k` near the table's
//! size). `ai_data_pg::knn` logs each exact re-run at `debug` level
//! (target `ai_data_pg::knn`).
//!
//! Each store caches the collections' specs; a collection that another
//! store dropped and recreated since is noticed on the next call and its
//! new spec used (see `generation`).
//!
//! Each call is one observed [`Operation`] (store `postgres`): the trait
//! methods under their own names (`search`, `upsert`, ...), plus `connect`
//! and `explain_search`, the collection (or schema) as the target; hits,
//! records, deleted or counted rows as the count.

mod copy;
mod ddl;
mod generation;
mod rows;
#[macro_use]
mod sql_filter;
mod text;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use ai_data_core::observe::Operation;
use ai_data_core::{ErrorKind, Store};
use async_trait::async_trait;
use futures::StreamExt;
use pgvector::Vector;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::knn::{KnnQuery, KnnRows, KnnScan};
use crate::{map_sqlx, PgDatabase, ReadFrom};
use ai_data_vector::batch::plan_upsert;
use ai_data_vector::{
    validate, Capabilities, CollectionSpec, Error, Filter, IndexSpec, KeywordScoring, Precision,
    Record, RecordId, Result, SearchHit, SearchMode, SearchQuery, Selector, TextAnalyzer,
    UpsertReport, VectorStore,
};
use ddl::{operator, qualified, REGISTRY};
use sql_filter::translate;

/// Default schema of the collection tables.
pub const DEFAULT_SCHEMA: &str = "data_platform";

/// Rows per upsert statement: large enough to amortise a round trip, small
/// enough that a batch spreads over several connections.
const WRITE_CHUNK: usize = 1_000;

/// Vector search on PostgreSQL + pgvector.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// use ai_data_pg::PgVectorStore;
/// use ai_data_vector::{CollectionSpec, Filter, FieldKind, Metric, SearchQuery, VectorStore};
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
    specs: RwLock<HashMap<String, Known>>,
    /// Whether the server has the `pg_c_utf8` collation (PostgreSQL 17+),
    /// used to fold text search's documents and queries to lower case by
    /// Unicode rules (see `ddl::folded`).
    unicode_fold: bool,
}

/// A collection's spec as this store read it, and the oid of the table it
/// describes (see `generation`).
#[derive(Debug, Clone)]
struct Known {
    spec: Arc<CollectionSpec>,
    table: i64,
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
            // 4,000: pgvector's limit for indexing `halfvec` (2,000 for
            // `vector`); 1,000: its ef_search maximum.
            caps: Capabilities::new(2_000, 4_000, 1_000)
                .with_max_indexed_f32_dimension(2_000)
                .with_precisions([Precision::F32, Precision::F16])
                .with_text_search(TextAnalyzer::ALL, KeywordScoring::TsRankCd, true),
            specs: RwLock::new(HashMap::new()),
            unicode_fold: false,
        };
        let mut store = store;
        let mut tx = store
            .pool()
            .begin()
            .await
            .map_err(|e| pg(e, "init", schema))?;
        lock(&mut tx, &format!("ai_data_vector:{schema}")).await?;
        ensure_extension(&mut tx, schema).await?;
        for statement in ddl::init(schema) {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .map_err(|e| pg(e, "init", schema))?;
        }
        sqlx::query(&generation::init(schema))
            .execute(&mut *tx)
            .await
            .map_err(|e| pg(e, "init", schema))?;
        store.unicode_fold = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'pg_c_utf8')",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| pg(e, "init", schema))?;
        tx.commit().await.map_err(|e| pg(e, "init", schema))?;
        Ok(store)
    }

    /// Send searches, gets and counts to a read replica when the database
    /// has one (they may then lag behind writes). Specs are read from the
    /// primary; a call that fails because the replica has not yet replayed
    /// a dropped and recreated collection (its table is not the one the
    /// spec was read for) is retried once on the primary.
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
        Ok(self.known(collection).await?.spec)
    }

    /// The collection's spec and table oid, from the cache or the
    /// registry; `NotFound` if absent.
    async fn known(&self, collection: &str) -> Result<Known> {
        validate::collection_name(collection)?;
        if let Some(known) = self.cached(collection) {
            return Ok(known);
        }
        let sql = format!(
            "SELECT spec, {} FROM {} WHERE name = $1",
            generation::oid_of(2),
            qualified(&self.schema, REGISTRY)
        );
        let row: Option<(Json<CollectionSpec>, Option<i64>)> = sqlx::query_as(&sql)
            .bind(collection)
            .bind(&self.schema)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| pg(e, "registry", collection))?;
        let Some((Json(spec), Some(table))) = row else {
            return Err(
                Error::new(ErrorKind::NotFound, format!("no collection {collection:?}"))
                    .with_target(collection),
            );
        };
        let known = Known {
            spec: Arc::new(spec),
            table,
        };
        self.specs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(collection.to_owned(), known.clone());
        Ok(known)
    }

    fn cached(&self, collection: &str) -> Option<Known> {
        self.specs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(collection)
            .cloned()
    }

    /// Run `op` (which reads the collection's spec itself); when it fails
    /// in a way a replaced collection explains (the guard's error, an
    /// undefined table, or, with a cached spec, input refused or an
    /// incomplete upsert), re-read the registry and, if the collection's
    /// table changed, run `op` once more with the new spec. `NotFound` if
    /// it was dropped.
    ///
    /// `op` is told where to read: first where the store reads
    /// ([`PgVectorStore::with_replica_reads`]), the retry always on the
    /// primary. The registry (and so the cached oid) is read from the
    /// primary; a replica that has not replayed a recreate yet still holds
    /// the old table, fails the guard again, and would turn the retry into
    /// the guard's error.
    async fn fresh<T, Fut>(
        &self,
        collection: &str,
        op: impl Fn(ReadFrom) -> Fut,
        incomplete: impl Fn(&T) -> bool,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let before = self.cached(collection).map(|k| k.table);
        let first = op(self.reads).await;
        let replaced = matches!(&first, Err(e) if generation::is_replaced(e));
        let suspect = match &first {
            Err(e) => matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported),
            Ok(value) => incomplete(value),
        };
        if !(replaced || (suspect && before.is_some())) {
            return first;
        }
        self.forget(collection);
        let now = self.known(collection).await?;
        if !replaced && Some(now.table) == before {
            return first;
        }
        op(ReadFrom::Primary).await
    }

    /// The plan PostgreSQL chooses for `query` (`EXPLAIN`, with the same
    /// per-transaction settings the search uses): to check that the vector
    /// index serves it.
    ///
    /// Observed as the operation `explain_search` (target: the collection).
    pub async fn explain_search(&self, collection: &str, query: &SearchQuery) -> Result<String> {
        let explain = self.fresh(
            collection,
            |_| self.explain_search_in(collection, query),
            |_| false,
        );
        observe("explain_search", collection).run(explain).await
    }

    async fn explain_search_in(&self, collection: &str, query: &SearchQuery) -> Result<String> {
        let known = self.known(collection).await?;
        validate::query(&known.spec, &self.caps, query)?;
        let rows = if query.mode() == SearchMode::Vector {
            let mut plan = SearchPlan::new(&self.schema, &known, query)?;
            plan.sql = format!("EXPLAIN {}", plan.sql);
            plan.explain(self.pool()).await
        } else {
            let mut plan = text::TextPlan::new(&self.schema, &known, query, self.unicode_fold)?;
            plan.sql = format!("EXPLAIN {}", plan.sql);
            explain_once(self.pool(), &plan.scan, &plan).await
        }
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

/// Make sure the `vector` extension is installed: create it when it is
/// missing and this role may, else a `Config` error saying so, with the
/// server's reason (`vector` is not a trusted extension: creating it takes
/// a superuser, or the database's migrations; and the server must ship it).
async fn ensure_extension(tx: &mut sqlx::PgConnection, schema: &str) -> Result<()> {
    let installed = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')";
    let present: bool = sqlx::query_scalar(installed)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| pg(e, "init", schema))?;
    if present {
        return Ok(());
    }
    // Concurrent creators (of any schema) take turns.
    lock(&mut *tx, "ai_data_vector:extension").await?;
    match sqlx::query("CREATE EXTENSION IF NOT EXISTS vector")
        .execute(&mut *tx)
        .await
    {
        Ok(_) => Ok(()),
        // 42501 insufficient privilege; 0A000 / 58P01: the server does not ship pgvector.
        Err(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("42501" | "0A000" | "58P01")) =>
        {
            let reason = db.message().to_owned();
            Err(Error::config(format!(
                "the `vector` extension (pgvector) is not installed in this database and \
                 could not be created ({reason}); have a superuser run \
                 `CREATE EXTENSION vector` in it (or apply ai-data-pg's migrations as such a role)"
            ))
            .with_store(Store::Postgres)
            .with_operation("connect")
            .with_target(schema)
            .with_source(sqlx::Error::Database(db)))
        }
        Err(e) => Err(pg(e, "init", schema)),
    }
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
        let mut statements = vec![ddl::create_table(&self.schema, spec, self.unicode_fold)];
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
            "INSERT INTO {} (id, embedding, payload, payload_text) \
             SELECT id, embedding::{}, payload_text::jsonb, payload_text \
             FROM UNNEST($1::uuid[], $2::vector[], $3::text[]) AS u(id, embedding, payload_text) \
             ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, \
             payload = EXCLUDED.payload, payload_text = EXCLUDED.payload_text",
            self.table(collection),
            ddl::vector_type(spec.precision)
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
                        precision: spec.precision,
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

    async fn get_in(
        &self,
        collection: &str,
        ids: &[RecordId],
        reads: ReadFrom,
    ) -> Result<Vec<Record>> {
        let spec = self.spec(collection).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let uuids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        let sql = format!(
            "SELECT id, {}, {} FROM {} WHERE id = ANY($1)",
            ddl::embedding_column(spec.precision),
            rows::PAYLOAD,
            self.table(collection)
        );
        let rows = self
            .db
            .read(reads, |pool| {
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
        let read = rows::Reader {
            operation: "get",
            collection,
        };
        for row in rows {
            let id = read.id(&row)?;
            let record = Record::new(
                RecordId::from_uuid(id),
                read.vector(id, &row)?,
                read.payload(id, &row)?,
            );
            found.insert(id, record);
        }
        // The order first requested, each id once.
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id.as_uuid()))
            .collect())
    }

    async fn delete_in(&self, collection: &str, selector: Selector) -> Result<u64> {
        let known = self.known(collection).await?;
        let spec = &known.spec;
        validate::selector(spec, &self.caps, &selector)?;
        let table = self.table(collection);
        // The guard ($1): the filter's columns are the cached spec's.
        let guard = generation::guard(&self.schema, collection, 1);
        let done = match &selector {
            Selector::Ids(ids) => {
                let uuids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE {guard} AND id = ANY($2)"
                ))
                .bind(known.table)
                .bind(&uuids)
                .execute(self.pool())
                .await
            }
            Selector::Filter(filter) => {
                let cond = translate(spec, filter, 2)?;
                let sql = format!(
                    "DELETE FROM {table} WHERE {guard} AND {} RETURNING 1",
                    cond.sql
                );
                let deleted: Vec<(i32,)> =
                    bind_all!(sqlx::query_as(&sql).bind(known.table), &cond.binds)
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

    async fn count_in(
        &self,
        collection: &str,
        filter: Option<&Filter>,
        reads: ReadFrom,
    ) -> Result<u64> {
        let known = self.known(collection).await?;
        let spec = &known.spec;
        // The guard ($1): the filter's columns are the cached spec's.
        let guard = generation::guard(&self.schema, collection, 1);
        let (condition, binds) = match filter {
            Some(f) => {
                validate::filter(spec, &self.caps, f)?;
                let cond = translate(spec, f, 2)?;
                (format!(" WHERE {guard} AND {}", cond.sql), cond.binds)
            }
            None => (format!(" WHERE {guard}"), Vec::new()),
        };
        let sql = format!("SELECT count(*) FROM {}{condition}", self.table(collection));
        let table = known.table;
        let (n,): (i64,) = self
            .db
            .read(reads, |pool| {
                let (sql, binds) = (sql.clone(), binds.clone());
                async move {
                    bind_all!(sqlx::query_as::<_, (i64,)>(&sql).bind(table), &binds)
                        .fetch_one(&pool)
                        .await
                        .map_err(|e| pg(e, "count", collection))
                }
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn search_in(
        &self,
        collection: &str,
        query: &SearchQuery,
        reads: ReadFrom,
    ) -> Result<Vec<SearchHit>> {
        let known = self.known(collection).await?;
        validate::query(&known.spec, &self.caps, query)?;
        if query.mode() != SearchMode::Vector {
            let plan = text::TextPlan::new(&self.schema, &known, query, self.unicode_fold)?;
            let rows = self
                .db
                .read(reads, |pool| {
                    let plan = &plan;
                    async move {
                        plan.scan
                            .run(&pool, plan)
                            .await
                            .map_err(|e| pg(e, "search", collection))
                    }
                })
                .await?;
            return finish_scored(rows, query, collection);
        }
        let plan = SearchPlan::new(&self.schema, &known, query)?;
        let hits = self
            .db
            .read(reads, |pool| {
                let plan = &plan;
                async move {
                    plan.scan
                        .run(&pool, plan)
                        .await
                        .map_err(|e| pg(e, "search", collection))
                }
            })
            .await?;
        finish(hits, query, collection)
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

    // Each runs through `fresh`: a collection another store replaced since
    // its spec was cached is re-read and the call made once more.

    async fn upsert(&self, collection: &str, records: &[Record]) -> Result<UpsertReport> {
        let upsert = self.fresh(
            collection,
            |_| self.upsert_in(collection, records),
            |report: &UpsertReport| !report.is_complete(),
        );
        observe("upsert", collection)
            .run_counted(upsert, |r| r.upserted)
            .await
    }

    async fn get(&self, collection: &str, ids: &[RecordId]) -> Result<Vec<Record>> {
        let get = self.fresh(
            collection,
            |reads| self.get_in(collection, ids, reads),
            |_| false,
        );
        observe("get", collection).run_counted(get, Vec::len).await
    }

    async fn delete(&self, collection: &str, selector: Selector) -> Result<u64> {
        let delete = self.fresh(
            collection,
            |_| self.delete_in(collection, selector.clone()),
            |_| false,
        );
        observe("delete", collection)
            .run_counted(delete, |n| *n)
            .await
    }

    async fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        let count = self.fresh(
            collection,
            |reads| self.count_in(collection, filter, reads),
            |_| false,
        );
        observe("count", collection)
            .run_counted(count, |n| *n)
            .await
    }

    async fn search(&self, collection: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        let search = self.fresh(
            collection,
            |reads| self.search_in(collection, query, reads),
            |_| false,
        );
        observe("search", collection)
            .run_counted(search, Vec::len)
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
    precision: Precision,
    pool: &'a PgPool,
    table: &'a str,
    upsert_sql: &'a str,
    collection: &'a str,
}

impl ChunkWrite<'_> {
    async fn run(self) -> Result<()> {
        let err = |e| pg(e, "upsert", self.collection);
        let data = copy::encode(self.records, self.precision)?;
        let mut tx = self.pool.begin().await.map_err(err)?;
        let copied = async {
            let statement = format!(
                "COPY {} (id, embedding, payload, payload_text) FROM STDIN (FORMAT BINARY)",
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
        // A Payload always serialises (string keys, finite numbers).
        let payloads: Vec<String> = self
            .records
            .iter()
            .map(|r| serde_json::to_string(&r.payload).unwrap_or_default())
            .collect();
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

/// A search's SQL, parameters and way of running ([`KnnScan`]).
struct SearchPlan {
    sql: String,
    vector: Vector,
    k: i64,
    /// Rows taken from the index scan (`$2`; `k` unless [`KnnScan::candidates`] says more).
    candidates: i64,
    /// The cached table oid the guard checks (`$3`).
    table: i64,
    binds: Vec<sql_filter::Bind>,
    scan: KnnScan,
}

impl SearchPlan {
    fn new(schema: &str, known: &Known, query: &SearchQuery) -> Result<Self> {
        let spec = &known.spec;
        let (op, _) = operator(spec.metric, spec.precision);
        // The query vector as the column's type, so the index serves it.
        let op = format!("{op} $1::{}", ddl::vector_type(spec.precision));
        let mut columns = format!("id, (embedding {op})::float8 AS distance");
        if query.include_payload {
            columns.push_str(", ");
            columns.push_str(rows::PAYLOAD);
        }
        if query.include_vector {
            columns.push_str(", ");
            columns.push_str(ddl::embedding_column(spec.precision));
        }
        // The guard ($3, evaluated once per statement): the operator and
        // the filter's columns are the cached spec's.
        let guard = generation::guard(schema, &spec.name, 3);
        let (condition, binds) = match &query.filter {
            Some(f) => {
                let cond = translate(spec, f, 4)?;
                (format!(" WHERE {guard} AND {}", cond.sql), cond.binds)
            }
            None => (format!(" WHERE {guard}"), Vec::new()),
        };
        let filtered = query.filter.is_some();
        let scan = match spec.index {
            IndexSpec::Hnsw { .. } => KnnScan::hnsw(query.k, query.accuracy.ef_search, filtered),
            IndexSpec::IvfFlat { lists } => {
                KnnScan::ivfflat(query.k, lists, query.accuracy.probes, filtered)
            }
            IndexSpec::Exact => KnnScan::exact(query.k),
        };
        let table = qualified(schema, &spec.name);
        // Exactly the shape the index serves: nothing around the ORDER BY.
        // Without a vector index the scan is exact, and ties at the cut go
        // by id, as the trait promises. A filtered HNSW scan yields its
        // `ef_search` candidates ($2) roughly nearest first; the best `k`
        // of them (the last parameter) are kept, and their number tells
        // whether the index ran dry (see `KnnQuery::found`).
        let ties = if spec.index.is_exact() { ", id" } else { "" };
        let inner = format!(
            "SELECT {columns} FROM {table}{condition} ORDER BY embedding {op}{ties} LIMIT $2"
        );
        let sql = if scan.candidates() > query.k {
            format!(
                "WITH c AS MATERIALIZED ({inner}) SELECT *, (SELECT count(*) FROM c) AS found \
                 FROM c ORDER BY distance + 0, id LIMIT ${}",
                4 + binds.len()
            )
        } else {
            inner
        };
        Ok(SearchPlan {
            sql,
            vector: Vector::from(query.vector.clone()),
            k: i64::try_from(query.k).unwrap_or(i64::MAX),
            candidates: i64::try_from(scan.candidates()).unwrap_or(i64::MAX),
            table: known.table,
            binds,
            scan,
        })
    }

    /// The plan's rows once, with the scan's settings (for `EXPLAIN`).
    async fn explain(&self, pool: &PgPool) -> RowsResult {
        explain_once(pool, &self.scan, self).await
    }
}

/// `query`'s rows once, with `scan`'s settings, in a transaction.
async fn explain_once<Q: KnnQuery<Row = sqlx::postgres::PgRow>>(
    pool: &PgPool,
    scan: &KnnScan,
    query: &Q,
) -> RowsResult {
    let mut tx = pool.begin().await?;
    scan.apply(&mut tx).await?;
    let rows = query.fetch(&mut tx).await?;
    tx.commit().await?;
    Ok(rows)
}

impl KnnQuery for SearchPlan {
    type Row = sqlx::postgres::PgRow;

    /// Boxed so the future's `Send`-ness is checked here, once, with
    /// concrete lifetimes (sqlx's executor bounds defeat the inference
    /// through `async_trait` otherwise).
    fn fetch<'c>(&'c self, conn: &'c mut PgConnection) -> KnnRows<'c, sqlx::postgres::PgRow> {
        Box::pin(async move {
            let query = sqlx::query(&self.sql)
                .bind(&self.vector)
                .bind(self.candidates)
                .bind(self.table);
            let query = bind_all!(query, &self.binds);
            // The outer LIMIT k, when the SQL has one (an unused extra
            // parameter would be an error).
            if self.candidates > self.k {
                query.bind(self.k).fetch_all(conn).await
            } else {
                query.fetch_all(conn).await
            }
        })
    }

    fn found(&self, rows: &[sqlx::postgres::PgRow]) -> usize {
        if self.candidates <= self.k {
            return rows.len();
        }
        rows.first()
            .and_then(|row| row.try_get::<i64, _>("found").ok())
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
    }
}

type RowsResult = std::result::Result<Vec<sqlx::postgres::PgRow>, sqlx::Error>;

/// Rows to hits: distance threshold, then ascending distance with ties by id
/// (relaxed iterative scans may return rows slightly out of order). A value
/// that does not decode fails the search, naming the record.
fn finish(
    rows: Vec<sqlx::postgres::PgRow>,
    query: &SearchQuery,
    collection: &str,
) -> Result<Vec<SearchHit>> {
    let read = rows::Reader {
        operation: "search",
        collection,
    };
    let mut hits = Vec::with_capacity(rows.len());
    for row in rows {
        let id = read.id(&row)?;
        let distance = row
            .try_get::<f64, _>("distance")
            .map_err(|e| pg(e, "search", collection))? as f32;
        if query.max_distance.is_some_and(|max| distance > max) {
            continue;
        }
        let payload = if query.include_payload {
            Some(read.payload(id, &row)?)
        } else {
            None
        };
        let vector = if query.include_vector {
            Some(read.vector(id, &row)?)
        } else {
            None
        };
        hits.push(SearchHit {
            id: RecordId::from_uuid(id),
            distance,
            score: None,
            payload,
            vector,
        });
    }
    hits.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(hits)
}

/// Keyword and hybrid rows to hits, in the statement's order (fused or
/// keyword score descending, then id): the score, and the distance to the
/// query vector (`NaN` for a keyword search, which has none).
fn finish_scored(
    rows: Vec<sqlx::postgres::PgRow>,
    query: &SearchQuery,
    collection: &str,
) -> Result<Vec<SearchHit>> {
    let read = rows::Reader {
        operation: "search",
        collection,
    };
    let mut hits = Vec::with_capacity(rows.len());
    for row in rows {
        let id = read.id(&row)?;
        let distance = row
            .try_get::<Option<f64>, _>("distance")
            .map_err(|e| pg(e, "search", collection))?
            .map_or(f32::NAN, |d| d as f32);
        let score = row
            .try_get::<f64, _>("score")
            .map_err(|e| pg(e, "search", collection))? as f32;
        let payload = if query.include_payload {
            Some(read.payload(id, &row)?)
        } else {
            None
        };
        let vector = if query.include_vector {
            Some(read.vector(id, &row)?)
        } else {
            None
        };
        hits.push(SearchHit {
            id: RecordId::from_uuid(id),
            distance,
            score: Some(score),
            payload,
            vector,
        });
    }
    Ok(hits)
}
