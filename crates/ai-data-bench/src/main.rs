//! `ai-data-bench`: capacity planning for the vector stores.
//!
//! Loads synthetic clustered data into a collection it creates, runs a k-NN
//! query mix at each requested concurrency level, and reports QPS, latency
//! p50/p95/p99/max, recall@k against exact ground truth and client CPU per
//! query, as `results.json`, `results.csv` and `latency.svg`. See the
//! crate's README for the options and the safety rules.

mod cli;
mod cpu;
mod data;
mod error;
mod load;
mod marker;
mod mix;
mod report;
mod svg;
mod target;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use ai_data_pg::{PgConfig, PgDatabase, PgVectorStore};
use ai_data_vector::{AccuracyHint, CollectionSpec, IndexSpec, MemoryStore, VectorStore};
use clap::{CommandFactory, Parser};

use crate::cli::Args;
use crate::data::{collection_spec, QueryParams, BUCKET_FIELD};
use crate::error::BenchError;
use crate::load::LoadStats;
use crate::marker::{Claim, DataParams};
use crate::mix::{LevelStats, RecallStats};
use crate::report::{CollectionInfo, Outputs, Report, TargetInfo, WorkloadInfo};
use crate::target::{check_loopback, postgres_endpoint, Target};

fn main() -> ExitCode {
    let mut args = Args::parse();
    if let Err(message) = args.validate() {
        Args::command()
            .error(clap::error::ErrorKind::ValueValidation, message)
            .exit();
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ai-data-bench: error: {e}");
            e.exit_code()
        }
    }
}

