//! `SessionStore`: create / get / touch / revoke / revoke all, expiry,
//! and ids that are unguessable and never shown or stored in clear.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ai_data_redis::{SessionId, SessionStore};
use serde::{Deserialize, Serialize};

use ai_data_testkit::eventually;

use crate::common::{cleanup, connect, keys, namespace};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claims {
    role: String,
    tenant: u32,
}

fn claims() -> Claims {
    Claims {
        role: "analyst".into(),
        tenant: 7,
    }
}

#[tokio::test]
async fn create_get_touch_revoke() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let sessions =
        SessionStore::<Claims>::new(connect(&r.url).await, &namespace(&r)).expect("store");
    let a = sessions.create("user-1", claims()).await.expect("create");
    let b = sessions.create("user-1", claims()).await.expect("create");
    assert_ne!(a.id, b.id);
    assert!(a.expires_at > a.created_at);

    let got = sessions.get(&a.id).await.expect("get").expect("exists");
    assert_eq!(got.user_id, "user-1");
    assert_eq!(got.data, claims());
    assert_eq!(got.created_at, a.created_at);
    let touched = sessions.touch(&a.id).await.expect("touch").expect("exists");
    assert_eq!(touched.data, claims());

    let parsed = SessionId::parse(a.id.expose()).expect("round trip");
    assert!(sessions.revoke(&parsed).await.expect("revoke"));
    assert!(!sessions.revoke(&parsed).await.expect("revoke again"));
    assert_eq!(sessions.get(&a.id).await.expect("get"), None);
    assert_eq!(sessions.touch(&a.id).await.expect("touch"), None);
    assert!(
        sessions.get(&b.id).await.expect("get").is_some(),
        "other session intact"
    );

    let unknown = SessionId::generate().expect("id");
    assert_eq!(sessions.get(&unknown).await.expect("get"), None);
    assert!(sessions.create("", claims()).await.is_err());
    cleanup(&r).await;
}

#[tokio::test]
async fn touch_slides_the_idle_expiry_and_idle_sessions_expire() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let sessions = SessionStore::<Claims>::new(connect(&r.url).await, &namespace(&r))
        .expect("store")
        .with_idle_timeout(Duration::from_millis(1500));
    let s = sessions.create("user-2", claims()).await.expect("create");
    let ttl = sessions.ttl(&s.id).await.expect("ttl").expect("live");
    assert!(ttl <= Duration::from_millis(1500), "{ttl:?}");
    // Let some idle time pass, then touch: the expiry moves forward.
    let low = eventually(
        "the idle timer runs down",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async {
            let ttl = sessions.ttl(&s.id).await.expect("ttl").expect("live");
            (ttl < Duration::from_millis(1000)).then_some(ttl)
        },
    )
    .await;
    sessions.touch(&s.id).await.expect("touch").expect("live");
    let slid = sessions.ttl(&s.id).await.expect("ttl").expect("live");
    assert!(
        slid > low + Duration::from_millis(300),
        "{low:?} -> {slid:?}"
    );
    // Untouched, it expires.
    let since = Instant::now();
    eventually(
        "the idle session expires",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async {
            sessions
                .get(&s.id)
                .await
                .expect("get")
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        since.elapsed() >= Duration::from_millis(900),
        "expired too early"
    );
    assert_eq!(sessions.touch(&s.id).await.expect("touch"), None);
}

#[tokio::test]
async fn touch_never_extends_past_the_absolute_lifetime() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let sessions = SessionStore::<Claims>::new(connect(&r.url).await, &namespace(&r))
        .expect("store")
        .with_idle_timeout(Duration::from_secs(60))
        .with_max_lifetime(Duration::from_millis(800));
    let s = sessions.create("user-3", claims()).await.expect("create");
    let ttl = sessions.ttl(&s.id).await.expect("ttl").expect("live");
    assert!(
        ttl <= Duration::from_millis(800),
        "capped at creation: {ttl:?}"
    );
    let t = sessions.touch(&s.id).await.expect("touch").expect("live");
    assert_eq!(t.expires_at, s.expires_at);
    let ttl = sessions.ttl(&s.id).await.expect("ttl").expect("live");
    assert!(
        ttl <= Duration::from_millis(800),
        "touch kept the cap: {ttl:?}"
    );
    // Touching all along does not keep it alive.
    eventually(
        "the session reaches its absolute end",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async {
            sessions
                .touch(&s.id)
                .await
                .expect("touch")
                .is_none()
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn revoke_all_ends_every_session_of_one_user_only() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let sessions =
        SessionStore::<Claims>::new(connect(&r.url).await, &namespace(&r)).expect("store");
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(sessions.create("alice", claims()).await.expect("create"));
    }
    let theirs = sessions.create("bob", claims()).await.expect("create");
    assert!(sessions.revoke(&mine[0].id).await.expect("revoke one"));
    assert_eq!(sessions.revoke_all("alice").await.expect("revoke all"), 2);
    for s in &mine {
        assert_eq!(sessions.get(&s.id).await.expect("get"), None);
    }
    assert!(sessions.get(&theirs.id).await.expect("get").is_some());
    assert_eq!(sessions.revoke_all("alice").await.expect("again"), 0);
    assert_eq!(sessions.revoke_all("nobody").await.expect("none"), 0);
    // New sessions after a revoke-all work and are revocable again.
    let later = sessions.create("alice", claims()).await.expect("create");
    assert_eq!(sessions.revoke_all("alice").await.expect("revoke all"), 1);
    assert_eq!(sessions.get(&later.id).await.expect("get"), None);
    cleanup(&r).await;
}

#[tokio::test]
async fn session_ids_are_random_and_never_shown_or_stored_in_clear() {
    let Some(r) = ai_data_testkit::redis().await else {
        return;
    };
    let ids: HashSet<String> = (0..2000)
        .map(|_| SessionId::generate().expect("id").expose().to_owned())
        .collect();
    assert_eq!(ids.len(), 2000);
    // Every hex digit is used at every position across 2000 ids (a broken
    // or low-entropy generator would fail this).
    for pos in [0, 31, 63] {
        let digits: HashSet<u8> = ids.iter().map(|id| id.as_bytes()[pos]).collect();
        assert_eq!(digits.len(), 16, "position {pos}");
    }
    for bad in ["", "abc", &"g".repeat(64), &"A".repeat(64), &"a".repeat(65)] {
        assert_eq!(SessionId::parse(bad), None, "{bad}");
    }

    let sessions =
        SessionStore::<Claims>::new(connect(&r.url).await, &namespace(&r)).expect("store");
    let s = sessions.create("carol", claims()).await.expect("create");
    let token = s.id.expose().to_owned();
    assert!(!format!("{s:?} {sessions:?}").contains(&token));
    let stored = keys(&r).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.iter().all(|k| !k.contains(&token)), "{stored:?}");
    let members: Vec<String> = fred::interfaces::SetsInterface::smembers(
        &r.client,
        format!("{}:v1:u:carol", namespace(&r)),
    )
    .await
    .expect("smembers");
    assert_eq!(members.len(), 1);
    assert_ne!(members[0], token);
    cleanup(&r).await;
}
