//! Driver errors mapped to [`ai_data_core::Error`]: a kind, a
//! retryable/permanent status, store / operation / collection context, and
//! the driver's error kept as `source()`.

use mongodb::error::{
    Error as DriverError, ErrorKind as DriverKind, WriteFailure, RETRYABLE_WRITE_ERROR,
    TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
};

use ai_data_core::{Error, ErrorKind, Store};

/// Server error codes this crate gives a meaning to.
pub(crate) mod code {
    pub(crate) const DUPLICATE_KEY: i32 = 11000;
    pub(crate) const DUPLICATE_KEY_LEGACY: i32 = 11001;
    pub(crate) const DUPLICATE_KEY_UPDATE: i32 = 12582;
    pub(crate) const WRITE_CONFLICT: i32 = 112;
    pub(crate) const NAMESPACE_EXISTS: i32 = 48;
    pub(crate) const INDEX_OPTIONS_CONFLICT: i32 = 85;
    pub(crate) const INDEX_KEY_SPECS_CONFLICT: i32 = 86;
    pub(crate) const USER_EXISTS: i32 = 51003;
    pub(crate) const AUTHENTICATION_FAILED: i32 = 18;
    pub(crate) const UNAUTHORIZED: i32 = 13;
    pub(crate) const NAMESPACE_NOT_FOUND: i32 = 26;
    pub(crate) const USER_NOT_FOUND: i32 = 11;
    pub(crate) const INDEX_NOT_FOUND: i32 = 27;
    pub(crate) const MAX_TIME_EXPIRED: i32 = 50;
    pub(crate) const EXCEEDED_TIME_LIMIT: i32 = 262;
    pub(crate) const NETWORK_TIMEOUT: i32 = 89;
    pub(crate) const ILLEGAL_OPERATION: i32 = 20;
    pub(crate) const COMMAND_NOT_FOUND: i32 = 59;
    pub(crate) const COMMAND_NOT_SUPPORTED: i32 = 115;
    pub(crate) const OPERATION_NOT_SUPPORTED_IN_TRANSACTION: i32 = 263;
    pub(crate) const BAD_VALUE: i32 = 2;
    pub(crate) const FAILED_TO_PARSE: i32 = 9;
    pub(crate) const TYPE_MISMATCH: i32 = 14;
    pub(crate) const DOCUMENT_VALIDATION_FAILURE: i32 = 121;
    pub(crate) const BSON_OBJECT_TOO_LARGE: i32 = 10334;
    /// Codes the server uses while a node steps down, shuts down or is unreachable.
    pub(crate) const NODE_STATE: [i32; 10] =
        [6, 7, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436];
}

/// The server's error code, when the driver error carries one (command
/// errors, write errors, the first write error of a batch).
pub fn server_code(err: &DriverError) -> Option<i32> {
    match &*err.kind {
        DriverKind::Command(c) => Some(c.code),
        DriverKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        DriverKind::Write(WriteFailure::WriteConcernError(w)) => Some(w.code),
        DriverKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .and_then(|errs| errs.first())
            .map(|w| w.code)
            .or_else(|| e.write_concern_error.as_ref().map(|w| w.code)),
        _ => None,
    }
}

/// Whether the server code means "duplicate key" (11000, 11001, 12582).
///
/// ```
/// assert!(ai_data_mongo::is_duplicate_code(11000));
/// assert!(!ai_data_mongo::is_duplicate_code(112));
/// ```
pub fn is_duplicate_code(code: i32) -> bool {
    matches!(
        code,
        code::DUPLICATE_KEY | code::DUPLICATE_KEY_LEGACY | code::DUPLICATE_KEY_UPDATE
    )
}

/// Whether `err` is a duplicate-key error (E11000).
pub fn is_duplicate_key(err: &DriverError) -> bool {
    server_code(err).is_some_and(is_duplicate_code)
}

/// The [`ErrorKind`] an error with this server code has (a duplicate key
/// is [`ErrorKind::Conflict`], and so on).
///
/// ```
/// use ai_data_core::ErrorKind;
/// assert_eq!(ai_data_mongo::kind_of_code(11000), ErrorKind::Conflict);
/// ```
pub fn kind_of_code(server: i32) -> ErrorKind {
    use self::code as c;
    match server {
        c::DUPLICATE_KEY
        | c::DUPLICATE_KEY_LEGACY
        | c::DUPLICATE_KEY_UPDATE
        | c::WRITE_CONFLICT
        | c::NAMESPACE_EXISTS
        | c::INDEX_OPTIONS_CONFLICT
        | c::INDEX_KEY_SPECS_CONFLICT
        | c::USER_EXISTS => ErrorKind::Conflict,
        c::AUTHENTICATION_FAILED | c::UNAUTHORIZED => ErrorKind::Auth,
        c::NAMESPACE_NOT_FOUND | c::USER_NOT_FOUND | c::INDEX_NOT_FOUND => ErrorKind::NotFound,
        c::MAX_TIME_EXPIRED | c::EXCEEDED_TIME_LIMIT | c::NETWORK_TIMEOUT => ErrorKind::Timeout,
        c::ILLEGAL_OPERATION
        | c::COMMAND_NOT_FOUND
        | c::COMMAND_NOT_SUPPORTED
        | c::OPERATION_NOT_SUPPORTED_IN_TRANSACTION => ErrorKind::Unsupported,
        c::BAD_VALUE
        | c::FAILED_TO_PARSE
        | c::TYPE_MISMATCH
        | c::DOCUMENT_VALIDATION_FAILURE
        | c::BSON_OBJECT_TOO_LARGE => ErrorKind::InvalidInput,
        other if c::NODE_STATE.contains(&other) => ErrorKind::Connect,
        _ => ErrorKind::Backend,
    }
}

