//! The vector-search layer of `ai-data`: one object-safe async trait,
//! [`VectorStore`], that every backend implements (the exact in-memory
//! [`MemoryStore`] here; pgvector and Weaviate backends on the same trait),
//! with the pieces they share:
//!
//! - the data model: [`RecordId`] (a UUID), [`Record`], [`CollectionSpec`]
//!   ([`Metric`], [`IndexSpec`], [`FieldSpec`]), [`SearchQuery`] /
//!   [`SearchHit`], [`Selector`], [`UpsertReport`], [`Capabilities`];
//! - the [`Filter`] tree and its exact semantics ([`filter`]);
//! - [`validate`]: the checks every backend runs before any I/O;
//! - [`batch`]: per-record failures, repeated ids and chunking for upserts;
//! - [`distance`]: the kernels and the one definition of each metric's
//!   distance, identical on every backend;
//! - [`wire`]: vector encodings (little-endian `f32` bytes, JSON text);
//! - [`text`] and [`fusion`]: keyword search's terms and BM25, and how
//!   hybrid search fuses the vector and keyword arms, defined once;
//! - [`Collection<T>`]: typed access with a service's own structs;
//! - `conformance` (feature `conformance`): the scenarios every backend's
//!   tests run, compared with [`MemoryStore`]'s exact answers.
//!
//! ```
//! use std::sync::Arc;
//! use ai_data_vector::{CollectionSpec, FieldKind, Filter, MemoryStore, Metric, Record, RecordId, SearchQuery, VectorStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> ai_data_vector::Result<()> {
//! let store: Arc<dyn VectorStore> = Arc::new(MemoryStore::new());
//! let spec = CollectionSpec::new("docs", 3, Metric::Cosine).with_field("year", FieldKind::Int);
//! store.ensure_collection(&spec).await?;
//! let payload = |year: i64| serde_json::json!({ "year": year }).as_object().cloned().unwrap_or_default();
//! store.upsert("docs", &[
//!     Record::new(RecordId::from_key("old"), vec![1.0, 0.0, 0.0], payload(2019)),
//!     Record::new(RecordId::from_key("new"), vec![0.8, 0.2, 0.0], payload(2024)),
//! ]).await?;
//! let query = SearchQuery::new(vec![1.0, 0.0, 0.0], 5).with_filter(Filter::gt("year", 2020));
//! let hits = store.search("docs", &query).await?;
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].id, RecordId::from_key("new"));
//! # Ok(())
//! # }
//! ```

pub mod batch;
mod capabilities;
mod collection;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod distance;
mod executed;
pub mod filter;
pub mod fusion;
mod id;
mod memory;
mod query;
mod store;
pub mod text;
mod typed;
pub mod validate;
pub mod wire;

pub use ai_data_core::{Error, ErrorKind, Result};
pub use capabilities::Capabilities;
pub use capabilities::KeywordScoring;
pub use collection::{
    CollectionSpec, FieldKind, FieldSpec, IndexKind, IndexSpec, Metric, Payload, Precision, Record,
};
pub use executed::ExecutedStore;
pub use filter::{Filter, FilterOp};
pub use fusion::Fusion;
pub use id::RecordId;
pub use memory::MemoryStore;
pub use query::{
    AccuracyHint, RecordFailure, SearchHit, SearchMode, SearchQuery, Selector, TextQuery,
    UpsertReport,
};
pub use store::{VectorStore, VectorStoreExt};
pub use text::{TextAnalyzer, TextSearch};
pub use typed::{Collection, TypedHit, TypedRecord};
