//! What a collection is: its [`CollectionSpec`] (name, dimension, [`Metric`],
//! [`IndexSpec`], storage [`Precision`], declared filterable [`FieldSpec`]s,
//! the text fields keyword search reads) and its [`Record`]s.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{RecordId, TextAnalyzer, TextSearch};

/// A record's payload: any JSON object. Keys are free-form; only the fields a
/// collection declares in [`CollectionSpec::fields`] can be filtered on, and
/// their values must have the declared [`FieldKind`].
///
/// Every backend returns a payload **unchanged**: it serialises to the same
/// JSON text as the one written. Each float comes back bit for bit, with
/// its sign (`-0.0`) and as a float (`1e18` is not turned into the integer
/// `1000000000000000000`), integers up to `u64::MAX` / down to `i64::MIN`
/// exactly (`serde_json`'s `float_roundtrip` parser, and on pgvector the
/// exact text kept beside the `jsonb`). No key or string may contain
/// U+0000 (PostgreSQL cannot store it): such a record is refused as
/// `InvalidInput` on every backend ([`crate::validate::no_nul`]).
pub type Payload = serde_json::Map<String, serde_json::Value>;

/// One stored vector with its id and payload.
///
/// ```
/// use ai_data_vector::{Payload, Record, RecordId};
/// use serde_json::json;
///
/// let payload: Payload = json!({"lang": "en", "year": 2024})
///     .as_object()
///     .cloned()
///     .unwrap_or_default();
/// let record = Record::new(RecordId::from_key("doc-1"), vec![0.1, 0.2, 0.3], payload);
/// assert_eq!(record.vector.len(), 3);
/// assert_eq!(record.payload["lang"], "en");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record's id; upserting the same id again replaces the record.
    pub id: RecordId,
    /// The embedding; its length must equal the collection's dimension.
    pub vector: Vec<f32>,
    /// The payload, returned unchanged by `get` and `search`.
    pub payload: Payload,
}

impl Record {
    /// A record from its parts.
    pub fn new(id: RecordId, vector: Vec<f32>, payload: Payload) -> Self {
        Record {
            id,
            vector,
            payload,
        }
    }
}

/// How distance is measured. Every backend returns the **same numbers**:
///
/// | metric | distance | range | pgvector operator |
/// |---|---|---|---|
/// | `Cosine` | `1 - a·b / (‖a‖ ‖b‖)` | `[0, 2]` | `<=>` |
/// | `Dot` | `-(a·b)` (negative inner product) | any | `<#>` |
/// | `L2` | `‖a - b‖` (Euclidean, **not** squared) | `[0, ∞)` | `<->` |
///
/// Smaller is closer for all three, so hits are always sorted by ascending
/// distance. Backends whose native score differs convert to these (Weaviate
/// reports `l2-squared`: take the square root; its `dot` is already `-a·b`).
/// Under `Cosine` a zero vector has no direction and is rejected as invalid
/// input.
///
/// ```
/// use ai_data_vector::{distance, Metric};
///
/// let (a, b) = ([1.0_f32, 0.0], [0.0_f32, 2.0]);
/// assert_eq!(distance::distance(Metric::Cosine, &a, &b), 1.0);
/// assert_eq!(distance::distance(Metric::Dot, &a, &b), -0.0);
/// assert!((distance::distance(Metric::L2, &a, &b) - 5.0_f32.sqrt()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Cosine distance, `1 - cos(a, b)`.
    Cosine,
    /// Negative inner product, `-(a·b)`.
    Dot,
    /// Euclidean distance, `‖a - b‖`.
    L2,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 3] = [Metric::Cosine, Metric::Dot, Metric::L2];

    /// Stable lowercase name: `cosine`, `dot`, `l2`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::L2 => "l2",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The index a backend builds for a collection.
