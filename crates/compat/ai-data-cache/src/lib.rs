//! `ai-data-cache` is the name `ai-data-redis` had before 0.1: this crate
//! re-exports it unchanged for one release. Depend on `ai-data-redis`.
//!
//! ```
//! // The same items under both names.
//! use ai_data_cache as old;
//! let _ = std::any::type_name::<old::Error>();
//! ```

pub use ai_data_redis::*;
