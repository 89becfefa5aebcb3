//! Consumer lag: how far a consumer group is behind, and the health check
//! that warns when it is too far (the seed's "consumer lag per Kafka group"
//! alert).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, HealthCheck, HealthReport, Result, Store};
use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};

use crate::context::StreamContext;
use crate::error::from_kafka;
use crate::health::ClusterInfo;
use crate::{Admin, KafkaConfig};

/// Default lag, in messages, above which [`ConsumerLagCheck`] warns about a
/// group. The seed asks for an alert on consumer lag per group but names no
/// number; 10,000 is this crate's default (set your own with
/// [`ConsumerLagCheck::with_threshold`]).
pub const DEFAULT_LAG_THRESHOLD: u64 = 10_000;

/// How far a consumer group is behind on some topics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerLag {
    /// The consumer group.
    pub group: String,
    /// One entry per partition, by topic (in the order asked) and partition.
    pub partitions: Vec<PartitionLag>,
    /// The lag of all partitions together, in messages.
    pub total: u64,
}

impl ConsumerLag {
    fn new(group: String, partitions: Vec<PartitionLag>) -> Self {
        let total = partitions.iter().map(|p| p.lag).sum();
        ConsumerLag {
            group,
            partitions,
            total,
        }
    }

    /// The lag per topic, in messages.
    pub fn by_topic(&self) -> BTreeMap<&str, u64> {
        let mut topics = BTreeMap::new();
        for p in &self.partitions {
            *topics.entry(p.topic.as_str()).or_insert(0) += p.lag;
        }
        topics
    }

    /// The lag on `topic`, in messages (0 for a topic not asked about).
    pub fn topic(&self, topic: &str) -> u64 {
        self.partitions
            .iter()
            .filter(|p| p.topic == topic)
            .map(|p| p.lag)
            .sum()
    }
}

/// The lag of a group on one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset (the next record it will read), or
    /// `None` when it never committed one on this partition.
    pub committed: Option<i64>,
    /// The low watermark: the oldest retained record's offset.
    pub low: i64,
    /// The high watermark: the offset the next record will get.
    pub high: i64,
    /// Records not yet consumed: `high - committed`, or `high - low` when
    /// nothing is committed or the commit is older than the retained records.
    pub lag: u64,
}

/// `lag` without the topics on which the group never committed on any
/// partition, and those topics' names.
fn consumed_only(lag: ConsumerLag) -> (ConsumerLag, Vec<String>) {
    let mut unconsumed: Vec<String> = Vec::new();
    for p in &lag.partitions {
        let consumed = lag
            .partitions
            .iter()
            .any(|q| q.topic == p.topic && q.committed.is_some());
        if !consumed && !unconsumed.contains(&p.topic) {
            unconsumed.push(p.topic.clone());
        }
    }
    let partitions = lag
        .partitions
        .into_iter()
        .filter(|p| !unconsumed.contains(&p.topic))
        .collect();
    (ConsumerLag::new(lag.group, partitions), unconsumed)
}

/// Records behind on one partition (see [`PartitionLag::lag`]).
fn partition_lag(committed: Option<i64>, low: i64, high: i64) -> u64 {
    let from = committed.map_or(low, |c| c.max(low));
    u64::try_from(high - from).unwrap_or(0)
}

/// Read `group`'s lag on `topics` (whose partition counts `known` lists)
/// with a short-lived client of that `group.id` that does not join it.
pub(crate) async fn fetch_lag(
    config: &KafkaConfig,
    known: &ClusterInfo,
    group: &str,
    topics: &[&str],
) -> Result<ConsumerLag> {
    if group.is_empty() {
        return Err(Error::invalid_input("consumer lag needs a group id")
            .with_store(Store::Kafka)
            .with_operation("consumer lag"));
    }
    let mut wanted = Vec::with_capacity(topics.len());
    for &topic in topics {
        let Some(info) = known.topics.get(topic) else {
            return Err(
                Error::new(ErrorKind::NotFound, format!("topic {topic} does not exist"))
                    .with_store(Store::Kafka)
                    .with_operation("consumer lag")
                    .with_target(topic.to_owned()),
            );
        };
        let partitions = i32::try_from(info.partitions).unwrap_or(i32::MAX);
        wanted.push((topic.to_owned(), partitions));
    }
    let context = StreamContext::new();
    let issues = context.issues.clone();
    let consumer: BaseConsumer<StreamContext> = config
        .rdkafka_consumer_config(group)
        .create_with_context(context)
        .map_err(|e| from_kafka(e, "create consumer"))?;
    let timeout = config.connect_timeout;
    // Blocking requests; the client is dropped (closed) there too.
    let read = tokio::task::spawn_blocking(move || read_offsets(&consumer, &wanted, timeout))
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Backend, "the consumer lag task failed")
                .with_store(Store::Kafka)
                .with_source(e)
        })?;
    let partitions = read.map_err(|e| issues.explain(from_kafka(e, "consumer lag")))?;
    Ok(ConsumerLag::new(group.to_owned(), partitions))
}

