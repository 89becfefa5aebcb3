//! [`SystemLogRepo`]: typed access to `system_logs`, each method one
//! operation of the store's executor.

use std::collections::BTreeMap;

use ai_data_mongo::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use ai_data_mongo::mongodb::error::ErrorKind as DriverKind;
use ai_data_mongo::mongodb::Collection;
use ai_data_mongo::{from_driver_error, kind_of_code, map_err, validate_field_names, MongoStore};
use futures::TryStreamExt;

use ai_data_core::executor::Call;
use ai_data_core::{Error, Result, Store};

use super::{
    InsertFailure, InsertManyReport, LevelCount, LogCursor, LogPage, LogQuery, SystemLog,
    DEFAULT_BATCH_SIZE, MAX_PAGE_SIZE,
};
use crate::mongo::SYSTEM_LOGS_COLLECTION;
use crate::LogLevel;

/// Typed access to `system_logs`.
///
/// Each method is one operation `logs.<method>` on target `system_logs`
/// of the store's [`executor`](MongoStore::executor) (see
/// [`ai_data_core::observe`]), counting the entries inserted, returned,
/// grouped or purged.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use ai_data_platform::mongo::{LogQuery, SeedCollections, SystemLog};
/// use ai_data_platform::LogLevel;
///
/// let logs = store.logs();
/// let batch: Vec<SystemLog> = (0..100)
///     .map(|i| SystemLog::new(LogLevel::Info, "user_service", format!("request {i}")))
///     .collect();
/// let report = logs.insert_many(&batch).await?;
/// assert!(report.failures.is_empty());
///
/// let mut query = LogQuery::new().service("user_service").limit(20);
/// loop {
///     let page = logs.query(&query).await?;
///     for entry in &page.logs { println!("{} {}", entry.level, entry.message); }
///     let Some(next) = page.next else { break };
///     query = query.after(Some(next));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SystemLogRepo {
    store: MongoStore,
    coll: Collection<SystemLog>,
    ns: String,
    batch_size: usize,
}

