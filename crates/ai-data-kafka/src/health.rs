//! Cluster metadata within a timeout: the health check of every client here.

use std::collections::BTreeMap;
use std::time::Duration;

use std::sync::Arc;

use ai_data_core::{Error, ErrorKind, HealthReport, Result, Store};
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseProducer, Producer as _};

use crate::context::{IssueLog, StreamContext};
use crate::error::from_kafka;
use crate::KafkaConfig;

/// What the cluster's metadata says: brokers and topics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClusterInfo {
    /// Brokers as `id -> host:port`.
    pub brokers: BTreeMap<i32, String>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicInfo>,
}

/// One topic in the cluster metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicInfo {
    /// Number of partitions.
    pub partitions: usize,
    /// Replicas of the first partition (the replication factor).
    pub replication: usize,
}

impl ClusterInfo {
    fn from_metadata(metadata: &Metadata) -> Self {
        let brokers = metadata
            .brokers()
            .iter()
            .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
            .collect();
        let topics = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| {
                let info = TopicInfo {
                    partitions: t.partitions().len(),
                    replication: t.partitions().first().map_or(0, |p| p.replicas().len()),
                };
                (t.name().to_owned(), info)
            })
            .collect();
        ClusterInfo { brokers, topics }
    }
}

/// Time `probe` into a health report with the broker and topic counts as details.
pub(crate) async fn health_report<F>(probe: F) -> Result<HealthReport>
where
    F: std::future::Future<Output = Result<ClusterInfo>>,
{
    let mut seen = None;
    let report = HealthReport::measure(Store::Kafka, async {
        seen = Some(probe.await?);
        Ok(None)
    })
    .await?;
    let info = seen.unwrap_or_default();
    Ok(report
        .with_detail("brokers", info.brokers.len().to_string())
        .with_detail("topics", info.topics.len().to_string()))
}

/// Fetch all topics' metadata from `client` on a blocking thread, within `timeout`.
pub(crate) fn fetch<C: ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> KafkaResult<ClusterInfo> {
    client
        .fetch_metadata(None, timeout)
        .map(|m| ClusterInfo::from_metadata(&m))
}

/// Run `fetch` on a blocking thread. A request that fails or times out is
/// explained by the client's last connection issue (authentication
/// failure, refused connection); when there is none, a request that found
/// no broker within `timeout` is an [`ErrorKind::Connect`] error whose
/// cause is the connect timeout.
pub(crate) async fn cluster_metadata<F>(
    fetch: F,
    issues: &IssueLog,
    timeout: Duration,
) -> Result<ClusterInfo>
where
    F: FnOnce() -> KafkaResult<ClusterInfo> + Send + 'static,
{
    let fetched = tokio::task::spawn_blocking(fetch).await.map_err(|e| {
        Error::new(ErrorKind::Backend, "the metadata task failed")
            .with_store(Store::Kafka)
            .with_source(e)
    })?;
    match fetched {
        Ok(info) if info.brokers.is_empty() => Err(Error::new(
            ErrorKind::Connect,
            "the cluster metadata lists no broker",
        )
        .with_store(Store::Kafka)
        .with_operation("metadata")),
        Ok(info) => Ok(info),
        Err(e) => {
            let err = from_kafka(e.clone(), "metadata");
            if let Some(explained) = issues.explanation(&err) {
                return Err(explained);
            }
            if !matches!(err.kind(), ErrorKind::Connect | ErrorKind::Timeout) {
                return Err(err);
            }
            // librdkafka fails a metadata request that found no usable
            // broker within its timeout with a transport failure, and
            // reports the connection setup timeout itself only later.
            Err(Error::new(
                ErrorKind::Connect,
                format!("no broker reachable within {timeout:?} ({})", err.message()),
            )
            .with_store(Store::Kafka)
            .with_operation("metadata")
            .temporary()
            .with_source(NoBroker { timeout, error: e }))
        }
    }
}

/// The cause of a connect step that found no broker: the connect timeout
/// passed, and the driver's error.
#[derive(Debug)]
struct NoBroker {
    timeout: Duration,
    error: KafkaError,
}

impl std::fmt::Display for NoBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no broker connection was set up within the connect timeout of {:?}",
            self.timeout
        )
    }
}

impl std::error::Error for NoBroker {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A small client of its own for metadata requests, whose error events are
/// served right after each request: the admin client and a consumer that
/// has not subscribed yet never serve theirs, so they could not tell a
/// wrong password from an unreachable broker.
#[derive(Clone)]
pub(crate) struct Probe {
    client: Arc<BaseProducer<StreamContext>>,
    issues: IssueLog,
    timeout: Duration,
}

impl Probe {
    pub(crate) fn new(config: &KafkaConfig) -> Result<Self> {
        let context = StreamContext::new();
        let issues = context.issues.clone();
        let client: BaseProducer<StreamContext> = config
            .rdkafka_admin_config()
            .create_with_context(context)
            .map_err(|e| from_kafka(e, "create metadata client"))?;
        Ok(Probe {
            client: Arc::new(client),
            issues,
            timeout: config.connect_timeout,
        })
    }

    /// All topics' metadata within the connect timeout.
    pub(crate) async fn cluster_info(&self) -> Result<ClusterInfo> {
        let (client, timeout) = (self.client.clone(), self.timeout);
        cluster_metadata(
            move || {
                let result = fetch(client.client(), timeout);
                if result.is_err() {
                    // Serve the error events that say why (authentication
                    // failure, connection refused).
                    client.poll(Duration::from_millis(100));
                }
                result
            },
            &self.issues,
            self.timeout,
        )
        .await
    }
}
