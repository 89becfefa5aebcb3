//! Half-precision storage ([`Precision::F16`]): what a backend that offers
//! it must do, and that one that does not refuses it.

use std::collections::HashSet;

use super::check::{fresh, must, must_fail, MIN_RECALL};
use crate::{
    CollectionSpec, ErrorKind, IndexSpec, MemoryStore, Metric, Precision, Record, RecordId,
    SearchQuery, VectorStore,
};

/// Largest accepted difference between an `F16` collection's distance and
/// the `f32` distance of the unrounded vectors (relative above 1): half
/// precision keeps 11 significant bits per component.
pub const HALF_DISTANCE_TOLERANCE: f32 = 1e-2;

/// An `F16` collection of `dimension` (e.g. 2048, above pgvector's 2,000
/// dimension limit for indexing `vector`), with `index`: writes round each
/// component to half precision (`get` returns the rounded values), a
/// component beyond 65504 is refused per record, distances stay within
/// [`HALF_DISTANCE_TOLERANCE`] of the `f32` oracle's and recall@10 against
/// the `f32` oracle is at least [`MIN_RECALL`]. A backend without `F16`
/// refuses the collection as `Unsupported`.
pub async fn half_precision_recall(
    store: &dyn VectorStore,
    name_prefix: &str,
    dimension: usize,
    index: IndexSpec,
) {
    let caps = store.capabilities().clone();
    let name = super::collection_name(name_prefix, &format!("f16_{dimension}"));
    let spec = CollectionSpec::new(name, dimension, Metric::Cosine)
        .with_index(index)
        .with_precision(Precision::F16);
    if !caps.supports_precision(Precision::F16) {
        must_fail(
            store.ensure_collection(&spec).await,
            ErrorKind::Unsupported,
            "F16 without support",
        );
        return;
    }
    fresh(store, &spec).await;
    let clusters = 20;
    let mut records = super::clustered(16, 1000, dimension, clusters);
    let mut too_large = records[0].clone();
    too_large.id = RecordId::from_key("too-large");
    too_large.vector[1] = 70_000.0;
    records.push(too_large);
    let report = must(store.upsert(&spec.name, &records).await, "upsert f16");
    assert_eq!(
        report.failures.len(),
        1,
        "conformance: f16: only the record beyond 65504 fails: {:?}",
        report.failures
    );
    assert_eq!(report.failures[0].error.kind(), ErrorKind::InvalidInput);
    records.pop();

    // Stored values are the half-precision roundings.
    let probe = &records[3];
    let got = must(store.get(&spec.name, &[probe.id]).await, "get f16");
    let rounded: Vec<f32> = probe
        .vector
        .iter()
        .map(|x| Precision::F16.round(*x))
        .collect();
    assert_eq!(
        got.first().map(|r| &r.vector),
        Some(&rounded),
        "conformance: f16: get returns the rounded vector"
    );

    let oracle = MemoryStore::new();
    let f32_spec = CollectionSpec::new(spec.name.clone(), dimension, Metric::Cosine)
        .with_index(IndexSpec::Exact);
    must(oracle.ensure_collection(&f32_spec).await, "oracle ensure");
    must(oracle.upsert(&spec.name, &records).await, "oracle upsert");
    let queries = super::queries_near(16, 20, dimension, clusters);
    let k = 10;
    let mut found = 0;
    for (i, q) in queries.iter().enumerate() {
        let query = SearchQuery::new(q.clone(), k);
        let want = must(oracle.search(&spec.name, &query).await, "oracle search");
        let got = must(
            store.search(&spec.name, &query).await,
            format_args!("f16 search #{i}"),
        );
        assert_eq!(
            got.len(),
            k,
            "conformance: f16 search #{i}: {} hits",
            got.len()
        );
        let want_ids: HashSet<RecordId> = want.iter().map(|h| h.id).collect();
        found += got.iter().filter(|h| want_ids.contains(&h.id)).count();
        for hit in &got {
            let exact = records
                .iter()
                .find(|r: &&Record| r.id == hit.id)
                .map(|r| crate::distance::distance(Metric::Cosine, q, &r.vector));
            assert!(
                exact.is_some_and(
                    |d| (hit.distance - d).abs() <= HALF_DISTANCE_TOLERANCE * d.abs().max(1.0)
                ),
                "conformance: f16 search #{i}: hit {} at {}, the f32 distance is {exact:?}",
                hit.id,
                hit.distance
            );
        }
    }
    let recall = found as f64 / (queries.len() * k) as f64;
    assert!(
        recall >= MIN_RECALL,
        "conformance: f16 recall@{k} against the f32 oracle is {recall:.3}, below {MIN_RECALL}"
    );
}
