//! `RateLimiter`: exact limits under concurrency, retry-after, reset.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use ai_data_core::ErrorKind;
use ai_data_redis::{RateDecision, RateLimiter, WindowKind};

use crate::common::{cleanup, connect, namespace};

async fn burst(limiter: &RateLimiter, subject: &str, n: usize) -> Vec<RateDecision> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (limiter, subject) = (limiter.clone(), subject.to_owned());
            tokio::spawn(async move { limiter.check(&subject).await })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("join").expect("decision"));
    }
    out
}

#[tokio::test]
async fn fixed_window_allows_exactly_the_limit_per_window_under_concurrency() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let limiter = RateLimiter::fixed_window(
        connect(&r.url).await,
        &namespace(&r),
        50,
        Duration::from_secs(60),
    )
    .expect("limiter");
    let decisions = burst(&limiter, "api-key-1", 200).await;
    // Group by window: a burst may straddle a window boundary.
    let mut per_window: BTreeMap<SystemTime, (usize, usize)> = BTreeMap::new();
    for d in &decisions {
        let e = per_window.entry(d.window_start).or_default();
        e.0 += 1;
        e.1 += usize::from(d.allowed);
        if d.allowed {
            assert_eq!(d.retry_after, Duration::ZERO);
            assert!(d.used >= 1 && d.used <= 50, "{d:?}");
        } else {
            assert!(
                d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_secs(60),
                "{d:?}"
            );
            assert_eq!(d.remaining, 0);
        }
    }
    assert!(per_window.len() <= 2, "{per_window:?}");
    for (start, (requests, allowed)) in &per_window {
        assert_eq!(
            *allowed,
            (*requests).min(50),
            "window {start:?}: {requests} requests"
        );
    }
    let mut used: Vec<u64> = decisions
        .iter()
        .filter(|d| d.allowed)
        .map(|d| d.used)
        .collect();
    used.sort_unstable();
    used.dedup();
    assert_eq!(
        used.len(),
        decisions.iter().filter(|d| d.allowed).count(),
        "each count handed out once"
    );
    // Another subject has its own budget.
    assert!(limiter.check("api-key-2").await.expect("check").allowed);
    cleanup(&r).await;
}

#[tokio::test]
async fn sliding_window_allows_exactly_the_limit_under_concurrency() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let limiter = RateLimiter::sliding_window(
        connect(&r.url).await,
        &namespace(&r),
        50,
        Duration::from_secs(3600),
    )
    .expect("limiter");
    let decisions = burst(&limiter, "tenant-9", 200).await;
    assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 50);
    for d in decisions.iter().filter(|d| !d.allowed) {
        assert!(d.retry_after > Duration::ZERO, "{d:?}");
        assert!(d.retry_after <= Duration::from_secs(2 * 3600), "{d:?}");
    }
    cleanup(&r).await;
}

/// Exhaust the limit: a request right away is refused again, and one sent
/// after waiting the advertised retry-after passes (on the first try, or
/// the second to allow for a millisecond of clock rounding).
async fn retry_after_is_honest(kind: WindowKind) {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let limiter = RateLimiter::new(
        connect(&r.url).await,
        &namespace(&r),
        3,
        Duration::from_millis(700),
        kind,
    )
    .expect("limiter");
    let (refused, sent) = loop {
        let sent = Instant::now();
        let d = limiter.check("u").await.expect("check");
        if !d.allowed {
            break (d, sent);
        }
    };
    assert!(refused.retry_after > Duration::ZERO, "{refused:?}");
    assert!(
        refused.retry_after <= Duration::from_millis(1400),
        "{refused:?}"
    );
    let again = limiter.check("u").await.expect("check");
    // The server saw less time pass than `sent.elapsed()`.
    if sent.elapsed() + Duration::from_millis(2) < refused.retry_after {
        assert!(
            !again.allowed,
            "allowed before the advertised time: {again:?}"
        );
    }
    let mut wait = refused.retry_after;
    let mut tries = 0;
    loop {
        tokio::time::sleep(wait).await;
        tries += 1;
        let d = limiter.check("u").await.expect("check");
        if d.allowed {
            break;
        }
        assert!(
            tries < 2,
            "still refused after waiting the retry-after: {d:?}"
        );
        wait = d.retry_after;
    }
    cleanup(&r).await;
}

#[tokio::test]
async fn fixed_window_retry_after_is_honest() {
    retry_after_is_honest(WindowKind::Fixed).await;
}

#[tokio::test]
async fn sliding_window_retry_after_is_honest() {
    retry_after_is_honest(WindowKind::Sliding).await;
}

