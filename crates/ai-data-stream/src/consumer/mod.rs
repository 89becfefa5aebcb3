//! [`Consumer`]: an at-least-once group consumer running an async handler
//! per record (or per batch).
//!
//! How it keeps its promise:
//! - offsets are never committed automatically (`enable.auto.commit=false`);
//!   per partition, the consumer tracks received records and commits only
//!   `offset + 1` of the contiguous prefix of finished ones, so nothing past
//!   a running or failed record is ever committed;
//! - a record is finished when its handler succeeded, or when it was
//!   published to the dead-letter topic (after the retries, or at once for
//!   an undecodable payload); a dead-letter publish is retried until it
//!   succeeds, and the partition's commits wait for it;
//! - each partition has `concurrency` lanes; a key always maps to the same
//!   lane and a lane is sequential, so one key's records are handled in
//!   order while different keys run concurrently;
//! - lanes have bounded queues; records for a full lane wait in order
//!   behind it, and a partition with too many waiting records is paused
//!   until they drain, so a slow or stuck key holds back its own partition
//!   only and memory stays bounded;
//! - a revoked partition's finished prefix is committed in the rebalance
//!   callback; on shutdown, running handlers finish, queued records are left
//!   for the next run, and what finished is committed synchronously;
//! - dropping the run future (a crash) commits nothing more than was
//!   finished: the next member of the group resumes at the committed
//!   offsets and may see some records again.

mod handler;
mod lane;
mod observe;
mod tracker;

pub use handler::{BatchHandler, ConsumerMetrics, Handler, Received, RunSummary};
pub use observe::{CONSUMER_HANDLER_SECONDS, CONSUMER_RECORDS_TOTAL};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, RetryPolicy, Store};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use self::handler::Counters;
use self::lane::{lane_of, run_lane, Item, Shared, Work};
use self::observe::{observe_commit, RunMetrics};
use self::tracker::Tracker;
use crate::admin::dead_letter_name;
use crate::context::{log_to_tracing, record_error, IssueLog};
use crate::error::from_kafka;
use crate::health::Probe;
use crate::{Headers, KafkaConfig, Producer, Topic};

/// Default lanes per partition.
pub const DEFAULT_CONCURRENCY: usize = 4;

fn lock(tracker: &Mutex<Tracker>) -> std::sync::MutexGuard<'_, Tracker> {
    tracker.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The consumer's rdkafka context: rebalances update the offset tracker
/// and commit what a revoked partition finished.
struct ConsumerCtx {
    issues: IssueLog,
    tracker: Arc<Mutex<Tracker>>,
    topic: Arc<str>,
}

impl ClientContext for ConsumerCtx {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        record_error(&self.issues, &error, reason);
    }
}

impl ConsumerContext for ConsumerCtx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => {
                let mut commit = TopicPartitionList::new();
                {
                    let mut tracker = lock(&self.tracker);
                    for elem in list.elements_for_topic(&self.topic) {
                        if let Some(offset) = tracker.revoke(elem.partition()) {
                            let _ = commit.add_partition_offset(
                                &self.topic,
                                elem.partition(),
                                Offset::Offset(offset),
                            );
                        }
                    }
                }
                if commit.count() > 0 {
                    match observe_commit(&self.topic, || consumer.commit(&commit, CommitMode::Sync))
                    {
                        Ok(()) => tracing::debug!(?commit, "committed revoked partitions"),
                        Err(e) => tracing::warn!(
                            error = %e,
                            "commit on revoke failed; the next owner will see those records again"
                        ),
                    }
                }
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            let mut tracker = lock(&self.tracker);
            for elem in list.elements_for_topic(&self.topic) {
                tracker.assign(elem.partition());
            }
            tracing::info!(topic = %self.topic, partitions = ?tracker.assigned(), "partitions assigned");
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(error = %e, "offset commit failed; retrying at the next interval");
            let mut tracker = lock(&self.tracker);
            for elem in offsets.elements_for_topic(&self.topic) {
                if let Offset::Offset(offset) = elem.offset() {
                    tracker.commit_failed(elem.partition(), offset);
                }
            }
        }
    }
}

