//! [`Capabilities`]: what a backend can do, so callers, validation and the
//! conformance suite can tell an `Unsupported` from a bug.

use serde::{Deserialize, Serialize};

use crate::{FilterOp, IndexKind, Metric};

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
    /// Whether the backend offers hybrid (vector + keyword) search.
    pub hybrid: bool,
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

impl Capabilities {
    /// Every metric, index kind and filter operator, no hybrid search, and
    /// the given limits (each at least 1).
    pub fn new(max_batch_size: usize, max_dimension: usize, max_k: usize) -> Self {
        Capabilities {
            metrics: Metric::ALL.to_vec(),
            index_kinds: vec![IndexKind::Hnsw, IndexKind::IvfFlat, IndexKind::Exact],
            filter_ops: FilterOp::ALL.to_vec(),
            hybrid: false,
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

    /// Set whether hybrid search is offered.
    #[must_use]
    pub fn with_hybrid(mut self, hybrid: bool) -> Self {
        self.hybrid = hybrid;
        self
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
