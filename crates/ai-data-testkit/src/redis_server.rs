//! A private `redis-server` for tests that must stop (or pause) a server —
//! things the shared local Redis cannot allow.
//!
//! Runs `redis-server` from `PATH` (installed by `scripts/stores.sh`) on a
//! free loopback port with a random `requirepass`, no persistence, in a
//! temporary directory. It is killed (by PID) on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{unavailable, unique_name};

/// One running private Redis.
#[derive(Debug)]
pub struct RedisServer {
    /// Loopback port it listens on.
    pub port: u16,
    /// Its `requirepass`.
    pub password: String,
    dir: PathBuf,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Start a server and wait until it answers `PING` (10 s at most).
    /// `None` (skip) when `redis-server` is not installed and stores are not
    /// required; under `CI=true` / `AI_DATA_TEST_REQUIRE_STORES=1` a missing
    /// binary fails the test.
    pub fn start() -> Option<RedisServer> {
        let dir = std::env::temp_dir().join(unique_name("ai-data-redis-"));
        std::fs::create_dir_all(&dir).expect("server directory");
        let mut server = RedisServer {
            port: free_port(),
            password: unique_name("pw-"),
            dir,
            child: None,
        };
        match server.spawn() {
            Ok(()) => Some(server),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                unavailable("redis-server", "the redis-server binary is not on PATH")
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        }
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--requirepass", &self.password])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(10));
        Ok(())
    }

    /// `redis://:<password>@127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}/0", self.password, self.port)
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether an authenticated `PING` is answered with `PONG` right now.
    pub fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let request = format!(
            "*2\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n*1\r\n$4\r\nPING\r\n",
            self.password.len(),
            self.password
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut reply = Vec::new();
        let mut buf = [0_u8; 64];
        while !reply.ends_with(b"+PONG\r\n") && reply.len() < 256 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => reply.extend_from_slice(&buf[..n]),
            }
        }
        reply.starts_with(b"+OK\r\n") && reply.ends_with(b"+PONG\r\n")
    }

    fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.ping() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "redis-server on port {} exited at start: {status}",
                    self.port
                );
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {limit:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill the server (SIGKILL to its PID) and reap it: connections drop
    /// at once, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start the server again on the same port and password (empty: it
    /// keeps no data) and wait until it answers.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn().expect("restart redis-server");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
