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
//! - when a rebalance revokes a partition, no more of its records start,
//!   the revocation waits for its running handlers (up to the shutdown
//!   timeout, then cancels them) and commits its finished prefix before the
//!   partition goes: its records are redelivered (here or to its next
//!   owner) only after every handler of the old assignment has ended, so
//!   one key is never handled twice at once. librdkafka is polled on a
//!   thread of the consumer's own, where that wait can block, so this
//!   holds on any async runtime. The one exception: cancelling a handler
//!   takes effect at its next `.await`, and a handler that blocks its
//!   thread without one for longer than the shutdown timeout plus 5 s is
//!   given up on (an error is logged); the partition goes while it still
//!   runs, so its key may then be handled twice at once;
//! - on shutdown, running handlers finish, queued records are left for the
//!   next run, and what finished is committed synchronously;
//! - handlers have no deadline unless the retry policy given to
//!   `Consumer::with_retry` sets one;
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, Result, RetryPolicy, Store};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};

use self::handler::Counters;
use self::lane::{lane_of, run_lane, Item, Shared, Work};
use self::observe::{observe_commit, RunMetrics};
use self::tracker::Offsets;
use crate::admin::dead_letter_name;
use crate::context::{log_to_tracing, record_error, record_log, IssueLog};
use crate::error::from_kafka;
use crate::health::Probe;
use crate::{Headers, KafkaConfig, Producer, Topic};

/// Default lanes per partition.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// A handler deadline far enough away to be none: [`RetryPolicy::run`]
/// adds its deadline to the clock, which `Duration::MAX` would overflow.
const NO_DEADLINE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// How long a revocation waits for handlers it cancelled to stop.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// The lane tasks of each partition, so that a revocation can cancel the
/// handlers still running at its timeout.
#[derive(Debug, Default)]
struct LaneTasks(Mutex<HashMap<i32, Vec<AbortHandle>>>);

impl LaneTasks {
    fn add(&self, partition: i32, task: AbortHandle) {
        let mut tasks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let list = tasks.entry(partition).or_default();
        list.retain(|t| !t.is_finished());
        list.push(task);
    }

    fn abort(&self, partitions: &[i32]) {
        let mut tasks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for partition in partitions {
            for task in tasks.remove(partition).unwrap_or_default() {
                task.abort();
            }
        }
    }
}

/// The consumer's rdkafka context: rebalances update the offset tracker;
/// a revocation waits for the revoked partitions' running handlers and
/// commits what they finished.
struct ConsumerCtx {
    issues: IssueLog,
    offsets: Arc<Offsets>,
    topic: Arc<str>,
    lanes: Arc<LaneTasks>,
    revoke_timeout: Duration,
    /// The run is over (shut down, or its future dropped): nothing is
    /// handled any more, so a revocation has nothing to wait for.
    closing: Arc<AtomicBool>,
}

impl ClientContext for ConsumerCtx {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        record_log(&self.issues, level, facility, message);
        log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        record_error(&self.issues, &error, reason);
    }
}

impl ConsumerCtx {
    /// Block until no handler of `partitions` runs: up to the revoke
    /// timeout, then cancel them and wait a little more. Runs on the poll
    /// thread (or the thread closing the consumer), never on the runtime.
    fn await_handlers(&self, partitions: &[i32]) {
        if partitions.is_empty() || self.closing.load(Ordering::Acquire) {
            return;
        }
        if self.offsets.wait_idle(partitions, self.revoke_timeout) {
            return;
        }
        tracing::warn!(
            topic = %self.topic,
            ?partitions,
            timeout = ?self.revoke_timeout,
            "handlers of revoked partitions still running at the revoke timeout are cancelled; their records will be handled again"
        );
        self.lanes.abort(partitions);
        if !self.offsets.wait_idle(partitions, CANCEL_GRACE) {
            tracing::error!(
                topic = %self.topic,
                ?partitions,
                "a cancelled handler did not stop (it blocks its thread); its key may be handled twice at once"
            );
        }
    }
}