/// Everything before the runtime: the target, the loopback rule, the output
/// directory. Nothing is connected to before the loopback check.
fn run(args: Args) -> Result<(), BenchError> {
    let target = Target::parse(&args.url)?;
    let pg = match &target {
        Target::Memory => None,
        Target::Postgres { url } => {
            let mut config = PgConfig::from_url(url)
                .map_err(|e| BenchError::Usage(format!("--url: {}", e.message())))?;
            let endpoint = postgres_endpoint(&config)?;
            check_loopback(&endpoint, args.allow_remote)?;
            if !endpoint.is_loopback() {
                eprintln!("warning: benchmarking the remote {endpoint} (--allow-remote)");
            }
            // One connection per query task, at least the 4 a bulk upsert
            // uses, plus one; all opened up front so no level pays for them.
            let size = u32::try_from(args.max_concurrency())
                .unwrap_or(u32::MAX)
                .max(4)
                .saturating_add(1);
            config.connection.pool.max_size = size;
            config.connection.pool.min_idle = size;
            Some(config)
        }
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| BenchError::failed(&format!("create --out {}", args.out.display()), e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::failed("start the runtime", e))?;
    let threads = runtime.metrics().num_workers();
    runtime.block_on(bench(&args, &target, pg, threads))
}

/// What the measured part produced.
struct Measured {
    created: bool,
    load: LoadStats,
    recall: RecallStats,
    levels: Vec<LevelStats>,
}

async fn bench(
    args: &Args,
    target: &Target,
    pg: Option<PgConfig>,
    threads: usize,
) -> Result<(), BenchError> {
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let params = DataParams {
        dim: args.dim,
        size: args.size,
        seed: args.seed,
        clusters: args.clusters,
        metric: args.metric.into(),
        index: args.index_spec(),
    };
    let name = args
        .collection
        .clone()
        .unwrap_or_else(|| marker::default_collection_name(&params));
    let spec = collection_spec(&name, &params);

    let (store, db): (Arc<dyn VectorStore>, Option<PgDatabase>) = match &pg {
        None => (Arc::new(MemoryStore::new()), None),
        Some(config) => {
            let db = PgDatabase::connect(config)
                .await
                .map_err(|e| BenchError::failed("connect to PostgreSQL", e))?;
            let store = PgVectorStore::connect(db.clone(), &args.schema)
                .await
                .map_err(|e| BenchError::failed("open the vector store", e))?;
            (Arc::new(store), Some(db))
        }
    };
    let place = match &db {
        Some(_) => format!("{}.{name}", args.schema),
        None => name.clone(),
    };

    let claim = marker::claim(&*store, &spec).await?;
    eprintln!(
        "collection {place}: {}",
        match claim {
            Claim::Created => "created",
            Claim::Reused => "exists with this run's marker (kept by an earlier run)",
        }
    );
    let measured = tokio::select! {
        result = measure(args, store.clone(), db.as_ref(), &spec, &params, claim) => result,
        // A handler that cannot be installed (`Err`) disables this branch.
        Ok(()) = tokio::signal::ctrl_c() => Err(BenchError::Interrupted),
    };

    let dropped = if args.keep {
        eprintln!(
            "kept collection {place} (--keep); the same parameters reuse it, a run without --keep drops it"
        );
        false
    } else {
        match marker::drop_if_ours(&*store, &spec).await {
            Ok(dropped) => {
                if dropped {
                    eprintln!("dropped collection {place}");
                } else {
                    eprintln!("warning: left {place} alone: it no longer carries the marker");
                }
                dropped
            }
            Err(e) => {
                eprintln!("warning: could not drop {place}: {e}");
                false
            }
        }
    };
    let measured = measured?;

    let report = Report {
        tool: "ai-data-bench",
        version: env!("CARGO_PKG_VERSION"),
        run_id,
        started_at,
        target: TargetInfo {
            backend: target.backend(),
            url: target.redacted(),
            schema: db.as_ref().map(|_| args.schema.clone()),
            pool_max_size: pg.as_ref().map(|c| c.connection.pool.max_size),
            client_threads: threads,
        },
        workload: WorkloadInfo {
            dim: args.dim,
            size: args.size,
            k: args.k,
            metric: params.metric.to_string(),
            index: serde_json::to_value(params.index)
                .map_err(|e| BenchError::failed("encode the index", e))?,
            selectivity: args.selectivity,
            filter: args
                .filter_threshold()
                .map(|t| format!("{BUCKET_FIELD} < {t}")),
            ef_search: args.ef_search,
            probes: args.probes,
            queries: args.queries,
            seed: args.seed,
            clusters: args.clusters,
            duration_seconds: args.duration.as_secs_f64(),
            concurrency: args.concurrency.clone(),
        },
        collection: CollectionInfo {
            name: name.clone(),
            marker: spec.embedding_model.clone().unwrap_or_default(),
            created: measured.created,
            dropped,
        },
        load: measured.load,
        recall: measured.recall,
        levels: measured.levels,
    };
    let outputs = Outputs::in_dir(&args.out);
    report.write(&outputs)?;
    print!("{}", report.summary());
    println!(
        "results: {}, {}, {}",
        outputs.json.display(),
        outputs.csv.display(),
        outputs.svg.display()
    );
    if report.levels.iter().any(|l| l.errors > 0) {
        eprintln!("warning: some queries failed; see `errors` and `first_error` in the results");
    }
    Ok(())
}

/// Load (unless reused), compute the ground truth, run the recall pass and
/// every concurrency level.
async fn measure(
    args: &Args,
    store: Arc<dyn VectorStore>,
    db: Option<&PgDatabase>,
    spec: &CollectionSpec,
    params: &DataParams,
    mut claim: Claim,
) -> Result<Measured, BenchError> {
    eprintln!(
        "generating {} synthetic records of dimension {} ({} clusters, seed {})",
        params.size, params.dim, params.clusters, params.seed
    );
    let p = *params;
    let records = tokio::task::spawn_blocking(move || data::records(&p))
        .await
        .map_err(|e| BenchError::failed("generate records", e))?;
    let records = Arc::new(records);

    if claim == Claim::Reused {
        let count = store.count(&spec.name, None).await?;
        if count != params.size as u64 {
            eprintln!(
                "it holds {count} records, not {}: recreating it",
                params.size
            );
            marker::drop_if_ours(&*store, spec).await?;
            claim = marker::claim(&*store, spec).await?;
            if claim != Claim::Created {
                return Err(BenchError::Failed(format!(
                    "collection `{}` came back while it was being recreated",
                    spec.name
                )));
            }
        }
    }
    let load = match claim {
        Claim::Created => {
            let mut stats = load::load(&*store, &spec.name, &records, args.batch_size).await?;
            eprintln!(
                "loaded {} records in {:.1} s ({:.0} records/s)",
                stats.records, stats.seconds, stats.records_per_second
            );
            stats.post_load_seconds = post_load(db, &args.schema, spec).await?;
            stats
        }
        Claim::Reused => {
            eprintln!("reusing its {} records", params.size);
            LoadStats::reused()
        }
    };

    eprintln!(
        "computing exact ground truth for {} queries (k {})",
        args.queries, args.k
    );
    let q = QueryParams {
        count: args.queries,
        k: args.k,
        filter_threshold: args.filter_threshold(),
        accuracy: AccuracyHint {
            ef_search: args.ef_search,
            probes: args.probes,
        },
    };
    let p = *params;
    let set = tokio::spawn(async move { data::query_set(&p, &q, &records).await })
        .await
        .map_err(|e| BenchError::failed("ground truth", e))??;
    let set = Arc::new(set);

    let recall = mix::recall_pass(&*store, &spec.name, &set).await?;
    eprintln!(
        "recall@{} {:.4} over {} queries",
        args.k, recall.recall_at_k, recall.queries
    );
    let collection: Arc<str> = spec.name.as_str().into();
    let mut levels = Vec::with_capacity(args.concurrency.len());
    for &concurrency in &args.concurrency {
        eprintln!(
            "concurrency {concurrency}: running for {}",
            humantime::format_duration(args.duration)
        );
        let level = mix::run_level(
            store.clone(),
            collection.clone(),
            set.clone(),
            concurrency,
            args.duration,
        )
        .await?;
        eprintln!(
            "concurrency {concurrency}: {:.1} qps, p50 {:.3} ms, p99 {:.3} ms, {} errors",
            level.qps, level.p50_ms, level.p99_ms, level.errors
        );
        levels.push(level);
    }
    Ok(Measured {
        created: claim == Claim::Created,
        load,
        recall,
        levels,
    })
}

/// After a fresh load on PostgreSQL: `ANALYZE` for the planner, and for
/// IVFFlat a `REINDEX` (the index was created on the empty table, so its
/// lists must be trained again on the data). Returns the seconds taken.
async fn post_load(
    db: Option<&PgDatabase>,
    schema: &str,
    spec: &CollectionSpec,
) -> Result<f64, BenchError> {
    let Some(db) = db else { return Ok(0.0) };
    let started = Instant::now();
    // Both names are validated identifiers (checked by the store).
    let table = format!("\"{schema}\".\"{}\"", spec.name);
    let mut statements = Vec::new();
    if matches!(spec.index, IndexSpec::IvfFlat { .. }) {
        eprintln!("rebuilding the IVFFlat index on the loaded data");
        statements.push(format!("REINDEX TABLE {table}"));
    }
    statements.push(format!("ANALYZE {table}"));
    let mut tx = db
        .primary()
        .begin()
        .await
        .map_err(|e| BenchError::failed("post-load", e))?;
    // No statement timeout for these maintenance statements only.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await
        .map_err(|e| BenchError::failed("post-load", e))?;
    for statement in &statements {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(|e| BenchError::failed(statement, e))?;
    }
    tx.commit()
        .await
        .map_err(|e| BenchError::failed("post-load", e))?;
    Ok(started.elapsed().as_secs_f64())
}
