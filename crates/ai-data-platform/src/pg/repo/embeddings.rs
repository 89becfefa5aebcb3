//! `data_platform.text_embeddings`: 1536-d cosine embeddings with an HNSW index.

use ai_data_core::{Error, Result};
use chrono::{DateTime, Utc};
use pgvector::Vector;
use sqlx::{FromRow, PgConnection};

use ai_data_pg::knn::{KnnQuery, KnnRows, KnnScan};
use ai_data_pg::SqlxResultExt;
use ai_data_pg::{PgDatabase, Repository};

const TABLE: &str = "data_platform.text_embeddings";

/// Dimension of `data_platform.text_embeddings.embedding` (the seed's `vector(1536)`).
pub const TEXT_EMBEDDING_DIM: usize = 1536;

/// Rows per `INSERT ... SELECT FROM UNNEST` statement: large enough to
/// amortise round trips, small enough to keep one statement's memory modest.
const INSERT_CHUNK: usize = 1000;

/// A stored embedding (without its vector).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct TextEmbedding {
    /// Primary key.
    pub id: i32,
    /// Dataset the record belongs to.
    pub dataset_id: Option<i32>,
    /// The record's id in its dataset.
    pub record_id: Option<String>,
    /// The embedded text.
    pub text_content: Option<String>,
    /// Insert time.
    pub created_at: DateTime<Utc>,
}

/// An embedding to store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewTextEmbedding {
    /// Dataset.
    pub dataset_id: Option<i32>,
    /// Record id.
    pub record_id: Option<String>,
    /// Text.
    pub text_content: Option<String>,
    /// The vector, [`TEXT_EMBEDDING_DIM`] finite components.
    pub embedding: Vec<f32>,
}

impl NewTextEmbedding {
    /// An embedding of `text` from `dataset_id`.
    pub fn new(
        dataset_id: i32,
        record_id: impl Into<String>,
        text: impl Into<String>,
        embedding: Vec<f32>,
    ) -> Self {
        NewTextEmbedding {
            dataset_id: Some(dataset_id),
            record_id: Some(record_id.into()),
            text_content: Some(text.into()),
            embedding,
        }
    }
}

/// A search hit: the row and its cosine distance (`1 - cos`).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct TextEmbeddingHit {
    /// The row.
    #[sqlx(flatten)]
    pub row: TextEmbedding,
    /// Cosine distance to the query.
    pub distance: f64,
}

/// Batch insert, k-NN search by cosine (through the HNSW index), delete by dataset.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// use ai_data_platform::pg::{NewTextEmbedding, TextEmbeddingRepo, TEXT_EMBEDDING_DIM};
/// let repo = TextEmbeddingRepo::new(db);
/// let v = vec![0.1_f32; TEXT_EMBEDDING_DIM];
/// repo.insert_batch(&[NewTextEmbedding::new(7, "doc-1", "hello", v.clone())]).await?;
/// let hits = repo.search(&v, 5, Some(7)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TextEmbeddingRepo {
    repo: Repository,
}

impl TextEmbeddingRepo {
    /// Searches go to a replica when there is one.
    pub fn new(db: PgDatabase) -> Self {
        TextEmbeddingRepo {
            repo: Repository::new(db),
        }
    }

    /// Every read from the primary (read-your-writes).
    #[must_use]
    pub fn primary_only(mut self) -> Self {
        self.repo = self.repo.primary_only();
        self
    }

    /// Insert all rows in one transaction, `INSERT ... SELECT FROM UNNEST`
    /// in chunks (never row by row). Every vector is checked first: one bad
    /// vector rejects the batch before anything is written. Returns the new ids.
    pub async fn insert_batch(&self, rows: &[NewTextEmbedding]) -> Result<Vec<i32>> {
        self.repo
            .db()
            .observe_counted(
                "text_embeddings.insert_batch",
                TABLE,
                self.insert_chunks(rows),
                Vec::len,
            )
            .await
    }

