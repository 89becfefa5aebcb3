//! Redis through fred: cache-aside, sessions, rate limits, cached vector search (issue 7).
//!
//! The crate has its place in the workspace; its API arrives with its issue.
//! Shared configuration, errors and health checks come from [`ai_data_core`].

pub use ai_data_core::{Error, ErrorKind, Result};
