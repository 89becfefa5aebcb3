//! Never touch data the tool did not create.
//!
//! Every collection the tool creates carries a **marker** in its spec's
//! `embedding_model`: `ai-data-bench/v1 dim=… size=… seed=… clusters=…
//! metric=… index=…`, which also says exactly which synthetic data it holds.
//! The tool loads into, reuses or drops a collection only when it created it
//! in this run or it carries this marker; any other existing collection of
//! that name is refused ([`BenchError::Foreign`], exit 3) and left as it was.
//!
//! The `VectorStore` trait has no "describe collection", so the marker is
//! read through `ensure_collection`'s compatibility rule, which compares an
//! existing collection's dimension, metric, fields and model, but accepts
//! an existing collection **without** a model for any requested model:
//!
//! 1. `ensure_collection(spec + marker)`: `Ok(true)` means created now (ours);
//!    `Conflict` means the existing one differs (not ours, or ours with other
//!    data); `Ok(false)` means its model is the marker **or absent**.
//! 2. To tell those apart, `ensure_collection(spec + a random model)`: a
//!    `Conflict` proves a model is set, hence (by step 1) it is the marker;
//!    `Ok(false)` proves there is no model: not ours.
//!
//! The check is repeated right before a drop. It is not atomic against
//! someone replacing the collection between the two calls.

use ai_data_vector::{CollectionSpec, ErrorKind, IndexSpec, Metric, VectorStore};

use crate::error::BenchError;

/// Prefix of every marker.
pub(crate) const MARKER_PREFIX: &str = "ai-data-bench/v1";

/// What determines a benchmark collection's contents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DataParams {
    pub(crate) dim: usize,
    pub(crate) size: usize,
    pub(crate) seed: u64,
    pub(crate) clusters: usize,
    pub(crate) metric: Metric,
    pub(crate) index: IndexSpec,
}

/// The marker for a collection holding exactly this data and index.
pub(crate) fn marker(p: &DataParams) -> String {
    let index = match p.index {
        IndexSpec::Hnsw { m, ef_construction } => {
            format!("hnsw(m={m},ef_construction={ef_construction})")
        }
        IndexSpec::IvfFlat { lists } => format!("ivfflat(lists={lists})"),
        IndexSpec::Exact => "exact".to_owned(),
    };
    format!(
        "{MARKER_PREFIX} dim={} size={} seed={} clusters={} metric={} index={index}",
        p.dim, p.size, p.seed, p.clusters, p.metric
    )
}

/// The default collection name: `bench_<dim>_<size>_<8 hex digits of the marker>`.
pub(crate) fn default_collection_name(p: &DataParams) -> String {
    let hash = fnv1a(marker(p).as_bytes());
    format!("bench_{}_{}_{:08x}", p.dim, p.size, hash as u32)
}

/// FNV-1a, 64 bit: stable across Rust versions and machines.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How the tool came to hold the collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Created by this run.
    Created,
    /// Existed with this run's marker (kept by an earlier run).
    Reused,
}

/// What a second look at an existing collection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Marked,
    Unmarked,
}

fn conflict(e: &ai_data_core::Error) -> bool {
    e.kind() == ErrorKind::Conflict
}

fn refuse(spec: &CollectionSpec, why: &str) -> BenchError {
    BenchError::Foreign(format!(
        "collection `{}` already exists and {why}: ai-data-bench only loads into or drops \
         collections it created (marked `{}`). It was left untouched; choose another \
         --collection (or remove it yourself if it is really yours).",
        spec.name,
        spec.embedding_model.as_deref().unwrap_or(MARKER_PREFIX),
    ))
}

/// Create `spec` (which must carry the marker) or adopt an existing
/// collection carrying the same marker; refuse anything else.
pub(crate) async fn claim(
    store: &dyn VectorStore,
    spec: &CollectionSpec,
) -> Result<Claim, BenchError> {
    debug_assert!(spec
        .embedding_model
        .as_deref()
        .is_some_and(|m| m.starts_with(MARKER_PREFIX)));
    match store.ensure_collection(spec).await {
        Ok(true) => Ok(Claim::Created),
        Ok(false) => match probe(store, spec).await? {
            Probe::Marked => Ok(Claim::Reused),
            Probe::Unmarked => Err(refuse(spec, "has no ai-data-bench marker")),
        },
        Err(e) if conflict(&e) => Err(refuse(
            spec,
            &format!("does not carry this run's marker ({})", e.message()),
        )),
        Err(e) => Err(BenchError::failed("create the collection", e)),
    }
}

