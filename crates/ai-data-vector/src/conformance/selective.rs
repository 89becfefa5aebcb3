//! A very selective filter on a larger collection: the search still
//! returns `k` hits when `k` records match.

use std::collections::HashMap;

use super::check::{
    assert_same_hits, assert_sorted, assert_true_distances, fresh, must, overlap, pick_index,
    pick_metric, MIN_RECALL,
};
use super::collection_name;
use super::data::{clustered, queries_near};
use crate::distance::distance;
use crate::{
    CollectionSpec, FieldKind, Filter, FilterOp, IndexKind, IndexSpec, MemoryStore, Metric,
    RecordId, SearchQuery, VectorStore,
};

const SEED: u64 = 20_240_613;
const N: usize = 20_000;
const DIM: usize = 8;
const CLUSTERS: usize = 16;
/// Records per bucket value: 0.2% of the collection match one bucket.
const BUCKETS: usize = 500;

/// 20,000 clustered 8-d records, `bucket = i % 500`: a filter on one
/// bucket keeps 40 records (0.2%), spread over every cluster. For 5
/// queries, `k` = 10 and `k` = 40 (every match) return `k` hits, all in
/// the bucket, with exact distances; `k` = 40 returns every match, and
/// `k` = 10 the exact reference's hits (exact indexes) or a recall of at
/// least [`MIN_RECALL`] (approximate ones). The filter is given both as
/// `Eq` and, where `Not` is offered, as `Not(Ne)` (same records: no bucket
/// is null), a form a query planner cannot estimate from statistics, so an
/// SQL backend scans its vector index for it. Runs on HNSW when offered
/// (the hard case), else on the first index the backend has.
pub async fn selective_filter_returns_k(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let index = if caps.supports_index(IndexKind::Hnsw) {
        IndexSpec::default()
    } else {
        pick_index(&caps)
    };
    let metric = pick_metric(&caps, Metric::Cosine);
    let name = collection_name(name_prefix, "selective");
    let spec = CollectionSpec::new(&name, DIM, metric)
        .with_index(index)
        .with_field("bucket", FieldKind::Int);
    fresh(store, &spec).await;
    let reference = MemoryStore::new();
    fresh(&reference, &spec.clone().with_index(IndexSpec::Exact)).await;
    let mut records = clustered(SEED, N, DIM, CLUSTERS);
    for (i, r) in records.iter_mut().enumerate() {
        r.payload
            .insert("bucket".into(), ((i % BUCKETS) as i64).into());
    }
    for target in [store, &reference as &dyn VectorStore] {
        let report = must(target.upsert(&name, &records).await, "upsert");
        assert!(
            report.is_complete() && report.upserted == N as u64,
            "conformance: {name}: upsert {} of {N}: {:?}",
            report.upserted,
            report.failures
        );
    }
    let vectors: HashMap<RecordId, Vec<f32>> =
        records.iter().map(|r| (r.id, r.vector.clone())).collect();
    let matches = N / BUCKETS;

    let mut filters = vec![("eq", 7_i64, Filter::eq("bucket", 7))];
    if caps.supports_filter_op(FilterOp::Not) {
        filters.push(("not ne", 311, !Filter::ne("bucket", 311)));
    }
    let mut found = 0;
    let mut asked = 0;
    for (form, bucket, filter) in filters {
        for (qi, q) in queries_near(SEED, 5, DIM, CLUSTERS).iter().enumerate() {
            for k in [10, matches] {
                let what = format!("{name}: {form} bucket {bucket}, query #{qi}, k = {k}");
                let query = SearchQuery::new(q.clone(), k).with_filter(filter.clone());
                let want = must(reference.search(&name, &query).await, "reference");
                assert_eq!(want.len(), k, "conformance: {what}: reference");
                let got = must(store.search(&name, &query).await, &what);
                assert_eq!(
                    got.len(),
                    k,
                    "conformance: {what}: a 0.2% filter must still give k hits"
                );
                assert!(
                    got.iter().all(|h| h
                        .payload
                        .as_ref()
                        .and_then(|p| p.get("bucket"))
                        .is_some_and(|b| *b == bucket)),
                    "conformance: {what}: a hit does not match the filter"
                );
                assert_sorted(&got, &what);
                let truth = |id: RecordId| vectors.get(&id).map(|v| distance(metric, q, v));
                if index.is_exact() {
                    assert_same_hits(&want, &got, &truth, &what);
                } else {
                    assert_true_distances(&got, &truth, &what);
                }
                let overlap = overlap(&want, &got);
                if k == matches {
                    assert_eq!(overlap, matches, "conformance: {what}: every match");
                } else {
                    found += overlap;
                    asked += k;
                }
            }
        }
    }
    let recall = found as f64 / asked as f64;
    assert!(
        recall >= MIN_RECALL,
        "conformance: {name}: recall@10 under a 0.2% filter {recall:.3} < {MIN_RECALL}"
    );
    must(store.drop_collection(&name).await, "drop_collection");
}
