//! Shared helpers: a store on the test's own database.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use ai_data_mongo::bson::{doc, Document};
use ai_data_mongo::{MongoConfig, MongoStore};
use ai_data_testkit::MongoTest;

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

/// A config logging in as `user` (created by the bootstrap in the test's
/// database, so that is its authentication database: the test URL's own
/// `authSource=admin` belongs to the admin user).
pub fn user_config(m: &MongoTest, user: &str, password: &str) -> MongoConfig {
    config(m)
        .with_username(user)
        .with_password(password.to_owned())
        .with_auth_source(m.database.clone())
}

/// The raw `listIndexes` documents of a collection, by name.
pub async fn raw_indexes(m: &MongoTest, collection: &str) -> Vec<Document> {
    let reply = m
        .db()
        .run_command(doc! { "listIndexes": collection })
        .await
        .expect("listIndexes");
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("first batch")
        .iter()
        .filter_map(|b| b.as_document().cloned())
        .collect()
}

/// A random password for a test user.
pub fn random_password() -> String {
    format!("pw-{}", ai_data_testkit::unique_name(""))
}
