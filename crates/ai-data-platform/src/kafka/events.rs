//! The event types of the seed's three topics (deployment notes, section
//! 6.3): `data-ingestion`, `model-events`, `system-logs`.
//!
//! Every event carries a `schema_version`; this crate writes
//! [`SCHEMA_VERSION`]. Unknown fields are ignored when decoding, so a
//! version that only adds fields stays readable by older consumers; a
//! consumer that needs a newer version can check the field and refuse.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LogLevel;

/// The schema version this crate writes for every built-in event.
pub const SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// A document to ingest: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocumentRef {
    /// The document's id within the dataset.
    pub document_id: String,
    /// Where to fetch it (`s3://...`, `https://...`, a path).
    pub uri: String,
    /// Its media type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Free-form attributes carried to the vector store's payload.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

impl DocumentRef {
    /// A document at `uri`.
    pub fn new(document_id: impl Into<String>, uri: impl Into<String>) -> Self {
        DocumentRef {
            document_id: document_id.into(),
            uri: uri.into(),
            content_type: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Set the media type.
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Add one metadata attribute.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }
}

/// `data-ingestion`: a request to ingest documents into a dataset. Keyed
/// by dataset, so one dataset's requests are handled in order.
///
/// ```
/// use ai_data_platform::kafka::{topics, DocumentRef, IngestionRequest};
/// let request = IngestionRequest::new("ds-42", vec![DocumentRef::new("d1", "s3://bucket/d1.pdf")]);
/// let topic = topics::data_ingestion();
/// assert_eq!(topic.name(), "data-ingestion");
/// assert_eq!(topic.key_of(&request).as_deref(), Some("ds-42"));
/// let json: serde_json::Value = serde_json::from_slice(&topic.encode(&request).unwrap()).unwrap();
/// assert_eq!(json["schema_version"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IngestionRequest {
    /// Schema version of this record.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// Unique id of the request (idempotency key for consumers).
    pub request_id: Uuid,
    /// The dataset the documents belong to.
    pub dataset_id: String,
    /// The documents.
    pub documents: Vec<DocumentRef>,
    /// Who asked, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// When it was asked.
    pub requested_at: DateTime<Utc>,
}

impl IngestionRequest {
    /// A request with a fresh id, stamped now.
    pub fn new(dataset_id: impl Into<String>, documents: Vec<DocumentRef>) -> Self {
        IngestionRequest {
            schema_version: SCHEMA_VERSION,
            request_id: Uuid::new_v4(),
            dataset_id: dataset_id.into(),
            documents,
            requested_by: None,
            requested_at: Utc::now(),
        }
    }

    /// Set who asked.
    #[must_use]
    pub fn with_requested_by(mut self, who: impl Into<String>) -> Self {
        self.requested_by = Some(who.into());
        self
    }
}

/// What happened to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelEventKind {
    /// A model (version) was registered.
    Registered,
    /// Training started.
    TrainingStarted,
    /// Training finished successfully.
    TrainingCompleted,
    /// Training failed.
    TrainingFailed,
    /// The model was evaluated.
    Evaluated,
    /// The model was deployed to serving.
    Deployed,
    /// The model was taken out of serving.
    Undeployed,
    /// The model was retired.
    Retired,
}

/// `model-events`: a model lifecycle event. Keyed by model, so one model's
/// events stay in order.
///
/// ```
/// use ai_data_platform::kafka::{topics, ModelEvent, ModelEventKind};
/// let event = ModelEvent::new("m-7", "1.2.0", ModelEventKind::Deployed)
///     .with_detail("endpoint", serde_json::json!("https://serve/m-7"));
/// assert_eq!(topics::model_events().key_of(&event).as_deref(), Some("m-7"));
/// let json = serde_json::to_value(&event).unwrap();
/// assert_eq!(json["kind"], "deployed");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelEvent {
    /// Schema version of this record.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// Unique id of the event.
    pub event_id: Uuid,
    /// The model.
    pub model_id: String,
    /// The model version.
    pub model_version: String,
    /// What happened.
    pub kind: ModelEventKind,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Event-specific facts (metrics, endpoint, error).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl ModelEvent {
    /// An event with a fresh id, stamped now.
    pub fn new(
        model_id: impl Into<String>,
        model_version: impl Into<String>,
        kind: ModelEventKind,
    ) -> Self {
        ModelEvent {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::new_v4(),
            model_id: model_id.into(),
            model_version: model_version.into(),
            kind,
            occurred_at: Utc::now(),
            details: BTreeMap::new(),
        }
    }

    /// Add one detail.
    #[must_use]
    pub fn with_detail(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.details.insert(key.into(), value);
        self
    }
}

/// `system-logs`: a structured log record. Keyed by service, so one
/// service's lines stay in order.
///
/// ```
/// use ai_data_platform::kafka::{topics, LogRecord};
/// use ai_data_platform::LogLevel;
/// let record = LogRecord::new("embedder", LogLevel::Warn, "slow batch")
///     .with_field("batch_ms", serde_json::json!(1830));
/// assert_eq!(topics::system_logs().key_of(&record).as_deref(), Some("embedder"));
/// assert_eq!(serde_json::to_value(&record).unwrap()["level"], "warn");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogRecord {
    /// Schema version of this record.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// When it was logged.
    pub timestamp: DateTime<Utc>,
    /// Severity, by its lower-case name (`info`, `warn`).
    #[serde(with = "crate::log_level::lowercase")]
    pub level: LogLevel,
    /// The emitting service.
    pub service: String,
    /// The message.
    pub message: String,
    /// Trace id, for correlation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Structured fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, serde_json::Value>,
}

impl LogRecord {
    /// A record stamped now.
    pub fn new(service: impl Into<String>, level: LogLevel, message: impl Into<String>) -> Self {
        LogRecord {
            schema_version: SCHEMA_VERSION,
            timestamp: Utc::now(),
            level,
            service: service.into(),
            message: message.into(),
            trace_id: None,
            fields: BTreeMap::new(),
        }
    }

    /// Set the trace id.
    #[must_use]
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// Add one structured field.
    #[must_use]
    pub fn with_field(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.fields.insert(key.into(), value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_default_the_schema_version() {
        let request = IngestionRequest::new(
            "ds",
            vec![DocumentRef::new("d", "s3://b/d").with_content_type("text/plain")],
        )
        .with_requested_by("alice");
        let topic = crate::kafka::topics::data_ingestion();
        let back = topic
            .decode(&topic.encode(&request).expect("encodes"))
            .expect("decodes");
        assert_eq!(back, request);

        // A record written without the version field (or by an older
        // writer) reads as the current version; unknown fields are ignored.
        let old = serde_json::json!({
            "event_id": Uuid::nil(), "model_id": "m", "model_version": "1",
            "kind": "retired", "occurred_at": "2024-01-01T00:00:00Z", "added_later": true
        });
        let event: ModelEvent = serde_json::from_value(old).expect("decodes");
        assert_eq!(event.schema_version, SCHEMA_VERSION);
        assert_eq!(event.kind, ModelEventKind::Retired);

        let log = LogRecord::new("svc", LogLevel::Error, "boom").with_trace_id("t-1");
        let topic = crate::kafka::topics::system_logs();
        assert_eq!(
            topic
                .decode(&topic.encode(&log).expect("encodes"))
                .expect("decodes"),
            log
        );
        assert!(LogLevel::Error > LogLevel::Info);
    }
}
