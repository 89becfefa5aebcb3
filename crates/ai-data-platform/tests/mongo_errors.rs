//! The seed's repositories on a real server: a config from the
//! environment reaches the configured database, and a duplicate key is a
//! permanent conflict with context (moved from ai-data-mongo's
//! `errors_and_health`).

mod mongo_common;

use ai_data_core::{EnvSource, ErrorKind, Store};
use ai_data_mongo::bson::{doc, Document};
use ai_data_mongo::{mongodb, server_code, MongoConfig, MongoStore};
use ai_data_platform::mongo::{SeedCollections, SystemLog};
use ai_data_platform::LogLevel;

#[tokio::test]
async fn config_from_the_environment_reaches_the_server() {
    let Some((m, _)) = mongo_common::store().await else {
        return;
    };
    let env = EnvSource::from_pairs([
        ("AI_DATA_MONGO_URL", m.url.as_str()),
        ("AI_DATA_MONGO_DATABASE", m.database.as_str()),
        ("AI_DATA_MONGO_APP_NAME", "ai-data-tests"),
        ("AI_DATA_MONGO_SERVER_SELECTION_TIMEOUT", "5s"),
        ("AI_DATA_MONGO_POOL_MAX_SIZE", "4"),
    ]);
    let config = MongoConfig::from_env_source(&env).expect("loads");
    assert_eq!(config.database(), m.database);
    let store = MongoStore::connect(&config).await.expect("connects");
    assert_eq!(store.database().name(), m.database);
    let id = store
        .logs()
        .insert_one(&SystemLog::new(
            LogLevel::Info,
            "env",
            "configured from env",
        ))
        .await
        .expect("insert");
    let stored = m
        .db()
        .collection::<Document>("system_logs")
        .find_one(doc! { "_id": id })
        .await
        .expect("find")
        .expect("written to the configured database");
    assert_eq!(
        stored.get_str("message").expect("message"),
        "configured from env"
    );
}

#[tokio::test]
async fn duplicate_key_is_a_permanent_conflict_with_context() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    store.bootstrap().await.expect("bootstrap");
    let log = SystemLog::new(LogLevel::Error, "dup", "secret-ish value 4111-1111");
    store.logs().insert_one(&log).await.expect("first insert");
    let err = store
        .logs()
        .insert_one(&log)
        .await
        .expect_err("same _id again");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.store(), Some(Store::Mongo));
    assert_eq!(err.operation(), Some("insert_one"));
    assert_eq!(
        err.target(),
        Some(format!("{}.system_logs", m.database).as_str())
    );
    assert!(err.message().contains("_id_"), "{err}");
    let driver = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<mongodb::error::Error>())
        .expect("driver error kept");
    assert_eq!(server_code(driver), Some(11000));
    // The message names the index, not the duplicated value.
    let id_hex = log.id.expect("id").to_hex();
    assert!(!err.to_string().contains(&id_hex), "{err}");
}
