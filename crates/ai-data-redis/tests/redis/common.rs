//! Helpers shared by the integration tests.

use ai_data_redis::{RedisClient, RedisConfig};
use ai_data_testkit::RedisTest;
use fred::interfaces::KeysInterface;
use fred::prelude::Key;
use futures::TryStreamExt;

/// A client of this crate for the test server.
pub(crate) async fn connect(url: &str) -> RedisClient {
    RedisClient::connect(RedisConfig::from_url(url).expect("test URL parses"))
        .await
        .expect("connect to the test Redis")
}

/// The test's prefix as a cache namespace (`test:<id>`).
pub(crate) fn namespace(r: &RedisTest) -> String {
    r.prefix.trim_end_matches(':').to_owned()
}

/// Every key of the test (SCAN, not KEYS).
async fn scan(r: &RedisTest) -> Vec<Key> {
    r.client
        .scan_buffered(format!("{}*", r.prefix), Some(500), None)
        .try_collect()
        .await
        .expect("scan the test's keys")
}

/// Delete every key of the test.
pub(crate) async fn cleanup(r: &RedisTest) {
    for chunk in scan(r).await.chunks(500) {
        let _: i64 = r.client.unlink(chunk.to_vec()).await.expect("unlink");
    }
}

/// Keys of the test.
pub(crate) async fn keys(r: &RedisTest) -> Vec<String> {
    scan(r)
        .await
        .iter()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect()
}
