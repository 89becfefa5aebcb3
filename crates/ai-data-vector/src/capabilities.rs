//! [`Capabilities`]: what a backend can do, so callers, validation and the
//! conformance suite can tell an `Unsupported` from a bug.

use serde::{Deserialize, Serialize};

use crate::{FilterOp, IndexKind, Metric, Precision, TextAnalyzer};

/// How a backend scores keyword matches (what the conformance suite can
/// then compare exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeywordScoring {
    /// Okapi BM25 as [`crate::text::Bm25`] defines it (`MemoryStore`,
    /// Weaviate): the same ranking as the oracle.
    Bm25,
    /// PostgreSQL's `ts_rank_cd` (cover density, normalisation 0): another
    /// score, so only the set of matching records and the fusion of the
    /// backend's own arms are compared, not the keyword order.
    TsRankCd,
}

/// What a backend supports. Validation checks requests against it before any
/// I/O: an unsupported metric, index or filter operator is
/// `ErrorKind::Unsupported`; a `k`, dimension or batch beyond the limits is
/// `ErrorKind::InvalidInput`, except that batches over `max_batch_size` are
/// split into chunks, not refused.
///
/// ```
/// use ai_data_vector::{Capabilities, FilterOp, Metric};
///
/// let caps = Capabilities::new(500, 2000, 1000)
///     .with_metrics([Metric::Cosine, Metric::L2])
///     .with_filter_ops(FilterOp::ALL.into_iter().filter(|op| *op != FilterOp::ContainsAny));
/// assert!(caps.supports_metric(Metric::L2));
/// assert!(!caps.supports_metric(Metric::Dot));
/// assert!(!caps.supports_filter_op(FilterOp::ContainsAny));
/// assert_eq!(caps.max_k, 1000);
/// assert!(caps.ties_by_id);
/// assert!(!caps.with_ties_by_id(false).ties_by_id);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Metrics collections may use.
    pub metrics: Vec<Metric>,
    /// Index kinds collections may use.
    pub index_kinds: Vec<IndexKind>,
    /// Filter operators the backend can express exactly.
    pub filter_ops: Vec<FilterOp>,
    /// Whether the backend offers keyword and hybrid (vector + keyword)
    /// search ([`crate::SearchQuery::text`]).
    pub hybrid: bool,
    /// Analyzers collections may declare for text search.
    #[serde(default)]
    pub text_analyzers: Vec<TextAnalyzer>,
    /// How keyword matches are scored (`None` without text search).
    #[serde(default)]
    pub keyword_scoring: Option<KeywordScoring>,
    /// Whether `Fusion::Ranked` may use any `k` (false: only 60, Weaviate's
    /// fixed constant).
    #[serde(default)]
    pub any_rank_constant: bool,
    /// Storage precisions collections may use.
    #[serde(default = "precisions_default")]
    pub precisions: Vec<Precision>,
    /// Largest dimension of an indexed (HNSW, IVFFlat) `F32` collection when
    /// below `max_dimension` (pgvector: 2,000; `halfvec` indexes 4,000).
    #[serde(default)]
    pub max_indexed_f32_dimension: Option<usize>,
    /// Records per write request; larger batches are split into chunks.
    pub max_batch_size: usize,
    /// Largest vector dimension.
    pub max_dimension: usize,
    /// Largest `k` of a search.
    pub max_k: usize,
    /// Whether an exact-index search that cuts through equal distances keeps
    /// the records with the smallest ids (true for `MemoryStore` and
    /// `PgVectorStore`). When false (`WeaviateStore`: a `flat` index cuts
    /// such a tie as the server does, which is not by id) the hits are still
    /// the `k` nearest distances and still listed by distance, then id, but
    /// *which* of the records tied at the `k`-th distance are kept is the
    /// backend's choice. Defaults to true (also when absent in serialized
    /// capabilities).
    #[serde(default = "ties_by_id_default")]
    pub ties_by_id: bool,
}

