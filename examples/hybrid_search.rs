//! Hybrid search: keyword relevance fused with vector similarity, through
//! the one `VectorStore` trait, with the same semantics on every backend.
//! Also a half-precision (`F16`) collection.
//!
//! ```sh
//! cargo run --example hybrid_search --features vector
//! # against pgvector (the local stores: scripts/stores.sh start):
//! AI_DATA_PG_URL="$AI_DATA_TEST_PG_URL" cargo run --example hybrid_search --features vector,pg
//! ```
//!
//! It runs against the embedded `MemoryStore` (exact BM25), or pgvector
//! (`ts_rank_cd` over a generated `tsvector`, fused in one SQL statement)
//! when `AI_DATA_PG_URL` is set. It prints a keyword search, a vector
//! search, their reciprocal rank fusion and their relative-score fusion.

use std::sync::Arc;

use ai_data::vector::{
    CollectionSpec, FieldKind, Filter, Fusion, IndexSpec, MemoryStore, Metric, Precision, Record,
    RecordId, SearchHit, SearchQuery, TextAnalyzer, TextQuery, VectorStore,
};

const DIM: usize = 32;
const DOCS: [(&str, &str, &str); 8] = [
    (
        "pg",
        "PostgreSQL full text search",
        "tsvector columns with a GIN index rank documents by ts_rank",
    ),
    (
        "hnsw",
        "HNSW graphs for vector search",
        "approximate nearest neighbours through a layered graph",
    ),
    (
        "rrf",
        "Reciprocal rank fusion",
        "fusing keyword and vector rankings without tuning scores",
    ),
    (
        "bm25",
        "BM25 ranking explained",
        "term frequency saturation and document length normalisation",
    ),
    (
        "half",
        "Half precision embeddings",
        "halfvec stores vectors in sixteen bits and indexes 4000 dimensions",
    ),
    (
        "kafka",
        "Streaming ingestion with Kafka",
        "events feed the embedding pipeline",
    ),
    (
        "cache",
        "Caching search results in Redis",
        "a cache in front of the vector store",
    ),
    (
        "weaviate",
        "Weaviate hybrid search",
        "bm25 and nearVector fused by rankedFusion",
    ),
];

async fn open_store() -> ai_data::core::Result<Arc<dyn VectorStore>> {
    #[cfg(feature = "pg")]
    if std::env::var_os("AI_DATA_PG_URL").is_some() {
        let config = ai_data::pg::PgConfig::from_env()?;
        println!("backend: pgvector at {config}");
        let db = ai_data::pg::PgDatabase::connect(&config).await?;
        let store = ai_data::pg::PgVectorStore::connect(db, "data_platform").await?;
        store.drop_collection("example_hybrid").await?;
        store.drop_collection("example_half").await?;
        return Ok(Arc::new(store));
    }
    println!("backend: MemoryStore (set AI_DATA_PG_URL and enable `pg` for pgvector)");
    Ok(Arc::new(MemoryStore::new()))
}

/// A stand-in embedding: a vector that depends on the words of the text.
fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0.01_f32; DIM];
    for word in text.split_whitespace() {
        let h = word
            .bytes()
            .fold(7_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        v[(h % DIM as u64) as usize] += 1.0;
    }
    v
}

fn show(what: &str, hits: &[SearchHit]) {
    println!("{what}:");
    for hit in hits {
        let title = hit
            .payload
            .as_ref()
            .and_then(|p| p["title"].as_str())
            .unwrap_or("?");
        match hit.score {
            Some(score) if hit.distance.is_nan() => println!("  {score:8.4}  {title}"),
            Some(score) => println!("  {score:8.4}  (distance {:.3})  {title}", hit.distance),
            None => println!("  distance {:.3}  {title}", hit.distance),
        }
    }
}

#[tokio::main]
async fn main() -> ai_data::core::Result<()> {
    let store = open_store().await?;
    let spec = CollectionSpec::new("example_hybrid", DIM, Metric::Cosine)
        .with_index(IndexSpec::Exact)
        .with_field("title", FieldKind::Text)
        .with_field("body", FieldKind::Text)
        .with_field("key", FieldKind::Text)
        .with_text_search(["title", "body"], TextAnalyzer::English);
    store.ensure_collection(&spec).await?;
    let records: Vec<Record> = DOCS
        .iter()
        .map(|(key, title, body)| {
            let payload = serde_json::json!({"key": key, "title": title, "body": body});
            let payload = payload.as_object().cloned().unwrap_or_default();
            Record::new(
                RecordId::from_key(key),
                embed(&format!("{title} {body}")),
                payload,
            )
        })
        .collect();
    store.upsert(&spec.name, &records).await?.into_result()?;

    let question = "ranking search results";
    let vector = embed("fusing vector rankings");
    let keyword = store
        .search(&spec.name, &SearchQuery::keyword(question, 4))
        .await?;
    show(&format!("keyword {question:?}"), &keyword);
    let nearest = store
        .search(&spec.name, &SearchQuery::new(vector.clone(), 4))
        .await?;
    show("vector", &nearest);
    let rrf = SearchQuery::new(vector.clone(), 4).with_text(TextQuery::new(question));
    show(
        "hybrid, reciprocal rank fusion (k = 60, alpha 0.5)",
        &store.search(&spec.name, &rrf).await?,
    );
    let relative = SearchQuery::new(vector.clone(), 4)
        .with_text(
            TextQuery::new(question)
                .with_alpha(0.3)
                .with_fusion(Fusion::RelativeScore),
        )
        .with_filter(Filter::ne("key", "cache"));
    show(
        "hybrid, relative score fusion (alpha 0.3), not `cache`",
        &store.search(&spec.name, &relative).await?,
    );

    // Half precision: half the storage, distances within ~1e-3.
    let half =
        CollectionSpec::new("example_half", DIM, Metric::Cosine).with_precision(Precision::F16);
    store.ensure_collection(&half).await?;
    store.upsert(&half.name, &records).await?.into_result()?;
    show(
        "vector, f16 collection",
        &store
            .search(&half.name, &SearchQuery::new(vector, 2))
            .await?,
    );
    Ok(())
}
