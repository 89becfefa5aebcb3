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
//! async fn typed_payloads() {
//!     let store = std::sync::Arc::new(open_backend().await);
//!     conformance::typed_collection_round_trip(store, "pg_typed").await;
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
//! [`MIN_RECALL`] and every returned distance exact for its record. Keyword
//! and hybrid search: see [`keyword_search_matches_oracle`] and
//! [`hybrid_fuses_both_arms`] (BM25 backends rank as the oracle does,
//! `ts_rank_cd` is compared by overlap; every backend fuses its own arms
//! identically). Half precision: [`half_precision_recall`].

mod check;
mod data;
mod errors;
mod filters;
mod half;
mod payloads;
mod search;
mod selective;
mod text;
mod ties;
mod timestamps;
mod writes;

use crate::VectorStore;

pub use check::{DISTANCE_TOLERANCE, MIN_RECALL};
pub use data::{clustered, queries_near, uniform_records, uniform_vector};
pub use errors::{ensure_collection_rules, invalid_input_errors, missing_collection_is_not_found};
pub use filters::filter_operators;
pub use half::{half_precision_recall, HALF_DISTANCE_TOLERANCE};
pub use payloads::{
    nul_in_payload_is_rejected_per_record, payload_numbers_round_trip_exactly,
    typed_collection_round_trip,
};
pub use search::{filtered_search_returns_k, search_matches_reference};
pub use selective::selective_filter_returns_k;
pub use text::{
    hybrid_fuses_both_arms, keyword_search_matches_oracle, MIN_KEYWORD_OVERLAP, SCORE_TOLERANCE,
};
pub use ties::ties_break_by_id;
pub use timestamps::timestamps_compare_at_microseconds;
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
/// offers HNSW. [`typed_collection_round_trip`] needs the store as an
/// `Arc<dyn VectorStore>` (what a [`Collection`](crate::Collection) holds),
/// so a backend's tests call it beside this.
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
    selective_filter_returns_k(store, name_prefix).await;
    ties_break_by_id(store, name_prefix).await;
    filter_operators(store, name_prefix).await;
    timestamps_compare_at_microseconds(store, name_prefix).await;
    upsert_overwrite(store, name_prefix).await;
    delete_by_ids_and_filter(store, name_prefix).await;
    count_with_and_without_filter(store, name_prefix).await;
    payload_round_trip(store, name_prefix).await;
    payload_numbers_round_trip_exactly(store, name_prefix).await;
    nul_in_payload_is_rejected_per_record(store, name_prefix).await;
    batch_sizes(store, name_prefix).await;
    get_semantics(store, name_prefix).await;
    keyword_search_matches_oracle(store, name_prefix).await;
    hybrid_fuses_both_arms(store, name_prefix).await;
    let half_index = if caps.supports_index(crate::IndexKind::Hnsw) {
        crate::IndexSpec::default()
    } else {
        check::pick_index(&caps)
    };
    half_precision_recall(store, name_prefix, 64, half_index).await;
}
