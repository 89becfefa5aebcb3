//! [`Producer`]: typed events with keys and headers, delivery awaited.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ai_data_core::observe::Operation;
use ai_data_core::{Error, ErrorKind, HealthCheck, HealthReport, Result, Store};
use async_trait::async_trait;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;

use crate::context::{IssueLog, StreamContext};
use crate::error::from_kafka;
use crate::health::{cluster_metadata, fetch, health_report, ClusterInfo};
use crate::topic::header;
use crate::{Headers, KafkaConfig, Topic};

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Delivery {
    /// The partition.
    pub partition: i32,
    /// The record's offset in the partition.
    pub offset: i64,
}

struct Inner {
    producer: FutureProducer<StreamContext>,
    issues: IssueLog,
    connect_timeout: Duration,
    flush_timeout: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // rdkafka purges unsent messages when a producer is dropped; give
        // them their delivery time first.
        let in_flight = self.producer.in_flight_count();
        if in_flight > 0 {
            tracing::warn!(
                in_flight,
                "Kafka producer dropped with messages in flight; flushing (call Producer::shutdown to flush without blocking)"
            );
            if let Err(e) = self.producer.flush(self.flush_timeout) {
                tracing::error!(error = %e, "Kafka producer flush on drop failed; unsent messages are lost");
            }
        }
    }
}

