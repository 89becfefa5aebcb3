//! A lane: one sequential worker of a partition. Records of one key always
//! go to the same lane, so they are handled in order; lanes of a partition
//! run concurrently.

use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ai_data_core::{Error, ErrorKind, Result, RetryPolicy, Store};
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::Instrument;

use super::handler::{BatchHandler, Counters, Handler, Received};
use super::observe::RunMetrics;
use super::tracker::{Offsets, Running};
use crate::topic::header;
use crate::{Headers, Producer, Topic};

/// The dead-letter stage of an undecodable record (a poison record).
const STAGE_DECODE: &str = "decode";

/// A received record on its way to a lane.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) epoch: u64,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) headers: Headers,
    pub(crate) timestamp: Option<i64>,
}

/// The lane of a record: by key, so that a key's records stay in order;
/// records without a key have no order to keep and spread by offset.
pub(crate) fn lane_of(key: Option<&[u8]>, offset: i64, lanes: usize) -> usize {
    let lanes = lanes.max(1) as u64;
    let slot = match key {
        Some(key) => {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            key.hash(&mut hasher);
            hasher.finish() % lanes
        }
        None => offset.unsigned_abs() % lanes,
    };
    slot as usize
}

/// What the lanes run.
pub(crate) enum Work<T> {
    One(Arc<dyn Handler<T>>),
    Batch {
        handler: Arc<dyn BatchHandler<T>>,
        max: usize,
        linger: Duration,
    },
}

/// Everything the lanes of one consumer share.
pub(crate) struct Shared<T> {
    pub(crate) topic: Topic<T>,
    pub(crate) topic_name: Arc<str>,
    pub(crate) group_id: String,
    pub(crate) offsets: Arc<Offsets>,
    pub(crate) retry: RetryPolicy,
    pub(crate) dead_letter: Option<(String, Producer)>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) metrics: RunMetrics,
    pub(crate) stopping: watch::Receiver<bool>,
    pub(crate) fatal: mpsc::Sender<Error>,
    /// Signalled whenever a lane takes a record: its channel has room.
    pub(crate) room: tokio::sync::Notify,
    pub(crate) work: Work<T>,
}