/// An at-least-once group consumer of one typed topic. See the
/// module docs of `consumer` (in the source) for the guarantees.
///
/// ```no_run
/// use std::time::Duration;
/// use ai_data_stream::{Consumer, IngestionRequest, KafkaConfig, Received, Topic};
/// use ai_data_core::{Error, ErrorKind, RetryPolicy};
///
/// # async fn demo() -> ai_data_stream::Result<()> {
/// let config = KafkaConfig::from_env()?.with_group_id("indexer");
/// let consumer = Consumer::new(&config, Topic::data_ingestion())
///     .with_concurrency(4)
///     .with_retry(RetryPolicy::default().with_max_attempts(5));
/// let summary = consumer
///     .run(
///         |msg: Received<IngestionRequest>| async move {
///             let request = msg.payload();
///             if request.documents.is_empty() {
///                 // Permanent: straight to data-ingestion.dlq.
///                 return Err(Error::invalid_input("no documents"));
///             }
///             // ... index the documents; a retryable error is retried.
///             Ok(())
///         },
///         async { let _ = tokio::signal::ctrl_c().await; },
///     )
///     .await?;
/// println!("handled {} records", summary.handled);
/// # Ok(())
/// # }
/// ```
pub struct Consumer<T> {
    config: KafkaConfig,
    topic: Topic<T>,
    group_id: Option<String>,
    concurrency: usize,
    lane_capacity: usize,
    retry: RetryPolicy,
    dead_letter: Option<String>,
    producer: Option<Producer>,
    commit_interval: Duration,
    shutdown_timeout: Duration,
    counters: Arc<Counters>,
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("config", &self.config)
            .field("topic", &self.topic)
            .field("group_id", &self.group_id)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("dead_letter", &self.dead_letter)
            .field("commit_interval", &self.commit_interval)
            .finish_non_exhaustive()
    }
}