/// A Kafka producer of typed events: key from the [`Topic`], a
/// content-type header plus the caller's headers, delivery awaited.
///
/// Idempotent by default (`enable.idempotence=true`, `acks=all`): the
/// producer's own retries never duplicate or reorder records. Cheap to
/// clone; every clone shares one librdkafka client. Call
/// [`Producer::shutdown`] (or [`Producer::flush`]) before exiting so that
/// queued records are delivered.
///
/// ```no_run
/// use ai_data_kafka::{KafkaConfig, Producer, Topic};
/// use serde_json::{json, Value};
///
/// # async fn demo() -> ai_data_kafka::Result<()> {
/// let producer = Producer::connect(&KafkaConfig::from_env()?).await?;
/// let topic = Topic::<Value>::new("documents").with_key(|d: &Value| d["dataset"].to_string());
/// let document = json!({"dataset": "ds-1", "uri": "s3://docs/d1.pdf"});
/// let delivery = producer.send(&topic, &document).await?;
/// println!("partition {} offset {}", delivery.partition, delivery.offset);
/// producer.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// A producer for `config`. Does not contact the brokers: see
    /// [`Producer::connect`].
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        config.validate()?;
        let context = StreamContext::new();
        let issues = context.issues.clone();
        let producer: FutureProducer<StreamContext> = config
            .rdkafka_producer_config()
            .create_with_context(context)
            .map_err(|e| from_kafka(e, "create producer"))?;
        Ok(Producer {
            inner: Arc::new(Inner {
                producer,
                issues,
                connect_timeout: config.connect_timeout,
                flush_timeout: config.producer.message_timeout,
            }),
        })
    }

    /// A producer that has fetched the cluster metadata within the
    /// configured connect timeout: a wrong password is an
    /// [`ErrorKind::Auth`] error, unreachable brokers an
    /// [`ErrorKind::Connect`] one.
    pub async fn connect(config: &KafkaConfig) -> Result<Self> {
        let producer = Self::new(config)?;
        producer.cluster_info().await?;
        Ok(producer)
    }

    /// The cluster's brokers and topics, within the connect timeout.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        Operation::new(Store::Kafka, "cluster_info")
            .run_counted(self.fetch_cluster_info(), |info| info.topics.len())
            .await
    }

    async fn fetch_cluster_info(&self) -> Result<ClusterInfo> {
        let inner = self.inner.clone();
        let fetch_it = move || {
            let result = fetch(inner.producer.client(), inner.connect_timeout);
            if result.is_err() {
                // The polling thread serves the error events that say why.
                std::thread::sleep(Duration::from_millis(100));
            }
            result
        };
        cluster_metadata(fetch_it, &self.inner.issues, self.inner.connect_timeout).await
    }

    /// Send one event, keyed by the topic's key function, with a
    /// content-type header; resolves when the brokers acknowledged it.
    pub async fn send<T>(&self, topic: &Topic<T>, event: &T) -> Result<Delivery>
    where
        T: Serialize + DeserializeOwned,
    {
        self.send_with(topic, event, Headers::new()).await
    }

    /// Send one event with extra headers (after the content-type header).
    pub async fn send_with<T>(
        &self,
        topic: &Topic<T>,
        event: &T,
        headers: Headers,
    ) -> Result<Delivery>
    where
        T: Serialize + DeserializeOwned,
    {
        Operation::new(Store::Kafka, "producer.send")
            .target(topic.name())
            .run(async {
                let payload = topic.encode(event)?;
                let key = topic.key_of(event);
                let headers = typed_headers(topic.content_type(), &headers);
                self.deliver(
                    topic.name(),
                    key.as_deref().map(str::as_bytes),
                    Some(&payload),
                    headers,
                )
                .await
            })
            .await
    }

    /// Send raw bytes: for forwarding records as they are (dead letters)
    /// and for payloads that are not `T`.
    pub async fn send_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: &Headers,
    ) -> Result<Delivery> {
        Operation::new(Store::Kafka, "producer.send_raw")
            .target(topic)
            .run(self.deliver(topic, key, payload, headers.to_rdkafka()))
            .await
    }

    async fn deliver(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        headers: OwnedHeaders,
    ) -> Result<Delivery> {
        let record = FutureRecord {
            topic,
            partition: None,
            payload,
            key,
            timestamp: None,
            headers: Some(headers),
        };
        self.inner
            .producer
            .send(record, Timeout::After(self.inner.flush_timeout))
            .await
            .map(|d| Delivery {
                partition: d.partition,
                offset: d.offset,
            })
            .map_err(|(e, _)| self.error(e, topic))
    }

    /// Send many events, in order, and await every delivery. Returns one
    /// result per event, in the same order; one failure does not stop the
    /// others. Records with the same key keep their order.
    ///
    /// Observed as one `producer.send_batch` operation for the whole batch
    /// (its `rows` are the records delivered); when any record failed, the
    /// operation's outcome is the first failure's kind.
    ///
    /// ```no_run
    /// # use ai_data_kafka::{Producer, Topic};
    /// # async fn demo(producer: Producer) {
    /// let records: Vec<serde_json::Value> = (0..100)
    ///     .map(|i| serde_json::json!({"service": "indexer", "line": i}))
    ///     .collect();
    /// let results = producer.send_batch(&Topic::new("logs"), &records).await;
    /// let failed = results.iter().filter(|r| r.is_err()).count();
    /// assert_eq!(results.len(), 100);
    /// # let _ = failed;
    /// # }
    /// ```
    pub async fn send_batch<'a, T, I>(&self, topic: &Topic<T>, events: I) -> Vec<Result<Delivery>>
    where
        T: Serialize + DeserializeOwned + 'a,
        I: IntoIterator<Item = &'a T>,
    {
        let mut results = Vec::new();
        // The per-record results are the answer; the operation only
        // records how the batch went.
        let _ = Operation::new(Store::Kafka, "producer.send_batch")
            .target(topic.name())
            .run_counted(
                async {
                    results = self.enqueue_batch(topic, events).await;
                    batch_outcome(&results, topic.name())
                },
                |delivered| *delivered,
            )
            .await;
        results
    }

    async fn enqueue_batch<'a, T, I>(&self, topic: &Topic<T>, events: I) -> Vec<Result<Delivery>>
    where
        T: Serialize + DeserializeOwned + 'a,
        I: IntoIterator<Item = &'a T>,
    {
        let name = topic.name();
        let events = events.into_iter();
        let mut results: Vec<Option<Result<Delivery>>> = Vec::with_capacity(events.size_hint().0);
        let mut pending: VecDeque<(usize, DeliveryFuture)> =
            VecDeque::with_capacity(results.capacity());
        // librdkafka copies the payload, so one buffer serves every record.
        let mut payload = Vec::new();
        for (index, event) in events.enumerate() {
            results.push(None);
            if let Err(e) = topic.encode_into(event, &mut payload) {
                results[index] = Some(Err(e));
                continue;
            }
            let key = topic.key_of(event);
            let mut headers = Some(typed_headers(topic.content_type(), &Headers::new()));
            let mut give_up_at = None;
            loop {
                let record = FutureRecord {
                    topic: name,
                    partition: None,
                    payload: Some(payload.as_slice()),
                    key: key.as_deref().map(str::as_bytes),
                    timestamp: None,
                    headers: headers.take(),
                };
                match self.inner.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push_back((index, delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record))
                        if Instant::now()
                            < *give_up_at.get_or_insert_with(|| {
                                Instant::now() + self.inner.flush_timeout
                            }) =>
                    {
                        headers = record.headers;
                        // Make room by waiting for the oldest delivery.
                        match pending.pop_front() {
                            Some((done, delivery)) => {
                                results[done] = Some(self.resolve(delivery.await, name));
                            }
                            None => tokio::time::sleep(Duration::from_millis(5)).await,
                        }
                    }
                    Err((e, _)) => {
                        results[index] = Some(Err(self.error(e, name)));
                        break;
                    }
                }
            }
        }
        for (index, delivery) in pending {
            results[index] = Some(self.resolve(delivery.await, name));
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Error::new(ErrorKind::Backend, "no delivery report")
                        .with_store(Store::Kafka))
                })
            })
            .collect()
    }

    fn resolve(
        &self,
        outcome: std::result::Result<
            rdkafka::producer::future_producer::OwnedDeliveryResult,
            futures::channel::oneshot::Canceled,
        >,
        topic: &str,
    ) -> Result<Delivery> {
        match outcome {
            Ok(Ok(d)) => Ok(Delivery {
                partition: d.partition,
                offset: d.offset,
            }),
            Ok(Err((e, _))) => Err(self.error(e, topic)),
            Err(_) => Err(self.error(KafkaError::Canceled, topic)),
        }
    }

    fn error(&self, e: KafkaError, topic: &str) -> Error {
        self.inner
            .issues
            .explain(from_kafka(e, "send").with_target(topic.to_owned()))
    }

    /// Records queued or in flight.
    pub fn in_flight(&self) -> i32 {
        self.inner.producer.in_flight_count()
    }

    /// Wait until every queued record is delivered (or failed), up to `timeout`.
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        let inner = self.inner.clone();
        Operation::new(Store::Kafka, "producer.flush")
            .run(async move {
                tokio::task::spawn_blocking(move || inner.producer.flush(timeout))
                    .await
                    .map_err(|e| {
                        Error::new(ErrorKind::Backend, "the flush task failed")
                            .with_store(Store::Kafka)
                            .with_source(e)
                    })?
                    .map_err(|e| from_kafka(e, "flush"))
            })
            .await
    }

    /// Flush with the configured message timeout, then release this handle.
    pub async fn shutdown(self) -> Result<()> {
        let timeout = self.inner.flush_timeout;
        self.flush(timeout).await
    }
}

