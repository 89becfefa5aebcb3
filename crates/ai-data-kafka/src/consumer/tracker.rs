//! Per-partition offset tracking: which received offsets are finished, and
//! how far the contiguous finished prefix reaches (the only safe commit).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// One assigned partition's state.
#[derive(Debug)]
struct PartitionState {
    /// Changes on every (re)assignment, so that work from an earlier
    /// assignment can be recognised and ignored.
    epoch: u64,
    /// Received offsets, in order, and whether each is finished.
    pending: BTreeMap<i64, bool>,
    /// `offset + 1` of the last offset of the finished prefix.
    committable: Option<i64>,
    /// The last offset handed to a commit.
    committed: Option<i64>,
    /// Being revoked: no new record starts, running ones may finish.
    revoking: bool,
}

impl PartitionState {
    fn new(epoch: u64) -> Self {
        PartitionState {
            epoch,
            pending: BTreeMap::new(),
            committable: None,
            committed: None,
            revoking: false,
        }
    }

    fn advance(&mut self) {
        while let Some(entry) = self.pending.first_entry() {
            if !*entry.get() {
                break;
            }
            let offset = *entry.key();
            entry.remove();
            self.committable = Some(offset + 1);
        }
    }

    fn uncommitted(&self) -> Option<i64> {
        match (self.committable, self.committed) {
            (Some(next), Some(done)) if next == done => None,
            (next, _) => next,
        }
    }
}

/// Offsets of the partitions currently assigned to one consumer.
///
/// Records are registered with [`Tracker::begin`] in the order they are
/// received and marked with [`Tracker::finish`] in any order; the commit
/// position of a partition only ever covers a prefix of finished records,
/// so a record that is still running (or failed for good) holds back every
/// later one. Offsets need not be contiguous (compaction, transaction
/// markers).
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    partitions: HashMap<i32, PartitionState>,
    next_epoch: u64,
    /// Records (or batches) being handled, per partition, of any epoch.
    running: HashMap<i32, usize>,
}

impl Tracker {
    /// Start tracking `partition` afresh.
    pub(crate) fn assign(&mut self, partition: i32) -> u64 {
        self.next_epoch += 1;
        self.partitions
            .insert(partition, PartitionState::new(self.next_epoch));
        self.next_epoch
    }

    /// Stop tracking `partition`; returns its commit position (the finished
    /// prefix), for the revocation to commit synchronously. It is returned
    /// even when [`Tracker::take_commits`] handed it out already: that was
    /// an asynchronous commit, whose failure would only be reported after
    /// the partition is gone, and committing it again is harmless.
    pub(crate) fn revoke(&mut self, partition: i32) -> Option<i64> {
        self.partitions
            .remove(&partition)
            .and_then(|s| s.committable)
    }

    /// The current epoch of `partition`, if assigned and not being revoked.
    pub(crate) fn epoch(&self, partition: i32) -> Option<u64> {
        self.partitions
            .get(&partition)
            .filter(|s| !s.revoking)
            .map(|s| s.epoch)
    }

