//! The whole conformance suite against `MemoryStore`, once through
//! `run_all` and once scenario by scenario (so a failure names its scenario),
//! plus the same with a tiny batch size and a single scan thread.

use ai_data_vector::{conformance, IndexSpec, MemoryStore, VectorStore};

#[tokio::test]
async fn run_all_passes() {
    let store = MemoryStore::new();
    conformance::run_all(&store, "mem_all").await;
}

#[tokio::test]
async fn run_all_with_small_batches_and_one_thread() {
    let store = MemoryStore::new().with_max_batch_size(333).with_threads(1);
    assert_eq!(store.capabilities().max_batch_size, 333);
    conformance::run_all(&store, "mem_small").await;
}

#[tokio::test]
async fn suite_can_run_twice_on_the_same_store() {
    let store = MemoryStore::new();
    conformance::upsert_overwrite(&store, "mem_twice").await;
    conformance::upsert_overwrite(&store, "mem_twice").await;
    conformance::ensure_collection_rules(&store, "mem_twice").await;
    conformance::ensure_collection_rules(&store, "mem_twice").await;
}

macro_rules! scenario {
    ($name:ident $(, $arg:expr)?) => {
        #[tokio::test]
        async fn $name() {
            let store = MemoryStore::new();
            conformance::$name(&store, concat!("mem_", stringify!($name)) $(, $arg)?).await;
        }
    };
}

scenario!(ensure_collection_rules);
scenario!(missing_collection_is_not_found);
scenario!(invalid_input_errors);
scenario!(filtered_search_returns_k);
scenario!(filter_operators);
scenario!(upsert_overwrite);
scenario!(delete_by_ids_and_filter);
scenario!(count_with_and_without_filter);
scenario!(payload_round_trip);
scenario!(batch_sizes);
scenario!(get_semantics);
scenario!(selective_filter_returns_k);
scenario!(ties_break_by_id);
scenario!(timestamps_compare_at_microseconds);
scenario!(payload_numbers_round_trip_exactly);
scenario!(nul_in_payload_is_rejected_per_record);

#[tokio::test]
async fn typed_collection_round_trip() {
    conformance::typed_collection_round_trip(std::sync::Arc::new(MemoryStore::new()), "mem").await;
}

#[tokio::test]
async fn search_matches_reference_exact() {
    conformance::search_matches_reference(&MemoryStore::new(), "mem_exact", IndexSpec::Exact).await;
}

#[tokio::test]
async fn search_matches_reference_hnsw_spec() {
    // MemoryStore searches exactly whatever the spec says; recall is 1.
    conformance::search_matches_reference(&MemoryStore::new(), "mem_hnsw", IndexSpec::default())
        .await;
}

#[tokio::test]
async fn search_matches_reference_ivfflat_spec() {
    conformance::search_matches_reference(
        &MemoryStore::new(),
        "mem_ivf",
        IndexSpec::IvfFlat { lists: 8 },
    )
    .await;
}
