//! Every store's operations reach the `metrics` facade: with a recorder
//! installed, one operation per store (against the local stores and the
//! Weaviate contract fake) shows up as `ai_data_operations_total` and
//! `ai_data_operation_duration_seconds` labelled with its store, and the
//! PostgreSQL pool as `ai_data_pool_connections` gauges.
//!
//! One test in this binary: the recorder is process-global.

use std::collections::BTreeSet;

use ai_data::core::observe::{OPERATIONS_TOTAL, OPERATION_DURATION, POOL_CONNECTIONS};
use ai_data::core::HealthCheck;
use ai_data::kafka::{KafkaConfig, Producer, Topic, TopicSpec};
use ai_data::mongo::MongoStore;
use ai_data::pg::{PgConfig, PgDatabase};
use ai_data::platform::mongo::{SeedCollections, SystemLog};
use ai_data::platform::pg::{TextEmbeddingRepo, MIGRATOR};
use ai_data::platform::LogLevel;
use ai_data::redis::{RedisClient, RedisConfig, TypedCache};
use ai_data::vector::{CollectionSpec, Metric, VectorStore};
use ai_data::weaviate::WeaviateStore;
use ai_data_weaviate_fake::FakeWeaviate;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_operation_per_store_is_measured() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let Some(pg) = ai_data_testkit::pg().await else {
        return;
    };
    let Some(mongo) = ai_data_testkit::mongo().await else {
        return;
    };
    let Some(redis) = ai_data_testkit::redis().await else {
        return;
    };
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };

    // PostgreSQL: migrate, then one repository call.
    let db = PgDatabase::connect(&PgConfig::from_url(&pg.url).expect("url"))
        .await
        .expect("pg");
    db.migrate(&MIGRATOR).await.expect("migrate");
    let n = TextEmbeddingRepo::new(db.clone())
        .count_by_dataset(1)
        .await
        .expect("count");
    assert_eq!(n, 0);
    db.check().await.expect("pg health");

    // MongoDB: one log entry.
    let store = MongoStore::from_client(mongo.client.clone(), &mongo.database);
    let report = store
        .logs()
        .insert_many(&[SystemLog::new(LogLevel::Info, "metrics-test", "hello")])
        .await
        .expect("insert");
    assert_eq!(report.inserted_ids.len(), 1);

    // Redis: a typed cache write and read.
    let client = RedisClient::connect(RedisConfig::from_url(&redis.url).expect("url"))
        .await
        .expect("redis");
    let cache: TypedCache<String> = TypedCache::new(
        client,
        &format!("{}metrics", redis.prefix.replace(':', "-")),
        1,
    )
    .expect("cache");
    cache.set("k", &"v".to_owned()).await.expect("set");
    assert_eq!(cache.get("k").await.expect("get").as_deref(), Some("v"));

    // Kafka: one event to a topic of this test's own.
    let config = KafkaConfig::new(kafka.brokers.clone());
    let topic_name = kafka.topic("metrics");
    ai_data::kafka::Admin::new(&config)
        .expect("admin")
        .ensure_topics(&[TopicSpec::new(&topic_name, 1, 1)])
        .await
        .expect("topic");
    let producer = Producer::connect(&config).await.expect("producer");
    let topic: Topic<serde_json::Value> = Topic::new(&topic_name);
    producer
        .send(&topic, &serde_json::json!({"hello": "metrics"}))
        .await
        .expect("send");
    producer.shutdown().await.expect("flush");

    // Weaviate (the contract fake): create a class and count it.
    let fake = FakeWeaviate::new().start().await.expect("fake");
    let weaviate = WeaviateStore::connect(&fake.config())
        .await
        .expect("weaviate");
    weaviate
        .ensure_collection(&CollectionSpec::new("MetricsTest", 4, Metric::Cosine))
        .await
        .expect("class");
    assert_eq!(weaviate.count("MetricsTest", None).await.expect("count"), 0);

    let snapshot = snapshotter.snapshot().into_vec();
    let label = |key: &metrics_util::CompositeKey, name: &str| {
        key.key()
            .labels()
            .find(|l| l.key() == name)
            .map(|l| l.value().to_owned())
    };
    let stores_with = |kind: MetricKind, metric: &str| -> BTreeSet<String> {
        snapshot
            .iter()
            .filter(|(key, _, _, value)| {
                key.kind() == kind
                    && key.key().name() == metric
                    && match value {
                        DebugValue::Counter(n) => *n > 0,
                        DebugValue::Histogram(samples) => !samples.is_empty(),
                        DebugValue::Gauge(_) => true,
                    }
            })
            .filter_map(|(key, _, _, _)| label(key, "store"))
            .collect()
    };
    let expected: BTreeSet<String> = ["postgres", "mongodb", "redis", "kafka", "weaviate"]
        .into_iter()
        .map(String::from)
        .collect();
    let counted = stores_with(MetricKind::Counter, OPERATIONS_TOTAL);
    assert!(counted.is_superset(&expected), "counted: {counted:?}");
    let timed = stores_with(MetricKind::Histogram, OPERATION_DURATION);
    assert!(timed.is_superset(&expected), "timed: {timed:?}");
    // Every operation above succeeded, and each has a name.
    for (key, _, _, _) in &snapshot {
        if key.key().name() == OPERATIONS_TOTAL {
            assert!(
                label(key, "operation").is_some_and(|o| !o.is_empty()),
                "{key:?}"
            );
            assert_eq!(label(key, "outcome").as_deref(), Some("ok"), "{key:?}");
        }
    }
    let pools = stores_with(MetricKind::Gauge, POOL_CONNECTIONS);
    assert!(pools.contains("postgres"), "pool gauges: {pools:?}");
}
