//! The exact scan: score every (or every filtered) row with an `f32` kernel,
//! keep the best `k` in a bounded max-heap, and split large scans across
//! threads (`std::thread::scope`), merging the per-thread heaps.
//!
//! Ties: candidates with equal scores rank by id, never by row (storage
//! order depends on the order of writes and deletes). And since the final
//! distances are recomputed in `f64`, the scan also keeps every candidate
//! whose `f32` score is within rounding slack of the `k`-th one: the caller
//! re-ranks them by exact distance, then id, and cuts at `k`, so records
//! whose exact distances tie at the cut are kept by id as well.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::table::Table;
use crate::distance::{dot, l2_squared, norm};
use crate::{Metric, RecordId};

/// Scans of fewer `f32`s than this (4 MiB) stay on the calling thread:
/// spawning costs more than it saves below it.
pub(super) const PARALLEL_MIN_FLOATS: usize = 1 << 20;

/// A row and its ranking score (smaller is closer): the distance itself for
/// `Cosine` and `Dot`, the *squared* distance for `L2`. Ordered by score,
/// then id.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub(super) score: f32,
    pub(super) id: RecordId,
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
            .then(self.id.cmp(&other.id))
    }
}

/// How far above the `k`-th score a candidate may still tie with it once
/// distances are exact: the same relative slack as [`score_limit`].
fn slack(score: f32) -> f32 {
    1e-4 * score.abs().max(1.0)
}

/// The `k` smallest candidates seen, all with `score <= limit`, plus those
/// within [`slack`] of the `k`-th (`near`).
#[derive(Debug)]
struct TopK {
    k: usize,
    limit: f32,
    /// `limit`, or (once `k` are kept) the worst kept score plus its slack,
    /// capped at `limit`: scores above it are dropped at once.
    bound: f32,
    heap: BinaryHeap<Candidate>,
    /// Candidates outside the heap with `score <= bound` (when pushed).
    near: Vec<Candidate>,
    /// `near` is pruned to the bound when it grows past this (doubled after
    /// each pruning, so many exact ties cost linear time).
    prune_at: usize,
}

impl TopK {
    fn new(k: usize, limit: f32) -> Self {
        TopK {
            k,
            limit,
            bound: limit,
            heap: BinaryHeap::with_capacity(k + 1),
            near: Vec::new(),
            prune_at: 2 * k + 16,
        }
    }

