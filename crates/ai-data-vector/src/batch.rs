//! Batch helpers every backend's `upsert` uses, so all of them treat bad
//! records, repeated ids and oversized batches alike.
//!
//! ```
//! use ai_data_vector::{batch, CollectionSpec, Metric, Record, RecordId};
//!
//! let spec = CollectionSpec::new("docs", 2, Metric::L2);
//! let id = |k: &str| RecordId::from_key(k);
//! let records = vec![
//!     Record::new(id("a"), vec![0.0, 1.0], Default::default()),
//!     Record::new(id("b"), vec![f32::NAN, 1.0], Default::default()), // bad: reported
//!     Record::new(id("c"), vec![2.0, 1.0], Default::default()),
//!     Record::new(id("a"), vec![3.0, 1.0], Default::default()),      // same id: last wins
//! ];
//! let plan = batch::plan_upsert(&spec, &records);
//! assert_eq!(plan.records().len(), 2);
//! assert_eq!(plan.records()[0].vector, vec![3.0, 1.0]);
//! assert_eq!(plan.chunks(1).count(), 2); // max batch size 1: two requests
//! let report = plan.into_report();
//! assert_eq!(report.upserted, 3);
//! assert_eq!(report.failures[0].index, 1);
//! ```

use std::collections::HashMap;

use crate::{validate, CollectionSpec, Error, Record, RecordId, UpsertReport};

/// `items` in slices of at most `max` (at least 1).
pub fn chunks<T>(items: &[T], max: usize) -> std::slice::Chunks<'_, T> {
    items.chunks(max.max(1))
}

/// The records of an upsert batch that passed validation, with repeated ids
/// collapsed (last one wins, at the first one's position), and the report of
/// those that did not.
#[derive(Debug)]
pub struct UpsertPlan<'a> {
    records: Vec<&'a Record>,
    accepted: u64,
    report: UpsertReport,
}

/// Validate each record of a batch against `spec` ([`validate::record`]):
/// failures go to the report with their batch position and an
/// `InvalidInput` error naming the record; the rest are written.
pub fn plan_upsert<'a>(spec: &CollectionSpec, records: &'a [Record]) -> UpsertPlan<'a> {
    let mut report = UpsertReport::new(0);
    let mut valid: Vec<&'a Record> = Vec::with_capacity(records.len());
    let mut position: HashMap<RecordId, usize> = HashMap::with_capacity(records.len());
    let mut accepted = 0_u64;
    for (index, record) in records.iter().enumerate() {
        if let Err(e) = validate::record(spec, record) {
            let message = format!("record #{index} ({}): {}", record.id, e.message());
            report.push_failure(index, record.id, Error::new(e.kind(), message));
            continue;
        }
        accepted += 1;
        match position.get(&record.id) {
            Some(&at) => valid[at] = record,
            None => {
                position.insert(record.id, valid.len());
                valid.push(record);
            }
        }
    }
    UpsertPlan {
        records: valid,
        accepted,
        report,
    }
}

impl<'a> UpsertPlan<'a> {
    /// The records to write, one per id.
    pub fn records(&self) -> &[&'a Record] {
        &self.records
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records to write, in requests of at most `max_batch_size`.
    pub fn chunks(&self, max_batch_size: usize) -> std::slice::Chunks<'_, &'a Record> {
        chunks(&self.records, max_batch_size)
    }

    /// The report once every chunk is written: `upserted` counts every valid
    /// record of the batch (including ones superseded by a later record
    /// with the same id), `failures` the invalid ones. A backend adds the
    /// server's per-record failures with [`UpsertReport::push_failure`]
    /// (and lowers `upserted` by as many).
    pub fn into_report(self) -> UpsertReport {
        let mut report = self.report;
        report.upserted = self.accepted;
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, FieldKind, Metric};
    use serde_json::json;

    #[test]
    fn bad_records_are_reported_and_good_ones_kept() {
        let spec = CollectionSpec::new("c", 2, Metric::Cosine).with_field("n", FieldKind::Int);
        let payload = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let records = vec![
            Record::new(
                RecordId::from_key("ok"),
                vec![1.0, 0.0],
                payload(json!({"n": 1})),
            ),
            Record::new(RecordId::from_key("dim"), vec![1.0], Default::default()),
            Record::new(
                RecordId::from_key("zero"),
                vec![0.0, 0.0],
                Default::default(),
            ),
            Record::new(
                RecordId::from_key("type"),
                vec![1.0, 1.0],
                payload(json!({"n": "1"})),
            ),
            Record::new(
                RecordId::from_key("ok2"),
                vec![0.0, 1.0],
                Default::default(),
            ),
        ];
        let plan = plan_upsert(&spec, &records);
        let ids: Vec<RecordId> = plan.records().iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            vec![RecordId::from_key("ok"), RecordId::from_key("ok2")]
        );
        let report = plan.into_report();
        assert_eq!(report.upserted, 2);
        let failed: Vec<(usize, ErrorKind)> = report
            .failures
            .iter()
            .map(|f| (f.index, f.error.kind()))
            .collect();
        assert_eq!(
            failed,
            vec![
                (1, ErrorKind::InvalidInput),
                (2, ErrorKind::InvalidInput),
                (3, ErrorKind::InvalidInput)
            ]
        );
        assert!(report.failures[0]
            .error
            .message()
            .starts_with("record #1 ("));
        assert_eq!(report.failures[2].id, RecordId::from_key("type"));
    }

    #[test]
    fn empty_batch_and_chunking() {
        let spec = CollectionSpec::new("c", 1, Metric::L2);
        let empty = plan_upsert(&spec, &[]);
        assert!(empty.is_empty());
        assert_eq!(empty.chunks(10).count(), 0);
        assert_eq!(empty.into_report().upserted, 0);
        let records: Vec<Record> = (0..25)
            .map(|i| {
                Record::new(
                    RecordId::from_key(&i.to_string()),
                    vec![i as f32],
                    Default::default(),
                )
            })
            .collect();
        let plan = plan_upsert(&spec, &records);
        let sizes: Vec<usize> = plan.chunks(10).map(<[_]>::len).collect();
        assert_eq!(sizes, vec![10, 10, 5]);
        assert_eq!(
            chunks(&[1, 2, 3], 0).count(),
            3,
            "a max of 0 is treated as 1"
        );
    }
}
