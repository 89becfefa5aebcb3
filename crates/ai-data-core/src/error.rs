//! One error type for every store: a kind, a status ([`ErrorStatus`]:
//! permanent, temporary or persistent), the store and operation it came
//! from, and the driver error as `source()`.

use std::borrow::Cow;
use std::fmt;

use crate::Store;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Configuration is missing or malformed (a variable, a URL, a secret file).
    Config,
    /// The store could not be reached or the connection broke.
    Connect,
    /// An operation or a pool checkout took longer than allowed.
    Timeout,
    /// The thing asked for does not exist.
    NotFound,
    /// Unique violation, duplicate key, topic exists, concurrent update.
    Conflict,
    /// The caller's input is invalid (dimension, NaN, identifier, empty value).
    InvalidInput,
    /// The store or its version cannot do what was asked.
    Unsupported,
    /// Authentication or authorisation failed.
    Auth,
    /// Any other error reported by the store.
    Backend,
}

impl ErrorKind {
    /// Whether errors of this kind are worth retrying unless the error says
    /// otherwise: connection trouble and timeouts are; the rest are not.
    pub const fn is_retryable_by_default(self) -> bool {
        matches!(self, ErrorKind::Connect | ErrorKind::Timeout)
    }

    /// Stable lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Auth => "auth",
            ErrorKind::Backend => "backend",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether retrying may help, as OpenDAL's error status says it.
///
/// A retry layer retries [`Temporary`](ErrorStatus::Temporary) errors only,
/// and returns the error it gave up on after retrying as
/// [`Persistent`](ErrorStatus::Persistent): so an outer retry layer (a
/// service's own, a consumer's) does not retry it again and nested layers
/// never multiply the attempts.
///
/// ```
/// use ai_data_core::{Error, ErrorKind, ErrorStatus};
///
/// let err = Error::new(ErrorKind::Connect, "refused");
/// assert_eq!(err.status(), ErrorStatus::Temporary);
/// let err = err.persist();
/// assert_eq!(err.status(), ErrorStatus::Persistent);
/// assert!(err.is_retryable() && !err.is_temporary());
/// assert_eq!(Error::new(ErrorKind::Conflict, "dup").status(), ErrorStatus::Permanent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// Retrying cannot help (bad input, conflict, auth, ...).
    Permanent,
    /// A transient condition: a retry may succeed.
    Temporary,
    /// Was temporary, but the retries already made did not fix it.
    Persistent,
}

impl ErrorStatus {
    /// Stable lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorStatus::Permanent => "permanent",
            ErrorStatus::Temporary => "temporary",
            ErrorStatus::Persistent => "persistent",
        }
    }
}

impl fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every `ai-data` crate.
///
/// `Display` shows the kind, the message and the context (store, operation,
/// target) but not the source: walk [`std::error::Error::source`] for the
/// driver's own error.
///
/// ```
/// use ai_data_core::{Error, ErrorKind, Store};
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
/// let err = Error::new(ErrorKind::Connect, "connection lost")
///     .with_store(Store::Postgres)
///     .with_operation("query")
///     .with_target("auth.users")
///     .with_source(io);
/// assert_eq!(err.kind(), ErrorKind::Connect);
/// assert!(err.is_retryable());
/// assert_eq!(
///     err.to_string(),
///     "connect error: connection lost (store: postgres, operation: query, target: auth.users)"
/// );
/// assert!(std::error::Error::source(&err).is_some());
/// ```
pub struct Error {
    kind: ErrorKind,
    status: ErrorStatus,
    message: Cow<'static, str>,
    store: Option<Store>,
    operation: Option<Cow<'static, str>>,
    target: Option<String>,
    source: Option<BoxError>,
}

