//! The at-least-once consumer against the local broker: per-key order at
//! volume, a crash mid-stream, batches.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ai_data_kafka::{Consumer, Producer, Received, Topic};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct Step {
    key: String,
    seq: u32,
}

fn steps(keys: u32, per_key: u32) -> Vec<Step> {
    // Interleave keys, as real traffic does.
    (0..per_key)
        .flat_map(|seq| {
            (0..keys).map(move |k| Step {
                key: format!("key-{k}"),
                seq,
            })
        })
        .collect()
}

fn step_topic(name: String) -> Topic<Step> {
    Topic::new(name).with_key(|s: &Step| s.key.clone())
}

async fn produce(kafka: &ai_data_testkit::KafkaTest, topic: &Topic<Step>, events: &[Step]) {
    let producer = Producer::new(&common::config(kafka)).expect("producer");
    let results = producer.send_batch(topic, events).await;
    let mut partition_of: HashMap<&str, i32> = HashMap::new();
    for (event, result) in events.iter().zip(results) {
        let delivery = result.expect("delivered");
        let p = *partition_of.entry(&event.key).or_insert(delivery.partition);
        assert_eq!(p, delivery.partition, "a key stays on one partition");
    }
    let used: BTreeSet<i32> = partition_of.values().copied().collect();
    assert_eq!(used.len(), 3, "keys spread over the 3 partitions: {used:?}");
    producer.shutdown().await.expect("flushed");
}

