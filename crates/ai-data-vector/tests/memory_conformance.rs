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

/// A backend that cuts a tie at the `k`-th distance its own way (here: the
/// largest ids, the opposite of by-id), as a Weaviate `flat` index may, and
/// says so in its capabilities (`ties_by_id: false`).
#[derive(Debug)]
struct LargestIdsAtTheCut {
    inner: MemoryStore,
    caps: ai_data_vector::Capabilities,
}

#[async_trait::async_trait]
impl VectorStore for LargestIdsAtTheCut {
    fn capabilities(&self) -> &ai_data_vector::Capabilities {
        &self.caps
    }
    async fn ensure_collection(
        &self,
        spec: &ai_data_vector::CollectionSpec,
    ) -> ai_data_vector::Result<bool> {
        self.inner.ensure_collection(spec).await
    }
    async fn drop_collection(&self, name: &str) -> ai_data_vector::Result<bool> {
        self.inner.drop_collection(name).await
    }
    async fn upsert(
        &self,
        collection: &str,
        records: &[ai_data_vector::Record],
    ) -> ai_data_vector::Result<ai_data_vector::UpsertReport> {
        self.inner.upsert(collection, records).await
    }
    async fn get(
        &self,
        collection: &str,
        ids: &[ai_data_vector::RecordId],
    ) -> ai_data_vector::Result<Vec<ai_data_vector::Record>> {
        self.inner.get(collection, ids).await
    }
    async fn delete(
        &self,
        collection: &str,
        selector: ai_data_vector::Selector,
    ) -> ai_data_vector::Result<u64> {
        self.inner.delete(collection, selector).await
    }
    async fn count(
        &self,
        collection: &str,
        filter: Option<&ai_data_vector::Filter>,
    ) -> ai_data_vector::Result<u64> {
        self.inner.count(collection, filter).await
    }
    async fn search(
        &self,
        collection: &str,
        query: &ai_data_vector::SearchQuery,
    ) -> ai_data_vector::Result<Vec<ai_data_vector::SearchHit>> {
        let all = self.inner.count(collection, query.filter.as_ref()).await? as usize;
        let mut wide = query.clone();
        wide.k = all.clamp(1, self.caps.max_k);
        let hits = self.inner.search(collection, &wide).await?;
        let Some(cut) = hits.get(query.k.saturating_sub(1)).map(|h| h.distance) else {
            return Ok(hits);
        };
        let (mut kept, tied): (Vec<_>, Vec<_>) = hits
            .into_iter()
            .filter(|h| h.distance <= cut)
            .partition(|h| h.distance < cut);
        let room = query.k - kept.len();
        kept.extend(tied.into_iter().rev().take(room));
        kept.sort_by(|a, b| {
            a.distance
                .total_cmp(&b.distance)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(kept)
    }
}

/// A backend that does not cut ties by id (and says so) passes the ties
/// scenario, which then checks the hits' count, membership and order only;
/// the by-id cut is still held against `MemoryStore` (`run_all_passes`).
#[tokio::test]
async fn ties_scenario_follows_ties_by_id_capability() {
    let inner = MemoryStore::new();
    assert!(
        inner.capabilities().ties_by_id,
        "MemoryStore cuts ties by id"
    );
    let caps = inner.capabilities().clone().with_ties_by_id(false);
    let store = LargestIdsAtTheCut { inner, caps };
    conformance::ties_break_by_id(&store, "mem_ties_other").await;
}
