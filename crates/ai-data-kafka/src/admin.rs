//! Topic provisioning through the admin API: the seed's topics, created the
//! same way in every environment, idempotently.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, HealthCheck, HealthReport, Result, Store};
use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;
use tokio::time::Instant;

use crate::context::{IssueLog, StreamContext};
use crate::error::from_kafka;
use crate::health::{health_report, ClusterInfo, Probe};
use crate::lag::{fetch_lag, ConsumerLag};
use crate::KafkaConfig;

/// Default timeout of topic creation, deletion and config requests (as
/// Kafka's `default.api.timeout.ms`).
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// `cleanup.policy` of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CleanupPolicy {
    /// Delete segments older than the retention.
    Delete,
    /// Keep the latest record per key.
    Compact,
    /// Both.
    CompactDelete,
}

impl CleanupPolicy {
    /// Kafka's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }
}

/// A topic to provision: name, partitions, replication factor, topic config.
///
/// ```
/// use std::time::Duration;
/// use ai_data_kafka::{CleanupPolicy, TopicSpec};
///
/// let spec = TopicSpec::new("embeddings", 6, 3)
///     .with_retention(Duration::from_secs(7 * 24 * 3600))
///     .with_cleanup_policy(CleanupPolicy::Delete)
///     .with_config("max.message.bytes", "2097152");
/// assert_eq!(spec.config["retention.ms"], "604800000");
/// assert_eq!(spec.dead_letter().name, "embeddings.dlq");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: i32,
    /// Replication factor.
    pub replication: i32,
    /// Topic-level config (`retention.ms`, `cleanup.policy`, ...).
    pub config: BTreeMap<String, String>,
}

impl TopicSpec {
    /// A topic with no config of its own (the broker's defaults).
    pub fn new(name: impl Into<String>, partitions: i32, replication: i32) -> Self {
        TopicSpec {
            name: name.into(),
            partitions,
            replication,
            config: BTreeMap::new(),
        }
    }

    /// Set `retention.ms`.
    #[must_use]
    pub fn with_retention(self, retention: Duration) -> Self {
        let ms = retention.as_millis().min(i64::MAX as u128).to_string();
        self.with_config("retention.ms", ms)
    }

    /// Set `cleanup.policy`.
    #[must_use]
    pub fn with_cleanup_policy(self, policy: CleanupPolicy) -> Self {
        self.with_config("cleanup.policy", policy.as_str())
    }

    /// Set any topic config entry.
    #[must_use]
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Put `prefix` in front of the name.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.name = format!("{prefix}{}", self.name);
        self
    }

    /// The dead-letter topic of this topic: `<name>.dlq`, same partitions
    /// and replication, kept 14 days (time to inspect and replay).
    pub fn dead_letter(&self) -> TopicSpec {
        TopicSpec::new(
            dead_letter_name(&self.name),
            self.partitions,
            self.replication,
        )
        .with_retention(Duration::from_millis(14 * DAY_MS))
        .with_cleanup_policy(CleanupPolicy::Delete)
    }

    fn validate(&self) -> Result<()> {
        let bad = |why: String| {
            Err(Error::invalid_input(why)
                .with_store(Store::Kafka)
                .with_operation("create topics")
                .with_target(self.name.clone()))
        };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 249
            && self.name != "."
            && self.name != ".."
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !name_ok {
            return bad(format!(
                "invalid topic name {:?}: use 1-249 of [a-zA-Z0-9._-]",
                self.name
            ));
        }
        if self.partitions < 1 || self.replication < 1 {
            return bad(format!(
                "partitions ({}) and replication ({}) must be at least 1",
                self.partitions, self.replication
            ));
        }
        Ok(())
    }
}

/// The name of `topic`'s dead-letter topic: `<topic>.dlq`.
pub fn dead_letter_name(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// What provisioning found or did for one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicStatus {
    /// The topic was created as specified.
    Created,
    /// The topic existed with at least the requested partitions; its
    /// config was left as it is.
    Exists {
        /// Partitions it has.
        partitions: i32,
        /// Its replication factor.
        replication: i32,
    },
    /// The topic existed with fewer partitions than requested: keyed
    /// ordering and throughput assumptions do not hold. Kafka can add
    /// partitions but that moves keys between partitions, so this is
    /// reported, not fixed.
    FewerPartitions {
        /// Partitions it has.
        existing: i32,
        /// Partitions requested.
        requested: i32,
    },
}

