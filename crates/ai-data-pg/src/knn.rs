//! [`KnnScan`]: how a pgvector k-nearest-neighbour query is run so that it
//! returns `k` rows when `k` rows exist, shared by every k-NN search of
//! `ai-data` (`ai-data-platform`'s `TextEmbeddingRepo::search` and
//! `PgVectorStore`).
//!
//! pgvector's approximate index scans stop early unless told otherwise:
//!
//! - an HNSW scan returns at most `hnsw.ef_search` rows (default 40);
//! - with a filter, an HNSW scan without `hnsw.iterative_scan` returns only
//!   the matching rows among those 40; with `strict_order` it skips rows
//!   that arrive out of order (measured: 1,180 of 1,200 at 20k x 128-d);
//!   with `relaxed_order` it goes on until `hnsw.max_scan_tuples` tuples
//!   (default 20,000) were visited or `work_mem x hnsw.scan_mem_multiplier`
//!   is used up;
//! - an IVFFlat scan searches `ivfflat.probes` lists (default 1);
//! - and an HNSW graph walk only reaches what its links reach: on clustered
//!   data with a selective filter it can run dry whatever the limits
//!   (measured: 1 to 39 of 40 matching rows found at 20k x 8-d, 16
//!   clusters, 0.2% selectivity, with `max_scan_tuples` 1,000,000).
//!
//! So the settings below go into the query's transaction only (`SET LOCAL`
//! through `set_config(.., true)`, one round trip), and when an approximate
//! scan yields fewer rows than it was asked for ([`KnnScan::candidates`]:
//! fewer rows match, or the scan ended at a limit or ran dry) the query is
//! run once more **exactly**, in the same transaction with
//! `enable_indexscan = off`: a selective filter then reads through its
//! b-tree (bitmap scan) or the table, and the answer is the nearest
//! matching rows. That second run costs a scan, and only happens when the
//! first one came up short; it is what makes "`k` hits when `k` rows
//! match" hold, where raising the limits alone cannot.
//!
//! | index | settings (this transaction only) |
//! |---|---|
//! | HNSW, no filter | `hnsw.ef_search = max(k, hint)` when either is above 40 |
//! | HNSW, filter | `hnsw.ef_search = max(k, hint, 40)`, `hnsw.iterative_scan = relaxed_order`, `hnsw.max_scan_tuples =` [`FILTERED_MAX_SCAN_TUPLES`], `hnsw.scan_mem_multiplier =` [`FILTERED_SCAN_MEM_MULTIPLIER`] |
//! | IVFFlat | `ivfflat.probes = hint` or `lists / 10` (at least 1); with a filter also `ivfflat.iterative_scan = relaxed_order` |
//! | exact (no index) | none |
//!
//! `ef_search` is capped at [`MAX_EF_SEARCH`], pgvector's maximum. With
//! `relaxed_order` the rows arrive only roughly nearest first: callers take
//! [`KnnScan::candidates`] rows from the index scan, order them by
//! distance and keep `k`.
//!
//! ```
//! use ai_data_pg::knn::KnnScan;
//!
//! let scan = KnnScan::hnsw(100, None, false);
//! assert_eq!(scan.settings(), [("hnsw.ef_search", "100".to_owned())]);
//! assert!(KnnScan::hnsw(10, None, false).settings().is_empty());
//! let filtered = KnnScan::hnsw(10, None, true);
//! assert!(filtered.settings().contains(&("hnsw.iterative_scan", "relaxed_order".to_owned())));
//! assert!(KnnScan::exact(10).settings().is_empty());
//! ```

use std::future::Future;
use std::pin::Pin;

use sqlx::{Acquire, PgConnection, PgPool};

/// pgvector's default `hnsw.ef_search`: an HNSW scan returns at most this
/// many rows unless it is raised.
pub const DEFAULT_EF_SEARCH: usize = 40;

/// pgvector's largest `hnsw.ef_search`.
pub const MAX_EF_SEARCH: usize = 1_000;

/// `hnsw.max_scan_tuples` of a filtered HNSW search (pgvector's default
/// is 20,000): a filter matching 0.1% of the rows still finds 100 of them
/// in the index before the exact re-run is needed.
pub const FILTERED_MAX_SCAN_TUPLES: u32 = 100_000;

/// `hnsw.scan_mem_multiplier` of a filtered HNSW search (pgvector's
/// default is 1): the scan may use 4 x `work_mem` (16 MB at the default
/// `work_mem`) to visit [`FILTERED_MAX_SCAN_TUPLES`] tuples.
pub const FILTERED_SCAN_MEM_MULTIPLIER: u32 = 4;

/// One k-NN query's way of running: its per-transaction settings and
/// whether a short answer is re-run exactly. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnnScan {
    candidates: usize,
    approximate: bool,
    settings: Vec<(&'static str, String)>,
}

/// The future of [`KnnQuery::fetch`]: the rows, boxed.
pub type KnnRows<'c, R> = Pin<Box<dyn Future<Output = Result<Vec<R>, sqlx::Error>> + Send + 'c>>;

