//! What every `ai-data` store crate shares: the [`Store`] names, configuration
//! from environment variables, URLs and Kubernetes Secret files
//! ([`ConnectionConfig`], [`resolve_secret`]), one [`Error`] with an
//! [`ErrorKind`] and a retryable/permanent status, a [`RetryPolicy`], and the
//! [`HealthCheck`] trait, and the [`observe`] helpers (tracing spans and
//! metrics) every store operation goes through.
//!
//! Secrets are [`secrecy::SecretString`]; every config's `Debug` and
//! `Display` show `***` in their place.

mod config;
mod conn_url;
mod env;
mod error;
mod health;
pub mod observe;
mod retry;
pub mod secret;
mod store;

pub use config::{ConnectionConfig, PoolConfig, TlsConfig, TlsMode, DEFAULT_CONNECT_TIMEOUT};
pub use conn_url::ConnectionUrl;
pub use env::{EnvSource, SECRETS_DIR_VAR};
pub use error::{Error, ErrorKind, Result};
pub use health::{HealthCheck, HealthReport};
pub use retry::RetryPolicy;
pub use secret::{read_secret_file, resolve_secret};
pub use store::Store;

/// Re-exported so callers need not depend on `secrecy` themselves.
pub use secrecy::{ExposeSecret, SecretString};