/// A short description of a server error: its name and code, and for
/// duplicate keys the index, but not the duplicated value (which may be
/// personal data).
fn describe_server_error(code: i32, code_name: Option<&str>, message: &str) -> String {
    if is_duplicate_code(code) {
        let index = message
            .split_once("index: ")
            .and_then(|(_, rest)| rest.split_whitespace().next());
        return match index {
            Some(index) => format!("duplicate key in index {index} (E{code})"),
            None => format!("duplicate key (E{code})"),
        };
    }
    match code_name.filter(|n| !n.is_empty()) {
        Some(name) => format!("server error {name} (code {code})"),
        None => format!("server error code {code}"),
    }
}

/// Map a driver error to an [`ai_data_core::Error`].
///
/// | driver error | kind | retryable |
/// |---|---|---|
/// | duplicate key (11000, 11001, 12582), index/namespace/user exists | `Conflict` | no |
/// | write conflict (112) | `Conflict` | yes |
/// | server selection timeout, I/O, pool cleared, DNS, node stepping down | `Connect` | yes |
/// | authentication failure, code 18 / 13 | `Auth` | no |
/// | `MaxTimeMSExpired` (50), `ExceededTimeLimit` | `Timeout` | yes |
/// | namespace / user / index not found | `NotFound` | no |
/// | command not supported, sessions not supported, incompatible server | `Unsupported` | no |
/// | bad value, validation failure, BSON serialization, invalid argument | `InvalidInput` | no |
/// | anything else | `Backend` | no |
///
/// Independently of the kind, an error labelled `RetryableWriteError`,
/// `TransientTransactionError` or `UnknownTransactionCommitResult` is
/// retryable. `operation` names what failed (`"insert_many"`), `target`
/// the namespace (`"ai_platform.system_logs"`). The message never holds
/// the connection string, credentials or duplicated key values; the
/// driver's full error is [`std::error::Error::source`].
///
/// ```
/// use ai_data_core::ErrorKind;
/// use ai_data_mongo::from_driver_error;
///
/// let driver = mongodb::error::Error::custom("boom".to_owned());
/// let err = from_driver_error(driver, "find", "ai_platform.system_logs");
/// assert_eq!(err.kind(), ErrorKind::Backend);
/// assert_eq!(err.target(), Some("ai_platform.system_logs"));
/// assert!(std::error::Error::source(&err).is_some());
/// ```
pub fn from_driver_error(
    err: DriverError,
    operation: &'static str,
    target: impl Into<String>,
) -> Error {
    let (kind, message) = classify(&err);
    let retryable_label = [
        RETRYABLE_WRITE_ERROR,
        TRANSIENT_TRANSACTION_ERROR,
        UNKNOWN_TRANSACTION_COMMIT_RESULT,
    ]
    .iter()
    .any(|label| err.contains_label(label));
    let mut mapped = Error::new(kind, message);
    if retryable_label || server_code(&err) == Some(code::WRITE_CONFLICT) {
        mapped = mapped.temporary();
    }
    mapped
        .with_store(Store::Mongo)
        .with_operation(operation)
        .with_target(target)
        .with_source(err)
}

