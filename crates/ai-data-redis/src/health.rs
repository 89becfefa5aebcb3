//! The Redis health check: `PING`, the server version from `INFO`, and
//! memory used against `maxmemory` (the seed's 5.3: watch memory and the
//! eviction policy).

use std::collections::HashMap;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, HealthCheck, HealthReport, Result, Store};
use async_trait::async_trait;
use fred::interfaces::ClientLike;

use crate::error::timed;
use crate::RedisClient;

/// `INFO` text as `field -> value` (section headers and blank lines skipped).
pub(crate) fn parse_info(text: &str) -> HashMap<&str, &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .collect()
}

/// The seed's `RedisHighMemoryUsage` alert: `used_memory / maxmemory * 100 > 80`.
pub(crate) const MEMORY_ALERT_PERCENT: f64 = 80.0;

/// Memory used as a percentage of `maxmemory`; `None` when `maxmemory` is 0
/// (unlimited: nothing to fill up).
pub(crate) fn memory_used_percent(used: u64, max: u64) -> Option<f64> {
    (max > 0).then(|| used as f64 / max as f64 * 100.0)
}

/// The warning of the seed's `RedisHighMemoryUsage` alert, when it would
/// fire: more than [`MEMORY_ALERT_PERCENT`] of a bounded `maxmemory` used.
pub(crate) fn memory_warning(used: u64, max: u64) -> Option<String> {
    let percent = memory_used_percent(used, max)?;
    (percent > MEMORY_ALERT_PERCENT).then(|| {
        format!(
            "Redis: {percent:.1}% of maxmemory used ({used} of {max} bytes; \
             alert above {MEMORY_ALERT_PERCENT:.0}%, the seed's RedisHighMemoryUsage)"
        )
    })
}

/// What `INFO` says about memory and the server.
#[derive(Debug, Default)]
struct Memory {
    details: Vec<(String, String)>,
    warnings: Vec<String>,
}

/// What the memory fields of `INFO` say, as report details and warnings.
fn memory_details(info: &HashMap<&str, &str>) -> Memory {
    let mut memory = Memory::default();
    let details = &mut memory.details;
    let num = |k: &str| info.get(k).and_then(|v| v.parse::<u64>().ok());
    let used = num("used_memory");
    let max = num("maxmemory");
    if let Some(used) = used {
        details.push(("used_memory".to_owned(), used.to_string()));
    }
    if let Some(max) = max {
        details.push(("maxmemory".to_owned(), max.to_string()));
    }
    if let (Some(used), Some(max)) = (used, max) {
        let (ratio, percent) = match memory_used_percent(used, max) {
            None => ("unlimited".to_owned(), "unlimited".to_owned()),
            Some(p) => (format!("{:.3}", p / 100.0), format!("{p:.1}")),
        };
        details.push(("memory_used_ratio".to_owned(), ratio));
        details.push(("memory_used_percent".to_owned(), percent));
        memory.warnings.extend(memory_warning(used, max));
    }
    if let Some(policy) = info.get("maxmemory_policy") {
        details.push(("maxmemory_policy".to_owned(), (*policy).to_owned()));
        if *policy == "noeviction" && max.is_some_and(|m| m > 0) {
            details.push((
                "warning".to_owned(),
                "maxmemory-policy noeviction: writes fail once memory is full (the seed uses allkeys-lru)"
                    .to_owned(),
            ));
        }
    }
    for key in ["redis_mode", "role", "connected_clients"] {
        if let Some(v) = info.get(key) {
            details.push((key.to_owned(), (*v).to_owned()));
        }
    }
    memory
}

impl RedisClient {
    async fn health(&self) -> Result<HealthReport> {
        let target = self.to_string();
        let limit = self.command_timeout();
        let mut info_text = String::new();
        let report = HealthReport::measure(Store::Redis, async {
            let pong: String = timed(limit, "ping", &target, self.next().ping(None)).await?;
            if pong != "PONG" {
                return Err(
                    Error::new(ErrorKind::Backend, format!("PING answered {pong:?}"))
                        .with_store(Store::Redis),
                );
            }
            info_text = timed(limit, "info", &target, self.next().info::<String>(None)).await?;
            Ok(parse_info(&info_text)
                .get("redis_version")
                .map(|v| (*v).to_owned()))
        })
        .await?;
        let info = parse_info(&info_text);
        let pool = self.record_pool_metrics();
        let mut report = report
            .with_detail("topology", self.config().topology.name())
            .with_detail("pool_size", pool.size.to_string())
            .with_detail("pool_connected", pool.connected.to_string());
        let memory = memory_details(&info);
        for (k, v) in memory.details {
            report = report.with_detail(k, v);
        }
        for warning in memory.warnings {
            report = report.with_warning(warning);
        }
        Ok(report)
    }
}

