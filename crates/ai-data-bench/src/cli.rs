//! The command line: what to benchmark, on which store, and where the
//! results go.

use std::path::PathBuf;
use std::time::Duration;

use ai_data_vector::{validate, IndexSpec, Metric};
use clap::{Parser, ValueEnum};

/// Capacity planning for the vector stores: load synthetic clustered data,
/// run a k-NN query mix at several concurrency levels, and report QPS,
/// latency p50/p95/p99/max, recall@k against exact ground truth and client
/// CPU per query (`results.json`, `results.csv`, `latency.svg`).
///
/// Safety: a store URL whose host is not loopback (localhost, 127.0.0.0/8,
/// ::1, a Unix socket) is refused unless `--allow-remote` is given (exit 2);
/// the tool only loads into and drops a collection it created, which carries
/// its marker (an existing collection without it is refused, exit 3).
#[derive(Debug, Clone, Parser)]
#[command(name = "ai-data-bench", version)]
pub(crate) struct Args {
    /// The store: `postgres://user:password@host:port/db` (PostgreSQL +
    /// pgvector) or `memory` (the in-process exact MemoryStore).
    #[arg(long)]
    pub(crate) url: String,

    /// Vector dimension.
    #[arg(long, default_value_t = 128)]
    pub(crate) dim: usize,

    /// Records in the collection.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) size: usize,

    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    pub(crate) k: usize,

    /// Fraction of records the query filter matches, in steps of 0.001
    /// (the filter is `bucket < selectivity * 1000`); 0 runs unfiltered.
    #[arg(long, default_value_t = 0.0, value_parser = parse_selectivity)]
    pub(crate) selectivity: f64,

    /// Concurrency levels (concurrent query tasks), comma-separated; the
    /// query mix runs once per level.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    pub(crate) concurrency: Vec<usize>,

    /// How long the mix runs at each level (e.g. `30s`, `2m`).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) duration: Duration,

    /// HNSW candidate list size per query (pgvector `hnsw.ef_search`).
    #[arg(long)]
    pub(crate) ef_search: Option<u32>,

    /// IVFFlat lists probed per query (default: lists / 10).
    #[arg(long)]
    pub(crate) probes: Option<u32>,

    /// Vector index of the collection.
    #[arg(long, value_enum, default_value_t = IndexArg::Hnsw)]
    pub(crate) index: IndexArg,

    /// HNSW links per node.
    #[arg(long, default_value_t = 16)]
    pub(crate) hnsw_m: u32,

    /// HNSW candidate list size while building.
    #[arg(long, default_value_t = 64)]
    pub(crate) hnsw_ef_construction: u32,

    /// IVFFlat lists (default: size / 1000, at least 1).
    #[arg(long)]
    pub(crate) ivfflat_lists: Option<u32>,

    /// Distance metric.
    #[arg(long, value_enum, default_value_t = MetricArg::Cosine)]
    pub(crate) metric: MetricArg,

    /// Schema (PostgreSQL) holding the benchmark collection.
    #[arg(long, default_value = "ai_data_bench")]
    pub(crate) schema: String,

    /// Collection name (default: `bench_<dim>_<size>_<hash of the data and index parameters>`).
    #[arg(long)]
    pub(crate) collection: Option<String>,

    /// Directory for results.json, results.csv and latency.svg (created if missing).
    #[arg(long, default_value = "ai-data-bench-results")]
    pub(crate) out: PathBuf,

    /// Allow a store whose host is not loopback.
    #[arg(long)]
    pub(crate) allow_remote: bool,

    /// Keep the collection afterwards (a later run with the same parameters reuses it).
    #[arg(long)]
    pub(crate) keep: bool,

    /// Query vectors with exact ground truth; the mix cycles through them.
    #[arg(long, default_value_t = 200)]
    pub(crate) queries: usize,

    /// Seed of the synthetic data and queries.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,

    /// Clusters the synthetic vectors are drawn around.
    #[arg(long, default_value_t = 50)]
    pub(crate) clusters: usize,

    /// Records per upsert call while loading.
    #[arg(long, default_value_t = 5_000)]
    pub(crate) batch_size: usize,
}

/// `--index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IndexArg {
    /// Approximate HNSW graph.
    Hnsw,
    /// Approximate inverted lists.
    Ivfflat,
    /// No index: exact scans.
    Exact,
}

/// `--metric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MetricArg {
    /// `1 - cos(a, b)`.
    Cosine,
    /// `-(a·b)`.
    Dot,
    /// `‖a - b‖`.
    L2,
}

impl From<MetricArg> for Metric {
    fn from(m: MetricArg) -> Self {
        match m {
            MetricArg::Cosine => Metric::Cosine,
            MetricArg::Dot => Metric::Dot,
            MetricArg::L2 => Metric::L2,
        }
    }
}

/// Filter buckets: a record's `bucket` is in `0..BUCKETS`.
pub(crate) const BUCKETS: i64 = 1_000;

