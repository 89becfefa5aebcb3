//! Bootstrap against a live server: the seed's collections and indexes,
//! idempotence, conflicting indexes, TTL, users.

mod mongo_common;

use std::time::Duration;

use ai_data_core::ErrorKind;
use ai_data_mongo::bson::{doc, Bson, Document};
use ai_data_mongo::mongodb::options::IndexOptions;
use ai_data_mongo::mongodb::IndexModel;
use ai_data_mongo::{IndexStatus, MongoStore, PlatformUser, UserAccess, DEFAULT_TASK_STATUS_TTL};
use ai_data_platform::mongo::{
    seed_app_user, seed_bootstrap, seed_indexes, seed_read_only_user, LogQuery, NewConfiguration,
    SeedCollections, SystemLog, TaskState, TaskUpdate, COLLECTIONS, SEED_APP_USER,
    SEED_READ_ONLY_USER, SYSTEM_LOGS_COLLECTION, TASK_STATUS_CACHE_COLLECTION,
};
use ai_data_platform::LogLevel;

fn ttl_of(index: &Document) -> Option<i64> {
    match index.get("expireAfterSeconds") {
        Some(Bson::Int32(n)) => Some(i64::from(*n)),
        Some(Bson::Int64(n)) => Some(*n),
        #[allow(clippy::cast_possible_truncation)]
        Some(Bson::Double(n)) => Some(*n as i64),
        _ => None,
    }
}

#[tokio::test]
async fn creates_exactly_the_seed_collections_and_indexes_and_runs_twice() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    let first = seed_bootstrap(DEFAULT_TASK_STATUS_TTL)
        .run(store.database())
        .await
        .expect("first run");
    assert!(first.collections.iter().all(|c| c.created), "{first:?}");
    assert_eq!(first.indexes.len(), 9);
    assert!(first
        .indexes
        .iter()
        .all(|i| i.status == IndexStatus::Created));

    let mut names = m.db().list_collection_names().await.expect("list");
    names.sort();
    let mut expected: Vec<String> = COLLECTIONS.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);

    // Exactly the seed's indexes (plus _id_), with the seed's keys, none unique.
    for collection in COLLECTIONS {
        let raw = mongo_common::raw_indexes(&m, collection).await;
        let mut actual: Vec<(String, Document, Option<i64>)> = raw
            .iter()
            .filter(|i| i.get_str("name") != Ok("_id_"))
            .map(|i| {
                assert_ne!(i.get_bool("unique").ok(), Some(true), "{i}");
                (
                    i.get_str("name").expect("name").to_owned(),
                    i.get_document("key").expect("key").clone(),
                    ttl_of(i),
                )
            })
            .collect();
        actual.sort_by(|a, b| a.0.cmp(&b.0));
        let mut wanted: Vec<(String, Document, Option<i64>)> =
            seed_indexes(Duration::from_secs(86_400))
                .into_iter()
                .filter(|s| s.collection == collection)
                .map(|s| {
                    (
                        s.name.clone(),
                        s.keys.clone(),
                        s.expire_after
                            .map(|d| i64::try_from(d.as_secs()).expect("fits")),
                    )
                })
                .collect();
        wanted.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(actual, wanted, "{collection}");
    }
    let ttl_index = mongo_common::raw_indexes(&m, TASK_STATUS_CACHE_COLLECTION)
        .await
        .into_iter()
        .find(|i| i.get_str("name") == Ok("last_updated_1"))
        .expect("TTL index");
    assert_eq!(ttl_of(&ttl_index), Some(86_400));

    let second = seed_bootstrap(DEFAULT_TASK_STATUS_TTL)
        .run(store.database())
        .await
        .expect("second run")
        .into_result()
        .expect("clean");
    assert!(!second.changed_anything(), "{second:?}");
    assert!(second
        .indexes
        .iter()
        .all(|i| i.status == IndexStatus::Existing));
    // And the store's strict variant agrees.
    store.bootstrap().await.expect("third run via MongoStore");
    for collection in COLLECTIONS {
        assert_eq!(
            mongo_common::raw_indexes(&m, collection).await.len(),
            seed_indexes(Duration::ZERO)
                .iter()
                .filter(|s| s.collection == collection)
                .count()
                + 1,
            "no index was added twice in {collection}"
        );
    }
}

