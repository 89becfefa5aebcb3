//! What every `ai-data` store crate shares: the [`Store`] names, configuration
//! from environment variables, URLs and Kubernetes Secret files
//! ([`ConnectionConfig`], [`resolve_secret`]) and the base of each store's own
//! config ([`store_config`], [`env_enum`]), one [`Error`] with an
//! [`ErrorKind`] and an [`ErrorStatus`] (permanent, temporary, persistent), a
//! [`RetryPolicy`], the [`HealthCheck`] trait, the [`observe`] helpers
//! (tracing spans and metrics) and the [`executor`] that applies them, with
//! a deadline, retries and pool gauges, to every store call.
//!
//! Secrets are [`secrecy::SecretString`]; every config's `Debug` and
//! `Display` show `***` in their place.

mod config;
mod conn_url;
mod env;
pub mod env_enum;
mod error;
pub mod executor;
mod health;
pub mod observe;
mod retry;
pub mod secret;
mod store;
pub mod store_config;

pub use config::{ConnectionConfig, PoolConfig, TlsConfig, TlsMode, DEFAULT_CONNECT_TIMEOUT};
pub use conn_url::ConnectionUrl;
pub use env::{EnvSource, SECRETS_DIR_VAR};
pub use env_enum::parse_env_enum;
pub use error::{Error, ErrorKind, ErrorStatus, Result};
pub use executor::Executor;
pub use health::{HealthCheck, HealthReport};
pub use retry::RetryPolicy;
pub use secret::{read_secret_file, resolve_secret};
pub use store::Store;

/// Re-exported so callers need not depend on `secrecy` themselves.
pub use secrecy::{ExposeSecret, SecretString};
