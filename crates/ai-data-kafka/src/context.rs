//! The rdkafka client context shared by every client of this crate: it
//! forwards librdkafka's log to `tracing` and remembers the last
//! connection-level error, so that a request that merely timed out can be
//! reported as what it really was (wrong password, broker unreachable).

use std::sync::{Arc, Mutex};

use ai_data_core::{Error, ErrorKind, Store};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// The last broker-connection error librdkafka reported: its code, its
/// reason (which broker, what happened: "Connection refused", "timed out
/// in state CONNECT"), and the driver error. As an error, it is the cause
/// (`source()`) of the errors it explains.
#[derive(Debug, Clone)]
pub(crate) struct ClientIssue {
    pub(crate) code: RDKafkaErrorCode,
    pub(crate) reason: String,
    error: KafkaError,
}

impl std::fmt::Display for ClientIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ClientIssue {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Shared record of the client's last connection-level error.
#[derive(Debug, Clone, Default)]
pub(crate) struct IssueLog(Arc<Mutex<Option<ClientIssue>>>);

impl IssueLog {
    fn record(&self, code: RDKafkaErrorCode, error: &KafkaError, reason: &str) {
        // "1/1 brokers are down" explains nothing: it follows the broker
        // failure that does ("Connect to ... failed: Connection refused"),
        // or a connect step that is still waiting.
        if code == RDKafkaErrorCode::AllBrokersDown {
            return;
        }
        if let Ok(mut slot) = self.0.lock() {
            // An authentication failure explains later transport errors
            // (the broker closes the connection): keep it.
            let keep_auth = slot
                .as_ref()
                .is_some_and(|i| i.code == RDKafkaErrorCode::Authentication)
                && code != RDKafkaErrorCode::Authentication;
            if !keep_auth {
                *slot = Some(ClientIssue {
                    code,
                    reason: reason.to_owned(),
                    error: error.clone(),
                });
            }
        }
    }

    /// The last recorded issue.
    pub(crate) fn last(&self) -> Option<ClientIssue> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    /// Explain a request that failed to reach the brokers or timed out by
    /// the last connection issue: an authentication failure makes it
    /// [`ErrorKind::Auth`], an unreachable broker [`ErrorKind::Connect`],
    /// and the issue (what librdkafka said about which broker) becomes its
    /// `source()`, the request's own error staying in the message. Errors
    /// of other kinds (a refused request, a missing topic), and all errors
    /// when nothing was recorded, are returned unchanged.
    pub(crate) fn explain(&self, err: Error) -> Error {
        match self.explanation(&err) {
            Some(explained) => explained,
            None => err,
        }
    }

    /// [`IssueLog::explain`], `None` where it would return `err` unchanged.
    pub(crate) fn explanation(&self, err: &Error) -> Option<Error> {
        if !matches!(
            err.kind(),
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Auth
        ) {
            return None;
        }
        let issue = self.last()?;
        let (kind, what) = match issue.code {
            RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed => {
                (ErrorKind::Auth, "authentication failed")
            }
            RDKafkaErrorCode::SSL => (ErrorKind::Auth, "TLS handshake failed"),
            RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::Resolve => {
                (ErrorKind::Connect, "brokers unreachable")
            }
            _ => return None,
        };
        if err.kind() == ErrorKind::Auth && kind != ErrorKind::Auth {
            // A refused login stays one, whatever the connections did.
            return None;
        }
        let explained = Error::new(
            kind,
            format!("{what}: {} ({})", issue.reason, err.message()),
        )
        .with_store(Store::Kafka)
        .with_operation(err.operation().unwrap_or("request").to_owned());
        let explained = match err.target() {
            Some(target) => explained.with_target(target.to_owned()),
            None => explained,
        };
        let explained = if kind == ErrorKind::Auth {
            explained.permanent()
        } else {
            explained.temporary()
        };
        Some(explained.with_source(issue))
    }
}

/// The context of every producer and admin client made here.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamContext {
    pub(crate) issues: IssueLog,
}

