//! The binary against the live PostgreSQL + pgvector (a fresh database per
//! test from `ai-data-testkit`): an HNSW run's recall, keep/reuse/drop of its
//! own collection, and refusal of collections it did not create.

use std::path::Path;
use std::process::Output;

use ai_data_pg::{PgConfig, PgDatabase, PgVectorStore};
use ai_data_vector::{CollectionSpec, ErrorKind, FieldKind, Metric, Record, RecordId, VectorStore};
use serde_json::{json, Value};

const SCHEMA: &str = "ai_data_bench";

async fn bench(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ai-data-bench"))
            .args(&args)
            .env_remove("PGHOST")
            .env_remove("PGHOSTADDR")
            .output()
            .expect("run ai-data-bench")
    })
    .await
    .expect("join")
}

/// A tiny configuration: 2,000 x 16, k 10, one second per level.
fn args(url: &str, out: &Path, levels: &str, extra: &[&str]) -> Vec<String> {
    let out = out.to_str().expect("utf-8 path");
    let mut all = vec![
        "--url",
        url,
        "--dim",
        "16",
        "--size",
        "2000",
        "--k",
        "10",
        "--out",
        out,
        "--concurrency",
        levels,
    ];
    if !extra.contains(&"--duration") {
        all.extend(["--duration", "1s"]);
    }
    all.extend_from_slice(extra);
    all.into_iter().map(String::from).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn results(out: &Path) -> Value {
    let raw = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    serde_json::from_str(&raw).expect("JSON")
}

async fn store(url: &str) -> PgVectorStore {
    let db = PgDatabase::connect(&PgConfig::from_url(url).expect("url"))
        .await
        .expect("connect");
    PgVectorStore::connect(db, SCHEMA).await.expect("store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hnsw_run_reaches_recall_then_its_kept_collection_is_reused_and_dropped() {
    let Some(t) = ai_data_testkit::pg().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(&t.url).await;

    // First run: creates, loads, measures, keeps.
    let first = dir.path().join("first");
    let run = bench(args(&t.url, &first, "1,2", &["--index", "hnsw", "--keep"])).await;
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{}\n{stderr}", text(&run.stdout));
    let json = results(&first);
    assert_eq!(json["target"]["backend"], "pgvector");
    let url = json["target"]["url"].as_str().expect("url");
    assert!(
        url.contains("127.0.0.1") || url.contains("localhost"),
        "{url}"
    );
    assert_eq!(json["workload"]["index"]["kind"], "hnsw");
    assert_eq!(json["collection"]["created"], true);
    assert_eq!(json["collection"]["dropped"], false);
    assert_eq!(json["load"]["records"], 2000);
    let recall = json["recall"]["recall_at_k"].as_f64().expect("recall");
    assert!(recall >= 0.9, "recall@10 {recall}");
    for level in json["levels"].as_array().expect("levels") {
        assert!(
            level["queries"].as_u64() > Some(0) && level["errors"] == 0,
            "{level}"
        );
        assert!(level["recall_at_k"].as_f64() >= Some(0.9), "{level}");
        assert!(
            level["p99_ms"].as_f64() >= level["p50_ms"].as_f64(),
            "{level}"
        );
    }
    let name = json["collection"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(name.starts_with("bench_16_2000_"), "{name}");
    assert_eq!(store.count(&name, None).await.expect("kept"), 2000);

    // Second run, same parameters, no --keep: reuses the data, then drops it.
    let second = dir.path().join("second");
    let run = bench(args(&t.url, &second, "1", &["--index", "hnsw"])).await;
    assert!(run.status.success(), "{}", text(&run.stderr));
    let json = results(&second);
    assert_eq!(json["collection"]["name"], name.as_str());
    assert_eq!(json["collection"]["created"], false);
    assert_eq!(json["load"]["reused"], true);
    assert_eq!(json["collection"]["dropped"], true);
    assert_eq!(json["levels"].as_array().map(Vec::len), Some(1));
    assert!(json["recall"]["recall_at_k"].as_f64() >= Some(0.9));
    let gone = store.count(&name, None).await.map_err(|e| e.kind());
    assert_eq!(gone, Err(ErrorKind::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_without_the_marker_are_refused_and_left_intact() {
    let Some(t) = ai_data_testkit::pg().await else {
        return;
    };
    let store = store(&t.url).await;
    // The same shape the tool would create. Without a model,
    // `ensure_collection` alone would happily reuse it.
    let no_model =
        CollectionSpec::new("shared_docs", 16, Metric::Cosine).with_field("bucket", FieldKind::Int);
    let other_model = CollectionSpec::new("docs_v2", 16, Metric::Cosine)
        .with_field("bucket", FieldKind::Int)
        .with_embedding_model("text-embedding-3-small");
    let records: Vec<Record> = (0..3)
        .map(|i| {
            let payload = json!({ "bucket": i, "title": format!("doc {i}") });
            Record::new(
                RecordId::from_key(&format!("doc-{i}")),
                (0..16).map(|d| (i * 16 + d) as f32 + 1.0).collect(),
                payload.as_object().cloned().unwrap_or_default(),
            )
        })
        .collect();
    for spec in [&no_model, &other_model] {
        store.ensure_collection(spec).await.expect("create");
        store.upsert(&spec.name, &records).await.expect("seed");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    for spec in [&no_model, &other_model] {
        let out = dir.path().join(&spec.name);
        let run = bench(args(&t.url, &out, "1", &["--collection", &spec.name])).await;
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "{}: {stderr}", spec.name);
        assert!(
            stderr.contains(&format!("`{}` already exists", spec.name))
                && stderr.contains("untouched"),
            "{stderr}"
        );
        assert!(!out.join("results.json").exists());

        // Left as it was: the same records, and the same spec.
        let ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
        assert_eq!(store.count(&spec.name, None).await.expect("count"), 3);
        assert_eq!(store.get(&spec.name, &ids).await.expect("get"), records);
        assert!(!store.ensure_collection(spec).await.expect("same spec"));
    }
    // Its refusal did not make it drop or create anything else either.
    assert_eq!(store.count("shared_docs", None).await.expect("count"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_run_and_still_drops_its_collection() {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};

    /// Kills the child if the test fails before it has exited.
    struct Running(Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let Some(t) = ai_data_testkit::pg().await else {
        return;
    };
    let store = store(&t.url).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let argv = args(&t.url, dir.path(), "1", &["--duration", "10m"]);
    let (name, status) = tokio::task::spawn_blocking(move || {
        let mut child = Running(
            Command::new(env!("CARGO_BIN_EXE_ai-data-bench"))
                .args(&argv)
                .env_remove("PGHOST")
                .env_remove("PGHOSTADDR")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start ai-data-bench"),
        );
        let stderr = BufReader::new(child.0.stderr.take().expect("stderr"));
        let mut lines = stderr.lines().map_while(Result::ok);
        // Wait for the measured phase (the line is printed as it starts).
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let started = line.contains("running for 10m");
            seen.push(line);
            if started {
                break;
            }
        }
        assert!(
            seen.last().is_some_and(|l| l.contains("running for 10m")),
            "never reached the measured phase: {seen:?}"
        );
        let name = seen
            .iter()
            .find_map(|l| l.strip_prefix(&format!("collection {SCHEMA}.")))
            .and_then(|rest| rest.split(':').next())
            .expect("collection line")
            .to_owned();
        let pid = child.0.id().to_string();
        let signalled = Command::new("kill").args(["-INT", &pid]).status();
        assert!(signalled.is_ok_and(|s| s.success()), "kill -INT {pid}");
        let rest: Vec<String> = lines.collect();
        let status = child.0.wait().expect("wait");
        assert!(
            rest.iter().any(|l| l.starts_with("dropped collection")),
            "{status:?}: {rest:?}"
        );
        (name, status)
    })
    .await
    .expect("join");
    assert_eq!(status.code(), Some(130), "interrupted");
    let gone = store.count(&name, None).await.map_err(|e| e.kind());
    assert_eq!(gone, Err(ErrorKind::NotFound), "{name} left behind");
    assert!(!dir.path().join("results.json").exists());
}
