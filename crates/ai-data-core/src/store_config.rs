//! The base of every store's config: a `connection:` [`ConnectionConfig`]
//! plus the store's extras. Read both with one
//! [`EnvSource::load_connection`](crate::EnvSource::load_connection), get
//! the shared setters from [`connection_setters!`](crate::connection_setters),
//! and write `Debug` / `Display` with [`debug_struct`], [`redacted`] and
//! [`write_summary`], so secrets show as `***` the way [`ConnectionConfig`]
//! shows them.
//!
//! A whole (tiny) store config:
//!
//! ```
//! use std::fmt;
//! use std::time::Duration;
//! use ai_data_core::store_config::{debug_struct, redacted, write_summary};
//! use ai_data_core::{ConnectionConfig, EnvSource, Result, SecretString, Store};
//! use serde::Deserialize;
//!
//! #[derive(Clone)]
//! pub struct DemoConfig {
//!     pub connection: ConnectionConfig,
//!     pub request_timeout: Duration,
//!     pub token: Option<SecretString>,
//! }
//!
//! #[derive(Deserialize)]
//! struct DemoExtras {
//!     #[serde(default, with = "humantime_serde")]
//!     request_timeout: Option<Duration>,
//!     token: Option<SecretString>,
//! }
//!
//! impl DemoConfig {
//!     pub fn from_env_source(env: &EnvSource) -> Result<Self> {
//!         let (connection, extras) = env.load_connection::<DemoExtras>(Store::Redis)?;
//!         Ok(DemoConfig {
//!             connection,
//!             request_timeout: extras.request_timeout.unwrap_or(Duration::from_secs(2)),
//!             token: extras.token,
//!         })
//!     }
//! }
//!
//! ai_data_core::connection_setters!(DemoConfig {
//!     with_username => username,
//!     /// Set the password (`requirepass`).
//!     with_password => secret,
//!     with_connect_timeout => connect_timeout,
//! });
//!
//! impl fmt::Debug for DemoConfig {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
//!         debug_struct(f, "DemoConfig", &self.connection)
//!             .field("request_timeout", &self.request_timeout)
//!             .field("token", &redacted(&self.token))
//!             .finish()
//!     }
//! }
//!
//! impl fmt::Display for DemoConfig {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
//!         let timeout = format!("timeout {:?}", self.request_timeout);
//!         write_summary(f, &self.connection, [timeout])
//!     }
//! }
//!
//! let env = EnvSource::from_pairs([
//!     ("AI_DATA_REDIS_URL", "redis://cache:6379"),
//!     ("AI_DATA_REDIS_TOKEN", "tok-secret"),
//!     ("AI_DATA_REDIS_REQUEST_TIMEOUT", "250ms"),
//! ]);
//! let config = DemoConfig::from_env_source(&env)?.with_password("pw-secret");
//! assert_eq!(config.to_string(), "redis://:***@cache:6379 (timeout 250ms)");
//! let debug = format!("{config:?}");
//! assert!(debug.starts_with("DemoConfig { connection: ConnectionConfig {"));
//! assert!(!debug.contains("pw-secret") && !debug.contains("tok-secret"));
//! assert!(debug.contains(r#"token: Some("***")"#));
//! # Ok::<(), ai_data_core::Error>(())
//! ```

use std::fmt;

use crate::ConnectionConfig;

/// Start a store config's `Debug`: `name { connection: .. }`, the
/// connection shown as [`ConnectionConfig`]'s `Debug` shows it (secret as
/// `***`). Add the extras with `.field(..)` (secrets through [`redacted`])
/// and `.finish()`.
///
/// ```
/// use ai_data_core::{store_config::debug_struct, ConnectionConfig, Store};
///
/// struct Shown(ConnectionConfig);
/// impl std::fmt::Debug for Shown {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         debug_struct(f, "Shown", &self.0).field("batch", &64).finish()
///     }
/// }
/// let shown = Shown(ConnectionConfig::new(Store::Mongo).with_secret("pw-1"));
/// let text = format!("{shown:?}");
/// assert!(text.starts_with("Shown { connection: ConnectionConfig {") && text.ends_with("batch: 64 }"));
/// assert!(!text.contains("pw-1"));
/// ```
pub fn debug_struct<'a, 'b>(
    f: &'a mut fmt::Formatter<'b>,
    name: &str,
    connection: &ConnectionConfig,
) -> fmt::DebugStruct<'a, 'b> {
    let mut d = f.debug_struct(name);
    d.field("connection", connection);
    d
}

