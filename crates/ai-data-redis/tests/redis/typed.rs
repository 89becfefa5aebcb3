//! `TypedCache`: get / set / TTL / get-or-load with single-flight / delete /
//! delete by prefix, and Redis outages during get-or-load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ai_data_core::{Error, ErrorKind};
use ai_data_redis::{Codec, Reconnect, RedisClient, RedisConfig, TypedCache};
use fred::interfaces::KeysInterface;
use serde::{Deserialize, Serialize};

use ai_data_testkit::eventually;

use crate::common::{cleanup, connect, keys, namespace};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ModelCard {
    name: String,
    dims: u32,
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn card(name: &str) -> ModelCard {
    ModelCard {
        name: name.into(),
        dims: 768,
        tags: vec!["text".into(), "嵌入".into()],
        note: None,
    }
}

#[tokio::test]
async fn set_get_delete_under_a_versioned_namespace() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let client = connect(&r.url).await;
    for codec in [Codec::MessagePack, Codec::Json] {
        let cache = TypedCache::<ModelCard>::new(client.clone(), &namespace(&r), 2)
            .expect("cache")
            .with_codec(codec);
        let key = format!("{codec:?}-bge");
        assert_eq!(cache.key(&key), format!("{}v2:{key}", r.prefix));
        assert_eq!(cache.get(&key).await.expect("get"), None);
        let mut value = card("bge-m3");
        value.note = Some(format!("{codec:?}"));
        cache.set(&key, &value).await.expect("set");
        assert_eq!(cache.get(&key).await.expect("get"), Some(value));
        let ttl = cache.ttl(&key).await.expect("ttl").expect("has a TTL");
        assert!(
            ttl > Duration::from_secs(3500) && ttl <= Duration::from_secs(3600),
            "{ttl:?}"
        );
        assert!(cache.delete(&key).await.expect("delete"));
        assert!(!cache.delete(&key).await.expect("delete again"));
        assert_eq!(cache.get(&key).await.expect("get"), None);
    }
    // Another version of the same namespace does not see old entries.
    let v1 = TypedCache::<ModelCard>::new(client.clone(), &namespace(&r), 1).expect("v1");
    let v2 = TypedCache::<ModelCard>::new(client.clone(), &namespace(&r), 2).expect("v2");
    v1.set("shared", &card("old")).await.expect("set");
    assert_eq!(v2.get("shared").await.expect("get"), None);
    let stats = v2.stats();
    assert_eq!((stats.hits, stats.misses), (0, 1));
    cleanup(&r).await;
}

#[tokio::test]
async fn ttl_expiry_is_observed() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<u64>::new(connect(&r.url).await, &namespace(&r), 1).expect("cache");
    let written = Instant::now();
    cache
        .set_with_ttl("short", &7, Duration::from_millis(400))
        .await
        .expect("set");
    assert_eq!(cache.get("short").await.expect("get"), Some(7));
    let ttl = cache.ttl("short").await.expect("ttl").expect("has a TTL");
    assert!(ttl <= Duration::from_millis(400), "{ttl:?}");
    eventually(
        "the entry expires",
        Duration::from_secs(5),
        Duration::from_millis(25),
        || async {
            cache
                .get("short")
                .await
                .expect("get")
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        written.elapsed() >= Duration::from_millis(350),
        "expired too early"
    );
    let zero = cache.set_with_ttl("zero", &1, Duration::ZERO).await;
    assert_eq!(zero.expect_err("zero TTL").kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn fifty_concurrent_misses_run_the_loader_once() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<ModelCard>::new(connect(&r.url).await, &namespace(&r), 1)
        .expect("cache")
        .with_ttl(Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_or_load("hot", || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        // A slow database query.
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        Ok(card("hot"))
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("join").expect("value"), card("hot"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "loader ran more than once");
    assert_eq!(cache.stats().loads, 1);
    // Now cached: no further loads.
    let again = cache
        .get_or_load("hot", || async {
            Err(Error::new(ErrorKind::Backend, "must not run"))
        })
        .await
        .expect("hit");
    assert_eq!(again, card("hot"));
    assert!(cache.stats().hits >= 1);
    cleanup(&r).await;
}

#[tokio::test]
async fn loader_errors_are_returned_and_not_cached() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<u32>::new(connect(&r.url).await, &namespace(&r), 1).expect("cache");
    let calls = AtomicUsize::new(0);
    for _ in 0..2 {
        let err = cache
            .get_or_load("missing", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::new(ErrorKind::NotFound, "no such model"))
            })
            .await
            .expect_err("loader error");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.message(), "no such model");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "errors are not cached");
    assert_eq!(cache.get("missing").await.expect("get"), None);
    assert!(keys(&r).await.is_empty(), "the load marker is removed");
}

