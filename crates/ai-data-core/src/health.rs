//! Health checks: one trait every store client implements.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{Result, Store};

/// What a successful health check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthReport {
    /// The store checked.
    pub store: Store,
    /// Round-trip time of the check.
    pub latency: Duration,
    /// Version the server reports, when it reports one.
    pub server_version: Option<String>,
    /// Store-specific facts (extension versions, memory use, broker count).
    pub details: BTreeMap<String, String>,
    /// Conditions the platform's monitoring alerts on (seed, section 8):
    /// the store answers, but someone should look.
    pub warnings: Vec<String>,
}

impl HealthReport {
    /// Time `probe`, which returns the server version, into a report.
    ///
    /// ```
    /// use ai_data_core::{HealthReport, Store};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let report = HealthReport::measure(Store::Redis, async { Ok(Some("7.0.15".to_owned())) })
    ///     .await
    ///     .unwrap()
    ///     .with_detail("role", "master");
    /// assert_eq!(report.server_version.as_deref(), Some("7.0.15"));
    /// assert_eq!(report.details["role"], "master");
    /// assert!(report.warnings.is_empty());
    /// # }
    /// ```
    pub async fn measure<F>(store: Store, probe: F) -> Result<HealthReport>
    where
        F: Future<Output = Result<Option<String>>>,
    {
        let start = Instant::now();
        let server_version = probe.await?;
        Ok(HealthReport {
            store,
            latency: start.elapsed(),
            server_version,
            details: BTreeMap::new(),
            warnings: Vec::new(),
        })
    }

    /// Add one store-specific fact.
    #[must_use]
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Add a warning (see [`HealthReport::warnings`]).
    #[must_use]
    pub fn with_warning(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }
}

/// A store client that can tell whether its server answers.
///
/// Object-safe so that a service can hold `Vec<Box<dyn HealthCheck>>`.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Ask the server something cheap and report latency and version.
    async fn check(&self) -> Result<HealthReport>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ErrorKind};

    struct Down;

    #[async_trait]
    impl HealthCheck for Down {
        async fn check(&self) -> Result<HealthReport> {
            HealthReport::measure(Store::Kafka, async {
                Err(Error::new(ErrorKind::Connect, "no broker"))
            })
            .await
        }
    }

    #[tokio::test]
    async fn failed_probe_is_an_error_through_a_trait_object() {
        let checks: Vec<Box<dyn HealthCheck>> = vec![Box::new(Down)];
        let err = checks[0].check().await.expect_err("down");
        assert_eq!(err.kind(), ErrorKind::Connect);
    }

    #[tokio::test]
    async fn latency_covers_the_probe() {
        let report = HealthReport::measure(Store::Postgres, async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(None)
        })
        .await
        .expect("ok");
        assert!(report.latency >= Duration::from_millis(20));
        assert_eq!(report.server_version, None);
    }
}
