//! The AI platform's seed data model on the `ai-data` store crates: what
//! `shared/seed/` defines, in one place, so the store crates stay reusable
//! without it.
//!
//! | module | feature | what |
//! |---|---|---|
//! | [`log_level`] | always | the one [`LogLevel`] of system logs (MongoDB documents, Kafka events) |
//! | `pg` | `pg` | the schema's migrations and the typed repositories |
//! | `kafka` | `kafka` | the seed topics, their provisioning specs and event types |
//! | `mongo` | `mongo` | collections, indexes, seed users, the log/configuration/task repositories |
//! | `vector` | `vector` | the seed's 2048-d `Image` collection (half precision, keyword search over the caption) |

pub mod log_level;

pub use log_level::LogLevel;

#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "mongo")]
pub mod mongo;
#[cfg(feature = "pg")]
pub mod pg;
#[cfg(feature = "vector")]
pub mod vector;
