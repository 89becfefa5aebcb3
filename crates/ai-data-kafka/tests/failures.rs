//! What goes wrong: failing handlers, poison payloads, no dead-letter
//! topic, unreachable brokers, wrong SASL passwords.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data_core::{Error, ErrorKind, HealthCheck, RetryPolicy};
use ai_data_kafka::{
    header, Admin, Consumer, Headers, KafkaConfig, Producer, Received, SaslMechanism,
    SecurityProtocol, Topic,
};
use rdkafka::message::{Headers as _, Message};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

fn header_str(message: &rdkafka::message::OwnedMessage, key: &str) -> Option<String> {
    message
        .headers()?
        .iter()
        .filter(|h| h.key == key)
        .last()
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_handlers_are_retried_then_dead_lettered_and_poison_does_not_stop_the_partition() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = Topic::<Job>::new(kafka.topic("jobs")).with_key(|j| j.id.clone());
    let dlq = ai_data_kafka::dead_letter_name(topic.name());
    common::provision(&kafka, topic.name(), 1, true).await;

    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    producer
        .send(&topic, &job("ok-1", "ok"))
        .await
        .expect("sent");
    producer
        .send_with(
            &topic,
            &job("flaky", "retryable"),
            Headers::new().with("trace-id", "t-42"),
        )
        .await
        .expect("sent");
    let poison = producer
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
    producer
        .send(&topic, &job("ok-2", "ok"))
        .await
        .expect("sent");

    let attempts: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let group = kafka.topic("jobs-group");
    let consumer = Consumer::new(&common::config(&kafka).with_group_id(&group), topic.clone())
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_min_delay(Duration::from_millis(10))
                .with_jitter(false),
        )
        .with_commit_interval(Duration::from_millis(100));
    let metrics = consumer.metrics();
    let handler = {
        let attempts = attempts.clone();
        move |msg: Received<Job>| {
            let attempts = attempts.clone();
            async move {
                let job = msg.payload();
                attempts
                    .lock()
                    .expect("lock")
                    .entry(job.id.clone())
                    .or_default()
                    .push(msg.attempt());
                match job.mode.as_str() {
                    "retryable" => {
                        Err(Error::new(ErrorKind::Backend, "flaky dependency").temporary())
                    }
                    "permanent" => Err(Error::invalid_input("job is malformed")),
                    _ => Ok(()),
                }
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    common::wait_until("ok-2 handled and three dead letters", || {
        let s = metrics.snapshot();
        s.handled == 2 && s.dead_lettered == 3
    })
    .await;
    let _ = stop.send(());
    let summary = common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");
    assert_eq!(summary.retries, 2, "{summary:?}");

    {
        let attempts = attempts.lock().expect("lock");
        assert_eq!(attempts["flaky"], [1, 2, 3], "retried up to max_attempts");
        assert_eq!(attempts["broken"], [1], "permanent errors are not retried");
        assert_eq!(attempts["ok-1"], [1]);
        assert_eq!(
            attempts["ok-2"],
            [1],
            "the partition went on after the poison record"
        );
    }

    // Dead letters of different lanes arrive in any order: find them by key.
    let dead = common::read_raw(&kafka, &dlq, 3).await;
    let by_key = |key: &[u8]| {
        dead.iter()
            .find(|m| m.key() == Some(key))
            .unwrap_or_else(|| panic!("no dead letter for {:?}", String::from_utf8_lossy(key)))
    };
    let flaky = by_key(b"flaky");
    assert_eq!(flaky.key(), Some(&b"flaky"[..]));
    assert_eq!(
        topic
            .decode(flaky.payload().expect("payload"))
            .expect("original payload"),
        job("flaky", "retryable")
    );
    assert_eq!(
        header_str(flaky, "trace-id").as_deref(),
        Some("t-42"),
        "original headers kept"
    );
    assert_eq!(
        header_str(flaky, header::CONTENT_TYPE).as_deref(),
        Some("application/json")
    );
    let error = header_str(flaky, header::DLQ_ERROR).expect("error header");
    assert!(error.contains("flaky dependency"), "{error}");
    assert_eq!(
        header_str(flaky, header::DLQ_ATTEMPTS).as_deref(),
        Some("3")
    );
    assert_eq!(
        header_str(flaky, header::DLQ_STAGE).as_deref(),
        Some("handler")
    );
    assert_eq!(header_str(flaky, header::DLQ_OFFSET).as_deref(), Some("1"));
    assert_eq!(
        header_str(flaky, header::DLQ_TOPIC).as_deref(),
        Some(topic.name())
    );
    assert_eq!(
        header_str(flaky, header::DLQ_GROUP).as_deref(),
        Some(group.as_str())
    );

    let bad = by_key(b"poison");
    assert_eq!(bad.payload(), Some(&b"{not json"[..]));
    assert_eq!(
        header_str(bad, header::DLQ_STAGE).as_deref(),
        Some("decode")
    );
    assert_eq!(header_str(bad, header::DLQ_ATTEMPTS).as_deref(), Some("0"));
    assert_eq!(
        header_str(bad, header::DLQ_ERROR_KIND).as_deref(),
        Some("invalid input")
    );
    assert_eq!(
        header_str(bad, header::DLQ_OFFSET),
        Some(poison.offset.to_string())
    );

    let broken = by_key(b"broken");
    assert_eq!(
        header_str(broken, header::DLQ_ATTEMPTS).as_deref(),
        Some("1")
    );
    assert!(header_str(broken, header::DLQ_ERROR)
        .expect("error")
        .contains("job is malformed"));

    // Dead letters count as finished: everything was committed.
    assert_eq!(
        common::committed(&kafka, &group, topic.name(), 1).await,
        [5]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_dead_letter_topic_a_failed_record_stops_the_run_and_holds_the_commit() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    // No key: records spread over the lanes by offset, so the later ones
    // finish while the failing one is still running.
    let topic = Topic::<Job>::new(kafka.topic("strict"));
    common::provision(&kafka, topic.name(), 1, false).await;
    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    let jobs: Vec<Job> = (0..6).map(|i| job(&i.to_string(), "ok")).collect();
    for result in producer.send_batch(&topic, &jobs).await {
        result.expect("sent");
    }

    let group = kafka.topic("strict-group");
    // The second run below restarts the first: static membership gives it
    // the first one's place at once.
    let config = common::config(&kafka)
        .with_group_id(&group)
        .with_group_instance_id(kafka.topic("strict-member"));
    let done: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let first = {
        let done = done.clone();
        move |msg: Received<Job>| {
            let done = done.clone();
            async move {
                let id = msg.payload().id.clone();
                if id == "2" {
                    // Fail only once every other record has finished.
                    let all_others = ["0", "1", "3", "4", "5"];
                    let deadline = Instant::now() + common::DEADLINE;
                    while !all_others
                        .iter()
                        .all(|o| done.lock().expect("lock").contains(*o))
                    {
                        assert!(
                            Instant::now() < deadline,
                            "the other records never finished"
                        );
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    return Err(Error::invalid_input("record 2 cannot be processed"));
                }
                done.lock().expect("lock").insert(id);
                Ok(())
            }
        }
    };
    let err = common::within(
        "the run to stop",
        Consumer::new(&config, topic.clone())
            .without_dead_letter()
            .with_concurrency(8)
            .run(first, std::future::pending::<()>()),
    )
    .await
    .expect_err("the failed record stops the run");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("offset 2"), "{err}");
    assert_eq!(
        common::committed(&kafka, &group, topic.name(), 1).await,
        [2],
        "nothing past the failed record is committed, though 3..5 finished"
    );

    // The next run starts at the failed record.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let second = {
        let seen = seen.clone();
        move |msg: Received<Job>| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").push(msg.payload().id.clone());
                Ok(())
            }
        }
    };
    let consumer = Consumer::new(&config, topic.clone()).without_dead_letter();
    let metrics = consumer.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run(second, async {
        let _ = stopped.await;
    }));
    common::wait_until("records 2..5 handled again", || {
        metrics.snapshot().handled >= 4
    })
    .await;
    let _ = stop.send(());
    common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");
    let seen: BTreeSet<String> = seen.lock().expect("lock").iter().cloned().collect();
    let expected: BTreeSet<String> = ["2", "3", "4", "5"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(
        common::committed(&kafka, &group, topic.name(), 1).await,
        [6]
    );
}

