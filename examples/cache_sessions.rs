//! Redis for a service: connect from the environment, check health, cache a
//! slow lookup (cache-aside, single-flight), run a login session (create,
//! touch, revoke all) and rate-limit an API key.
//!
//! Against the local stores:
//! `scripts/stores.sh start && source "$(scripts/stores.sh env-file)" && cargo run --features redis --example cache_sessions`
//! (with no `AI_DATA_REDIS_URL` / `AI_DATA_REDIS_HOST` it uses
//! `AI_DATA_TEST_REDIS_URL` from that env file). In a deployment the usual
//! `AI_DATA_REDIS_*` variables apply, e.g. the seed's Sentinel layout:
//! `AI_DATA_REDIS_HOST=ai-redis-headless.default.svc.cluster.local`,
//! `AI_DATA_REDIS_SENTINEL_MASTER=mymaster`, and the password from the
//! mounted Secret (`AI_DATA_SECRETS_DIR`, key `redis-password`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ai_data::core::{HealthCheck, Result};
use ai_data::redis::{RateLimiter, RedisClient, RedisConfig, SessionStore, TypedCache};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelCard {
    name: String,
    dims: u32,
    max_tokens: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    role: String,
}

#[tokio::main]
async fn main() -> Result<()> {
    let config = match std::env::var("AI_DATA_TEST_REDIS_URL") {
        Ok(url)
            if std::env::var_os("AI_DATA_REDIS_URL").is_none()
                && std::env::var_os("AI_DATA_REDIS_HOST").is_none() =>
        {
            RedisConfig::from_url(&url)?
        }
        _ => RedisConfig::from_env()?,
    };
    println!("connecting to {config}");
    let client = RedisClient::connect(config).await?;
    let health = client.check().await?;
    println!(
        "Redis {} ({}) answered in {:?}: {} bytes used, maxmemory {} (used ratio {}), policy {}",
        health.server_version.as_deref().unwrap_or("?"),
        health.details["topology"],
        health.latency,
        health.details["used_memory"],
        health.details["maxmemory"],
        health.details["memory_used_ratio"],
        health.details["maxmemory_policy"],
    );

    // Keys unique per run, so the example can run again on the same Redis.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let namespace = format!("example:{run}");

    // Cache-aside: 20 concurrent requests for one model card, one "query".
    let cards = TypedCache::<ModelCard>::new(client.clone(), &format!("{namespace}:cards"), 1)?
        .with_ttl(Duration::from_secs(60));
    let queries = Arc::new(AtomicUsize::new(0));
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let (cards, queries) = (cards.clone(), queries.clone());
            tokio::spawn(async move {
                cards
                    .get_or_load("bge-m3", || async move {
                        queries.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await; // the database
                        Ok(ModelCard {
                            name: "bge-m3".into(),
                            dims: 1024,
                            max_tokens: 8192,
                        })
                    })
                    .await
            })
        })
        .collect();
    for request in requests {
        let card = request.await.map_err(|e| {
            ai_data::core::Error::new(ai_data::core::ErrorKind::Backend, e.to_string())
        })??;
        assert_eq!(card.dims, 1024);
    }
    println!(
        "20 concurrent lookups of {} ran {} database query; stats {:?}",
        cards.key("bge-m3"),
        queries.load(Ordering::SeqCst),
        cards.stats()
    );

    // Sessions: sliding expiry, revoke all (e.g. after a password change).
    let sessions = SessionStore::<Claims>::new(client.clone(), &format!("{namespace}:session"))?
        .with_idle_timeout(Duration::from_secs(30 * 60));
    let phone = sessions
        .create(
            "user-42",
            Claims {
                role: "analyst".into(),
            },
        )
        .await?;
    let laptop = sessions
        .create(
            "user-42",
            Claims {
                role: "analyst".into(),
            },
        )
        .await?;
    println!(
        "created sessions {:?} and {:?} (ids are secrets: Debug shows a fingerprint)",
        phone.id, laptop.id
    );
    let live = sessions.touch(&phone.id).await?;
    println!(
        "touched {:?}: role {:?}, idle expiry in {:?}",
        phone.id,
        live.map(|s| s.data.role),
        sessions.ttl(&phone.id).await?
    );
    println!(
        "revoked {} sessions of user-42",
        sessions.revoke_all("user-42").await?
    );
    assert!(sessions.get(&laptop.id).await?.is_none());

    // Rate limit: 5 requests per second per API key.
    let limiter = RateLimiter::sliding_window(
        client.clone(),
        &format!("{namespace}:rl"),
        5,
        Duration::from_secs(1),
    )?;
    for i in 1..=7 {
        let d = limiter.check("api-key-7").await?;
        println!(
            "request {i}: allowed {} (used {}/{}, retry after {:?})",
            d.allowed, d.used, d.limit, d.retry_after
        );
    }

    cards.delete_prefix("").await?;
    limiter.reset("api-key-7").await?;
    client.quit().await?;
    Ok(())
}
