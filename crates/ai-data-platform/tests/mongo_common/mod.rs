//! Shared helpers: a store on the test's own database (from
//! `ai-data-mongo`'s tests), users, raw index documents.

#![allow(dead_code, unreachable_pub)]

use ai_data_mongo::bson::{doc, Document};
use ai_data_mongo::MongoConfig;
use ai_data_testkit::MongoTest;

// The store crate's own test helpers (a store on the test's database, a
// config for the test server), shared rather than copied.
#[path = "../../../ai-data-mongo/tests/common/mod.rs"]
mod store_common;
#[allow(unused_imports)] // not every test binary uses both
pub use store_common::{config, standalone_store, store};

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
