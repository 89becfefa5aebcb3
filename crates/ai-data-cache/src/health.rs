//! The Redis health check: `PING`, the server version from `INFO`, and
//! memory used against `maxmemory` (the seed's 5.3: watch memory and the
//! eviction policy).

use std::collections::HashMap;

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

/// What the memory fields of `INFO` say, as report details.
fn memory_details(info: &HashMap<&str, &str>) -> Vec<(String, String)> {
    let mut details = Vec::new();
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
        let ratio = if max == 0 {
            "unlimited".to_owned()
        } else {
            format!("{:.3}", used as f64 / max as f64)
        };
        details.push(("memory_used_ratio".to_owned(), ratio));
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
    details
}

#[async_trait]
impl HealthCheck for RedisClient {
    /// `PING`, then `INFO` (default sections): the version as
    /// `server_version`; details `used_memory`, `maxmemory`,
    /// `memory_used_ratio` (or `unlimited`), `maxmemory_policy`,
    /// `redis_mode`, `role`, `connected_clients`, `topology`, `pool_size`,
    /// and a `warning` when a bounded Redis would refuse writes when full.
    async fn check(&self) -> Result<HealthReport> {
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
        let mut report = report
            .with_detail("topology", self.config().topology.name())
            .with_detail("pool_size", self.pool().size().to_string());
        for (k, v) in memory_details(&info) {
            report = report.with_detail(k, v);
        }
        Ok(report)
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
        let details: HashMap<String, String> = memory_details(&info).into_iter().collect();
        assert_eq!(details["memory_used_ratio"], "0.250");
        assert_eq!(details["maxmemory_policy"], "allkeys-lru");
        assert_eq!(details["role"], "master");
        assert!(!details.contains_key("warning"));
    }

    #[test]
    fn unlimited_memory_and_noeviction_warning() {
        let unlimited = parse_info("used_memory:10\nmaxmemory:0\nmaxmemory_policy:noeviction\n");
        let details: HashMap<String, String> = memory_details(&unlimited).into_iter().collect();
        assert_eq!(details["memory_used_ratio"], "unlimited");
        assert!(
            !details.contains_key("warning"),
            "no limit, nothing to refuse"
        );
        let bounded = parse_info("used_memory:10\nmaxmemory:100\nmaxmemory_policy:noeviction\n");
        let details: HashMap<String, String> = memory_details(&bounded).into_iter().collect();
        assert!(details["warning"].contains("noeviction"));
    }
}
