//! Requests and answers: [`SearchQuery`] / [`SearchHit`], [`Selector`] for
//! deletes, [`UpsertReport`] with its per-record [`RecordFailure`]s.

use serde::{Deserialize, Serialize};

use crate::{Error, Filter, Payload, RecordId, Result};

/// Per-query accuracy knobs of approximate indexes; exact backends ignore them.
///
/// ```
/// use ai_data_vector::AccuracyHint;
///
/// let hint = AccuracyHint::ef_search(100);
/// assert_eq!(hint.ef_search, Some(100));
/// assert_eq!(hint.probes, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracyHint {
    /// HNSW candidate list size (pgvector `hnsw.ef_search`, Weaviate `ef`).
    pub ef_search: Option<u32>,
    /// IVFFlat lists to probe (pgvector `ivfflat.probes`).
    pub probes: Option<u32>,
}

impl AccuracyHint {
    /// Only an HNSW `ef_search`.
    pub const fn ef_search(ef: u32) -> Self {
        AccuracyHint {
            ef_search: Some(ef),
            probes: None,
        }
    }

    /// Only an IVFFlat `probes`.
    pub const fn probes(probes: u32) -> Self {
        AccuracyHint {
            ef_search: None,
            probes: Some(probes),
        }
    }
}

/// A k-nearest-neighbour query.
///
/// By default the payload is returned and the vector is not.
///
/// ```
/// use ai_data_vector::{AccuracyHint, Filter, SearchQuery};
///
/// let query = SearchQuery::new(vec![0.1, 0.2, 0.3], 10)
///     .with_filter(Filter::eq("lang", "en"))
///     .with_max_distance(0.5)
///     .with_accuracy(AccuracyHint::ef_search(80))
///     .with_vectors(true);
/// assert_eq!(query.k, 10);
/// assert!(query.include_payload && query.include_vector);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchQuery {
    /// The query vector; its length must equal the collection's dimension.
    pub vector: Vec<f32>,
    /// How many hits at most (1 ..= the backend's `max_k`).
    pub k: usize,
    /// Only records matching this filter.
    pub filter: Option<Filter>,
    /// Only hits with `distance <= max_distance` (in the metric's units).
    pub max_distance: Option<f32>,
    /// Accuracy knobs for approximate indexes.
    pub accuracy: AccuracyHint,
    /// Return each hit's payload (default `true`).
    pub include_payload: bool,
    /// Return each hit's vector (default `false`).
    pub include_vector: bool,
}

impl SearchQuery {
    /// The `k` nearest records to `vector`, with payloads, without vectors.
    pub fn new(vector: Vec<f32>, k: usize) -> Self {
        SearchQuery {
            vector,
            k,
            filter: None,
            max_distance: None,
            accuracy: AccuracyHint::default(),
            include_payload: true,
            include_vector: false,
        }
    }

    /// Only records matching `filter`.
    #[must_use]
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Only hits within `max_distance`.
    #[must_use]
    pub fn with_max_distance(mut self, max_distance: f32) -> Self {
        self.max_distance = Some(max_distance);
        self
    }

    /// Set accuracy knobs.
    #[must_use]
    pub fn with_accuracy(mut self, accuracy: AccuracyHint) -> Self {
        self.accuracy = accuracy;
        self
    }

    /// Return payloads or not.
    #[must_use]
    pub fn with_payloads(mut self, include: bool) -> Self {
        self.include_payload = include;
        self
    }

    /// Return vectors or not.
    #[must_use]
    pub fn with_vectors(mut self, include: bool) -> Self {
        self.include_vector = include;
        self
    }
}

/// One search result. Results come sorted by ascending `distance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The record's id.
    pub id: RecordId,
    /// Distance to the query, in the collection metric's units (see [`crate::Metric`]).
    pub distance: f32,
    /// The payload, when the query asked for it.
    pub payload: Option<Payload>,
    /// The vector, when the query asked for it.
    pub vector: Option<Vec<f32>>,
}

/// Which records a delete removes.
///
/// ```
/// use ai_data_vector::{Filter, RecordId, Selector};
///
/// let by_ids = Selector::Ids(vec![RecordId::from_key("a"), RecordId::from_key("b")]);
/// let by_filter = Selector::Filter(Filter::lt("year", 2000));
/// assert_ne!(by_ids, by_filter);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selector {
    /// These ids (missing ids are ignored; an empty list deletes nothing).
    Ids(Vec<RecordId>),
    /// Every record matching the filter.
    Filter(Filter),
}

/// One record an upsert did not write, and why.
#[derive(Debug)]
pub struct RecordFailure {
    /// Position of the record in the batch passed to `upsert`.
    pub index: usize,
    /// The record's id.
    pub id: RecordId,
    /// Why it was not written (`InvalidInput` for validation failures).
    pub error: Error,
}

/// The outcome of an upsert: how many records were written and which were not.
///
/// Validation failures of single records do not fail the whole call: the
/// other records are still written and the bad ones are listed here.
///
/// ```
/// use ai_data_vector::{Error, RecordId, UpsertReport};
///
/// let mut report = UpsertReport::new(2);
/// assert!(report.is_complete());
/// report.push_failure(2, RecordId::from_key("c"), Error::invalid_input("NaN"));
/// assert!(!report.is_complete());
/// assert!(report.into_result().is_err());
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct UpsertReport {
    /// Records written (a record superseded by a later one with the same id in
    /// the same batch counts as written).
    pub upserted: u64,
    /// Records not written, in batch order.
    pub failures: Vec<RecordFailure>,
}

impl UpsertReport {
    /// A report of `upserted` records and no failures.
    pub fn new(upserted: u64) -> Self {
        UpsertReport {
            upserted,
            failures: Vec::new(),
        }
    }

    /// Add a failure.
    pub fn push_failure(&mut self, index: usize, id: RecordId, error: Error) {
        self.failures.push(RecordFailure { index, id, error });
    }

    /// Whether every record was written.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }

    /// Add another report's counts and failures (e.g. of a later chunk).
    pub fn merge(&mut self, other: UpsertReport) {
        self.upserted += other.upserted;
        self.failures.extend(other.failures);
        self.failures.sort_by_key(|f| f.index);
    }

    /// `Ok(upserted)` when complete, else the first failure's error.
    pub fn into_result(self) -> Result<u64> {
        match self.failures.into_iter().next() {
            None => Ok(self.upserted),
            Some(first) => Err(first.error),
        }
    }
}
