//! One place that applies, around every store call: the span and the
//! metrics ([`observe`](crate::observe), unchanged names and labels), a
//! deadline, retries (only for calls marked idempotent) and the pool
//! gauges. For the store crates and for services' own repositories alike.
//!
//! Layers, outermost first, for one public call:
//!
//! 1. span + metrics: one `ai_data.operation` span and one
//!    `ai_data_operations_total` increment per call, retries included
//!    (a call dropped early is recorded as `cancelled`);
//! 2. deadline ([`Executor::with_deadline`]): bounds the whole call,
//!    retries and backoff included, and fails it with
//!    [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) — recorded as
//!    outcome `timeout` since the metrics are outside it;
//! 3. retry ([`Executor::with_retry`]), for calls marked
//!    [`idempotent`](Call::idempotent) only: [`RetryPolicy::run`], which
//!    retries [temporary](crate::Error::is_temporary) errors and returns
//!    the one it gave up on as [persistent](crate::ErrorStatus::Persistent);
//! 4. the attempt: the closure given to [`Call::run`].
//!
//! After the call, however it ended, the pool gauges
//! ([`Executor::with_pool_gauges`]) are published.
//!
//! Nested calls are not double-counted: a call made while another
//! executor call runs in the same task (from any `Executor`) just runs its
//! work once — no span, no metrics, no retry, no deadline of its own; the
//! outermost call owns them. "The same task" is a tokio task-local: work
//! [spawned](tokio::spawn) onto another task counts on its own.

mod call;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{RetryPolicy, Store};

pub use call::{in_call, Call};

/// A connection pool's state, as [`Executor::with_pool_gauges`] reads it.
///
/// ```
/// use ai_data_core::executor::PoolState;
/// let state = PoolState { in_use: 2, idle: 3, max: 10 };
/// assert_eq!(state.in_use + state.idle, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolState {
    /// Connections checked out.
    pub in_use: usize,
    /// Open connections waiting in the pool.
    pub idle: usize,
    /// The pool's maximum size.
    pub max: usize,
}

type PoolGauges = Arc<dyn Fn() -> PoolState + Send + Sync>;

/// Runs store calls under one store's span, metrics, deadline, retry and
/// pool gauges. Cheap to clone (one `Arc`).
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use ai_data_core::executor::{Executor, PoolState};
/// use ai_data_core::{Error, ErrorKind, ErrorStatus, RetryPolicy, Store};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_core::Result<()> {
/// let exec = Executor::new(Store::Postgres)
///     .with_retry(RetryPolicy::default().with_min_delay(Duration::from_millis(1)))
///     .with_deadline(Duration::from_secs(30))
///     .with_pool_gauges(|| PoolState { in_use: 1, idle: 4, max: 10 });
///
/// // A read: idempotent, so a temporary error is retried.
/// let attempts = AtomicU32::new(0);
/// let rows = exec
///     .call("users.list")
///     .target("auth.users")
///     .idempotent()
///     .run_counted(
///         || async {
///             if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
///                 return Err(Error::new(ErrorKind::Connect, "reset by peer"));
///             }
///             Ok(vec![1, 2, 3])
///         },
///         Vec::len,
///     )
///     .await?;
/// assert_eq!((rows.len(), attempts.load(Ordering::SeqCst)), (3, 2));
///
/// // An insert that creates an id: not idempotent, one attempt.
/// let err = exec
///     .call("users.create")
///     .target("auth.users")
///     .run(|| async { Err::<(), _>(Error::new(ErrorKind::Connect, "refused")) })
///     .await
///     .unwrap_err();
/// assert_eq!(err.status(), ErrorStatus::Temporary);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    store: Store,
    retry: Option<RetryPolicy>,
    deadline: Option<Duration>,
    pool_gauges: Option<PoolGauges>,
}

impl Executor {
    /// An executor for `store`: span and metrics, no retry, no deadline,
    /// no pool gauges.
    pub fn new(store: Store) -> Self {
        Executor {
            inner: Arc::new(Inner {
                store,
                retry: None,
                deadline: None,
                pool_gauges: None,
            }),
        }
    }

    /// Retry calls marked [`idempotent`](Call::idempotent) with `policy`
    /// (others are attempted once).
    #[must_use]
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        Arc::make_mut(&mut self.inner).retry = Some(policy);
        self
    }

    /// Bound each call, retries included, by `deadline`; past it the call
    /// fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        Arc::make_mut(&mut self.inner).deadline = Some(deadline);
        self
    }

    /// After every call, publish `gauges()` as the store's
    /// `ai_data_pool_connections` gauges ([`record_pool`](crate::observe::record_pool)).
    /// `gauges` should be cheap (read a pool's counters) and must not panic.
    #[must_use]
    pub fn with_pool_gauges<F>(mut self, gauges: F) -> Self
    where
        F: Fn() -> PoolState + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.inner).pool_gauges = Some(Arc::new(gauges));
        self
    }

    /// The store this executor reports as.
    pub fn store(&self) -> Store {
        self.inner.store
    }

    /// The retry policy for idempotent calls, if any.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.inner.retry.as_ref()
    }

    /// The deadline of each call, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.inner.deadline
    }

    /// A call of `operation`: a short, fixed name (`"users.create"`,
    /// `"search"`, `"send"`), since it becomes a metric label.
    pub fn call(&self, operation: &'static str) -> Call<'_> {
        Call::new(&self.inner, operation)
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("store", &self.store)
            .field("retry", &self.retry)
            .field("deadline", &self.deadline)
            .field("pool_gauges", &self.pool_gauges.is_some())
            .finish()
    }
}