fn parse_selectivity(s: &str) -> Result<f64, String> {
    let value: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number between 0 and 1"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{value} is outside 0..=1"));
    }
    if value > 0.0 && bucket_threshold(value) == 0 {
        return Err(format!(
            "{value} is below the smallest selectivity, {}",
            1.0 / BUCKETS as f64
        ));
    }
    Ok(value)
}

/// The filter `bucket < threshold` for a selectivity (0 for none).
pub(crate) fn bucket_threshold(selectivity: f64) -> i64 {
    (selectivity * BUCKETS as f64).round() as i64
}

impl Args {
    /// Checks clap cannot express; a message for a usage error (exit 2).
    pub(crate) fn validate(&mut self) -> Result<(), String> {
        let positive = [
            ("--dim", self.dim),
            ("--size", self.size),
            ("--k", self.k),
            ("--queries", self.queries),
            ("--clusters", self.clusters),
            ("--batch-size", self.batch_size),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if self.concurrency.is_empty() || self.concurrency.contains(&0) {
            return Err("--concurrency needs levels of at least 1, e.g. 1,2,4,8".into());
        }
        if let Some(&too_many) = self.concurrency.iter().find(|&&c| c > 1_024) {
            return Err(format!("--concurrency {too_many} is above the limit, 1024"));
        }
        self.concurrency.sort_unstable();
        self.concurrency.dedup();
        if self.duration.is_zero() {
            return Err("--duration must be positive".into());
        }
        validate::identifier("--schema", &self.schema).map_err(|e| e.message().to_owned())?;
        if let Some(name) = &self.collection {
            validate::collection_name(name).map_err(|e| e.message().to_owned())?;
        }
        let index = self.index_spec();
        let zero_param = match index {
            IndexSpec::Hnsw { m, ef_construction } => m == 0 || ef_construction == 0,
            IndexSpec::IvfFlat { lists } => lists == 0,
            IndexSpec::Exact => false,
        };
        if zero_param {
            return Err("index parameters must be at least 1".into());
        }
        Ok(())
    }

    /// The index the collection is created with.
    pub(crate) fn index_spec(&self) -> IndexSpec {
        match self.index {
            IndexArg::Hnsw => IndexSpec::Hnsw {
                m: self.hnsw_m,
                ef_construction: self.hnsw_ef_construction,
            },
            IndexArg::Ivfflat => IndexSpec::IvfFlat {
                lists: self
                    .ivfflat_lists
                    .unwrap_or_else(|| u32::try_from(self.size / 1_000).unwrap_or(u32::MAX).max(1)),
            },
            IndexArg::Exact => IndexSpec::Exact,
        }
    }

    /// The `bucket < n` filter bound, `None` when unfiltered.
    pub(crate) fn filter_threshold(&self) -> Option<i64> {
        let t = bucket_threshold(self.selectivity);
        (t > 0).then_some(t)
    }

    /// The largest concurrency level.
    pub(crate) fn max_concurrency(&self) -> usize {
        self.concurrency.iter().copied().max().unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Args, String> {
        let mut argv = vec!["ai-data-bench", "--url", "memory"];
        argv.extend_from_slice(extra);
        let mut args = Args::try_parse_from(argv).map_err(|e| e.to_string())?;
        args.validate()?;
        Ok(args)
    }

    #[test]
    fn defaults_and_lists() {
        let args = parse(&["--concurrency", "8,1,4,4,2", "--duration", "1m 30s"]).expect("parses");
        assert_eq!(args.concurrency, vec![1, 2, 4, 8]);
        assert_eq!(args.duration, Duration::from_secs(90));
        assert_eq!(args.max_concurrency(), 8);
        assert_eq!(args.schema, "ai_data_bench");
        assert_eq!(args.filter_threshold(), None);
        assert_eq!(
            args.index_spec(),
            IndexSpec::Hnsw {
                m: 16,
                ef_construction: 64
            }
        );
    }

    #[test]
    fn selectivity_maps_to_a_bucket_bound() {
        let args = parse(&["--selectivity", "0.25"]).expect("parses");
        assert_eq!(args.filter_threshold(), Some(250));
        let args = parse(&["--selectivity", "1"]).expect("parses");
        assert_eq!(args.filter_threshold(), Some(1_000));
        for bad in ["1.5", "-0.1", "0.0001", "abc"] {
            assert!(parse(&["--selectivity", bad]).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ivfflat_lists_default_from_size() {
        let args = parse(&["--index", "ivfflat", "--size", "25000"]).expect("parses");
        assert_eq!(args.index_spec(), IndexSpec::IvfFlat { lists: 25 });
        let args = parse(&["--index", "ivfflat", "--size", "10"]).expect("parses");
        assert_eq!(args.index_spec(), IndexSpec::IvfFlat { lists: 1 });
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            &["--concurrency", "0,2"][..],
            &["--dim", "0"],
            &["--k", "0"],
            &["--duration", "0s"],
            &["--collection", "bad name; drop"],
            &["--schema", "x\"y"],
            &["--index", "hnsw", "--hnsw-m", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
