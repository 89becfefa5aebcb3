//! The synthetic workload: clustered records with a `bucket` field for the
//! filter, query vectors, and their exact ground truth.

use std::collections::HashSet;

use ai_data_vector::conformance::{clustered, queries_near};
use ai_data_vector::{
    AccuracyHint, CollectionSpec, FieldKind, Filter, IndexSpec, MemoryStore, Record, RecordId,
    SearchQuery, VectorStore,
};

use crate::cli::BUCKETS;
use crate::error::BenchError;
use crate::marker::{marker, DataParams};

/// The filterable field: an integer in `0..1000`, independent of the cluster.
pub(crate) const BUCKET_FIELD: &str = "bucket";

/// The collection's spec: dimension, metric, index, the `bucket` field and
/// the marker as its embedding model.
pub(crate) fn collection_spec(name: &str, p: &DataParams) -> CollectionSpec {
    CollectionSpec::new(name, p.dim, p.metric)
        .with_index(p.index)
        .with_field(BUCKET_FIELD, FieldKind::Int)
        .with_embedding_model(marker(p))
}

/// A record's bucket: a hash of the seed and its position, so any
/// `bucket < t` selects about `t / 1000` of every cluster.
pub(crate) fn bucket_of(seed: u64, i: u64) -> i64 {
    // splitmix64 finaliser
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(i)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % BUCKETS as u64) as i64
}

/// The records: `conformance::clustered` plus `"bucket"` in each payload.
pub(crate) fn records(p: &DataParams) -> Vec<Record> {
    let mut records = clustered(p.seed, p.size, p.dim, p.clusters);
    for (i, r) in records.iter_mut().enumerate() {
        r.payload
            .insert(BUCKET_FIELD.into(), bucket_of(p.seed, i as u64).into());
    }
    records
}

/// The queries of the mix, each with its exact answer.
#[derive(Debug)]
pub(crate) struct QuerySet {
    pub(crate) queries: Vec<SearchQuery>,
    /// The exact top-k ids of each query.
    pub(crate) truth: Vec<HashSet<RecordId>>,
}

impl QuerySet {
    /// How many of `found`'s ids are in query `i`'s exact answer, and how many
    /// that answer has.
    pub(crate) fn score(&self, i: usize, found: impl IntoIterator<Item = RecordId>) -> (u64, u64) {
        let truth = &self.truth[i];
        let hits = found.into_iter().filter(|id| truth.contains(id)).count();
        (hits as u64, truth.len() as u64)
    }
}

/// What the queries ask.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryParams {
    pub(crate) count: usize,
    pub(crate) k: usize,
    pub(crate) filter_threshold: Option<i64>,
    pub(crate) accuracy: AccuracyHint,
}

/// The filter for a `bucket < threshold` bound.
pub(crate) fn filter(threshold: Option<i64>) -> Option<Filter> {
    threshold.map(|t| Filter::lt(BUCKET_FIELD, t))
}

/// Build the queries and compute their exact answers with a `MemoryStore`
/// holding the same records.
pub(crate) async fn query_set(
    p: &DataParams,
    q: &QueryParams,
    records: &[Record],
) -> Result<QuerySet, BenchError> {
    let exact = MemoryStore::new();
    let spec = collection_spec(
        "ground_truth",
        &DataParams {
            index: IndexSpec::Exact,
            ..*p
        },
    );
    exact.ensure_collection(&spec).await?;
    exact.upsert(&spec.name, records).await?.into_result()?;
    let queries: Vec<SearchQuery> = queries_near(p.seed, q.count, p.dim, p.clusters)
        .into_iter()
        .map(|v| {
            let query = SearchQuery::new(v, q.k).with_accuracy(q.accuracy);
            match filter(q.filter_threshold) {
                Some(f) => query.with_filter(f),
                None => query,
            }
        })
        .collect();
    let mut truth = Vec::with_capacity(queries.len());
    for query in &queries {
        let hits = exact.search(&spec.name, query).await?;
        truth.push(hits.into_iter().map(|h| h.id).collect());
    }
    Ok(QuerySet { queries, truth })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_data_vector::Metric;

    fn params(size: usize) -> DataParams {
        DataParams {
            dim: 8,
            size,
            seed: 7,
            clusters: 10,
            metric: Metric::L2,
            index: IndexSpec::Exact,
        }
    }

    #[test]
    fn buckets_select_their_fraction_of_every_cluster() {
        let records = records(&params(20_000));
        let mut per_cluster = [(0_u32, 0_u32); 10];
        for r in &records {
            let c = r.payload["cluster"].as_u64().expect("cluster") as usize;
            let b = r.payload[BUCKET_FIELD].as_i64().expect("bucket");
            assert!((0..BUCKETS).contains(&b));
            per_cluster[c].1 += 1;
            if b < 100 {
                per_cluster[c].0 += 1;
            }
        }
        let total: u32 = per_cluster.iter().map(|c| c.0).sum();
        let overall = f64::from(total) / records.len() as f64;
        assert!((overall - 0.1).abs() < 0.01, "overall {overall}");
        for (c, (hit, n)) in per_cluster.iter().enumerate() {
            let f = f64::from(*hit) / f64::from(*n);
            assert!((f - 0.1).abs() < 0.035, "cluster {c}: {f} of {n}");
        }
    }

    #[test]
    fn records_are_deterministic() {
        assert_eq!(records(&params(50)), records(&params(50)));
        assert_ne!(bucket_of(1, 5), bucket_of(2, 5));
    }

    #[tokio::test]
    async fn ground_truth_respects_the_filter() {
        let p = params(2_000);
        let records = records(&p);
        let q = QueryParams {
            count: 20,
            k: 10,
            filter_threshold: Some(50),
            accuracy: AccuracyHint::default(),
        };
        let set = query_set(&p, &q, &records).await.expect("query set");
        assert_eq!(set.queries.len(), 20);
        let bucket: std::collections::HashMap<RecordId, i64> = records
            .iter()
            .map(|r| (r.id, r.payload[BUCKET_FIELD].as_i64().unwrap_or(-1)))
            .collect();
        for truth in &set.truth {
            assert_eq!(truth.len(), 10);
            assert!(truth.iter().all(|id| bucket[id] < 50));
        }
        let (hit, of) = set.score(0, set.truth[0].iter().copied());
        assert_eq!((hit, of), (10, 10));
        assert_eq!(set.score(0, std::iter::empty()), (0, 10));
    }
}
