use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

use super::*;
use crate::observe::{OPERATIONS_TOTAL, POOL_CONNECTIONS};
use crate::{Error, ErrorKind, ErrorStatus, Result};

/// Run `f` on a paused current-thread runtime with a local metrics recorder.
fn with_metrics<F: Future>(f: impl FnOnce() -> F) -> (F::Output, Snapshotter) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let out = metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
            .block_on(f())
    });
    (out, snapshotter)
}

/// `ai_data_operations_total` by (operation, outcome).
fn counts(snapshotter: &Snapshotter) -> Vec<(String, String, u64)> {
    let mut out: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, _, _, _)| {
            k.kind() == MetricKind::Counter && k.key().name() == OPERATIONS_TOTAL
        })
        .map(|(k, _, _, v)| {
            let label = |name: &str| {
                k.key()
                    .labels()
                    .find(|l| l.key() == name)
                    .map(|l| l.value().to_owned())
                    .unwrap_or_default()
            };
            let DebugValue::Counter(n) = v else {
                panic!("{v:?}")
            };
            (label("operation"), label("outcome"), n)
        })
        .collect();
    out.sort();
    out
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_min_delay(Duration::from_millis(10))
        .with_max_attempts(4)
}

fn refused() -> Error {
    Error::new(ErrorKind::Connect, "refused")
}

#[test]
fn a_nested_call_is_counted_once_and_not_retried() {
    let inner_attempts = AtomicU32::new(0);
    let (result, snap) = with_metrics(|| async {
        let outer = Executor::new(Store::Postgres).with_retry(fast_retry());
        let other = Executor::new(Store::Postgres).with_retry(fast_retry());
        outer
            .call("users.create_with_profile")
            .run(|| async {
                // Nested, idempotent, failing: runs once per outer attempt.
                other
                    .call("profiles.get")
                    .idempotent()
                    .run(|| async {
                        inner_attempts.fetch_add(1, Ordering::SeqCst);
                        Err::<(), _>(refused())
                    })
                    .await
            })
            .await
    });
    assert_eq!(result.expect_err("fails").status(), ErrorStatus::Temporary);
    assert_eq!(inner_attempts.load(Ordering::SeqCst), 1);
    assert_eq!(
        counts(&snap),
        [("users.create_with_profile".into(), "connect".into(), 1)]
    );
}

#[test]
fn a_call_that_is_not_idempotent_is_attempted_once() {
    let attempts = AtomicU32::new(0);
    let (result, snap) = with_metrics(|| async {
        Executor::new(Store::Kafka)
            .with_retry(fast_retry())
            .call("send")
            .target("events")
            .run(|| async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(refused())
            })
            .await
    });
    let err = result.expect_err("fails");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(err.status(), ErrorStatus::Temporary, "no retry made");
    assert_eq!(counts(&snap), [("send".into(), "connect".into(), 1)]);
}

#[test]
fn an_idempotent_call_is_retried_and_its_final_error_is_persistent() {
    let attempts = AtomicU32::new(0);
    let (result, snap) = with_metrics(|| async {
        Executor::new(Store::Mongo)
            .with_retry(fast_retry())
            .call("logs.find")
            .idempotent()
            .run(|| async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(refused())
            })
            .await
    });
    let err = result.expect_err("fails");
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
    assert_eq!(err.status(), ErrorStatus::Persistent);
    assert!(err.is_retryable());
    assert_eq!(counts(&snap), [("logs.find".into(), "connect".into(), 1)]);
}

#[test]
fn an_idempotent_call_without_a_retry_policy_and_run_once_are_attempted_once() {
    let attempts = AtomicU32::new(0);
    let ((a, b), snap) = with_metrics(|| async {
        let plain = Executor::new(Store::Redis);
        let a = plain
            .call("get")
            .idempotent()
            .run(|| async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(refused())
            })
            .await;
        let retrying = Executor::new(Store::Redis).with_retry(fast_retry());
        let b = retrying
            .call("get")
            .idempotent()
            .run_once(async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(refused())
            })
            .await;
        (a, b)
    });
    assert!(a.is_err() && b.is_err());
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(counts(&snap), [("get".into(), "connect".into(), 2)]);
}

#[test]
fn the_deadline_bounds_the_call_retries_included_and_fails_with_timeout() {
    let attempts = AtomicU32::new(0);
    let (result, snap) = with_metrics(|| async {
        let start = tokio::time::Instant::now();
        let result = Executor::new(Store::Weaviate)
            .with_retry(RetryPolicy::default().with_max_attempts(1000))
            .with_deadline(Duration::from_millis(500))
            .call("search")
            .target("Documents")
            .idempotent()
            .run(|| async {
                attempts.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err::<(), _>(refused())
            })
            .await;
        assert!(start.elapsed() <= Duration::from_millis(500));
        result
    });
    let err = result.expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_retryable());
    assert_eq!(err.operation(), Some("search"));
    assert_eq!(err.target(), Some("Documents"));
    assert!(err.to_string().contains("search did not finish"), "{err}");
    assert!(attempts.load(Ordering::SeqCst) > 1);
    assert_eq!(counts(&snap), [("search".into(), "timeout".into(), 1)]);
}

