//! `task_status_cache`: the latest state of each task, keyed by `task_id`,
//! stamped by the server and expired by the TTL index on `last_updated`.

use std::fmt;

use futures::TryStreamExt;
use mongodb::bson::{doc, DateTime, Document};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, Store};

use crate::bootstrap::TASK_STATUS_CACHE;
use crate::error::{is_duplicate_key, map_err};
use crate::keys::validate_field_names;
use crate::logs::MAX_PAGE_SIZE;

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
/// use ai_data_mongo::{TaskState, TaskUpdate};
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
    /// with `$` or contain `.` or NUL (see [`validate_field_names`]); it is
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

    fn validate(&self) -> Result<()> {
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

/// Typed access to `task_status_cache`.
///
/// Each method is one observed operation `tasks.<method>` on target
/// `task_status_cache` (see [`ai_data_core::observe`]), counting the
/// entries written, found, listed or removed.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use ai_data_mongo::{TaskState, TaskUpdate};
///
/// let tasks = store.tasks();
/// tasks.upsert(&TaskUpdate::new("job-42", "embedding_job", TaskState::Pending)).await?;
/// let done = tasks
///     .upsert(&TaskUpdate::new("job-42", "embedding_job", TaskState::Completed).progress(1.0))
///     .await?;
/// assert_eq!(done.status, TaskState::Completed);
/// let running = tasks.list_by_status(&TaskState::Running, 100).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TaskStatusRepo {
    coll: Collection<TaskStatus>,
    ns: String,
}

impl TaskStatusRepo {
    /// The repository over `db.task_status_cache`.
    pub fn new(db: &Database) -> Self {
        TaskStatusRepo {
            coll: db.collection(TASK_STATUS_CACHE),
            ns: format!("{}.{TASK_STATUS_CACHE}", db.name()),
        }
    }

    /// Record a state change, creating the entry when it is new
    /// (`$set` + `$setOnInsert`, `last_updated` by `$currentDate`); the
    /// entry as stored afterwards.
    ///
    /// A new entry's `_id` is its `task_id`, so two concurrent first
    /// upserts cannot create two entries (the seed's `task_id` index is
    /// not unique): the loser's duplicate-key error is retried as an update.
    ///
    /// [`ErrorKind::InvalidInput`], before any I/O, for an empty id or
    /// type, a progress outside 0.0 to 1.0, or a refused field name in the
    /// result (see [`validate_field_names`]). `$set` names its fields
    /// itself; the result is the value of `result`, so its content can never
    /// act as an operator or a path.
    pub async fn upsert(&self, update: &TaskUpdate) -> Result<TaskStatus> {
        self.observe("tasks.upsert")
            .run_counted(self.upsert_unobserved(update), |_| 1_u64)
            .await
    }

    async fn upsert_unobserved(&self, update: &TaskUpdate) -> Result<TaskStatus> {
        update
            .validate()
            .map_err(|e| e.with_operation("upsert").with_target(self.ns.clone()))?;
        let mut set = doc! { "status": update.status.as_str() };
        if let Some(p) = update.progress {
            set.insert("progress", p);
        }
        if let Some(m) = &update.message {
            set.insert("message", m.as_str());
        }
        if let Some(r) = &update.result {
            set.insert("result", r.clone());
        }
        let change = doc! {
            "$set": set,
            "$setOnInsert": {
                "_id": &update.task_id,
                "task_type": &update.task_type,
                "created_at": DateTime::now(),
            },
            "$currentDate": { "last_updated": { "$type": "date" } },
        };
        let filter = doc! { "task_id": &update.task_id };
        let mut attempt = 0;
        loop {
            let result = self
                .coll
                .find_one_and_update(filter.clone(), change.clone())
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Ok(Some(status)) => return Ok(status),
                // mongod always returns the document of an upsert with
                // `ReturnDocument::After`.
                Ok(None) => {
                    return Err(
                        Error::new(ErrorKind::Backend, "upsert returned no document")
                            .with_store(Store::Mongo)
                            .with_operation("upsert")
                            .with_target(self.ns.clone()),
                    )
                }
                Err(e) if attempt < 2 && is_duplicate_key(&e) => attempt += 1,
                Err(e) => return Err(map_err("find_one_and_update", &self.ns)(e)),
            }
        }
    }

    /// The entry for `task_id`, if it exists (and has not expired).
    pub async fn get(&self, task_id: &str) -> Result<Option<TaskStatus>> {
        self.observe("tasks.get")
            .run_counted(
                async {
                    self.coll
                        .find_one(doc! { "task_id": task_id })
                        .await
                        .map_err(map_err("find_one", &self.ns))
                },
                Option::is_some,
            )
            .await
    }

    /// Entries in `status`, most recently updated first (at most `limit`).
    pub async fn list_by_status(&self, status: &TaskState, limit: u32) -> Result<Vec<TaskStatus>> {
        let list = self.list(
            doc! { "status": status.as_str() },
            doc! { "last_updated": -1 },
            limit,
        );
        self.observe("tasks.list_by_status")
            .run_counted(list, Vec::len)
            .await
    }

    /// Entries of `task_type`, optionally only in `status`, most recently
    /// updated first (at most `limit`).
    pub async fn list_by_type(
        &self,
        task_type: &str,
        status: Option<&TaskState>,
        limit: u32,
    ) -> Result<Vec<TaskStatus>> {
        let mut filter = doc! { "task_type": task_type };
        if let Some(status) = status {
            filter.insert("status", status.as_str());
        }
        let list = self.list(filter, doc! { "last_updated": -1 }, limit);
        self.observe("tasks.list_by_type")
            .run_counted(list, Vec::len)
            .await
    }

    /// Remove the entry; whether there was one.
    pub async fn remove(&self, task_id: &str) -> Result<bool> {
        self.observe("tasks.remove")
            .run_counted(
                async {
                    let result = self
                        .coll
                        .delete_many(doc! { "task_id": task_id })
                        .await
                        .map_err(map_err("delete_many", &self.ns))?;
                    Ok(result.deleted_count > 0)
                },
                |removed| u64::from(*removed),
            )
            .await
    }

    /// An [`Operation`] on `task_status_cache`.
    fn observe(&self, operation: &'static str) -> Operation<'static> {
        Operation::new(Store::Mongo, operation).target(TASK_STATUS_CACHE)
    }

    async fn list(&self, filter: Document, sort: Document, limit: u32) -> Result<Vec<TaskStatus>> {
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(Error::invalid_input(format!(
                "limit must be 1..={MAX_PAGE_SIZE}, got {limit}"
            ))
            .with_store(Store::Mongo)
            .with_target(self.ns.clone()));
        }
        self.coll
            .find(filter)
            .sort(sort)
            .limit(i64::from(limit))
            .await
            .map_err(map_err("find", &self.ns))?
            .try_collect()
            .await
            .map_err(map_err("find", &self.ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