#[tokio::test]
async fn ttl_is_configurable_and_changes_only_when_asked() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    let store = store.with_task_status_ttl(Duration::from_secs(3600));
    store.bootstrap().await.expect("bootstrap");
    let ttl = |m: &ai_data_testkit::MongoTest| {
        let m = m.db();
        async move {
            let reply = m
                .run_command(doc! { "listIndexes": TASK_STATUS_CACHE_COLLECTION })
                .await
                .expect("listIndexes");
            reply
                .get_document("cursor")
                .and_then(|c| c.get_array("firstBatch"))
                .expect("batch")
                .iter()
                .filter_map(Bson::as_document)
                .find(|i| i.get_str("name") == Ok("last_updated_1"))
                .and_then(ttl_of)
        }
    };
    assert_eq!(ttl(&m).await, Some(3600));

    // Another TTL without permission to change it: a conflict, index untouched.
    let report = seed_bootstrap(Duration::from_secs(120))
        .run(store.database())
        .await
        .expect("runs");
    let conflicts: Vec<_> = report.conflicts().collect();
    assert_eq!(conflicts.len(), 1, "{report:?}");
    assert_eq!(conflicts[0].name, "last_updated_1");
    let err = report.into_result().expect_err("conflict is an error");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("expireAfterSeconds 3600"), "{err}");
    assert_eq!(ttl(&m).await, Some(3600));

    // With permission: collMod.
    let report = seed_bootstrap(Duration::from_secs(120))
        .update_ttl(true)
        .run(store.database())
        .await
        .expect("runs");
    let changed: Vec<_> = report
        .indexes
        .iter()
        .filter(|i| matches!(i.status, IndexStatus::TtlUpdated { .. }))
        .collect();
    assert_eq!(changed.len(), 1, "{report:?}");
    assert_eq!(
        changed[0].status,
        IndexStatus::TtlUpdated {
            from: 3600,
            to: 120
        }
    );
    assert_eq!(ttl(&m).await, Some(120));
}