#[test]
fn pool_gauges_are_published_after_every_call() {
    let reads = Arc::new(AtomicUsize::new(0));
    let seen = reads.clone();
    let ((), snap) = with_metrics(|| async move {
        let exec = Executor::new(Store::Postgres).with_pool_gauges(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            PoolState {
                in_use: n,
                idle: 7,
                max: 10,
            }
        });
        exec.call("a").run(|| async { Ok(()) }).await.expect("ok");
        let _ = exec
            .call("b")
            .run(|| async { Err::<(), _>(refused()) })
            .await;
    });
    assert_eq!(reads.load(Ordering::SeqCst), 2);
    let gauges: Vec<_> = snap
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, _, _, _)| k.key().name() == POOL_CONNECTIONS)
        .map(|(k, _, _, v)| {
            let state = k
                .key()
                .labels()
                .find(|l| l.key() == "state")
                .map(|l| l.value().to_owned());
            (state.unwrap_or_default(), v)
        })
        .collect();
    assert_eq!(gauges.len(), 3, "{gauges:?}");
    assert!(gauges.contains(&("in_use".into(), DebugValue::Gauge(1.0.into()))));
    assert!(gauges.contains(&("max".into(), DebugValue::Gauge(10.0.into()))));
}

#[test]
fn a_call_dropped_before_it_finished_is_recorded_as_cancelled() {
    let gauge_reads = Arc::new(AtomicUsize::new(0));
    let seen = gauge_reads.clone();
    let ((), snap) = with_metrics(|| async move {
        let exec = Executor::new(Store::Kafka).with_pool_gauges(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            PoolState::default()
        });
        let never = exec.call("send").run(std::future::pending::<Result<()>>);
        let timed_out = tokio::time::timeout(Duration::from_millis(5), never).await;
        assert!(timed_out.is_err());
    });
    assert_eq!(counts(&snap), [("send".into(), "cancelled".into(), 1)]);
    assert_eq!(gauge_reads.load(Ordering::SeqCst), 1);
}

#[test]
fn work_spawned_onto_another_task_counts_on_its_own() {
    let ((), snap) = with_metrics(|| async {
        let exec = Executor::new(Store::Redis);
        let spawned = exec.clone();
        exec.call("outer")
            .run_once(async move {
                let task = tokio::spawn(async move {
                    assert!(!in_call());
                    spawned.call("spawned").run_once(async { Ok(()) }).await
                });
                task.await.expect("joins")
            })
            .await
            .expect("ok");
    });
    assert_eq!(
        counts(&snap),
        [
            ("outer".into(), "ok".into(), 1),
            ("spawned".into(), "ok".into(), 1)
        ]
    );
}

#[test]
fn a_nested_call_opens_no_span_of_its_own() {
    let ((), spans) = span_counter::operation_spans_on_this_thread(|| {
        let ((), _) = with_metrics(|| async {
            let exec = Executor::new(Store::Postgres);
            exec.call("outer")
                .run(|| async {
                    exec.call("inner").run(|| async { Ok(()) }).await?;
                    exec.call("inner_once").run_once(async { Ok(()) }).await
                })
                .await
                .expect("ok");
        });
    });
    assert_eq!(spans, 1);
}

#[test]
fn executors_are_clone_debug_and_their_calls_send() {
    fn assert_send<T: Send>(_: &T) {}
    let exec = Executor::new(Store::Mongo)
        .with_deadline(Duration::from_secs(3))
        .with_pool_gauges(PoolState::default);
    let copy = exec.clone();
    let shown = format!("{copy:?}");
    assert!(shown.starts_with("Executor { store: Mongo"), "{shown}");
    assert!(shown.contains("pool_gauges: true"), "{shown}");
    assert_eq!(copy.deadline(), Some(Duration::from_secs(3)));
    assert!(copy.retry_policy().is_none());
    let call = exec.call("x").target("t").idempotent();
    assert!(format!("{call:?}").contains("idempotent: true"));
    let fut = call.run(|| async { Ok(1) });
    assert_send(&fut);
    drop(fut);
    // The builder does not change an executor already shared.
    let retrying = copy.clone().with_retry(RetryPolicy::default());
    assert!(retrying.retry_policy().is_some() && copy.retry_policy().is_none());
}

/// Counts the `ai_data.operation` spans opened on the calling thread.
///
/// A global subscriber, installed once: a thread-local one (`with_default`)
/// races with the other tests' threads over the span callsite's cached
/// interest and then sees no span at all.
mod span_counter {
    use std::cell::Cell;
    use std::sync::Once;
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    thread_local! {
        static OPENED: Cell<usize> = const { Cell::new(0) };
    }

    struct OperationSpans;

    impl Subscriber for OperationSpans {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            if span.metadata().name() == "ai_data.operation" {
                OPENED.with(|n| n.set(n.get() + 1));
            }
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// Run `f` on this thread and count the operation spans it opened.
    pub(super) fn operation_spans_on_this_thread<R>(f: impl FnOnce() -> R) -> (R, usize) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            tracing::subscriber::set_global_default(OperationSpans)
                .expect("no other global subscriber in these tests");
        });
        OPENED.with(|n| n.set(0));
        let out = f();
        (out, OPENED.with(Cell::get))
    }
}
