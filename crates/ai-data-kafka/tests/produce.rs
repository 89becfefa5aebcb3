//! The typed producer against the local broker.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ai_data_core::{ErrorKind, HealthCheck};
use ai_data_kafka::{header, Headers, Producer, Topic, JSON};
use rdkafka::message::{Headers as _, Message};
use serde::{Deserialize, Serialize, Serializer};

/// A typed event keyed by dataset (the seed's own is
/// `ai_data_platform::kafka::IngestionRequest`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Request {
    dataset_id: String,
    documents: Vec<String>,
}

#[tokio::test]
async fn producer_sends_typed_events_with_keys_and_headers() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = Topic::<Request>::new("data-ingestion")
        .with_key(|r: &Request| r.dataset_id.clone())
        .with_prefix(&kafka.prefix);
    common::provision(&kafka, topic.name(), 3, false).await;
    let producer = Producer::connect(&common::config(&kafka))
        .await
        .expect("connect");
    assert!(producer.check().await.is_ok());

    let request = Request {
        dataset_id: "ds-7".into(),
        documents: vec!["s3://docs/d1.pdf".into()],
    };
    let first = producer
        .send_with(&topic, &request, Headers::new().with("trace-id", "t-1"))
        .await
        .expect("delivered");
    let second = producer.send(&topic, &request).await.expect("delivered");
    assert_eq!(
        first.partition, second.partition,
        "same key, same partition"
    );
    assert_eq!(second.offset, first.offset + 1);

    let read = common::read_raw(&kafka, topic.name(), 2).await;
    let message = &read[0];
    assert_eq!(message.key(), Some(&b"ds-7"[..]));
    assert_eq!(message.partition(), first.partition);
    let headers = message.headers().expect("headers");
    let found: Vec<(String, Option<Vec<u8>>)> = headers
        .iter()
        .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
        .collect();
    assert_eq!(
        found,
        [
            (
                header::CONTENT_TYPE.to_owned(),
                Some(JSON.as_bytes().to_vec())
            ),
            ("trace-id".to_owned(), Some(b"t-1".to_vec())),
        ]
    );
    let decoded = topic
        .decode(message.payload().expect("payload"))
        .expect("decodes");
    assert_eq!(decoded, request);

    producer.shutdown().await.expect("flushed");
}

/// An event whose serialization fails for `id == 13`, to show per-message
/// results in a batch.
#[derive(Debug, Deserialize)]
struct Picky {
    id: u32,
}

impl Serialize for Picky {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.id == 13 {
            return Err(serde::ser::Error::custom("13 is unlucky"));
        }
        let mut map = BTreeMap::new();
        map.insert("id", self.id);
        map.serialize(s)
    }
}

#[tokio::test]
async fn batch_send_returns_a_result_per_message_in_order() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = Topic::<Picky>::new(kafka.topic("picky")).with_key(|p| format!("k{}", p.id % 4));
    common::provision(&kafka, topic.name(), 3, false).await;
    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    let events: Vec<Picky> = (0..40).map(|id| Picky { id }).collect();
    let results = producer.send_batch(&topic, &events).await;
    assert_eq!(results.len(), 40);
    let err = results[13].as_ref().expect_err("unserializable");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("13 is unlucky"), "{err}");

    // Every other event landed; per key, offsets grow in send order.
    let mut last: HashMap<u32, (i32, i64)> = HashMap::new();
    for (event, result) in events.iter().zip(&results) {
        if event.id == 13 {
            continue;
        }
        let delivery = result.as_ref().expect("delivered");
        if let Some((partition, offset)) =
            last.insert(event.id % 4, (delivery.partition, delivery.offset))
        {
            assert_eq!(partition, delivery.partition);
            assert!(delivery.offset > offset);
        }
    }
    let total: i64 = common::high_watermarks(&kafka, topic.name(), 3)
        .await
        .iter()
        .sum();
    assert_eq!(total, 39);

    // A topic that does not exist fails each message with a typed error
    // (librdkafka waits for it to appear until the message timeout).
    let short = Producer::new(&common::config(&kafka).with_message_timeout(Duration::from_secs(3)))
        .expect("producer");
    let missing = Topic::<Picky>::new(kafka.topic("missing"));
    let start = Instant::now();
    let results = short
        .send_batch(&missing, &[Picky { id: 1 }, Picky { id: 2 }])
        .await;
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(results.len(), 2);
    for result in results {
        let err = result.expect_err("no such topic");
        assert!(
            matches!(err.kind(), ErrorKind::NotFound | ErrorKind::Timeout),
            "{err}"
        );
        assert_eq!(err.target(), Some(missing.name()));
    }
    producer.shutdown().await.expect("flushed");
}
