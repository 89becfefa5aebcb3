//! Equal distances: which records a search keeps when `k` cuts through a
//! tie, and in which order it lists them.

use serde_json::json;

use super::check::{fresh, must, payload, pick_index, pick_metric};
use super::collection_name;
use crate::{
    CollectionSpec, FieldKind, Filter, Metric, Record, RecordId, SearchHit, SearchQuery,
    VectorStore,
};

fn ids(hits: &[SearchHit]) -> Vec<RecordId> {
    hits.iter().map(|h| h.id).collect()
}

/// `got` (a tie cut by a backend that chooses which tied records to keep)
/// holds distinct members of `tie`, in ascending id order.
fn assert_cut_of(name: &str, got: &[RecordId], tie: &[RecordId], what: &str) {
    assert!(
        got.iter().all(|id| tie.contains(id)),
        "conformance: {name}: {what}: a hit outside the tie: {got:?}"
    );
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "conformance: {name}: {what}: not listed in ascending id order: {got:?}"
    );
}

/// Records at exactly equal distances (identical vectors), written in an
/// order unrelated to their ids, in several batches: when `k` cuts through
/// the tie, every backend keeps the records with the smallest ids, and
/// lists equal distances by ascending id (the trait's "ties by id"). The
/// collection is small enough for any index to be searched exhaustively.
///
/// Layout: 2 records on the query's own direction (distance 0 under
/// cosine), 10 on one other direction (one shared distance), 5 further
/// out; `k` = 6 keeps the 2 and 4 of the 10; a filter on `group` that
/// keeps 5 of the 10 (and none of the others) with `k` = 4 keeps 4 of the 5.
///
/// A backend whose [`Capabilities::ties_by_id`](crate::Capabilities::ties_by_id)
/// is false (Weaviate: the server cuts the tie as it likes) is not held to
/// *which* tied records a cut keeps: for the cut searches (`k` = 6, filtered
/// `k` = 4) the scenario checks only that the right number of hits come from
/// the tie (and, filtered, from its matching half) and are listed in id
/// order; the `k` = 12 search, which cuts no tie, is checked in full.
pub async fn ties_break_by_id(store: &dyn VectorStore, name_prefix: &str) {
    let caps = store.capabilities().clone();
    let name = collection_name(name_prefix, "ties");
    let spec = CollectionSpec::new(&name, 4, pick_metric(&caps, Metric::Cosine))
        .with_index(pick_index(&caps))
        .with_field("group", FieldKind::Int);
    fresh(store, &spec).await;

    let record = |key: String, vector: [f32; 4], group: i64| {
        Record::new(
            RecordId::from_key(&key),
            vector.to_vec(),
            payload(json!({ "group": group })),
        )
    };
    let near: Vec<Record> = (0..2)
        .map(|i| record(format!("tie-near-{i}"), [1.0, 0.0, 0.0, 0.0], 0))
        .collect();
    let tied: Vec<Record> = (0..10)
        .map(|i| record(format!("tie-mid-{i}"), [1.0, 1.0, 0.0, 0.0], i % 2))
        .collect();
    let far: Vec<Record> = (0..5)
        .map(|i| record(format!("tie-far-{i}"), [0.0, 1.0, 1.0, 0.0], 0))
        .collect();
    // Written largest id first (so storage order is the reverse of id
    // order), the tied ones in two batches.
    let mut all: Vec<Record> = near.iter().chain(&tied).chain(&far).cloned().collect();
    all.sort_by_key(|r| std::cmp::Reverse(r.id));
    let (first, second) = all.split_at(all.len() / 2);
    for batch in [second, first] {
        let report = must(store.upsert(&name, batch).await, "upsert");
        assert!(
            report.is_complete(),
            "conformance: {name}: {:?}",
            report.failures
        );
    }

    let sorted_ids = |records: &[&Record]| {
        let mut ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
        ids.sort();
        ids
    };
    let near_ids = sorted_ids(&near.iter().collect::<Vec<_>>());
    let tied_ids = sorted_ids(&tied.iter().collect::<Vec<_>>());
    let query = vec![1.0, 0.0, 0.0, 0.0];

    let hits = must(
        store
            .search(&name, &SearchQuery::new(query.clone(), 6))
            .await,
        format_args!("{name}: k = 6"),
    );
    if caps.ties_by_id {
        let want: Vec<RecordId> = near_ids.iter().chain(&tied_ids[..4]).copied().collect();
        assert_eq!(
            ids(&hits),
            want,
            "conformance: {name}: k = 6 keeps the 2 nearest, then the 4 smallest ids of the 10 tied, in id order"
        );
    } else {
        let got = ids(&hits);
        assert_eq!(got.len(), 6, "conformance: {name}: k = 6 gives 6 hits");
        assert_eq!(
            got[..2],
            near_ids[..],
            "conformance: {name}: k = 6 keeps the 2 nearest first, in id order"
        );
        assert_cut_of(&name, &got[2..], &tied_ids, "k = 6: 4 of the 10 tied");
    }

    // Every tied record once k covers them all, still in id order.
    let hits = must(
        store
            .search(&name, &SearchQuery::new(query.clone(), 12))
            .await,
        format_args!("{name}: k = 12"),
    );
    let want: Vec<RecordId> = near_ids.iter().chain(&tied_ids).copied().collect();
    assert_eq!(
        ids(&hits),
        want,
        "conformance: {name}: k = 12 lists the tie by id"
    );

    // A filter that keeps half of the tie, cut again.
    let odd: Vec<&Record> = tied.iter().filter(|r| r.payload["group"] == 1).collect();
    let odd_ids = sorted_ids(&odd);
    let filtered = SearchQuery::new(query, 4).with_filter(Filter::ne("group", 0));
    let hits = must(
        store.search(&name, &filtered).await,
        format_args!("{name}: filtered k = 4"),
    );
    if caps.ties_by_id {
        assert_eq!(
            ids(&hits),
            odd_ids[..4].to_vec(),
            "conformance: {name}: a filtered search cuts the tie by id too"
        );
    } else {
        let got = ids(&hits);
        assert_eq!(
            got.len(),
            4,
            "conformance: {name}: filtered k = 4 gives 4 hits"
        );
        assert_cut_of(
            &name,
            &got,
            &odd_ids,
            "filtered k = 4: 4 of the 5 matching tied",
        );
    }
    must(store.drop_collection(&name).await, "drop_collection");
}
