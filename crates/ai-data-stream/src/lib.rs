//! Kafka through rdkafka: typed topics, producer, at-least-once consumer (issue 8).
//!
//! The crate has its place in the workspace; its API arrives with its issue.
//! Shared configuration, errors and health checks come from [`ai_data_core`].

pub use ai_data_core::{Error, ErrorKind, Result};
