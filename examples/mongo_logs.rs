//! MongoDB end to end: connect from the environment, bootstrap the seed's
//! collections and indexes, ship a burst of structured logs and read them
//! back, publish and activate a configuration, and track a task.
//!
//! Against the local stores:
//! `scripts/stores.sh start && cargo run --features platform,mongo --example mongo_logs`
//!
//! Configuration comes from the `AI_DATA_MONGO_*` variables (see
//! `MongoConfig`). When neither `AI_DATA_MONGO_URL` nor `AI_DATA_MONGO_HOST`
//! is set, the example uses `AI_DATA_TEST_MONGO_URL` from the environment
//! or from the env file `scripts/stores.sh start` wrote (`.stores/env`).

use std::time::Duration;

use ai_data::core::{EnvSource, Error, Result, Store};
use ai_data::mongo::bson::{doc, DateTime};
use ai_data::mongo::{MongoConfig, MongoStore};
use ai_data::platform::mongo::{
    LogQuery, NewConfiguration, SeedCollections, SystemLog, TaskState, TaskUpdate,
};
use ai_data::platform::LogLevel;
use serde::{Deserialize, Serialize};

/// The configuration a model-serving component reads.
#[derive(Debug, Serialize, Deserialize)]
struct ModelServing {
    model: String,
    replicas: u32,
    max_batch_tokens: u32,
}

/// `MongoConfig` from `AI_DATA_MONGO_*`, or the local test store.
fn config() -> Result<MongoConfig> {
    if ai_data::is_configured(&EnvSource::from_process(), Store::Mongo) {
        return MongoConfig::from_env();
    }
    match ai_data_testkit::test_var("AI_DATA_TEST_MONGO_URL") {
        Some(url) => Ok(MongoConfig::from_url(&url)?
            .with_app_name("ai-data-example")
            .with_server_selection_timeout(Duration::from_secs(5))),
        None => Err(Error::config(
            "set AI_DATA_MONGO_URL (or run scripts/stores.sh start for a local MongoDB)",
        )),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let config = config()?;
    println!("connecting to {config}");
    let store = MongoStore::connect(&config).await?;
    let health = store.health().await?;
    println!(
        "server version {} ({:?}), ping {:?}",
        health.server_version.as_deref().unwrap_or("?"),
        health.details,
        health.latency
    );

    let report = store.bootstrap().await?;
    let created = report
        .indexes
        .iter()
        .filter(|i| i.status == ai_data::mongo::IndexStatus::Created)
        .count();
    println!(
        "bootstrap: {} collections, {} indexes ({created} created this run)",
        report.collections.len(),
        report.indexes.len()
    );

    // A burst of structured logs from three services.
    let run_start = DateTime::now();
    let services = ["user_service", "model_service", "ingest_service"];
    let burst: Vec<SystemLog> = (0..600_u32)
        .map(|i| {
            let level = match i % 20 {
                0 => LogLevel::Error,
                1..=3 => LogLevel::Warn,
                _ => LogLevel::Info,
            };
            let service = services[(i % 3) as usize];
            SystemLog::new(level, service, format!("request {i} handled"))
                .with_details(
                    doc! { "request_id": format!("req-{i:04}"), "latency_ms": i64::from(i % 97) },
                )
                .with_trace_id(format!("trace-{}", i / 10))
        })
        .collect();
    let shipped = store.logs().insert_many(&burst).await?;
    println!(
        "shipped {} log entries ({} refused)",
        shipped.inserted(),
        shipped.failures.len()
    );

    // Read back this run's model_service errors, 5 a page.
    let mut query = LogQuery::new()
        .service("model_service")
        .level(LogLevel::Error)
        .since(run_start)
        .limit(5);
    let (mut pages, mut errors) = (0, 0);
    loop {
        let page = store.logs().query(&query).await?;
        pages += 1;
        errors += page.logs.len();
        if let Some(first) = page.logs.first() {
            println!(
                "  page {pages}: newest is {:?} at {}",
                first.message, first.timestamp
            );
        }
        let Some(next) = page.next else { break };
        query = query.after(Some(next));
    }
    println!("model_service errors this run: {errors} in {pages} pages");
    for row in store.logs().count_by_level(Some(run_start), None).await? {
        println!("  {:<15} {:<5} {}", row.service, row.level, row.count);
    }

    // Publish a new configuration version and make it the active one.
    let configs = store.configurations();
    let published = configs
        .publish(
            &NewConfiguration::new(
                "model_service",
                "production",
                &ModelServing {
                    model: "bge-m3".into(),
                    replicas: 3,
                    max_batch_tokens: 8192,
                },
            )?
            .description("three replicas for the launch")
            .created_by("mongo_logs example"),
        )
        .await?;
    configs
        .activate("model_service", "production", published.version)
        .await?;
    let active = configs
        .get_active("model_service", "production")
        .await?
        .ok_or_else(|| Error::config("no active configuration after activation"))?;
    let serving: ModelServing = active.config_as()?;
    println!(
        "configuration model_service/production: v{} of {} is active ({serving:?})",
        active.version,
        configs
            .list_versions("model_service", "production")
            .await?
            .len()
    );

    // Track a task through its states.
    let tasks = store.tasks();
    let task_id = format!("embed-{}", run_start.timestamp_millis());
    tasks
        .upsert(&TaskUpdate::new(
            &task_id,
            "embedding_job",
            TaskState::Pending,
        ))
        .await?;
    tasks
        .upsert(
            &TaskUpdate::new(&task_id, "embedding_job", TaskState::Running)
                .progress(0.5)
                .message("500 of 1000 documents"),
        )
        .await?;
    let done = tasks
        .upsert(
            &TaskUpdate::new(&task_id, "embedding_job", TaskState::Completed)
                .progress(1.0)
                .result(doc! { "documents": 1000, "dimension": 1024 }),
        )
        .await?;
    println!(
        "task {} is {} (progress {:?}, last updated {} by the server, expires after the TTL)",
        done.task_id, done.status, done.progress, done.last_updated
    );
    let completed = tasks
        .list_by_type("embedding_job", Some(&TaskState::Completed), 10)
        .await?;
    println!("completed embedding jobs (latest 10): {}", completed.len());
    Ok(())
}
