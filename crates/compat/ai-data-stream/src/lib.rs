//! `ai-data-stream` is the name `ai-data-kafka` had before 0.1: this crate
//! re-exports it unchanged for one release. Depend on `ai-data-kafka`.
//!
//! ```
//! // The same items under both names.
//! use ai_data_stream as old;
//! let _ = std::any::type_name::<old::Error>();
//! ```

pub use ai_data_kafka::*;
