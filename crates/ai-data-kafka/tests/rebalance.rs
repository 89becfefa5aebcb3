//! Group membership. Rebalances: a partition revoked while a handler of
//! one of its keys still runs is handed on only when that handler has
//! ended, so no key is ever handled twice at once (the documented per-key
//! order), here or by the partition's next owner. Restarts: a consumer
//! killed without leaving its group is replaced at once by its restart
//! with the same `group.instance.id` (static membership).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ai_data_kafka::{
    Consumer, ConsumerMetrics, KafkaConfig, Producer, Received, RunSummary, Topic,
};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Step {
    key: String,
    seq: u32,
}

/// What every handler invocation of the test records, over all members.
#[derive(Default)]
struct Watch {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: AtomicUsize,
    handled: Mutex<BTreeSet<u32>>,
    slow_started: Mutex<Option<Instant>>,
    /// The slow call was dropped before its end.
    slow_cancelled: AtomicBool,
}

/// Decrements the in-flight count when a handler call ends, however it ends.
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Marks the slow call cancelled if it is dropped before [`Slow::done`].
struct Slow(Option<Arc<Watch>>);

impl Slow {
    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for Slow {
    fn drop(&mut self) {
        if let Some(watch) = self.0.take() {
            watch.slow_cancelled.store(true, Ordering::SeqCst);
        }
    }
}

/// The handler of both members: every record has key K; the first call on
/// seq 0 is slow (it holds on for `hold`, or until another call on K has
/// started, which is the failure these tests look for).
fn handler(
    watch: Arc<Watch>,
    hold: Duration,
) -> impl Fn(Received<Step>) -> futures::future::BoxFuture<'static, ai_data_core::Result<()>>
       + Send
       + Sync
       + 'static {
    move |msg: Received<Step>| {
        let watch = watch.clone();
        Box::pin(async move {
            let now = watch.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            let _guard = InFlight(watch.clone());
            watch.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let first = watch.calls.fetch_add(1, Ordering::SeqCst) == 0;
            let seq = msg.payload().seq;
            if first && seq == 0 {
                *watch.slow_started.lock().expect("lock") = Some(Instant::now());
                let slow = Slow(Some(watch.clone()));
                let until = Instant::now() + hold;
                while Instant::now() < until && watch.max_in_flight.load(Ordering::SeqCst) < 2 {
                    // The handler's own slow work, in small steps.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                slow.done();
            }
            watch.handled.lock().expect("lock").insert(seq);
            Ok(())
        })
    }
}

/// Three records of key K on one partition; the first member's first call
/// is slow (`hold`); a second member joins while it runs. Returns what the
/// handlers saw and both members' counters, after every record of K was
/// handled and both members stopped.
async fn second_member_joins_during_a_slow_call(
    kafka: &ai_data_testkit::KafkaTest,
    name: &str,
    hold: Duration,
    revoke_timeout: Duration,
) -> (Arc<Watch>, RunSummary, RunSummary) {
    let topic = Topic::<Step>::new(kafka.topic(name)).with_key(|s| s.key.clone());
    common::provision(kafka, topic.name(), 1, true).await;
    let producer = Producer::new(&common::config(kafka)).expect("producer");
    let steps: Vec<Step> = (0..3)
        .map(|seq| Step {
            key: "K".into(),
            seq,
        })
        .collect();
    for result in producer.send_batch(&topic, &steps).await {
        result.expect("sent");
    }

    let watch = Arc::new(Watch::default());
    let group = kafka.topic(&format!("{name}-group"));
    let config = common::config(kafka)
        .with_group_id(&group)
        .with_session_timeout(Duration::from_secs(6));
    let member = |watch: &Arc<Watch>| {
        let consumer = Consumer::new(&config, topic.clone())
            .with_commit_interval(Duration::from_millis(100))
            .with_shutdown_timeout(revoke_timeout);
        let metrics = consumer.metrics();
        let (stop, stopped) = oneshot::channel::<()>();
        let run = tokio::spawn(consumer.run(handler(watch.clone(), hold), async {
            let _ = stopped.await;
        }));
        (metrics, stop, run)
    };

    let (first_metrics, first_stop, first_run): (ConsumerMetrics, _, _) = member(&watch);
    common::wait_until("the slow call on K to start", || {
        watch.slow_started.lock().expect("lock").is_some()
    })
    .await;
    // A second member joins: the group rebalances while the call runs.
    let (second_metrics, second_stop, second_run) = member(&watch);
    common::wait_until("every record of K handled", || {
        watch.handled.lock().expect("lock").len() == steps.len()
    })
    .await;
    let _ = first_stop.send(());
    let _ = second_stop.send(());
    for run in [first_run, second_run] {
        common::within("clean shutdown", run)
            .await
            .expect("run task")
            .expect("run ok");
    }
    let (first, second) = (first_metrics.snapshot(), second_metrics.snapshot());
    assert_eq!(
        watch.max_in_flight.load(Ordering::SeqCst),
        1,
        "K was handled twice at once: {first:?} {second:?}"
    );
    assert_eq!(common::committed(kafka, &group, topic.name(), 1).await, [3]);
    (watch, first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_never_handled_twice_at_once_when_a_member_joins() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    // The slow call is long enough for the second member's join to revoke
    // the partition while it runs, and shorter than the revoke timeout.
    let (watch, first, second) = second_member_joins_during_a_slow_call(
        &kafka,
        "rebalanced",
        Duration::from_secs(15),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        first.stale > 0,
        "the partition was revoked while the slow call ran (its queued records went stale): {first:?}"
    );
    assert!(
        !watch.slow_cancelled.load(Ordering::SeqCst),
        "the revocation waited for the slow call"
    );
    assert_eq!(
        first.handled + second.handled,
        3,
        "what the slow call finished was committed before the partition moved: {first:?} {second:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_still_running_at_the_revoke_timeout_is_cancelled_before_its_record_is_redelivered()
{
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let (watch, first, second) = second_member_joins_during_a_slow_call(
        &kafka,
        "revoke-timeout",
        Duration::from_secs(3600),
        Duration::from_secs(2),
    )
    .await;
    // Only a revocation cancels a call (the shutdown came after every
    // record was handled).
    assert!(
        watch.slow_cancelled.load(Ordering::SeqCst),
        "the slow call was cancelled at the revoke timeout"
    );
    assert_eq!(
        first.handled + second.handled,
        3,
        "its record was handled again, after the cancelled call ended: {first:?} {second:?}"
    );
}

/// Set in the child process of the restart test: `topic;group;instance`.
const CHILD_VAR: &str = "AI_DATA_TEST_STREAM_MEMBER_CHILD";
/// Long, so that a restart that had to wait for the dead member's session
/// to expire is told apart from one that replaced it.
const SESSION: Duration = Duration::from_secs(45);
/// Records the killed member finishes before it dies.
const BEFORE_KILL: u32 = 10;

fn member_config(brokers: &str, group: &str, instance: &str) -> KafkaConfig {
    KafkaConfig::new(brokers)
        .with_connect_timeout(Duration::from_secs(15))
        .with_group_id(group)
        .with_group_instance_id(instance)
        .with_session_timeout(SESSION)
}

/// The child process: a member that handles the first records, hangs on
/// the rest, and is killed (it never leaves the group).
async fn child(spec: &str) {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        panic!("the child has no Kafka");
    };
    let mut parts = spec.split(';');
    let (topic, group, instance) = match (parts.next(), parts.next(), parts.next()) {
        (Some(t), Some(g), Some(i)) => (t, g, i),
        _ => panic!("bad {CHILD_VAR}: {spec}"),
    };
    let topic = Topic::<Step>::new(topic).with_key(|s| s.key.clone());
    let handler = |msg: Received<Step>| async move {
        if msg.payload().seq >= BEFORE_KILL {
            std::future::pending::<()>().await;
        }
        Ok(())
    };
    let outcome = Consumer::new(&member_config(&kafka.brokers, group, instance), topic)
        .with_commit_interval(Duration::from_millis(100))
        .run(handler, std::future::pending::<()>())
        .await;
    panic!("the child's consumer stopped: {outcome:?}");
}

/// Kills the child process when dropped (a failing test included).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_without_leaving_is_replaced_by_its_restart_with_the_same_instance_id() {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        return child(&spec).await;
    }
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let topic = Topic::<Step>::new(kafka.topic("restarted")).with_key(|s| s.key.clone());
    common::provision(&kafka, topic.name(), 1, true).await;
    let producer = Producer::new(&common::config(&kafka)).expect("producer");
    let steps: Vec<Step> = (0..2 * BEFORE_KILL)
        .map(|seq| Step {
            key: format!("k{seq}"),
            seq,
        })
        .collect();
    for result in producer.send_batch(&topic, &steps).await {
        result.expect("sent");
    }
    let group = kafka.topic("restarted-group");
    let instance = kafka.topic("indexer-0");

    // The first run lives in a process of its own, which is killed: it
    // never leaves the group, as a crashed or OOM-killed pod.
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"));
    child
        .args([
            "a_member_killed_without_leaving_is_replaced_by_its_restart_with_the_same_instance_id",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, format!("{};{group};{instance}", topic.name()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = Killed(child.spawn().expect("start the child member"));
    common::within("the child to commit its first records", async {
        loop {
            let committed = common::committed(&kafka, &group, topic.name(), 1).await;
            if committed == [i64::from(BEFORE_KILL)] {
                break;
            }
            assert!(
                child.0.try_wait().expect("child status").is_none(),
                "the child member exited"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    child.0.kill().expect("kill the child");
    child.0.wait().expect("child reaped");

    // The restart: same group, same instance id, a new member id.
    let seen: Arc<Mutex<BTreeSet<u32>>> = Arc::default();
    let consumer = Consumer::new(
        &member_config(&kafka.brokers, &group, &instance),
        topic.clone(),
    )
    .with_commit_interval(Duration::from_millis(100));
    let metrics = consumer.metrics();
    let handler = {
        let seen = seen.clone();
        move |msg: Received<Step>| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").insert(msg.payload().seq);
                Ok(())
            }
        }
    };
    let restarted = Instant::now();
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(consumer.run(handler, async {
        let _ = stopped.await;
    }));
    common::wait_until(
        "the restart to handle the records the dead member left",
        || seen.lock().expect("lock").len() >= BEFORE_KILL as usize,
    )
    .await;
    let took = restarted.elapsed();
    let _ = stop.send(());
    common::within("clean shutdown", run)
        .await
        .expect("run task")
        .expect("run ok");
    let expected: BTreeSet<u32> = (BEFORE_KILL..2 * BEFORE_KILL).collect();
    assert_eq!(
        *seen.lock().expect("lock"),
        expected,
        "resumed at the dead member's commit"
    );
    assert_eq!(metrics.snapshot().handled, u64::from(BEFORE_KILL));
    assert!(
        took < SESSION,
        "the restart waited {took:?} (session timeout {SESSION:?}) instead of taking the dead member's place"
    );
    assert_eq!(
        common::committed(&kafka, &group, topic.name(), 1).await,
        [i64::from(2 * BEFORE_KILL)]
    );
}