/// One topic's provisioning outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicOutcome {
    /// The topic.
    pub name: String,
    /// What happened.
    pub status: TopicStatus,
}

/// The outcome of [`Admin::ensure_topics`], one entry per requested topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProvisionReport {
    /// Outcomes in the order requested.
    pub topics: Vec<TopicOutcome>,
}

impl ProvisionReport {
    /// The status of `name`.
    pub fn status(&self, name: &str) -> Option<TopicStatus> {
        self.topics
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.status)
    }

    /// Topics created by this call.
    pub fn created(&self) -> Vec<&str> {
        self.topics
            .iter()
            .filter(|t| t.status == TopicStatus::Created)
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Topics with fewer partitions than requested.
    pub fn mismatches(&self) -> Vec<&TopicOutcome> {
        self.topics
            .iter()
            .filter(|t| matches!(t.status, TopicStatus::FewerPartitions { .. }))
            .collect()
    }

    /// The report, or an [`ErrorKind::Conflict`] error naming every topic
    /// with fewer partitions than requested.
    pub fn into_result(self) -> Result<Self> {
        let mismatches: Vec<String> = self
            .mismatches()
            .iter()
            .map(|t| match t.status {
                TopicStatus::FewerPartitions {
                    existing,
                    requested,
                } => format!(
                    "{} has {existing} partitions, {requested} requested",
                    t.name
                ),
                _ => t.name.clone(),
            })
            .collect();
        if mismatches.is_empty() {
            Ok(self)
        } else {
            Err(Error::new(ErrorKind::Conflict, mismatches.join("; "))
                .with_store(Store::Kafka)
                .with_operation("ensure topics"))
        }
    }
}

