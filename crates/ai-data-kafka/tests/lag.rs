//! Consumer lag against the local broker: a new group, a group that
//! committed part of a topic, one that caught up, and the health check's
//! threshold warning.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use ai_data_core::{ErrorKind, HealthCheck};
use ai_data_kafka::{Admin, Consumer, ConsumerLagCheck, Producer, Received, Topic};
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tick {
    key: String,
    n: u32,
}

const RECORDS: u64 = 60;
const CONSUMED: u64 = 25;

/// Read `count` records of `topic` as `group` and commit exactly those
/// (per partition, the offset after the last one read), with raw rdkafka.
async fn consume_and_commit(
    kafka: &ai_data_testkit::KafkaTest,
    group: &str,
    topic: &str,
    count: u64,
) {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("raw consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut next: HashMap<i32, i64> = HashMap::new();
    common::within(&format!("{count} records of {topic}"), async {
        for _ in 0..count {
            let message = consumer.recv().await.expect("record");
            next.insert(message.partition(), message.offset() + 1);
        }
    })
    .await;
    let mut list = TopicPartitionList::new();
    for (partition, offset) in &next {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .expect("offset");
    }
    tokio::task::spawn_blocking(move || {
        consumer.commit(&list, CommitMode::Sync).expect("commit");
        // Leaving the group blocks while the broker answers.
        drop(consumer);
    })
    .await
    .expect("commit task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_follows_the_group_commits_and_the_check_warns_above_its_threshold() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let name = kafka.topic("lagging");
    common::provision(&kafka, &name, 3, true).await;
    let topic = Topic::<Tick>::new(name.clone()).with_key(|t: &Tick| t.key.clone());
    let ticks: Vec<Tick> = (0..RECORDS as u32)
        .map(|n| Tick {
            key: format!("key-{}", n % 12),
            n,
        })
        .collect();
    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    for result in producer.send_batch(&topic, &ticks).await {
        result.expect("delivered");
    }
    producer.shutdown().await.expect("flushed");

    let admin = Admin::new(&common::config(&kafka)).expect("admin");
    let group = kafka.topic("lag-group");

    // A group that never committed: every record is lag.
    let fresh = admin
        .consumer_lag(&group, &[&name])
        .await
        .expect("lag of a new group");
    assert_eq!(fresh.group, group);
    assert_eq!(fresh.partitions.len(), 3, "{fresh:?}");
    assert!(
        fresh.partitions.iter().all(|p| p.committed.is_none()),
        "{fresh:?}"
    );
    assert_eq!(fresh.total, RECORDS, "{fresh:?}");
    assert_eq!(fresh.topic(&name), RECORDS);
    let ends: i64 = fresh.partitions.iter().map(|p| p.high - p.low).sum();
    assert_eq!(ends, RECORDS as i64);

    // Part of it consumed and committed.
    consume_and_commit(&kafka, &group, &name, CONSUMED).await;
    let partial = admin
        .consumer_lag(&group, &[&name])
        .await
        .expect("lag after commits");
    assert_eq!(partial.total, RECORDS - CONSUMED, "{partial:?}");
    let committed: i64 = partial
        .partitions
        .iter()
        .map(|p| p.committed.unwrap_or(0))
        .sum();
    assert_eq!(committed, CONSUMED as i64, "{partial:?}");

    // The health check: the measured lag as details, a warning only above
    // the threshold.
    let behind = RECORDS - CONSUMED;
    let check = ConsumerLagCheck::new(admin.clone()).with_group(&group, [name.as_str()]);
    let report = check.check().await.expect("lag check");
    assert!(report.warnings.is_empty(), "{report:?}");
    assert_eq!(report.details[&format!("lag:{group}")], behind.to_string());
    assert_eq!(
        report.details[&format!("lag:{group}:{name}")],
        behind.to_string()
    );
    assert_eq!(report.details["lag_threshold"], "10000");
    assert!(report.details["brokers"].parse::<usize>().expect("count") >= 1);
    let at = check.clone().with_threshold(behind);
    assert!(at.check().await.expect("at").warnings.is_empty());
    let above = check.clone().with_threshold(behind - 1);
    let warned = above.check().await.expect("above");
    assert_eq!(warned.warnings.len(), 1, "{warned:?}");
    assert!(
        warned.warnings[0].contains(&group) && warned.warnings[0].contains(&name),
        "{warned:?}"
    );

    // The crate's consumer resumes at the commits and catches up.
    let consumer = Consumer::new(&common::config(&kafka).with_group_id(&group), topic)
        .with_commit_interval(Duration::from_millis(100));
    let metrics = consumer.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run(|_: Received<Tick>| async { Ok(()) }, async {
        let _ = stopped.await;
    }));
    common::wait_until("the rest handled", || metrics.snapshot().handled >= behind).await;
    let _ = stop.send(());
    let summary = common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");
    assert_eq!(summary.handled, behind, "resumed at the commits");
    let caught_up = admin
        .consumer_lag(&group, &[&name])
        .await
        .expect("lag after catching up");
    assert_eq!(caught_up.total, 0, "{caught_up:?}");

    // A topic that does not exist.
    let err = admin
        .consumer_lag(&group, &[&kafka.topic("no-such-topic")])
        .await
        .expect_err("unknown topic");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
