//! Vector search through the `VectorStore` trait: create a collection, load a
//! few hundred deterministic embeddings with typed payloads, and run
//! unfiltered and filtered searches.
//!
//! ```sh
//! cargo run --example vector_search --features vector
//! # against pgvector (the local stores: scripts/stores.sh start):
//! AI_DATA_PG_URL="$AI_DATA_TEST_PG_URL" cargo run --example vector_search --features vector,pg
//! ```
//!
//! It runs against the embedded `MemoryStore`. The backend is chosen in one
//! place, [`open_store`]: the pgvector backend slots in there when
//! `AI_DATA_PG_URL` is set, and everything below it stays the same, since
//! every backend implements the same trait with the same distances and
//! filter semantics.

use std::sync::Arc;

use ai_data::vector::{
    Collection, CollectionSpec, FieldKind, Filter, IndexSpec, MemoryStore, Metric, RecordId,
    SearchQuery, VectorStore,
};
use serde::{Deserialize, Serialize};

const DIM: usize = 64;
const DOCS: usize = 300;
const TOPICS: [&str; 4] = ["databases", "vector search", "streaming", "caching"];
const LANGS: [&str; 3] = ["en", "de", "fr"];

/// The payload a service stores with each embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Document {
    title: String,
    topic: String,
    lang: String,
    year: i64,
    tags: Vec<String>,
}

/// Pick the backend: pgvector when `AI_DATA_PG_URL` is set (and the `pg`
/// feature is on), else the in-memory exact store. Nothing below this
/// function depends on the choice.
async fn open_store() -> ai_data::core::Result<Arc<dyn VectorStore>> {
    #[cfg(feature = "pg")]
    if std::env::var_os("AI_DATA_PG_URL").is_some() {
        let config = ai_data::pg::PgConfig::from_env()?;
        println!("backend: pgvector at {config}");
        let db = ai_data::pg::PgDatabase::connect(&config).await?;
        let store = ai_data::pg::PgVectorStore::connect(db, "data_platform").await?;
        // A fresh collection each run, so the example can run again.
        store.drop_collection("example_documents").await?;
        return Ok(Arc::new(store));
    }
    println!("backend: MemoryStore (set AI_DATA_PG_URL and enable `pg` for pgvector)");
    Ok(Arc::new(MemoryStore::new()))
}

/// A deterministic stand-in for an embedding model: documents of a topic
/// point in roughly the same direction, with a per-document wobble.
fn embed(topic: usize, salt: u64) -> Vec<f32> {
    let mut state = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    (0..DIM)
        .map(|i| {
            // xorshift64*: cheap, reproducible noise in [-0.5, 0.5).
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let noise = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32
                / (1u64 << 24) as f32
                - 0.5;
            let signal = if i % TOPICS.len() == topic { 2.0 } else { 0.0 };
            signal + noise
        })
        .collect()
}

fn document(i: usize) -> (RecordId, Vec<f32>, Document) {
    let topic = i % TOPICS.len();
    let doc = Document {
        title: format!("{} note #{i}", TOPICS[topic]),
        topic: TOPICS[topic].to_owned(),
        lang: LANGS[i % LANGS.len()].to_owned(),
        year: 2018 + (i % 7) as i64,
        tags: match i % 5 {
            0 => vec!["howto".into(), "ops".into()],
            1 => vec!["design".into()],
            _ => vec![],
        },
    };
    (
        RecordId::from_key(&format!("doc-{i}")),
        embed(topic, i as u64),
        doc,
    )
}

fn show(label: &str, hits: &[ai_data::vector::TypedHit<Document>]) {
    println!("\n{label}");
    for hit in hits {
        let d = &hit.item;
        println!(
            "  {:>8.4}  {:<28} {} {} {:?}",
            hit.distance, d.title, d.lang, d.year, d.tags
        );
    }
}

#[tokio::main]
async fn main() -> ai_data::core::Result<()> {
    let store = open_store().await?;
    let caps = store.capabilities();
    println!(
        "backend: {store:?}\nmetrics {:?}, max k {}, max batch {}",
        caps.metrics, caps.max_k, caps.max_batch_size
    );

    let spec = CollectionSpec::new("example_documents", DIM, Metric::Cosine)
        .with_index(IndexSpec::Hnsw {
            m: 16,
            ef_construction: 64,
        })
        .with_field("lang", FieldKind::Text)
        .with_field("year", FieldKind::Int)
        .with_field("tags", FieldKind::TextList)
        .with_embedding_model("example-hash-embedding-64");
    let docs: Collection<Document> = Collection::create(Arc::clone(&store), &spec).await?;

    let report = docs.upsert((0..DOCS).map(document)).await?;
    println!(
        "upserted {} documents, {} failures",
        report.upserted,
        report.failures.len()
    );

    // The query: "something about vector search".
    let query_vector = embed(1, 10_000);
    let nearest = docs
        .search(&SearchQuery::new(query_vector.clone(), 5))
        .await?;
    show("5 nearest, no filter:", &nearest);

    let recent_german = Filter::eq("lang", "de").and(Filter::ge("year", 2022));
    let hits = docs
        .search(&SearchQuery::new(query_vector.clone(), 5).with_filter(recent_german.clone()))
        .await?;
    show("5 nearest with lang = de AND year >= 2022:", &hits);
    assert!(hits
        .iter()
        .all(|h| h.item.lang == "de" && h.item.year >= 2022));

    let howtos = Filter::contains_any("tags", ["howto"]).and(!Filter::eq("lang", "en"));
    let hits = docs
        .search(
            &SearchQuery::new(query_vector, 3)
                .with_filter(howtos.clone())
                .with_max_distance(0.9),
        )
        .await?;
    show("3 nearest how-tos not in English, distance <= 0.9:", &hits);

    println!(
        "\ncount: all {}, de >= 2022 {}, non-English how-tos {}",
        docs.count(None).await?,
        docs.count(Some(&recent_german)).await?,
        docs.count(Some(&howtos)).await?
    );
    Ok(())
}
