//! [`TaskStatusRepo`]: typed access to `task_status_cache`, each method
//! one operation of the store's executor.

use ai_data_mongo::bson::{doc, DateTime, Document};
use ai_data_mongo::mongodb::options::ReturnDocument;
use ai_data_mongo::mongodb::Collection;
use ai_data_mongo::{is_duplicate_key, map_err, MongoStore};
use futures::TryStreamExt;

use ai_data_core::executor::Call;
use ai_data_core::{Error, ErrorKind, Result, Store};

use super::{TaskState, TaskStatus, TaskUpdate};
use crate::mongo::{MAX_PAGE_SIZE, TASK_STATUS_CACHE_COLLECTION};

/// Typed access to `task_status_cache`.
///
/// Each method is one operation `tasks.<method>` on target
/// `task_status_cache` of the store's [`executor`](MongoStore::executor)
/// (see [`ai_data_core::observe`]), counting the entries written, found,
/// listed or removed.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use ai_data_platform::mongo::{SeedCollections, TaskState, TaskUpdate};
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
    store: MongoStore,
    coll: Collection<TaskStatus>,
    ns: String,
}

impl TaskStatusRepo {
    /// The repository over `task_status_cache` in the store's database.
    pub fn new(store: &MongoStore) -> Self {
        let db = store.database();
        TaskStatusRepo {
            store: store.clone(),
            coll: db.collection(TASK_STATUS_CACHE_COLLECTION),
            ns: format!("{}.{TASK_STATUS_CACHE_COLLECTION}", db.name()),
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
    /// result (see [`validate_field_names`](ai_data_mongo::validate_field_names)). `$set` names its fields
    /// itself; the result is the value of `result`, so its content can never
    /// act as an operator or a path.
    pub async fn upsert(&self, update: &TaskUpdate) -> Result<TaskStatus> {
        self.call("tasks.upsert")
            .idempotent()
            .run_counted(|| self.write_state(update), |_| 1_u64)
            .await
    }

    /// `$set` + `$setOnInsert` of `update`, retried as an update when a
    /// concurrent first upsert won.
    async fn write_state(&self, update: &TaskUpdate) -> Result<TaskStatus> {
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
        self.call("tasks.get")
            .idempotent()
            .run_counted(
                || async {
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
        let filter = doc! { "status": status.as_str() };
        self.call("tasks.list_by_status")
            .idempotent()
            .run_counted(
                || self.list(filter.clone(), doc! { "last_updated": -1 }, limit),
                Vec::len,
            )
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
        self.call("tasks.list_by_type")
            .idempotent()
            .run_counted(
                || self.list(filter.clone(), doc! { "last_updated": -1 }, limit),
                Vec::len,
            )
            .await
    }

    /// Remove the entry; whether there was one.
    pub async fn remove(&self, task_id: &str) -> Result<bool> {
        self.call("tasks.remove")
            .idempotent()
            .run_counted(
                || async {
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

    /// A call of the store's executor on `task_status_cache`.
    fn call(&self, operation: &'static str) -> Call<'_> {
        self.store
            .executor()
            .call(operation)
            .target(TASK_STATUS_CACHE_COLLECTION)
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
