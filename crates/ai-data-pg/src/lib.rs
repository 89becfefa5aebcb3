//! PostgreSQL + pgvector: pooled sqlx client, migrations, typed repositories (issue 3).
//!
//! The crate has its place in the workspace; its API arrives with its issue.
//! Shared configuration, errors and health checks come from [`ai_data_core`].

pub use ai_data_core::{Error, ErrorKind, Result};