/// The query a [`KnnScan`] runs: the SQL with its parameters, fetched on
/// the connection given (possibly twice: see [`KnnScan::run`]).
///
/// Boxed futures, so that implementations are checked for `Send` once,
/// with concrete lifetimes.
pub trait KnnQuery: Sync {
    /// One result row.
    type Row: Send;

    /// Run the query on `conn` and return its rows.
    fn fetch<'c>(&'c self, conn: &'c mut PgConnection) -> KnnRows<'c, Self::Row>;

    /// How many rows the index scan yielded for `rows`: `rows.len()`
    /// unless the query takes more candidates than it returns (then it
    /// reports their number, e.g. `(SELECT count(*) FROM candidates)` as
    /// a column; 0 when it cannot tell, which re-runs the query exactly).
    fn found(&self, rows: &[Self::Row]) -> usize {
        rows.len()
    }
}

impl KnnScan {
    /// A query no approximate index serves (a sequential or b-tree scan):
    /// no settings, no re-run.
    pub fn exact(k: usize) -> Self {
        KnnScan {
            candidates: k,
            approximate: false,
            settings: Vec::new(),
        }
    }

    /// A query served by an HNSW index: `k` rows, an optional `ef_search`
    /// hint, and whether the query has a filter.
    pub fn hnsw(k: usize, ef_search: Option<u32>, filtered: bool) -> Self {
        let hint = ef_search.map(|e| e as usize);
        let mut settings = Vec::new();
        let ef = hint
            .unwrap_or(DEFAULT_EF_SEARCH)
            .max(k)
            .clamp(1, MAX_EF_SEARCH);
        if filtered || hint.is_some() || k > DEFAULT_EF_SEARCH {
            settings.push(("hnsw.ef_search", ef.to_string()));
        }
        if filtered {
            settings.push(("hnsw.iterative_scan", "relaxed_order".to_owned()));
            settings.push(("hnsw.max_scan_tuples", FILTERED_MAX_SCAN_TUPLES.to_string()));
            settings.push((
                "hnsw.scan_mem_multiplier",
                FILTERED_SCAN_MEM_MULTIPLIER.to_string(),
            ));
        }
        KnnScan {
            candidates: if filtered { ef.max(k) } else { k },
            approximate: true,
            settings,
        }
    }

    /// A query served by an IVFFlat index of `lists` lists: `k` rows, an
    /// optional `probes` hint, and whether the query has a filter.
    pub fn ivfflat(k: usize, lists: u32, probes: Option<u32>, filtered: bool) -> Self {
        let lists = lists.max(1);
        let probes = probes.unwrap_or((lists / 10).max(1)).clamp(1, lists);
        let mut settings = vec![("ivfflat.probes", probes.to_string())];
        if filtered {
            settings.push(("ivfflat.iterative_scan", "relaxed_order".to_owned()));
        }
        KnnScan {
            candidates: k,
            approximate: true,
            settings,
        }
    }

    /// How many rows the index scan should yield before the best `k` of
    /// them are taken: `k`, except for a filtered HNSW scan, whose
    /// `relaxed_order` rows arrive only roughly nearest first, where it is
    /// the `ef_search` in effect (at least `k`): ordering those candidates
    /// by distance and keeping `k` is what `ef_search` means without a
    /// filter. In SQL: a `MATERIALIZED` CTE with this `LIMIT` inside, and
    /// outside `ORDER BY distance + 0, id LIMIT k` (the `+ 0`, because
    /// PostgreSQL 17+ takes the CTE's rows as already sorted by `distance`
    /// otherwise, and an incremental sort would keep their arrival order).
    pub fn candidates(&self) -> usize {
        self.candidates
    }

    /// The settings applied for the query's transaction, in order.
    pub fn settings(&self) -> &[(&'static str, String)] {
        &self.settings
    }

    /// Apply [`KnnScan::settings`] for the current transaction only, in one
    /// round trip (`set_config(name, value, true)`); nothing when there are
    /// none. Outside a transaction the settings last one statement.
    pub async fn apply(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        set_local(conn, &self.settings).await
    }

    /// Run `query` the way the [module docs](self) describe: alone when
    /// there are no settings, else in a transaction with them; and once
    /// more exactly (same transaction, `enable_indexscan = off`) when an
    /// approximate scan yielded fewer than [`KnnScan::candidates`] rows
    /// ([`KnnQuery::found`]).
    ///
    /// The exact re-run costs a sequential scan of the table (of the rows
    /// a filter keeps) plus a top-`k` sort, with or without a filter: on a
    /// large table an unfiltered search whose HNSW scan was cut short (the
    /// graph's reachable part holds fewer than `k` live rows, e.g. many
    /// dead tuples before a `VACUUM`) reads the whole table. Each re-run is
    /// logged at `debug` level (target `ai_data_pg::knn`, with `found` and
    /// `candidates`), so operators can see how often it happens.
    pub async fn run<Q: KnnQuery>(
        &self,
        pool: &PgPool,
        query: &Q,
    ) -> Result<Vec<Q::Row>, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        if self.settings.is_empty() {
            let rows = query.fetch(&mut conn).await?;
            let found = query.found(&rows);
            if !self.is_short(found) {
                return Ok(rows);
            }
            self.log_exact(found);
            let mut tx = conn.begin().await?;
            let rows = self.exactly(&mut tx, query).await?;
            tx.commit().await?;
            return Ok(rows);
        }
        let mut tx = conn.begin().await?;
        self.apply(&mut tx).await?;
        let mut rows = query.fetch(&mut tx).await?;
        let found = query.found(&rows);
        if self.is_short(found) {
            self.log_exact(found);
            rows = self.exactly(&mut tx, query).await?;
        }
        tx.commit().await?;
        Ok(rows)
    }

