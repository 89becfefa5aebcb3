//! `system_logs`: structured service logs, shipped in batches and read
//! back by level, service and time with keyset pagination.

mod query;
mod repo;

use ai_data_mongo::bson::{oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use ai_data_core::ErrorKind;
use ai_data_mongo::is_duplicate_code;

use crate::LogLevel;

pub use query::{LogCursor, LogPage, LogQuery, SortOrder};
pub use repo::SystemLogRepo;

/// Largest page [`SystemLogRepo::query`] returns.
pub const MAX_PAGE_SIZE: u32 = 10_000;
/// Documents sent per `insert` command by [`SystemLogRepo::insert_many`] (default).
pub const DEFAULT_BATCH_SIZE: usize = 1_000;

/// One `system_logs` document (the seed's shape: `timestamp`, `level`,
/// `service`, `message`, `details`).
///
/// [`SystemLog::new`] assigns the `_id` on the client, so shipping the same
/// entries again after an unclear failure cannot duplicate them (the
/// repeats are reported as duplicate-key failures).
///
/// ```
/// use ai_data_mongo::bson::doc;
/// use ai_data_platform::{mongo::SystemLog, LogLevel};
///
/// let log = SystemLog::new(LogLevel::Info, "user_service", "User login successful")
///     .with_details(doc! { "user_id": "user123", "ip": "192.168.1.100" });
/// assert!(log.id.is_some());
/// assert_eq!(log.details.get_str("user_id").unwrap(), "user123");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SystemLog {
    /// Document id (also the pagination tie-breaker).
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ObjectId>,
    /// When the event happened (millisecond precision).
    pub timestamp: DateTime,
    /// Severity.
    pub level: LogLevel,
    /// Emitting service, e.g. `user_service`.
    pub service: String,
    /// Human-readable message.
    pub message: String,
    /// Structured context. Field names, at any depth, must not be empty,
    /// start with `$` or contain `.` or NUL (see [`validate_field_names`](ai_data_mongo::validate_field_names));
    /// values are stored as they are.
    #[serde(default, skip_serializing_if = "Document::is_empty")]
    pub details: Document,
    /// Trace id for correlating entries across services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl SystemLog {
    /// An entry stamped now, with a fresh id.
    pub fn new(level: LogLevel, service: impl Into<String>, message: impl Into<String>) -> Self {
        SystemLog {
            id: Some(ObjectId::new()),
            timestamp: DateTime::now(),
            level,
            service: service.into(),
            message: message.into(),
            details: Document::new(),
            trace_id: None,
        }
    }

    /// Set the structured context (its field names are checked when the
    /// entry is inserted: see [`SystemLog::details`]).
    #[must_use]
    pub fn with_details(mut self, details: Document) -> Self {
        self.details = details;
        self
    }

    /// Set the time.
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: DateTime) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Set the trace id.
    #[must_use]
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }
}

/// One document [`SystemLogRepo::insert_many`] could not insert.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InsertFailure {
    /// Position in the input slice.
    pub index: usize,
    /// The document's id.
    pub id: ObjectId,
    /// What kind of failure ([`ErrorKind::Conflict`] for a duplicate id).
    pub kind: ErrorKind,
    /// The server's error code.
    pub code: i32,
    /// The server's message.
    pub message: String,
}

impl InsertFailure {
    /// The document was there already (duplicate key).
    pub fn is_duplicate(&self) -> bool {
        is_duplicate_code(self.code)
    }
}

/// Outcome of [`SystemLogRepo::insert_many`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InsertManyReport {
    /// Ids of the inserted documents, in input order.
    pub inserted_ids: Vec<ObjectId>,
    /// Documents the server refused, in input order; the others were inserted.
    pub failures: Vec<InsertFailure>,
}

impl InsertManyReport {
    /// Number of inserted documents.
    pub fn inserted(&self) -> usize {
        self.inserted_ids.len()
    }
}

/// Entries per service and level, from [`SystemLogRepo::count_by_level`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LevelCount {
    /// Service.
    pub service: String,
    /// Level (`WARN` and `WARNING` counted together).
    pub level: LogLevel,
    /// Number of entries.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_python_names_and_keep_unknown_ones() {
        assert_eq!(LogLevel::parse("WARNING"), LogLevel::Warn);
        assert_eq!(LogLevel::parse("critical"), LogLevel::Fatal);
        assert_eq!(
            LogLevel::parse("NOTICE"),
            LogLevel::Other("NOTICE".to_owned())
        );
        assert_eq!(LogLevel::Warn.stored_names(), ["WARN", "WARNING"]);
    }
}
