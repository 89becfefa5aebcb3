//! One call through an [`Executor`](super::Executor): its name, target and
//! idempotency, and the layers applied when it runs.

use std::fmt;
use std::future::Future;

use super::Inner;
use crate::observe::{record_pool, Operation};
use crate::{Error, ErrorKind, Result};

tokio::task_local! {
    /// Set while an executor call runs in this task: calls made inside it
    /// are nested and leave the span, metrics and retry to it.
    static IN_CALL: ();
}

/// Whether an executor call is running in the current task, so a call made
/// now would be nested (run once, not observed on its own).
///
/// ```
/// use ai_data_core::executor::{in_call, Executor};
/// use ai_data_core::Store;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_core::Result<()> {
/// assert!(!in_call());
/// let nested = Executor::new(Store::Mongo)
///     .call("outer")
///     .run_once(async { Ok(in_call()) })
///     .await?;
/// assert!(nested);
/// # Ok(()) }
/// ```
pub fn in_call() -> bool {
    IN_CALL.try_with(|_| ()).is_ok()
}

/// One store call, built by [`Executor::call`](super::Executor::call):
/// name it, say what it works on and whether repeating it is harmless,
/// then run it.
///
/// ```
/// use ai_data_core::executor::Executor;
/// use ai_data_core::Store;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ai_data_core::Result<()> {
/// let exec = Executor::new(Store::Redis);
/// let key_space = format!("sessions:{}", "eu");
/// let hit: Option<String> = exec
///     .call("get")
///     .target(&key_space)
///     .idempotent()
///     .run(|| async { Ok(Some("value".to_owned())) })
///     .await?;
/// assert_eq!(hit.as_deref(), Some("value"));
///
/// // A future that cannot be re-run (a stream, a transaction handle): once.
/// exec.call("flush").run_once(async { Ok(()) }).await?;
/// # Ok(()) }
/// ```
#[must_use = "a Call does nothing until it is run"]
pub struct Call<'a> {
    inner: &'a Inner,
    operation: &'static str,
    target: &'a str,
    idempotent: bool,
}

impl<'a> Call<'a> {
    pub(super) fn new(inner: &'a Inner, operation: &'static str) -> Self {
        Call {
            inner,
            operation,
            target: "",
            idempotent: false,
        }
    }

    /// What it works on: a table, collection, topic or key namespace (a
    /// name, never a value).
    pub fn target(mut self, target: &'a str) -> Self {
        self.target = target;
        self
    }

    /// Mark the call as safe to repeat (a read, an upsert or delete keyed
    /// by id), so the executor's retry policy applies to it.
    pub fn idempotent(self) -> Self {
        self.idempotent_if(true)
    }

    /// Mark the call idempotent when `idempotent` holds (e.g. an insert
    /// whose ids the caller chose).
    pub fn idempotent_if(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Run `attempt` (each call of it is one attempt) under the layers.
    pub async fn run<T, F, Fut>(self, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.run_inner(attempt, |_| None).await
    }

    /// As [`Call::run`], also recording how many rows, hits or records the
    /// result holds (the span's `rows`).
    pub async fn run_counted<T, F, Fut, C, N>(self, attempt: F, count: C) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
        C: FnOnce(&T) -> N,
        N: TryInto<u64>,
    {
        self.run_inner(attempt, |value| count(value).try_into().ok())
            .await
    }

    /// Run `work`, a future that cannot be re-run, under the layers but
    /// never retried, idempotent or not.
    pub async fn run_once<T, W>(self, work: W) -> Result<T>
    where
        W: Future<Output = Result<T>>,
    {
        let work = Box::pin(work);
        if in_call() {
            return work.await;
        }
        self.observe(work, |_| None).await
    }

    /// As [`Call::run_once`], also recording the rows the result holds.
    pub async fn run_once_counted<T, W, C, N>(self, work: W, count: C) -> Result<T>
    where
        W: Future<Output = Result<T>>,
        C: FnOnce(&T) -> N,
        N: TryInto<u64>,
    {
        let work = Box::pin(work);
        if in_call() {
            return work.await;
        }
        self.observe(work, |value| count(value).try_into().ok())
            .await
    }

    async fn run_inner<T, F, Fut, C>(self, mut attempt: F, count: C) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
        C: FnOnce(&T) -> Option<u64>,
    {
        // The work is boxed once here so that the layers below move a
        // pointer, not the work's future: in a debug build each layer
        // would otherwise hold its own copy, and a call nested in another
        // multiplies them (tests overflowed a 16 MiB stack).
        if in_call() {
            return Box::pin(attempt()).await;
        }
        let retry = self.inner.retry.as_ref().filter(|_| self.idempotent);
        let work = Box::pin(async move {
            match retry {
                Some(policy) => policy.run(attempt).await,
                None => attempt().await,
            }
        });
        self.observe(work, count).await
    }

    /// Layers 1 (span, metrics) and 2 (deadline) around `work`, the pool
    /// gauges after it, and the task-local that marks calls inside as nested.
    async fn observe<T, W, C>(self, work: W, count: C) -> Result<T>
    where
        W: Future<Output = Result<T>>,
        C: FnOnce(&T) -> Option<u64>,
    {
        let _gauges = GaugesWhenDone(self.inner);
        let Call {
            inner,
            operation,
            target,
            ..
        } = self;
        let bounded = async move {
            let Some(deadline) = inner.deadline else {
                return work.await;
            };
            match tokio::time::timeout(deadline, work).await {
                Ok(result) => result,
                Err(_) => {
                    let err = Error::new(
                        ErrorKind::Timeout,
                        format!("{operation} did not finish within its deadline of {deadline:?}"),
                    )
                    .with_store(inner.store)
                    .with_operation(operation);
                    Err(if target.is_empty() {
                        err
                    } else {
                        err.with_target(target)
                    })
                }
            }
        };
        let observed = Operation::new(inner.store, operation)
            .target(target)
            .observe(bounded, count);
        IN_CALL.scope((), observed).await
    }
}

impl fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("store", &self.inner.store)
            .field("operation", &self.operation)
            .field("target", &self.target)
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

/// Publishes the pool gauges when the call ends: finished or dropped.
struct GaugesWhenDone<'a>(&'a Inner);

impl Drop for GaugesWhenDone<'_> {
    fn drop(&mut self) {
        if let Some(gauges) = &self.0.pool_gauges {
            let state = gauges();
            record_pool(self.0.store, state.in_use, state.idle, state.max);
        }
    }
}
