//! The binary end to end without a server: a run against `memory` and its
//! three output files, and the refusals that happen before any connection.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ai-data-bench"));
    command.args(args);
    // Only what a test sets: libpq-style variables change where sqlx connects.
    for var in ["PGHOST", "PGHOSTADDR", "PGPORT"] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("run ai-data-bench")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_json(dir: &Path) -> Value {
    let raw = std::fs::read_to_string(dir.join("results.json")).expect("results.json");
    serde_json::from_str(&raw).expect("results.json is JSON")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn memory_run_writes_json_csv_and_svg_with_plausible_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("results");
    let out_arg = out.to_str().expect("utf-8 path");
    let run = bench(
        &[
            "--url",
            "memory",
            "--dim",
            "16",
            "--size",
            "2000",
            "--concurrency",
            "2,1",
            "--duration",
            "1s",
            "--out",
            out_arg,
        ],
        &[],
    );
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("recall@10 = 1.0000"), "{stdout}");

    let json = read_json(&out);
    assert_eq!(json["tool"], "ai-data-bench");
    assert_eq!(json["target"]["backend"], "memory");
    assert_eq!(json["workload"]["filter"], Value::Null);
    assert_eq!(json["load"]["records"], 2000);
    assert_eq!(json["collection"]["created"], true);
    assert_eq!(json["collection"]["dropped"], true);
    let marker = json["collection"]["marker"].as_str().expect("marker");
    assert!(
        marker.starts_with("ai-data-bench/v1 dim=16 size=2000 "),
        "{marker}"
    );
    // Exact store against exact ground truth.
    assert_eq!(num(&json["recall"]["recall_at_k"]), 1.0);
    assert_eq!(json["recall"]["queries"], 200);

    let levels = json["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 2);
    for (level, concurrency) in levels.iter().zip([1, 2]) {
        assert_eq!(level["concurrency"], concurrency, "sorted levels");
        let queries = num(&level["queries"]);
        let seconds = num(&level["seconds"]);
        assert!(queries > 0.0 && level["errors"] == 0, "{level}");
        assert!((1.0..5.0).contains(&seconds), "{level}");
        assert!((num(&level["qps"]) - queries / seconds).abs() < 1e-6 * queries);
        let p = ["p50_ms", "p95_ms", "p99_ms", "max_ms"].map(|k| num(&level[k]));
        assert!(p[0] > 0.0 && p.windows(2).all(|w| w[0] <= w[1]), "{level}");
        assert_eq!(num(&level["recall_at_k"]), 1.0);
        if Path::new("/proc/self/stat").exists() {
            assert!(num(&level["client_cpu_ms_per_query"]) > 0.0, "{level}");
        }
    }

    let csv = std::fs::read_to_string(out.join("results.csv")).expect("results.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    for (row, level) in rows.iter().zip(levels) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[col("backend")], "memory");
        assert_eq!(row[col("concurrency")], level["concurrency"].to_string());
        assert_eq!(row[col("queries")], level["queries"].to_string());
        let qps: f64 = row[col("qps")].parse().expect("qps");
        assert!((qps - num(&level["qps"])).abs() <= 0.05 + 1e-9);
        assert_eq!(row[col("recall_at_k")], "1.0000");
    }

    let svg = std::fs::read_to_string(out.join("latency.svg")).expect("latency.svg");
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 3, "p50, p95, p99");
    assert_eq!(
        svg.matches("<circle").count(),
        6,
        "two levels x three percentiles"
    );
    assert!(svg.contains("latency (ms)") && svg.contains("qps</text>"));
}

#[test]
fn filtered_memory_run_uses_the_bucket_filter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_arg = dir.path().to_str().expect("utf-8 path");
    let run = bench(
        &[
            "--url",
            "memory",
            "--dim",
            "8",
            "--size",
            "3000",
            "--k",
            "5",
            "--selectivity",
            "0.05",
            "--concurrency",
            "1",
            "--duration",
            "300ms",
            "--queries",
            "50",
            "--out",
            out_arg,
        ],
        &[],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let json = read_json(dir.path());
    assert_eq!(json["workload"]["filter"], "bucket < 50");
    assert_eq!(num(&json["recall"]["recall_at_k"]), 1.0);
    assert_eq!(json["recall"]["queries"], 50);
    assert!(num(&json["levels"][0]["queries"]) > 0.0);
}

#[test]
fn non_loopback_stores_are_refused_with_exit_code_2_before_anything_happens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("never-created");
    let out_arg = out.to_str().expect("utf-8 path");
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("postgres://bench:hunter2@db.example.com/x", &[]),
        ("postgres://bench:hunter2@10.20.30.40:5432/x", &[]),
        // A query parameter overrides the URL's host.
        (
            "postgres://bench:hunter2@localhost/x?hostaddr=10.0.0.7",
            &[],
        ),
        // Without a host, sqlx would use PGHOST.
        ("postgres:///x", &[("PGHOST", "db.example.com")]),
    ];
    for (url, env) in cases {
        let run = bench(&["--url", url, "--out", out_arg], env);
        let stderr = text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{url}: {stderr}");
        assert!(
            stderr.contains("not loopback") && stderr.contains("--allow-remote"),
            "{stderr}"
        );
        assert!(!stderr.contains("hunter2"), "password shown: {stderr}");
        // Refused before the output directory (and before any connection).
        assert!(!out.exists(), "{url}: output directory created");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--url", "mysql://localhost/x"][..],
        &["--url", "http://localhost:8080"],
        &["--url", "memory", "--concurrency", "0"],
        &["--url", "memory", "--selectivity", "2"],
        &["--url", "memory", "--collection", "no spaces allowed"],
        &[],
    ] {
        let run = bench(args, &[]);
        assert_eq!(
            run.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&run.stderr)
        );
    }
}
