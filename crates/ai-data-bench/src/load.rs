//! Loading the synthetic records in batches, with a progress bar.

use std::time::{Duration, Instant};

use ai_data_vector::{Record, VectorStore};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::BenchError;

/// How the load went.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LoadStats {
    /// Records written by this run (0 when an existing collection was reused).
    pub(crate) records: u64,
    /// Wall time of the upserts.
    pub(crate) seconds: f64,
    /// `records / seconds`.
    pub(crate) records_per_second: f64,
    /// Wall time of the post-load step (PostgreSQL: `ANALYZE`, and for
    /// IVFFlat a `REINDEX` so its lists are trained on the data).
    pub(crate) post_load_seconds: f64,
    /// The collection already held this data (kept by an earlier run).
    pub(crate) reused: bool,
}

impl LoadStats {
    /// Nothing loaded: the collection was reused.
    pub(crate) fn reused() -> Self {
        LoadStats {
            records: 0,
            seconds: 0.0,
            records_per_second: 0.0,
            post_load_seconds: 0.0,
            reused: true,
        }
    }
}

/// Upsert `records` in batches of `batch_size`, showing progress on stderr
/// (hidden when stderr is not a terminal).
pub(crate) async fn load(
    store: &dyn VectorStore,
    collection: &str,
    records: &[Record],
    batch_size: usize,
) -> Result<LoadStats, BenchError> {
    let bar = ProgressBar::with_draw_target(
        Some(records.len() as u64),
        ProgressDrawTarget::stderr_with_hz(4),
    );
    bar.set_style(
        ProgressStyle::with_template(
            "loading {bar:40.cyan/blue} {human_pos}/{human_len} records ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let started = Instant::now();
    for batch in records.chunks(batch_size.max(1)) {
        let report = store
            .upsert(collection, batch)
            .await
            .map_err(|e| BenchError::failed("load", e))?;
        if let Some(failure) = report.failures.first() {
            return Err(BenchError::Failed(format!(
                "load: {} of {} records were rejected, first {}: {}",
                report.failures.len(),
                batch.len(),
                failure.id,
                failure.error
            )));
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    Ok(LoadStats {
        records: records.len() as u64,
        seconds,
        records_per_second: records.len() as f64 / seconds.max(1e-9),
        post_load_seconds: 0.0,
        reused: false,
    })
}