impl<T> Consumer<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A consumer of `topic` with the group from `config`, dead letters to
    /// `<topic>.dlq`, [`DEFAULT_CONCURRENCY`] lanes per partition, 3
    /// attempts per record and commits every second.
    pub fn new(config: &KafkaConfig, topic: Topic<T>) -> Self {
        Consumer {
            config: config.clone(),
            dead_letter: Some(dead_letter_name(topic.name())),
            topic,
            group_id: None,
            concurrency: DEFAULT_CONCURRENCY,
            lane_capacity: 64,
            retry: RetryPolicy::default().with_max_attempts(3),
            producer: None,
            commit_interval: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(30),
            counters: Arc::default(),
        }
    }

    /// Set the consumer group (overrides the config's).
    #[must_use]
    pub fn with_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = Some(group_id.into());
        self
    }

    /// Set the lanes per partition (at least 1): how many records of one
    /// partition, of different keys, run at once.
    #[must_use]
    pub fn with_concurrency(mut self, lanes: usize) -> Self {
        self.concurrency = lanes.max(1);
        self
    }

    /// Set the retry policy of handler errors (only retryable errors are retried).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Send records that failed for good to `topic`.
    #[must_use]
    pub fn with_dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter = Some(topic.into());
        self
    }

    /// No dead-letter topic: a record that fails for good stops the run
    /// with its error, and no offset past it is committed.
    #[must_use]
    pub fn without_dead_letter(mut self) -> Self {
        self.dead_letter = None;
        self
    }

    /// Publish dead letters with this producer (default: one made from the config).
    #[must_use]
    pub fn with_producer(mut self, producer: Producer) -> Self {
        self.producer = Some(producer);
        self
    }

    /// How often finished offsets are committed (default 1 s).
    #[must_use]
    pub fn with_commit_interval(mut self, interval: Duration) -> Self {
        self.commit_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long shutdown waits for running handlers (default 30 s).
    #[must_use]
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Live counters of this consumer.
    pub fn metrics(&self) -> ConsumerMetrics {
        ConsumerMetrics(self.counters.clone())
    }

    /// Consume until `shutdown` resolves, running `handler` per record.
    ///
    /// Fails fast (within the connect timeout) when the brokers cannot be
    /// reached or refuse the credentials, or when the topic or its
    /// dead-letter topic does not exist. Returns the run's counters after a
    /// clean shutdown, or the error of a record that failed for good when
    /// there is no dead-letter topic.
    pub async fn run<H, S>(self, handler: H, shutdown: S) -> Result<RunSummary>
    where
        H: Handler<T>,
        S: Future<Output = ()> + Send,
    {
        self.run_work(Work::One(Arc::new(handler)), shutdown).await
    }

    /// Like [`Consumer::run`], with a handler per batch of up to `max`
    /// records of one lane, waiting up to `linger` to fill a batch.
    pub async fn run_batches<H, S>(
        self,
        handler: H,
        max: usize,
        linger: Duration,
        shutdown: S,
    ) -> Result<RunSummary>
    where
        H: BatchHandler<T>,
        S: Future<Output = ()> + Send,
    {
        let work = Work::Batch {
            handler: Arc::new(handler),
            max: max.max(1),
            linger,
        };
        self.run_work(work, shutdown).await
    }

    async fn run_work<S>(self, work: Work<T>, shutdown: S) -> Result<RunSummary>
    where
        S: Future<Output = ()> + Send,
    {
        self.config.validate()?;
        let group_id = self
            .group_id
            .clone()
            .or_else(|| self.config.consumer.group_id.clone())
            .ok_or_else(|| {
                Error::config(format!(
                    "a consumer needs a group id ({} or Consumer::with_group_id)",
                    Store::Kafka.var("GROUP_ID")
                ))
                .with_store(Store::Kafka)
            })?;
        let topic_name: Arc<str> = Arc::from(self.topic.name());
        let tracker = Arc::new(Mutex::new(Tracker::default()));
        let issues = IssueLog::default();
        let context = ConsumerCtx {
            issues: issues.clone(),
            tracker: tracker.clone(),
            topic: topic_name.clone(),
        };
        let consumer: StreamConsumer<ConsumerCtx> = self
            .config
            .rdkafka_consumer_config(&group_id)
            .create_with_context(context)
            .map_err(|e| from_kafka(e, "create consumer"))?;
        let consumer = Arc::new(consumer);

        let dead_letter = Operation::new(Store::Kafka, "consumer.subscribe")
            .target(&topic_name)
            .run(self.subscribe(&consumer, &topic_name))
            .await?;
        tracing::info!(topic = %topic_name, group = %group_id, "consumer started");
        let metrics = RunMetrics::new(&topic_name, &group_id);

        let (stop_tx, stop_rx) = watch::channel(false);
        let (fatal_tx, fatal_rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            topic: self.topic.clone(),
            topic_name: topic_name.clone(),
            group_id,
            tracker: tracker.clone(),
            retry: self.retry.clone(),
            dead_letter,
            counters: self.counters.clone(),
            metrics,
            stopping: stop_rx,
            fatal: fatal_tx,
            room: tokio::sync::Notify::new(),
            work,
        });
        let mut run = Run {
            consumer: consumer.clone(),
            tracker,
            topic_name,
            shared,
            lanes: HashMap::new(),
            overflow: HashMap::new(),
            paused: HashMap::new(),
            tasks: JoinSet::new(),
            concurrency: self.concurrency,
            lane_capacity: self.lane_capacity,
            max_waiting: MAX_WAITING.max(4 * self.lane_capacity * self.concurrency),
            counters: self.counters.clone(),
        };
        let outcome = run.poll(shutdown, fatal_rx, self.commit_interval).await;

        // Shut down: running handlers finish, queued records stay for the
        // next run, and what finished is committed.
        let _ = stop_tx.send(true);
        run.lanes.clear();
        let drained = tokio::time::timeout(self.shutdown_timeout, async {
            while run.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("handlers still running at the shutdown timeout were abandoned");
            run.tasks.abort_all();
        }
        let commit = run.commit_blocking().await;
        let Run { consumer: c2, .. } = run;
        drop(c2);
        // Leaving the group blocks while the broker answers: not on a runtime thread.
        let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
        let summary = self.metrics().snapshot();
        tracing::info!(?summary, "consumer stopped");
        outcome?;
        commit?;
        Ok(summary)
    }

    /// Check that the topic and the dead-letter topic exist (failing fast,
    /// with the real reason, before joining the group), then subscribe.
    /// Returns the dead-letter topic and its producer.
    async fn subscribe(
        &self,
        consumer: &StreamConsumer<ConsumerCtx>,
        topic_name: &str,
    ) -> Result<Option<(String, Producer)>> {
        let topics = Probe::new(&self.config)?.cluster_info().await?.topics;
        let missing = |name: &str| {
            Error::new(
                ErrorKind::NotFound,
                format!("topic {name} does not exist; provision it with Admin::ensure_topics"),
            )
            .with_store(Store::Kafka)
            .with_operation("consume")
            .with_target(name.to_owned())
        };
        if !topics.contains_key(topic_name) {
            return Err(missing(topic_name));
        }
        let dead_letter = match &self.dead_letter {
            Some(dlq) if !topics.contains_key(dlq) => return Err(missing(dlq)),
            Some(dlq) => {
                let producer = match &self.producer {
                    Some(p) => p.clone(),
                    None => Producer::new(&self.config)?,
                };
                Some((dlq.clone(), producer))
            }
            None => None,
        };
        consumer
            .subscribe(&[topic_name])
            .map_err(|e| from_kafka(e, "subscribe").with_target(topic_name.to_owned()))?;
        Ok(dead_letter)
    }
}

