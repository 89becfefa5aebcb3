//! Loopback addresses that fail the two ways a real outage does, for
//! connect-timeout tests: a closed port (refused at once) and a blackholed
//! address (the SYN is never answered, so only a timeout ends the connect).
//!
//! ```
//! use std::time::Duration;
//! let hole = ai_data_testkit::unreachable::Blackhole::new().expect("blackhole");
//! let started = std::time::Instant::now();
//! let attempt = std::net::TcpStream::connect_timeout(&hole.addr(), Duration::from_millis(200));
//! assert!(attempt.is_err());
//! assert!(started.elapsed() >= Duration::from_millis(200));
//!
//! let closed = ai_data_testkit::unreachable::closed_port().expect("port");
//! let refused = std::net::TcpStream::connect_timeout(&closed, Duration::from_secs(5)).unwrap_err();
//! assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
//! ```

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ai_data_core::{Error, ErrorKind};

use socket2::{Domain, Socket, Type};

/// A loopback port nothing listens on: bound once to get a free number, then
/// released (another process could take it in between; on a test machine
/// the window is negligible).
pub fn closed_port() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(addr)
}

/// A loopback address whose connects hang: a listener with a backlog of 0
/// that never accepts, its one queue slot taken by a connection of its own.
/// Linux drops further SYNs while the accept queue is full, which is what a
/// firewall that drops packets (or an unroutable host) looks like to a
/// client. Lives as long as the value.
#[derive(Debug)]
pub struct Blackhole {
    // Kept open: dropping it would free the port.
    _listener: Socket,
    _filler: TcpStream,
    addr: SocketAddr,
}

impl Blackhole {
    /// Binds the listener and fills its accept queue.
    pub fn new() -> io::Result<Self> {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        listener.bind(&any.into())?;
        listener.listen(0)?;
        let addr = listener
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("listener has no inet address"))?;
        let filler = TcpStream::connect(addr)?;
        Ok(Self {
            _listener: listener,
            _filler: filler,
            addr,
        })
    }

    /// The address whose connects hang.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port` of [`addr`](Self::addr), for URLs.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }
}

/// Every message in an error's `source()` chain (not the error's own),
/// lowercased.
pub fn causes(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        out.push(cause.to_string().to_lowercase());
        next = cause.source();
    }
    out
}

/// The kinds of the [`io::Error`]s in an error's `source()` chain.
pub fn io_kinds(err: &(dyn std::error::Error + 'static)) -> Vec<io::ErrorKind> {
    let mut out = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            out.push(io.kind());
        }
        next = cause.source();
    }
    out
}

/// What every store's connect-timeout test expects of a failed connect: kind
/// [`ErrorKind::Connect`], retryable,
/// within the connect timeout (plus scheduling slack), the cause in
/// `source()`, the store named, the secret nowhere.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use ai_data_core::{Error, ErrorKind};
/// use ai_data_testkit::unreachable::{closed_port, ConnectExpectation};
///
/// // A stand-in for a store's connect: a plain TCP connect to a closed port.
/// let addr = closed_port().expect("port");
/// let connect = async move {
///     std::net::TcpStream::connect(addr).map_err(|io| {
///         Error::new(ErrorKind::Connect, format!("cannot reach redis at {addr}")).with_source(io)
///     })
/// };
/// let expect = ConnectExpectation::new("redis", Duration::from_millis(1500)).with_secret("s3cret");
/// let (err, elapsed) = expect.fails("closed port", connect).await;
/// expect.refused_at_once(&err, elapsed, "closed port");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ConnectExpectation {
    store: &'static str,
    timeout: Duration,
    margin: Duration,
    secret: Option<&'static str>,
}

impl ConnectExpectation {
    /// `store` is a word the error (or its causes) must contain, compared
    /// case-insensitively; `timeout` the connect timeout configured.
    pub fn new(store: &'static str, timeout: Duration) -> Self {
        Self {
            store,
            timeout,
            margin: Duration::from_millis(750),
            secret: None,
        }
    }

    /// The secret the config carried: it must appear nowhere.
    pub fn with_secret(mut self, secret: &'static str) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Slack over the timeout (default 750 ms, for a shared 2-core machine).
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The connect timeout expected to bound the attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Run `attempt`, which must fail as [`check`](Self::check) says; the
    /// error and how long it took. An outer bound of 20 x the timeout only
    /// keeps a regression from hanging the suite.
    pub async fn fails<T: std::fmt::Debug>(
        &self,
        what: &str,
        attempt: impl Future<Output = ai_data_core::Result<T>>,
    ) -> (Error, Duration) {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout * 20, attempt)
            .await
            .unwrap_or_else(|_| panic!("{what}: still running after {:?}", self.timeout * 20));
        let elapsed = started.elapsed();
        let err = outcome.expect_err(what);
        self.check(&err, elapsed, what);
        (err, elapsed)
    }

    /// The checks every unreachable case shares.
    pub fn check(&self, err: &Error, elapsed: Duration, what: &str) {
        assert_eq!(err.kind(), ErrorKind::Connect, "{what}: {err:?}");
        assert!(err.is_retryable(), "{what}: {err}");
        assert!(
            elapsed < self.timeout + self.margin,
            "{what}: took {elapsed:?}, connect timeout {:?}: {err}",
            self.timeout
        );
        let chain = causes(err);
        assert!(
            !chain.is_empty(),
            "{what}: the cause must be in source(): {err}"
        );
        let shown = format!("{err} {err:?} {}", chain.join(" | "));
        if let Some(secret) = self.secret {
            assert!(!shown.contains(secret), "{what}: secret shown: {shown}");
        }
        assert!(
            shown.to_lowercase().contains(self.store),
            "{what}: does not name {}: {shown}",
            self.store
        );
    }

    /// A refused connect: the refusal among the causes. (Drivers that
    /// retry refused connections until the timeout, as the MongoDB driver
    /// and librdkafka do, may use all of it: see
    /// [`refused_at_once`](Self::refused_at_once) for those that do not.)
    pub fn refused(&self, err: &Error, what: &str) {
        let chain = causes(err);
        assert!(
            chain.iter().any(|c| c.contains("refused")),
            "{what}: the refusal must be the cause: {err} / {chain:?}"
        );
    }

    /// A refused connect that gave up at once, without waiting for the
    /// timeout.
    pub fn refused_at_once(&self, err: &Error, elapsed: Duration, what: &str) {
        assert!(
            elapsed < self.timeout,
            "{what}: a refusal should not wait: {elapsed:?}"
        );
        self.refused(err, what);
    }

    /// A connect only the timeout ended: most of the timeout spent, a
    /// timeout among the causes.
    pub fn timed_out(&self, err: &Error, elapsed: Duration, what: &str) {
        assert!(
            elapsed >= self.timeout.mul_f64(0.8),
            "{what}: gave up before the connect timeout: {elapsed:?}: {err}"
        );
        let chain = causes(err);
        assert!(
            chain
                .iter()
                .any(|c| c.contains("timed out") || c.contains("timeout") || c.contains("elapsed")),
            "{what}: the timeout must be the cause: {err} / {chain:?}"
        );
    }
}