#[tokio::test]
async fn a_missing_topic_or_group_is_reported_before_consuming() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = Topic::<Job>::new(kafka.topic("absent"));
    let noop = |_: Received<Job>| async { Ok(()) };
    let err = Consumer::new(&common::config(&kafka).with_group_id("g"), topic.clone())
        .run(noop, std::future::pending::<()>())
        .await
        .expect_err("no topic");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains(topic.name()), "{err}");

    let present = Topic::<Job>::new(kafka.topic("no-dlq"));
    common::provision(&kafka, present.name(), 1, false).await;
    let err = Consumer::new(&common::config(&kafka).with_group_id("g"), present.clone())
        .run(noop, std::future::pending::<()>())
        .await
        .expect_err("no dead-letter topic");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains(".dlq"), "{err}");

    let err = Consumer::new(&common::config(&kafka), present)
        .run(noop, std::future::pending::<()>())
        .await
        .expect_err("no group id");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("AI_DATA_KAFKA_GROUP_ID"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_a_typed_error_within_the_timeout() {
    let timeout = Duration::from_secs(2);
    let slack = Duration::from_secs(3);
    let config = KafkaConfig::new(format!("127.0.0.1:{}", common::closed_port()))
        .with_connect_timeout(timeout)
        .with_message_timeout(timeout)
        .with_group_id("g");

    let start = Instant::now();
    let err = Producer::connect(&config).await.expect_err("unreachable");
    assert!(start.elapsed() < timeout + slack, "{:?}", start.elapsed());
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(err.is_retryable());

    let start = Instant::now();
    let err = Admin::new(&config)
        .expect("admin")
        .check()
        .await
        .expect_err("down");
    assert!(start.elapsed() < timeout + slack, "{:?}", start.elapsed());
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");

    let producer = Producer::new(&config).expect("producer");
    let start = Instant::now();
    let err = producer
        .send(&Topic::<Job>::new("anything"), &job("1", "ok"))
        .await
        .expect_err("undeliverable");
    assert!(start.elapsed() < timeout + slack, "{:?}", start.elapsed());
    assert!(
        matches!(err.kind(), ErrorKind::Connect | ErrorKind::Timeout),
        "{err}"
    );
    assert!(err.is_retryable());

    let start = Instant::now();
    let err = Consumer::new(&config, Topic::<Job>::new("anything"))
        .run(
            |_: Received<Job>| async { Ok(()) },
            std::future::pending::<()>(),
        )
        .await
        .expect_err("unreachable");
    assert!(start.elapsed() < timeout + slack, "{:?}", start.elapsed());
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_sasl_password_is_an_auth_error_within_the_timeout() {
    const RIGHT: &str = "right-Passw0rd-31";
    const WRONG: &str = "wrong-Passw0rd-77";
    let Some(broker) = common::private_broker(Some(("alice", RIGHT))).await else {
        return;
    };
    let timeout = Duration::from_secs(3);
    let config = |password: &str| {
        KafkaConfig::new(&broker.address)
            .with_sasl(
                SecurityProtocol::SaslPlaintext,
                SaslMechanism::ScramSha256,
                "alice",
                password.to_owned(),
            )
            .with_connect_timeout(timeout)
            .with_group_id("g")
    };

    let good = Producer::connect(&config(RIGHT))
        .await
        .expect("the right password works");
    assert!(good.check().await.is_ok());

    let start = Instant::now();
    let err = Producer::connect(&config(WRONG))
        .await
        .expect_err("wrong password");
    assert!(
        start.elapsed() < timeout + Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_retryable());
    let shown = format!("{err} {err:?} {:?}", config(WRONG));
    assert!(!shown.contains(WRONG) && !shown.contains(RIGHT), "{shown}");

    let err = Admin::new(&config(WRONG))
        .expect("admin")
        .check()
        .await
        .expect_err("wrong password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");

    let err = Consumer::new(&config(WRONG), Topic::<Job>::new("anything"))
        .run(
            |_: Received<Job>| async { Ok(()) },
            std::future::pending::<()>(),
        )
        .await
        .expect_err("wrong password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    drop(good);
}