#[tokio::test]
async fn reset_costs_and_invalid_limits() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let client = connect(&r.url).await;
    let limiter =
        RateLimiter::fixed_window(client.clone(), &namespace(&r), 5, Duration::from_secs(60))
            .expect("limiter");
    let d = limiter.check_n("login:alice", 4).await.expect("check");
    assert!(d.allowed);
    assert_eq!((d.used, d.remaining), (4, 1));
    let d = limiter.check_n("login:alice", 2).await.expect("check");
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.used, 4, "a refused request is not counted");
    assert!(limiter.check("login:alice").await.expect("check").allowed);
    assert!(limiter.reset("login:alice").await.expect("reset") >= 1);
    assert_eq!(
        limiter.check_n("login:alice", 5).await.expect("check").used,
        5
    );
    let err = limiter
        .check_n("login:alice", 6)
        .await
        .expect_err("cost over limit");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(RateLimiter::fixed_window(client.clone(), "x", 0, Duration::from_secs(1)).is_err());
    assert!(RateLimiter::sliding_window(client, "x", 1, Duration::ZERO).is_err());
    cleanup(&r).await;
}

/// The limiter's keys under the test prefix (SCAN), with what each counts.
async fn limiter_keys(r: &ai_data_testkit::RedisTest) -> Vec<String> {
    let mut keys = crate::common::keys(r).await;
    keys.sort();
    keys
}

/// `<prefix>v1:{<32 hex>}:<window index>`: the documented layout, with the
/// subject's hash in the hash tag.
fn follows_the_layout(prefix: &str, key: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix)?.strip_prefix("v1:{")?;
    let (hash, window) = rest.split_once("}:")?;
    let hex = hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    let index = !window.is_empty() && window.bytes().all(|b| b.is_ascii_digit());
    (hex && index).then(|| hash.to_owned())
}

#[tokio::test]
async fn subjects_are_hashed_in_key_names_and_still_count_separately() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let client = connect(&r.url).await;
    let subject = "sk-live-ApiKey-Th1sMustNotLeak";
    let other = "user:4711";
    let limiter = RateLimiter::fixed_window(client, &namespace(&r), 1, Duration::from_secs(3600))
        .expect("limiter");
    assert!(limiter.check(subject).await.expect("check").allowed);
    assert!(
        !limiter.check(subject).await.expect("check").allowed,
        "limit 1"
    );
    assert!(
        limiter.check(other).await.expect("check").allowed,
        "another subject has its own count"
    );
    let keys = limiter_keys(&r).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let mut hashes = Vec::new();
    for key in &keys {
        for text in [subject, "ApiKey-Th1s", other, "4711"] {
            assert!(!key.contains(text), "subject text in a key name: {key}");
        }
        hashes.push(
            follows_the_layout(&r.prefix, key)
                .unwrap_or_else(|| panic!("not <ns>:v1:{{<hash>}}:<window>: {key}")),
        );
    }
    assert_ne!(hashes[0], hashes[1]);

    // Another replica (its own client) computes the same key: one count.
    let replica = RateLimiter::fixed_window(
        connect(&r.url).await,
        &namespace(&r),
        1,
        Duration::from_secs(3600),
    )
    .expect("limiter");
    assert!(!replica.check(subject).await.expect("check").allowed);
    assert_eq!(limiter_keys(&r).await, keys);
    // reset finds the hashed keys.
    assert_eq!(replica.reset(subject).await.expect("reset"), 1);
    assert!(limiter.check(subject).await.expect("check").allowed);
    cleanup(&r).await;
}

#[tokio::test]
async fn a_subject_key_makes_guessable_subjects_unconfirmable() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let client = connect(&r.url).await;
    let window = Duration::from_secs(3600);
    let plain =
        RateLimiter::fixed_window(client.clone(), &namespace(&r), 1, window).expect("limiter");
    let keyed = |key: &str| {
        RateLimiter::fixed_window(client.clone(), &namespace(&r), 1, window)
            .expect("limiter")
            .with_subject_key(key)
    };
    let a = keyed("replicas-share-this-key");
    let b = keyed("replicas-share-this-key");
    let other = keyed("another-deployment");
    assert!(plain.check("user:1").await.expect("check").allowed);
    let before = limiter_keys(&r).await;
    assert!(a.check("user:1").await.expect("check").allowed);
    assert!(
        !b.check("user:1").await.expect("check").allowed,
        "same key, same count"
    );
    assert!(
        other.check("user:1").await.expect("check").allowed,
        "another key, another count"
    );
    let keys = limiter_keys(&r).await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in &keys {
        assert!(!key.contains("user:1"), "{key}");
        assert!(follows_the_layout(&r.prefix, key).is_some(), "{key}");
    }
    assert!(keys.iter().filter(|k| before.contains(k)).count() == 1);
    assert!(!format!("{a:?}").contains("replicas-share-this-key"));
    cleanup(&r).await;
}
