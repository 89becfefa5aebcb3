//! Kafka for the AI platform through rdkafka: typed topics, an idempotent
//! producer, an at-least-once consumer with dead letters, and topic
//! provisioning (issue 8).
//!
//! - [`KafkaConfig`]: brokers, SASL / TLS, producer and consumer settings,
//!   pass-through librdkafka properties; from `AI_DATA_KAFKA_*` variables
//!   and the `kafka-password` Secret key.
//! - [`Admin`]: provisions the seed's topics (`data-ingestion`,
//!   `model-events`, `system-logs`; 3 partitions, replication 2) and their
//!   dead-letter topics, idempotently.
//! - [`Topic<T>`]: a name, a serde payload type, a key function and a
//!   content type; [`Topic::data_ingestion`], [`Topic::model_events`] and
//!   [`Topic::system_logs`] come with their event types.
//! - [`Producer`]: typed sends with keys and headers, delivery awaited,
//!   batches, flush on shutdown.
//! - [`Consumer`]: commits only what its handler finished, keeps per-key
//!   order with bounded concurrency, retries, dead-letters what fails for
//!   good (and undecodable payloads).
//!
//! - [`Admin::consumer_lag`] and [`ConsumerLagCheck`]: how far a consumer
//!   group is behind, and a health check warning when a group's lag exceeds
//!   a threshold (the seed's "consumer lag per Kafka group" alert).
//!
//! Errors are [`ai_data_core::Error`]; [`Producer`] and [`Admin`]
//! implement [`ai_data_core::HealthCheck`] (cluster metadata within the
//! connect timeout), and so does [`ConsumerLagCheck`].
//!
//! # Observability
//!
//! Every call that talks to the brokers is one
//! [`Operation`](ai_data_core::observe::Operation) (a DEBUG span and the
//! `ai_data_operation*` metrics, store `kafka`, target the topic name):
//! `producer.send` ([`Producer::send`], [`Producer::send_with`]),
//! `producer.send_raw`, `producer.send_batch` (one per batch, `rows` = the
//! records delivered), `producer.flush`, `cluster_info`,
//! `admin.ensure_topics`, `admin.topic_config`, `admin.delete_topics`,
//! `admin.consumer_lag`, `health`, `health.consumer_lag`, and on the
//! consumer `consumer.subscribe` (once per run) and `consumer.commit` (once
//! per commit; an interval commit only issues the request, whose failure
//! is logged and retried at the next interval).
//!
//! Records are too many for an operation each: a consumer run counts them
//! in [`CONSUMER_RECORDS_TOTAL`] (`topic`, `group`, `result` = `handled`,
//! `retried`, `dead_lettered` or `poison`) and times handler calls in
//! [`CONSUMER_HANDLER_SECONDS`] (`topic`, `group`), and handles each record
//! in a DEBUG span `ai_data.consume` (`topic`, `partition`, `offset`; a
//! batch: `ai_data.consume_batch`) — never a payload or a key.
//!
//! ```no_run
//! use ai_data_kafka::{
//!     seed_topics, Admin, Consumer, DocumentRef, IngestionRequest, KafkaConfig, Producer,
//!     Received, Topic, SEED_PARTITIONS, SEED_REPLICATION,
//! };
//!
//! # async fn demo() -> ai_data_kafka::Result<()> {
//! let config = KafkaConfig::from_env()?;
//! let mut specs = seed_topics("", SEED_PARTITIONS, SEED_REPLICATION);
//! let dead_letters: Vec<_> = specs.iter().map(|s| s.dead_letter()).collect();
//! specs.extend(dead_letters);
//! Admin::new(&config)?.ensure_topics(&specs).await?.into_result()?;
//!
//! let producer = Producer::connect(&config).await?;
//! let request = IngestionRequest::new("ds-1", vec![DocumentRef::new("d1", "s3://docs/d1.pdf")]);
//! producer.send(&Topic::data_ingestion(), &request).await?;
//! producer.shutdown().await?;
//!
//! Consumer::new(&config.with_group_id("indexer"), Topic::data_ingestion())
//!     .run(
//!         |msg: Received<IngestionRequest>| async move {
//!             println!("{} documents for {}", msg.payload().documents.len(), msg.payload().dataset_id);
//!             Ok(())
//!         },
//!         async { let _ = tokio::signal::ctrl_c().await; },
//!     )
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod admin;
mod config;
mod consumer;
mod context;
mod error;
mod events;
mod health;
mod lag;
mod producer;
mod topic;

pub use admin::{
    dead_letter_name, seed_topics, Admin, CleanupPolicy, ProvisionReport, TopicOutcome, TopicSpec,
    TopicStatus, DEFAULT_OPERATION_TIMEOUT, SEED_PARTITIONS, SEED_REPLICATION,
};
pub use config::{
    Acks, Compression, ConsumerSettings, KafkaConfig, OffsetReset, ProducerSettings, SaslMechanism,
    SecurityProtocol, DEFAULT_CLIENT_ID, DEFAULT_PORT,
};
pub use consumer::{
    BatchHandler, Consumer, ConsumerMetrics, Handler, Received, RunSummary,
    CONSUMER_HANDLER_SECONDS, CONSUMER_RECORDS_TOTAL, DEFAULT_CONCURRENCY,
};
pub use events::{
    DocumentRef, IngestionRequest, LogLevel, LogRecord, ModelEvent, ModelEventKind, DATA_INGESTION,
    MODEL_EVENTS, SCHEMA_VERSION, SYSTEM_LOGS,
};
pub use health::{ClusterInfo, TopicInfo};
pub use lag::{ConsumerLag, ConsumerLagCheck, PartitionLag, DEFAULT_LAG_THRESHOLD};
pub use producer::{Delivery, Producer};
pub use topic::{header, Headers, Topic, JSON};

pub use ai_data_core::{Error, ErrorKind, HealthCheck, HealthReport, Result, RetryPolicy};
