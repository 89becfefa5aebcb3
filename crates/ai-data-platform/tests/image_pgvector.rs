//! The seed's 2048-d `Image` collection on pgvector: stored as
//! `halfvec(2048)` under an HNSW index (above `vector`'s 2,000-dimension
//! indexing limit), searched by vector and by caption, against the exact
//! in-memory store holding the same records.

use std::collections::HashSet;

use ai_data_pg::{PgConfig, PgDatabase, PgVectorStore};
use ai_data_platform::vector::{image_collection, IMAGE_DIMENSION};
use ai_data_vector::conformance::{clustered, queries_near};
use ai_data_vector::{Filter, MemoryStore, Record, RecordId, SearchQuery, TextQuery, VectorStore};
use serde_json::json;

const WORDS: [&str; 8] = [
    "cat", "dog", "beach", "city", "night", "forest", "portrait", "snow",
];

/// The one image whose caption has a word no other caption has.
const AURORA: usize = 123;

fn images() -> Vec<Record> {
    clustered(2048, 400, IMAGE_DIMENSION, 8)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut caption = format!("{} {} photo", WORDS[i % 8], WORDS[(i / 8) % 8]);
            if i == AURORA {
                caption.push_str(" with an aurora");
            }
            let payload = json!({
                "filename": format!("img-{i}.jpg"),
                "caption": caption,
                "mimeType": if i % 2 == 0 { "image/jpeg" } else { "image/png" },
                "imageUrl": format!("s3://images/img-{i}.jpg"),
                "resolution": "1024x768",
                "tags": [WORDS[i % 8]],
                "uploadDate": "2026-11-30T12:00:00Z",
            });
            Record::new(
                RecordId::from_key(&format!("img-{i}")),
                r.vector,
                payload.as_object().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

fn ids(hits: &[ai_data_vector::SearchHit]) -> Vec<RecordId> {
    hits.iter().map(|h| h.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_image_collection_is_indexed_halfvec_on_pgvector() {
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    let store = PgVectorStore::connect(db, "seed_vectors")
        .await
        .expect("store");
    let spec = image_collection();
    assert!(store.ensure_collection(&spec).await.expect("create"));
    assert!(!store.ensure_collection(&spec).await.expect("idempotent"));
    let oracle = MemoryStore::new();
    oracle.ensure_collection(&spec).await.expect("memory");

    let (column,): (String,) = sqlx::query_as(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'seed_vectors.\"Image\"'::regclass AND attname = 'embedding'",
    )
    .fetch_one(&test_db.pool)
    .await
    .expect("column type");
    assert_eq!(column, "halfvec(2048)");
    let (index,): (String,) = sqlx::query_as(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'seed_vectors' \
         AND tablename = 'Image' AND indexdef LIKE '%hnsw%'",
    )
    .fetch_one(&test_db.pool)
    .await
    .expect("HNSW index");
    assert!(index.contains("halfvec_cosine_ops"), "{index}");

    let records = images();
    assert_eq!(
        store
            .upsert("Image", &records)
            .await
            .expect("upsert")
            .upserted,
        400
    );
    oracle
        .upsert("Image", &records)
        .await
        .expect("oracle upsert");

    // Vector search: recall@10 against the exact store.
    let (mut found, mut wanted) = (0, 0);
    for vector in queries_near(2048, 10, IMAGE_DIMENSION, 8) {
        let query = SearchQuery::new(vector, 10);
        let exact: HashSet<_> = ids(&oracle.search("Image", &query).await.expect("exact"))
            .into_iter()
            .collect();
        let hits = store.search("Image", &query).await.expect("search");
        found += hits.iter().filter(|h| exact.contains(&h.id)).count();
        wanted += exact.len();
    }
    let recall = found as f64 / wanted as f64;
    assert!(recall >= 0.95, "recall@10 {recall}");

    // Keyword search over the caption, filtered: the same set as the oracle.
    let keyword =
        SearchQuery::keyword("Snow", 400).with_filter(Filter::eq("mimeType", "image/png"));
    let expected = records
        .iter()
        .filter(|r| r.payload["mimeType"] == "image/png")
        .filter(|r| {
            r.payload["caption"]
                .as_str()
                .is_some_and(|c| c.contains("snow"))
        })
        .count();
    let pg: HashSet<_> = ids(&store.search("Image", &keyword).await.expect("keyword"))
        .into_iter()
        .collect();
    let exact: HashSet<_> = ids(&oracle.search("Image", &keyword).await.expect("oracle"))
        .into_iter()
        .collect();
    assert!(expected > 10);
    assert_eq!(pg.len(), expected, "every png captioned with snow");
    assert_eq!(pg, exact);

    // Hybrid: first in both arms (its own vector, the one caption with
    // "aurora"), first fused.
    let target = &records[AURORA];
    let hybrid =
        SearchQuery::new(target.vector.clone(), 5).with_text(TextQuery::new("aurora photo"));
    let hits = store.search("Image", &hybrid).await.expect("hybrid");
    assert_eq!(hits.first().map(|h| h.id), Some(target.id), "{hits:?}");
    let stored = store
        .get("Image", &[target.id])
        .await
        .expect("get")
        .pop()
        .expect("stored");
    assert_eq!(stored.payload, target.payload);
    let rounded: Vec<f32> = target
        .vector
        .iter()
        .map(|x| half::f16::from_f32(*x).to_f32())
        .collect();
    assert_eq!(stored.vector, rounded, "stored at half precision");
}
