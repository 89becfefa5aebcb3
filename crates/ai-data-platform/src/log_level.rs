//! The one severity of the platform's system logs, for both places the seed
//! keeps them: MongoDB `system_logs` documents (upper-case names, as the
//! seed writes them: `INFO`, `WARN`; `WARNING` and `CRITICAL` read too)
//! and Kafka `system-logs` records (lower-case names: `info`, `warn`).
//!
//! The default serde form is the MongoDB one; a Kafka record's field uses
//! [`lowercase`] (`#[serde(with = "ai_data_platform::log_level::lowercase")]`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Severity of a system log entry.
///
/// A stored level this enum does not know is kept as [`LogLevel::Other`];
/// querying [`LogLevel::Warn`] also finds `WARNING` entries.
///
/// ```
/// use ai_data_platform::LogLevel;
/// assert_eq!(LogLevel::parse("warning"), LogLevel::Warn);
/// assert_eq!(LogLevel::Warn.as_str(), "WARN");
/// assert_eq!(LogLevel::Warn.as_lowercase(), "warn");
/// assert_eq!(LogLevel::parse("AUDIT"), LogLevel::Other("AUDIT".into()));
/// ```
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
    /// The stored (MongoDB, upper-case) name.
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

    /// The Kafka record's (lower-case) name; [`LogLevel::Other`] as stored.
    pub fn as_lowercase(&self) -> &str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
            LogLevel::Other(s) => s,
        }
    }

    /// Every stored name that means this level.
    pub fn stored_names(&self) -> Vec<&str> {
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

/// The Kafka `system-logs` wire form: exactly `trace`, `debug`, `info`,
/// `warn`, `error` (and `fatal`); anything else is a decode error, as the
/// record's schema allows no other level.
///
/// ```
/// use ai_data_platform::LogLevel;
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Record {
///     #[serde(with = "ai_data_platform::log_level::lowercase")]
///     level: LogLevel,
/// }
/// let json = serde_json::to_string(&Record { level: LogLevel::Warn }).unwrap();
/// assert_eq!(json, r#"{"level":"warn"}"#);
/// assert!(serde_json::from_str::<Record>(r#"{"level":"WARN"}"#).is_err());
/// ```
pub mod lowercase {
    use super::LogLevel;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Write the lower-case name.
    pub fn serialize<S: Serializer>(level: &LogLevel, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(level.as_lowercase())
    }

    /// Read one of the lower-case names.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LogLevel, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "trace" => Ok(LogLevel::Trace),
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" => Ok(LogLevel::Warn),
            "error" => Ok(LogLevel::Error),
            "fatal" => Ok(LogLevel::Fatal),
            _ => Err(D::Error::unknown_variant(
                &name,
                &["trace", "debug", "info", "warn", "error", "fatal"],
            )),
        }
    }
}