#[async_trait]
impl HealthCheck for RedisClient {
    /// `PING`, then `INFO` (default sections), observed as the operation
    /// `client.health`: the version as `server_version`; details
    /// `used_memory`, `maxmemory`, `memory_used_ratio` and
    /// `memory_used_percent` (or `unlimited`), `maxmemory_policy`,
    /// `redis_mode`, `role`, `connected_clients`, `topology`, `pool_size`,
    /// `pool_connected`, and a `warning` detail when a bounded Redis would
    /// refuse writes when full. Warns (the seed's `RedisHighMemoryUsage`)
    /// when more than 80% of a bounded `maxmemory` is used. Also publishes
    /// the pool gauges ([`RedisClient::record_pool_metrics`]).
    async fn check(&self) -> Result<HealthReport> {
        let health = std::pin::pin!(self.health());
        Operation::new(Store::Redis, "health").run(health).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:4194304\r\nmaxmemory_policy:allkeys-lru\r\n# Replication\r\nrole:master\r\n";

    #[test]
    fn parses_info_and_memory_ratio() {
        let info = parse_info(INFO);
        assert_eq!(info["redis_version"], "7.0.15");
        let memory = memory_details(&info);
        assert!(memory.warnings.is_empty(), "{:?}", memory.warnings);
        let details: HashMap<String, String> = memory.details.into_iter().collect();
        assert_eq!(details["memory_used_ratio"], "0.250");
        assert_eq!(details["memory_used_percent"], "25.0");
        assert_eq!(details["maxmemory_policy"], "allkeys-lru");
        assert_eq!(details["role"], "master");
        assert!(!details.contains_key("warning"));
    }

    #[test]
    fn unlimited_memory_and_noeviction_warning() {
        let unlimited = parse_info("used_memory:10\nmaxmemory:0\nmaxmemory_policy:noeviction\n");
        let memory = memory_details(&unlimited);
        assert!(memory.warnings.is_empty(), "{:?}", memory.warnings);
        let details: HashMap<String, String> = memory.details.into_iter().collect();
        assert_eq!(details["memory_used_ratio"], "unlimited");
        assert_eq!(details["memory_used_percent"], "unlimited");
        assert!(
            !details.contains_key("warning"),
            "no limit, nothing to refuse"
        );
        let bounded = parse_info("used_memory:10\nmaxmemory:100\nmaxmemory_policy:noeviction\n");
        let memory = memory_details(&bounded);
        assert!(
            memory.warnings.is_empty(),
            "10% used: {:?}",
            memory.warnings
        );
        let details: HashMap<String, String> = memory.details.into_iter().collect();
        assert!(details["warning"].contains("noeviction"));
    }

    #[test]
    fn memory_alert_fires_only_above_80_percent_of_a_bounded_maxmemory() {
        let max = 1_000_000;
        assert_eq!(memory_warning(790_000, max), None, "below");
        assert_eq!(
            memory_warning(800_000, max),
            None,
            "at 80%: the rule is > 80"
        );
        let above = memory_warning(800_001, max).expect("just above");
        assert!(above.contains("80.0% of maxmemory"), "{above}");
        let full = memory_warning(950_000, max).expect("above");
        assert!(full.contains("95.0%"), "{full}");
        assert!(full.contains("950000 of 1000000 bytes"), "{full}");
        assert!(full.contains("RedisHighMemoryUsage"), "{full}");
        assert_eq!(
            memory_warning(u64::MAX, 0),
            None,
            "maxmemory 0 is unlimited"
        );
        assert_eq!(memory_used_percent(1, 0), None);
        assert_eq!(memory_used_percent(1, 4), Some(25.0));
    }

    #[test]
    fn high_memory_in_info_is_a_warning_with_the_measured_values() {
        let info =
            parse_info("used_memory:900\r\nmaxmemory:1000\r\nmaxmemory_policy:allkeys-lru\r\n");
        let memory = memory_details(&info);
        assert_eq!(memory.warnings.len(), 1, "{:?}", memory.warnings);
        assert!(
            memory.warnings[0].contains("90.0%"),
            "{:?}",
            memory.warnings
        );
        let details: HashMap<String, String> = memory.details.into_iter().collect();
        assert_eq!(details["used_memory"], "900");
        assert_eq!(details["maxmemory"], "1000");
        assert_eq!(details["memory_used_percent"], "90.0");
        assert!(!details.contains_key("warning"));
    }
}