/// Committed offsets (one OffsetFetch for all partitions) and watermarks
/// (per partition) of `wanted` topics and their partition counts.
fn read_offsets(
    consumer: &BaseConsumer<StreamContext>,
    wanted: &[(String, i32)],
    timeout: Duration,
) -> KafkaResult<Vec<PartitionLag>> {
    let mut list = TopicPartitionList::new();
    for (topic, partitions) in wanted {
        for partition in 0..*partitions {
            list.add_partition(topic, partition);
        }
    }
    let committed = consumer.committed_offsets(list, timeout)?;
    let mut out = Vec::with_capacity(committed.count());
    for (topic, partitions) in wanted {
        for partition in 0..*partitions {
            let committed = match committed.find_partition(topic, partition) {
                Some(elem) => {
                    elem.error()?;
                    match elem.offset() {
                        Offset::Offset(offset) => Some(offset),
                        _ => None,
                    }
                }
                None => None,
            };
            let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
            out.push(PartitionLag {
                topic: topic.clone(),
                partition,
                committed,
                low,
                high,
                lag: partition_lag(committed, low, high),
            });
        }
    }
    Ok(out)
}

/// The warning for `lag` when its total exceeds `threshold` messages.
fn lag_warning(lag: &ConsumerLag, threshold: u64) -> Option<String> {
    if lag.total <= threshold {
        return None;
    }
    let topics: Vec<String> = lag
        .by_topic()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(topic, n)| format!("{topic} {n}"))
        .collect();
    Some(format!(
        "Kafka: consumer group {} is {} messages behind ({}); alert above {threshold}",
        lag.group,
        lag.total,
        topics.join(", ")
    ))
}

/// A consumer group and the topics it reads.
#[derive(Debug, Clone)]
struct Watched {
    group: String,
    topics: Vec<String>,
}

/// The seed's "consumer lag per Kafka group" alert as a health check: the
/// cluster's metadata (as [`Admin`]'s check), then the lag of each watched
/// group, with a warning for every group whose total lag exceeds the
/// threshold ([`DEFAULT_LAG_THRESHOLD`] messages unless set).
///
/// Details: `brokers`, `topics`, `lag_threshold`, and per group
/// `lag:<group>` (its total) and `lag:<group>:<topic>` (per topic), in
/// messages. A watched topic that does not exist fails the check.
///
/// ```no_run
/// use ai_data_kafka::{Admin, ConsumerLagCheck, HealthCheck, KafkaConfig};
///
/// # async fn demo() -> ai_data_kafka::Result<()> {
/// let admin = Admin::new(&KafkaConfig::from_env()?)?;
/// let check = ConsumerLagCheck::new(admin)
///     .with_group("indexer", ["data-ingestion"])
///     .with_group("model-registry", ["model-events"])
///     .with_threshold(5_000);
/// let report = check.check().await?;
/// println!("indexer lag: {}", report.details["lag:indexer"]);
/// for warning in &report.warnings {
///     eprintln!("{warning}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ConsumerLagCheck {
    admin: Admin,
    groups: Vec<Watched>,
    threshold: u64,
}