/// The admin client: provisioning, topic config, deletion, health.
///
/// ```no_run
/// use ai_data_kafka::{Admin, KafkaConfig, TopicSpec};
///
/// # async fn demo() -> ai_data_kafka::Result<()> {
/// let admin = Admin::new(&KafkaConfig::from_env()?)?;
/// let mut specs = vec![TopicSpec::new("events", 3, 2), TopicSpec::new("audit", 1, 2)];
/// let dead_letters: Vec<_> = specs.iter().map(|s| s.dead_letter()).collect();
/// specs.extend(dead_letters);
/// // Created or already there; fewer partitions than requested is an error here.
/// let report = admin.ensure_topics(&specs).await?.into_result()?;
/// println!("created: {:?}", report.created());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Admin {
    client: Arc<AdminClient<StreamContext>>,
    config: Arc<KafkaConfig>,
    probe: Probe,
    issues: IssueLog,
    timeout: Duration,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// An admin client for `config`. Metadata requests time out after the
    /// config's connect timeout; topic operations after
    /// [`DEFAULT_OPERATION_TIMEOUT`] (see [`Admin::with_operation_timeout`]).
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        config.validate()?;
        let context = StreamContext::new();
        let issues = context.issues.clone();
        let client: AdminClient<StreamContext> = config
            .rdkafka_admin_config()
            .create_with_context(context)
            .map_err(|e| from_kafka(e, "create admin client"))?;
        Ok(Admin {
            client: Arc::new(client),
            config: Arc::new(config.clone()),
            probe: Probe::new(config)?,
            issues,
            timeout: DEFAULT_OPERATION_TIMEOUT.max(config.connect_timeout),
        })
    }

    /// Set how long topic creation, deletion and config requests may take.
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .operation_timeout(Some(self.timeout))
            .request_timeout(Some(self.timeout))
    }

    /// The cluster's brokers and topics.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        Operation::new(Store::Kafka, "cluster_info")
            .run_counted(self.probe.cluster_info(), |info| info.topics.len())
            .await
    }

    /// Create the topics that do not exist; check the partitions of those
    /// that do. Idempotent: running it again reports every topic as
    /// [`TopicStatus::Exists`]. Existing topics' config is not changed.
    pub async fn ensure_topics(&self, specs: &[TopicSpec]) -> Result<ProvisionReport> {
        Operation::new(Store::Kafka, "admin.ensure_topics")
            .target(only_name(specs.iter().map(|s| s.name.as_str())))
            .run_counted(self.provision(specs), |report| report.topics.len())
            .await
    }

    async fn provision(&self, specs: &[TopicSpec]) -> Result<ProvisionReport> {
        for spec in specs {
            spec.validate()?;
        }
        let existing = self.probe.cluster_info().await?.topics;
        let missing: Vec<&TopicSpec> = specs
            .iter()
            .filter(|s| !existing.contains_key(&s.name))
            .collect();
        let mut created = Vec::new();
        let mut raced = Vec::new();
        if !missing.is_empty() {
            let new_topics: Vec<NewTopic<'_>> = missing
                .iter()
                .map(|s| {
                    s.config.iter().fold(
                        NewTopic::new(
                            &s.name,
                            s.partitions,
                            TopicReplication::Fixed(s.replication),
                        ),
                        |t, (k, v)| t.set(k, v),
                    )
                })
                .collect();
            let results = self
                .client
                .create_topics(&new_topics, &self.options())
                .await
                .map_err(|e| self.issues.explain(from_kafka(e, "create topics")))?;
            for result in results {
                match result {
                    Ok(name) => created.push(name),
                    // Someone else created it between our look and our create.
                    Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => raced.push(name),
                    Err((name, code)) => {
                        let (kind, retryable) = crate::error::classify(code);
                        let err = Error::new(kind, format!("{code:?}: {code}"))
                            .with_store(Store::Kafka)
                            .with_operation("create topics")
                            .with_target(name);
                        return Err(if retryable {
                            err.temporary()
                        } else {
                            err.permanent()
                        });
                    }
                }
            }
        }
        // Wait until the metadata shows what was created (or raced), so
        // that producers right after this call find the topics.
        let mut current = existing;
        let deadline = Instant::now() + self.timeout;
        loop {
            let visible = created
                .iter()
                .chain(&raced)
                .all(|n| current.get(n).is_some_and(|t| t.partitions > 0));
            if visible {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    "created topics did not appear in the metadata in time",
                )
                .with_store(Store::Kafka)
                .with_operation("create topics"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            current = self.probe.cluster_info().await?.topics;
        }
        let mut report = ProvisionReport::default();
        for spec in specs {
            let status = if created.contains(&spec.name) {
                TopicStatus::Created
            } else {
                let info = current.get(&spec.name);
                let partitions = info.map_or(0, |t| t.partitions) as i32;
                let replication = info.map_or(0, |t| t.replication) as i32;
                if partitions < spec.partitions {
                    tracing::warn!(
                        topic = %spec.name,
                        existing = partitions,
                        requested = spec.partitions,
                        "topic exists with fewer partitions than requested"
                    );
                    TopicStatus::FewerPartitions {
                        existing: partitions,
                        requested: spec.partitions,
                    }
                } else {
                    TopicStatus::Exists {
                        partitions,
                        replication,
                    }
                }
            };
            report.topics.push(TopicOutcome {
                name: spec.name.clone(),
                status,
            });
        }
        Ok(report)
    }

    /// The topic's config entries as the broker reports them.
    pub async fn topic_config(&self, topic: &str) -> Result<BTreeMap<String, String>> {
        Operation::new(Store::Kafka, "admin.topic_config")
            .target(topic)
            .run_counted(self.describe_topic_config(topic), BTreeMap::len)
            .await
    }

    async fn describe_topic_config(&self, topic: &str) -> Result<BTreeMap<String, String>> {
        let results = self
            .client
            .describe_configs(&[ResourceSpecifier::Topic(topic)], &self.options())
            .await
            .map_err(|e| {
                self.issues
                    .explain(from_kafka(e, "describe configs").with_target(topic.to_owned()))
            })?;
        let mut config = BTreeMap::new();
        for result in results {
            let resource = result.map_err(|e| {
                from_kafka(rdkafka::error::KafkaError::AdminOp(e), "describe configs")
                    .with_target(topic.to_owned())
            })?;
            for entry in resource.entries {
                if let Some(value) = entry.value {
                    config.insert(entry.name, value);
                }
            }
        }
        Ok(config)
    }

    /// Delete topics; a topic that does not exist is not an error.
    pub async fn delete_topics(&self, names: &[&str]) -> Result<()> {
        Operation::new(Store::Kafka, "admin.delete_topics")
            .target(only_name(names.iter().copied()))
            .run(self.delete(names))
            .await
    }

    async fn delete(&self, names: &[&str]) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        let results = self
            .client
            .delete_topics(names, &self.options())
            .await
            .map_err(|e| self.issues.explain(from_kafka(e, "delete topics")))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((name, code)) => {
                    return Err(from_kafka(
                        rdkafka::error::KafkaError::AdminOp(code),
                        "delete topics",
                    )
                    .with_target(name))
                }
            }
        }
        Ok(())
    }

    /// How far consumer `group` is behind on `topics`, per partition and
    /// in total: the group's committed offsets against the partitions'
    /// high watermarks. A partition the group never committed counts all
    /// its retained records (`high - low`, what a new member reading from
    /// the earliest offset would see); a commit below the low watermark
    /// (records gone with the retention) counts from the low watermark.
    ///
    /// Reads the committed offsets with a client of that `group.id`, which
    /// does not join the group (its members are not disturbed). A topic
    /// that does not exist is an [`ErrorKind::NotFound`] error.
    ///
    /// ```no_run
    /// # use ai_data_kafka::{Admin, KafkaConfig};
    /// # async fn demo() -> ai_data_kafka::Result<()> {
    /// let admin = Admin::new(&KafkaConfig::from_env()?)?;
    /// let lag = admin.consumer_lag("indexer", &["data-ingestion"]).await?;
    /// println!("indexer is {} records behind", lag.total);
    /// for p in &lag.partitions {
    ///     println!("{}[{}]: {}", p.topic, p.partition, p.lag);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn consumer_lag(&self, group: &str, topics: &[&str]) -> Result<ConsumerLag> {
        Operation::new(Store::Kafka, "admin.consumer_lag")
            .target(only_name(topics.iter().copied()))
            .run_counted(
                async {
                    let known = self.probe.cluster_info().await?;
                    self.lag_in(&known, group, topics).await
                },
                |lag| lag.partitions.len(),
            )
            .await
    }

    /// The lag of `group` on `topics`, whose partitions `known` lists.
    pub(crate) async fn lag_in(
        &self,
        known: &ClusterInfo,
        group: &str,
        topics: &[&str],
    ) -> Result<ConsumerLag> {
        fetch_lag(&self.config, known, group, topics).await
    }

    /// Cluster metadata without an operation of its own (for checks that
    /// are one).
    pub(crate) async fn metadata(&self) -> Result<ClusterInfo> {
        self.probe.cluster_info().await
    }
}

