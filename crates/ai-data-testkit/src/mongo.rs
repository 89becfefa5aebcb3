//! A MongoDB client and a database of the test's own, and a private
//! `mongod` for tests that need a deployment of their own.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use mongodb::{Client, Database};

use crate::{cleanup_blocking, test_var, unavailable, unique_name, MONGO_URL_VAR};

/// Variable naming the `mongod` binary `scripts/stores.sh` installed.
pub const MONGOD_BIN_VAR: &str = "AI_DATA_TEST_MONGOD_BIN";

/// A connected client and a fresh database name, dropped with the handle
/// (with the users created in it).
#[derive(Debug)]
pub struct MongoTest {
    /// The server's URL.
    pub url: String,
    /// This test's database name.
    pub database: String,
    /// A connected client.
    pub client: Client,
    #[cfg(feature = "testcontainers")]
    _container: Option<testcontainers::ContainerAsync<testcontainers_modules::mongo::Mongo>>,
}

impl MongoTest {
    /// This test's database.
    pub fn db(&self) -> Database {
        self.client.database(&self.database)
    }
}

/// The user (name, authentication database) `db`'s connection is logged in
/// as, from the server's own `connectionStatus`; `None` when it is not
/// logged in.
pub async fn authenticated_user(db: &Database) -> Option<(String, String)> {
    let status = db
        .run_command(doc! { "connectionStatus": 1 })
        .await
        .expect("connectionStatus");
    let user = status
        .get_document("authInfo")
        .ok()?
        .get_array("authenticatedUsers")
        .ok()?
        .first()?
        .as_document()?
        .clone();
    Some((
        user.get_str("user").ok()?.to_owned(),
        user.get_str("db").ok()?.to_owned(),
    ))
}

/// A MongoDB client that answered `ping`, or `None` (skip) when no MongoDB
/// is configured and stores are not required.
pub async fn mongo() -> Option<MongoTest> {
    #[cfg(feature = "testcontainers")]
    let mut container = None;
    let url = match test_var(MONGO_URL_VAR) {
        Some(url) => url,
        None => {
            #[cfg(feature = "testcontainers")]
            if crate::docker_available() {
                use testcontainers::runners::AsyncRunner;
                use testcontainers::ImageExt;
                // The seed's MongoDB 6.0, as a one-node replica set (no
                // authorization: tests of enforced roles need the local
                // server that scripts/stores.sh starts).
                let c = testcontainers_modules::mongo::Mongo::repl_set()
                    .with_tag("6.0.5")
                    .start()
                    .await
                    .expect("start the mongo container");
                let port = c.get_host_port_ipv4(27017).await.expect("mapped port");
                container = Some(c);
                format!("mongodb://127.0.0.1:{port}/?directConnection=true")
            } else {
                return unavailable(
                    "MongoDB",
                    &format!("{MONGO_URL_VAR} is not set and Docker is not reachable"),
                );
            }
            #[cfg(not(feature = "testcontainers"))]
            return unavailable("MongoDB", &format!("{MONGO_URL_VAR} is not set"));
        }
    };
    let client = match Client::with_uri_str(&url).await {
        Ok(client) => client,
        Err(e) => panic!("{MONGO_URL_VAR} is not a MongoDB URL: {e}"),
    };
    let ping = client
        .database("admin")
        .run_command(mongodb::bson::doc! { "ping": 1 })
        .await;
    if let Err(e) = ping {
        return unavailable("MongoDB", &format!("no answer from {MONGO_URL_VAR}: {e}"));
    }
    Some(MongoTest {
        url,
        database: unique_name("t_"),
        client,
        #[cfg(feature = "testcontainers")]
        _container: container,
    })
}

impl Drop for MongoTest {
    fn drop(&mut self) {
        let url = self.url.clone();
        let database = self.database.clone();
        cleanup_blocking(move || async move {
            if let Ok(client) = Client::with_uri_str(&url).await {
                let db = client.database(&database);
                // mongod keeps a database's users (in admin.system.users)
                // when the database is dropped.
                let _ = db.run_command(doc! { "dropAllUsersFromDatabase": 1 }).await;
                let _ = db.drop().await;
            }
        });
    }
}

/// A private `mongod` (no authorization) on a free loopback port, in a
/// temporary directory: for tests that need a standalone server (no
/// transactions) or a replica set of their own, which the shared server
/// cannot be. Killed (by PID) and removed on drop.
///
/// Runs the binary named by `AI_DATA_TEST_MONGOD_BIN` (the env file of
/// `scripts/stores.sh` sets it).
#[derive(Debug)]
pub struct MongodServer {
    /// Loopback port it listens on.
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl MongodServer {
    /// A standalone server.
    pub async fn standalone() -> Option<MongodServer> {
        Self::start(&[]).await
    }

    /// A member of replica set `set`, not yet initiated (run
    /// `replSetInitiate` with [`MongodServer::host`] of each member).
    pub async fn replica_member(set: &str) -> Option<MongodServer> {
        Self::start(&["--replSet", set]).await
    }

    /// A server started with `extra_args` on top of the defaults, once it
    /// answers `ping` (30 s at most). `None` (skip) when no binary is
    /// configured and stores are not required; under `CI=true` /
    /// `AI_DATA_TEST_REQUIRE_STORES=1` that fails the test.
    pub async fn start(extra_args: &[&str]) -> Option<MongodServer> {
        let Some(bin) = test_var(MONGOD_BIN_VAR) else {
            return unavailable("mongod", &format!("{MONGOD_BIN_VAR} is not set"));
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let dir = std::env::temp_dir().join(unique_name("ai-data-mongod-"));
        std::fs::create_dir_all(dir.join("data")).expect("server directory");
        let child = Command::new(&bin)
            .arg("--dbpath")
            .arg(dir.join("data"))
            .args(["--bind_ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--nounixsocket", "--wiredTigerCacheSizeGB", "0.25"])
            .arg("--logpath")
            .arg(dir.join("mongod.log"))
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return unavailable("mongod", &format!("{bin} does not exist"))
            }
            Err(e) => panic!("cannot start {bin}: {e}"),
        };
        let mut server = MongodServer {
            port,
            dir,
            child: Some(child),
        };
        server.wait_ready(Duration::from_secs(30)).await;
        Some(server)
    }

    async fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let client = Client::with_uri_str(format!(
            "{}&serverSelectionTimeoutMS=250&connectTimeoutMS=250",
            self.url()
        ))
        .await
        .expect("client for a private mongod");
        loop {
            let ping = client
                .database("admin")
                .run_command(doc! { "ping": 1 })
                .await;
            if ping.is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "mongod on port {} exited at start ({status}); log: {}",
                    self.port,
                    self.log_tail()
                );
            }
            assert!(
                Instant::now() < deadline,
                "mongod on port {} did not answer ping within {limit:?}; log: {}",
                self.port,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("mongod.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `127.0.0.1:<port>`, as a replica set member's `host`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `mongodb://127.0.0.1:<port>/?directConnection=true`.
    pub fn url(&self) -> String {
        format!("mongodb://{}/?directConnection=true", self.host())
    }

    /// A client talking to this server only.
    pub async fn client(&self) -> Client {
        Client::with_uri_str(self.url())
            .await
            .expect("client for a private mongod")
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kill the server (SIGKILL to its PID) and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MongodServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
