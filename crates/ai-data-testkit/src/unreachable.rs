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

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};

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