/// Decrements the in-flight gauge when a handler call ends, however it ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_events_are_consumed_in_order_per_key_with_bounded_concurrency() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = step_topic(kafka.topic("ordered"));
    common::provision(&kafka, topic.name(), 3, true).await;
    let events = steps(30, 100);
    assert_eq!(events.len(), 3000);
    produce(&kafka, &topic, &events).await;

    let seen: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let total = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let group = kafka.topic("ordered-group");
    let consumer = Consumer::new(&common::config(&kafka).with_group_id(&group), topic.clone())
        .with_concurrency(4)
        .with_commit_interval(Duration::from_millis(200));
    let metrics = consumer.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let handler = {
        let (seen, total) = (seen.clone(), total.clone());
        let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
        move |msg: Received<Step>| {
            let (seen, total) = (seen.clone(), total.clone());
            let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                let _guard = InFlight(in_flight);
                max_in_flight.fetch_max(now, Ordering::SeqCst);
                // Uneven work, so that lanes overtake each other.
                if msg.payload().seq % 7 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                } else {
                    tokio::task::yield_now().await;
                }
                let step = msg.payload();
                seen.lock()
                    .expect("lock")
                    .entry(step.key.clone())
                    .or_default()
                    .push(step.seq);
                total.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
    };
    let run = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    common::wait_until("3000 events handled", || {
        total.load(Ordering::SeqCst) >= 3000
    })
    .await;
    let _ = stop.send(());
    let summary = common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");

    {
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 30);
        let expected: Vec<u32> = (0..100).collect();
        for (key, seqs) in seen.iter() {
            assert_eq!(seqs, &expected, "order of {key}");
        }
    }
    assert_eq!(summary.handled, 3000);
    assert_eq!(summary.dead_lettered, 0);
    assert_eq!(metrics.snapshot().handled, 3000);
    let max = max_in_flight.load(Ordering::SeqCst);
    assert!(max > 1, "records ran concurrently ({max})");
    assert!(max <= 3 * 4, "at most 4 lanes per partition ({max})");

    // The clean shutdown committed everything that finished: all of it.
    let committed = common::committed(&kafka, &group, topic.name(), 3).await;
    let ends = common::high_watermarks(&kafka, topic.name(), 3).await;
    assert_eq!(committed, ends);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_consumer_resumes_at_the_committed_offsets_and_loses_nothing() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = step_topic(kafka.topic("crash"));
    common::provision(&kafka, topic.name(), 3, true).await;
    let events = steps(12, 60);
    produce(&kafka, &topic, &events).await;
    let produced: BTreeSet<Step> = events.iter().cloned().collect();

    // An idempotent sink: the final state is a set of what was handled.
    type Sink = Arc<Mutex<BTreeMap<(String, u32), Step>>>;
    let sink: Sink = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    // The first consumer hangs on every key's 30th step, so that the crash
    // comes mid-stream with handlers in flight.
    let handler = |sink: Sink, calls: Arc<AtomicUsize>, hang_at: Option<u32>| {
        move |msg: Received<Step>| {
            let (sink, calls) = (sink.clone(), calls.clone());
            async move {
                let step = msg.payload().clone();
                calls.fetch_add(1, Ordering::SeqCst);
                if Some(step.seq) == hang_at {
                    std::future::pending::<()>().await;
                }
                sink.lock()
                    .expect("lock")
                    .insert((step.key.clone(), step.seq), step);
                Ok(())
            }
        }
    };
    let group = kafka.topic("crash-group");
    // Static membership: the restart takes the crashed member's place at
    // once, whether or not the crash let it leave the group.
    let config = common::config(&kafka)
        .with_group_id(&group)
        .with_group_instance_id(kafka.topic("crash-member"));

    let first =
        Consumer::new(&config, topic.clone()).with_commit_interval(Duration::from_millis(100));
    let first_metrics = first.metrics();
    let task = tokio::spawn(first.run(
        handler(sink.clone(), calls.clone(), Some(30)),
        std::future::pending::<()>(),
    ));
    // Every key's steps 0..30 are handled (360 events) and committed.
    common::wait_until("360 events handled before the crash", || {
        sink.lock().expect("lock").len() == 360
    })
    .await;
    let mut committed_at_crash = 0;
    common::within("the commits to reach the broker", async {
        while committed_at_crash < 360 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            committed_at_crash = common::committed(&kafka, &group, topic.name(), 3)
                .await
                .iter()
                .map(|o| (*o).max(0))
                .sum::<i64>();
        }
    })
    .await;
    assert_eq!(
        committed_at_crash, 360,
        "commits stop at the hanging records"
    );
    assert_eq!(first_metrics.snapshot().handled, 360);
    // Crash: the run future is dropped, no shutdown.
    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());

    let second =
        Consumer::new(&config, topic.clone()).with_commit_interval(Duration::from_millis(100));
    let second_metrics = second.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(
        second.run(handler(sink.clone(), calls.clone(), None), async {
            let _ = stopped.await;
        }),
    );
    common::wait_until("every event handled after the restart", || {
        sink.lock().expect("lock").len() >= events.len()
    })
    .await;
    let _ = stop.send(());
    common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");

    let state: BTreeSet<Step> = sink.lock().expect("lock").values().cloned().collect();
    assert_eq!(
        state, produced,
        "the final state is exactly the produced set"
    );
    assert!(calls.load(Ordering::SeqCst) >= events.len());
    assert_eq!(
        second_metrics.snapshot().handled,
        events.len() as u64 - 360,
        "the restart resumed at the committed offsets"
    );
    assert_eq!(
        common::committed(&kafka, &group, topic.name(), 3).await,
        common::high_watermarks(&kafka, topic.name(), 3).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_come_from_one_lane_in_order() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = step_topic(kafka.topic("batches"));
    common::provision(&kafka, topic.name(), 3, true).await;
    let events = steps(12, 25);
    produce(&kafka, &topic, &events).await;

    let seen: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let consumer = Consumer::new(
        &common::config(&kafka).with_group_id(kafka.topic("batch-group")),
        topic.clone(),
    )
    .with_concurrency(2);
    let metrics = consumer.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let handler = {
        let (seen, sizes) = (seen.clone(), sizes.clone());
        move |batch: Vec<Received<Step>>| {
            let (seen, sizes) = (seen.clone(), sizes.clone());
            async move {
                let partition = batch[0].partition();
                assert!(batch.iter().all(|r| r.partition() == partition));
                assert!(batch.windows(2).all(|w| w[0].offset() < w[1].offset()));
                sizes.lock().expect("lock").push(batch.len());
                let mut seen = seen.lock().expect("lock");
                for record in &batch {
                    let step = record.payload();
                    seen.entry(step.key.clone()).or_default().push(step.seq);
                }
                Ok(())
            }
        }
    };
    let run = tokio::spawn(
        consumer.run_batches(handler, 50, Duration::from_millis(20), async {
            let _ = stopped.await;
        }),
    );
    common::wait_until("300 events handled in batches", || {
        metrics.snapshot().handled >= 300
    })
    .await;
    let _ = stop.send(());
    common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");
    let expected: Vec<u32> = (0..25).collect();
    for (key, seqs) in seen.lock().expect("lock").iter() {
        assert_eq!(seqs, &expected, "order of {key}");
    }
    let sizes = sizes.lock().expect("lock");
    assert!(sizes.iter().all(|s| (1..=50).contains(s)), "{sizes:?}");
    assert!(
        sizes.iter().any(|s| *s > 1),
        "records were batched: {sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), 300);
}