    async fn insert_chunks(&self, rows: &[NewTextEmbedding]) -> Result<Vec<i32>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        for (i, row) in rows.iter().enumerate() {
            check_vector(&row.embedding).map_err(|e| {
                Error::invalid_input(format!("row {i}: {}", e.message())).with_target(TABLE)
            })?;
        }
        let mut tx = self
            .repo
            .db()
            .primary()
            .begin()
            .await
            .op("insert embeddings", TABLE)?;
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(INSERT_CHUNK) {
            let dataset: Vec<Option<i32>> = chunk.iter().map(|r| r.dataset_id).collect();
            let record: Vec<Option<String>> = chunk.iter().map(|r| r.record_id.clone()).collect();
            let text: Vec<Option<String>> = chunk.iter().map(|r| r.text_content.clone()).collect();
            let vectors: Vec<Vector> = chunk
                .iter()
                .map(|r| Vector::from(r.embedding.clone()))
                .collect();
            let mut chunk_ids: Vec<i32> = sqlx::query_scalar(
                "INSERT INTO data_platform.text_embeddings (dataset_id, record_id, text_content, embedding) \
                 SELECT * FROM UNNEST($1::int4[], $2::varchar[], $3::text[], $4::vector[]) RETURNING id",
            )
            .bind(&dataset)
            .bind(&record)
            .bind(&text)
            .bind(&vectors)
            .fetch_all(&mut *tx)
            .await
            .op("insert embeddings", TABLE)?;
            ids.append(&mut chunk_ids);
        }
        tx.commit().await.op("insert embeddings", TABLE)?;
        Ok(ids)
    }

    /// The `k` nearest rows by cosine distance, optionally within one
    /// dataset; `k` from 1 to 1,000.
    ///
    /// The query is `ORDER BY embedding <=> $1 LIMIT $2`, the shape the HNSW
    /// index serves, run through [`KnnScan`] (the mechanism
    /// `ai-data-vector`'s `PgVectorStore` uses too): a `k` above 40 raises
    /// `hnsw.ef_search` to `k`, a dataset filter scans the index
    /// iteratively (`relaxed_order`, its candidates re-sorted), both for
    /// this transaction only, and an index scan that comes up short is
    /// re-run exactly. So the search returns `k` rows when `k` rows (of the
    /// dataset) exist, nearest first, equal distances by id.
    ///
    /// Cost: the exact re-run (`enable_indexscan = off`) is a sequential
    /// scan of the table (or of the dataset's rows) and a top-`k` sort. It
    /// happens for a dataset whose rows the index scan does not reach `k`
    /// of, and also without a dataset when the HNSW scan comes up short
    /// (e.g. many dead tuples before a `VACUUM`, or `k` near the table's
    /// size), where it reads the whole table. Each re-run is logged at
    /// `debug` level (target `ai_data_pg::knn`); see [`KnnScan::run`].
    pub async fn search(
        &self,
        query: &[f32],
        k: u32,
        dataset_id: Option<i32>,
    ) -> Result<Vec<TextEmbeddingHit>> {
        self.repo
            .db()
            .observe_counted(
                "text_embeddings.search",
                TABLE,
                self.knn(query, k, dataset_id),
                Vec::len,
            )
            .await
    }

    async fn knn(
        &self,
        query: &[f32],
        k: u32,
        dataset_id: Option<i32>,
    ) -> Result<Vec<TextEmbeddingHit>> {
        check_vector(query)?;
        if k == 0 || k > 1000 {
            return Err(Error::invalid_input("k must be between 1 and 1000"));
        }
        let scan = KnnScan::hnsw(k as usize, None, dataset_id.is_some());
        let knn = Knn {
            vector: Vector::from(query.to_vec()),
            k,
            candidates: i64::try_from(scan.candidates()).unwrap_or(i64::MAX),
            dataset_id,
        };
        let rows = self
            .repo
            .read(|pool| {
                let (scan, knn) = (&scan, &knn);
                async move { scan.run(&pool, knn).await.op("search embeddings", TABLE) }
            })
            .await?;
        let mut hits: Vec<TextEmbeddingHit> = rows.into_iter().map(|r| r.hit).collect();
        // Relaxed iterative scans may return rows slightly out of order.
        hits.sort_by(|a, b| {
            a.distance
                .total_cmp(&b.distance)
                .then_with(|| a.row.id.cmp(&b.row.id))
        });
        Ok(hits)
    }

    /// Delete every row of a dataset; how many.
    pub async fn delete_by_dataset(&self, dataset_id: i32) -> Result<u64> {
        let delete = async {
            let done =
                sqlx::query("DELETE FROM data_platform.text_embeddings WHERE dataset_id = $1")
                    .bind(dataset_id)
                    .execute(self.repo.db().primary())
                    .await
                    .op("delete embeddings", TABLE)?;
            Ok(done.rows_affected())
        };
        self.repo
            .db()
            .observe_counted("text_embeddings.delete_by_dataset", TABLE, delete, |&n| n)
            .await
    }

    /// Rows in a dataset.
    pub async fn count_by_dataset(&self, dataset_id: i32) -> Result<i64> {
        self.repo
            .db()
            .observe("text_embeddings.count_by_dataset", TABLE, async {
                sqlx::query_scalar(
                    "SELECT count(*) FROM data_platform.text_embeddings WHERE dataset_id = $1",
                )
                .bind(dataset_id)
                .fetch_one(self.repo.db().primary())
                .await
                .op("count embeddings", TABLE)
            })
            .await
    }
}

