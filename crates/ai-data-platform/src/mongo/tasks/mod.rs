//! `task_status_cache`: the latest state of each task, keyed by `task_id`,
//! stamped by the server and expired by the TTL index on `last_updated`.

mod repo;

use std::fmt;

use ai_data_mongo::bson::{DateTime, Document};
use ai_data_mongo::validate_field_names;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use ai_data_core::{Error, Result, Store};

pub use repo::TaskStatusRepo;

/// State of a task, stored lower-case (`"running"`); unknown states read
/// from other writers are kept as [`TaskState::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// `pending`: accepted, not started.
    Pending,
    /// `running`
    Running,
    /// `completed`
    Completed,
    /// `failed`
    Failed,
    /// `cancelled`
    Cancelled,
    /// Any other state, as stored.
    Other(String),
}

impl TaskState {
    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Completed => "completed",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
            TaskState::Other(s) => s,
        }
    }

    /// Parse a stored name.
    pub fn parse(name: &str) -> TaskState {
        match name {
            "pending" => TaskState::Pending,
            "running" => TaskState::Running,
            "completed" => TaskState::Completed,
            "failed" => TaskState::Failed,
            "cancelled" => TaskState::Cancelled,
            other => TaskState::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TaskState {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(TaskState::parse(&String::deserialize(d)?))
    }
}

/// One `task_status_cache` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskStatus {
    /// The task's id (unique; also the `_id` of documents this crate creates).
    pub task_id: String,
    /// Kind of task, e.g. `embedding_job`.
    pub task_type: String,
    /// Current state.
    pub status: TaskState,
    /// Progress, 0.0 to 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// Latest message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Result or error details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Document>,
    /// When the entry was created (client time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime>,
    /// When the entry was last written (server time, `$currentDate`); the
    /// TTL index removes the entry this long after it.
    pub last_updated: DateTime,
}

/// A state change to record with [`TaskStatusRepo::upsert`].
///
/// Fields left `None` keep their stored value; `task_type` is only written
/// when the entry is created.
///
/// ```
/// use ai_data_platform::mongo::{TaskState, TaskUpdate};
/// let update = TaskUpdate::new("job-42", "embedding_job", TaskState::Running)
///     .progress(0.25)
///     .message("embedding 250/1000");
/// assert_eq!(update.progress, Some(0.25));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskUpdate {
    /// Task id.
    pub task_id: String,
    /// Task type (set on creation only).
    pub task_type: String,
    /// New state.
    pub status: TaskState,
    /// New progress.
    pub progress: Option<f64>,
    /// New message.
    pub message: Option<String>,
    /// New result. Field names, at any depth, must not be empty, start
    /// with `$` or contain `.` or NUL (see [`validate_field_names`](ai_data_mongo::validate_field_names)); it is
    /// stored as the value of the `result` field, never spread into the
    /// update.
    pub result: Option<Document>,
}

impl TaskUpdate {
    /// A state change without progress, message or result.
    pub fn new(
        task_id: impl Into<String>,
        task_type: impl Into<String>,
        status: TaskState,
    ) -> Self {
        TaskUpdate {
            task_id: task_id.into(),
            task_type: task_type.into(),
            status,
            progress: None,
            message: None,
            result: None,
        }
    }

    /// Set the progress (0.0 to 1.0).
    #[must_use]
    pub fn progress(mut self, progress: f64) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Set the message.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Set the result.
    #[must_use]
    pub fn result(mut self, result: Document) -> Self {
        self.result = Some(result);
        self
    }

    pub(super) fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::invalid_input(m.to_owned()).with_store(Store::Mongo));
        if self.task_id.is_empty() {
            return bad("task_id must not be empty");
        }
        if self.task_type.is_empty() {
            return bad("task_type must not be empty");
        }
        if let Some(p) = self.progress {
            if !(0.0..=1.0).contains(&p) {
                return bad("progress must be between 0.0 and 1.0");
            }
        }
        if let Some(result) = &self.result {
            validate_field_names("result", result)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_core::ErrorKind;
    use ai_data_mongo::bson::doc;

    #[test]
    fn states_round_trip_and_keep_unknown_ones() {
        for s in [
            "pending",
            "running",
            "completed",
            "failed",
            "cancelled",
            "paused",
        ] {
            assert_eq!(TaskState::parse(s).as_str(), s);
        }
        assert_eq!(
            TaskState::parse("paused"),
            TaskState::Other("paused".into())
        );
    }

    #[test]
    fn invalid_updates_are_refused() {
        let ok = TaskUpdate::new("t", "ty", TaskState::Running);
        assert!(ok.validate().is_ok());
        for bad in [
            TaskUpdate::new("", "ty", TaskState::Running),
            TaskUpdate::new("t", "", TaskState::Running),
            ok.clone().progress(1.5),
            ok.clone().progress(f64::NAN),
            ok.clone()
                .result(doc! { "$set": { "status": "completed" } }),
            ok.clone().result(doc! { "a": { "b": [{ "c.d": 1 }] } }),
        ] {
            let err = bad.validate().expect_err("invalid");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
        }
    }
}
