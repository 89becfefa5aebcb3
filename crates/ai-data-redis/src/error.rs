//! fred errors as `ai-data-core` errors.

use ai_data_core::{Error, ErrorKind, Store};
use fred::error::{Error as FredError, ErrorKind as FredKind};

/// Map a fred error to an [`Error`] with kind, retryability, operation and
/// target; the fred error stays as `source()`.
///
/// | fred kind / server reply | kind | retryable |
/// |---|---|---|
/// | `Auth` (`WRONGPASS`, `NOAUTH`, `NOPERM`) | Auth | no |
/// | `IO`, `Canceled`, `Routing`, `Cluster`, `Sentinel` | Connect | yes |
/// | `Timeout`, `Backpressure` | Timeout | yes |
/// | `Config`, `Url`, `Tls` | Config | no |
/// | `InvalidArgument`, `InvalidCommand` | InvalidInput | no |
/// | `NotFound` (a nil reply where a value was required) | NotFound | no |
/// | server `LOADING`, `READONLY`, `MASTERDOWN`, `TRYAGAIN`, `CLUSTERDOWN` | Connect | yes |
/// | server `BUSY` (a long script) | Backend | yes |
/// | server `OOM` (`maxmemory` reached under `noeviction`) | Backend | yes |
/// | anything else | Backend | no |
///
/// The message is fred's own description of the failure (server error
/// replies never echo credentials); the key passed as `target` should not be
/// a secret: session keys are hashes of the session id.
///
/// ```
/// use ai_data_redis::{map_fred, ErrorKind};
/// use fred::error::{Error as FredError, ErrorKind as FredKind};
///
/// let err = map_fred(
///     FredError::new(FredKind::Auth, "WRONGPASS invalid username-password pair"),
///     "connect",
///     "redis://127.0.0.1:6379",
/// );
/// assert_eq!(err.kind(), ErrorKind::Auth);
/// assert!(!err.is_retryable());
/// ```
pub fn map_fred(err: FredError, operation: &'static str, target: &str) -> Error {
    let details = err.details();
    let server_code = details.split_whitespace().next().unwrap_or_default();
    let mapped = match err.kind() {
        FredKind::Auth => Error::new(ErrorKind::Auth, "authentication failed"),
        FredKind::IO | FredKind::Canceled => Error::new(
            ErrorKind::Connect,
            format!("connection to Redis failed: {details}"),
        ),
        FredKind::Routing | FredKind::Cluster | FredKind::Sentinel => Error::new(
            ErrorKind::Connect,
            format!("no Redis server to route to: {details}"),
        ),
        FredKind::Timeout => Error::new(ErrorKind::Timeout, "Redis command timed out"),
        FredKind::Backpressure => {
            Error::new(ErrorKind::Timeout, "Redis client is applying backpressure")
        }
        FredKind::Config | FredKind::Url => Error::new(
            ErrorKind::Config,
            format!("invalid Redis client configuration: {details}"),
        ),
        FredKind::Tls => Error::new(ErrorKind::Config, format!("TLS error: {details}")),
        FredKind::InvalidArgument | FredKind::InvalidCommand => {
            Error::invalid_input(format!("invalid Redis command: {details}"))
        }
        FredKind::NotFound => Error::new(ErrorKind::NotFound, "no such key"),
        _ => match server_code {
            "NOPERM" | "WRONGPASS" | "NOAUTH" => {
                Error::new(ErrorKind::Auth, "not authorised for this command")
            }
            "LOADING" | "READONLY" | "MASTERDOWN" | "TRYAGAIN" | "CLUSTERDOWN" => Error::new(
                ErrorKind::Connect,
                format!("Redis server not ready: {details}"),
            ),
            "BUSY" | "OOM" => {
                Error::new(ErrorKind::Backend, format!("Redis refused: {details}")).temporary()
            }
            _ => Error::new(
                ErrorKind::Backend,
                format!("Redis operation failed: {details}"),
            ),
        },
    };
    mapped
        .with_store(Store::Redis)
        .with_operation(operation)
        .with_target(target)
        .with_source(err)
}

/// A failed initial connect: fred's own timeouts (TCP connect, or the
/// `AUTH` / `HELLO` of a server that accepted and never answered) are a
/// connect failure, not a command timeout; anything else maps as usual.
pub(crate) fn connect_error(err: FredError, budget: std::time::Duration, target: &str) -> Error {
    if *err.kind() == FredKind::Timeout {
        Error::new(
            ErrorKind::Connect,
            format!("no connection to Redis within the connect timeout of {budget:?}"),
        )
        .with_store(Store::Redis)
        .with_operation("connect")
        .with_target(target)
        .with_source(err)
    } else {
        map_fred(err, "connect", target)
    }
}

/// A timeout of our own (around a Redis call) as an [`Error`].
pub(crate) fn timeout(operation: &'static str, target: &str, after: std::time::Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("Redis did not answer within {after:?}"),
    )
    .with_store(Store::Redis)
    .with_operation(operation)
    .with_target(target)
}

/// Run a fred call under `limit` and map both failure kinds.
pub(crate) async fn timed<T, F>(
    limit: std::time::Duration,
    operation: &'static str,
    target: &str,
    fut: F,
) -> ai_data_core::Result<T>
where
    F: std::future::Future<Output = Result<T, FredError>>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(map_fred(e, operation, target)),
        Err(_) => Err(timeout(operation, target, limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_retryability() {
        let cases = [
            (FredKind::IO, "", ErrorKind::Connect, true),
            (FredKind::Timeout, "", ErrorKind::Timeout, true),
            (FredKind::Config, "bad", ErrorKind::Config, false),
            (
                FredKind::InvalidArgument,
                "x",
                ErrorKind::InvalidInput,
                false,
            ),
            (
                FredKind::Unknown,
                "LOADING Redis is loading",
                ErrorKind::Connect,
                true,
            ),
            (
                FredKind::Unknown,
                "READONLY You can't write",
                ErrorKind::Connect,
                true,
            ),
            (
                FredKind::Unknown,
                "OOM command not allowed",
                ErrorKind::Backend,
                true,
            ),
            (
                FredKind::Unknown,
                "NOPERM no permissions",
                ErrorKind::Auth,
                false,
            ),
            (
                FredKind::Unknown,
                "ERR wrong number",
                ErrorKind::Backend,
                false,
            ),
        ];
        for (kind, details, want, retry) in cases {
            let err = map_fred(FredError::new(kind.clone(), details), "get", "k");
            assert_eq!(err.kind(), want, "{kind:?} {details}");
            assert_eq!(err.is_retryable(), retry, "{kind:?} {details}");
            assert_eq!(err.store(), Some(Store::Redis));
            assert_eq!(err.operation(), Some("get"));
            assert!(std::error::Error::source(&err).is_some());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn timed_maps_an_elapsed_limit_to_timeout() {
        let err = timed(
            std::time::Duration::from_millis(10),
            "get",
            "k",
            std::future::pending::<Result<(), FredError>>(),
        )
        .await
        .expect_err("times out");
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.is_retryable());
    }
}