/// Records of one partition waiting for full lanes before the partition is
/// paused (at least): above one fetch response's worth
/// (`max.partition.fetch.bytes`, 1 MB, about a thousand 1 KB records), so
/// that a burst does not pause it. Pausing makes librdkafka drop what it
/// prefetched for the partition and fetch it again on resume.
const MAX_WAITING: usize = 2048;

/// How often records waiting for a full lane are retried when no lane
/// signalled room (a fallback: lanes signal every record they take).
const UNSTALL_INTERVAL: Duration = Duration::from_millis(50);

/// The error when a lane's channel is closed: the lane reported why on
/// `fatal`, or it ended unexpectedly.
fn lane_stopped(fatal: &mut mpsc::Receiver<Error>) -> Error {
    fatal.try_recv().unwrap_or_else(|_| {
        Error::new(ErrorKind::Backend, "a consumer lane stopped unexpectedly")
            .with_store(Store::Kafka)
    })
}

/// The state of one run's poll loop.
struct Run<T> {
    consumer: Arc<StreamConsumer<ConsumerCtx>>,
    tracker: Arc<Mutex<Tracker>>,
    topic_name: Arc<str>,
    shared: Arc<Shared<T>>,
    lanes: HashMap<i32, (u64, Vec<mpsc::Sender<Item>>)>,
    /// Records waiting for a full lane, per partition, in order.
    overflow: HashMap<i32, VecDeque<Item>>,
    /// Partitions paused because too many of their records wait, with
    /// the assignment epoch they were paused in.
    paused: HashMap<i32, u64>,
    tasks: JoinSet<()>,
    concurrency: usize,
    lane_capacity: usize,
    /// Waiting records of one partition that pause it.
    max_waiting: usize,
    counters: Arc<Counters>,
}