///
/// ```
/// use ai_data_vector::{IndexKind, IndexSpec};
///
/// let hnsw = IndexSpec::default();
/// assert_eq!(hnsw, IndexSpec::Hnsw { m: 16, ef_construction: 64 });
/// assert_eq!(hnsw.kind(), IndexKind::Hnsw);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum IndexSpec {
    /// Approximate HNSW graph (pgvector `hnsw`, Weaviate `hnsw`).
    Hnsw {
        /// Links per node (pgvector default 16).
        m: u32,
        /// Candidate list size while building (pgvector default 64).
        ef_construction: u32,
    },
    /// Approximate inverted lists (pgvector `ivfflat`).
    IvfFlat {
        /// Number of lists (rows / 1000 is pgvector's advice up to 1M rows).
        lists: u32,
    },
    /// No index: an exact scan (Weaviate `flat`). `MemoryStore` is always exact.
    Exact,
}

impl IndexSpec {
    /// The kind, without parameters.
    pub const fn kind(&self) -> IndexKind {
        match self {
            IndexSpec::Hnsw { .. } => IndexKind::Hnsw,
            IndexSpec::IvfFlat { .. } => IndexKind::IvfFlat,
            IndexSpec::Exact => IndexKind::Exact,
        }
    }

    /// Whether searches through this index return exactly the nearest records.
    pub const fn is_exact(&self) -> bool {
        matches!(self, IndexSpec::Exact)
    }
}

impl Default for IndexSpec {
    /// HNSW with pgvector's defaults, `m = 16`, `ef_construction = 64`.
    fn default() -> Self {
        IndexSpec::Hnsw {
            m: 16,
            ef_construction: 64,
        }
    }
}

/// An [`IndexSpec`] without its parameters, as listed in capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    /// HNSW graph.
    Hnsw,
    /// IVFFlat lists.
    IvfFlat,
    /// Exact scan.
    Exact,
}

/// How a collection stores its vectors' components.
///
/// `F16` halves storage and I/O (pgvector `halfvec`, which also indexes up to
/// 4,000 dimensions where `vector` stops at 2,000). Components are rounded
/// to the nearest IEEE 754 half-precision value on write, on every backend,
/// so `get` returns the rounded vector and distances are computed from it
/// (within about `1e-3` relative of the `f32` distance for typical
/// embeddings: half precision keeps 11 significant bits). A component whose
/// magnitude exceeds `65504` (the largest half) is refused as invalid input.
///
/// ```
/// use ai_data_vector::Precision;
///
/// assert_eq!(Precision::default(), Precision::F32);
/// assert_eq!(Precision::F16.round(1.0009765625_f32 + 0.0001), 1.0009765625);
/// assert_eq!(Precision::F32.round(0.1), 0.1);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats (pgvector `vector`). The default.
    #[default]
    F32,
    /// 16-bit floats (pgvector `halfvec`, `half::f16` in memory).
    F16,
}

impl Precision {
    /// Largest finite magnitude a component may have.
    pub const fn max_component(self) -> f32 {
        match self {
            Precision::F32 => f32::MAX,
            Precision::F16 => 65504.0,
        }
    }

    /// `x` as this precision stores it.
    pub fn round(self, x: f32) -> f32 {
        match self {
            Precision::F32 => x,
            Precision::F16 => half::f16::from_f32(x).to_f32(),
        }
    }

    /// Stable lowercase name: `f32`, `f16`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a declared, filterable payload field.
///
/// Payload values of declared fields are checked on every write: `Text` is a
/// JSON string (matched exactly and case-sensitively: a Weaviate backend
/// must use `field` tokenization), `Int` a JSON integer in `i64` range,
/// `Float` any JSON number, `Bool` a JSON boolean, `Timestamp` an RFC 3339
/// string (e.g. `"2024-05-01T12:00:00Z"`), `TextList` / `IntList` JSON arrays
/// of those. A declared field may be missing or `null` in any record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// UTF-8 text, compared exactly.
    Text,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// Boolean.
    Bool,
    /// Instant in time (UTC), stored as RFC 3339 text; filters compare it
    /// at whole microseconds on every backend (see [`crate::filter`]).
    Timestamp,
    /// List of texts; filtered with `ContainsAny`.
    TextList,
    /// List of integers; filtered with `ContainsAny`.
    IntList,
}

impl FieldKind {
    /// Whether the kind is a list (`TextList`, `IntList`).
    pub const fn is_list(self) -> bool {
        matches!(self, FieldKind::TextList | FieldKind::IntList)
    }

