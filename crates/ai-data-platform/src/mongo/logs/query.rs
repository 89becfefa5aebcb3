//! Reading `system_logs` back: the query (filters, order, page size), the
//! keyset cursor that resumes it, and one page of results.

use std::fmt;
use std::str::FromStr;

use ai_data_mongo::bson::{doc, oid::ObjectId, DateTime, Document};

use ai_data_core::{Error, Result, Store};

use super::SystemLog;
use crate::LogLevel;

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
    pub(super) fn direction(self) -> i32 {
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
/// use ai_data_platform::mongo::LogCursor;
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
/// use ai_data_platform::mongo::{LogQuery, SortOrder};
/// use ai_data_platform::LogLevel;
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
    /// Page size, 1 to [`MAX_PAGE_SIZE`](super::MAX_PAGE_SIZE) (default 100).
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

    pub(super) fn filter(&self) -> Document {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_core::ErrorKind;
    use ai_data_mongo::bson::Bson;

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