impl ConsumerContext for ConsumerCtx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => {
                let partitions: Vec<i32> = list
                    .elements_for_topic(&self.topic)
                    .iter()
                    .map(|e| e.partition())
                    .collect();
                // Nothing of these partitions starts any more; what runs
                // finishes (or is cancelled) before the partitions go, so
                // that their records are never handled twice at once, here
                // or by their next owner, and what finished is committed
                // here, synchronously (the run loop's periodic commits leave
                // revoking partitions alone, and their async outcome would
                // only be reported by a poll after the partitions are gone).
                {
                    let mut tracker = self.offsets.lock();
                    for partition in &partitions {
                        tracker.start_revoke(*partition);
                    }
                }
                self.await_handlers(&partitions);
                let mut commit = TopicPartitionList::new();
                {
                    let mut tracker = self.offsets.lock();
                    for partition in &partitions {
                        if let Some(offset) = tracker.revoke(*partition) {
                            let _ = commit.add_partition_offset(
                                &self.topic,
                                *partition,
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
            let mut tracker = self.offsets.lock();
            for elem in list.elements_for_topic(&self.topic) {
                tracker.assign(elem.partition());
            }
            tracing::info!(topic = %self.topic, partitions = ?tracker.assigned(), "partitions assigned");
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(error = %e, "offset commit failed; retrying at the next interval");
            let mut tracker = self.offsets.lock();
            for elem in offsets.elements_for_topic(&self.topic) {
                if let Offset::Offset(offset) = elem.offset() {
                    tracker.commit_failed(elem.partition(), offset);
                }
            }
        }
    }
}

type KafkaConsumer = BaseConsumer<ConsumerCtx>;

/// What the poll thread hands to the run loop.
type Polled = std::result::Result<Item, KafkaError>;

/// Records and errors a poll thread may hold for the run loop.
const POLLED_CAPACITY: usize = 256;

/// The thread that polls librdkafka: it receives records (registering each
/// with the tracker at once, so a record always carries the assignment it
/// came from) and serves the rebalance callbacks, which may block while
/// revoked partitions' handlers finish — on this thread, never on the
/// async runtime, which runs those handlers.
struct Poller {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Poller {
    fn start(
        consumer: Arc<KafkaConsumer>,
        offsets: Arc<Offsets>,
        counters: Arc<Counters>,
        tx: mpsc::Sender<Polled>,
    ) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ai-data-kafka-poll".into())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) && !tx.is_closed() {
                    let polled = match consumer.poll(Duration::from_millis(100)) {
                        None => continue,
                        Some(Err(e)) => Err(e),
                        Some(Ok(message)) => {
                            let (partition, offset) = (message.partition(), message.offset());
                            Counters::add(&counters.received, 1);
                            let Some(epoch) = offsets.lock().begin(partition, offset) else {
                                Counters::add(&counters.stale, 1);
                                continue;
                            };
                            Ok(Item {
                                partition,
                                offset,
                                epoch,
                                key: message.key().map(<[u8]>::to_vec),
                                payload: message.payload().map(<[u8]>::to_vec),
                                headers: Headers::from_rdkafka(message.headers()),
                                timestamp: message.timestamp().to_millis(),
                            })
                        }
                    };
                    if tx.blocking_send(polled).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| {
                Error::new(
                    ErrorKind::Backend,
                    "cannot start the consumer's poll thread",
                )
                .with_store(Store::Kafka)
                .with_source(e)
            })?;
        Ok(Poller {
            stop,
            thread: Some(thread),
        })
    }

    /// Stop polling and wait for the thread (off the runtime).
    async fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // A dropped run future: the thread ends within one poll timeout.
        self.stop.store(true, Ordering::Release);
    }
}

/// Marks the run as over when dropped (a crash included), so that the
/// revocation of closing the consumer waits for nothing.
struct Closing(Arc<AtomicBool>);