impl<T> Run<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn poll<S>(
        &mut self,
        shutdown: S,
        mut fatal: mpsc::Receiver<Error>,
        commit_interval: Duration,
    ) -> Result<()>
    where
        S: Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(commit_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unstall = tokio::time::interval(UNSTALL_INTERVAL);
        unstall.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let received = tokio::select! {
                biased;
                _ = &mut shutdown => return Ok(()),
                Some(e) = fatal.recv() => return Err(e),
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Err(e) = joined {
                        if e.is_panic() {
                            return Err(Error::new(ErrorKind::Backend, "a consumer lane panicked")
                                .with_store(Store::Kafka));
                        }
                    }
                    continue;
                }
                _ = tick.tick() => {
                    self.commit_async();
                    self.prune_lanes();
                    continue;
                }
                _ = self.shared.room.notified(), if !self.overflow.is_empty() => {
                    self.unstall(&mut fatal)?;
                    continue;
                }
                _ = unstall.tick(), if !self.overflow.is_empty() => {
                    self.unstall(&mut fatal)?;
                    continue;
                }
                received = self.consumer.recv() => received,
            };
            let item = match received {
                Ok(message) => {
                    let partition = message.partition();
                    let offset = message.offset();
                    Counters::add(&self.counters.received, 1);
                    let Some(epoch) = lock(&self.tracker).begin(partition, offset) else {
                        Counters::add(&self.counters.stale, 1);
                        continue;
                    };
                    Item {
                        partition,
                        offset,
                        epoch,
                        key: message.key().map(<[u8]>::to_vec),
                        payload: message.payload().map(<[u8]>::to_vec),
                        headers: Headers::from_rdkafka(message.headers()),
                        timestamp: message.timestamp().to_millis(),
                    }
                }
                Err(e) => {
                    if let Some((code, reason)) = self.consumer.client().fatal_error() {
                        return Err(from_kafka(
                            KafkaError::MessageConsumptionFatal(code),
                            "consume",
                        )
                        .with_target(format!("{}: {reason}", self.topic_name)));
                    }
                    tracing::warn!(topic = %self.topic_name, error = %e, "consume error");
                    continue;
                }
            };
            self.dispatch(item, &mut fatal)?;
        }
    }

    /// Hand `item` to its lane. When the lane is full, the record waits
    /// here, behind its partition's earlier records, and is moved when the
    /// lane has room; when too many wait, the partition is paused. A slow or
    /// stuck lane holds back its own partition only, and memory stays bounded.
    fn dispatch(&mut self, item: Item, fatal: &mut mpsc::Receiver<Error>) -> Result<()> {
        let (partition, epoch) = (item.partition, item.epoch);
        if let Some(waiting) = self.overflow.get_mut(&partition) {
            waiting.push_back(item);
        } else {
            let lane = lane_of(item.key.as_deref(), item.offset, self.concurrency);
            let sender = self.lane_sender(partition, item.epoch, lane);
            match sender.try_send(item) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(item)) => {
                    self.overflow.entry(partition).or_default().push_back(item);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(lane_stopped(fatal)),
            }
        }
        let waiting = self.overflow.get(&partition).map_or(0, VecDeque::len);
        if waiting >= self.max_waiting && !self.paused.contains_key(&partition) {
            self.paused.insert(partition, epoch);
            self.pause(partition, true);
        }
        Ok(())
    }

    /// Move waiting records into their lanes while they have room; resume
    /// the partitions whose backlog is gone.
    fn unstall(&mut self, fatal: &mut mpsc::Receiver<Error>) -> Result<()> {
        let partitions: Vec<i32> = self.overflow.keys().copied().collect();
        for partition in partitions {
            let current = lock(&self.tracker).epoch(partition);
            while let Some(item) = self
                .overflow
                .get_mut(&partition)
                .and_then(VecDeque::pop_front)
            {
                if current != Some(item.epoch) {
                    Counters::add(&self.counters.stale, 1);
                    continue;
                }
                let lane = lane_of(item.key.as_deref(), item.offset, self.concurrency);
                let sender = self.lane_sender(item.partition, item.epoch, lane);
                match sender.try_send(item) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(item)) => {
                        if let Some(waiting) = self.overflow.get_mut(&partition) {
                            waiting.push_front(item);
                        }
                        break;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        return Err(lane_stopped(fatal));
                    }
                }
            }
            if self
                .overflow
                .get(&partition)
                .is_some_and(VecDeque::is_empty)
            {
                self.overflow.remove(&partition);
                if self.paused.remove(&partition).is_some() && current.is_some() {
                    self.pause(partition, false);
                }
            }
        }
        Ok(())
    }

    fn pause(&self, partition: i32, pause: bool) {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic_name, partition);
        let result = if pause {
            self.consumer.pause(&list)
        } else {
            self.consumer.resume(&list)
        };
        match result {
            Ok(()) => tracing::debug!(partition, pause, "partition flow control"),
            Err(e) => tracing::warn!(partition, pause, error = %e, "pause/resume failed"),
        }
    }

    fn lane_sender(&mut self, partition: i32, epoch: u64, lane: usize) -> mpsc::Sender<Item> {
        let (tasks, shared) = (&mut self.tasks, &self.shared);
        let (concurrency, capacity) = (self.concurrency, self.lane_capacity);
        let slot = self
            .lanes
            .entry(partition)
            .or_insert_with(|| (epoch, Vec::new()));
        if slot.0 != epoch || slot.1.is_empty() {
            // Replacing the lanes of an earlier assignment closes them;
            // their queued records are stale and skipped.
            let senders = (0..concurrency)
                .map(|_| {
                    let (tx, rx) = mpsc::channel(capacity);
                    tasks.spawn(run_lane(shared.clone(), rx));
                    tx
                })
                .collect();
            *slot = (epoch, senders);
        }
        slot.1[lane % slot.1.len()].clone()
    }

    /// Close the lanes of partitions no longer assigned; forget the pause
    /// of a partition that was reassigned meanwhile (and make sure it runs).
    fn prune_lanes(&mut self) {
        let mut resume = Vec::new();
        {
            let tracker = lock(&self.tracker);
            self.lanes
                .retain(|partition, (epoch, _)| tracker.epoch(*partition) == Some(*epoch));
            self.paused.retain(|partition, epoch| {
                let current = tracker.epoch(*partition);
                if current == Some(*epoch) {
                    return true;
                }
                if current.is_some() {
                    resume.push(*partition);
                }
                false
            });
        }
        for partition in resume {
            self.pause(partition, false);
        }
    }

    fn commit_list(&self) -> Option<TopicPartitionList> {
        let offsets = lock(&self.tracker).take_commits();
        if offsets.is_empty() {
            return None;
        }
        let mut list = TopicPartitionList::with_capacity(offsets.len());
        for (partition, offset) in offsets {
            let _ = list.add_partition_offset(&self.topic_name, partition, Offset::Offset(offset));
        }
        Some(list)
    }

    fn commit_async(&self) {
        if let Some(list) = self.commit_list() {
            Counters::add(&self.counters.commits, 1);
            let issued = observe_commit(&self.topic_name, || {
                self.consumer.commit(&list, CommitMode::Async)
            });
            if let Err(e) = issued {
                tracing::warn!(error = %e, "offset commit failed; retrying at the next interval");
                let mut tracker = lock(&self.tracker);
                for elem in list.elements() {
                    if let Offset::Offset(offset) = elem.offset() {
                        tracker.commit_failed(elem.partition(), offset);
                    }
                }
            }
        }
    }

    async fn commit_blocking(&self) -> Result<()> {
        let Some(list) = self.commit_list() else {
            return Ok(());
        };
        Counters::add(&self.counters.commits, 1);
        let consumer = self.consumer.clone();
        Operation::new(Store::Kafka, "consumer.commit")
            .target(&self.topic_name)
            .run(async {
                tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
                    .await
                    .map_err(|e| {
                        Error::new(ErrorKind::Backend, "the commit task failed")
                            .with_store(Store::Kafka)
                            .with_source(e)
                    })?
                    .map_err(|e| from_kafka(e, "commit").with_target(self.topic_name.to_string()))
            })
            .await
    }
}
