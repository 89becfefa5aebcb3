//! An ingestion pipeline over Kafka: provision the seed's topics, produce
//! `data-ingestion` requests, and consume them into a vector store with the
//! at-least-once `Consumer`, then show what arrived.
//!
//! ```sh
//! scripts/stores.sh start        # the local Kafka-compatible broker (and PostgreSQL)
//! cargo run --example stream_pipeline --features platform,kafka,vector
//! # into pgvector instead of the in-memory store:
//! AI_DATA_PG_URL="$AI_DATA_TEST_PG_URL" cargo run --example stream_pipeline --features platform,kafka,vector,pg
//! ```
//!
//! The brokers come from `AI_DATA_KAFKA_*` (see `KafkaConfig`), else from
//! `AI_DATA_TEST_KAFKA_BROKERS` (the environment or the `.stores/env` file
//! that `scripts/stores.sh start` writes). Topics get a fresh prefix per run
//! so the example can run again on the same broker.
//!
//! The handler is idempotent (a document's vector id is derived from its
//! id), as an at-least-once consumer's handler must be: a record seen twice
//! after a crash writes the same vector again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_data::core::{EnvSource, Error, ErrorKind, Result, Store};
use ai_data::kafka::{Admin, Consumer, KafkaConfig, Producer, Received, TopicSpec};
use ai_data::platform::kafka::{
    seed_topics, topics, DocumentRef, IngestionRequest, SEED_PARTITIONS, SEED_REPLICATION,
};
use ai_data::vector::{
    CollectionSpec, FieldKind, Filter, MemoryStore, Metric, Record, RecordId, SearchQuery,
    VectorStore,
};

const DIM: usize = 16;
const COLLECTION: &str = "ingested_documents";
const DATASETS: [&str; 3] = ["contracts", "support-tickets", "research-papers"];
const REQUESTS_PER_DATASET: usize = 4;
const DOCUMENTS_PER_REQUEST: usize = 3;

/// The Kafka settings: `AI_DATA_KAFKA_*` when set, else the local test broker.
fn kafka_config() -> Result<KafkaConfig> {
    if ai_data::is_configured(&EnvSource::from_process(), Store::Kafka) {
        return KafkaConfig::from_env();
    }
    let brokers = ai_data_testkit::test_var("AI_DATA_TEST_KAFKA_BROKERS").ok_or_else(|| {
            Error::config(
                "set AI_DATA_KAFKA_BOOTSTRAP_SERVERS, or start the local stores (scripts/stores.sh start)",
            )
        })?;
    Ok(KafkaConfig::new(brokers))
}

/// The vector store: pgvector when `AI_DATA_PG_URL` is set (and the `pg`
/// feature is on), else the in-memory exact store.
async fn open_store() -> Result<Arc<dyn VectorStore>> {
    #[cfg(feature = "pg")]
    if std::env::var_os("AI_DATA_PG_URL").is_some() {
        let config = ai_data::pg::PgConfig::from_env()?;
        println!("vector store: pgvector at {config}");
        let db = ai_data::pg::PgDatabase::connect(&config).await?;
        let store = ai_data::pg::PgVectorStore::connect(db, "data_platform").await?;
        store.drop_collection(COLLECTION).await?;
        return Ok(Arc::new(store));
    }
    println!("vector store: MemoryStore (set AI_DATA_PG_URL and enable `pg` for pgvector)");
    Ok(Arc::new(MemoryStore::new()))
}