#[async_trait]
impl HealthCheck for Producer {
    /// Cluster metadata within the connect timeout.
    async fn check(&self) -> Result<HealthReport> {
        Operation::new(Store::Kafka, "health")
            .run(health_report(self.fetch_cluster_info()))
            .await
    }
}

/// How a batch went, for its operation: the records delivered, or, when
/// any failed, an error of the first failure's kind saying how many failed
/// (the delivered count still goes on the operation's span).
fn batch_outcome(results: &[Result<Delivery>], topic: &str) -> Result<usize> {
    let delivered = results.iter().filter(|r| r.is_ok()).count();
    let Some(first) = results.iter().find_map(|r| r.as_ref().err()) else {
        return Ok(delivered);
    };
    tracing::Span::current().record("rows", delivered);
    Err(Error::new(
        first.kind(),
        format!(
            "{} of {} records not delivered; first: {first}",
            results.len() - delivered,
            results.len()
        ),
    )
    .with_store(Store::Kafka)
    .with_operation("send")
    .with_target(topic.to_owned()))
}

pub(crate) fn typed_headers(content_type: &str, extra: &Headers) -> OwnedHeaders {
    let headers = OwnedHeaders::new_with_capacity(1 + extra.len()).insert(Header {
        key: header::CONTENT_TYPE,
        value: Some(content_type),
    });
    extra
        .iter()
        .fold(headers, |h, (key, value)| h.insert(Header { key, value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_ok_when_every_record_was_delivered() {
        let delivered = Delivery {
            partition: 0,
            offset: 7,
        };
        assert_eq!(batch_outcome(&[], "t").expect("empty"), 0);
        assert_eq!(
            batch_outcome(&[Ok(delivered), Ok(delivered)], "t").expect("all"),
            2
        );
        let failed = [
            Ok(delivered),
            Err(Error::new(ErrorKind::Timeout, "message timed out")),
            Err(Error::new(ErrorKind::Connect, "broker down")),
        ];
        let err = batch_outcome(&failed, "events").expect_err("partial");
        assert_eq!(err.kind(), ErrorKind::Timeout, "the first failure's kind");
        assert_eq!(err.target(), Some("events"));
        assert!(
            err.message().starts_with("2 of 3 records not delivered"),
            "{err}"
        );
    }
}
