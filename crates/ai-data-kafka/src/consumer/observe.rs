//! The consumer's metrics: counted per record through handles registered
//! once per run (not one store operation per record, which would be too
//! hot), and the `consumer.commit` operation.

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, Store};
use futures::FutureExt;
use metrics::{Counter, Histogram};
use rdkafka::error::KafkaResult;

use crate::error::from_kafka;

/// Counter of records a consumer finished, labelled `topic`, `group` and
/// `result`: `handled` (the handler succeeded), `dead_lettered` (the handler
/// failed for good and the record went to the dead-letter topic), `poison`
/// (undecodable, sent to the dead-letter topic at once), and `retried` (one
/// per record per handler retry, on top of the record's final result).
pub const CONSUMER_RECORDS_TOTAL: &str = "ai_data_consumer_records_total";

/// Histogram of handler call latency in seconds (each attempt; a batch
/// handler's call once per batch), labelled `topic` and `group`.
pub const CONSUMER_HANDLER_SECONDS: &str = "ai_data_consumer_handler_seconds";

/// The metric handles of one consumer run.
#[derive(Debug)]
pub(crate) struct RunMetrics {
    pub(crate) handled: Counter,
    pub(crate) retried: Counter,
    pub(crate) dead_lettered: Counter,
    pub(crate) poison: Counter,
    pub(crate) handler_seconds: Histogram,
}

impl RunMetrics {
    /// Register the run's metrics with the installed recorder (no-ops
    /// without one).
    pub(crate) fn new(topic: &str, group: &str) -> Self {
        let records = |result: &'static str| {
            metrics::counter!(
                CONSUMER_RECORDS_TOTAL,
                "topic" => topic.to_owned(),
                "group" => group.to_owned(),
                "result" => result,
            )
        };
        RunMetrics {
            handled: records("handled"),
            retried: records("retried"),
            dead_lettered: records("dead_lettered"),
            poison: records("poison"),
            handler_seconds: metrics::histogram!(
                CONSUMER_HANDLER_SECONDS,
                "topic" => topic.to_owned(),
                "group" => group.to_owned(),
            ),
        }
    }
}

/// One `consumer.commit` operation around a commit call. librdkafka's
/// commit returns without awaiting anything (an asynchronous commit only
/// issues the request; its outcome arrives in the commit callback), so the
/// operation completes on its first poll and this works in the rebalance
/// callback too.
pub(crate) fn observe_commit(topic: &str, commit: impl FnOnce() -> KafkaResult<()>) -> Result<()> {
    Operation::new(Store::Kafka, "consumer.commit")
        .target(topic)
        .run(async { commit().map_err(|e| from_kafka(e, "commit").with_target(topic.to_owned())) })
        .now_or_never()
        .unwrap_or_else(|| {
            Err(
                Error::new(ErrorKind::Backend, "the commit did not complete at once")
                    .with_store(Store::Kafka)
                    .with_operation("commit"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_one_operation_with_its_outcome() {
        let ok = observe_commit("t", || Ok(()));
        assert!(ok.is_ok());
        let err = observe_commit("t", || {
            Err(rdkafka::error::KafkaError::ConsumerCommit(
                rdkafka::types::RDKafkaErrorCode::RebalanceInProgress,
            ))
        })
        .expect_err("failed commit");
        assert_eq!(err.operation(), Some("commit"));
        assert_eq!(err.target(), Some("t"));
    }
}
