//! The seed's Kafka topics and their events on `ai-data-kafka`
//! (deployment notes, section 6.3).
//!
//! - [`topics`]: the three topic names, their typed [`Topic`]s (keyed so
//!   one dataset's / model's / service's records stay in order) and
//!   [`seed_topics`], their provisioning specs;
//! - the events: [`IngestionRequest`] (with [`DocumentRef`]s),
//!   [`ModelEvent`] ([`ModelEventKind`]) and [`LogRecord`], whose level is
//!   the platform's one [`LogLevel`](crate::LogLevel), by its lower-case
//!   name.
//!
//! ```no_run
//! use ai_data_kafka::{Admin, Consumer, KafkaConfig, Producer, Received};
//! use ai_data_platform::kafka::{
//!     seed_topics, topics, DocumentRef, IngestionRequest, SEED_PARTITIONS, SEED_REPLICATION,
//! };
//!
//! # async fn demo() -> ai_data_core::Result<()> {
//! let config = KafkaConfig::from_env()?;
//! let mut specs = seed_topics("", SEED_PARTITIONS, SEED_REPLICATION);
//! let dead_letters: Vec<_> = specs.iter().map(|s| s.dead_letter()).collect();
//! specs.extend(dead_letters);
//! Admin::new(&config)?.ensure_topics(&specs).await?.into_result()?;
//!
//! let producer = Producer::connect(&config).await?;
//! let request = IngestionRequest::new("ds-1", vec![DocumentRef::new("d1", "s3://docs/d1.pdf")]);
//! producer.send(&topics::data_ingestion(), &request).await?;
//! producer.shutdown().await?;
//!
//! Consumer::new(&config.with_group_id("indexer"), topics::data_ingestion())
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

mod events;
pub mod topics;

pub use ai_data_kafka::Topic;
pub use events::{
    DocumentRef, IngestionRequest, LogRecord, ModelEvent, ModelEventKind, SCHEMA_VERSION,
};
pub use topics::{
    seed_topics, DATA_INGESTION, MODEL_EVENTS, SEED_PARTITIONS, SEED_REPLICATION, SYSTEM_LOGS_TOPIC,
};