#[tokio::test]
async fn an_entry_that_no_longer_decodes_is_a_miss_and_is_reloaded() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache =
        TypedCache::<ModelCard>::new(connect(&r.url).await, &namespace(&r), 1).expect("cache");
    let _: () = r
        .client
        .set(
            cache.key("card"),
            "\u{1}not what you think",
            None,
            None,
            false,
        )
        .await
        .expect("raw set");
    assert_eq!(cache.get("card").await.expect("get"), None);
    let loaded = cache
        .get_or_load("card", || async { Ok(card("fresh")) })
        .await
        .expect("reloaded");
    assert_eq!(loaded, card("fresh"));
    assert_eq!(cache.get("card").await.expect("get"), Some(card("fresh")));
    cleanup(&r).await;
}

#[tokio::test]
async fn delete_by_prefix_scans_pages_and_escapes_globs() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<u32>::new(connect(&r.url).await, &namespace(&r), 1).expect("cache");
    let writes = (0..1200).map(|i| {
        let cache = cache.clone();
        async move { cache.set(&format!("user:1:{i}"), &i).await }
    });
    futures::future::try_join_all(writes).await.expect("writes");
    for i in 0..10 {
        cache.set(&format!("user:2:{i}"), &i).await.expect("set");
    }
    cache.set("a*b", &1).await.expect("set");
    cache.set("aXb", &2).await.expect("set");
    assert_eq!(cache.delete_prefix("user:1:").await.expect("delete"), 1200);
    assert_eq!(cache.get("user:1:7").await.expect("get"), None);
    assert_eq!(cache.get("user:2:7").await.expect("get"), Some(7));
    assert_eq!(cache.delete_prefix("a*").await.expect("delete"), 1);
    assert_eq!(cache.get("aXb").await.expect("get"), Some(2));
    assert_eq!(keys(&r).await.len(), 11);
    assert_eq!(cache.delete_prefix("").await.expect("delete all"), 11);
    assert!(keys(&r).await.is_empty());
}

#[tokio::test]
async fn get_or_load_serves_the_loader_when_redis_is_gone() {
    let Some(mut server) = ai_data_testkit::RedisServer::start() else {
        return;
    };
    let config = RedisConfig::from_url(&server.url())
        .expect("url")
        .with_command_timeout(Duration::from_millis(300))
        .with_reconnect(Reconnect::new(
            0,
            Duration::from_millis(20),
            Duration::from_millis(200),
        ));
    let client = RedisClient::connect(config).await.expect("connect");
    let cache = TypedCache::<String>::new(client, "outage", 1).expect("cache");
    let v = cache
        .get_or_load("k", || async { Ok("from db".to_owned()) })
        .await
        .expect("load");
    assert_eq!(v, "from db");
    assert_eq!(
        cache.get("k").await.expect("cached"),
        Some("from db".to_owned())
    );

    server.kill();
    let started = Instant::now();
    let v = cache
        .get_or_load("other", || async {
            Ok("db while redis is down".to_owned())
        })
        .await
        .expect("a Redis outage never fails get_or_load");
    assert_eq!(v, "db while redis is down");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(cache.stats().redis_errors >= 1);
    let err = cache
        .get("k")
        .await
        .expect_err("plain get reports the outage");
    assert!(err.is_retryable(), "{err}");
}

/// A loader that reports when it starts and then waits to be released.
struct Gate {
    started: Option<tokio::sync::oneshot::Sender<()>>,
    release: tokio::sync::oneshot::Receiver<()>,
}

/// (the loader's gate, its start signal, its release handle)
fn gate() -> (
    Gate,
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel();
    (
        Gate {
            started: Some(started_tx),
            release: release_rx,
        },
        started_rx,
        release_tx,
    )
}

/// Starts `get_or_load(key)` whose loader blocks on the gate and then
/// returns `value`; returns once the loader is running.
async fn blocked_load(
    cache: &TypedCache<String>,
    key: &str,
    value: &str,
) -> (
    tokio::task::JoinHandle<ai_data_core::Result<String>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (mut gate, started, release) = gate();
    let (cache, key, value) = (cache.clone(), key.to_owned(), value.to_owned());
    let task = tokio::spawn(async move {
        cache
            .get_or_load(&key, || async move {
                let _ = gate.started.take().map(|tx| tx.send(()));
                let _ = gate.release.await;
                Ok(value)
            })
            .await
    });
    started.await.expect("the loader started");
    (task, release)
}

