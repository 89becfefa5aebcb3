//! Kafka on the `ai-data` core through rdkafka: typed topics, an idempotent
//! producer, an at-least-once consumer with dead letters, and topic
//! provisioning. The AI platform's seed topics (`data-ingestion`,
//! `model-events`, `system-logs`) and their event types are
//! `ai_data_platform::kafka`.
//!
//! - [`KafkaConfig`]: brokers, SASL / TLS, producer and consumer settings,
//!   pass-through librdkafka properties; from `AI_DATA_KAFKA_*` variables
//!   and the `kafka-password` Secret key.
//! - [`Admin`]: provisions topics and their dead-letter topics,
//!   idempotently.
//! - [`Topic<T>`]: a name, a serde payload type, a key function and a
//!   content type.
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
//! use ai_data_kafka::{Admin, Consumer, KafkaConfig, Producer, Received, Topic, TopicSpec};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Indexed {
//!     dataset: String,
//!     documents: u32,
//! }
//!
//! # async fn demo() -> ai_data_kafka::Result<()> {
//! let config = KafkaConfig::from_env()?;
//! let spec = TopicSpec::new("indexed", 3, 2);
//! Admin::new(&config)?
//!     .ensure_topics(&[spec.dead_letter(), spec])
//!     .await?
//!     .into_result()?;
//!
//! // Keyed by dataset: one dataset's records stay in order.
//! let topic = Topic::<Indexed>::new("indexed").with_key(|e: &Indexed| e.dataset.clone());
//! let producer = Producer::connect(&config).await?;
//! producer.send(&topic, &Indexed { dataset: "ds-1".into(), documents: 12 }).await?;
//! producer.shutdown().await?;
//!
//! Consumer::new(&config.with_group_id("reporter"), topic)
//!     .run(
//!         |msg: Received<Indexed>| async move {
//!             println!("{} documents for {}", msg.payload().documents, msg.payload().dataset);
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
mod health;
mod lag;
mod producer;
mod topic;

pub use admin::{
    dead_letter_name, Admin, CleanupPolicy, ProvisionReport, TopicOutcome, TopicSpec, TopicStatus,
    DEFAULT_OPERATION_TIMEOUT,
};
pub use config::{
    Acks, Compression, ConsumerSettings, KafkaConfig, OffsetReset, ProducerSettings, SaslMechanism,
    SecurityProtocol, DEFAULT_CLIENT_ID, DEFAULT_PORT,
};
pub use consumer::{
    BatchHandler, Consumer, ConsumerMetrics, Handler, Received, RunSummary,
    CONSUMER_HANDLER_SECONDS, CONSUMER_RECORDS_TOTAL, DEFAULT_CONCURRENCY,
};
pub use health::{ClusterInfo, TopicInfo};
pub use lag::{ConsumerLag, ConsumerLagCheck, PartitionLag, DEFAULT_LAG_THRESHOLD};
pub use producer::{Delivery, Producer};
pub use topic::{header, Headers, Topic, JSON};

pub use ai_data_core::{Error, ErrorKind, HealthCheck, HealthReport, Result, RetryPolicy};
