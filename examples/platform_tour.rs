//! The platform tour: every store, one service's day, against the local
//! stores (`scripts/tour.sh` starts them and runs this).
//!
//! 1. connect to every configured store, migrate PostgreSQL, bootstrap
//!    MongoDB's collections, the Kafka topics and the Weaviate classes,
//!    check health;
//! 2. create a user and register a model (PostgreSQL);
//! 3. publish ingestion events for a small corpus (Kafka);
//! 4. consume them at least once into pgvector (`PgVectorStore`), embedding
//!    each document with a deterministic stand-in model, and copy them into
//!    Weaviate (the in-process contract fake unless `AI_DATA_WEAVIATE_URL` is set);
//! 5. search, through a Redis cache in front of the vector store;
//! 6. hybrid search (keyword + vector, reciprocal rank fusion) on pgvector
//!    and on Weaviate through the same trait;
//! 7. ship the tour's logs to MongoDB and count them by level.
//!
//! `cargo run --example platform_tour --features platform,pg,mongo,vector,weaviate,redis,kafka`

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data::core::{EnvSource, Error, ErrorKind, Result};
use ai_data::kafka::{Admin, Consumer, Received, TopicSpec};
use ai_data::pg::PgVectorStore;
use ai_data::platform::kafka::{topics, DocumentRef, IngestionRequest};
use ai_data::platform::mongo::{SeedCollections, SystemLog};
use ai_data::platform::pg::{ModelRepo, NewModel, NewModelVersion, NewUser, UserRepo};
use ai_data::platform::LogLevel;
use ai_data::redis::CachedVectorStore;
use ai_data::vector::{
    CollectionSpec, FieldKind, Filter, Metric, Record, RecordId, SearchQuery, TextAnalyzer,
    TextQuery, VectorStore,
};
use ai_data::{Platform, PlatformOptions};

const DIM: usize = 384;
const CORPUS: [(&str, &str); 8] = [
    (
        "pgvector",
        "pgvector adds vector similarity search to PostgreSQL with HNSW indexes",
    ),
    (
        "weaviate",
        "Weaviate stores objects and vectors and answers nearVector queries",
    ),
    (
        "redis",
        "Redis caches query results and keeps sessions with sliding expiry",
    ),
    (
        "kafka",
        "Kafka carries ingestion events that consumers process at least once",
    ),
    (
        "mongodb",
        "MongoDB keeps system logs and a task status cache with a TTL index",
    ),
    (
        "hnsw",
        "HNSW is a graph index for approximate nearest neighbour search",
    ),
    (
        "embeddings",
        "Embeddings map text to vectors so that similar texts are close",
    ),
    (
        "rag",
        "Retrieval augmented generation feeds retrieved documents to a model",
    ),
];

/// How many steps the tour has.
const STEPS: u32 = 7;

fn step(n: u32, what: &str) -> Instant {
    println!("\n[{n}/{STEPS}] {what}");
    Instant::now()
}