/// A deterministic stand-in for an embedding model.
fn embed(text: &str) -> Vec<f32> {
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (0..DIM)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn requests() -> Vec<IngestionRequest> {
    let mut out = Vec::new();
    for dataset in DATASETS {
        for r in 0..REQUESTS_PER_DATASET {
            let documents = (0..DOCUMENTS_PER_REQUEST)
                .map(|d| {
                    let id = format!("{dataset}-{r}-{d}");
                    DocumentRef::new(&id, format!("s3://ai-platform/{dataset}/{id}.pdf"))
                        .with_content_type("application/pdf")
                })
                .collect();
            out.push(IngestionRequest::new(dataset, documents).with_requested_by("example"));
        }
    }
    out
}

/// Index one ingestion request: one vector per document, keyed by document id.
async fn index(store: &dyn VectorStore, msg: &Received<IngestionRequest>) -> Result<()> {
    let request = msg.payload();
    let records: Vec<Record> = request
        .documents
        .iter()
        .map(|doc| {
            let payload = serde_json::json!({
                "dataset_id": request.dataset_id,
                "document_id": doc.document_id,
                "uri": doc.uri,
                "request_id": request.request_id.to_string(),
            });
            Record::new(
                RecordId::from_key(&doc.document_id),
                embed(&doc.document_id),
                payload.as_object().cloned().unwrap_or_default(),
            )
        })
        .collect();
    let report = store.upsert(COLLECTION, &records).await?;
    if let Some(failure) = report.failures.first() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("document {} was rejected: {}", failure.id, failure.error),
        ));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let config = kafka_config()?.with_connect_timeout(Duration::from_secs(15));
    println!("kafka: {config}");
    let store = open_store().await?;
    store
        .ensure_collection(
            &CollectionSpec::new(COLLECTION, DIM, Metric::Cosine)
                .with_field("dataset_id", FieldKind::Text),
        )
        .await?;

    // Provision the seed's topics (and dead-letter topics) under a prefix
    // of this run's own.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let prefix = format!("example-{}.", &run[..8]);
    let mut specs = seed_topics(&prefix, SEED_PARTITIONS, SEED_REPLICATION);
    let dead_letters: Vec<TopicSpec> = specs.iter().map(TopicSpec::dead_letter).collect();
    specs.extend(dead_letters);
    let report = Admin::new(&config)?
        .ensure_topics(&specs)
        .await?
        .into_result()?;
    println!("topics created: {:?}", report.created());

    let topic = topics::data_ingestion().with_prefix(&prefix);
    let producer = Producer::connect(&config).await?;
    let requests = requests();
    for (request, delivery) in requests
        .iter()
        .zip(producer.send_batch(&topic, &requests).await)
    {
        let delivery = delivery?;
        println!(
            "produced {} ({} documents) -> partition {} offset {}",
            request.dataset_id,
            request.documents.len(),
            delivery.partition,
            delivery.offset
        );
    }
    producer.shutdown().await?;

    let expected = (requests.len() * DOCUMENTS_PER_REQUEST) as u64;
    let consumer = Consumer::new(
        &config.clone().with_group_id(format!("{prefix}indexer")),
        topic.clone(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handler = {
        let store = store.clone();
        move |msg: Received<IngestionRequest>| {
            let store = store.clone();
            async move { index(store.as_ref(), &msg).await }
        }
    };
    let running = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(120);
    while store.count(COLLECTION, None).await? < expected {
        if running.is_finished() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    let summary = running
        .await
        .map_err(|e| Error::new(ErrorKind::Backend, format!("consumer task: {e}")))??;
    println!(
        "\nconsumer: {} records handled, {} retries, {} dead-lettered, {} commits",
        summary.handled, summary.retries, summary.dead_lettered, summary.commits
    );

    println!("arrived in {COLLECTION}:");
    for dataset in DATASETS {
        let n = store
            .count(COLLECTION, Some(&Filter::eq("dataset_id", dataset)))
            .await?;
        println!("  {dataset:<16} {n} documents");
    }
    let hits = store
        .search(
            COLLECTION,
            &SearchQuery::new(embed("contracts-2-1"), 3)
                .with_filter(Filter::eq("dataset_id", "contracts"))
                .with_payloads(true),
        )
        .await?;
    println!("nearest to contracts-2-1:");
    for hit in hits {
        let uri = hit
            .payload
            .as_ref()
            .and_then(|p| p.get("uri"))
            .and_then(|v| v.as_str())
            .unwrap_or("?");
        println!("  {:>8.4}  {uri}", hit.distance);
    }
    let total = store.count(COLLECTION, None).await?;
    if total != expected {
        return Err(Error::new(
            ErrorKind::Backend,
            format!("{total} of {expected} documents arrived"),
        ));
    }
    println!("all {expected} documents arrived");
    Ok(())
}
