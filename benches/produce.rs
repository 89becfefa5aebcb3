//! The Kafka client path, on librdkafka's in-process mock cluster
//! (`rdkafka::mocking::MockCluster`, 3 brokers, replication 2): no real
//! broker, so the numbers are the client's cost (serialisation, queueing,
//! batching, protocol, acknowledgements), not a cluster's.
//!
//! - `produce_100k_1kb/typed_producer` vs `produce_100k_1kb/raw_future_producer`:
//!   100,000 keyed JSON events of ~1 KB to a topic of 3 partitions through
//!   `Producer::send_batch`, against a hand-written rdkafka `FutureProducer`
//!   loop with the same librdkafka configuration
//!   (`KafkaConfig::rdkafka_producer_config`: idempotent, `acks=all`,
//!   `linger.ms=5`), the same serialisation, key and header, every delivery
//!   awaited. Each run gets a fresh mock cluster and producer, warmed by one
//!   record before the clock starts. Goal: typed >= 0.95x raw.
//! - consumer throughput: the at-least-once `Consumer` (4 lanes per
//!   partition, commits every second) with a no-op handler against a raw
//!   `StreamConsumer` loop that only decodes, both reading the same
//!   records; timed from the first record to the last (the group join is
//!   not counted). The mock keeps at most 5 MB per partition, so this topic
//!   has 32 partitions.
//!
//! A summary (best and median of interleaved runs, and the ratios) is
//! printed first; the summary is the number to quote on a shared machine,
//! since criterion measures one side after the other.
//! `cargo bench --features kafka --bench produce` (`-- --test` runs each
//! criterion case once).

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data::kafka::{header, Consumer, KafkaConfig, Producer, Received, Topic, JSON};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;

const EVENTS: usize = 100_000;
const TOPIC: &str = "bench-events";
/// Interleaved runs of each side in the produce summary.
const RUNS: usize = 9;
/// Partitions of the topic the consumers read: the mock cluster keeps at
/// most 5 MB per partition, so 100,000 x 1 KB need more than the seed's 3.
const CONSUME_PARTITIONS: i32 = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Event {
    id: u64,
    dataset_id: String,
    document_uri: String,
    body: String,
}

fn events() -> Vec<Event> {
    let body: String = "lorem ipsum dolor sit amet ".repeat(36);
    (0..EVENTS as u64)
        .map(|id| Event {
            id,
            dataset_id: format!("dataset-{}", id % 64),
            document_uri: format!("s3://ai-platform-docs/dataset-{}/doc-{id}.pdf", id % 64),
            body: body.clone(),
        })
        .collect()
}

fn topic() -> Topic<Event> {
    Topic::new(TOPIC).with_key(|e: &Event| e.dataset_id.clone())
}

async fn typed(producer: &Producer, topic: &Topic<Event>, events: &[Event]) -> usize {
    let results = producer.send_batch(topic, events).await;
    let delivered = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        delivered,
        events.len(),
        "typed: {:?}",
        results.iter().find(|r| r.is_err())
    );
    delivered
}

/// What a service would write with rdkafka directly: serialise, key,
/// content-type header, enqueue, await every delivery; on a full queue,
/// wait for the oldest delivery.
async fn raw(producer: &FutureProducer, events: &[Event]) -> usize {
    let mut pending: VecDeque<DeliveryFuture> = VecDeque::with_capacity(events.len());
    let mut delivered = 0;
    for event in events {
        let payload = serde_json::to_vec(event).expect("serialise");
        loop {
            let headers = OwnedHeaders::new_with_capacity(1).insert(Header {
                key: header::CONTENT_TYPE,
                value: Some(JSON),
            });
            let record = FutureRecord::to(TOPIC)
                .key(event.dataset_id.as_str())
                .payload(payload.as_slice())
                .headers(headers);
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push_back(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if let Some(oldest) = pending.pop_front() {
                        delivered += usize::from(matches!(oldest.await, Ok(Ok(_))));
                    }
                }
                Err((e, _)) => panic!("raw send failed: {e}"),
            }
        }
    }
    for delivery in pending {
        delivered += usize::from(matches!(delivery.await, Ok(Ok(_))));
    }
    assert_eq!(delivered, events.len(), "raw deliveries");
    delivered
}