#[tokio::test]
async fn an_existing_index_with_other_options_is_reported_not_kept() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    let tasks = m.db().collection::<Document>(TASK_STATUS_CACHE_COLLECTION);
    // Someone made task_id unique, and indexed status+last_updated under another name.
    tasks
        .create_index(
            IndexModel::builder()
                .keys(doc! { "task_id": 1 })
                .options(IndexOptions::builder().unique(true).build())
                .build(),
        )
        .await
        .expect("unique index");
    tasks
        .create_index(
            IndexModel::builder()
                .keys(doc! { "status": 1, "last_updated": 1 })
                .options(IndexOptions::builder().name("by_status".to_owned()).build())
                .build(),
        )
        .await
        .expect("renamed index");

    let report = seed_bootstrap(DEFAULT_TASK_STATUS_TTL)
        .run(store.database())
        .await
        .expect("runs");
    let conflicts: Vec<_> = report.conflicts().collect();
    assert_eq!(conflicts.len(), 1, "{report:?}");
    assert_eq!(conflicts[0].collection, TASK_STATUS_CACHE_COLLECTION);
    assert_eq!(conflicts[0].name, "task_id_1");
    match &conflicts[0].status {
        IndexStatus::Conflict { existing, wanted } => {
            assert!(existing.contains("unique"), "{existing}");
            assert!(!wanted.contains("unique"), "{wanted}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The equivalent index under another name counts as the seed's.
    let renamed = report
        .indexes
        .iter()
        .find(|i| i.name == "by_status")
        .expect("reported under its own name");
    assert_eq!(renamed.status, IndexStatus::Existing);
    // Everything else was created; the conflicting index was left as it is.
    assert_eq!(
        report
            .indexes
            .iter()
            .filter(|i| i.status == IndexStatus::Created)
            .count(),
        7
    );
    let raw = mongo_common::raw_indexes(&m, TASK_STATUS_CACHE_COLLECTION).await;
    let task_id = raw
        .iter()
        .find(|i| i.get_str("name") == Ok("task_id_1"))
        .expect("still there");
    assert_eq!(task_id.get_bool("unique").ok(), Some(true));
    assert!(raw
        .iter()
        .all(|i| i.get_str("name") != Ok("status_1_last_updated_1")));

    let err = store.bootstrap().await.expect_err("strict bootstrap fails");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        err.message().contains("task_status_cache.task_id_1"),
        "{err}"
    );
}

#[tokio::test]
async fn seed_users_are_created_then_updated_and_can_log_in() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    let app_pw = mongo_common::random_password();
    let ro_pw = mongo_common::random_password();
    let bootstrap = seed_bootstrap(DEFAULT_TASK_STATUS_TTL)
        .with_user(seed_app_user(app_pw.clone()))
        .with_user(seed_read_only_user(ro_pw.clone()));
    let first = bootstrap
        .run(store.database())
        .await
        .expect("users created");
    assert_eq!(first.users.len(), 2);
    assert!(first.users.iter().all(|u| u.created), "{first:?}");
    let second = bootstrap
        .run(store.database())
        .await
        .expect("users updated");
    assert!(second.users.iter().all(|u| !u.created), "{second:?}");
    assert!(!format!("{first:?}{second:?}{bootstrap:?}").contains(&app_pw));

    // Roles as in the seed.
    for (user, access) in [
        ("ai_platform_user", UserAccess::ReadWrite),
        ("readonly_user", UserAccess::ReadOnly),
    ] {
        let info = m
            .db()
            .run_command(doc! { "usersInfo": { "user": user, "db": &m.database } })
            .await
            .expect("usersInfo");
        let users = info.get_array("users").expect("users");
        assert_eq!(users.len(), 1, "{info}");
        let mut roles: Vec<(String, String)> = users[0]
            .as_document()
            .and_then(|u| u.get_array("roles").ok())
            .expect("roles")
            .iter()
            .filter_map(Bson::as_document)
            .map(|r| {
                (
                    r.get_str("role").expect("role").to_owned(),
                    r.get_str("db").expect("db").to_owned(),
                )
            })
            .collect();
        roles.sort();
        let mut wanted: Vec<(String, String)> = access
            .roles()
            .iter()
            .map(|r| ((*r).to_owned(), m.database.clone()))
            .collect();
        wanted.sort();
        assert_eq!(roles, wanted, "{user}");
    }

    // Each user logs in with its password (authSource = the database), and
    // a wrong password is an Auth error.
    for (user, pw) in [("ai_platform_user", &app_pw), ("readonly_user", &ro_pw)] {
        let config = mongo_common::user_config(&m, user, pw);
        let logged_in = MongoStore::connect(&config).await.expect("logs in");
        let who = ai_data_testkit::authenticated_user(logged_in.database()).await;
        assert_eq!(who.map(|(name, _)| name).as_deref(), Some(user));
        let wrong = mongo_common::user_config(&m, user, &format!("{pw}-wrong"));
        let err = MongoStore::connect(&wrong).await.expect_err("bad password");
        assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
        assert!(!err.is_retryable());
        assert!(!format!("{err} {err:?}").contains(pw.as_str()));
    }

    // Users live outside the dropped database on mongod: remove them.
    for user in ["ai_platform_user", "readonly_user"] {
        m.db()
            .run_command(doc! { "dropUser": user })
            .await
            .expect("dropUser");
    }
}

