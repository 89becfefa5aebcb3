//! The PostgreSQL repositories end to end: connect from the environment,
//! migrate, create a user and a group, grant a permission, register a model,
//! store three embeddings and search them.
//!
//! Against the local stores:
//! `scripts/stores.sh start && source "$(scripts/stores.sh env-file)" && cargo run --features platform,pg --example pg_repositories`
//! (with no `AI_DATA_PG_*` variables it uses `AI_DATA_TEST_PG_URL` from that env file).

use ai_data::core::Result;
use ai_data::pg::{PgConfig, PgDatabase};
use ai_data::platform::pg::{
    GroupRepo, ModelRepo, NewModel, NewModelVersion, NewTextEmbedding, NewUser, TextEmbeddingRepo,
    UserRepo, MIGRATOR, TEXT_EMBEDDING_DIM,
};

#[tokio::main]
async fn main() -> Result<()> {
    let config = match std::env::var("AI_DATA_TEST_PG_URL") {
        Ok(url)
            if std::env::var_os("AI_DATA_PG_URL").is_none()
                && std::env::var_os("AI_DATA_PG_HOST").is_none() =>
        {
            PgConfig::from_url(&url)?
        }
        _ => PgConfig::from_env()?,
    };
    println!("connecting to {config}");
    let db = PgDatabase::connect(&config).await?;
    db.migrate(&MIGRATOR).await?;
    println!("migrations applied");

    // Names unique per run, so the example can run again on the same database.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();

    let users = UserRepo::new(db.clone());
    let user = users
        .create(NewUser::new(
            format!("analyst-{run}"),
            format!("analyst-{run}@example.com"),
            "a long passphrase",
        ))
        .await?;
    println!("created user {} (id {})", user.username, user.id);

    let groups = GroupRepo::new(db.clone());
    let group = groups
        .create(&format!("ml-engineers-{run}"), Some("can deploy models"))
        .await?;
    groups.add_member(group.id, user.id).await?;
    groups.grant_to_group(group.id, "models.deploy").await?;
    println!(
        "{} in group {}: may deploy models = {}",
        user.username,
        group.name,
        groups.user_has_permission(user.id, "models.deploy").await?
    );

    let models = ModelRepo::new(db.clone());
    let mut new_model = NewModel::new(format!("doc-ranker-{run}"), "pytorch");
    new_model.use_case = Some("rerank retrieved documents".into());
    new_model.created_by = Some(user.id);
    let model = models.register(new_model).await?;
    models
        .add_version(
            model.id,
            NewModelVersion::new("1.0.0", serde_json::json!({"ndcg@10": 0.71})),
        )
        .await?;
    let latest = models.latest(model.id).await?;
    println!(
        "registered model {} version {} metrics {}",
        model.name, latest.version, latest.metrics.0
    );

    let embeddings = TextEmbeddingRepo::new(db.clone()).primary_only();
    let dataset = i32::try_from(run % 1_000_000).unwrap_or(1);
    let texts = [
        "pgvector indexes with HNSW",
        "Redis caches query results",
        "Kafka streams ingestion events",
    ];
    let rows: Vec<NewTextEmbedding> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            NewTextEmbedding::new(dataset, format!("doc-{i}"), *text, toy_embedding(i))
        })
        .collect();
    embeddings.insert_batch(&rows).await?;
    let hits = embeddings
        .search(&toy_embedding(0), 3, Some(dataset))
        .await?;
    println!("nearest to \"{}\":", texts[0]);
    for hit in hits {
        println!(
            "  {:.4}  {}",
            hit.distance,
            hit.row.text_content.unwrap_or_default()
        );
    }
    embeddings.delete_by_dataset(dataset).await?;
    Ok(())
}

/// A deterministic stand-in for a real embedding model: mostly along axis `i`.
fn toy_embedding(i: usize) -> Vec<f32> {
    (0..TEXT_EMBEDDING_DIM)
        .map(|d| {
            if d == i {
                1.0
            } else {
                ((d * 31 + i * 7) % 13) as f32 / 100.0
            }
        })
        .collect()
}
