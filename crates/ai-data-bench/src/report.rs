//! The results: `results.json` (everything), `results.csv` (one row per
//! concurrency level), `latency.svg`, and a summary on stdout.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::BenchError;
use crate::load::LoadStats;
use crate::mix::{LevelStats, RecallStats};

/// One run's results.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) tool: &'static str,
    pub(crate) version: &'static str,
    pub(crate) run_id: String,
    /// RFC 3339, UTC.
    pub(crate) started_at: String,
    pub(crate) target: TargetInfo,
    pub(crate) workload: WorkloadInfo,
    pub(crate) collection: CollectionInfo,
    pub(crate) load: LoadStats,
    pub(crate) recall: RecallStats,
    pub(crate) levels: Vec<LevelStats>,
}

/// Where the benchmark ran.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetInfo {
    /// `memory` or `pgvector`.
    pub(crate) backend: &'static str,
    /// The URL, password replaced by `***`.
    pub(crate) url: String,
    /// PostgreSQL schema (`None` for memory).
    pub(crate) schema: Option<String>,
    /// PostgreSQL pool size used.
    pub(crate) pool_max_size: Option<u32>,
    /// Runtime worker threads of this client.
    pub(crate) client_threads: usize,
}

/// What was loaded and asked.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WorkloadInfo {
    pub(crate) dim: usize,
    pub(crate) size: usize,
    pub(crate) k: usize,
    pub(crate) metric: String,
    /// The index, e.g. `{"kind": "hnsw", "m": 16, "ef_construction": 64}`.
    pub(crate) index: serde_json::Value,
    /// Requested fraction of matching records (0: no filter).
    pub(crate) selectivity: f64,
    /// The filter actually used, e.g. `bucket < 100`.
    pub(crate) filter: Option<String>,
    pub(crate) ef_search: Option<u32>,
    pub(crate) probes: Option<u32>,
    /// Query vectors with exact ground truth, cycled by the mix.
    pub(crate) queries: usize,
    pub(crate) seed: u64,
    pub(crate) clusters: usize,
    /// Measured seconds per concurrency level.
    pub(crate) duration_seconds: f64,
    pub(crate) concurrency: Vec<usize>,
}

/// The benchmark collection and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CollectionInfo {
    pub(crate) name: String,
    /// The marker in its `embedding_model`.
    pub(crate) marker: String,
    /// Created by this run (else reused from an earlier `--keep` run).
    pub(crate) created: bool,
    /// Dropped at the end of this run.
    pub(crate) dropped: bool,
}

/// The output files.
#[derive(Debug, Clone)]
pub(crate) struct Outputs {
    pub(crate) json: PathBuf,
    pub(crate) csv: PathBuf,
    pub(crate) svg: PathBuf,
}

impl Outputs {
    /// The three files in `dir`.
    pub(crate) fn in_dir(dir: &Path) -> Self {
        Outputs {
            json: dir.join("results.json"),
            csv: dir.join("results.csv"),
            svg: dir.join("latency.svg"),
        }
    }
}

/// The CSV columns, in order.
pub(crate) const CSV_HEADER: &str = "backend,index,dim,size,k,selectivity,ef_search,concurrency,\
    queries,errors,seconds,qps,mean_ms,p50_ms,p95_ms,p99_ms,max_ms,recall_at_k,client_cpu_ms_per_query";

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl Report {
    /// The index's short name: `hnsw`, `ivf_flat`, `exact`.
    fn index_kind(&self) -> String {
        self.workload.index["kind"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned()
    }

    /// `results.csv`: a header and one row per level.
    pub(crate) fn csv(&self) -> String {
        let w = &self.workload;
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        for l in &self.levels {
            let fields = [
                csv_field(self.target.backend),
                csv_field(&self.index_kind()),
                w.dim.to_string(),
                w.size.to_string(),
                w.k.to_string(),
                w.selectivity.to_string(),
                opt(w.ef_search),
                l.concurrency.to_string(),
                l.queries.to_string(),
                l.errors.to_string(),
                format!("{:.3}", l.seconds),
                format!("{:.1}", l.qps),
                format!("{:.3}", l.mean_ms),
                format!("{:.3}", l.p50_ms),
                format!("{:.3}", l.p95_ms),
                format!("{:.3}", l.p99_ms),
                format!("{:.3}", l.max_ms),
                format!("{:.4}", l.recall_at_k),
                opt(l.client_cpu_ms_per_query.map(|c| format!("{c:.4}"))),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// The plot's title and subtitle.
    fn plot_titles(&self) -> (String, String) {
        let w = &self.workload;
        let title = format!(
            "{} {}: latency vs concurrency",
            self.target.backend,
            self.index_kind()
        );
        let mut subtitle = format!(
            "dim {} · {} records · k {} · {} · recall@{} {:.3}",
            w.dim, w.size, w.k, w.metric, w.k, self.recall.recall_at_k
        );
        if let Some(f) = &w.filter {
            let _ = write!(subtitle, " · filter {f}");
        }
        if let Some(ef) = w.ef_search {
            let _ = write!(subtitle, " · ef_search {ef}");
        }
        (title, subtitle)
    }

    /// Write the three files.
    pub(crate) fn write(&self, out: &Outputs) -> Result<(), BenchError> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| BenchError::failed("encode results.json", e))?;
        let (title, subtitle) = self.plot_titles();
        for (path, text) in [
            (&out.json, json + "\n"),
            (&out.csv, self.csv()),
            (
                &out.svg,
                crate::svg::latency_svg(&title, &subtitle, &self.levels),
            ),
        ] {
            std::fs::write(path, text)
                .map_err(|e| BenchError::failed(&format!("write {}", path.display()), e))?;
        }
        Ok(())
    }

    /// The human summary.
    pub(crate) fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "recall@{} = {:.4} over {} queries (worst query {:.2}), exact ground truth from MemoryStore",
            self.workload.k, self.recall.recall_at_k, self.recall.queries, self.recall.min_query_recall
        );
        let _ = writeln!(
            s,
            "{:>11} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>11} {:>7}",
            "concurrency",
            "qps",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "recall",
            "cpu ms/q",
            "errors"
        );
        for l in &self.levels {
            let _ = writeln!(
                s,
                "{:>11} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>8.4} {:>11} {:>7}",
                l.concurrency,
                l.qps,
                l.p50_ms,
                l.p95_ms,
                l.p99_ms,
                l.max_ms,
                l.recall_at_k,
                opt(l.client_cpu_ms_per_query.map(|c| format!("{c:.3}"))),
                l.errors
            );
            if let Some(e) = &l.first_error {
                let _ = writeln!(s, "{:>11} first error: {e}", "");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("hnsw"), "hnsw");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(CSV_HEADER.split(',').count(), 19);
    }
}
