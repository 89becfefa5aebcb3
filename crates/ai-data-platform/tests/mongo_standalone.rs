//! A standalone mongod (no replica set, so no transactions), started
//! privately for these tests: the configuration repository picks guarded
//! activation by itself, forced transactions are refused, and the health
//! check says what it cannot measure.

mod mongo_common;

use ai_data_core::{ErrorKind, Store};
use ai_data_mongo::bson::doc;
use ai_data_mongo::MongoStore;
use ai_data_platform::mongo::{ActivationMode, NewConfiguration, SeedCollections};
use ai_data_testkit::MongodServer;

/// The store crate's standalone server, with the seed's collections.
async fn standalone_store() -> Option<(MongodServer, MongoStore)> {
    let (server, store) = mongo_common::standalone_store().await?;
    store.bootstrap().await.expect("bootstrap");
    Some((server, store))
}

#[tokio::test]
async fn auto_mode_picks_guarded_activation_and_keeps_one_version_active() {
    let Some((_server, store)) = standalone_store().await else {
        return;
    };
    let repo = store.configurations();
    assert_eq!(
        repo.effective_mode().await.expect("mode"),
        ActivationMode::Guarded
    );
    for replicas in 1..=3 {
        let new =
            NewConfiguration::new("svc", "prod", &doc! { "replicas": replicas }).expect("new");
        repo.publish(&new).await.expect("publish");
    }
    repo.activate("svc", "prod", 2).await.expect("activate 2");
    let active = repo.activate("svc", "prod", 3).await.expect("activate 3");
    assert!(active.is_active);
    let versions = repo.list_versions("svc", "prod").await.expect("list");
    let active: Vec<i64> = versions
        .iter()
        .filter(|c| c.is_active)
        .map(|c| c.version)
        .collect();
    assert_eq!(active, vec![3]);
    assert_eq!(
        repo.roll_back("svc", "prod").await.expect("back").version,
        2
    );
    assert_eq!(
        repo.get_active("svc", "prod")
            .await
            .expect("get")
            .map(|c| c.version),
        Some(2)
    );
}

#[tokio::test]
async fn forced_transactions_are_refused_and_change_nothing() {
    let Some((_server, store)) = standalone_store().await else {
        return;
    };
    let guarded = store.configurations();
    let new = NewConfiguration::new("svc", "prod", &doc! { "x": 1 }).expect("new");
    guarded.publish(&new).await.expect("publish v1");
    guarded.publish(&new).await.expect("publish v2");
    guarded
        .activate("svc", "prod", 1)
        .await
        .expect("activate 1");

    let forced = store
        .configurations()
        .with_activation_mode(ActivationMode::Transaction);
    let err = forced
        .activate("svc", "prod", 2)
        .await
        .expect_err("a standalone server has no transactions");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    assert_eq!(err.store(), Some(Store::Mongo));
    assert_eq!(
        guarded
            .get_active("svc", "prod")
            .await
            .expect("get")
            .map(|c| c.version),
        Some(1),
        "the refused activation changed nothing"
    );
}