impl<T> Shared<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Start handling `item`: `None` (counted as stale) when its
    /// assignment is over or being revoked. While the guard lives, a
    /// revocation of the partition waits for it.
    fn enter(&self, item: &Item) -> Option<Running> {
        let running = self.offsets.enter(item.partition, item.epoch);
        if running.is_none() {
            Counters::add(&self.counters.stale, 1);
        }
        running
    }

    fn finish(&self, item: &Item) {
        self.offsets
            .lock()
            .finish(item.partition, item.epoch, item.offset);
    }

    fn stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    fn received(&self, item: &Item, payload: T) -> Received<T> {
        Received::new(
            payload,
            item.key.clone(),
            item.headers.clone(),
            self.topic_name.clone(),
            item.partition,
            item.offset,
            item.timestamp,
        )
    }

    /// Run `attempt` under the retry policy, turning panics into permanent
    /// errors and timing each call; returns the outcome and the number of
    /// attempts.
    async fn with_retries<F, Fut>(&self, attempt: F) -> (Result<()>, u32)
    where
        F: Fn(u32) -> Fut,
        Fut: std::future::Future<Output = Result<()>> + Send,
    {
        let attempts = AtomicU32::new(0);
        let outcome = self
            .retry
            .run(|| {
                let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
                let started = std::time::Instant::now();
                AssertUnwindSafe(attempt(n)).catch_unwind().map(move |r| {
                    self.metrics
                        .handler_seconds
                        .record(started.elapsed().as_secs_f64());
                    r.unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "non-text panic".to_owned());
                        Err(
                            Error::new(ErrorKind::Backend, format!("handler panicked: {what}"))
                                .permanent(),
                        )
                    })
                })
            })
            .await;
        let n = attempts.load(Ordering::Relaxed);
        Counters::add(&self.counters.retries, u64::from(n.saturating_sub(1)));
        (outcome, n)
    }

    /// Publish `item` to the dead-letter topic (original key, payload and
    /// headers, plus the error), then mark it finished. Retries the publish
    /// until it succeeds: the partition's commits wait for it. Returns
    /// `false` when it could not (no dead-letter topic, or shutdown), and
    /// the lane must stop.
    async fn dead_letter(&self, item: &Item, error: &Error, stage: &str, attempts: u32) -> bool {
        let Some((dlq, producer)) = &self.dead_letter else {
            let fatal = Error::new(
                error.kind(),
                format!(
                    "record at partition {} offset {} failed after {attempts} attempt(s) and no dead-letter topic is configured: {error}",
                    item.partition, item.offset
                ),
            )
            .with_store(Store::Kafka)
            .with_operation("consume")
            .with_target(self.topic_name.to_string());
            let _ = self.fatal.try_send(fatal);
            return false;
        };
        let mut headers = item.headers.clone();
        headers.push(header::DLQ_ERROR, error.to_string());
        headers.push(header::DLQ_ERROR_KIND, error.kind().as_str());
        headers.push(header::DLQ_STAGE, stage);
        headers.push(header::DLQ_ATTEMPTS, attempts.to_string());
        headers.push(header::DLQ_TOPIC, self.topic_name.as_bytes());
        headers.push(header::DLQ_PARTITION, item.partition.to_string());
        headers.push(header::DLQ_OFFSET, item.offset.to_string());
        headers.push(header::DLQ_GROUP, self.group_id.as_bytes());
        let mut delay = Duration::from_millis(100);
        let mut stopping = self.stopping.clone();
        loop {
            let sent = producer
                .send_raw(dlq, item.key.as_deref(), item.payload.as_deref(), &headers)
                .await;
            match sent {
                Ok(_) => {
                    tracing::warn!(
                        topic = %self.topic_name,
                        partition = item.partition,
                        offset = item.offset,
                        stage,
                        attempts,
                        error = %error,
                        dead_letter_topic = %dlq,
                        "record sent to the dead-letter topic"
                    );
                    self.finish(item);
                    Counters::add(&self.counters.dead_lettered, 1);
                    if stage == STAGE_DECODE {
                        self.metrics.poison.increment(1);
                    } else {
                        self.metrics.dead_lettered.increment(1);
                    }
                    return true;
                }
                Err(e) => {
                    tracing::error!(
                        topic = %self.topic_name,
                        partition = item.partition,
                        offset = item.offset,
                        error = %e,
                        "dead-letter publish failed; the partition's commits wait"
                    );
                    if self.stopping() {
                        return false;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stopping.changed() => return false,
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn process_one(&self, handler: &Arc<dyn Handler<T>>, item: Item) -> bool {
        let Some(_running) = self.enter(&item) else {
            return true;
        };
        let payload = match self
            .topic
            .decode_record(item.payload.as_deref(), &item.headers)
        {
            Ok(payload) => payload,
            Err(e) => return self.dead_letter(&item, &e, STAGE_DECODE, 0).await,
        };
        let received = self.received(&item, payload);
        let (outcome, attempts) = self
            .with_retries(|n| {
                let handler = handler.clone();
                let record = received.with_attempt(n);
                async move { handler.handle(record).await }
            })
            .await;
        if attempts > 1 {
            self.metrics.retried.increment(u64::from(attempts - 1));
        }
        match outcome {
            Ok(()) => {
                self.finish(&item);
                Counters::add(&self.counters.handled, 1);
                self.metrics.handled.increment(1);
                true
            }
            Err(e) => self.dead_letter(&item, &e, "handler", attempts).await,
        }
    }

    async fn process_batch(&self, handler: &Arc<dyn BatchHandler<T>>, items: Vec<Item>) -> bool {
        // One lane serves one assignment of one partition: its records
        // share the partition and the epoch.
        let Some(_running) = items.first().and_then(|first| self.enter(first)) else {
            Counters::add(&self.counters.stale, items.len().saturating_sub(1) as u64);
            return true;
        };
        let mut decoded = Vec::with_capacity(items.len());
        for item in items {
            match self
                .topic
                .decode_record(item.payload.as_deref(), &item.headers)
            {
                Ok(payload) => {
                    let received = self.received(&item, payload);
                    decoded.push((item, received));
                }
                Err(e) => {
                    if !self.dead_letter(&item, &e, STAGE_DECODE, 0).await {
                        return false;
                    }
                }
            }
        }
        if decoded.is_empty() {
            return true;
        }
        let (outcome, attempts) = self
            .with_retries(|n| {
                let handler = handler.clone();
                let batch: Vec<Received<T>> =
                    decoded.iter().map(|(_, r)| r.with_attempt(n)).collect();
                async move { handler.handle_batch(batch).await }
            })
            .await;
        let records = decoded.len() as u64;
        if attempts > 1 {
            self.metrics
                .retried
                .increment(u64::from(attempts - 1) * records);
        }
        match outcome {
            Ok(()) => {
                for (item, _) in &decoded {
                    self.finish(item);
                }
                Counters::add(&self.counters.handled, records);
                self.metrics.handled.increment(records);
                true
            }
            Err(e) => {
                for (item, _) in &decoded {
                    if !self.dead_letter(item, &e, "handler", attempts).await {
                        return false;
                    }
                }
                true
            }
        }
    }
}

/// Run one lane until its channel closes, the consumer stops, or a record
/// fails for good without a dead-letter topic.
pub(crate) async fn run_lane<T>(shared: Arc<Shared<T>>, mut rx: mpsc::Receiver<Item>)
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let mut stopping = shared.stopping.clone();
    loop {
        if shared.stopping() {
            return;
        }
        let first = tokio::select! {
            biased;
            _ = stopping.changed() => return,
            item = rx.recv() => match item {
                Some(item) => item,
                None => return,
            },
        };
        shared.room.notify_one();
        let go_on = match &shared.work {
            Work::One(handler) => {
                // Never the payload or the key: they may be personal data.
                let span = tracing::debug_span!(
                    "ai_data.consume",
                    topic = %shared.topic_name,
                    partition = first.partition,
                    offset = first.offset,
                );
                shared.process_one(handler, first).instrument(span).await
            }
            Work::Batch {
                handler,
                max,
                linger,
            } => {
                let (partition, first_offset) = (first.partition, first.offset);
                let mut batch = vec![first];
                let until = Instant::now() + *linger;
                while batch.len() < *max {
                    match rx.try_recv() {
                        Ok(item) => {
                            shared.room.notify_one();
                            batch.push(item);
                        }
                        Err(mpsc::error::TryRecvError::Disconnected) => break,
                        Err(mpsc::error::TryRecvError::Empty) => {
                            match tokio::time::timeout_at(until, rx.recv()).await {
                                Ok(Some(item)) => {
                                    shared.room.notify_one();
                                    batch.push(item);
                                }
                                Ok(None) | Err(_) => break,
                            }
                        }
                    }
                }
                let last_offset = batch.last().map_or(first_offset, |item| item.offset);
                let span = tracing::debug_span!(
                    "ai_data.consume_batch",
                    topic = %shared.topic_name,
                    partition,
                    first_offset,
                    last_offset,
                    records = batch.len(),
                );
                shared.process_batch(handler, batch).instrument(span).await
            }
        };
        if !go_on {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_always_maps_to_the_same_lane_and_keys_spread() {
        let lanes = 4;
        let mut used = [false; 4];
        for i in 0..100 {
            let key = format!("key-{i}");
            let lane = lane_of(Some(key.as_bytes()), i, lanes);
            assert_eq!(lane, lane_of(Some(key.as_bytes()), i + 1000, lanes));
            used[lane] = true;
        }
        assert!(used.iter().all(|u| *u), "{used:?}");
        assert_eq!(lane_of(None, 5, 4), 1);
        assert_eq!(lane_of(Some(b"x"), 0, 0), 0);
    }
}
