//! `system_logs`: structured service logs, shipped in batches and read
//! back by level, service and time with keyset pagination.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::error::ErrorKind as DriverKind;
use mongodb::{Collection, Database};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, Store};

use crate::bootstrap::SYSTEM_LOGS;
use crate::error::{from_driver_error, kind_of_code, map_err};
use crate::keys::validate_field_names;

/// Largest page [`SystemLogRepo::query`] returns.
pub const MAX_PAGE_SIZE: u32 = 10_000;
/// Documents sent per `insert` command by [`SystemLogRepo::insert_many`] (default).
pub const DEFAULT_BATCH_SIZE: usize = 1_000;

/// Severity of a log entry, stored upper-case (`"INFO"`, as in the seed).
///
/// Reading accepts Python's names too (`WARNING`, `CRITICAL`), and a
/// level this enum does not know is kept as [`LogLevel::Other`]; querying
/// [`LogLevel::Warn`] also finds `WARNING` entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LogLevel {
    /// `TRACE`
    Trace,
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `WARN` (also read from `WARNING`)
    Warn,
    /// `ERROR`
    Error,
    /// `FATAL` (also read from `CRITICAL`)
    Fatal,
    /// Any other level, as stored.
    Other(String),
}

impl LogLevel {
    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
            LogLevel::Other(s) => s,
        }
    }

    /// Every stored name that means this level.
    fn stored_names(&self) -> Vec<&str> {
        match self {
            LogLevel::Warn => vec!["WARN", "WARNING"],
            LogLevel::Fatal => vec!["FATAL", "CRITICAL"],
            other => vec![other.as_str()],
        }
    }

    /// Parse a stored name (case-insensitive for the known levels).
    pub fn parse(name: &str) -> LogLevel {
        match name.to_ascii_uppercase().as_str() {
            "TRACE" => LogLevel::Trace,
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARN" | "WARNING" => LogLevel::Warn,
            "ERROR" => LogLevel::Error,
            "FATAL" | "CRITICAL" => LogLevel::Fatal,
            _ => LogLevel::Other(name.to_owned()),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LogLevel {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(LogLevel::parse(&name))
    }
}

/// One `system_logs` document (the seed's shape: `timestamp`, `level`,
/// `service`, `message`, `details`).
///
/// [`SystemLog::new`] assigns the `_id` on the client, so shipping the same
/// entries again after an unclear failure cannot duplicate them (the
/// repeats are reported as duplicate-key failures).
///
/// ```
/// use ai_data_mongo::bson::doc;
/// use ai_data_mongo::{LogLevel, SystemLog};
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
    /// start with `$` or contain `.` or NUL (see [`validate_field_names`]);
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

/// Order of a log query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortOrder {
    /// Latest first (default).
    #[default]
    NewestFirst,
    /// Earliest first.
    OldestFirst,
}

impl SortOrder {
    fn direction(self) -> i32 {
        match self {
            SortOrder::NewestFirst => -1,
            SortOrder::OldestFirst => 1,
        }
    }
}

/// Where the next page starts: the `(timestamp, _id)` of the last entry seen.
///
/// Passes through APIs as text (`encode` / `FromStr`).
///
/// ```
/// use ai_data_mongo::LogCursor;
/// use ai_data_mongo::bson::{oid::ObjectId, DateTime};
///
/// let cursor = LogCursor::new(DateTime::from_millis(1_700_000_000_123), ObjectId::new());
/// let back: LogCursor = cursor.encode().parse().unwrap();
/// assert_eq!(back, cursor);
/// assert!("nonsense".parse::<LogCursor>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCursor {
    /// Timestamp of the last entry seen.
    pub timestamp: DateTime,
    /// Id of the last entry seen.
    pub id: ObjectId,
}

impl LogCursor {
    /// A cursor after the given entry.
    pub fn new(timestamp: DateTime, id: ObjectId) -> Self {
        LogCursor { timestamp, id }
    }

    /// `<millis>-<24 hex digits>`.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.timestamp.timestamp_millis(), self.id.to_hex())
    }
}

impl fmt::Display for LogCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl FromStr for LogCursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = || Error::invalid_input("not a log cursor").with_store(Store::Mongo);
        let (millis, hex) = s.rsplit_once('-').ok_or_else(invalid)?;
        let millis: i64 = millis.parse().map_err(|_| invalid())?;
        let id = ObjectId::parse_str(hex).map_err(|_| invalid())?;
        Ok(LogCursor::new(DateTime::from_millis(millis), id))
    }
}

/// A log query: filters, order, page size and where to resume.
///
/// ```
/// use ai_data_mongo::bson::DateTime;
/// use ai_data_mongo::{LogLevel, LogQuery, SortOrder};
///
/// let q = LogQuery::new()
///     .level(LogLevel::Error)
///     .service("model_service")
///     .between(DateTime::from_millis(0), DateTime::now())
///     .order(SortOrder::OldestFirst)
///     .limit(50);
/// assert_eq!(q.limit, 50);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogQuery {
    /// Only this level.
    pub level: Option<LogLevel>,
    /// Only this service.
    pub service: Option<String>,
    /// From this time, inclusive.
    pub from: Option<DateTime>,
    /// Until this time, exclusive.
    pub until: Option<DateTime>,
    /// Order (newest first by default).
    pub order: SortOrder,
    /// Page size, 1 to [`MAX_PAGE_SIZE`] (default 100).
    pub limit: u32,
    /// Resume after this entry (from [`LogPage::next`]).
    pub after: Option<LogCursor>,
}

impl Default for LogQuery {
    fn default() -> Self {
        LogQuery {
            level: None,
            service: None,
            from: None,
            until: None,
            order: SortOrder::default(),
            limit: 100,
            after: None,
        }
    }
}