/// One k-NN query on the table, for [`KnnScan::run`].
struct Knn {
    vector: Vector,
    k: u32,
    /// Rows taken from the index scan before the best `k` (see
    /// [`KnnScan::candidates`]).
    candidates: i64,
    dataset_id: Option<i32>,
}

/// A hit and, for a filtered search, how many candidates the index scan
/// yielded (the same on every row).
#[derive(FromRow)]
struct KnnRow {
    #[sqlx(flatten)]
    hit: TextEmbeddingHit,
    #[sqlx(default)]
    found: Option<i64>,
}

impl KnnQuery for Knn {
    type Row = KnnRow;

    fn fetch<'c>(&'c self, conn: &'c mut PgConnection) -> KnnRows<'c, KnnRow> {
        Box::pin(async move {
            match self.dataset_id {
                None => {
                    sqlx::query_as::<_, KnnRow>(
                        "SELECT id, dataset_id, record_id, text_content, created_at, \
                         embedding <=> $1 AS distance FROM data_platform.text_embeddings \
                         ORDER BY embedding <=> $1 LIMIT $2",
                    )
                    .bind(&self.vector)
                    .bind(i64::from(self.k))
                    .fetch_all(conn)
                    .await
                }
                Some(dataset) => {
                    // The candidates of the relaxed-order scan, then the
                    // best k, and how many candidates there were.
                    sqlx::query_as::<_, KnnRow>(
                        "WITH c AS MATERIALIZED (\
                           SELECT id, dataset_id, record_id, text_content, created_at, \
                           embedding <=> $1 AS distance FROM data_platform.text_embeddings \
                           WHERE dataset_id = $3 ORDER BY embedding <=> $1 LIMIT $4) \
                         SELECT *, (SELECT count(*) FROM c) AS found \
                         FROM c ORDER BY distance + 0, id LIMIT $2",
                    )
                    .bind(&self.vector)
                    .bind(i64::from(self.k))
                    .bind(dataset)
                    .bind(self.candidates)
                    .fetch_all(conn)
                    .await
                }
            }
        })
    }

    fn found(&self, rows: &[KnnRow]) -> usize {
        match self.dataset_id {
            None => rows.len(),
            Some(_) => rows
                .first()
                .and_then(|r| r.found)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
        }
    }
}

/// Dimension and finiteness, before any I/O.
fn check_vector(v: &[f32]) -> Result<()> {
    if v.len() != TEXT_EMBEDDING_DIM {
        return Err(Error::invalid_input(format!(
            "embedding has {} dimensions, {TABLE} expects {TEXT_EMBEDDING_DIM}",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid_input(format!(
            "embedding component {i} is NaN or infinite"
        )));
    }
    Ok(())
}