    /// Begin revoking `partition`: no record of it starts from now on
    /// ([`Tracker::enter`] refuses), those running may still finish.
    pub(crate) fn start_revoke(&mut self, partition: i32) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            state.revoking = true;
        }
    }

    /// Start handling a record of `partition` received in `epoch`: `false`
    /// (and nothing counted) when that assignment is over or being revoked.
    pub(crate) fn enter(&mut self, partition: i32, epoch: u64) -> bool {
        if self.epoch(partition) != Some(epoch) {
            return false;
        }
        *self.running.entry(partition).or_default() += 1;
        true
    }

    /// A record started with [`Tracker::enter`] is no longer being handled
    /// (finished, failed, or cancelled).
    pub(crate) fn exit(&mut self, partition: i32) {
        if let Some(n) = self.running.get_mut(&partition) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.running.remove(&partition);
            }
        }
    }

    /// Records being handled in any of `partitions`.
    pub(crate) fn running_in(&self, partitions: &[i32]) -> usize {
        partitions.iter().filter_map(|p| self.running.get(p)).sum()
    }

    /// Register a received record; `None` when the partition is not
    /// assigned (or being revoked).
    pub(crate) fn begin(&mut self, partition: i32, offset: i64) -> Option<u64> {
        let state = self
            .partitions
            .get_mut(&partition)
            .filter(|s| !s.revoking)?;
        state.pending.insert(offset, false);
        Some(state.epoch)
    }

    /// Mark a record finished (handled or dead-lettered). Ignored when the
    /// partition was reassigned since the record was received.
    pub(crate) fn finish(&mut self, partition: i32, epoch: u64, offset: i64) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            if state.epoch == epoch {
                if let Some(done) = state.pending.get_mut(&offset) {
                    *done = true;
                    state.advance();
                }
            }
        }
    }

    /// Commit positions that moved since the last call; they count as
    /// committed from now on (see [`Tracker::commit_failed`]). Partitions
    /// being revoked are left out: their revocation commits them itself,
    /// synchronously, once their handlers are done ([`Tracker::revoke`]).
    pub(crate) fn take_commits(&mut self) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        for (&partition, state) in &mut self.partitions {
            if state.revoking {
                continue;
            }
            if let Some(next) = state.uncommitted() {
                state.committed = Some(next);
                out.push((partition, next));
            }
        }
        out.sort_unstable();
        out
    }

    /// A commit of `offset` failed: commit it again next time.
    pub(crate) fn commit_failed(&mut self, partition: i32, offset: i64) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            if state.committed == Some(offset) {
                state.committed = None;
            }
        }
    }

    /// Assigned partitions.
    pub(crate) fn assigned(&self) -> Vec<i32> {
        let mut out: Vec<i32> = self.partitions.keys().copied().collect();
        out.sort_unstable();
        out
    }

    /// Records received and not finished, over all partitions.
    #[cfg(test)]
    pub(crate) fn unfinished(&self) -> usize {
        self.partitions
            .values()
            .map(|s| s.pending.values().filter(|done| !**done).count())
            .sum()
    }
}

/// The tracker of one consumer, and a signal for whoever waits until the
/// handlers of some partitions are done (a revocation).
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    tracker: Mutex<Tracker>,
    idle: Condvar,
}