fn classify(err: &DriverError) -> (ErrorKind, String) {
    match &*err.kind {
        DriverKind::ServerSelection { .. } => (
            ErrorKind::Connect,
            "no MongoDB server could be selected within the server-selection timeout".into(),
        ),
        DriverKind::Io(io) => {
            let kind = if io.kind() == std::io::ErrorKind::TimedOut {
                ErrorKind::Timeout
            } else {
                ErrorKind::Connect
            };
            (kind, format!("I/O error talking to MongoDB: {}", io.kind()))
        }
        DriverKind::ConnectionPoolCleared { .. } => (
            ErrorKind::Connect,
            "the connection pool was cleared after a network error".into(),
        ),
        DriverKind::DnsResolve { .. } => (
            ErrorKind::Connect,
            "DNS resolution of the MongoDB hosts failed".into(),
        ),
        DriverKind::Shutdown => (
            ErrorKind::Connect,
            "the MongoDB client was shut down".into(),
        ),
        DriverKind::Authentication { message, .. } => (
            ErrorKind::Auth,
            format!("MongoDB authentication failed: {message}"),
        ),
        DriverKind::InvalidTlsConfig { message, .. } => (
            ErrorKind::Config,
            format!("invalid TLS configuration: {message}"),
        ),
        DriverKind::InvalidArgument { message, .. } => (
            ErrorKind::InvalidInput,
            format!("invalid argument: {message}"),
        ),
        DriverKind::BsonSerialization(e) => (
            ErrorKind::InvalidInput,
            format!("value cannot be serialized to BSON: {e}"),
        ),
        DriverKind::BsonDeserialization(e) => (
            ErrorKind::Backend,
            format!("stored document does not match the expected type: {e}"),
        ),
        DriverKind::SessionsNotSupported => (
            ErrorKind::Unsupported,
            "the deployment does not support sessions".into(),
        ),
        DriverKind::IncompatibleServer { message, .. } => (
            ErrorKind::Unsupported,
            format!("the server does not support this operation: {message}"),
        ),
        DriverKind::Command(c) => (
            kind_of_code(c.code),
            describe_server_error(c.code, Some(&c.code_name), &c.message),
        ),
        DriverKind::Write(WriteFailure::WriteError(w)) => (
            kind_of_code(w.code),
            describe_server_error(w.code, w.code_name.as_deref(), &w.message),
        ),
        DriverKind::Write(WriteFailure::WriteConcernError(w)) => (
            ErrorKind::Backend,
            format!(
                "write concern not satisfied: {}",
                describe_server_error(w.code, Some(&w.code_name), &w.message)
            ),
        ),
        DriverKind::InsertMany(e) => {
            let errors = e.write_errors.as_deref().unwrap_or_default();
            match errors.first() {
                Some(first) => (
                    kind_of_code(first.code),
                    format!(
                        "{} document(s) not inserted; first: {}",
                        errors.len(),
                        describe_server_error(
                            first.code,
                            first.code_name.as_deref(),
                            &first.message
                        )
                    ),
                ),
                None => (ErrorKind::Backend, "write concern not satisfied".into()),
            }
        }
        DriverKind::Transaction { message, .. } => {
            (ErrorKind::Backend, format!("transaction error: {message}"))
        }
        _ => (ErrorKind::Backend, "MongoDB driver error".into()),
    }
}

/// [`from_driver_error`] as a closure for `map_err`, with the namespace
/// (`db.collection`) as target: what the repositories use.
///
/// ```
/// use ai_data_core::ErrorKind;
/// let result: Result<(), mongodb::error::Error> = Err(mongodb::error::Error::custom("boom".to_owned()));
/// let err = result.map_err(ai_data_mongo::map_err("find", "ai_platform.system_logs")).unwrap_err();
/// assert_eq!((err.kind(), err.operation()), (ErrorKind::Backend, Some("find")));
/// ```
pub fn map_err<'a>(
    operation: &'static str,
    namespace: &'a str,
) -> impl FnOnce(DriverError) -> Error + 'a {
    move |err| from_driver_error(err, operation, namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of_code(11000), ErrorKind::Conflict);
        assert_eq!(kind_of_code(112), ErrorKind::Conflict);
        assert_eq!(kind_of_code(18), ErrorKind::Auth);
        assert_eq!(kind_of_code(13), ErrorKind::Auth);
        assert_eq!(kind_of_code(26), ErrorKind::NotFound);
        assert_eq!(kind_of_code(50), ErrorKind::Timeout);
        assert_eq!(kind_of_code(59), ErrorKind::Unsupported);
        assert_eq!(kind_of_code(121), ErrorKind::InvalidInput);
        assert_eq!(kind_of_code(10107), ErrorKind::Connect);
        assert_eq!(kind_of_code(1), ErrorKind::Backend);
    }

    #[test]
    fn duplicate_key_description_names_the_index_not_the_value() {
        let text = describe_server_error(
            11000,
            None,
            r#"E11000 duplicate key error collection: db.c index: email_1 dup key: { email: "alice@example.com" }"#,
        );
        assert_eq!(text, "duplicate key in index email_1 (E11000)");
        assert!(!text.contains("alice"));
    }

    #[test]
    fn custom_errors_are_backend_with_context() {
        let err = from_driver_error(DriverError::custom(7_u8), "ping", "admin");
        assert_eq!(err.kind(), ErrorKind::Backend);
        assert!(!err.is_retryable());
        assert_eq!(err.store(), Some(Store::Mongo));
        assert_eq!(err.operation(), Some("ping"));
        assert_eq!(err.target(), Some("admin"));
    }
}