impl StreamContext {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

pub(crate) fn log_to_tracing(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

/// Record a broker failure that librdkafka logs (facility `FAIL`, e.g.
/// "Connect to ipv4#127.0.0.1:9092 failed: Connection refused"). The log
/// callback runs on the broker thread at once, while the matching error
/// event waits for the next poll, which may come after the request it
/// explains has failed.
pub(crate) fn record_log(issues: &IssueLog, level: RDKafkaLogLevel, facility: &str, message: &str) {
    if facility == "FAIL" && (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
        // librdkafka prefixes its thread name: "[thrd:...]: "; keep the rest.
        let reason = match message.split_once("]: ") {
            Some((thread, rest)) if thread.starts_with("[thrd:") => rest,
            _ => message,
        };
        // "<broker>: <what happened>"; the broker's name has the protocol
        // (`sasl_ssl://...`), so only what happened tells the kind.
        let what = reason
            .split_once(": ")
            .map_or(reason, |(_, what)| what)
            .to_ascii_lowercase();
        let code = if what.contains("ssl handshake") {
            RDKafkaErrorCode::SSL
        } else if what.starts_with("sasl") || what.contains("authentication") {
            RDKafkaErrorCode::Authentication
        } else {
            RDKafkaErrorCode::BrokerTransportFailure
        };
        issues.record(code, &KafkaError::Global(code), reason);
    }
}

pub(crate) fn record_error(issues: &IssueLog, error: &KafkaError, reason: &str) {
    if let Some(code) = crate::error::code_of(error) {
        issues.record(code, error, reason);
    }
    tracing::warn!(target: "librdkafka", error = %error, "{reason}");
}

impl rdkafka::producer::ProducerContext for StreamContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _report: &rdkafka::message::DeliveryResult<'_>, _opaque: ()) {}
}

/// For short-lived consumers that only read offsets (consumer lag).
impl rdkafka::consumer::ConsumerContext for StreamContext {}

impl ClientContext for StreamContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        record_log(&self.issues, level, facility, message);
        log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        record_error(&self.issues, &error, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed_out() -> Error {
        Error::new(ErrorKind::Timeout, "OperationTimedOut")
            .with_store(Store::Kafka)
            .with_operation("metadata")
    }

    #[test]
    fn a_logged_broker_failure_explains_a_timeout_and_is_its_source() {
        let issues = IssueLog::default();
        assert!(
            issues.explanation(&timed_out()).is_none(),
            "nothing recorded"
        );
        record_log(
            &issues,
            RDKafkaLogLevel::Error,
            "FAIL",
            "[thrd:sasl_plaintext://127.0.0.1:9/bootstrap]: sasl_plaintext://127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed: Connection refused",
        );
        // Says less than the failure before it: not kept.
        let all_down = RDKafkaErrorCode::AllBrokersDown;
        record_error(
            &issues,
            &KafkaError::Global(all_down),
            "1/1 brokers are down",
        );
        let err = issues.explain(timed_out());
        assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
        assert!(err.is_retryable());
        let cause = std::error::Error::source(&err).expect("source").to_string();
        assert!(
            cause.starts_with("sasl_plaintext://127.0.0.1:9/bootstrap: Connect to"),
            "{cause}"
        );
        assert!(cause.contains("Connection refused"), "{cause}");
        assert!(err.message().contains("OperationTimedOut"), "{err}");

        // Other kinds are not explained by connections.
        let missing = Error::new(ErrorKind::NotFound, "UnknownTopic");
        assert!(issues.explanation(&missing).is_none());
        // Debug-level and other facilities are not failures.
        let quiet = IssueLog::default();
        record_log(&quiet, RDKafkaLogLevel::Debug, "FAIL", "closing");
        record_log(
            &quiet,
            RDKafkaLogLevel::Error,
            "CONFWARN",
            "unknown property",
        );
        assert!(quiet.last().is_none());
    }

    #[test]
    fn an_authentication_failure_is_kept_and_never_turned_into_a_connect_error() {
        let issues = IssueLog::default();
        record_log(
            &issues,
            RDKafkaLogLevel::Error,
            "FAIL",
            "[thrd:sasl_plaintext://k:9092/bootstrap]: sasl_plaintext://k:9092/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
        );
        let transport = RDKafkaErrorCode::BrokerTransportFailure;
        record_error(&issues, &KafkaError::Global(transport), "Disconnected");
        let err = issues.explain(timed_out());
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
        assert!(!err.is_retryable());

        let only_transport = IssueLog::default();
        record_error(
            &only_transport,
            &KafkaError::Global(transport),
            "Disconnected",
        );
        let refused = Error::new(ErrorKind::Auth, "SaslAuthenticationFailed");
        assert!(only_transport.explanation(&refused).is_none());
    }
}
