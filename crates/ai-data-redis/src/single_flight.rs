//! [`SingleFlight`]: concurrent calls for one key share one execution.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use ai_data_core::{Error, Result};
use tokio::sync::watch;

type Outcome<V> = std::result::Result<V, Arc<Error>>;
type Slot<V> = watch::Receiver<Option<Outcome<V>>>;

/// Deduplicates concurrent work by key, within one process: while a call
/// for a key runs, further calls for that key wait for its outcome instead
/// of running their own. The first caller (the leader) runs its closure;
/// the others get a clone of the value, or a copy of the error (same kind,
/// message, retryability and context; the original as `source()`).
///
/// If the leader is cancelled (its future dropped), one waiting caller
/// takes over and runs its own closure: nobody waits forever.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use ai_data_redis::SingleFlight;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let flight = Arc::new(SingleFlight::<u64>::new());
/// let calls = Arc::new(AtomicUsize::new(0));
/// let tasks: Vec<_> = (0..10)
///     .map(|_| {
///         let (flight, calls) = (flight.clone(), calls.clone());
///         tokio::spawn(async move {
///             flight
///                 .run("answer", || async {
///                     calls.fetch_add(1, Ordering::SeqCst);
///                     tokio::time::sleep(std::time::Duration::from_millis(20)).await;
///                     Ok(42)
///                 })
///                 .await
///         })
///     })
///     .collect();
/// for t in tasks {
///     assert_eq!(t.await.unwrap().unwrap(), 42);
/// }
/// assert_eq!(calls.load(Ordering::SeqCst), 1);
/// # }
/// ```
pub struct SingleFlight<V> {
    calls: Mutex<HashMap<String, Slot<V>>>,
}

impl<V> Default for SingleFlight<V> {
    fn default() -> Self {
        SingleFlight {
            calls: Mutex::new(HashMap::new()),
        }
    }
}

impl<V> fmt::Debug for SingleFlight<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleFlight")
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

enum Role<'a, V> {
    Leader(LeaderGuard<'a, V>),
    Follower(Slot<V>),
}

/// Removes the leader's entry when it finishes or is dropped; dropping the
/// sender wakes followers of a cancelled leader.
struct LeaderGuard<'a, V> {
    flight: &'a SingleFlight<V>,
    key: String,
    tx: watch::Sender<Option<Outcome<V>>>,
}

impl<V> Drop for LeaderGuard<'_, V> {
    fn drop(&mut self) {
        self.flight.lock().remove(&self.key);
    }
}

impl<V> SingleFlight<V> {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys with a call running now.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot<V>>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<V: Clone> SingleFlight<V> {
    fn join(&self, key: &str) -> Role<'_, V> {
        let mut calls = self.lock();
        if let Some(rx) = calls.get(key) {
            return Role::Follower(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        calls.insert(key.to_owned(), rx);
        Role::Leader(LeaderGuard {
            flight: self,
            key: key.to_owned(),
            tx,
        })
    }

    /// Run `work` for `key` unless a call for `key` is already running, in
    /// which case wait for that call's outcome.
    pub async fn run<F, Fut>(&self, key: &str, work: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        loop {
            match self.join(key) {
                Role::Leader(guard) => {
                    let outcome = work().await.map_err(Arc::new);
                    // Publish before the guard removes the entry, so that
                    // no caller can miss both the entry and the outcome.
                    guard.tx.send_replace(Some(outcome.clone()));
                    drop(guard);
                    return outcome.map_err(|e| copy_error(&e));
                }
                Role::Follower(mut rx) => {
                    let shared = match rx.wait_for(Option::is_some).await {
                        Ok(value) => value.clone(),
                        // The leader was cancelled: take over.
                        Err(_) => continue,
                    };
                    if let Some(outcome) = shared {
                        return outcome.map_err(|e| copy_error(&e));
                    }
                }
            }
        }
    }
}

/// The shared original error, kept as the `source()` of each copy.
struct SharedError(Arc<Error>);

impl fmt::Debug for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0.as_ref())
    }
}

fn copy_error(err: &Arc<Error>) -> Error {
    let mut copy = Error::new(err.kind(), err.message().to_owned());
    copy = if err.is_retryable() {
        copy.temporary()
    } else {
        copy.permanent()
    };
    if let Some(store) = err.store() {
        copy = copy.with_store(store);
    }
    if let Some(op) = err.operation() {
        copy = copy.with_operation(op.to_owned());
    }
    if let Some(target) = err.target() {
        copy = copy.with_target(target);
    }
    copy.with_source(SharedError(err.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_core::ErrorKind;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn errors_are_shared_with_kind_and_retryability() {
        let flight = Arc::new(SingleFlight::<u8>::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let leader = {
            let (flight, calls) = (flight.clone(), calls.clone());
            tokio::spawn(async move {
                flight
                    .run("k", || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        let _ = release_rx.await;
                        Err(Error::new(ErrorKind::Timeout, "db slow").with_target("t"))
                    })
                    .await
            })
        };
        // Wait until the leader is registered, then join as a follower.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while flight.in_flight() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "leader never started"
            );
            tokio::task::yield_now().await;
        }
        let follower = {
            let (flight, calls) = (flight.clone(), calls.clone());
            tokio::spawn(async move {
                flight
                    .run("k", || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Ok(1)
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        let _ = release_tx.send(());
        for task in [leader, follower] {
            let err = task.await.expect("join").expect_err("shared error");
            assert_eq!(err.kind(), ErrorKind::Timeout);
            assert!(err.is_retryable());
            assert_eq!(err.target(), Some("t"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(flight.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_leader_hands_over_to_a_follower() {
        let flight = Arc::new(SingleFlight::<u8>::new());
        let leader = {
            let flight = flight.clone();
            tokio::spawn(async move { flight.run("k", std::future::pending::<Result<u8>>).await })
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while flight.in_flight() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "leader never started"
            );
            tokio::task::yield_now().await;
        }
        let follower = {
            let flight = flight.clone();
            tokio::spawn(async move { flight.run("k", || async { Ok(7) }).await })
        };
        tokio::task::yield_now().await;
        leader.abort();
        let value = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("follower finished")
            .expect("join")
            .expect("value");
        assert_eq!(value, 7);
        assert_eq!(flight.in_flight(), 0);
    }
}