fn ties_by_id_default() -> bool {
    true
}

fn precisions_default() -> Vec<Precision> {
    vec![Precision::F32]
}

impl Capabilities {
    /// Every metric, index kind and filter operator, `F32` only, no text
    /// search, and the given limits (each at least 1).
    pub fn new(max_batch_size: usize, max_dimension: usize, max_k: usize) -> Self {
        Capabilities {
            metrics: Metric::ALL.to_vec(),
            index_kinds: vec![IndexKind::Hnsw, IndexKind::IvfFlat, IndexKind::Exact],
            filter_ops: FilterOp::ALL.to_vec(),
            hybrid: false,
            text_analyzers: Vec::new(),
            keyword_scoring: None,
            any_rank_constant: false,
            precisions: precisions_default(),
            max_indexed_f32_dimension: None,
            max_batch_size: max_batch_size.max(1),
            max_dimension: max_dimension.max(1),
            max_k: max_k.max(1),
            ties_by_id: true,
        }
    }

    /// Replace the supported metrics.
    #[must_use]
    pub fn with_metrics(mut self, metrics: impl IntoIterator<Item = Metric>) -> Self {
        self.metrics = metrics.into_iter().collect();
        self
    }

    /// Replace the supported index kinds.
    #[must_use]
    pub fn with_index_kinds(mut self, kinds: impl IntoIterator<Item = IndexKind>) -> Self {
        self.index_kinds = kinds.into_iter().collect();
        self
    }

    /// Replace the supported filter operators.
    #[must_use]
    pub fn with_filter_ops(mut self, ops: impl IntoIterator<Item = FilterOp>) -> Self {
        self.filter_ops = ops.into_iter().collect();
        self
    }

    /// Offer keyword and hybrid search with these analyzers and scoring
    /// (and any rank constant when `any_rank_constant`).
    #[must_use]
    pub fn with_text_search(
        mut self,
        analyzers: impl IntoIterator<Item = TextAnalyzer>,
        scoring: KeywordScoring,
        any_rank_constant: bool,
    ) -> Self {
        self.hybrid = true;
        self.text_analyzers = analyzers.into_iter().collect();
        self.keyword_scoring = Some(scoring);
        self.any_rank_constant = any_rank_constant;
        self
    }

    /// Replace the supported storage precisions.
    #[must_use]
    pub fn with_precisions(mut self, precisions: impl IntoIterator<Item = Precision>) -> Self {
        self.precisions = precisions.into_iter().collect();
        self
    }

    /// Limit indexed `F32` collections to `n` dimensions.
    #[must_use]
    pub fn with_max_indexed_f32_dimension(mut self, n: usize) -> Self {
        self.max_indexed_f32_dimension = Some(n);
        self
    }

    /// Whether `precision` is supported.
    pub fn supports_precision(&self, precision: Precision) -> bool {
        self.precisions.contains(&precision)
    }

    /// Whether collections may declare text search with `analyzer`.
    pub fn supports_analyzer(&self, analyzer: TextAnalyzer) -> bool {
        self.hybrid && self.text_analyzers.contains(&analyzer)
    }

    /// Set whether a tie cut by `k` keeps the smallest ids
    /// ([`Capabilities::ties_by_id`]).
    #[must_use]
    pub fn with_ties_by_id(mut self, ties_by_id: bool) -> Self {
        self.ties_by_id = ties_by_id;
        self
    }

    /// Whether `metric` is supported.
    pub fn supports_metric(&self, metric: Metric) -> bool {
        self.metrics.contains(&metric)
    }

    /// Whether `kind` is supported.
    pub fn supports_index(&self, kind: IndexKind) -> bool {
        self.index_kinds.contains(&kind)
    }

    /// Whether `op` is supported.
    pub fn supports_filter_op(&self, op: FilterOp) -> bool {
        self.filter_ops.contains(&op)
    }
}