    #[inline]
    fn push(&mut self, score: f32, row: usize, ids: &[RecordId]) {
        if score > self.bound {
            return;
        }
        let candidate = Candidate {
            score,
            id: ids[row],
            row,
        };
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if candidate < *worst {
                let out = std::mem::replace(&mut *worst, candidate);
                drop(worst);
                self.near.push(out);
            } else {
                self.near.push(candidate);
            }
        }
        if self.heap.len() == self.k {
            if let Some(worst) = self.heap.peek() {
                self.bound = (worst.score + slack(worst.score)).min(self.limit);
            }
            // Keep `near` small as the bound falls.
            if self.near.len() > self.prune_at {
                let bound = self.bound;
                self.near.retain(|c| c.score <= bound);
                self.prune_at = self.prune_at.max(2 * self.near.len());
            }
        }
    }

    fn into_vec(self) -> Vec<Candidate> {
        let mut all = self.heap.into_vec();
        all.extend(self.near);
        all
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

/// The best `k` rows for `query` by ranking score (ties by id), sorted
/// ascending, followed by any further rows whose score is within rounding
/// slack of the `k`-th: the caller re-ranks by exact distance and cuts.
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
    let all: Vec<Candidate> = if parts == 1 {
        run(0, n).into_vec()
    } else {
        std::thread::scope(|s| {
            let others: Vec<_> = (1..parts)
                .map(|p| s.spawn(move || run(p * step, ((p + 1) * step).min(n))))
                .collect();
            let mut all = run(0, step.min(n)).into_vec();
            for handle in others {
                match handle.join() {
                    Ok(top) => all.extend(top.into_vec()),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            all
        })
    };
    cut(all, k)
}

/// Sorted, the best `k` and those within slack of the `k`-th.
fn cut(mut all: Vec<Candidate>, k: usize) -> Vec<Candidate> {
    all.sort_unstable();
    if let Some(kth) = k.checked_sub(1).and_then(|i| all.get(i)) {
        let bound = kth.score + slack(kth.score);
        let keep = k + all[k..].iter().take_while(|c| c.score <= bound).count();
        all.truncate(keep);
    }
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
                top.push(score(x, row), row, &table.ids);
            }
        }
        Rows::Only(only) => {
            for &row in &only[lo..hi] {
                top.push(score(table.vector(row), row), row, &table.ids);
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

    /// The exact top `k` rows: by `f64` distance, then id.
    fn brute(t: &Table, metric: Metric, q: &[f32], k: usize) -> Vec<usize> {
        let mut all: Vec<(f64, RecordId, usize)> = (0..t.len())
            .map(|r| {
                let d = crate::distance::distance_f64(metric, q, t.vector(r));
                (d, t.ids[r], r)
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|(_, _, r)| r).collect()
    }

    /// `top_k`'s candidates re-ranked the way `MemoryStore::search` does.
    fn ranked(t: &Table, metric: Metric, q: &[f32], k: usize, got: Vec<Candidate>) -> Vec<usize> {
        let mut all: Vec<(f32, RecordId, usize)> = got
            .iter()
            .map(|c| {
                let d = crate::distance::distance(metric, q, t.vector(c.row));
                (d, c.id, c.row)
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|(_, _, r)| r).collect()
    }

    #[test]
    fn heap_keeps_k_smallest_with_id_tiebreak_and_near_ties() {
        let ids: Vec<RecordId> = (0..6)
            .map(|i| RecordId::from_key(&format!("r{i}")))
            .collect();
        let mut top = TopK::new(3, f32::INFINITY);
        for (score, row) in [(5.0, 0), (1.0, 1), (3.0, 2), (1.0, 3), (0.5, 4), (3.0, 5)] {
            top.push(score, row, &ids);
        }
        let all = cut(top.into_vec(), 3);
        let kept: Vec<(f32, RecordId)> = all.iter().map(|c| (c.score, c.id)).collect();
        let (low, high) = if ids[1] < ids[3] { (1, 3) } else { (3, 1) };
        assert_eq!(
            kept,
            vec![(0.5, ids[4]), (1.0, ids[low]), (1.0, ids[high])],
            "equal scores rank by id; 3.0 is beyond the slack of the third (1.0)"
        );
        let mut band = TopK::new(2, f32::INFINITY);
        for (score, row) in [(1.0, 0), (2.0, 1), (2.00001, 2), (2.5, 3), (0.5, 4)] {
            band.push(score, row, &ids);
        }
        let mut rows: Vec<usize> = cut(band.into_vec(), 2).iter().map(|c| c.row).collect();
        rows.sort_unstable();
        assert_eq!(rows, vec![0, 4], "after 0.5 and 1.0, nothing is near");
        let mut near = TopK::new(2, f32::INFINITY);
        for (score, row) in [(1.0, 0), (2.0, 1), (2.00001, 2), (2.5, 3)] {
            near.push(score, row, &ids);
        }
        let mut rows: Vec<usize> = cut(near.into_vec(), 2).iter().map(|c| c.row).collect();
        rows.sort_unstable();
        assert_eq!(
            rows,
            vec![0, 1, 2],
            "2.00001 is within rounding slack of 2.0"
        );
        let mut limited = TopK::new(10, 2.0);
        for (score, row) in [(5.0, 0), (1.0, 1), (2.0, 2), (2.5, 3)] {
            limited.push(score, row, &ids);
        }
        assert_eq!(limited.heap.len(), 2, "scores over the limit are dropped");
    }

    #[test]
    fn many_exact_ties_keep_the_smallest_ids() {
        // 3,000 identical vectors: every score ties; k = 5 keeps the 5
        // smallest ids whatever the row order.
        let mut t = Table::new(&CollectionSpec::new("t", 2, Metric::L2));
        for i in (0..3000).rev() {
            t.upsert(&Record::new(
                RecordId::from_key(&i.to_string()),
                vec![1.0, 1.0],
                Default::default(),
            ));
        }
        let q = [0.0, 0.0];
        for threads in [1, 3] {
            let got = top_k(&t, Metric::L2, &q, 5, f32::INFINITY, Rows::All, threads);
            assert_eq!(
                ranked(&t, Metric::L2, &q, 5, got),
                brute(&t, Metric::L2, &q, 5),
                "threads={threads}"
            );
        }
    }

    #[test]
    fn parallel_and_serial_scans_agree_with_brute_force() {
        // 600 x 2048 floats is over PARALLEL_MIN_FLOATS, so 3 threads split it.
        let t = table(600, 2048);
        let q: Vec<f32> = (0..2048).map(|j| (j % 13) as f32 / 13.0 + 0.05).collect();
        for metric in Metric::ALL {
            let want = brute(&t, metric, &q, 10);
            for threads in [1, 3] {
                let got = top_k(&t, metric, &q, 10, f32::INFINITY, Rows::All, threads);
                assert_eq!(
                    ranked(&t, metric, &q, 10, got),
                    want,
                    "{metric} threads={threads}"
                );
            }
        }
        let subset: Vec<usize> = (0..600).step_by(7).collect();
        let got = top_k(&t, Metric::L2, &q, 5, f32::INFINITY, Rows::Only(&subset), 3);
        assert!(got.iter().all(|c| c.row % 7 == 0));
        assert!(got.len() >= 5);
    }

    #[test]
    fn more_threads_than_fit_the_rows() {
        // 5 rows of 300,000 floats: parallel, and 4 threads cannot split 5
        // rows evenly.
        let t = table(5, 300_000);
        let q = vec![0.5_f32; 300_000];
        let want = brute(&t, Metric::L2, &q, 3);
        for threads in [2, 3, 4, 8] {
            let got = top_k(&t, Metric::L2, &q, 3, f32::INFINITY, Rows::All, threads);
            assert_eq!(
                ranked(&t, Metric::L2, &q, 3, got),
                want,
                "threads={threads}"
            );
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
