//! Retrying temporary errors, with jittered exponential backoff (backon)
//! and a total deadline that also bounds a hanging attempt.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::time::Instant;

use crate::{Error, ErrorKind, Result};

/// When and how often to retry.
///
/// Only [temporary](Error::is_temporary) errors are retried. Each attempt
/// is cut off at the deadline, and no retry starts whose backoff would end
/// after it. An error given up on after at least one retry comes back
/// [persistent](crate::ErrorStatus::Persistent), so a retry layer around
/// this one does not retry it again (the attempts do not multiply).
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use ai_data_core::{Error, ErrorKind, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let calls = AtomicU32::new(0);
/// let policy = RetryPolicy::default().with_min_delay(std::time::Duration::from_millis(1));
/// let value = policy
///     .run(|| async {
///         if calls.fetch_add(1, Ordering::SeqCst) < 2 {
///             Err(Error::new(ErrorKind::Connect, "refused"))
///         } else {
///             Ok(42)
///         }
///     })
///     .await
///     .unwrap();
/// assert_eq!((value, calls.load(Ordering::SeqCst)), (42, 3));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// First backoff delay (default 50 ms).
    pub min_delay: Duration,
    /// Largest backoff delay (default 2 s).
    pub max_delay: Duration,
    /// Attempts in all, the first included (default 5).
    pub max_attempts: usize,
    /// Time budget for all attempts and delays together (default 30 s).
    pub deadline: Duration,
    /// Randomise delays so that many clients do not retry in step (default on).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            max_attempts: 5,
            deadline: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Set the first delay.
    #[must_use]
    pub fn with_min_delay(mut self, d: Duration) -> Self {
        self.min_delay = d;
        self
    }

    /// Set the largest delay.
    #[must_use]
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Set the number of attempts (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, n: usize) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Set the total deadline.
    #[must_use]
    pub fn with_deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// Turn jitter on or off.
    #[must_use]
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Run `op` until it succeeds, fails with an error that is not
    /// [temporary](Error::is_temporary), runs out of attempts, or the
    /// deadline passes (then the error is [`ErrorKind::Timeout`] if an
    /// attempt was cut off, else the last attempt's error). The error is
    /// [persisted](Error::persist) when more than one attempt was made.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let deadline = Instant::now() + self.deadline;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1));
        if self.jitter {
            backoff = backoff.with_jitter();
        }
        let budget = self.deadline;
        let mut attempts = 0usize;
        let attempt = || {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let fut = op();
            async move {
                match tokio::time::timeout(remaining, fut).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::new(
                        ErrorKind::Timeout,
                        format!("retry deadline of {budget:?} passed during an attempt"),
                    )),
                }
            }
        };
        let result = attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(Error::is_temporary)
            .adjust(move |_err, delay| delay.filter(|d| Instant::now() + *d < deadline))
            .notify(|err, delay| {
                tracing::debug!(error = %err, ?delay, "retrying after a temporary error");
            })
            .await;
        match result {
            Err(err) if attempts > 1 => Err(err.persist()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorStatus;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy::default()
            .with_min_delay(Duration::from_millis(10))
            .with_max_delay(Duration::from_millis(100))
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let err = fast()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::new(ErrorKind::Conflict, "duplicate"))
            })
            .await
            .expect_err("fails");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_errors_stop_after_max_attempts() {
        let calls = AtomicU32::new(0);
        let err = fast()
            .with_max_attempts(4)
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::new(ErrorKind::Connect, "refused"))
            })
            .await
            .expect_err("fails");
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(err.status(), ErrorStatus::Persistent);
        assert!(err.is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn a_temporary_error_without_a_retry_stays_temporary() {
        let err = fast()
            .with_max_attempts(1)
            .run(|| async { Err::<(), _>(Error::new(ErrorKind::Connect, "refused")) })
            .await
            .expect_err("fails");
        assert_eq!(err.status(), ErrorStatus::Temporary);
    }

    #[tokio::test(start_paused = true)]
    async fn persistent_errors_are_not_retried_so_nested_retries_do_not_multiply() {
        let calls = AtomicU32::new(0);
        let inner = fast().with_max_attempts(3);
        let err = fast()
            .with_max_attempts(3)
            .run(|| {
                inner.run(|| async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(Error::new(ErrorKind::Timeout, "slow"))
                })
            })
            .await
            .expect_err("fails");
        assert_eq!(calls.load(Ordering::SeqCst), 3, "3 attempts, not 3 x 3");
        assert_eq!(err.status(), ErrorStatus::Persistent);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_after_a_retry_stays_permanent() {
        let calls = AtomicU32::new(0);
        let err = fast()
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err::<(), _>(Error::new(ErrorKind::Connect, "refused"))
                } else {
                    Err(Error::new(ErrorKind::Conflict, "duplicate"))
                }
            })
            .await
            .expect_err("fails");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(err.status(), ErrorStatus::Permanent);
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_bounds_total_time_and_cuts_a_hanging_attempt() {
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let err = fast()
            .with_max_attempts(1000)
            .with_deadline(Duration::from_secs(1))
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::new(ErrorKind::Connect, "refused"))
            })
            .await
            .expect_err("fails");
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert!(
            start.elapsed() <= Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        let n = calls.load(Ordering::SeqCst);
        assert!(n > 2 && n < 1000, "{n} attempts");

        let start = Instant::now();
        let err = fast()
            .with_deadline(Duration::from_millis(500))
            .run(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok::<_, Error>(())
            })
            .await
            .expect_err("cut off");
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(start.elapsed() <= Duration::from_millis(500));
    }
}
