use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::{FieldKind, Metric, Payload, VectorStoreExt};

fn payload(v: serde_json::Value) -> Payload {
    v.as_object().cloned().unwrap_or_default()
}

async fn store_with(metric: Metric, points: &[[f32; 2]]) -> MemoryStore {
    let store = MemoryStore::new();
    let spec = CollectionSpec::new("pts", 2, metric).with_field("i", FieldKind::Int);
    assert_eq!(store.ensure_collection(&spec).await.ok(), Some(true));
    let records: Vec<Record> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Record::new(
                RecordId::from_key(&i.to_string()),
                p.to_vec(),
                payload(json!({ "i": i })),
            )
        })
        .collect();
    let report = store.upsert("pts", &records).await;
    assert_eq!(report.map(|r| r.upserted).ok(), Some(points.len() as u64));
    store
}

#[tokio::test]
async fn missing_collection_is_not_found_with_context() {
    let store = MemoryStore::new();
    let err = store.count("nope", None).await.err();
    let err = err.as_ref();
    assert_eq!(err.map(Error::kind), Some(ErrorKind::NotFound));
    assert_eq!(err.and_then(Error::target), Some("nope"));
    assert_eq!(err.and_then(Error::operation), Some("count"));
    let search = store
        .search("nope", &SearchQuery::new(vec![1.0], 1))
        .await
        .err();
    assert_eq!(search.map(|e| e.kind()), Some(ErrorKind::NotFound));
    assert_eq!(store.drop_collection("nope").await.ok(), Some(false));
}

#[tokio::test]
async fn distances_follow_the_documented_conventions() {
    let pts = [[3.0, 4.0], [1.0, 0.0], [-2.0, 0.0]];
    let q = vec![1.0, 0.0];
    let l2 = store_with(Metric::L2, &pts).await;
    let hits = l2
        .search("pts", &SearchQuery::new(q.clone(), 3))
        .await
        .unwrap_or_default();
    let d: Vec<f32> = hits.iter().map(|h| h.distance).collect();
    assert_eq!(d, vec![0.0, 3.0, 20.0_f32.sqrt()], "Euclidean, not squared");
    let dot = store_with(Metric::Dot, &pts).await;
    let hits = dot
        .search("pts", &SearchQuery::new(q.clone(), 3))
        .await
        .unwrap_or_default();
    let d: Vec<f32> = hits.iter().map(|h| h.distance).collect();
    assert_eq!(d, vec![-3.0, -1.0, 2.0], "negative inner product");
    let cos = store_with(Metric::Cosine, &pts).await;
    let hits = cos
        .search("pts", &SearchQuery::new(q, 3))
        .await
        .unwrap_or_default();
    let d: Vec<f32> = hits.iter().map(|h| h.distance).collect();
    assert!(
        (d[0] - 0.0).abs() < 1e-7 && (d[1] - 0.4).abs() < 1e-6 && (d[2] - 2.0).abs() < 1e-7,
        "{d:?}"
    );
}

#[tokio::test]
async fn threshold_and_include_flags() {
    let store = store_with(
        Metric::L2,
        &[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]],
    )
    .await;
    let q = SearchQuery::new(vec![0.0, 0.0], 10).with_max_distance(2.0);
    let hits = store.search("pts", &q).await.unwrap_or_default();
    assert_eq!(hits.len(), 3, "2.0 itself is within the threshold");
    assert!(hits
        .iter()
        .all(|h| h.payload.is_some() && h.vector.is_none()));
    let bare = SearchQuery::new(vec![0.0, 0.0], 1)
        .with_payloads(false)
        .with_vectors(true);
    let hits = store.search("pts", &bare).await.unwrap_or_default();
    assert_eq!(hits[0].payload, None);
    assert_eq!(hits[0].vector, Some(vec![0.0, 0.0]));
    let none = store
        .search(
            "pts",
            &SearchQuery::new(vec![0.0, 0.0], 5).with_max_distance(-1.0),
        )
        .await;
    assert_eq!(none.map(|h| h.len()).ok(), Some(0));
}

#[tokio::test]
async fn small_write_chunks_and_concurrent_writers() {
    let store = Arc::new(MemoryStore::new().with_max_batch_size(7));
    store
        .ensure_collection(&CollectionSpec::new("c", 4, Metric::Dot))
        .await
        .ok();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let records: Vec<Record> = (0..250)
                .map(|i| {
                    Record::new(
                        RecordId::from_key(&format!("{t}-{i}")),
                        vec![t as f32, i as f32, 1.0, 0.0],
                        Payload::new(),
                    )
                })
                .collect();
            store
                .upsert("c", &records)
                .await
                .map(|r| r.upserted)
                .unwrap_or(0)
        }));
    }
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap_or(0);
    }
    assert_eq!(written, 1000);
    assert_eq!(store.count("c", None).await.ok(), Some(1000));
    let got = store
        .get_one("c", RecordId::from_key("3-249"))
        .await
        .ok()
        .flatten();
    assert_eq!(got.map(|r| r.vector), Some(vec![3.0, 249.0, 1.0, 0.0]));
}

#[tokio::test]
async fn invalid_input_carries_operation_and_target() {
    let store = store_with(Metric::L2, &[[0.0, 0.0]]).await;
    let err = store
        .search("pts", &SearchQuery::new(vec![0.0; 3], 1))
        .await
        .err();
    assert_eq!(err.as_ref().map(Error::kind), Some(ErrorKind::InvalidInput));
    assert_eq!(err.as_ref().and_then(Error::operation), Some("search"));
    assert_eq!(err.as_ref().and_then(Error::target), Some("pts"));
    let bad = store
        .delete("pts", Selector::Filter(Filter::eq("undeclared", 1)))
        .await
        .err();
    assert_eq!(bad.map(|e| e.kind()), Some(ErrorKind::InvalidInput));
    assert_eq!(
        store.count("pts", None).await.ok(),
        Some(1),
        "a rejected delete deletes nothing"
    );
}
