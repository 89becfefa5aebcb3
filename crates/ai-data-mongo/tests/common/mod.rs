//! Shared helpers: a store on the test's own database.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use ai_data_mongo::{MongoConfig, MongoStore};
use ai_data_testkit::{MongoTest, MongodServer};

/// The test's MongoDB (or `None`: skip) and a store on its own database.
pub async fn store() -> Option<(MongoTest, MongoStore)> {
    let m = ai_data_testkit::mongo().await?;
    let store = MongoStore::from_client(m.client.clone(), &m.database);
    Some((m, store))
}

/// A config pointing at the test server and the test's database.
pub fn config(m: &MongoTest) -> MongoConfig {
    MongoConfig::from_url(&m.url)
        .expect("test URL parses")
        .with_database(m.database.clone())
        .with_server_selection_timeout(Duration::from_secs(5))
}

/// A private standalone `mongod` (no replica set) and a store on its
/// `standalone_test` database (or `None`: skip).
pub async fn standalone_store() -> Option<(MongodServer, MongoStore)> {
    let server = MongodServer::standalone().await?;
    let config = MongoConfig::from_url(&server.url())
        .expect("URL parses")
        .with_database("standalone_test");
    let store = MongoStore::connect(&config).await.expect("connects");
    Some((server, store))
}
