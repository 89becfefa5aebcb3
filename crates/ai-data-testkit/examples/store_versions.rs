//! Print the version each local store reports (the tour's first step).
//!
//! `scripts/stores.sh start && cargo run -p ai-data-testkit --all-features --example store_versions`

use std::time::Duration;

use fred::prelude::*;
use fred::types::InfoKind;
use mongodb::bson::doc;
use rdkafka::producer::{FutureProducer, Producer};

#[tokio::main]
async fn main() {
    let pg = ai_data_testkit::pg()
        .await
        .expect("PostgreSQL (run scripts/stores.sh start)");
    let (server, vector): (String, String) = sqlx::query_as(
        "SELECT current_setting('server_version'), \
         (SELECT extversion FROM pg_extension WHERE extname = 'vector')",
    )
    .fetch_one(&pg.pool)
    .await
    .expect("PostgreSQL version");
    println!("postgres  {server} with pgvector {vector}");

    let redis = ai_data_testkit::redis().await.expect("Redis");
    let info: String = redis
        .client
        .info(Some(InfoKind::Server))
        .await
        .expect("INFO server");
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned();
    println!("redis     {version}");

    let mongo = ai_data_testkit::mongo().await.expect("MongoDB");
    let build = mongo
        .client
        .database("admin")
        .run_command(doc! { "buildInfo": 1 })
        .await
        .expect("buildInfo");
    println!("mongodb   {}", build.get_str("version").unwrap_or("?"));

    let kafka = ai_data_testkit::kafka().await.expect("Kafka");
    let producer: FutureProducer = kafka.client_config().create().expect("client");
    let metadata = tokio::task::spawn_blocking(move || {
        producer
            .client()
            .fetch_metadata(None, Duration::from_secs(10))
    })
    .await
    .expect("task")
    .expect("metadata");
    println!(
        "kafka     {} broker(s) at {} (Kafka-protocol tansu locally)",
        metadata.brokers().len(),
        kafka.brokers
    );
}
