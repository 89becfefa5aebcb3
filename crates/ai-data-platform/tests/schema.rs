//! Migrations: what they create, and that running them twice or from two
//! processes at once is safe.

mod common;

use ai_data_pg::{PgConfig, PgDatabase};
use ai_data_platform::pg::MIGRATOR;

#[tokio::test]
async fn migrations_create_the_platform_schema() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname IN \
         ('auth','data_platform','algo_platform','model_platform','service_platform') ORDER BY 1",
    )
    .fetch_all(db.primary())
    .await
    .expect("schemas");
    assert_eq!(
        schemas,
        [
            "algo_platform",
            "auth",
            "data_platform",
            "model_platform",
            "service_platform"
        ]
    );

    // pgcrypto is installed where the server ships it (the local test build does not).
    let (vector, pgcrypto_installed, pgcrypto_available): (bool, bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'), \
                EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto'), \
                EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto')",
    )
    .fetch_one(db.primary())
    .await
    .expect("extensions");
    assert!(vector);
    assert_eq!(pgcrypto_installed, pgcrypto_available);

    for table in [
        "auth.users",
        "auth.groups",
        "auth.user_groups",
        "auth.permissions",
        "auth.group_permissions",
        "auth.user_permissions",
        "data_platform.data_sources",
        "data_platform.text_embeddings",
        "model_platform.models",
        "model_platform.model_versions",
        "service_platform.system_config",
    ] {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(db.primary())
            .await
            .expect("regclass");
        assert!(exists, "{table} missing");
    }

    // The seed's indexes, and HNSW with cosine on the embeddings.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE indexname IN \
         ('idx_users_username','idx_users_email','idx_users_org_id','idx_text_embeddings_vector') ORDER BY 1",
    )
    .fetch_all(db.primary())
    .await
    .expect("indexes");
    assert_eq!(indexes.len(), 4, "{indexes:?}");
    let vector_index = &indexes[0].1;
    assert!(
        vector_index.contains("hnsw") && vector_index.contains("vector_cosine_ops"),
        "{vector_index}"
    );

    let dim: i32 = sqlx::query_scalar(
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'data_platform.text_embeddings'::regclass \
         AND attname = 'embedding'",
    )
    .fetch_one(db.primary())
    .await
    .expect("typmod");
    assert_eq!(dim, 1536);

    // No account ships with the schema (the seed's admin/admin123 is not created).
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users")
        .fetch_one(db.primary())
        .await
        .expect("count");
    assert_eq!(users, 0);
}

#[tokio::test]
async fn text_embeddings_stay_in_the_row_even_beside_a_long_text() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let storage: String = sqlx::query_scalar(
        "SELECT attstorage::text FROM pg_attribute \
         WHERE attrelid = 'data_platform.text_embeddings'::regclass AND attname = 'embedding'",
    )
    .fetch_one(db.primary())
    .await
    .expect("catalog");
    assert_eq!(storage, "p");
    let repo = ai_data_platform::pg::TextEmbeddingRepo::new(db.clone());
    let embedding: Vec<f32> = (0..ai_data_platform::pg::TEXT_EMBEDDING_DIM)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    // A short text, and one far beyond a page: PLAIN must not make that row
    // too big (the text is compressed or moved to TOAST instead).
    let long_text: String = (0..20_000).map(|i| format!("{i:x}")).collect();
    let rows = [
        ai_data_platform::pg::NewTextEmbedding::new(1, "short", "a short text", embedding.clone()),
        ai_data_platform::pg::NewTextEmbedding::new(
            1,
            "long",
            long_text.clone(),
            embedding.clone(),
        ),
    ];
    let ids = repo.insert_batch(&rows).await.expect("insert");
    assert_eq!(ids.len(), 2);
    let (text, stored): (String, pgvector::Vector) = sqlx::query_as(
        "SELECT text_content, embedding FROM data_platform.text_embeddings WHERE record_id = 'long'",
    )
    .fetch_one(db.primary())
    .await
    .expect("read back");
    assert_eq!(text, long_text);
    assert_eq!(stored.to_vec(), embedding);
}

#[tokio::test]
async fn updated_at_is_maintained_by_trigger() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let (created, updated): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as(
            "INSERT INTO auth.groups (name) VALUES ('g') RETURNING created_at, updated_at",
        )
        .fetch_one(db.primary())
        .await
        .expect("insert");
    assert_eq!(created, updated);
    // A new transaction has a later now().
    let touched: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "UPDATE auth.groups SET description = 'd' WHERE name = 'g' RETURNING updated_at",
    )
    .fetch_one(db.primary())
    .await
    .expect("update");
    assert!(touched > updated, "{touched} should be after {updated}");
}

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    db.migrate(&ai_data_platform::pg::MIGRATOR)
        .await
        .expect("second run");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(db.primary())
        .await
        .expect("count");
    assert_eq!(applied, MIGRATOR.iter().count() as i64);
}

#[tokio::test]
async fn two_processes_migrating_at_once_both_succeed() {
    let Some(test_db) = ai_data_testkit::pg().await else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_ai-data-pg-migrate");
    let spawn = || tokio::process::Command::new(bin).arg(&test_db.url).output();
    let (a, b) = tokio::join!(spawn(), spawn());
    for out in [a.expect("run a"), b.expect("run b")] {
        assert!(
            out.status.success(),
            "migrate failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = PgDatabase::connect(&PgConfig::from_url(&test_db.url).expect("url"))
        .await
        .expect("connect");
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(db.primary())
            .await
            .expect("versions");
    let expected: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(applied, expected, "each migration applied exactly once");
}