impl LogQuery {
    /// Everything, newest first, 100 a page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only this level.
    #[must_use]
    pub fn level(mut self, level: LogLevel) -> Self {
        self.level = Some(level);
        self
    }

    /// Only this service.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Only `from <= timestamp < until`.
    #[must_use]
    pub fn between(mut self, from: DateTime, until: DateTime) -> Self {
        self.from = Some(from);
        self.until = Some(until);
        self
    }

    /// Only `timestamp >= from`.
    #[must_use]
    pub fn since(mut self, from: DateTime) -> Self {
        self.from = Some(from);
        self
    }

    /// Set the order.
    #[must_use]
    pub fn order(mut self, order: SortOrder) -> Self {
        self.order = order;
        self
    }

    /// Set the page size.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Resume after `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: Option<LogCursor>) -> Self {
        self.after = cursor;
        self
    }

    fn filter(&self) -> Document {
        let mut filter = doc! {};
        if let Some(level) = &self.level {
            let names = level.stored_names();
            if let [one] = names.as_slice() {
                filter.insert("level", *one);
            } else {
                filter.insert("level", doc! { "$in": names });
            }
        }
        if let Some(service) = &self.service {
            filter.insert("service", service.as_str());
        }
        let mut range = doc! {};
        if let Some(from) = self.from {
            range.insert("$gte", from);
        }
        if let Some(until) = self.until {
            range.insert("$lt", until);
        }
        if !range.is_empty() {
            filter.insert("timestamp", range);
        }
        if let Some(cursor) = &self.after {
            let op = match self.order {
                SortOrder::NewestFirst => "$lt",
                SortOrder::OldestFirst => "$gt",
            };
            filter.insert(
                "$or",
                vec![
                    doc! { "timestamp": { op: cursor.timestamp } },
                    doc! { "timestamp": cursor.timestamp, "_id": { op: cursor.id } },
                ],
            );
        }
        filter
    }
}

/// One page of a log query.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogPage {
    /// The entries, in the query's order.
    pub logs: Vec<SystemLog>,
    /// Where the next page starts; `None` when this was the last page.
    pub next: Option<LogCursor>,
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
        crate::error::is_duplicate_code(self.code)
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

/// Typed access to `system_logs`.
///
/// Each method is one observed operation `logs.<method>` on target
/// `system_logs` (see [`ai_data_core::observe`]), counting the entries
/// inserted, returned, grouped or purged.
///
/// ```no_run
/// # async fn demo(store: ai_data_mongo::MongoStore) -> ai_data_core::Result<()> {
/// use ai_data_mongo::{LogLevel, LogQuery, SystemLog};
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
    coll: Collection<SystemLog>,
    ns: String,
    batch_size: usize,
}

impl SystemLogRepo {
    /// The repository over `db.system_logs`.
    pub fn new(db: &Database) -> Self {
        SystemLogRepo {
            coll: db.collection(SYSTEM_LOGS),
            ns: format!("{}.{SYSTEM_LOGS}", db.name()),
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
    /// [`ErrorKind::InvalidInput`], before any I/O, when a field name in
    /// `details` is refused (see [`validate_field_names`]).
    pub async fn insert_one(&self, log: &SystemLog) -> Result<ObjectId> {
        self.observe("logs.insert_one")
            .run_counted(
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
    /// [`ErrorKind::InvalidInput`] (the path starts with `logs[<index>]`)
    /// and nothing is written.
    pub async fn insert_many(&self, logs: &[SystemLog]) -> Result<InsertManyReport> {
        self.observe("logs.insert_many")
            .run_counted(
                self.insert_many_unobserved(logs),
                InsertManyReport::inserted,
            )
            .await
    }

    async fn insert_many_unobserved(&self, logs: &[SystemLog]) -> Result<InsertManyReport> {
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
        self.observe("logs.query")
            .run_counted(self.query_unobserved(query), |page| page.logs.len())
            .await
    }

    async fn query_unobserved(&self, query: &LogQuery) -> Result<LogPage> {
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
        self.observe("logs.count_by_level")
            .run_counted(self.count_by_level_unobserved(from, until), Vec::len)
            .await
    }

    async fn count_by_level_unobserved(
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
        self.observe("logs.purge_older_than")
            .run_counted(
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

    /// An [`Operation`] on `system_logs`.
    fn observe(&self, operation: &'static str) -> Operation<'static> {
        Operation::new(Store::Mongo, operation).target(SYSTEM_LOGS)
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

    #[test]
    fn filter_combines_level_service_range_and_cursor() {
        let id = ObjectId::new();
        let t = DateTime::from_millis(1000);
        let q = LogQuery::new()
            .level(LogLevel::Warn)
            .service("svc")
            .between(DateTime::from_millis(0), DateTime::from_millis(5000))
            .after(Some(LogCursor::new(t, id)));
        let f = q.filter();
        assert_eq!(
            f.get_document("level").expect("level"),
            &doc! { "$in": ["WARN", "WARNING"] }
        );
        assert_eq!(f.get_str("service").expect("service"), "svc");
        assert_eq!(
            f.get_document("timestamp").expect("range"),
            &doc! { "$gte": DateTime::from_millis(0), "$lt": DateTime::from_millis(5000) }
        );
        let or = f.get_array("$or").expect("$or");
        assert_eq!(
            or[1],
            Bson::Document(doc! { "timestamp": t, "_id": { "$lt": id } })
        );
    }

    #[test]
    fn cursor_token_rejects_garbage() {
        assert!("12-zz".parse::<LogCursor>().is_err());
        assert!("x-0123456789abcdef01234567".parse::<LogCursor>().is_err());
        let err = "".parse::<LogCursor>().expect_err("empty");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