    /// Whether `<`, `<=`, `>`, `>=` apply (`Int`, `Float`, `Timestamp`).
    /// Text is not ordered: collations differ between backends.
    pub const fn is_ordered(self) -> bool {
        matches!(
            self,
            FieldKind::Int | FieldKind::Float | FieldKind::Timestamp
        )
    }

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Int => "int",
            FieldKind::Float => "float",
            FieldKind::Bool => "bool",
            FieldKind::Timestamp => "timestamp",
            FieldKind::TextList => "text_list",
            FieldKind::IntList => "int_list",
        }
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A declared, filterable payload field.
///
/// ```
/// use ai_data_vector::{FieldKind, FieldSpec};
///
/// let field = FieldSpec::new("year", FieldKind::Int);
/// assert_eq!(field, FieldSpec { name: "year".into(), kind: FieldKind::Int });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldSpec {
    /// The payload key; must be a safe identifier (`[A-Za-z_][A-Za-z0-9_]{0,62}`).
    pub name: String,
    /// The type its values must have.
    pub kind: FieldKind,
}

impl FieldSpec {
    /// A field of `kind` named `name`.
    pub fn new(name: impl Into<String>, kind: FieldKind) -> Self {
        FieldSpec {
            name: name.into(),
            kind,
        }
    }
}

/// Everything a backend needs to create (or check) a collection.
///
/// ```
/// use ai_data_vector::{CollectionSpec, FieldKind, IndexSpec, Metric};
///
/// let spec = CollectionSpec::new("documents", 768, Metric::Cosine)
///     .with_index(IndexSpec::Hnsw { m: 16, ef_construction: 64 })
///     .with_field("lang", FieldKind::Text)
///     .with_field("year", FieldKind::Int)
///     .with_embedding_model("text-embedding-3-small");
/// assert_eq!(spec.field("year").map(|f| f.kind), Some(FieldKind::Int));
/// assert_eq!(spec.field("title"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CollectionSpec {
    /// The collection's name; a safe identifier (`[A-Za-z_][A-Za-z0-9_]{0,62}`).
    pub name: String,
    /// Length of every vector in it.
    pub dimension: usize,
    /// How distance is measured.
    pub metric: Metric,
    /// The index to build (default: HNSW `m = 16`, `ef_construction = 64`).
    pub index: IndexSpec,
    /// The payload fields filters may use, with their types.
    pub fields: Vec<FieldSpec>,
    /// The model that produced the embeddings; checked by `ensure_collection`
    /// so a service started with another model fails instead of mixing spaces.
    pub embedding_model: Option<String>,
    /// How vector components are stored (default `F32`).
    #[serde(default)]
    pub precision: Precision,
    /// The declared `Text` fields keyword and hybrid search read, and how
    /// their text is analysed; `None`: no text search on this collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_search: Option<TextSearch>,
}

impl CollectionSpec {
    /// A spec with the default index, no declared fields and no model name.
    pub fn new(name: impl Into<String>, dimension: usize, metric: Metric) -> Self {
        CollectionSpec {
            name: name.into(),
            dimension,
            metric,
            index: IndexSpec::default(),
            fields: Vec::new(),
            embedding_model: None,
            precision: Precision::F32,
            text_search: None,
        }
    }

    /// Store the vectors' components at `precision`.
    #[must_use]
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Make the declared `Text` fields `fields` searchable by keyword, their
    /// text analysed by `analyzer` (see [`TextSearch`]).
    #[must_use]
    pub fn with_text_search<I, S>(mut self, fields: I, analyzer: TextAnalyzer) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.text_search = Some(TextSearch::new(fields, analyzer));
        self
    }

    /// Set the index.
    #[must_use]
    pub fn with_index(mut self, index: IndexSpec) -> Self {
        self.index = index;
        self
    }

    /// Declare a filterable field.
    #[must_use]
    pub fn with_field(mut self, name: impl Into<String>, kind: FieldKind) -> Self {
        self.fields.push(FieldSpec::new(name, kind));
        self
    }

    /// Record the embedding model's name.
    #[must_use]
    pub fn with_embedding_model(mut self, model: impl Into<String>) -> Self {
        self.embedding_model = Some(model.into());
        self
    }

    /// The declared field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}