/// A secret as `Debug` shows it: `Some("***")` or `None`, never the value
/// (the form [`ConnectionConfig`]'s own `Debug` uses).
///
/// ```
/// use ai_data_core::{store_config::redacted, SecretString};
/// let token = Some(SecretString::from("tok-1"));
/// assert_eq!(format!("{:?}", redacted(&token)), r#"Some("***")"#);
/// assert_eq!(redacted::<SecretString>(&None), None);
/// ```
pub fn redacted<T>(secret: &Option<T>) -> Option<&'static str> {
    secret.as_ref().map(|_| "***")
}

/// Write `endpoint` (a [`ConnectionConfig`], or a store's own redacted
/// summary) followed by ` (note, note)` when there are notes; nothing
/// after it when there are none.
///
/// ```
/// use ai_data_core::{store_config::write_summary, ConnectionConfig, Store};
///
/// struct Summary(ConnectionConfig, Vec<&'static str>);
/// impl std::fmt::Display for Summary {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write_summary(f, &self.0, &self.1)
///     }
/// }
/// let c = ConnectionConfig::from_url(Store::Mongo, "mongodb://u:pw@db:27017/app").unwrap();
/// assert_eq!(Summary(c.clone(), vec!["replicaSet=rs0"]).to_string(), "mongodb://u:***@db:27017/app (replicaSet=rs0)");
/// assert_eq!(Summary(c, vec![]).to_string(), "mongodb://u:***@db:27017/app");
/// ```
pub fn write_summary<I>(
    f: &mut fmt::Formatter<'_>,
    endpoint: &dyn fmt::Display,
    notes: I,
) -> fmt::Result
where
    I: IntoIterator,
    I::Item: fmt::Display,
{
    write!(f, "{endpoint}")?;
    let mut first = true;
    for note in notes {
        f.write_str(if first { " (" } else { ", " })?;
        write!(f, "{note}")?;
        first = false;
    }
    if !first {
        f.write_str(")")?;
    }
    Ok(())
}

