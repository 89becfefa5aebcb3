//! MongoDB: pooled client, collection and index bootstrap, typed repositories (issue 6).
//!
//! The crate has its place in the workspace; its API arrives with its issue.
//! Shared configuration, errors and health checks come from [`ai_data_core`].

pub use ai_data_core::{Error, ErrorKind, Result};