/// A fresh mock cluster with the bench topic.
struct Mock {
    cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    config: KafkaConfig,
}

fn mock(partitions: i32) -> Mock {
    let cluster = MockCluster::new(3).expect("mock cluster");
    cluster
        .create_topic(TOPIC, partitions, 2)
        .expect("mock topic");
    let config = KafkaConfig::new(cluster.bootstrap_servers());
    Mock { cluster, config }
}

/// One timed typed run on a fresh cluster (records do not pile up in
/// memory across runs) and producer; connecting and the idempotent
/// producer's id are settled by one record before the clock starts.
async fn typed_run(events: &[Event]) -> Duration {
    let m = mock(3);
    let producer = Producer::new(&m.config).expect("typed producer");
    let topic = topic();
    producer.send(&topic, &events[0]).await.expect("warm-up");
    let start = Instant::now();
    typed(&producer, &topic, events).await;
    let elapsed = start.elapsed();
    drop(producer);
    drop(m.cluster);
    elapsed
}

/// One timed raw run, set up the same way.
async fn raw_run(events: &[Event]) -> Duration {
    let m = mock(3);
    let producer: FutureProducer = m
        .config
        .rdkafka_producer_config()
        .create()
        .expect("raw producer");
    raw(&producer, &events[..1]).await;
    let start = Instant::now();
    raw(&producer, events).await;
    let elapsed = start.elapsed();
    drop(producer);
    drop(m.cluster);
    elapsed
}

/// How many records the mock kept (it trims partitions beyond 5 MB).
fn kept(config: &KafkaConfig) -> u64 {
    let reader: BaseConsumer = config
        .rdkafka_consumer_config("bench-watermarks")
        .create()
        .expect("watermark reader");
    (0..CONSUME_PARTITIONS)
        .map(|p| {
            let (low, high) = reader
                .fetch_watermarks(TOPIC, p, Duration::from_secs(10))
                .expect("watermarks");
            (high - low) as u64
        })
        .sum()
}

