//! rdkafka errors as [`ai_data_core::Error`]: a kind, a retryable/permanent
//! status, the operation and topic, and the driver error as `source()`.

use ai_data_core::{Error, ErrorKind, Store};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode as Code;

/// The kind of an rdkafka error code, and whether Kafka calls it retriable.
pub(crate) fn classify(code: Code) -> (ErrorKind, bool) {
    use Code::*;
    let kind = match code {
        Authentication
        | SaslAuthenticationFailed
        | UnsupportedSASLMechanism
        | IllegalSASLState
        | TopicAuthorizationFailed
        | GroupAuthorizationFailed
        | ClusterAuthorizationFailed
        | TransactionalIdAuthorizationFailed
        | SSL => ErrorKind::Auth,
        MessageTimedOut | OperationTimedOut | RequestTimedOut | TimedOutQueue => ErrorKind::Timeout,
        BrokerTransportFailure
        | AllBrokersDown
        | Resolve
        | NetworkException
        | BrokerNotAvailable
        | LeaderNotAvailable
        | NotLeaderForPartition
        | ReplicaNotAvailable
        | CoordinatorNotAvailable
        | CoordinatorLoadInProgress
        | NotCoordinator
        | NotEnoughReplicas
        | NotEnoughReplicasAfterAppend
        | WaitingForCoordinator
        | DestroyBroker
        | BrokerDestroy => ErrorKind::Connect,
        TopicAlreadyExists | Conflict | DuplicateResource => ErrorKind::Conflict,
        UnknownTopicOrPartition
        | UnknownTopic
        | UnknownPartition
        | UnknownGroup
        | GroupIdNotFound
        | ResourceNotFound
        | UnknownTopicId => ErrorKind::NotFound,
        InvalidArgument
        | InvalidConfig
        | InvalidPartitions
        | InvalidReplicationFactor
        | InvalidTopic
        | InvalidMessage
        | InvalidMessageSize
        | MessageSizeTooLarge
        | MessageBatchTooLarge
        | InvalidRequest
        | InvalidRecord
        | PolicyViolation
        | InvalidGroupId
        | InvalidSessionTimeout
        | InvalidRequiredAcks
        | KeySerialization
        | ValueSerialization => ErrorKind::InvalidInput,
        UnsupportedFeature
        | UnsupportedVersion
        | NotImplemented
        | UnsupportedForMessageFormat
        | UnsupportedCompressionType
        | SecurityDisabled
        | TopicDeletionDisabled => ErrorKind::Unsupported,
        _ => ErrorKind::Backend,
    };
    // Kafka's own RetriableException family, plus librdkafka's transient
    // local conditions.
    let retriable = kind.is_retryable_by_default()
        || matches!(
            code,
            UnknownTopicOrPartition
                | KafkaStorageError
                | RebalanceInProgress
                | QueueFull
                | ThrottlingQuotaExceeded
                | FencedLeaderEpoch
                | UnknownLeaderEpoch
                | OffsetNotAvailable
                | PreferredLeaderNotAvailable
                | Retry
        );
    (kind, retriable)
}

/// The rdkafka error code inside `err`, admin errors included.
pub(crate) fn code_of(err: &KafkaError) -> Option<Code> {
    match err {
        KafkaError::AdminOp(code) => Some(*code),
        other => other.rdkafka_error_code(),
    }
}

/// Convert an rdkafka error, keeping it as `source()`.
///
/// Configuration errors name the property but never its value (it may be
/// the SASL password), and do not keep the driver error, whose text has it.
pub(crate) fn from_kafka(err: KafkaError, operation: &'static str) -> Error {
    let error = match &err {
        KafkaError::ClientConfig(_, description, key, _value) => {
            let shown = if crate::config::is_sensitive_property(key) {
                "(value hidden)".to_owned()
            } else {
                description.clone()
            };
            return Error::config(format!("librdkafka rejected property `{key}`: {shown}"))
                .with_store(Store::Kafka)
                .with_operation(operation);
        }
        KafkaError::ClientCreation(message) => {
            Error::config(format!("cannot create the Kafka client: {message}"))
        }
        KafkaError::Canceled => {
            Error::new(ErrorKind::Connect, "the Kafka client was shut down").permanent()
        }
        other => match code_of(other) {
            Some(code) => {
                let (kind, retriable) = classify(code);
                let error = Error::new(kind, format!("{code:?}: {code}"));
                if retriable {
                    error.temporary()
                } else {
                    error.permanent()
                }
            }
            None => Error::new(ErrorKind::Backend, other.to_string()),
        },
    };
    error
        .with_store(Store::Kafka)
        .with_operation(operation)
        .with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds_and_retryability() {
        let cases = [
            (Code::Authentication, ErrorKind::Auth, false),
            (Code::SaslAuthenticationFailed, ErrorKind::Auth, false),
            (Code::MessageTimedOut, ErrorKind::Timeout, true),
            (Code::AllBrokersDown, ErrorKind::Connect, true),
            (Code::NotLeaderForPartition, ErrorKind::Connect, true),
            (Code::TopicAlreadyExists, ErrorKind::Conflict, false),
            (Code::UnknownTopicOrPartition, ErrorKind::NotFound, true),
            (Code::MessageSizeTooLarge, ErrorKind::InvalidInput, false),
            (Code::UnsupportedFeature, ErrorKind::Unsupported, false),
            (Code::OutOfOrderSequenceNumber, ErrorKind::Backend, false),
        ];
        for (code, kind, retryable) in cases {
            let err = from_kafka(KafkaError::MessageProduction(code), "send");
            assert_eq!(err.kind(), kind, "{code:?}");
            assert_eq!(err.is_retryable(), retryable, "{code:?}");
            assert_eq!(err.store(), Some(Store::Kafka));
            assert!(std::error::Error::source(&err).is_some());
        }
        let admin = from_kafka(
            KafkaError::AdminOp(Code::TopicAlreadyExists),
            "create topics",
        );
        assert_eq!(admin.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn config_errors_never_echo_the_value() {
        let err = from_kafka(
            KafkaError::ClientConfig(
                rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
                "Invalid value hunter2-secret".into(),
                "sasl.password".into(),
                "hunter2-secret".into(),
            ),
            "create producer",
        );
        assert_eq!(err.kind(), ErrorKind::Config);
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("sasl.password"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
