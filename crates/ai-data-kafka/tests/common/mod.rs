//! Helpers shared by the integration tests: configs for the test broker,
//! topic provisioning, waiting on conditions, and raw rdkafka reads.
#![allow(dead_code)]

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ai_data_kafka::{Admin, KafkaConfig, TopicSpec};
use ai_data_testkit::KafkaTest;
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

/// How long a test waits for a condition before failing.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

pub(crate) fn config(kafka: &KafkaTest) -> KafkaConfig {
    KafkaConfig::new(&kafka.brokers)
        .with_client_id(format!("{}client", kafka.prefix))
        .with_connect_timeout(Duration::from_secs(15))
}

/// Create `name` (and its dead-letter topic when `dead_letter`) with `partitions`.
pub(crate) async fn provision(kafka: &KafkaTest, name: &str, partitions: i32, dead_letter: bool) {
    let spec = TopicSpec::new(name, partitions, 1);
    let mut specs = vec![spec.clone()];
    if dead_letter {
        specs.push(spec.dead_letter());
    }
    let admin = Admin::new(&config(kafka)).expect("admin");
    admin
        .ensure_topics(&specs)
        .await
        .expect("provision")
        .into_result()
        .expect("no mismatch");
}

/// Poll `condition` every 20 ms until it holds; panic after `DEADLINE`.
pub(crate) async fn wait_until<F: FnMut() -> bool>(what: &str, mut condition: F) {
    let start = tokio::time::Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Await `fut`, failing the test after `DEADLINE`.
pub(crate) async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {DEADLINE:?}: {what}"))
}

/// The committed offsets of `group` for partitions `0..partitions` of `topic`
/// (`-1` when nothing is committed).
pub(crate) async fn committed(
    kafka: &KafkaTest,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<i64> {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offset reader");
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition(&topic, p);
        }
        let found = consumer
            .committed_offsets(list, Duration::from_secs(15))
            .expect("committed offsets");
        (0..partitions)
            .map(
                |p| match found.find_partition(&topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => -1,
                },
            )
            .collect()
    })
    .await
    .expect("offset task")
}

/// The high watermarks of partitions `0..partitions`.
pub(crate) async fn high_watermarks(kafka: &KafkaTest, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = kafka.client_config().create().expect("watermark reader");
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        (0..partitions)
            .map(|p| {
                consumer
                    .fetch_watermarks(&topic, p, Duration::from_secs(15))
                    .expect("watermarks")
                    .1
            })
            .collect()
    })
    .await
    .expect("watermark task")
}

/// Read `n` records of `topic` from the beginning with raw rdkafka.
pub(crate) async fn read_raw(kafka: &KafkaTest, topic: &str, n: usize) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", format!("{}raw-reader-{topic}", kafka.prefix))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("raw reader");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::with_capacity(n);
    within(&format!("{n} records from {topic}"), async {
        while out.len() < n {
            let message = consumer.recv().await.expect("no consumer error");
            out.push(message.detach());
        }
    })
    .await;
    out.sort_by_key(|m| (m.partition(), m.offset()));
    out
}

/// A free port on the loopback (nothing listens there once this returns).
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A private tansu broker on a fresh database, stopped on drop: for what
/// must not disturb the shared broker (topic deletion, which is slow on a
/// large tansu database and races other tests' fetches) or needs its own
/// settings (SASL).
pub(crate) struct PrivateBroker {
    child: Child,
    pub(crate) address: String,
    _dir: tempfile::TempDir,
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tansu_binary() -> Option<PathBuf> {
    if let Some(path) = ai_data_testkit::test_var("AI_DATA_TEST_TANSU_BIN") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")?;
    let path = PathBuf::from(home).join(".cache/ai-data/tansu-0.6.0/bin/tansu");
    path.is_file().then_some(path)
}

async fn start_tansu(bin: &Path, dir: &Path, address: &str, auth: bool) -> Child {
    let url = format!("tcp://{address}");
    let mut command = Command::new(bin);
    command
        .current_dir(dir)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "sqlite://tansu.db"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if auth {
        command.arg("--authentication");
    }
    let child = command.spawn().expect("start tansu");
    within("tansu to listen", async {
        while std::net::TcpStream::connect(address).is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    child
}

/// Start a private tansu (the binary `scripts/stores.sh` built), with SCRAM
/// authentication for `user` when given. `None` (skip) when the binary is
/// missing and stores are not required.
pub(crate) async fn private_broker(user: Option<(&str, &str)>) -> Option<PrivateBroker> {
    let Some(bin) = tansu_binary() else {
        return ai_data_testkit::unavailable(
            "tansu binary (private broker)",
            "not in ~/.cache/ai-data/tansu-0.6.0/bin and AI_DATA_TEST_TANSU_BIN is not set",
        );
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("127.0.0.1:{}", closed_port());
    let mut child = start_tansu(&bin, dir.path(), &address, false).await;
    if let Some((name, password)) = user {
        // Users are created through the broker before authentication is on.
        let created = Command::new(&bin)
            .args(["user", "create", "--broker", &format!("tcp://{address}")])
            .args(["--mechanism", "scram256", name, password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("tansu user create");
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
        assert!(created.success(), "tansu user create failed");
        child = start_tansu(&bin, dir.path(), &address, true).await;
    }
    Some(PrivateBroker {
        child,
        address,
        _dir: dir,
    })
}