impl fmt::Debug for ConsumerLagCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerLagCheck")
            .field("groups", &self.groups)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl ConsumerLagCheck {
    /// A check through `admin` watching no group yet (add them with
    /// [`ConsumerLagCheck::with_group`]).
    pub fn new(admin: Admin) -> Self {
        ConsumerLagCheck {
            admin,
            groups: Vec::new(),
            threshold: DEFAULT_LAG_THRESHOLD,
        }
    }

    /// Watch `group` on `topics`.
    #[must_use]
    pub fn with_group<I, S>(mut self, group: impl Into<String>, topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.push(Watched {
            group: group.into(),
            topics: topics.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Warn when a group's total lag exceeds `messages`.
    #[must_use]
    pub fn with_threshold(mut self, messages: u64) -> Self {
        self.threshold = messages;
        self
    }

    /// The lag, in messages, above which a group is warned about.
    pub fn threshold(&self) -> u64 {
        self.threshold
    }

    /// Watched topics that do not exist, and topics on which the group has
    /// never committed (it does not consume them), are shown as details and
    /// left out of the lag: otherwise a group reading one of several
    /// watched topics would be "behind" by everything the others retain.
    async fn report(&self) -> Result<HealthReport> {
        let mut lags = Vec::with_capacity(self.groups.len());
        let mut info = ClusterInfo::default();
        let report = HealthReport::measure(Store::Kafka, async {
            info = self.admin.metadata().await?;
            for watched in &self.groups {
                let (present, missing): (Vec<&str>, Vec<&str>) = watched
                    .topics
                    .iter()
                    .map(String::as_str)
                    .partition(|t| info.topics.contains_key(*t));
                let lag = self.admin.lag_in(&info, &watched.group, &present).await?;
                let missing: Vec<String> = missing.into_iter().map(str::to_owned).collect();
                lags.push((consumed_only(lag), missing));
            }
            Ok(None)
        })
        .await?;
        let mut report = report
            .with_detail("brokers", info.brokers.len().to_string())
            .with_detail("topics", info.topics.len().to_string())
            .with_detail("lag_threshold", self.threshold.to_string());
        for ((lag, unconsumed), missing) in &lags {
            for (topic, n) in lag.by_topic() {
                report = report.with_detail(format!("lag:{}:{topic}", lag.group), n.to_string());
            }
            for topic in unconsumed {
                report = report.with_detail(format!("lag:{}:{topic}", lag.group), "no commits");
            }
            for topic in missing {
                report = report.with_detail(format!("lag:{}:{topic}", lag.group), "no such topic");
            }
            report = report.with_detail(format!("lag:{}", lag.group), lag.total.to_string());
            if let Some(warning) = lag_warning(lag, self.threshold) {
                report = report.with_warning(warning);
            }
        }
        Ok(report)
    }
}

#[async_trait]
impl HealthCheck for ConsumerLagCheck {
    /// Cluster metadata, then each watched group's lag.
    async fn check(&self) -> Result<HealthReport> {
        Operation::new(Store::Kafka, "health.consumer_lag")
            .run(self.report())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lag_of(group: &str, lags: &[(&str, u64)]) -> ConsumerLag {
        let partitions = lags
            .iter()
            .enumerate()
            .map(|(i, (topic, n))| PartitionLag {
                topic: (*topic).to_owned(),
                partition: i as i32,
                committed: Some(0),
                low: 0,
                high: *n as i64,
                lag: *n,
            })
            .collect();
        ConsumerLag::new(group.to_owned(), partitions)
    }

    #[test]
    fn topics_the_group_never_committed_on_are_left_out() {
        let part = |topic: &str, partition, committed, high| PartitionLag {
            topic: topic.to_owned(),
            partition,
            committed,
            low: 0,
            high,
            lag: partition_lag(committed, 0, high),
        };
        let lag = ConsumerLag::new(
            "indexer".to_owned(),
            vec![
                part("ingest", 0, Some(90), 100),
                // Consumed topic, a partition not committed yet: counted.
                part("ingest", 1, None, 50),
                part("logs", 0, None, 100_000),
            ],
        );
        assert_eq!(lag.total, 100_060);
        let (consumed, unconsumed) = consumed_only(lag);
        assert_eq!(consumed.total, 60);
        assert_eq!(unconsumed, ["logs"]);
        assert_eq!(lag_warning(&consumed, 10_000), None);
    }

    #[test]
    fn lag_counts_from_the_commit_or_the_oldest_retained_record() {
        assert_eq!(partition_lag(Some(40), 0, 100), 60);
        assert_eq!(partition_lag(Some(100), 0, 100), 0);
        // Nothing committed: every retained record.
        assert_eq!(partition_lag(None, 20, 100), 80);
        assert_eq!(partition_lag(None, 0, 0), 0);
        // A commit older than the retained records.
        assert_eq!(partition_lag(Some(5), 20, 100), 80);
        // A commit past the high watermark (a truncated log) is no lag.
        assert_eq!(partition_lag(Some(120), 0, 100), 0);
    }

    #[test]
    fn lag_adds_up_per_topic_and_in_total() {
        let lag = lag_of("g", &[("a", 3), ("a", 4), ("b", 5)]);
        assert_eq!(lag.total, 12);
        assert_eq!(lag.topic("a"), 7);
        assert_eq!(lag.topic("missing"), 0);
        assert_eq!(lag.by_topic(), BTreeMap::from([("a", 7), ("b", 5)]));
    }

    #[test]
    fn warns_only_above_the_threshold() {
        let threshold = DEFAULT_LAG_THRESHOLD;
        let below = lag_of("indexer", &[("data-ingestion", 9_999)]);
        assert_eq!(lag_warning(&below, threshold), None);
        let at = lag_of(
            "indexer",
            &[("data-ingestion", 6_000), ("model-events", 4_000)],
        );
        assert_eq!(at.total, threshold);
        assert_eq!(lag_warning(&at, threshold), None);
        let above = lag_of(
            "indexer",
            &[("data-ingestion", 10_000), ("model-events", 1), ("idle", 0)],
        );
        let warning = lag_warning(&above, threshold).expect("above");
        assert_eq!(
            warning,
            "Kafka: consumer group indexer is 10001 messages behind \
             (data-ingestion 10000, model-events 1); alert above 10000"
        );
        assert_eq!(lag_warning(&above, 20_000), None);
    }
}
