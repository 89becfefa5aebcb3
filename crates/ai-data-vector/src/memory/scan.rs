//! The exact scan: score every (or every filtered) row with an `f32` kernel,
//! keep the best `k` in a bounded max-heap, and split large scans across
//! threads (`std::thread::scope`), merging the per-thread heaps.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::table::Table;
use crate::distance::{dot, l2_squared, norm};
use crate::Metric;

/// Scans of fewer `f32`s than this (4 MiB) stay on the calling thread:
/// spawning costs more than it saves below it.
pub(super) const PARALLEL_MIN_FLOATS: usize = 1 << 20;

/// A row and its ranking score (smaller is closer): the distance itself for
/// `Cosine` and `Dot`, the *squared* distance for `L2`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub(super) score: f32,
    pub(super) row: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(self.row.cmp(&other.row))
    }
}

/// The `k` smallest candidates seen, all with `score <= limit`.
#[derive(Debug)]
struct TopK {
    k: usize,
    limit: f32,
    /// `limit`, or the worst kept score once `k` are kept.
    bound: f32,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    fn new(k: usize, limit: f32) -> Self {
        TopK {
            k,
            limit,
            bound: limit,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    #[inline]
    fn push(&mut self, score: f32, row: usize) {
        if score > self.bound {
            return;
        }
        let candidate = Candidate { score, row };
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if candidate < *worst {
                *worst = candidate;
            } else {
                return;
            }
        }
        if self.heap.len() == self.k {
            if let Some(worst) = self.heap.peek() {
                self.bound = worst.score.min(self.limit);
            }
        }
    }
}

/// The ranking-score bound for a distance threshold, with a little slack for
/// `f32` rounding (the exact distance is checked afterwards).
pub(super) fn score_limit(metric: Metric, max_distance: Option<f32>) -> f32 {
    let Some(max) = max_distance else {
        return f32::INFINITY;
    };
    let slack = 1e-4 * max.abs().max(1.0);
    match metric {
        Metric::Cosine | Metric::Dot => max + slack,
        Metric::L2 if max < 0.0 => -1.0,
        Metric::L2 => (max + slack) * (max + slack),
    }
}

/// What to scan: every row, or these rows.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rows<'a> {
    All,
    Only(&'a [usize]),
}

/// The best `k` rows for `query` by ranking score, sorted ascending.
pub(super) fn top_k(
    table: &Table,
    metric: Metric,
    query: &[f32],
    k: usize,
    limit: f32,
    rows: Rows<'_>,
    threads: usize,
) -> Vec<Candidate> {
    let n = match rows {
        Rows::All => table.len(),
        Rows::Only(only) => only.len(),
    };
    let query_inv_norm = (1.0 / norm(query)) as f32;
    let run = |lo: usize, hi: usize| {
        let mut top = TopK::new(k, limit);
        match metric {
            Metric::Dot => scan(table, rows, lo, hi, &mut top, |x, _| -dot(query, x)),
            Metric::L2 => scan(table, rows, lo, hi, &mut top, |x, _| l2_squared(query, x)),
            Metric::Cosine => scan(table, rows, lo, hi, &mut top, |x, row| {
                1.0 - dot(query, x) * query_inv_norm * table.inv_norms[row]
            }),
        }
        top
    };
    let parts = if n.saturating_mul(table.dim) >= PARALLEL_MIN_FLOATS {
        threads.clamp(1, n.max(1))
    } else {
        1
    };
    let step = n.div_ceil(parts).max(1);
    // Recount so that no part starts past the end (e.g. 5 rows, 4 threads:
    // parts of 2, 2 and 1).
    let parts = n.div_ceil(step).max(1);
    let mut all: Vec<Candidate> = if parts == 1 {
        run(0, n).heap.into_vec()
    } else {
        std::thread::scope(|s| {
            let others: Vec<_> = (1..parts)
                .map(|p| s.spawn(move || run(p * step, ((p + 1) * step).min(n))))
                .collect();
            let mut all = run(0, step.min(n)).heap.into_vec();
            for handle in others {
                match handle.join() {
                    Ok(top) => all.extend(top.heap.into_vec()),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            all
        })
    };
    all.sort_unstable();
    all.truncate(k);
    all
}

/// Score rows `lo..hi` (positions in `rows`) into `top`.
#[inline]
fn scan(
    table: &Table,
    rows: Rows<'_>,
    lo: usize,
    hi: usize,
    top: &mut TopK,
    score: impl Fn(&[f32], usize) -> f32,
) {
    let dim = table.dim;
    match rows {
        Rows::All => {
            let vectors = &table.vectors[lo * dim..hi * dim];
            for (i, x) in vectors.chunks_exact(dim).enumerate() {
                let row = lo + i;
                top.push(score(x, row), row);
            }
        }
        Rows::Only(only) => {
            for &row in &only[lo..hi] {
                top.push(score(table.vector(row), row), row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectionSpec, Record, RecordId};

    fn table(n: usize, dim: usize) -> Table {
        let mut t = Table::new(&CollectionSpec::new("t", dim, Metric::L2));
        for i in 0..n {
            let v: Vec<f32> = (0..dim)
                .map(|j| ((i * 31 + j * 17) % 97) as f32 / 97.0 + 0.01)
                .collect();
            t.upsert(&Record::new(
                RecordId::from_key(&i.to_string()),
                v,
                Default::default(),
            ));
        }
        t
    }

    fn brute(t: &Table, metric: Metric, q: &[f32], k: usize) -> Vec<usize> {
        let mut all: Vec<(f64, usize)> = (0..t.len())
            .map(|r| (crate::distance::distance_f64(metric, q, t.vector(r)), r))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|(_, r)| r).collect()
    }

    #[test]
    fn heap_keeps_k_smallest_with_row_tiebreak() {
        let mut top = TopK::new(3, f32::INFINITY);
        for (score, row) in [(5.0, 0), (1.0, 1), (3.0, 2), (1.0, 3), (0.5, 4), (3.0, 5)] {
            top.push(score, row);
        }
        let mut kept = top.heap.into_sorted_vec();
        kept.truncate(3);
        let kept: Vec<(f32, usize)> = kept.iter().map(|c| (c.score, c.row)).collect();
        assert_eq!(kept, vec![(0.5, 4), (1.0, 1), (1.0, 3)]);
        let mut limited = TopK::new(10, 2.0);
        for (score, row) in [(5.0, 0), (1.0, 1), (2.0, 2), (2.5, 3)] {
            limited.push(score, row);
        }
        assert_eq!(limited.heap.len(), 2, "scores over the limit are dropped");
    }

    #[test]
    fn parallel_and_serial_scans_agree_with_brute_force() {
        // 600 x 2048 floats is over PARALLEL_MIN_FLOATS, so 3 threads split it.
        let t = table(600, 2048);
        let q: Vec<f32> = (0..2048).map(|j| (j % 13) as f32 / 13.0 + 0.05).collect();
        for metric in Metric::ALL {
            let want = brute(&t, metric, &q, 10);
            for threads in [1, 3] {
                let got: Vec<usize> = top_k(&t, metric, &q, 10, f32::INFINITY, Rows::All, threads)
                    .iter()
                    .map(|c| c.row)
                    .collect();
                assert_eq!(got, want, "{metric} threads={threads}");
            }
        }
        let subset: Vec<usize> = (0..600).step_by(7).collect();
        let got = top_k(&t, Metric::L2, &q, 5, f32::INFINITY, Rows::Only(&subset), 3);
        assert!(got.iter().all(|c| c.row % 7 == 0));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn more_threads_than_fit_the_rows() {
        // 5 rows of 300,000 floats: parallel, and 4 threads cannot split 5
        // rows evenly.
        let t = table(5, 300_000);
        let q = vec![0.5_f32; 300_000];
        let want = brute(&t, Metric::L2, &q, 3);
        for threads in [2, 3, 4, 8] {
            let got: Vec<usize> = top_k(&t, Metric::L2, &q, 3, f32::INFINITY, Rows::All, threads)
                .iter()
                .map(|c| c.row)
                .collect();
            assert_eq!(got, want, "threads={threads}");
        }
    }

    #[test]
    fn score_limits() {
        assert_eq!(score_limit(Metric::Dot, None), f32::INFINITY);
        assert!(score_limit(Metric::L2, Some(2.0)) >= 4.0);
        assert!(score_limit(Metric::L2, Some(2.0)) < 4.01);
        assert!(score_limit(Metric::L2, Some(-1.0)) < 0.0);
        assert!(score_limit(Metric::Dot, Some(-3.0)) > -3.0);
    }
}
