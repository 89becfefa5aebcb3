//! The seed's three topics: names, typed [`Topic`]s and provisioning specs.

use std::time::Duration;

use ai_data_kafka::{CleanupPolicy, Topic, TopicSpec};

use super::{IngestionRequest, LogRecord, ModelEvent};

/// The seed's ingestion topic.
pub const DATA_INGESTION: &str = "data-ingestion";
/// The seed's model lifecycle topic.
pub const MODEL_EVENTS: &str = "model-events";
/// The seed's log topic (the MongoDB collection of the same records is
/// `mongo::SYSTEM_LOGS_COLLECTION`, feature `mongo`).
pub const SYSTEM_LOGS_TOPIC: &str = "system-logs";

/// The seed's partitions per topic.
pub const SEED_PARTITIONS: i32 = 3;
/// The seed's replication factor.
pub const SEED_REPLICATION: i32 = 2;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// `data-ingestion`, keyed by dataset id.
pub fn data_ingestion() -> Topic<IngestionRequest> {
    Topic::new(DATA_INGESTION).with_key(|r: &IngestionRequest| r.dataset_id.clone())
}

/// `model-events`, keyed by model id.
pub fn model_events() -> Topic<ModelEvent> {
    Topic::new(MODEL_EVENTS).with_key(|e: &ModelEvent| e.model_id.clone())
}

/// `system-logs`, keyed by service.
pub fn system_logs() -> Topic<LogRecord> {
    Topic::new(SYSTEM_LOGS_TOPIC).with_key(|r: &LogRecord| r.service.clone())
}

/// The seed's three topics with `prefix` (empty in production), the given
/// partitions and replication factor (the seed uses
/// [`SEED_PARTITIONS`] = 3 and [`SEED_REPLICATION`] = 2), and these
/// retention defaults (the seed sets none): `data-ingestion` 7 days,
/// `model-events` 30 days, `system-logs` 3 days, all `cleanup.policy=delete`.
///
/// Add their dead-letter topics with [`TopicSpec::dead_letter`].
///
/// ```
/// use ai_data_platform::kafka::{seed_topics, SEED_PARTITIONS, SEED_REPLICATION};
/// let mut specs = seed_topics("", SEED_PARTITIONS, SEED_REPLICATION);
/// let dead_letters: Vec<_> = specs.iter().map(|s| s.dead_letter()).collect();
/// specs.extend(dead_letters);
/// let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
/// assert_eq!(names, [
///     "data-ingestion", "model-events", "system-logs",
///     "data-ingestion.dlq", "model-events.dlq", "system-logs.dlq",
/// ]);
/// assert!(specs.iter().all(|s| s.partitions == 3 && s.replication == 2));
/// ```
pub fn seed_topics(prefix: &str, partitions: i32, replication: i32) -> Vec<TopicSpec> {
    [
        (DATA_INGESTION, 7),
        (MODEL_EVENTS, 30),
        (SYSTEM_LOGS_TOPIC, 3),
    ]
    .into_iter()
    .map(|(name, days)| {
        TopicSpec::new(format!("{prefix}{name}"), partitions, replication)
            .with_retention(DAY * days)
            .with_cleanup_policy(CleanupPolicy::Delete)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_topics_follow_the_deployment_notes() {
        let specs = seed_topics("env.", SEED_PARTITIONS, SEED_REPLICATION);
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[0].name, "env.data-ingestion");
        assert!(specs
            .iter()
            .all(|s| s.partitions == 3 && s.replication == 2));
        assert!(specs.iter().all(|s| s.config["cleanup.policy"] == "delete"));
        assert_eq!(
            specs[2].config["retention.ms"],
            (3 * DAY.as_millis()).to_string()
        );
    }
}
