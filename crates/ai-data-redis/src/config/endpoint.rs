//! Where the servers are: [`HostPort`], [`Topology`], and the
//! [`Reconnect`] policy.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use ai_data_core::{Error, Result, Store};
use fred::types::config::ReconnectPolicy;

use super::DEFAULT_PORT;

/// A `host:port` pair.
///
/// ```
/// use ai_data_redis::HostPort;
///
/// let hp: HostPort = "ai-redis-headless.default.svc.cluster.local:26379".parse().unwrap();
/// assert_eq!(hp.port, 26379);
/// let v6 = HostPort::parse_with_default("[::1]", 6379).unwrap();
/// assert_eq!((v6.host.as_str(), v6.port), ("::1", 6379));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl HostPort {
    /// A pair from its parts.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// Parse `host`, `host:port`, `[v6]` or `[v6]:port`, using `default_port`
    /// when none is given.
    pub fn parse_with_default(text: &str, default_port: u16) -> Result<Self> {
        let text = text.trim();
        let bad = || Error::config(format!("`{text}` is not a host or host:port"));
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad()),
            }
        } else {
            match text.rsplit_once(':') {
                Some((host, port)) if !host.contains(':') => (host, Some(port)),
                Some(_) => return Err(bad()),
                None => (text, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => default_port,
        };
        Ok(HostPort::new(host, port))
    }

    pub(super) fn parse_list(text: &str, default_port: u16, var: &str) -> Result<Vec<HostPort>> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                HostPort::parse_with_default(s, default_port).map_err(|e| {
                    Error::config(format!("{var}: {}", e.message())).with_store(Store::Redis)
                })
            })
            .collect()
    }
}

impl FromStr for HostPort {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        HostPort::parse_with_default(s, DEFAULT_PORT)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How the Redis servers are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Topology {
    /// One server (or a Kubernetes service in front of the master).
    Standalone,
    /// A master found through Redis Sentinel: the seed's production layout
    /// (Bitnami chart, `architecture: replication`, `sentinel.enabled: true`).
    Sentinel {
        /// The master set name (Bitnami default `mymaster`).
        service_name: String,
        /// Sentinel addresses; one headless-service name that resolves to
        /// every sentinel is enough.
        sentinels: Vec<HostPort>,
        /// Authenticate to the sentinels with the same credentials as the
        /// servers (Bitnami's `auth.sentinel`, default on).
        sentinel_auth: bool,
    },
    /// Redis Cluster; any reachable node is enough to discover the others.
    Cluster {
        /// Seed nodes.
        nodes: Vec<HostPort>,
    },
}

impl Topology {
    /// `standalone`, `sentinel` or `cluster`.
    pub const fn name(&self) -> &'static str {
        match self {
            Topology::Standalone => "standalone",
            Topology::Sentinel { .. } => "sentinel",
            Topology::Cluster { .. } => "cluster",
        }
    }
}

/// When the connection drops, reconnect with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// Attempts before giving up; `0` retries forever (the default: a cache
    /// should come back by itself when Redis does).
    pub max_attempts: u32,
    /// First delay (default 100 ms).
    pub min_delay: Duration,
    /// Largest delay (default 5 s).
    pub max_delay: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            max_attempts: 0,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl Reconnect {
    /// A policy from its parts.
    pub fn new(max_attempts: u32, min_delay: Duration, max_delay: Duration) -> Self {
        Reconnect {
            max_attempts,
            min_delay,
            max_delay: max_delay.max(min_delay),
        }
    }

    pub(super) fn to_fred(self) -> ReconnectPolicy {
        let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1);
        ReconnectPolicy::new_exponential(
            self.max_attempts,
            ms(self.min_delay),
            ms(self.max_delay),
            2,
        )
    }
}
