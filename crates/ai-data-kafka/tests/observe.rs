//! What the clients record through the `metrics` facade, against the local
//! broker: store operations (producer, admin, commits) and the consumer's
//! per-record counters and handler latency. One test: the recorder is
//! global to this binary.

mod common;

use std::time::Duration;

use ai_data_core::observe::OPERATION_DURATION;
use ai_data_core::{Error, ErrorKind, RetryPolicy};
use ai_data_kafka::{
    header, Admin, Consumer, Headers, Producer, Received, Topic, CONSUMER_HANDLER_SECONDS,
    CONSUMER_RECORDS_TOTAL,
};
use ai_data_testkit::metrics::{counter, samples, Snapshot};
use metrics_util::debugging::{DebuggingRecorder, Snapshotter};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    id: String,
    mode: String,
}

fn job(id: &str, mode: &str) -> Job {
    Job {
        id: id.to_owned(),
        mode: mode.to_owned(),
    }
}

fn operations(snapshot: &Snapshot, operation: &str, outcome: &str) -> u64 {
    ai_data_testkit::metrics::operations(snapshot, "kafka", operation, outcome)
}

fn install() -> Snapshotter {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).expect("the only recorder of this binary");
    snapshotter
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_record_operations_and_the_consumer_counts_records_by_result() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let snapshotter = install();
    let topic = Topic::<Job>::new(kafka.topic("observed")).with_key(|j| j.id.clone());
    common::provision(&kafka, topic.name(), 1, true).await;

    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    let batch = [job("ok-1", "ok"), job("flaky", "flaky"), job("ok-2", "ok")];
    for result in producer.send_batch(&topic, &batch).await {
        result.expect("delivered");
    }
    producer
        .send_raw(
            topic.name(),
            Some(b"poison"),
            Some(b"{not json"),
            &Headers::new().with(header::CONTENT_TYPE, "application/json"),
        )
        .await
        .expect("sent");
    producer
        .send(&topic, &job("broken", "permanent"))
        .await
        .expect("sent");

    let group = kafka.topic("observed-group");
    let consumer = Consumer::new(&common::config(&kafka).with_group_id(&group), topic.clone())
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_min_delay(Duration::from_millis(10))
                .with_jitter(false),
        )
        .with_commit_interval(Duration::from_millis(100));
    let metrics = consumer.metrics();
    let handler = |msg: Received<Job>| async move {
        match msg.payload().mode.as_str() {
            // Succeeds on its second attempt.
            "flaky" if msg.attempt() == 1 => {
                Err(Error::new(ErrorKind::Backend, "flaky dependency").temporary())
            }
            "permanent" => Err(Error::invalid_input("job is malformed")),
            _ => Ok(()),
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    common::wait_until("three handled and two dead letters", || {
        let s = metrics.snapshot();
        s.handled == 3 && s.dead_lettered == 2
    })
    .await;
    let _ = stop.send(());
    common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");

    let admin = Admin::new(&common::config(&kafka)).expect("admin");
    let lag = admin
        .consumer_lag(&group, &[topic.name()])
        .await
        .expect("lag");
    assert_eq!(lag.total, 0, "{lag:?}");

    let snapshot: Snapshot = snapshotter.snapshot().into_vec();
    let of_run = |result: &str| {
        counter(
            &snapshot,
            CONSUMER_RECORDS_TOTAL,
            &[
                ("topic", topic.name()),
                ("group", group.as_str()),
                ("result", result),
            ],
        )
    };
    assert_eq!(of_run("handled"), 3);
    assert_eq!(of_run("retried"), 1);
    assert_eq!(of_run("dead_lettered"), 1);
    assert_eq!(of_run("poison"), 1);
    // ok-1, flaky twice, ok-2, broken: five handler calls.
    assert_eq!(
        samples(
            &snapshot,
            CONSUMER_HANDLER_SECONDS,
            &[("topic", topic.name()), ("group", group.as_str())],
        ),
        5
    );

    // One operation per batch, per send, per dead letter, per commit.
    assert_eq!(operations(&snapshot, "producer.send_batch", "ok"), 1);
    assert_eq!(operations(&snapshot, "producer.send", "ok"), 1);
    // The poison record, then two dead letters.
    assert_eq!(operations(&snapshot, "producer.send_raw", "ok"), 3);
    assert_eq!(operations(&snapshot, "consumer.subscribe", "ok"), 1);
    assert!(operations(&snapshot, "consumer.commit", "ok") >= 1);
    assert_eq!(operations(&snapshot, "admin.ensure_topics", "ok"), 1);
    assert_eq!(operations(&snapshot, "admin.consumer_lag", "ok"), 1);
    assert_eq!(
        samples(
            &snapshot,
            OPERATION_DURATION,
            &[("operation", "producer.send_batch")]
        ),
        1
    );
}