impl Offsets {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Tracker> {
        // A poisoned lock only means a panic elsewhere mid-update of plain
        // maps; the data is still consistent enough to keep going.
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Tracker::enter`], as a guard that calls [`Tracker::exit`] when
    /// dropped, however the handling ends (a cancelled task included).
    pub(crate) fn enter(
        self: &std::sync::Arc<Self>,
        partition: i32,
        epoch: u64,
    ) -> Option<Running> {
        self.lock().enter(partition, epoch).then(|| Running {
            offsets: self.clone(),
            partition,
        })
    }

    /// Block the calling thread until no record of `partitions` is being
    /// handled, or `timeout` passes; `true` when they are idle. Never call
    /// it on an async runtime thread: the handlers it waits for may need it.
    pub(crate) fn wait_idle(&self, partitions: &[i32], timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        let mut tracker = self.lock();
        while tracker.running_in(partitions) > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            tracker = self
                .idle
                .wait_timeout(tracker, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// One record (or batch) being handled; see [`Offsets::enter`].
#[derive(Debug)]
pub(crate) struct Running {
    offsets: std::sync::Arc<Offsets>,
    partition: i32,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.offsets.lock().exit(self.partition);
        self.offsets.idle.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_covers_only_the_finished_prefix() {
        let mut t = Tracker::default();
        let e = t.assign(0);
        for offset in 10..15 {
            assert_eq!(t.begin(0, offset), Some(e));
        }
        assert!(t.take_commits().is_empty());
        t.finish(0, e, 11);
        t.finish(0, e, 13);
        assert!(t.take_commits().is_empty(), "10 is still running");
        t.finish(0, e, 10);
        assert_eq!(t.take_commits(), [(0, 12)], "12 is still running");
        assert!(t.take_commits().is_empty(), "nothing new");
        t.finish(0, e, 14);
        t.finish(0, e, 12);
        assert_eq!(t.take_commits(), [(0, 15)]);
        assert_eq!(t.unfinished(), 0);
    }

    #[test]
    fn a_record_that_never_finishes_holds_back_the_partition_only() {
        let mut t = Tracker::default();
        let e0 = t.assign(0);
        let e1 = t.assign(1);
        for offset in 0..4 {
            t.begin(0, offset);
            t.begin(1, offset);
        }
        for offset in [0, 2, 3] {
            t.finish(0, e0, offset); // 1 failed for good
        }
        for offset in 0..4 {
            t.finish(1, e1, offset);
        }
        assert_eq!(t.take_commits(), [(0, 1), (1, 4)]);
        assert_eq!(t.unfinished(), 1);
    }

    #[test]
    fn gaps_in_offsets_do_not_block() {
        let mut t = Tracker::default();
        let e = t.assign(2);
        for offset in [5, 9, 20] {
            t.begin(2, offset);
        }
        for offset in [20, 9, 5] {
            t.finish(2, e, offset);
        }
        assert_eq!(t.take_commits(), [(2, 21)]);
    }

    #[test]
    fn work_from_an_earlier_assignment_is_ignored() {
        let mut t = Tracker::default();
        let old = t.assign(0);
        t.begin(0, 0);
        t.finish(0, old, 0);
        assert_eq!(t.revoke(0), Some(1), "finished work is committed on revoke");
        assert_eq!(t.begin(0, 1), None, "not assigned");
        let new = t.assign(0);
        assert_ne!(old, new);
        t.begin(0, 1);
        t.finish(0, old, 1);
        assert!(
            t.take_commits().is_empty(),
            "a stale finish counts for nothing"
        );
        t.finish(0, new, 1);
        assert_eq!(t.take_commits(), [(0, 2)]);
        assert_eq!(
            t.revoke(0),
            Some(2),
            "committed again on revoke: the async commit may have failed"
        );
    }

    #[test]
    fn a_revoked_partition_starts_nothing_and_its_running_records_are_awaited() {
        let offsets = std::sync::Arc::new(Offsets::default());
        let e = offsets.lock().assign(0);
        offsets.lock().begin(0, 7);
        let running = offsets.enter(0, e).expect("current");
        assert_eq!(offsets.lock().running_in(&[0]), 1);
        offsets.lock().start_revoke(0);
        assert!(offsets.enter(0, e).is_none(), "nothing new starts");
        assert_eq!(offsets.lock().epoch(0), None);
        assert!(!offsets.wait_idle(&[0], Duration::from_millis(20)));
        let waiter = {
            let offsets = offsets.clone();
            std::thread::spawn(move || offsets.wait_idle(&[0], Duration::from_secs(30)))
        };
        // The running record still finishes into the revoked assignment.
        offsets.lock().finish(0, e, 7);
        drop(running);
        assert!(waiter.join().expect("waiter"), "woken when idle");
        assert_eq!(offsets.lock().revoke(0), Some(8));
        assert!(offsets.wait_idle(&[0, 1], Duration::ZERO));
    }

    #[test]
    fn a_revoking_partition_is_left_to_the_revocation_commit() {
        let mut t = Tracker::default();
        let e0 = t.assign(0);
        let e1 = t.assign(1);
        for partition in [0, 1] {
            t.begin(partition, 0);
            t.begin(partition, 1);
        }
        t.finish(0, e0, 0);
        t.finish(1, e1, 0);
        assert_eq!(t.take_commits(), [(0, 1), (1, 1)]);
        t.start_revoke(0);
        // A handler of the revoked partition finishes while the revocation
        // waits: the periodic commit leaves it to the revocation's own.
        t.finish(0, e0, 1);
        t.finish(1, e1, 1);
        assert_eq!(t.take_commits(), [(1, 2)], "only the partition staying");
        assert_eq!(t.revoke(0), Some(2), "the revocation commits it");
        assert_eq!(t.revoke(1), Some(2), "an async commit's outcome is unknown");
    }

    #[test]
    fn failed_commits_are_retried() {
        let mut t = Tracker::default();
        let e = t.assign(0);
        t.begin(0, 0);
        t.finish(0, e, 0);
        assert_eq!(t.take_commits(), [(0, 1)]);
        t.commit_failed(0, 1);
        assert_eq!(t.take_commits(), [(0, 1)]);
        assert_eq!(t.assigned(), [0]);
    }
}