#[tokio::test]
async fn least_privilege_users_are_enforced_by_the_server() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    let app_pw = mongo_common::random_password();
    let ro_pw = mongo_common::random_password();
    seed_bootstrap(DEFAULT_TASK_STATUS_TTL)
        .with_user(seed_app_user(app_pw.clone()))
        .with_user(seed_read_only_user(ro_pw.clone()))
        .run(store.database())
        .await
        .expect("users created");
    let app = MongoStore::connect(&mongo_common::user_config(&m, SEED_APP_USER, &app_pw))
        .await
        .expect("app user logs in");
    let ro = MongoStore::connect(&mongo_common::user_config(&m, SEED_READ_ONLY_USER, &ro_pw))
        .await
        .expect("read-only user logs in");

    // readWrite + dbAdmin: the services' account bootstraps and writes.
    app.bootstrap()
        .await
        .expect("dbAdmin may create the seed's indexes");
    app.logs()
        .insert_one(&SystemLog::new(LogLevel::Info, "privilege", "by the app"))
        .await
        .expect("readWrite may insert");

    // read: the read-only user reads what the app wrote...
    let page = ro
        .logs()
        .query(&LogQuery::new().service("privilege"))
        .await
        .expect("read may query");
    assert_eq!(page.logs.len(), 1);
    // ...and the server refuses each of its writes (Unauthorized, code 13).
    let denied = [
        (
            "insert_one",
            ro.logs()
                .insert_one(&SystemLog::new(LogLevel::Warn, "privilege", "by read-only"))
                .await
                .map(|_| ()),
        ),
        (
            "upsert",
            ro.tasks()
                .upsert(&TaskUpdate::new("t", "probe", TaskState::Running))
                .await
                .map(|_| ()),
        ),
        (
            "publish",
            ro.configurations()
                .publish(&NewConfiguration::new("svc", "prod", &doc! { "x": 1 }).expect("new"))
                .await
                .map(|_| ()),
        ),
    ];
    for (what, result) in denied {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Auth, "{what}: {err:?}");
        assert!(!err.is_retryable(), "{what}: {err:?}");
        assert!(!format!("{err} {err:?}").contains(&ro_pw));
    }
    // A bootstrap with nothing to create only reads; one that must create
    // an index is refused.
    let report = ro.bootstrap().await.expect("nothing to create");
    assert!(!report.changed_anything(), "{report:?}");
    m.db()
        .collection::<Document>("configurations")
        .drop_index("is_active_1")
        .await
        .expect("drop an index");
    let err = ro
        .bootstrap()
        .await
        .expect_err("createIndexes needs dbAdmin");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    app.bootstrap().await.expect("the app user recreates it");
    let logs = m
        .db()
        .collection::<Document>(SYSTEM_LOGS_COLLECTION)
        .count_documents(doc! {})
        .await
        .expect("count");
    assert_eq!(logs, 1, "nothing the read-only user sent was written");
    for collection in ["task_status_cache", "configurations"] {
        let n = m
            .db()
            .collection::<Document>(collection)
            .count_documents(doc! {})
            .await
            .expect("count");
        assert_eq!(n, 0, "{collection}");
    }

    // Neither is a user administrator, nor sees the cluster's state: the
    // health check says so instead of failing.
    let err = seed_bootstrap(DEFAULT_TASK_STATUS_TTL)
        .with_user(PlatformUser::new(
            "intruder",
            "pw".to_owned(),
            UserAccess::ReadWrite,
        ))
        .run(app.database())
        .await
        .expect_err("no userAdmin role");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    for store in [&app, &ro] {
        let report = store
            .health()
            .await
            .expect("health needs no clusterMonitor");
        let why = &report.details["replication_lag"];
        assert!(why.contains("not authorized"), "{why}");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    for user in [SEED_APP_USER, SEED_READ_ONLY_USER] {
        m.db()
            .run_command(doc! { "dropUser": user })
            .await
            .expect("dropUser");
    }
}

#[tokio::test]
async fn task_entries_expire_through_the_ttl_index() {
    let Some((m, store)) = mongo_common::store().await else {
        return;
    };
    store
        .clone()
        .with_task_status_ttl(Duration::from_secs(1))
        .bootstrap()
        .await
        .expect("bootstrap with a 1 s TTL");
    let tasks = store.tasks();
    tasks
        .upsert(&TaskUpdate::new(
            "short-lived",
            "probe",
            TaskState::Completed,
        ))
        .await
        .expect("upsert");
    assert!(tasks.get("short-lived").await.expect("get").is_some());
    // The TTL monitor runs every ttlMonitorSleepSecs (60 s by default;
    // scripts/stores.sh starts mongod with 1): poll for the condition, give
    // up after two cycles plus the TTL plus a margin for a loaded machine.
    let sleep_secs = m
        .client
        .database("admin")
        .run_command(doc! { "getParameter": 1, "ttlMonitorSleepSecs": 1 })
        .await
        .expect("getParameter")
        .get("ttlMonitorSleepSecs")
        .and_then(|v| v.as_i32().map(i64::from).or_else(|| v.as_i64()))
        .expect("ttlMonitorSleepSecs");
    let deadline = Duration::from_secs(u64::try_from(2 * sleep_secs + 1 + 10).expect("positive"));
    let started = std::time::Instant::now();
    ai_data_testkit::eventually(
        "the TTL monitor to remove the entry",
        deadline,
        Duration::from_millis(250),
        || {
            let tasks = tasks.clone();
            async move {
                tasks
                    .get("short-lived")
                    .await
                    .expect("get")
                    .is_none()
                    .then_some(())
            }
        },
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "removed by the TTL monitor, not at once: {:?}",
        started.elapsed()
    );
    drop(m);
}