    /// Whether an index scan that yielded `found` rows may have missed
    /// some: an approximate scan that yielded fewer than
    /// [`KnnScan::candidates`].
    pub fn is_short(&self, found: usize) -> bool {
        self.approximate && found < self.candidates
    }

    fn log_exact(&self, found: usize) {
        tracing::debug!(
            found,
            candidates = self.candidates,
            "approximate vector index scan came up short; re-running it exactly \
             (enable_indexscan = off: a sequential scan and sort)"
        );
    }

    /// The query again without index scans (inside a transaction).
    async fn exactly<Q: KnnQuery>(
        &self,
        conn: &mut PgConnection,
        query: &Q,
    ) -> Result<Vec<Q::Row>, sqlx::Error> {
        set_local(conn, &[("enable_indexscan", "off".to_owned())]).await?;
        query.fetch(conn).await
    }
}

/// `SELECT set_config($1, $2, true), ...`: every setting in one round trip.
async fn set_local(
    conn: &mut PgConnection,
    settings: &[(&'static str, String)],
) -> Result<(), sqlx::Error> {
    if settings.is_empty() {
        return Ok(());
    }
    let calls: Vec<String> = (0..settings.len())
        .map(|i| format!("set_config(${}, ${}, true)", 2 * i + 1, 2 * i + 2))
        .collect();
    let sql = format!("SELECT {}", calls.join(", "));
    let mut statement = sqlx::query(&sql);
    for (name, value) in settings {
        statement = statement.bind(*name).bind(value.as_str());
    }
    statement.execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(scan: &KnnScan) -> Vec<&str> {
        scan.settings().iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn hnsw_raises_ef_search_for_large_k_and_hints_only() {
        assert!(KnnScan::hnsw(40, None, false).settings().is_empty());
        assert_eq!(
            KnnScan::hnsw(41, None, false).settings(),
            [("hnsw.ef_search", "41".to_owned())]
        );
        assert_eq!(
            KnnScan::hnsw(5000, None, false).settings(),
            [("hnsw.ef_search", "1000".to_owned())]
        );
        assert_eq!(
            KnnScan::hnsw(10, Some(100), false).settings(),
            [("hnsw.ef_search", "100".to_owned())]
        );
        assert_eq!(
            KnnScan::hnsw(200, Some(100), false).settings(),
            [("hnsw.ef_search", "200".to_owned())]
        );
    }

    #[test]
    fn filtered_hnsw_scans_iteratively_and_further() {
        let scan = KnnScan::hnsw(10, None, true);
        assert_eq!(
            names(&scan),
            [
                "hnsw.ef_search",
                "hnsw.iterative_scan",
                "hnsw.max_scan_tuples",
                "hnsw.scan_mem_multiplier"
            ]
        );
        assert_eq!(scan.settings()[0].1, "40");
        assert_eq!(scan.candidates(), 40);
        assert_eq!(KnnScan::hnsw(10, None, false).candidates(), 10);
        assert_eq!(KnnScan::hnsw(10, Some(100), true).candidates(), 100);
        assert_eq!(KnnScan::hnsw(500, None, true).candidates(), 500);
        assert_eq!(scan.settings()[1].1, "relaxed_order");
        assert_eq!(scan.settings()[2].1, "100000");
    }

    #[test]
    fn ivfflat_probes_and_shortness() {
        assert_eq!(
            KnnScan::ivfflat(10, 100, None, false).settings(),
            [("ivfflat.probes", "10".to_owned())]
        );
        assert_eq!(
            KnnScan::ivfflat(10, 4, Some(50), true).settings(),
            [
                ("ivfflat.probes", "4".to_owned()),
                ("ivfflat.iterative_scan", "relaxed_order".to_owned())
            ]
        );
        assert!(KnnScan::hnsw(10, None, false).is_short(9));
        assert!(!KnnScan::hnsw(10, None, false).is_short(10));
        assert!(
            KnnScan::hnsw(10, None, true).is_short(39),
            "a filtered scan that found fewer than its 40 candidates"
        );
        assert!(!KnnScan::hnsw(10, None, true).is_short(40));
        assert!(
            !KnnScan::exact(10).is_short(0),
            "exact answers are complete"
        );
    }
}
