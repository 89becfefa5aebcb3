//! Requests and answers: [`SearchQuery`] / [`SearchHit`], [`Selector`] for
//! deletes, [`UpsertReport`] with its per-record [`RecordFailure`]s.

use serde::{Deserialize, Serialize};

use crate::fusion::Fusion;
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

/// The keyword half of a search: the text, and how a hybrid search fuses
/// it with the vector (see [`crate::fusion`]).
///
/// ```
/// use ai_data_vector::fusion::Fusion;
/// use ai_data_vector::TextQuery;
///
/// let text = TextQuery::new("vector databases").with_alpha(0.25).with_fusion(Fusion::RelativeScore);
/// assert_eq!(text.alpha, 0.25);
/// assert_eq!(TextQuery::new("x").fusion, Fusion::Ranked { k: 60 });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextQuery {
    /// The query text, analysed as the collection's documents are. Empty (or
    /// without any term) with a query vector: a pure vector search.
    pub text: String,
    /// The vector arm's weight in `0.0..=1.0` (the keyword arm's is
    /// `1 - alpha`); default 0.5. Weaviate's `alpha`.
    pub alpha: f32,
    /// How the arms are fused (default reciprocal rank fusion, `k = 60`).
    pub fusion: Fusion,
    /// How many records each arm ranks before fusing (default: the query's
    /// `k`; at least `k`). Weaviate ranks each arm to the request's limit:
    /// its backend asks for this many and keeps `k`.
    pub candidates: Option<usize>,
}

impl TextQuery {
    /// Keyword text with the default fusion (`alpha` 0.5, ranked, `k = 60`).
    pub fn new(text: impl Into<String>) -> Self {
        TextQuery {
            text: text.into(),
            alpha: 0.5,
            fusion: Fusion::default(),
            candidates: None,
        }
    }

    /// Set the vector arm's weight.
    #[must_use]
    pub fn with_alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Set the fusion.
    #[must_use]
    pub fn with_fusion(mut self, fusion: Fusion) -> Self {
        self.fusion = fusion;
        self
    }

    /// Rank `n` records per arm before fusing.
    #[must_use]
    pub fn with_candidates(mut self, n: usize) -> Self {
        self.candidates = Some(n);
        self
    }
}

/// What a [`SearchQuery`] asks for, by what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// A vector and no (or empty) text: nearest by distance.
    Vector,
    /// Text and an empty vector: best by keyword score.
    Keyword,
    /// A vector and text: both arms, fused.
    Hybrid,
}

/// A search: k-nearest-neighbour by vector, best by keyword, or hybrid.
///
/// By default the payload is returned and the vector is not. With a
/// [`TextQuery`] (see [`SearchQuery::with_text`], [`SearchQuery::keyword`])
/// the collection must declare text search and the backend support it
/// ([`crate::Capabilities::hybrid`]); hits then carry a [`SearchHit::score`].
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
    /// Keyword text (keyword-only with an empty `vector`, else hybrid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextQuery>,
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
            text: None,
        }
    }

    /// The `k` records with the best keyword score for `text` (no vector).
    ///
    /// ```
    /// use ai_data_vector::{SearchMode, SearchQuery};
    ///
    /// assert_eq!(SearchQuery::keyword("rust", 5).mode(), SearchMode::Keyword);
    /// ```
    pub fn keyword(text: impl Into<String>, k: usize) -> Self {
        SearchQuery::new(Vec::new(), k).with_text(TextQuery::new(text))
    }

    /// Add keyword text: a hybrid search (a keyword search with an empty vector).
    #[must_use]
    pub fn with_text(mut self, text: TextQuery) -> Self {
        self.text = Some(text);
        self
    }

    /// What this query asks for. Text that is empty or only whitespace does
    /// not count: with a vector that is a pure vector search.
    pub fn mode(&self) -> SearchMode {
        let has_text = self
            .text
            .as_ref()
            .is_some_and(|t| !t.text.trim().is_empty());
        match (self.vector.is_empty(), has_text) {
            (false, true) => SearchMode::Hybrid,
            (true, true) => SearchMode::Keyword,
            _ => SearchMode::Vector,
        }
    }

    /// Records each arm of a keyword or hybrid search ranks: the text's
    /// `candidates`, at least `k`.
    pub fn arm_depth(&self) -> usize {
        self.text
            .as_ref()
            .and_then(|t| t.candidates)
            .unwrap_or(self.k)
            .max(self.k)
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

/// One search result. Vector search results come sorted by ascending
/// `distance`; keyword and hybrid results by descending `score` (then id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The record's id.
    pub id: RecordId,
    /// Distance to the query vector, in the collection metric's units (see
    /// [`crate::Metric`]), also for hybrid hits found only by keyword. A
    /// keyword-only search has no query vector: `NaN`.
    pub distance: f32,
    /// Keyword score (keyword search: BM25 or the backend's
    /// [`crate::Capabilities::keyword_scoring`]) or fused score (hybrid, see
    /// [`crate::fusion`]); `None` for vector search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
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
