//! Waiting for a condition instead of sleeping a guessed time.

use std::future::Future;
use std::time::{Duration, Instant};

/// Poll `check` every `every` until it returns `Some`, panicking with
/// `what` after `limit`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// let mut polls = 0;
/// let n = ai_data_testkit::eventually("the third poll", Duration::from_secs(5), Duration::from_millis(1), || {
///     polls += 1;
///     let now = polls;
///     async move { (now == 3).then_some(now) }
/// })
/// .await;
/// assert_eq!(n, 3);
/// # }
/// ```
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, every: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(every).await;
    }
}
