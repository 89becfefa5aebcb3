//! Search results compared with the exact reference.

use std::collections::HashMap;

use super::check::{
    assert_same_hits, assert_sorted, assert_true_distances, fresh, must, overlap, pick_index,
    MIN_RECALL,
};
use super::collection_name;
use super::data::{clustered, queries_near};
use crate::distance::distance;
use crate::{
    AccuracyHint, CollectionSpec, FieldKind, Filter, IndexKind, IndexSpec, MemoryStore, Metric,
    Record, RecordId, SearchHit, SearchQuery, VectorStore,
};

const SEED: u64 = 20_240_501;
const N: usize = 2000;
const DIM: usize = 32;
const CLUSTERS: usize = 20;
const QUERIES: usize = 30;
const K: usize = 10;

/// Accuracy knobs the scenarios pass to approximate indexes.
const ACCURACY: AccuracyHint = AccuracyHint {
    ef_search: Some(100),
    probes: Some(10),
};

fn index_tag(index: &IndexSpec) -> &'static str {
    match index.kind() {
        IndexKind::Hnsw => "hnsw",
        IndexKind::IvfFlat => "ivf",
        IndexKind::Exact => "exact",
    }
}

/// Compares `got` with the reference for one query: exact indexes must give
/// the same hits; approximate ones exact distances and `k` hits, and their
/// overlap with the reference is returned for the recall.
fn compare(
    exact: bool,
    metric: Metric,
    vectors: &HashMap<RecordId, Vec<f32>>,
    query: &[f32],
    want: &[SearchHit],
    got: &[SearchHit],
    what: &str,
) -> usize {
    let truth = |id: RecordId| vectors.get(&id).map(|v| distance(metric, query, v));
    assert_sorted(got, what);
    if exact {
        assert_same_hits(want, got, &truth, what);
    } else {
        assert_true_distances(got, &truth, what);
        assert_eq!(got.len(), want.len(), "conformance: {what}: hit count");
    }
    overlap(want, got)
}

async fn load(store: &dyn VectorStore, name: &str, records: &[Record]) {
    let report = must(
        store.upsert(name, records).await,
        format_args!("upsert into {name}"),
    );
    assert!(
        report.is_complete(),
        "conformance: upsert into {name}: {:?}",
        report.failures
    );
    assert_eq!(
        report.upserted,
        records.len() as u64,
        "conformance: upsert into {name}"
    );
}

/// For every metric the backend supports, 2000 clustered 32-d records and 30
/// queries (k = 10) on a collection with `index`, compared with the exact
/// reference; then vectors/payload flags and a distance threshold.
pub async fn search_matches_reference(
    store: &dyn VectorStore,
    name_prefix: &str,
    index: IndexSpec,
) {
    let exact = index.is_exact();
    for metric in store.capabilities().metrics.clone() {
        let name = collection_name(
            name_prefix,
            &format!("search_{metric}_{}", index_tag(&index)),
        );
        let spec = CollectionSpec::new(&name, DIM, metric)
            .with_index(index)
            .with_field("cluster", FieldKind::Int);
        fresh(store, &spec).await;
        let reference = MemoryStore::new();
        fresh(&reference, &spec.clone().with_index(IndexSpec::Exact)).await;
        let records = clustered(SEED, N, DIM, CLUSTERS);
        load(store, &name, &records).await;
        load(&reference, &name, &records).await;
        let vectors: HashMap<RecordId, Vec<f32>> =
            records.iter().map(|r| (r.id, r.vector.clone())).collect();

        let mut found = 0;
        for (qi, q) in queries_near(SEED, QUERIES, DIM, CLUSTERS)
            .into_iter()
            .enumerate()
        {
            let what = format!("{name}: query #{qi}");
            let query = SearchQuery::new(q.clone(), K).with_accuracy(ACCURACY);
            let want = must(reference.search(&name, &query).await, "reference search");
            let got = must(store.search(&name, &query).await, &what);
            found += compare(exact, metric, &vectors, &q, &want, &got, &what);
        }
        if !exact {
            let recall = found as f64 / (QUERIES * K) as f64;
            assert!(
                recall >= MIN_RECALL,
                "conformance: {name}: recall@{K} {recall:.3} < {MIN_RECALL}"
            );
        }

        // A stored vector finds itself; flags choose what comes back.
        let probe = &records[17];
        let query = SearchQuery::new(probe.vector.clone(), 3)
            .with_vectors(true)
            .with_accuracy(ACCURACY);
        let hits = must(
            store.search(&name, &query).await,
            format_args!("{name}: self query"),
        );
        if metric != Metric::Dot {
            // Under `Dot` a longer vector can beat the probe itself.
            assert_eq!(
                hits.first().map(|h| h.id),
                Some(probe.id),
                "conformance: {name}: a stored vector is its own nearest"
            );
        }
        let truth = |id: RecordId| vectors.get(&id).map(|v| distance(metric, &probe.vector, v));
        assert_true_distances(&hits, &truth, format_args!("{name}: self query"));
        let by_id: HashMap<RecordId, &Record> = records.iter().map(|r| (r.id, r)).collect();
        for hit in &hits {
            let record = by_id.get(&hit.id).copied();
            assert_eq!(
                hit.vector.as_ref(),
                record.map(|r| &r.vector),
                "conformance: {name}: vector round trip"
            );
            assert_eq!(
                hit.payload.as_ref(),
                record.map(|r| &r.payload),
                "conformance: {name}: payload by default"
            );
        }
        let bare = query.clone().with_vectors(false).with_payloads(false);
        let hits = must(
            store.search(&name, &bare).await,
            format_args!("{name}: bare query"),
        );
        assert!(
            hits.iter()
                .all(|h| h.payload.is_none() && h.vector.is_none()),
            "conformance: {name}: payload/vector returned though not asked for"
        );

        // A threshold between the 5th and 6th exact distances keeps 5 hits.
        let q = queries_near(SEED, 1, DIM, CLUSTERS).remove(0);
        let want = must(
            reference
                .search(&name, &SearchQuery::new(q.clone(), K))
                .await,
            "reference",
        );
        let threshold = (want[4].distance + want[5].distance) / 2.0;
        let query = SearchQuery::new(q.clone(), K)
            .with_max_distance(threshold)
            .with_accuracy(ACCURACY);
        let got = must(
            store.search(&name, &query).await,
            format_args!("{name}: threshold"),
        );
        assert!(
            got.iter().all(|h| h.distance <= threshold),
            "conformance: {name}: hit beyond max_distance {threshold}: {got:?}"
        );
        if exact && want[4].distance < threshold && threshold < want[5].distance {
            assert_same_hits(
                &want[..5],
                &got,
                &|id| vectors.get(&id).map(|v| distance(metric, &q, v)),
                format_args!("{name}: threshold"),
            );
        }
        must(store.drop_collection(&name).await, "drop_collection");
    }
}

