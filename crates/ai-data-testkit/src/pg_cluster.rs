//! A private PostgreSQL cluster for tests that must restart, stop or
//! replicate a server — things a shared test server cannot allow.
//!
//! Uses the binaries `scripts/stores.sh` installed (`AI_DATA_TEST_PG_BIN`)
//! and, when running as root, the unprivileged OS user it created
//! (`AI_DATA_TEST_PG_OS_USER`). Clusters live under
//! `AI_DATA_TEST_PG_CLUSTERS_DIR`, listen on a free loopback port, trust
//! loopback connections, and are stopped and removed on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{test_var, unavailable, unique_name};

/// One running private cluster.
#[derive(Debug)]
pub struct PgCluster {
    /// Loopback port it listens on.
    pub port: u16,
    /// Its data directory.
    pub data_dir: PathBuf,
    bin: PathBuf,
    os_user: Option<String>,
    root: PathBuf,
}

fn run(os_user: Option<&str>, program: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = match os_user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl PgCluster {
    /// initdb and start a new cluster; `fsync` on for durability tests.
    /// `None` (skip) when the binaries are not configured and stores are not required.
    pub fn start(fsync: bool) -> Option<PgCluster> {
        let Some(bin) = test_var("AI_DATA_TEST_PG_BIN") else {
            return unavailable("PostgreSQL binaries", "AI_DATA_TEST_PG_BIN is not set");
        };
        let cluster = Self::prepare(PathBuf::from(bin))?;
        let data = cluster.data_dir.to_string_lossy().into_owned();
        cluster
            .run_bin(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
            )
            .expect("initdb");
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nfsync = {}\nwal_level = replica\nmax_wal_senders = 4\n",
            cluster.port,
            cluster.root.display(),
            if fsync { "on" } else { "off" }
        );
        append(&cluster.data_dir.join("postgresql.conf"), &conf);
        cluster.pg_ctl("start").expect("start the private cluster");
        Some(cluster)
    }

    /// A streaming replica of `self`, made with `pg_basebackup -R`, started.
    pub fn start_replica(&self) -> PgCluster {
        let replica = Self::prepare(self.bin.clone()).expect("replica directory");
        let data = replica.data_dir.to_string_lossy().into_owned();
        let port = self.port.to_string();
        replica
            .run_bin(
                "pg_basebackup",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-D",
                    &data,
                    "-R",
                    "-X",
                    "stream",
                ],
            )
            .expect("pg_basebackup");
        let conf = format!(
            "port = {}\nunix_socket_directories = '{}'\nhot_standby = on\n",
            replica.port,
            replica.root.display()
        );
        append(&replica.data_dir.join("postgresql.conf"), &conf);
        replica.pg_ctl("start").expect("start the replica");
        replica
    }

    fn prepare(bin: PathBuf) -> Option<PgCluster> {
        let os_user = test_var("AI_DATA_TEST_PG_OS_USER");
        let base =
            test_var("AI_DATA_TEST_PG_CLUSTERS_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let root = base.join(unique_name("c"));
        std::fs::create_dir_all(&root).expect("cluster directory");
        if let Some(user) = &os_user {
            let status = Command::new("chown")
                .arg(user)
                .arg(&root)
                .status()
                .expect("chown");
            assert!(status.success(), "chown {user} {}", root.display());
        }
        Some(PgCluster {
            port: free_port(),
            data_dir: root.join("data"),
            bin,
            os_user,
            root,
        })
    }

    fn run_bin(&self, name: &str, args: &[&str]) -> Result<String, String> {
        run(self.os_user.as_deref(), &self.bin.join(name), args)
    }

    fn pg_ctl(&self, action: &str) -> Result<String, String> {
        let data = self.data_dir.to_string_lossy().into_owned();
        let log = self.root.join("server.log").to_string_lossy().into_owned();
        self.run_bin(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-m", "fast", action,
            ],
        )
    }

    /// URL of database `postgres` as the superuser.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl restart -m fast`.
    pub fn restart(&self) {
        self.pg_ctl("restart").expect("restart");
    }

    /// `pg_ctl stop -m fast`.
    pub fn stop(&self) {
        self.pg_ctl("stop").expect("stop");
    }

    /// The server log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open postgresql.conf");
    f.write_all(text.as_bytes())
        .expect("append to postgresql.conf");
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.data_dir.join("postmaster.pid").exists() {
            let _ = self.pg_ctl("stop");
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