impl SystemLogRepo {
    /// The repository over `system_logs` in the store's database.
    pub fn new(store: &MongoStore) -> Self {
        let db = store.database();
        SystemLogRepo {
            store: store.clone(),
            coll: db.collection(SYSTEM_LOGS_COLLECTION),
            ns: format!("{}.{SYSTEM_LOGS_COLLECTION}", db.name()),
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    /// Documents per `insert` command in [`Self::insert_many`] (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Insert one entry (an id is assigned when it has none); its id.
    ///
    /// [`ErrorKind::InvalidInput`](ai_data_core::ErrorKind::InvalidInput), before any I/O, when a field name in
    /// `details` is refused (see [`validate_field_names`]).
    pub async fn insert_one(&self, log: &SystemLog) -> Result<ObjectId> {
        self.call("logs.insert_one")
            .run_once_counted(
                async {
                    validate_field_names("details", &log.details)
                        .map_err(|e| e.with_operation("insert_one").with_target(self.ns.clone()))?;
                    let mut log = log.clone();
                    let id = *log.id.get_or_insert_with(ObjectId::new);
                    self.coll
                        .insert_one(&log)
                        .await
                        .map_err(map_err("insert_one", &self.ns))?;
                    Ok(id)
                },
                |_| 1_u64,
            )
            .await
    }

    /// Insert entries in unordered batches: a refused document (duplicate
    /// id, validation) does not stop the others and is reported with its
    /// position. Any other failure (connection, write concern) is an
    /// error; the message says how many were inserted before it.
    ///
    /// Field names in every entry's `details` are checked first (see
    /// [`validate_field_names`]): one refused name fails the whole call with
    /// [`ErrorKind::InvalidInput`](ai_data_core::ErrorKind::InvalidInput) (the path starts with `logs[<index>]`)
    /// and nothing is written.
    pub async fn insert_many(&self, logs: &[SystemLog]) -> Result<InsertManyReport> {
        self.call("logs.insert_many")
            .run_once_counted(self.insert_batches(logs), InsertManyReport::inserted)
            .await
    }

    async fn insert_batches(&self, logs: &[SystemLog]) -> Result<InsertManyReport> {
        for (index, log) in logs.iter().enumerate() {
            validate_field_names(&format!("logs[{index}].details"), &log.details)
                .map_err(|e| e.with_operation("insert_many").with_target(self.ns.clone()))?;
        }
        let mut report = InsertManyReport::default();
        for (batch_no, chunk) in logs.chunks(self.batch_size).enumerate() {
            let offset = batch_no * self.batch_size;
            let docs: Vec<SystemLog> = chunk
                .iter()
                .map(|log| {
                    let mut log = log.clone();
                    log.id.get_or_insert_with(ObjectId::new);
                    log
                })
                .collect();
            let ids: Vec<ObjectId> = docs.iter().filter_map(|d| d.id).collect();
            match self.coll.insert_many(&docs).ordered(false).await {
                Ok(_) => report.inserted_ids.extend(ids),
                Err(e) => {
                    let write_errors = match &*e.kind {
                        DriverKind::InsertMany(ime) if ime.write_concern_error.is_none() => {
                            ime.write_errors.clone()
                        }
                        _ => None,
                    };
                    let Some(write_errors) = write_errors else {
                        return Err(partial_failure(
                            from_driver_error(e, "insert_many", self.ns.clone()),
                            report.inserted(),
                            logs.len(),
                        ));
                    };
                    let mut failed = vec![false; ids.len()];
                    for w in write_errors {
                        if let Some(slot) = failed.get_mut(w.index) {
                            *slot = true;
                        }
                        report.failures.push(InsertFailure {
                            index: offset + w.index,
                            id: ids.get(w.index).copied().unwrap_or_else(ObjectId::new),
                            kind: kind_of_code(w.code),
                            code: w.code,
                            message: w.message,
                        });
                    }
                    report.inserted_ids.extend(
                        ids.iter()
                            .zip(&failed)
                            .filter(|(_, failed)| !**failed)
                            .map(|(id, _)| *id),
                    );
                }
            }
        }
        report.failures.sort_by_key(|f| f.index);
        Ok(report)
    }

    /// One page of entries matching `query`, sorted by `(timestamp, _id)`.
    ///
    /// The level and service are matched as literal strings: a service
    /// named `"$ne"` or `"a.b"` finds exactly the entries of that service.
    pub async fn query(&self, query: &LogQuery) -> Result<LogPage> {
        self.call("logs.query")
            .idempotent()
            .run_counted(|| self.find_page(query), |page| page.logs.len())
            .await
    }

    async fn find_page(&self, query: &LogQuery) -> Result<LogPage> {
        if query.limit == 0 || query.limit > MAX_PAGE_SIZE {
            return Err(Error::invalid_input(format!(
                "log query limit must be 1..={MAX_PAGE_SIZE}, got {}",
                query.limit
            ))
            .with_store(Store::Mongo)
            .with_target(self.ns.clone()));
        }
        let dir = query.order.direction();
        let mut logs: Vec<SystemLog> = self
            .coll
            .find(query.filter())
            .sort(doc! { "timestamp": dir, "_id": dir })
            .limit(i64::from(query.limit) + 1)
            .await
            .map_err(map_err("find", &self.ns))?
            .try_collect()
            .await
            .map_err(map_err("find", &self.ns))?;
        let more = logs.len() > query.limit as usize;
        logs.truncate(query.limit as usize);
        let next = if more {
            logs.last()
                .and_then(|l| l.id.map(|id| LogCursor::new(l.timestamp, id)))
        } else {
            None
        };
        Ok(LogPage { logs, next })
    }

    /// Entries per service and level (aggregation), optionally in
    /// `from <= timestamp < until`, sorted by service then level.
    pub async fn count_by_level(
        &self,
        from: Option<DateTime>,
        until: Option<DateTime>,
    ) -> Result<Vec<LevelCount>> {
        self.call("logs.count_by_level")
            .idempotent()
            .run_counted(|| self.group_counts(from, until), Vec::len)
            .await
    }

    async fn group_counts(
        &self,
        from: Option<DateTime>,
        until: Option<DateTime>,
    ) -> Result<Vec<LevelCount>> {
        let mut range = doc! {};
        if let Some(from) = from {
            range.insert("$gte", from);
        }
        if let Some(until) = until {
            range.insert("$lt", until);
        }
        let mut pipeline = Vec::new();
        if !range.is_empty() {
            pipeline.push(doc! { "$match": { "timestamp": range } });
        }
        pipeline.push(doc! { "$group": {
            "_id": { "service": "$service", "level": "$level" },
            "count": { "$sum": 1 },
        }});
        let rows: Vec<Document> = self
            .coll
            .aggregate(pipeline)
            .await
            .map_err(map_err("aggregate", &self.ns))?
            .try_collect()
            .await
            .map_err(map_err("aggregate", &self.ns))?;
        let mut counts: BTreeMap<(String, LogLevel), u64> = BTreeMap::new();
        for row in rows {
            let key = row.get_document("_id").ok();
            let text = |field: &str| {
                key.and_then(|k| k.get_str(field).ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let count = match row.get("count") {
                Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
                Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            *counts
                .entry((text("service"), LogLevel::parse(&text("level"))))
                .or_default() += count;
        }
        Ok(counts
            .into_iter()
            .map(|((service, level), count)| LevelCount {
                service,
                level,
                count,
            })
            .collect())
    }

    /// Delete entries with `timestamp < cutoff`; how many.
    pub async fn purge_older_than(&self, cutoff: DateTime) -> Result<u64> {
        self.call("logs.purge_older_than")
            .run_once_counted(
                async {
                    let result = self
                        .coll
                        .delete_many(doc! { "timestamp": { "$lt": cutoff } })
                        .await
                        .map_err(map_err("delete_many", &self.ns))?;
                    Ok(result.deleted_count)
                },
                |deleted| *deleted,
            )
            .await
    }

    /// A call of the store's executor on `system_logs`.
    fn call(&self, operation: &'static str) -> Call<'_> {
        self.store
            .executor()
            .call(operation)
            .target(SYSTEM_LOGS_COLLECTION)
    }
}

/// Wrap a batch failure with how far the batches got.
fn partial_failure(err: Error, inserted: usize, total: usize) -> Error {
    let mut wrapped = Error::new(
        err.kind(),
        format!(
            "{} ({inserted} of {total} documents inserted by earlier batches)",
            err.message()
        ),
    )
    .with_store(Store::Mongo)
    .with_operation("insert_many");
    if let Some(target) = err.target() {
        wrapped = wrapped.with_target(target.to_owned());
    }
    wrapped = if err.is_retryable() {
        wrapped.temporary()
    } else {
        wrapped.permanent()
    };
    wrapped.with_source(err)
}
