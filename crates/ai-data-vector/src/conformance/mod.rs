//! The conformance suite every [`VectorStore`] backend runs (feature
//! `conformance`): the same scenarios, compared with a fresh
//! [`MemoryStore`](crate::MemoryStore)'s exact answers or with
//! independently computed expectations.
//!
//! Scenarios panic with a message naming what differed, so they are called
//! from tests. Each uses its own collection, named from `name_prefix` by
//! [`collection_name`], and drops it first, so runs can share a server and
//! be repeated. A backend's test file looks like:
//!
//! ```no_run
//! # async fn open_backend() -> ai_data_vector::MemoryStore { ai_data_vector::MemoryStore::new() }
//! use ai_data_vector::{conformance, IndexSpec};
//!
//! #[tokio::test]
//! async fn whole_suite() {
//!     let store = open_backend().await;
//!     conformance::run_all(&store, "pg_conf").await;
//! }
//!
//! #[tokio::test]
//! async fn hnsw_recall() {
//!     let store = open_backend().await;
//!     conformance::search_matches_reference(&store, "pg_hnsw", IndexSpec::default()).await;
//! }
//! ```
//!
//! What "matches" means: with an exact index, the same ids in the same order
//! and distances within [`DISTANCE_TOLERANCE`] (a different id is accepted
//! only where its own exact distance ties with the reference's within the
//! tolerance); with an approximate index, recall@k of at least
//! [`MIN_RECALL`] and every returned distance exact for its record.

mod check;
mod data;
mod errors;
mod filters;
mod search;
mod writes;

use crate::VectorStore;

pub use check::{DISTANCE_TOLERANCE, MIN_RECALL};
pub use data::{clustered, queries_near};
pub use errors::{ensure_collection_rules, invalid_input_errors, missing_collection_is_not_found};
pub use filters::filter_operators;
pub use search::{filtered_search_returns_k, search_matches_reference};
pub use writes::{
    batch_sizes, count_with_and_without_filter, delete_by_ids_and_filter, get_semantics,
    payload_round_trip, upsert_overwrite,
};

/// The collection a scenario uses: `{name_prefix}_{scenario}`. Panics if that
/// is not a safe identifier (keep prefixes short: the name must fit 63 bytes).
pub fn collection_name(name_prefix: &str, scenario: &str) -> String {
    let name = format!("{name_prefix}_{scenario}");
    if let Err(e) = crate::validate::collection_name(&name) {
        panic!("conformance: prefix {name_prefix:?} gives a bad collection name: {e}");
    }
    name
}

/// Run every scenario, in order. Index-dependent scenarios use an exact index
/// when the backend offers one, and HNSW recall is checked too when it
/// offers HNSW.
pub async fn run_all(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    ensure_collection_rules(store, name_prefix).await;
    missing_collection_is_not_found(store, name_prefix).await;
    invalid_input_errors(store, name_prefix).await;
    for kind in [crate::IndexKind::Exact, crate::IndexKind::Hnsw] {
        if caps.supports_index(kind) {
            let index = match kind {
                crate::IndexKind::Exact => crate::IndexSpec::Exact,
                _ => crate::IndexSpec::default(),
            };
            search_matches_reference(store, name_prefix, index).await;
        }
    }
    filtered_search_returns_k(store, name_prefix).await;
    filter_operators(store, name_prefix).await;
    upsert_overwrite(store, name_prefix).await;
    delete_by_ids_and_filter(store, name_prefix).await;
    count_with_and_without_filter(store, name_prefix).await;
    payload_round_trip(store, name_prefix).await;
    batch_sizes(store, name_prefix).await;
    get_semantics(store, name_prefix).await;
}