/// 5000 records of which 1% carry `tag = "rare"`: filtered queries for that
/// tag still return `k` hits (10, and 50 = every rare record), all rare, the
/// right ones. Runs on HNSW when offered (the hard case), else on the first
/// index the backend has.
pub async fn filtered_search_returns_k(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let index = if caps.supports_index(IndexKind::Hnsw) {
        IndexSpec::default()
    } else {
        pick_index(&caps)
    };
    let metric = super::check::pick_metric(&caps, Metric::Cosine);
    let name = collection_name(name_prefix, "filtered_k");
    let spec = CollectionSpec::new(&name, 16, metric)
        .with_index(index)
        .with_field("tag", FieldKind::Text);
    fresh(store, &spec).await;
    let reference = MemoryStore::new();
    fresh(&reference, &spec.clone().with_index(IndexSpec::Exact)).await;
    let mut records = clustered(SEED + 1, 5000, 16, 10);
    for (i, r) in records.iter_mut().enumerate() {
        let tag = if i % 100 == 37 { "rare" } else { "common" };
        r.payload.insert("tag".into(), tag.into());
    }
    load(store, &name, &records).await;
    load(&reference, &name, &records).await;
    let vectors: HashMap<RecordId, Vec<f32>> =
        records.iter().map(|r| (r.id, r.vector.clone())).collect();
    let rare = Filter::eq("tag", "rare");
    let mut found = 0;
    let queries = queries_near(SEED + 1, 10, 16, 10);
    for (qi, q) in queries.iter().enumerate() {
        for k in [10, 50] {
            let what = format!("{name}: query #{qi}, k = {k}");
            let query = SearchQuery::new(q.clone(), k)
                .with_filter(rare.clone())
                .with_accuracy(ACCURACY);
            let want = must(reference.search(&name, &query).await, "reference");
            let got = must(store.search(&name, &query).await, &what);
            assert_eq!(
                got.len(),
                k,
                "conformance: {what}: a 1% filter must still give k hits"
            );
            assert!(
                got.iter().all(|h| h
                    .payload
                    .as_ref()
                    .and_then(|p| p.get("tag"))
                    .is_some_and(|t| t == "rare")),
                "conformance: {what}: a hit does not match the filter"
            );
            let overlap = compare(index.is_exact(), metric, &vectors, q, &want, &got, &what);
            if k == 50 {
                assert_eq!(overlap, 50, "conformance: {what}: every rare record");
            } else {
                found += overlap;
            }
        }
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(
        recall >= MIN_RECALL,
        "conformance: {name}: filtered recall@10 {recall:.3} < {MIN_RECALL}"
    );
    must(store.drop_collection(&name).await, "drop_collection");
}
