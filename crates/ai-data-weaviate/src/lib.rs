//! Weaviate on the `ai-data` core: [`WeaviateStore`] implements
//! [`ai_data_vector::VectorStore`] on Weaviate 1.22+, over its own
//! [`WeaviateClient`] (REST and GraphQL on reqwest with rustls) and, with
//! feature `grpc`, the gRPC `Search` fast path. Its tests run against
//! `ai-data-weaviate-fake`, an in-process fake of Weaviate's published
//! contract (a real Weaviate cannot be installed on the build machines).
//!
//! - [`config`]: [`WeaviateConfig`] (URL, API key from `weaviate-apikey`, gRPC, timeouts);
//! - [`client`]: ready/live, meta, schema, batch writes with every
//!   per-object failure, deletes (by id; by filter, looping past the
//!   server's per-call limit), GraphQL (errors with HTTP 200 are errors);
//! - [`graphql`]: query text, with the one string-escaping function;
//! - [`keyword`]: `bm25` and `hybrid` queries (keyword and hybrid search);
//! - [`filter`]: [`ai_data_vector::Filter`] to Weaviate `where`, exactly;
//! - [`schema`] / [`values`] / `batch`: how a collection lives in a class;
//! - [`bootstrap`]: the seed's `Document`, `Image`, `ModelData` classes;
//! - `grpc` / `proto` (feature `grpc`): the `Search` call and its
//!   hand-written protobuf messages.
//!
//! ```no_run
//! use ai_data_weaviate::{bootstrap, WeaviateConfig, WeaviateStore};
//! use ai_data_vector::{Filter, SearchQuery, VectorStore};
//!
//! # async fn demo() -> ai_data_vector::Result<()> {
//! let store = WeaviateStore::connect(&WeaviateConfig::from_env()?).await?;
//! bootstrap::bootstrap(&store, &bootstrap::SeedOptions::default().with_dimension(768)).await?;
//! let query = SearchQuery::new(vec![0.1; 768], 5).with_filter(Filter::eq("category", "guide"));
//! for hit in store.search("Document", &query).await? {
//!     println!("{} {:.3}", hit.id, hit.distance);
//! }
//! # Ok(()) }
//! ```

mod batch;
pub mod bootstrap;
pub mod client;
pub mod config;
pub mod filter;
pub mod graphql;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod keyword;
#[cfg(feature = "grpc")]
pub mod proto;
pub mod schema;
mod store;
pub mod values;
mod version;

pub use client::{BatchObject, Meta, ObjectOutcome, WeaviateClient};
pub use config::{GrpcMode, WeaviateConfig};
pub use schema::{ClassDef, ClassOptions, PropertyDef};
pub use store::{SearchCounts, WeaviateStore, MAX_DIMENSION, MAX_K};
pub use version::ServerVersion;