/// The operation target of a call on `names`: the name when there is
/// exactly one, otherwise empty (a target is one name, never a list).
fn only_name<'a>(mut names: impl Iterator<Item = &'a str>) -> &'a str {
    match (names.next(), names.next()) {
        (Some(name), None) => name,
        _ => "",
    }
}

#[async_trait]
impl HealthCheck for Admin {
    /// Cluster metadata within the connect timeout.
    async fn check(&self) -> Result<HealthReport> {
        Operation::new(Store::Kafka, "health")
            .run(health_report(self.probe.cluster_info()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_one_name_or_none() {
        assert_eq!(only_name(["a"].into_iter()), "a");
        assert_eq!(only_name(["a", "b"].into_iter()), "");
        assert_eq!(only_name(std::iter::empty()), "");
    }

    #[test]
    fn invalid_specs_are_rejected_before_any_request() {
        for spec in [
            TopicSpec::new("", 1, 1),
            TopicSpec::new("has space", 1, 1),
            TopicSpec::new("..", 1, 1),
            TopicSpec::new("ok", 0, 1),
            TopicSpec::new("ok", 1, 0),
        ] {
            let err = spec.validate().expect_err("invalid");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{spec:?}");
        }
        assert!(TopicSpec::new("a.b_c-9", 1, 1).validate().is_ok());
    }

    #[test]
    fn report_turns_fewer_partitions_into_a_conflict() {
        let report = ProvisionReport {
            topics: vec![
                TopicOutcome {
                    name: "a".into(),
                    status: TopicStatus::Created,
                },
                TopicOutcome {
                    name: "b".into(),
                    status: TopicStatus::FewerPartitions {
                        existing: 1,
                        requested: 3,
                    },
                },
            ],
        };
        assert_eq!(report.created(), ["a"]);
        assert_eq!(report.mismatches().len(), 1);
        let err = report.into_result().expect_err("mismatch");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(
            err.message().contains("b has 1 partitions, 3 requested"),
            "{err}"
        );
    }
}
