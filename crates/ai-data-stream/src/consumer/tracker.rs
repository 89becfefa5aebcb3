//! Per-partition offset tracking: which received offsets are finished, and
//! how far the contiguous finished prefix reaches (the only safe commit).

use std::collections::{BTreeMap, HashMap};

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
}

impl PartitionState {
    fn new(epoch: u64) -> Self {
        PartitionState {
            epoch,
            pending: BTreeMap::new(),
            committable: None,
            committed: None,
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
}

impl Tracker {
    /// Start tracking `partition` afresh.
    pub(crate) fn assign(&mut self, partition: i32) -> u64 {
        self.next_epoch += 1;
        self.partitions
            .insert(partition, PartitionState::new(self.next_epoch));
        self.next_epoch
    }

    /// Stop tracking `partition`; returns the commit position not yet committed.
    pub(crate) fn revoke(&mut self, partition: i32) -> Option<i64> {
        self.partitions
            .remove(&partition)
            .and_then(|s| s.uncommitted())
    }

    /// The current epoch of `partition`, if assigned.
    pub(crate) fn epoch(&self, partition: i32) -> Option<u64> {
        self.partitions.get(&partition).map(|s| s.epoch)
    }

    /// Register a received record; `None` when the partition is not assigned.
    pub(crate) fn begin(&mut self, partition: i32, offset: i64) -> Option<u64> {
        let state = self.partitions.get_mut(&partition)?;
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
    /// committed from now on (see [`Tracker::commit_failed`]).
    pub(crate) fn take_commits(&mut self) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        for (&partition, state) in &mut self.partitions {
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
        assert_eq!(t.revoke(0), None, "already committed");
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