/// After `ensure_collection(spec)` found an existing, compatible collection:
/// is its model set (then it is `spec`'s marker) or absent?
async fn probe(store: &dyn VectorStore, spec: &CollectionSpec) -> Result<Probe, BenchError> {
    let mut other = spec.clone();
    other.embedding_model = Some(format!(
        "{MARKER_PREFIX} probe {}",
        uuid::Uuid::new_v4().simple()
    ));
    match store.ensure_collection(&other).await {
        Err(e) if conflict(&e) => Ok(Probe::Marked),
        Ok(false) => Ok(Probe::Unmarked),
        Ok(true) => {
            // It vanished in between and the probe created it: ours, remove it.
            store
                .drop_collection(&spec.name)
                .await
                .map_err(|e| BenchError::failed("drop the probe collection", e))?;
            Err(BenchError::Failed(format!(
                "collection `{}` disappeared while it was being checked; try again",
                spec.name
            )))
        }
        Err(e) => Err(BenchError::failed("check the collection's marker", e)),
    }
}

/// Drop the collection if it (still) carries the marker: `Ok(true)` when
/// dropped, `Ok(false)` when it is gone or no longer ours (then it is left
/// alone).
pub(crate) async fn drop_if_ours(
    store: &dyn VectorStore,
    spec: &CollectionSpec,
) -> Result<bool, BenchError> {
    match claim(store, spec).await {
        Ok(_) => {}
        Err(BenchError::Foreign(_)) => return Ok(false),
        Err(e) => return Err(e),
    }
    store
        .drop_collection(&spec.name)
        .await
        .map_err(|e| BenchError::failed("drop the collection", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_vector::{FieldKind, MemoryStore, Record, RecordId};

    fn params() -> DataParams {
        DataParams {
            dim: 4,
            size: 10,
            seed: 1,
            clusters: 2,
            metric: Metric::Cosine,
            index: IndexSpec::default(),
        }
    }

    fn spec(name: &str, p: &DataParams) -> CollectionSpec {
        CollectionSpec::new(name, p.dim, p.metric)
            .with_field("bucket", FieldKind::Int)
            .with_embedding_model(marker(p))
    }

    async fn foreign(store: &MemoryStore, spec: CollectionSpec) {
        store.ensure_collection(&spec).await.expect("create");
        let record = Record::new(
            RecordId::from_key("x"),
            vec![1.0; spec.dimension],
            Default::default(),
        );
        let report = store.upsert(&spec.name, &[record]).await.expect("upsert");
        assert_eq!(report.into_result().expect("written"), 1);
    }

    #[test]
    fn marker_names_the_data_and_index() {
        let p = params();
        let m = marker(&p);
        assert_eq!(
            m,
            "ai-data-bench/v1 dim=4 size=10 seed=1 clusters=2 metric=cosine \
             index=hnsw(m=16,ef_construction=64)"
        );
        let name = default_collection_name(&p);
        assert!(name.starts_with("bench_4_10_") && name.len() == "bench_4_10_".len() + 8);
        assert!(ai_data_vector::validate::collection_name(&name).is_ok());
        let other = DataParams { seed: 2, ..p };
        assert_ne!(default_collection_name(&other), name);
        assert_eq!(default_collection_name(&params()), name, "stable");
    }

    #[tokio::test]
    async fn created_then_reused_then_dropped() {
        let store = MemoryStore::new();
        let s = spec("c", &params());
        assert_eq!(claim(&store, &s).await.expect("claim"), Claim::Created);
        assert_eq!(claim(&store, &s).await.expect("claim"), Claim::Reused);
        assert!(drop_if_ours(&store, &s).await.expect("drop"));
        assert_eq!(
            store
                .count("c", None)
                .await
                .map_err(|e| e.kind())
                .expect_err("gone"),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn unmarked_or_foreign_collections_are_refused_and_kept() {
        let store = MemoryStore::new();
        let p = params();
        let ours = spec("c", &p);
        // Same shape, no model: `ensure_collection` alone would accept it.
        let mut no_model = ours.clone();
        no_model.embedding_model = None;
        // Same shape, another model; another marker; another dimension.
        let other_model = ours.clone().with_embedding_model("text-embedding-3-small");
        let other_marker = spec("c", &DataParams { size: 11, ..p });
        let other_dim = CollectionSpec::new("c", 3, Metric::Cosine);
        for existing in [no_model, other_model, other_marker, other_dim] {
            let store_spec = existing.clone();
            foreign(&store, existing).await;
            let err = claim(&store, &ours).await.expect_err("refused");
            assert_eq!(err.exit_code_number(), 3, "{store_spec:?}: {err}");
            assert!(err.to_string().contains("`c`"), "{err}");
            assert!(!drop_if_ours(&store, &ours).await.expect("no drop"));
            assert_eq!(store.count("c", None).await.expect("intact"), 1);
            // The refusal did not change the collection's spec either.
            assert!(!store
                .ensure_collection(&store_spec)
                .await
                .expect("same spec"));
            store.drop_collection("c").await.expect("test cleanup");
        }
    }

    #[tokio::test]
    async fn drop_if_ours_on_a_missing_collection_leaves_nothing() {
        let store = MemoryStore::new();
        let s = spec("gone", &params());
        // It is (re)created by the check and then dropped: nothing remains.
        assert!(drop_if_ours(&store, &s).await.expect("drop"));
        assert!(!store.drop_collection("gone").await.expect("absent"));
    }
}
