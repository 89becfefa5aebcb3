//! Retrieval for RAG on Weaviate: bootstrap the seed's classes (`Document`,
//! `Image`, `ModelData`), batch-import documents with their embeddings,
//! and search with a filter.
//!
//! ```sh
//! cargo run --example weaviate_rag --features weaviate
//! # against a real server (the seed's deployment maps REST to 8088):
//! AI_DATA_WEAVIATE_URL=http://localhost:8088 AI_DATA_WEAVIATE_API_KEY=... \
//!   cargo run --example weaviate_rag --features weaviate-grpc
//! ```
//!
//! Without `AI_DATA_WEAVIATE_URL` it starts the contract fake
//! (`ai-data-weaviate-fake`) in-process, as no Weaviate runs on our
//! machines. On a real server the `Document` class must not exist with
//! another dimension (bootstrap refuses to reuse it); the documents have
//! fixed ids, so running twice overwrites them.

use std::sync::Arc;

use ai_data::vector::{Collection, Filter, RecordId, SearchQuery, VectorStore};
use ai_data::weaviate::bootstrap::{bootstrap, SeedOptions};
use ai_data::weaviate::{WeaviateConfig, WeaviateStore};
use serde::{Deserialize, Serialize};

/// Embedding size of the stand-in model below.
const DIM: usize = 64;

/// A `Document` as the seed defines it (section 4.4), plus a chunk number
/// the seed does not have: it is kept in the payload and returned, not
/// written as a property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    title: String,
    content: String,
    source: String,
    category: String,
    creation_date: String,
    author: String,
    tags: Vec<String>,
    chunk: u32,
}

const DOCS: [(&str, &str, &str, &str, &[&str]); 8] = [
    (
        "Filtering in vector search",
        "Pre-filtering keeps k results even for rare tags.",
        "guide",
        "2024-03-01T09:00:00Z",
        &["search", "filters"],
    ),
    (
        "HNSW parameters",
        "ef and maxConnections trade recall for speed.",
        "guide",
        "2023-11-20T10:00:00Z",
        &["search", "index"],
    ),
    (
        "Batch imports",
        "Send objects in batches and check every per-object error.",
        "guide",
        "2024-01-15T08:30:00Z",
        &["ingest"],
    ),
    (
        "Release notes 1.22",
        "gRPC search arrives; vector_bytes from 1.22.6.",
        "news",
        "2023-10-30T12:00:00Z",
        &["release"],
    ),
    (
        "Cosine or dot product",
        "Normalised embeddings make cosine and dot agree.",
        "guide",
        "2022-06-01T00:00:00Z",
        &["search"],
    ),
    (
        "Tokenization",
        "Exact matches need field tokenization.",
        "reference",
        "2024-02-10T16:45:00Z",
        &["filters", "schema"],
    ),
    (
        "API keys",
        "Weaviate takes Authorization: Bearer keys.",
        "reference",
        "2023-05-05T05:05:00Z",
        &["security"],
    ),
    (
        "Quarterly update",
        "Storage grew; latency stayed under 5 ms.",
        "news",
        "2024-04-01T07:00:00Z",
        &[],
    ),
];

/// A deterministic stand-in for an embedding model: hashed word counts,
/// normalised. Texts sharing words point in similar directions.
fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0.0_f32; DIM];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let hash = word
            .to_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        v[(hash % DIM as u64) as usize] += 1.0;
        v[((hash >> 32) % DIM as u64) as usize] += 0.5;
    }
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.iter().map(|x| x / norm).collect()
}

#[tokio::main]
async fn main() -> ai_data::core::Result<()> {
    // A real server when configured, else the contract fake in-process.
    let (config, _fake) = if std::env::var_os("AI_DATA_WEAVIATE_URL").is_some() {
        (WeaviateConfig::from_env()?, None)
    } else {
        let fake = ai_data_weaviate_fake::FakeWeaviate::new()
            .start()
            .await
            .map_err(|e| ai_data::core::Error::config(format!("cannot start the fake: {e}")))?;
        println!("AI_DATA_WEAVIATE_URL is not set: using the in-process contract fake");
        (fake.config(), Some(fake))
    };
    let store = WeaviateStore::connect(&config).await?;
    println!("Weaviate {} at {config}", store.version());

    let report = bootstrap(&store, &SeedOptions::default().with_dimension(DIM)).await?;
    println!(
        "bootstrap: created {:?}, already there {:?}",
        report.created, report.existing
    );

    let store: Arc<dyn VectorStore> = Arc::new(store);
    let documents: Collection<Document> = Collection::new(store.clone(), "Document");
    let items = DOCS
        .iter()
        .enumerate()
        .map(|(i, (title, content, category, date, tags))| {
            let doc = Document {
                title: (*title).to_owned(),
                content: (*content).to_owned(),
                source: "handbook".into(),
                category: (*category).to_owned(),
                creation_date: (*date).to_owned(),
                author: if i % 2 == 0 { "ana" } else { "li" }.into(),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                chunk: i as u32,
            };
            let vector = embed(&format!("{title} {content}"));
            (RecordId::from_key(&format!("handbook/{i}")), vector, doc)
        });
    let written = documents.upsert(items).await?;
    println!(
        "imported {} documents ({} failed)",
        written.upserted,
        written.failures.len()
    );
    for failure in &written.failures {
        println!("  #{} {}: {}", failure.index, failure.id, failure.error);
    }

    let question = "how do filters keep k results in vector search";
    let since = chrono::DateTime::parse_from_rfc3339("2023-06-01T00:00:00Z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| ai_data::core::Error::invalid_input(e.to_string()))?;
    let filter = Filter::is_in("category", ["guide", "reference"])
        .and(Filter::gt("creationDate", since))
        .and(Filter::contains_any("tags", ["search", "filters"]));
    let query = SearchQuery::new(embed(question), 3).with_filter(filter);
    println!("\n{question:?}\n(guides or references since June 2023 tagged search/filters)");
    for hit in documents.search(&query).await? {
        let d = &hit.item;
        println!(
            "  {:.4}  {:<28} {:<9} {} {:?} chunk {}",
            hit.distance,
            d.title,
            d.category,
            &d.creation_date[..10],
            d.tags,
            d.chunk
        );
    }
    let guides = store
        .count("Document", Some(&Filter::eq("category", "guide")))
        .await?;
    println!(
        "\n{guides} of {} documents are guides",
        store.count("Document", None).await?
    );
    Ok(())
}