impl Error {
    /// A new error, [`Temporary`](ErrorStatus::Temporary) when
    /// [`ErrorKind::is_retryable_by_default`], else permanent.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            status: if kind.is_retryable_by_default() {
                ErrorStatus::Temporary
            } else {
                ErrorStatus::Permanent
            },
            message: message.into(),
            store: None,
            operation: None,
            target: None,
            source: None,
        }
    }

    /// Shorthand for `Error::new(ErrorKind::Config, message)`.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Shorthand for `Error::new(ErrorKind::InvalidInput, message)`.
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for `Error::new(ErrorKind::Unsupported, message)`.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// Mark the error as worth retrying (a transient condition).
    #[must_use]
    pub fn temporary(mut self) -> Self {
        self.status = ErrorStatus::Temporary;
        self
    }

    /// Mark the error as permanent: retrying cannot help.
    #[must_use]
    pub fn permanent(mut self) -> Self {
        self.status = ErrorStatus::Permanent;
        self
    }

    /// Record that retries were made and did not fix it: a
    /// [`Temporary`](ErrorStatus::Temporary) error becomes
    /// [`Persistent`](ErrorStatus::Persistent); other statuses stay.
    #[must_use]
    pub fn persist(mut self) -> Self {
        if self.status == ErrorStatus::Temporary {
            self.status = ErrorStatus::Persistent;
        }
        self
    }

    /// Set the status, e.g. to copy another error's exactly.
    #[must_use]
    pub fn with_status(mut self, status: ErrorStatus) -> Self {
        self.status = status;
        self
    }

    /// Set the store the error came from.
    #[must_use]
    pub fn with_store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Set the operation that failed (`"query"`, `"upsert"`, `"connect"`).
    #[must_use]
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Set the table, collection, key or topic the operation was about.
    #[must_use]
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Keep the driver's error as [`std::error::Error::source`].
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the failure is of a transient class (temporary or
    /// persistent): connection trouble, a timeout, a serialization failure.
    ///
    /// A retry layer asks [`Error::is_temporary`] instead, so it does not
    /// retry what an inner layer already retried.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.status,
            ErrorStatus::Temporary | ErrorStatus::Persistent
        )
    }

    /// Whether a retry may fix it and none has been tried yet by a retry
    /// layer ([`ErrorStatus::Temporary`]).
    pub fn is_temporary(&self) -> bool {
        self.status == ErrorStatus::Temporary
    }

    /// Permanent, temporary or persistent.
    pub fn status(&self) -> ErrorStatus {
        self.status
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The store the error came from, if known.
    pub fn store(&self) -> Option<Store> {
        self.store
    }

    /// The operation that failed, if known.
    pub fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }

    /// The table, collection, key or topic, if known.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.kind, self.message)?;
        let mut context = Vec::with_capacity(3);
        if let Some(store) = self.store {
            context.push(format!("store: {store}"));
        }
        if let Some(op) = &self.operation {
            context.push(format!("operation: {op}"));
        }
        if let Some(target) = &self.target {
            context.push(format!("target: {target}"));
        }
        if !context.is_empty() {
            write!(f, " ({})", context.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("retryable", &self.is_retryable())
            .field("status", &self.status)
            .field("message", &self.message);
        if let Some(store) = self.store {
            d.field("store", &store);
        }
        if let Some(op) = &self.operation {
            d.field("operation", op);
        }
        if let Some(target) = &self.target {
            d.field("target", target);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryability_follows_kind_unless_overridden() {
        assert!(Error::new(ErrorKind::Timeout, "t").is_retryable());
        assert!(Error::new(ErrorKind::Connect, "c").is_retryable());
        assert!(!Error::new(ErrorKind::Conflict, "c").is_retryable());
        assert!(!Error::new(ErrorKind::Timeout, "t")
            .permanent()
            .is_retryable());
        assert!(Error::new(ErrorKind::Backend, "serialization failure")
            .temporary()
            .is_retryable());
    }

    #[test]
    fn persist_turns_temporary_into_persistent_only() {
        let temporary = Error::new(ErrorKind::Connect, "refused");
        assert!(temporary.is_temporary() && temporary.is_retryable());
        let persistent = temporary.persist();
        assert_eq!(persistent.status(), ErrorStatus::Persistent);
        assert!(!persistent.is_temporary());
        assert!(persistent.is_retryable(), "still of a transient class");
        assert_eq!(persistent.persist().status(), ErrorStatus::Persistent);
        let permanent = Error::new(ErrorKind::Conflict, "dup").persist();
        assert_eq!(permanent.status(), ErrorStatus::Permanent);
        assert!(!permanent.is_retryable());
        let copied = Error::new(ErrorKind::Backend, "copy").with_status(ErrorStatus::Persistent);
        assert_eq!(copied.status(), ErrorStatus::Persistent);
        assert_eq!(copied.temporary().status(), ErrorStatus::Temporary);
    }

    #[test]
    fn debug_shows_retryable_and_status_display_stays_unchanged() {
        let err = Error::new(ErrorKind::Timeout, "slow").persist();
        let debug = format!("{err:?}");
        assert!(debug.contains("retryable: true"), "{debug}");
        assert!(debug.contains("status: Persistent"), "{debug}");
        assert_eq!(err.to_string(), "timeout error: slow");
    }

    #[test]
    fn display_has_context_but_not_source() {
        let err = Error::new(ErrorKind::NotFound, "no such table")
            .with_store(Store::Postgres)
            .with_target("auth.nope")
            .with_source(std::io::Error::other("driver detail"));
        let shown = err.to_string();
        assert_eq!(
            shown,
            "not found error: no such table (store: postgres, target: auth.nope)"
        );
        assert!(!shown.contains("driver detail"));
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("driver detail"));
        assert!(format!("{err:?}").contains("driver detail"));
    }
}