async fn consume_typed(config: &KafkaConfig, group: &str, count: u64) -> Duration {
    let consumer = Consumer::new(&config.clone().with_group_id(group), topic())
        .without_dead_letter()
        .with_concurrency(4);
    let metrics = consumer.metrics();
    let first: Arc<Mutex<Option<Instant>>> = Arc::default();
    let handler = {
        let first = first.clone();
        move |msg: Received<Event>| {
            let first = first.clone();
            async move {
                first.lock().expect("lock").get_or_insert_with(Instant::now);
                black_box(msg.payload().id);
                Ok(())
            }
        }
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut run = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    let give_up = Instant::now() + Duration::from_secs(120);
    while metrics.snapshot().handled < count {
        assert!(
            Instant::now() < give_up,
            "typed consumer stalled: {:?}",
            metrics.snapshot()
        );
        tokio::select! {
            ended = &mut run => panic!("the consumer stopped early: {ended:?}"),
            _ = tokio::time::sleep(Duration::from_millis(1)) => {}
        }
    }
    let end = Instant::now();
    let _ = stop.send(());
    run.await.expect("task").expect("consumer run");
    let start = first.lock().expect("lock").expect("first record");
    end - start
}

async fn consume_raw(config: &KafkaConfig, group: &str, count: u64) -> Duration {
    let consumer: StreamConsumer = config
        .rdkafka_consumer_config(group)
        .create()
        .expect("raw consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let mut seen = 0;
    let mut start = None;
    while seen < count {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .expect("raw consumer stalled")
            .expect("record");
        start.get_or_insert_with(Instant::now);
        let event: Event =
            serde_json::from_slice(message.payload().expect("payload")).expect("decode");
        black_box(event.id);
        seen += 1;
    }
    let end = Instant::now();
    end - start.expect("first record")
}

struct Setup {
    rt: Runtime,
    events: Vec<Event>,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    Setup {
        rt,
        events: events(),
    }
}

fn stats(mut runs: Vec<Duration>) -> (Duration, Duration) {
    runs.sort();
    (runs[0], runs[runs.len() / 2])
}

fn per_second(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn print_pair(what: &str, ours: &str, theirs: &str, n: u64, a: Vec<Duration>, b: Vec<Duration>) {
    // Runs alternate, so each pair saw the same machine load: the median
    // of the pairs' ratios is the steadiest figure on a shared machine.
    let mut paired: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| y.as_secs_f64() / x.as_secs_f64())
        .collect();
    paired.sort_by(f64::total_cmp);
    let (ab, am) = stats(a);
    let (bb, bm) = stats(b);
    println!("{what}");
    println!(
        "  {ours:<52} best {:>8.0} msg/s  median {:>8.0} msg/s",
        per_second(n, ab),
        per_second(n, am)
    );
    println!(
        "  {theirs:<52} best {:>8.0} msg/s  median {:>8.0} msg/s",
        per_second(n, bb),
        per_second(n, bm)
    );
    println!(
        "  ratio (throughput, ours / raw): best {:.3}x, median {:.3}x, median of paired runs {:.3}x\n",
        bb.as_secs_f64() / ab.as_secs_f64(),
        bm.as_secs_f64() / am.as_secs_f64(),
        paired[paired.len() / 2]
    );
}

fn produce_summary(s: &Setup) {
    let (mut typed_runs, mut raw_runs) = (Vec::new(), Vec::new());
    s.rt.block_on(async {
        // Warm up both paths once.
        typed_run(&s.events).await;
        raw_run(&s.events).await;
        for _ in 0..RUNS {
            typed_runs.push(typed_run(&s.events).await);
            raw_runs.push(raw_run(&s.events).await);
        }
    });
    print_pair(
        &format!(
            "produce {EVENTS} x ~1 KB to 3 partitions (keyed JSON, content-type header, \
             idempotent, acks=all), {RUNS} interleaved runs (goal >= 0.95x):"
        ),
        "typed Producer::send_batch",
        "raw FutureProducer loop",
        EVENTS as u64,
        typed_runs,
        raw_runs,
    );
}

fn consume_summary(s: &Setup) {
    // One cluster holding the records (keyed by id, so that they spread
    // evenly); each run reads all that the mock kept, with a group of its own.
    let m = mock(CONSUME_PARTITIONS);
    let (mut typed_runs, mut raw_runs) = (Vec::new(), Vec::new());
    let count = s.rt.block_on(async {
        let producer = Producer::new(&m.config).expect("producer");
        let by_id = Topic::<Event>::new(TOPIC).with_key(|e: &Event| e.id.to_string());
        typed(&producer, &by_id, &s.events).await;
        producer.shutdown().await.expect("flush");
        let count = kept(&m.config);
        for i in 0..3 {
            typed_runs.push(consume_typed(&m.config, &format!("bench-typed-{i}"), count).await);
            raw_runs.push(consume_raw(&m.config, &format!("bench-raw-{i}"), count).await);
        }
        count
    });
    print_pair(
        &format!(
            "consume {count} x ~1 KB from {CONSUME_PARTITIONS} partitions (JSON decode, \
             first record to last), 3 interleaved runs:"
        ),
        "Consumer (4 lanes/partition, at-least-once commits)",
        "raw StreamConsumer loop (decode only, no commits)",
        count,
        typed_runs,
        raw_runs,
    );
}

fn bench(c: &mut Criterion) {
    println!(
        "\nKafka benches run on librdkafka's in-process MOCK CLUSTER \
         (rdkafka::mocking::MockCluster, 3 brokers, replication 2),\n\
         not on a real Kafka: they measure the client path only.\n"
    );
    let s = setup();
    produce_summary(&s);
    consume_summary(&s);
    let mut group = c.benchmark_group("produce_100k_1kb");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("typed_producer", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| s.rt.block_on(typed_run(&s.events)))
                .sum()
        })
    });
    group.bench_function("raw_future_producer", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| s.rt.block_on(raw_run(&s.events))).sum())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
