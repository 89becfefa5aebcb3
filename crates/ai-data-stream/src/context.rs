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

/// The last broker-connection error librdkafka reported.
#[derive(Debug, Clone)]
pub(crate) struct ClientIssue {
    pub(crate) code: RDKafkaErrorCode,
    pub(crate) reason: String,
}

/// Shared record of the client's last connection-level error.
#[derive(Debug, Clone, Default)]
pub(crate) struct IssueLog(Arc<Mutex<Option<ClientIssue>>>);

impl IssueLog {
    fn record(&self, code: RDKafkaErrorCode, reason: &str) {
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
                });
            }
        }
    }

    /// The last recorded issue.
    pub(crate) fn last(&self) -> Option<ClientIssue> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    /// Explain a failed or timed-out request by the last connection issue:
    /// an authentication failure becomes [`ErrorKind::Auth`], an unreachable
    /// broker [`ErrorKind::Connect`]; otherwise `err` is returned unchanged.
    pub(crate) fn explain(&self, err: Error) -> Error {
        let Some(issue) = self.last() else {
            return err;
        };
        let (kind, what) = match issue.code {
            RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed => {
                (ErrorKind::Auth, "authentication failed")
            }
            RDKafkaErrorCode::SSL => (ErrorKind::Auth, "TLS handshake failed"),
            RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::Resolve => (ErrorKind::Connect, "brokers unreachable"),
            _ => return err,
        };
        if err.kind() == kind {
            return err;
        }
        let explained = Error::new(kind, format!("{what}: {}", issue.reason))
            .with_store(Store::Kafka)
            .with_operation(err.operation().unwrap_or("request").to_owned());
        let explained = match err.target() {
            Some(target) => explained.with_target(target.to_owned()),
            None => explained,
        };
        let explained = if kind == ErrorKind::Auth {
            explained.permanent()
        } else {
            explained
        };
        explained.with_source(err)
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

pub(crate) fn record_error(issues: &IssueLog, error: &KafkaError, reason: &str) {
    if let Some(code) = crate::error::code_of(error) {
        issues.record(code, reason);
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
        log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        record_error(&self.issues, &error, reason);
    }
}