/// Generate a store config's shared `with_*` setters as inherent methods
/// that write its `connection: ConnectionConfig` field.
///
/// Each entry is `method_name => setting`, the store choosing the name it
/// already uses (`with_password`, `with_api_key`, `with_secret`), with
/// optional doc comments replacing the default one. Settings and the
/// argument each method takes:
///
/// | setting | argument | sets |
/// |---|---|---|
/// | `host` | `impl Into<String>` | [`ConnectionConfig::host`] |
/// | `port` | `u16` | [`ConnectionConfig::port`] |
/// | `database` | `impl Into<String>` | [`ConnectionConfig::database`] |
/// | `username` | `impl Into<String>` | [`ConnectionConfig::username`] |
/// | `secret` | `impl Into<SecretString>` | [`ConnectionConfig::secret`] |
/// | `connect_timeout` | `Duration` | [`ConnectionConfig::connect_timeout`] |
/// | `tls` | `TlsMode, Option<PathBuf>` | [`ConnectionConfig::tls`] |
/// | `pool` | `PoolConfig` | [`ConnectionConfig::pool`] |
///
/// Inherent methods, not a trait: callers keep calling
/// `PgConfig::from_url(..)?.with_pool(..)` without importing anything, and
/// rustdoc lists the setters on the store's own type.
///
/// ```
/// use std::time::Duration;
/// use ai_data_core::{ConnectionConfig, PoolConfig, Store};
///
/// pub struct PgLike { pub connection: ConnectionConfig }
/// ai_data_core::connection_setters!(PgLike {
///     with_host => host,
///     with_port => port,
///     with_pool => pool,
///     /// Set the connect timeout (`AI_DATA_PG_CONNECT_TIMEOUT`).
///     with_connect_timeout => connect_timeout,
/// });
///
/// let c = PgLike { connection: ConnectionConfig::new(Store::Postgres) }
///     .with_host("db")
///     .with_port(6432)
///     .with_connect_timeout(Duration::from_secs(3))
///     .with_pool(PoolConfig::default());
/// assert_eq!(c.connection.to_string(), "postgres://db:6432");
/// assert_eq!(c.connection.connect_timeout, Duration::from_secs(3));
/// ```
#[macro_export]
macro_rules! connection_setters {
    ($ty:ty { $( $(#[$meta:meta])* $method:ident => $setting:ident ),* $(,)? }) => {
        impl $ty {
            $( $crate::connection_setters!(@setter [$(#[$meta])*] $method $setting); )*
        }
    };
    (@setter [] $method:ident host) => {
        $crate::connection_setters!(@setter [#[doc = "Set the host, overriding the URL's."]] $method host);
    };
    (@setter [] $method:ident port) => {
        $crate::connection_setters!(@setter [#[doc = "Set the port, overriding the URL's."]] $method port);
    };
    (@setter [] $method:ident database) => {
        $crate::connection_setters!(@setter [#[doc = "Set the database, overriding the URL's."]] $method database);
    };
    (@setter [] $method:ident username) => {
        $crate::connection_setters!(@setter [#[doc = "Set the user name, overriding the URL's."]] $method username);
    };
    (@setter [] $method:ident secret) => {
        $crate::connection_setters!(@setter [#[doc = "Set the password (or API key)."]] $method secret);
    };
    (@setter [] $method:ident connect_timeout) => {
        $crate::connection_setters!(@setter [#[doc = "Set the timeout for establishing one connection."]] $method connect_timeout);
    };
    (@setter [] $method:ident tls) => {
        $crate::connection_setters!(@setter [#[doc = "Set TLS: a mode and an optional CA bundle (PEM)."]] $method tls);
    };
    (@setter [] $method:ident pool) => {
        $crate::connection_setters!(@setter [#[doc = "Set the pool settings."]] $method pool);
    };
    (@setter [$(#[$meta:meta])+] $method:ident host) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(mut self, host: impl ::std::convert::Into<::std::string::String>) -> Self {
            self.connection = self.connection.with_host(host);
            self
        }
    };
    (@setter [$(#[$meta:meta])+] $method:ident port) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(mut self, port: u16) -> Self {
            self.connection = self.connection.with_port(port);
            self
        }
    };
    (@setter [$(#[$meta:meta])+] $method:ident database) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(mut self, database: impl ::std::convert::Into<::std::string::String>) -> Self {
            self.connection = self.connection.with_database(database);
            self
        }
    };
    (@setter [$(#[$meta:meta])+] $method:ident username) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(mut self, username: impl ::std::convert::Into<::std::string::String>) -> Self {
            self.connection = self.connection.with_username(username);
            self
        }
    };
    (@setter [$(#[$meta:meta])+] $method:ident secret) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(mut self, secret: impl ::std::convert::Into<$crate::SecretString>) -> Self {
            self.connection = self.connection.with_secret(secret);
            self
        }
    };
    (@setter [$(#[$meta:meta])+] $method:ident connect_timeout) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(mut self, timeout: ::std::time::Duration) -> Self {
            self.connection.connect_timeout = timeout;
            self
        }
    };
    (@setter [$(#[$meta:meta])+] $method:ident tls) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(
            mut self,
            mode: $crate::TlsMode,
            ca_file: ::std::option::Option<::std::path::PathBuf>,
        ) -> Self {
            self.connection = self.connection.with_tls(mode, ca_file);
            self
        }
    };
    (@setter [$(#[$meta:meta])+] $method:ident pool) => {
        $(#[$meta])+
        #[must_use]
        pub fn $method(mut self, pool: $crate::PoolConfig) -> Self {
            self.connection = self.connection.with_pool(pool);
            self
        }
    };
}

#[cfg(test)]
mod tests;