/// A deterministic stand-in for an embedding model: hashed word features,
/// normalised, so texts sharing words point the same way.
fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0.0_f32; DIM];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        let h = word.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        v[(h % DIM as u64) as usize] += 1.0;
        v[((h >> 32) % DIM as u64) as usize] += 0.5;
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
async fn main() -> Result<()> {
    let started = Instant::now();
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut logs = Vec::new();

    let t = step(1, "connect, migrate, bootstrap, health");
    // Weaviate: a real server when AI_DATA_WEAVIATE_URL is set, else the
    // in-process contract fake, handed to the platform like a real one.
    let real_weaviate = std::env::var_os("AI_DATA_WEAVIATE_URL").is_some();
    let mut extra = vec![(
        "AI_DATA_WEAVIATE_SEED_DIMENSION".to_owned(),
        DIM.to_string(),
    )];
    let fake;
    if !real_weaviate {
        fake = ai_data_weaviate_fake::FakeWeaviate::new()
            .start()
            .await
            .map_err(|e| Error::config(format!("cannot start the Weaviate fake: {e}")))?;
        extra.push(("AI_DATA_WEAVIATE_URL".to_owned(), fake.url()));
        extra.push(("AI_DATA_WEAVIATE_GRPC_URL".to_owned(), fake.grpc_url()));
    }
    let env = EnvSource::from_pairs(std::env::vars().chain(extra));
    let platform = Platform::from_env_source(&env, PlatformOptions::setup()).await?;
    let health = platform.health().await;
    print!("{health}");
    if !health.is_healthy() {
        return Err(Error::new(
            ErrorKind::Connect,
            "a store is down: start them with scripts/stores.sh start",
        ));
    }
    let missing = |name: &str| {
        Error::config(format!(
            "{name} is not configured (AI_DATA_* variables): run scripts/tour.sh"
        ))
    };
    let pg = platform.pg.clone().ok_or_else(|| missing("PostgreSQL"))?;
    let mongo = platform.mongo.as_ref().ok_or_else(|| missing("MongoDB"))?;
    let redis = platform.redis.clone().ok_or_else(|| missing("Redis"))?;
    let (kafka, producer) = platform.kafka.as_ref().ok_or_else(|| missing("Kafka"))?;
    let weaviate = platform
        .weaviate
        .as_ref()
        .ok_or_else(|| missing("Weaviate"))?;
    println!("      ready in {:.2?}", t.elapsed());

    let t = step(2, "create a user, register a model (PostgreSQL)");
    let user = UserRepo::new(pg.clone())
        .create(NewUser::new(
            format!("tour-{run}"),
            format!("tour-{run}@example.com"),
            "a tour passphrase",
        ))
        .await?;
    let models = ModelRepo::new(pg.clone());
    let mut new_model = NewModel::new(format!("tour-embedder-{run}"), "hashing");
    new_model.use_case = Some("deterministic stand-in embeddings for the tour".into());
    new_model.created_by = Some(user.id);
    let model = models.register(new_model).await?;
    models
        .add_version(
            model.id,
            NewModelVersion::new("1.0.0", serde_json::json!({"dim": DIM})),
        )
        .await?;
    println!(
        "      user {} (id {}), model {} v1.0.0, in {:.2?}",
        user.username,
        user.id,
        model.name,
        t.elapsed()
    );
    logs.push(SystemLog::new(
        LogLevel::Info,
        "tour",
        format!("registered model {}", model.name),
    ));

    let t = step(3, "publish ingestion events (Kafka)");
    let topic_name = format!("tour-ingestion-{run}");
    let spec = TopicSpec::new(&topic_name, 3, 1);
    Admin::new(kafka)?
        .ensure_topics(&[spec.clone(), spec.dead_letter()])
        .await?
        .into_result()?;
    let topic = topics::data_ingestion().with_name(&topic_name);
    for (id, text) in CORPUS {
        let doc = DocumentRef::new(id, format!("memory://corpus/{id}"))
            .with_metadata("text", serde_json::json!(text));
        let request = IngestionRequest::new(format!("tour-{run}"), vec![doc])
            .with_requested_by(&user.username);
        producer.send(&topic, &request).await?;
    }
    println!(
        "      {} events on {topic_name} in {:.2?}",
        CORPUS.len(),
        t.elapsed()
    );

    let t = step(
        4,
        "consume them into pgvector (at least once, idempotent upserts)",
    );
    let store = Arc::new(PgVectorStore::connect(pg.clone(), "data_platform").await?);
    let collection = format!("tour_{run}");
    let spec = CollectionSpec::new(&collection, DIM, Metric::Cosine)
        .with_field("dataset", FieldKind::Text)
        .with_field("text", FieldKind::Text)
        // `simple`: the analyzer both pgvector and Weaviate offer.
        .with_text_search(["text"], TextAnalyzer::Simple)
        .with_embedding_model("tour-hashing-384");
    store.ensure_collection(&spec).await?;
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let done_tx = Arc::new(Mutex::new(Some(done_tx)));
    let handler = {
        let (store, collection, seen, done_tx) = (
            store.clone(),
            collection.clone(),
            seen.clone(),
            done_tx.clone(),
        );
        move |msg: Received<IngestionRequest>| {
            let (store, collection, seen, done_tx) = (
                store.clone(),
                collection.clone(),
                seen.clone(),
                done_tx.clone(),
            );
            async move {
                let request = msg.payload();
                let records: Vec<Record> = request
                    .documents
                    .iter()
                    .map(|d| {
                        let text = d.metadata.get("text").and_then(|v| v.as_str()).unwrap_or_default();
                        let payload = serde_json::json!({ "dataset": request.dataset_id, "doc": d.document_id, "text": text });
                        Record::new(RecordId::from_key(&d.document_id), embed(text), payload.as_object().cloned().unwrap_or_default())
                    })
                    .collect();
                store.upsert(&collection, &records).await?.into_result()?;
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                seen.extend(request.documents.iter().map(|d| d.document_id.clone()));
                if seen.len() == CORPUS.len() {
                    if let Some(tx) = done_tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
                        let _ = tx.send(());
                    }
                }
                Ok(())
            }
        }
    };
    let consumer = Consumer::new(&kafka.clone().with_group_id(format!("tour-{run}")), topic);
    let all_done = async {
        let _ = tokio::time::timeout(Duration::from_secs(60), done_rx).await;
    };
    let summary = consumer.run(handler, all_done).await?;
    let indexed = store.count(&collection, None).await?;
    println!(
        "      consumed {summary:?}\n      {indexed} documents indexed in {:.2?}",
        t.elapsed()
    );
    if indexed != CORPUS.len() as u64 {
        return Err(Error::new(
            ErrorKind::Backend,
            "not every event reached the vector store",
        ));
    }
    // The same records into Weaviate through the same trait.
    weaviate.ensure_collection(&spec).await?;
    let all_ids: Vec<RecordId> = CORPUS
        .iter()
        .map(|(id, _)| RecordId::from_key(id))
        .collect();
    let copied = weaviate
        .upsert(&collection, &store.get(&collection, &all_ids).await?)
        .await?;
    println!(
        "      the same {} records in Weaviate {}{}",
        copied.upserted,
        weaviate.version(),
        if real_weaviate {
            ""
        } else {
            " - the in-process contract fake"
        }
    );

    let t = step(5, "search through the Redis cache");
    let cached = CachedVectorStore::new(store.clone(), redis.clone());
    let query = SearchQuery::new(
        embed("which index does approximate nearest neighbour search"),
        3,
    )
    .with_filter(Filter::eq("dataset", format!("tour-{run}")));
    for attempt in ["first (miss)", "second (hit)"] {
        let q = Instant::now();
        let hits = cached.search(&collection, &query).await?;
        println!("      {attempt}: {:.2?}", q.elapsed());
        for hit in &hits {
            let doc = hit
                .payload
                .as_ref()
                .and_then(|p| p.get("doc"))
                .and_then(|v| v.as_str())
                .unwrap_or("?");
            println!("        {:.4}  {doc}", hit.distance);
        }
    }
    let stats = cached.stats();
    println!(
        "      cache hits {}, misses {}, in {:.2?}",
        stats.hits,
        stats.misses,
        t.elapsed()
    );
    logs.push(SystemLog::new(
        LogLevel::Info,
        "tour",
        format!("cache hits {} misses {}", stats.hits, stats.misses),
    ));

    let t = step(
        6,
        "hybrid search: keyword + vector, fused (pgvector, Weaviate)",
    );
    let hybrid = SearchQuery::new(embed("graph index for nearest neighbours"), 3)
        .with_text(TextQuery::new("HNSW index"))
        .with_filter(Filter::eq("dataset", format!("tour-{run}")));
    for (name, backend) in [
        ("pgvector", store.as_ref() as &dyn VectorStore),
        ("weaviate", weaviate as &dyn VectorStore),
    ] {
        let hits = backend.search(&collection, &hybrid).await?;
        println!("      {name}:");
        for hit in &hits {
            let doc = hit
                .payload
                .as_ref()
                .and_then(|p| p.get("doc"))
                .and_then(|v| v.as_str())
                .unwrap_or("?");
            println!(
                "        fused {:.4}  distance {:.4}  {doc}",
                hit.score.unwrap_or_default(),
                hit.distance
            );
        }
    }
    println!("      in {:.2?}", t.elapsed());

    let t = step(7, "ship logs (MongoDB)");
    logs.push(SystemLog::new(
        LogLevel::Warn,
        "tour",
        "this is what a warning looks like",
    ));
    let repo = mongo.logs();
    let report = repo.insert_many(&logs).await?;
    let counts = repo.count_by_level(None, None).await?;
    println!(
        "      {} log entries written; per service and level:",
        report.inserted_ids.len()
    );
    for count in counts.iter().filter(|c| c.service == "tour") {
        println!("        {count:?}");
    }
    println!("      in {:.2?}", t.elapsed());

    store.drop_collection(&collection).await?;
    Admin::new(kafka)?
        .delete_topics(&[topic_name.as_str(), spec_dead_letter(&topic_name).as_str()])
        .await?;
    println!("\ntour finished in {:.2?}", started.elapsed());
    Ok(())
}

fn spec_dead_letter(topic: &str) -> String {
    ai_data::kafka::dead_letter_name(topic)
}