impl Drop for Closing {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// An at-least-once group consumer of one typed topic. See the
/// module docs of `consumer` (in the source) for the guarantees.
///
/// ```no_run
/// use std::time::Duration;
/// use ai_data_kafka::{Consumer, KafkaConfig, Received, Topic};
/// use ai_data_core::{Error, ErrorKind, RetryPolicy};
///
/// # async fn demo() -> ai_data_kafka::Result<()> {
/// let config = KafkaConfig::from_env()?.with_group_id("indexer");
/// let topic = Topic::<serde_json::Value>::new("documents");
/// let consumer = Consumer::new(&config, topic)
///     .with_concurrency(4)
///     // Five attempts; no record's attempts may take more than 10 minutes
///     // together (a handler still running then is cancelled).
///     .with_retry(
///         RetryPolicy::default()
///             .with_max_attempts(5)
///             .with_deadline(Duration::from_secs(600)),
///     );
/// let summary = consumer
///     .run(
///         |msg: Received<serde_json::Value>| async move {
///             let document = msg.payload();
///             if document["uri"].is_null() {
///                 // Permanent: straight to documents.dlq.
///                 return Err(Error::invalid_input("no uri"));
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
    group_instance_id: Option<String>,
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
            .field("group_instance_id", &self.group_instance_id)
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
    /// attempts per record with no deadline (see [`Consumer::with_retry`])
    /// and commits every second.
    pub fn new(config: &KafkaConfig, topic: Topic<T>) -> Self {
        Consumer {
            config: config.clone(),
            dead_letter: Some(dead_letter_name(topic.name())),
            topic,
            group_id: None,
            group_instance_id: None,
            concurrency: DEFAULT_CONCURRENCY,
            lane_capacity: 64,
            retry: RetryPolicy::default()
                .with_max_attempts(3)
                .with_deadline(NO_DEADLINE),
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

    /// Join the group as a static member with this `group.instance.id`
    /// (overrides the config's; see
    /// [`ConsumerSettings::group_instance_id`](crate::ConsumerSettings::group_instance_id)):
    /// a restart with the same id gets the same partitions back without a
    /// rebalance. Unique per member of the group.
    #[must_use]
    pub fn with_group_instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.group_instance_id = Some(instance_id.into());
        self
    }

    /// Set the lanes per partition (at least 1): how many records of one
    /// partition, of different keys, run at once.
    #[must_use]
    pub fn with_concurrency(mut self, lanes: usize) -> Self {
        self.concurrency = lanes.max(1);
        self
    }

    /// Set the retry policy of handler errors: only retryable errors are
    /// retried, up to `max_attempts` calls in all, with the policy's backoff.
    ///
    /// **Deadline.** By default a handler has none: it runs as long as it
    /// takes (the default policy is 3 attempts, no deadline). The policy
    /// given here brings its [`deadline`](RetryPolicy::deadline): the time
    /// all attempts of one record may take together, *a running handler
    /// included* — at the deadline the attempt is cancelled (its future
    /// dropped) and the record fails with [`ErrorKind::Timeout`], so it
    /// goes to the dead-letter topic (or, without one, stops the run).
    /// [`RetryPolicy::default`]'s deadline is 30 s; use
    /// `.with_deadline(Duration::MAX)` for none. Records of one key wait
    /// behind a running handler, so a deadline bounds how long a stuck
    /// dependency can hold a key back.
    ///
    /// Independently of the deadline, shutdown and the revocation of
    /// partitions in a rebalance wait for running handlers only up to the
    /// shutdown timeout ([`Consumer::with_shutdown_timeout`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ai_data_core::RetryPolicy;
    /// use ai_data_kafka::{Consumer, KafkaConfig, Topic};
    ///
    /// let topic = Topic::<serde_json::Value>::new("embeddings");
    /// let config = KafkaConfig::new("127.0.0.1:9092").with_group_id("indexer");
    /// // Up to 5 attempts, each as long as it takes.
    /// let patient = Consumer::new(&config, topic.clone())
    ///     .with_retry(RetryPolicy::default().with_max_attempts(5).with_deadline(Duration::MAX));
    /// // Give up on a record (dead-letter it) 2 minutes after its first attempt began.
    /// let bounded = Consumer::new(&config, topic)
    ///     .with_retry(RetryPolicy::default().with_deadline(Duration::from_secs(120)));
    /// # let _ = (patient, bounded);
    /// ```
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        let deadline = retry.deadline.min(NO_DEADLINE);
        self.retry = retry.with_deadline(deadline);
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

    /// How long shutdown, and the revocation of partitions in a rebalance,
    /// wait for running handlers (default 30 s). Handlers still running then
    /// are cancelled; their records were not committed and are handled
    /// again (by this consumer or the partition's next owner). Cancelling
    /// takes effect at a handler's next `.await`; a revocation waits 5 s
    /// more for that, then lets the partition go anyway (logging an error),
    /// so a handler that blocks its thread for longer than this timeout
    /// plus 5 s may run while the key's next record is handled. A
    /// revocation holds up the group's rebalance while it waits, so keep
    /// this well below librdkafka's `max.poll.interval.ms` (5 min).
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
        let mut config = self.config.clone();
        if let Some(id) = &self.group_instance_id {
            config.consumer.group_instance_id = Some(id.clone());
        }
        config.validate()?;
        let group_id = self
            .group_id
            .clone()
            .or_else(|| config.consumer.group_id.clone())
            .ok_or_else(|| {
                Error::config(format!(
                    "a consumer needs a group id ({} or Consumer::with_group_id)",
                    Store::Kafka.var("GROUP_ID")
                ))
                .with_store(Store::Kafka)
            })?;
        let topic_name: Arc<str> = Arc::from(self.topic.name());
        let offsets = Arc::new(Offsets::default());
        let lanes = Arc::new(LaneTasks::default());
        let closing = Closing(Arc::new(AtomicBool::new(false)));
        let issues = IssueLog::default();
        let context = ConsumerCtx {
            issues: issues.clone(),
            offsets: offsets.clone(),
            topic: topic_name.clone(),
            lanes: lanes.clone(),
            revoke_timeout: self.shutdown_timeout,
            closing: closing.0.clone(),
        };
        let consumer: KafkaConsumer = config
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

        let (polled_tx, polled_rx) = mpsc::channel(POLLED_CAPACITY);
        let poller = Poller::start(
            consumer.clone(),
            offsets.clone(),
            self.counters.clone(),
            polled_tx,
        )?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let (fatal_tx, fatal_rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            topic: self.topic.clone(),
            topic_name: topic_name.clone(),
            group_id,
            offsets: offsets.clone(),
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
            polled: polled_rx,
            offsets,
            lane_tasks: lanes,
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
            tracing::warn!("handlers still running at the shutdown timeout are cancelled");
            run.tasks.abort_all();
            let _ = tokio::time::timeout(CANCEL_GRACE, async {
                while run.tasks.join_next().await.is_some() {}
            })
            .await;
        }
        // Closing the channel also wakes a poll thread waiting for room in it.
        run.polled.close();
        poller.stop().await;
        let commit = run.commit_blocking().await;
        drop(closing);
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
        consumer: &KafkaConsumer,
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
    consumer: Arc<KafkaConsumer>,
    /// What the poll thread received.
    polled: mpsc::Receiver<Polled>,
    offsets: Arc<Offsets>,
    lane_tasks: Arc<LaneTasks>,
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
                received = self.polled.recv() => received,
            };
            let item = match received {
                Some(Ok(item)) => item,
                Some(Err(e)) => {
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
                None => {
                    return Err(Error::new(
                        ErrorKind::Backend,
                        "the consumer's poll thread stopped unexpectedly",
                    )
                    .with_store(Store::Kafka)
                    .with_target(self.topic_name.to_string()));
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
        if self.offsets.lock().epoch(partition) != Some(epoch) {
            // Received before its partition was revoked.
            Counters::add(&self.counters.stale, 1);
            return Ok(());
        }
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
                Err(mpsc::error::TrySendError::Closed(item)) => return self.closed(item, fatal),
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
            let current = self.offsets.lock().epoch(partition);
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
                    Err(mpsc::error::TrySendError::Closed(item)) => {
                        self.closed(item, fatal)?;
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

    /// `item`'s lane is gone: fine when a revocation cancelled it (the
    /// record is stale), a failure otherwise (the lane stopped the run).
    fn closed(&self, item: Item, fatal: &mut mpsc::Receiver<Error>) -> Result<()> {
        if self.offsets.lock().epoch(item.partition) != Some(item.epoch) {
            Counters::add(&self.counters.stale, 1);
            return Ok(());
        }
        Err(lane_stopped(fatal))
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
        let (tasks, shared, lane_tasks) = (&mut self.tasks, &self.shared, &self.lane_tasks);
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
                    lane_tasks.add(partition, tasks.spawn(run_lane(shared.clone(), rx)));
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
            let tracker = self.offsets.lock();
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
        let offsets = self.offsets.lock().take_commits();
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
                let mut tracker = self.offsets.lock();
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
