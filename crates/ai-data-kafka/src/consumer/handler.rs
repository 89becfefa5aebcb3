//! What a consumer hands to application code: [`Received`] records, the
//! [`Handler`] / [`BatchHandler`] traits, and the consumer's counters.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ai_data_core::Result;
use async_trait::async_trait;

use crate::Headers;

#[derive(Debug)]
struct Record<T> {
    payload: T,
    key: Option<Vec<u8>>,
    headers: Headers,
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
}

/// A decoded record, as given to a handler. Cheap to clone.
pub struct Received<T> {
    record: Arc<Record<T>>,
    attempt: u32,
}

impl<T> Clone for Received<T> {
    fn clone(&self) -> Self {
        Received {
            record: self.record.clone(),
            attempt: self.attempt,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Received<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("topic", &self.record.topic)
            .field("partition", &self.record.partition)
            .field("offset", &self.record.offset)
            .field("key", &self.key_str())
            .field("attempt", &self.attempt)
            .field("payload", &self.record.payload)
            .finish()
    }
}

impl<T> Received<T> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        payload: T,
        key: Option<Vec<u8>>,
        headers: Headers,
        topic: Arc<str>,
        partition: i32,
        offset: i64,
        timestamp: Option<i64>,
    ) -> Self {
        Received {
            record: Arc::new(Record {
                payload,
                key,
                headers,
                topic,
                partition,
                offset,
                timestamp,
            }),
            attempt: 1,
        }
    }

    pub(crate) fn with_attempt(&self, attempt: u32) -> Self {
        Received {
            record: self.record.clone(),
            attempt,
        }
    }

    /// The decoded payload.
    pub fn payload(&self) -> &T {
        &self.record.payload
    }

    /// The record key.
    pub fn key(&self) -> Option<&[u8]> {
        self.record.key.as_deref()
    }

    /// The record key as UTF-8 text.
    pub fn key_str(&self) -> Option<&str> {
        self.key().and_then(|k| std::str::from_utf8(k).ok())
    }

    /// The record headers.
    pub fn headers(&self) -> &Headers {
        &self.record.headers
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.record.topic
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.record.partition
    }

    /// The offset.
    pub fn offset(&self) -> i64 {
        self.record.offset
    }

    /// The record timestamp, milliseconds since the epoch.
    pub fn timestamp_millis(&self) -> Option<i64> {
        self.record.timestamp
    }

    /// Which attempt this is: 1 on the first call, 2 on the first retry.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// Handles one record at a time. Implemented for every
/// `Fn(Received<T>) -> impl Future<Output = Result<()>>`.
///
/// Return an error marked retryable ([`ai_data_core::Error::temporary`], or
/// a kind such as `Connect` / `Timeout`) to have the record retried by the
/// consumer's retry policy; a permanent error sends it to the dead-letter
/// topic at once. Handlers must tolerate seeing a record more than once
/// (delivery is at least once).
#[async_trait]
pub trait Handler<T>: Send + Sync + 'static {
    /// Process one record.
    async fn handle(&self, record: Received<T>) -> Result<()>;
}

#[async_trait]
impl<T, F, Fut> Handler<T> for F
where
    T: Send + Sync + 'static,
    F: Fn(Received<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    async fn handle(&self, record: Received<T>) -> Result<()> {
        self(record).await
    }
}

/// Handles a batch of records of one lane (same partition, keys of one
/// lane, in offset order). Implemented for every
/// `Fn(Vec<Received<T>>) -> impl Future<Output = Result<()>>`.
///
/// The batch succeeds or fails as a whole: a failure retries the whole
/// batch, and after the last attempt every record of it goes to the
/// dead-letter topic with the error.
#[async_trait]
pub trait BatchHandler<T>: Send + Sync + 'static {
    /// Process a batch.
    async fn handle_batch(&self, batch: Vec<Received<T>>) -> Result<()>;
}

#[async_trait]
impl<T, F, Fut> BatchHandler<T> for F
where
    T: Send + Sync + 'static,
    F: Fn(Vec<Received<T>>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    async fn handle_batch(&self, batch: Vec<Received<T>>) -> Result<()> {
        self(batch).await
    }
}

/// Counters of a consumer run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RunSummary {
    /// Records received from the brokers.
    pub received: u64,
    /// Records whose handler succeeded.
    pub handled: u64,
    /// Handler calls beyond the first attempt.
    pub retries: u64,
    /// Records published to the dead-letter topic.
    pub dead_lettered: u64,
    /// Records skipped because their partition had been reassigned.
    pub stale: u64,
    /// Offset commits issued.
    pub commits: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) handled: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) stale: AtomicU64,
    pub(crate) commits: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Live counters of a consumer, readable while it runs.
///
/// ```
/// # use ai_data_kafka::{Consumer, KafkaConfig, Topic};
/// let consumer = Consumer::new(&KafkaConfig::new("127.0.0.1:9092").with_group_id("g"),
///     Topic::<serde_json::Value>::new("t"));
/// let metrics = consumer.metrics();
/// assert_eq!(metrics.snapshot().handled, 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConsumerMetrics(pub(crate) Arc<Counters>);

impl ConsumerMetrics {
    /// The counters now.
    pub fn snapshot(&self) -> RunSummary {
        let c = &self.0;
        RunSummary {
            received: c.received.load(Ordering::Relaxed),
            handled: c.handled.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
            stale: c.stale.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
        }
    }
}