#[tokio::test]
async fn a_delete_during_a_load_keeps_the_stale_value_out_of_redis() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<String>::new(connect(&r.url).await, &namespace(&r), 1)
        .expect("cache")
        .with_ttl(Duration::from_secs(600));
    // Another replica: its own connection pool and single-flight group.
    let replica =
        TypedCache::<String>::new(connect(&r.url).await, &namespace(&r), 1).expect("cache");

    // delete() in this process, delete() in another one, delete_prefix,
    // and a set() of a newer value.
    for (key, how) in [
        ("a", "delete"),
        ("b", "replica delete"),
        ("c", "delete_prefix"),
        ("d", "set"),
    ] {
        let (load, release) = blocked_load(&cache, key, "stale").await;
        match how {
            "delete" => {
                cache.delete(key).await.expect("delete");
            }
            "replica delete" => {
                replica.delete(key).await.expect("delete");
            }
            "set" => {
                replica.set(key, &"newer".to_owned()).await.expect("set");
            }
            _ => {
                cache.delete_prefix(key).await.expect("delete prefix");
            }
        }
        release.send(()).expect("release");
        // The caller that started before the delete gets its value...
        assert_eq!(load.await.expect("join").expect("load"), "stale");
        // ...but the cache does not keep it for the whole TTL.
        let raw: Option<Vec<u8>> = r.client.get(cache.key(key)).await.expect("raw get");
        assert!(
            raw.as_deref()
                .is_none_or(|v| !v.windows(5).any(|w| w == b"stale")),
            "{how}: the stale value was written after the delete: {raw:?}"
        );
        let want = (how == "set").then(|| "newer".to_owned());
        assert_eq!(cache.get(key).await.expect("get"), want, "{how}");
        assert_eq!(replica.get(key).await.expect("get"), want, "{how}");
    }
    cleanup(&r).await;
}

#[tokio::test]
async fn a_load_started_after_a_delete_does_not_join_the_old_one() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<String>::new(connect(&r.url).await, &namespace(&r), 1)
        .expect("cache")
        .with_ttl(Duration::from_secs(600));
    let (old, release_old) = blocked_load(&cache, "k", "stale").await;
    cache.delete("k").await.expect("delete");

    let (fresh_ran_tx, fresh_ran) = tokio::sync::oneshot::channel();
    let fresh = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_load("k", || async move {
                    let _ = fresh_ran_tx.send(());
                    Ok("fresh".to_owned())
                })
                .await
        })
    };
    // A bound on a failure (it would wait for the old load forever), not a
    // synchronisation: the old loader stays blocked throughout.
    tokio::time::timeout(Duration::from_secs(10), fresh_ran)
        .await
        .expect("the new caller joined the load that began before the delete")
        .expect("its loader ran");
    let value = tokio::time::timeout(Duration::from_secs(10), fresh)
        .await
        .expect("the new caller finished while the old load is blocked")
        .expect("join")
        .expect("value");
    assert_eq!(value, "fresh");

    release_old.send(()).expect("release");
    assert_eq!(old.await.expect("join").expect("old load"), "stale");
    // The old load finished last; the fresh value stays.
    assert_eq!(cache.get("k").await.expect("get"), Some("fresh".to_owned()));
    let ttl = cache.ttl("k").await.expect("ttl").expect("has a TTL");
    assert!(ttl > Duration::from_secs(500), "{ttl:?}");
    cleanup(&r).await;
}

#[tokio::test]
async fn another_process_does_not_wait_for_a_load_in_flight_here() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<String>::new(connect(&r.url).await, &namespace(&r), 1).expect("cache");
    let replica =
        TypedCache::<String>::new(connect(&r.url).await, &namespace(&r), 1).expect("cache");
    let (blocked, release) = blocked_load(&cache, "k", "from here").await;
    // The replica sees the load marker, loads by itself and caches its value.
    let value = tokio::time::timeout(
        Duration::from_secs(10),
        replica.get_or_load("k", || async { Ok("from the replica".to_owned()) }),
    )
    .await
    .expect("the replica did not wait for the other process")
    .expect("value");
    assert_eq!(value, "from the replica");
    assert_eq!(
        cache.get("k").await.expect("get"),
        Some("from the replica".to_owned())
    );
    release.send(()).expect("release");
    assert_eq!(blocked.await.expect("join").expect("load"), "from here");
    // The value cached first stays: the blocked load's marker was replaced.
    assert_eq!(
        replica.get("k").await.expect("get"),
        Some("from the replica".to_owned())
    );
    assert_eq!(replica.stats().loads, 1);
    cleanup(&r).await;
}

#[tokio::test]
async fn ttl_is_none_while_a_key_is_only_being_loaded() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let cache = TypedCache::<String>::new(connect(&r.url).await, &namespace(&r), 1)
        .expect("cache")
        .with_ttl(Duration::from_secs(600));
    let (task, release) = blocked_load(&cache, "loading", "value").await;
    // The load marker is in Redis (with its lease), but no entry is.
    assert_eq!(keys(&r).await.len(), 1, "the load marker");
    assert_eq!(cache.get("loading").await.expect("get"), None);
    assert_eq!(
        cache.ttl("loading").await.expect("ttl"),
        None,
        "a load marker is not an entry"
    );
    release.send(()).expect("release the loader");
    assert_eq!(task.await.expect("join").expect("load"), "value");
    let ttl = cache
        .ttl("loading")
        .await
        .expect("ttl")
        .expect("cached now");
    assert!(
        ttl > Duration::from_secs(590) && ttl <= Duration::from_secs(600),
        "{ttl:?}"
    );
    cleanup(&r).await;
}
