//! How long a handler may run: by default as long as it takes (no
//! deadline); with a retry policy's deadline, a handler still running at
//! the deadline is cancelled and its record dead-lettered as a timeout.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data_core::RetryPolicy;
use ai_data_kafka::{header, Consumer, Producer, Received, Topic};
use rdkafka::message::{Headers as _, Message};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Job {
    id: String,
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

/// Sets its flag when dropped: the handler's future was dropped (cancelled)
/// if the flag is set and the handler never got to its end.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_is_not_cut_off_by_default() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = Topic::<Job>::new(kafka.topic("slow")).with_key(|j| j.id.clone());
    common::provision(&kafka, topic.name(), 1, true).await;
    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    producer
        .send(&topic, &Job { id: "slow".into() })
        .await
        .expect("sent");

    // Longer than any deadline the consumer used to impose (the
    // RetryPolicy default, 30 s): the default consumer has none.
    let work = RetryPolicy::default().deadline + Duration::from_secs(2);
    let calls = Arc::new(AtomicU32::new(0));
    let completed = Arc::new(AtomicBool::new(false));
    let group = kafka.topic("slow-group");
    let consumer = Consumer::new(&common::config(&kafka).with_group_id(&group), topic.clone())
        .with_commit_interval(Duration::from_millis(100));
    let metrics = consumer.metrics();
    let handler = {
        let (calls, completed) = (calls.clone(), completed.clone());
        move |_: Received<Job>| {
            let (calls, completed) = (calls.clone(), completed.clone());
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                // The handler's own work: a slow model call, say.
                tokio::time::sleep(work).await;
                completed.store(true, Ordering::SeqCst);
                Ok(())
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    common::wait_until("the slow record handled or dead-lettered", || {
        let s = metrics.snapshot();
        s.handled + s.dead_lettered > 0
    })
    .await;
    let _ = stop.send(());
    let summary = common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");
    assert_eq!(
        (summary.handled, summary.dead_lettered),
        (1, 0),
        "{summary:?}"
    );
    assert!(
        completed.load(Ordering::SeqCst),
        "the handler ran to its end"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "and was not retried");
    assert_eq!(
        common::committed(&kafka, &group, topic.name(), 1).await,
        [1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_deadline_cancels_a_running_handler_and_dead_letters_its_record() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = Topic::<Job>::new(kafka.topic("stuck")).with_key(|j| j.id.clone());
    let dlq = ai_data_kafka::dead_letter_name(topic.name());
    common::provision(&kafka, topic.name(), 1, true).await;
    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    producer
        .send(&topic, &Job { id: "stuck".into() })
        .await
        .expect("sent");
    producer
        .send(&topic, &Job { id: "next".into() })
        .await
        .expect("sent");

    let deadline = Duration::from_secs(2);
    let started: Arc<Mutex<Option<Instant>>> = Arc::default();
    let cancelled = Arc::new(AtomicBool::new(false));
    let completed = Arc::new(AtomicBool::new(false));
    let group = kafka.topic("stuck-group");
    let consumer = Consumer::new(&common::config(&kafka).with_group_id(&group), topic.clone())
        .with_retry(RetryPolicy::default().with_deadline(deadline))
        .with_commit_interval(Duration::from_millis(100));
    let metrics = consumer.metrics();
    let handler = {
        let (started, cancelled, completed) =
            (started.clone(), cancelled.clone(), completed.clone());
        move |msg: Received<Job>| {
            let (started, cancelled, completed) =
                (started.clone(), cancelled.clone(), completed.clone());
            async move {
                if msg.payload().id != "stuck" {
                    return Ok(());
                }
                started
                    .lock()
                    .expect("lock")
                    .get_or_insert_with(Instant::now);
                let flag = DropFlag(cancelled);
                // A dependency that never answers.
                std::future::pending::<()>().await;
                std::mem::forget(flag);
                completed.store(true, Ordering::SeqCst);
                Ok(())
            }
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    common::wait_until("the stuck record dead-lettered", || {
        metrics.snapshot().dead_lettered == 1
    })
    .await;
    let elapsed = started
        .lock()
        .expect("lock")
        .expect("the handler started")
        .elapsed();
    assert!(
        cancelled.load(Ordering::SeqCst) && !completed.load(Ordering::SeqCst),
        "the running handler was cancelled"
    );
    assert!(
        elapsed >= deadline,
        "dead-lettered before the deadline: {elapsed:?}"
    );
    common::wait_until("the next record handled", || {
        metrics.snapshot().handled == 1
    })
    .await;
    let _ = stop.send(());
    common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");

    let dead = common::read_raw(&kafka, &dlq, 1).await;
    assert_eq!(dead[0].key(), Some(&b"stuck"[..]));
    assert_eq!(
        header_str(&dead[0], header::DLQ_ERROR_KIND).as_deref(),
        Some("timeout")
    );
    assert_eq!(
        header_str(&dead[0], header::DLQ_STAGE).as_deref(),
        Some("handler")
    );
    assert_eq!(
        common::committed(&kafka, &group, topic.name(), 1).await,
        [2],
        "a dead letter counts as finished"
    );
}
