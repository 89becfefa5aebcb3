//! Every repository method against a live server, each test on its own database.

mod mongo_common;

mod logs {
    use std::collections::{BTreeMap, HashSet};

    use ai_data_core::ErrorKind;
    use ai_data_mongo::bson::{doc, oid::ObjectId, DateTime, Document};
    use ai_data_platform::mongo::{
        LevelCount, LogQuery, SeedCollections, SortOrder, SystemLog, SYSTEM_LOGS_COLLECTION,
    };
    use ai_data_platform::LogLevel;

    use super::mongo_common;

    const T0: i64 = 1_700_000_000_000;

    #[tokio::test]
    async fn unicode_and_quote_laden_strings_round_trip() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let nasty = "héllo \"quoted\" 'single' `back` \\ backslash \u{0} nul \n newline \
                     日本語 עברית 🚀 {\"$where\": \"1 == 1\"} $set a.b.c </script>";
        let log = SystemLog::new(LogLevel::Other("NOTICE".into()), "sérvice \"x\"", nasty)
            .with_timestamp(DateTime::from_millis(T0 + 123))
            .with_trace_id("trace-'1'")
            .with_details(doc! {
                "user": "o'brien \"the\" ü",
                "nested": { "emoji": "🧪", "list": ["a\"b", "c\\d", 1.5, true] },
                "empty": "",
            });
        let id = store.logs().insert_one(&log).await.expect("insert");
        assert_eq!(Some(id), log.id);
        let page = store
            .logs()
            .query(&LogQuery::new().service("sérvice \"x\""))
            .await
            .expect("query");
        assert_eq!(page.logs, vec![log]);
        assert!(page.next.is_none());
    }

    #[tokio::test]
    async fn insert_many_is_unordered_batched_and_reports_each_failure() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let logs = store.logs().with_batch_size(100);
        let existing = SystemLog::new(LogLevel::Info, "batch", "already there");
        logs.insert_one(&existing).await.expect("pre-existing");

        let mut batch: Vec<SystemLog> = (0..250)
            .map(|i| SystemLog::new(LogLevel::Info, "batch", format!("entry {i}")))
            .collect();
        // Index 10 repeats index 3 (same batch); 150 repeats 20 (other
        // batch); 240 is the pre-existing document.
        batch[10].id = batch[3].id;
        batch[150].id = batch[20].id;
        batch[240].id = existing.id;
        // One without an id gets one assigned.
        batch[5].id = None;

        let report = logs.insert_many(&batch).await.expect("insert_many");
        let failed: Vec<usize> = report.failures.iter().map(|f| f.index).collect();
        assert_eq!(failed, vec![10, 150, 240]);
        assert!(report
            .failures
            .iter()
            .all(|f| f.is_duplicate() && f.kind == ErrorKind::Conflict));
        assert_eq!(report.failures[2].id, existing.id.expect("id"));
        assert_eq!(report.inserted(), 247);
        let unique: HashSet<ObjectId> = report.inserted_ids.iter().copied().collect();
        assert_eq!(unique.len(), 247);
        let stored = m
            .db()
            .collection::<Document>(SYSTEM_LOGS_COLLECTION)
            .count_documents(doc! { "service": "batch" })
            .await
            .expect("count");
        assert_eq!(stored, 248);

        // Shipping the same batch again inserts nothing new.
        let again = logs.insert_many(&batch[..50]).await.expect("again");
        assert_eq!(
            again.inserted(),
            1,
            "only the entry whose id was assigned by the repo"
        );
        assert_eq!(again.failures.len(), 49);
        assert!(logs
            .insert_many(&[])
            .await
            .expect("empty")
            .failures
            .is_empty());
    }

    /// 40 entries over 4 services and 3 levels, timestamps in pairs so the
    /// `_id` tie-breaker matters.
    fn fixture() -> Vec<SystemLog> {
        let services = ["api", "worker", "model", "api"];
        let levels = [LogLevel::Info, LogLevel::Warn, LogLevel::Error];
        (0..40)
            .map(|i: i64| {
                SystemLog::new(
                    levels[(i % 3) as usize].clone(),
                    services[(i % 4) as usize],
                    format!("event {i}"),
                )
                .with_timestamp(DateTime::from_millis(T0 + (i / 2) * 1000))
            })
            .collect()
    }

    fn key(l: &SystemLog) -> (i64, ObjectId) {
        (l.timestamp.timestamp_millis(), l.id.expect("id"))
    }

    async fn all_pages(
        repo: &ai_data_platform::mongo::SystemLogRepo,
        query: LogQuery,
    ) -> Vec<SystemLog> {
        let mut out = Vec::new();
        let mut query = query;
        let mut pages = 0;
        loop {
            let page = repo.query(&query).await.expect("page");
            pages += 1;
            assert!(pages < 100, "pagination does not end");
            out.extend(page.logs);
            match page.next {
                // Through the text form, as an API would pass it.
                Some(next) => query = query.after(Some(next.encode().parse().expect("token"))),
                None => break,
            }
        }
        out
    }

    #[tokio::test]
    async fn query_filters_sorts_and_pages_by_keyset() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        store.bootstrap().await.expect("bootstrap");
        let repo = store.logs();
        let logs = fixture();
        assert!(repo
            .insert_many(&logs)
            .await
            .expect("insert")
            .failures
            .is_empty());

        // Everything, newest first, 7 a page: every entry once, in order.
        let got = all_pages(&repo, LogQuery::new().limit(7)).await;
        let mut expected = logs.clone();
        expected.sort_by_key(|l| std::cmp::Reverse(key(l)));
        assert_eq!(got, expected);

        // Oldest first.
        let got = all_pages(
            &repo,
            LogQuery::new().order(SortOrder::OldestFirst).limit(6),
        )
        .await;
        expected.reverse();
        assert_eq!(got, expected);

        // Level + service + time range [T0+4s, T0+15s).
        let from = DateTime::from_millis(T0 + 4_000);
        let until = DateTime::from_millis(T0 + 15_000);
        let q = LogQuery::new()
            .level(LogLevel::Warn)
            .service("api")
            .between(from, until)
            .order(SortOrder::OldestFirst)
            .limit(2);
        let got = all_pages(&repo, q).await;
        let want: Vec<SystemLog> = expected
            .iter()
            .filter(|l| {
                l.level == LogLevel::Warn
                    && l.service == "api"
                    && l.timestamp >= from
                    && l.timestamp < until
            })
            .cloned()
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want);

        // A page that is exactly full says there is no next page only when
        // nothing follows.
        let n = logs.len() as u32;
        let page = repo.query(&LogQuery::new().limit(n)).await.expect("all");
        assert_eq!(page.logs.len(), logs.len());
        assert!(page.next.is_none());

        let err = repo
            .query(&LogQuery::new().limit(0))
            .await
            .expect_err("limit 0");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn level_aliases_written_by_other_services_are_found_and_counted() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let raw = m.db().collection::<Document>(SYSTEM_LOGS_COLLECTION);
        raw.insert_many([
            doc! { "timestamp": DateTime::from_millis(T0), "level": "WARNING", "service": "py", "message": "from python" },
            doc! { "timestamp": DateTime::from_millis(T0 + 1), "level": "CRITICAL", "service": "py", "message": "boom" },
        ])
        .await
        .expect("raw insert");
        store
            .logs()
            .insert_one(
                &SystemLog::new(LogLevel::Warn, "py", "from rust")
                    .with_timestamp(DateTime::from_millis(T0 + 2)),
            )
            .await
            .expect("insert");
        let warnings = store
            .logs()
            .query(&LogQuery::new().level(LogLevel::Warn))
            .await
            .expect("query");
        assert_eq!(warnings.logs.len(), 2);
        assert!(warnings.logs.iter().all(|l| l.level == LogLevel::Warn));
        let counts = store
            .logs()
            .count_by_level(None, None)
            .await
            .expect("counts");
        let counts: Vec<(&str, LogLevel, u64)> = counts
            .iter()
            .map(|c: &LevelCount| (c.service.as_str(), c.level.clone(), c.count))
            .collect();
        assert_eq!(
            counts,
            vec![("py", LogLevel::Warn, 2), ("py", LogLevel::Fatal, 1)]
        );
    }

    #[tokio::test]
    async fn count_by_level_groups_per_service_within_a_range() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let repo = store.logs();
        let logs = fixture();
        repo.insert_many(&logs).await.expect("insert");
        let from = DateTime::from_millis(T0 + 5_000);
        let mut want: BTreeMap<(String, LogLevel), u64> = BTreeMap::new();
        for l in logs.iter().filter(|l| l.timestamp >= from) {
            *want
                .entry((l.service.clone(), l.level.clone()))
                .or_default() += 1;
        }
        let got = repo.count_by_level(Some(from), None).await.expect("counts");
        let got: BTreeMap<(String, LogLevel), u64> = got
            .into_iter()
            .map(|c| ((c.service, c.level), c.count))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.values().sum::<u64>(), 30);
    }

    #[tokio::test]
    async fn purge_deletes_only_older_entries() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let repo = store.logs();
        repo.insert_many(&fixture()).await.expect("insert");
        let cutoff = DateTime::from_millis(T0 + 10_000);
        assert_eq!(repo.purge_older_than(cutoff).await.expect("purge"), 20);
        let left = repo
            .query(&LogQuery::new().order(SortOrder::OldestFirst).limit(100))
            .await
            .expect("query");
        assert_eq!(left.logs.len(), 20);
        assert!(left.logs.iter().all(|l| l.timestamp >= cutoff));
        assert_eq!(repo.purge_older_than(cutoff).await.expect("again"), 0);
    }
}

mod configurations {
    use std::collections::HashSet;
    use std::sync::Arc;

    use ai_data_core::ErrorKind;
    use ai_data_mongo::bson::{doc, Document};
    use ai_data_platform::mongo::{
        ActivationMode, ConfigurationRepo, NewConfiguration, SeedCollections,
        CONFIGURATIONS_COLLECTION,
    };
    use serde::{Deserialize, Serialize};

    use super::mongo_common;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Serving {
        replicas: u32,
        model: String,
    }

    async fn active_versions(db: &ai_data_mongo::mongodb::Database, component: &str) -> Vec<i64> {
        use futures::TryStreamExt;
        let mut v: Vec<i64> = db
            .collection::<Document>(CONFIGURATIONS_COLLECTION)
            .find(doc! { "component": component, "environment": "prod", "is_active": true })
            .await
            .expect("find")
            .try_collect::<Vec<Document>>()
            .await
            .expect("collect")
            .iter()
            .map(|d| d.get_i64("version").expect("version"))
            .collect();
        v.sort_unstable();
        v
    }

    async fn lifecycle(
        repo: ConfigurationRepo,
        db: ai_data_mongo::mongodb::Database,
        component: &str,
    ) {
        assert!(repo
            .get_active(component, "prod")
            .await
            .expect("none")
            .is_none());
        for (i, model) in ["m1", "m2", "m3"].iter().enumerate() {
            let new = NewConfiguration::new(
                component,
                "prod",
                &Serving {
                    replicas: i as u32 + 1,
                    model: (*model).into(),
                },
            )
            .expect("new")
            .description(format!("version with {model}"))
            .created_by("tests");
            let stored = repo.publish(&new).await.expect("publish");
            assert_eq!(stored.version, i as i64 + 1);
            assert!(!stored.is_active);
        }
        // Another environment is independent.
        let staging = repo
            .publish(&NewConfiguration::new(component, "staging", &doc! { "x": 1 }).expect("new"))
            .await
            .expect("publish staging");
        assert_eq!(staging.version, 1);

        let versions = repo.list_versions(component, "prod").await.expect("list");
        assert_eq!(
            versions.iter().map(|c| c.version).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(versions[1].description.as_deref(), Some("version with m2"));
        assert_eq!(
            versions[2].config_as::<Serving>().expect("typed"),
            Serving {
                replicas: 3,
                model: "m3".into()
            }
        );

        let activated = repo
            .activate(component, "prod", 2)
            .await
            .expect("activate 2");
        assert!(activated.is_active);
        assert!(activated.activated_at.is_some());
        assert_eq!(active_versions(&db, component).await, vec![2]);
        repo.activate(component, "prod", 3)
            .await
            .expect("activate 3");
        assert_eq!(active_versions(&db, component).await, vec![3]);
        assert_eq!(
            repo.get_active(component, "prod")
                .await
                .expect("get")
                .map(|c| c.version),
            Some(3)
        );
        // Activating the active version again is harmless.
        repo.activate(component, "prod", 3).await.expect("again");
        assert_eq!(active_versions(&db, component).await, vec![3]);

        assert_eq!(
            repo.roll_back(component, "prod")
                .await
                .expect("back")
                .version,
            2
        );
        assert_eq!(
            repo.roll_back(component, "prod")
                .await
                .expect("back")
                .version,
            1
        );
        assert_eq!(active_versions(&db, component).await, vec![1]);
        let err = repo
            .roll_back(component, "prod")
            .await
            .expect_err("nothing before v1");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(
            repo.get_version(component, "prod", 2)
                .await
                .expect("get")
                .map(|c| c.is_active),
            Some(false)
        );

        let err = repo
            .activate(component, "prod", 99)
            .await
            .expect_err("no v99");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(
            active_versions(&db, component).await,
            vec![1],
            "a failed activation changes nothing"
        );
        let err = repo
            .roll_back(component, "nowhere")
            .await
            .expect_err("nothing active");
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn publish_activate_get_list_and_roll_back_in_both_modes() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        store.bootstrap().await.expect("bootstrap");
        let auto = store.configurations();
        // The test server is a (one-node) replica set: transactions. The
        // guarded mode is auto-selected on a standalone server (standalone.rs).
        assert_eq!(
            auto.effective_mode().await.expect("mode"),
            ActivationMode::Transaction
        );
        lifecycle(auto, m.db(), "svc_auto").await;
        lifecycle(
            store
                .configurations()
                .with_activation_mode(ActivationMode::Guarded),
            m.db(),
            "svc_guarded",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_publishers_get_distinct_versions() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let barrier = Arc::new(tokio::sync::Barrier::new(8));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let repo = store.configurations();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    repo.publish(
                        &NewConfiguration::new("race", "prod", &doc! { "i": i }).expect("new"),
                    )
                    .await
                    .expect("publish")
                    .version
                })
            })
            .collect();
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.expect("join"));
        }
        versions.sort_unstable();
        assert_eq!(versions, (1..=8).collect::<Vec<i64>>());
    }

    /// Activators at once, over several rounds: afterwards exactly one
    /// version is active, and it is one whose activation reported success.
    /// Even rounds start from "nothing active" with one activator per
    /// version (where a write skew would leave two active); odd rounds
    /// send 16 activators at an already active group.
    async fn race(
        repo: ConfigurationRepo,
        db: ai_data_mongo::mongodb::Database,
        component: &str,
    ) -> usize {
        for _ in 0..5 {
            repo.publish(&NewConfiguration::new(component, "prod", &doc! {}).expect("new"))
                .await
                .expect("publish");
        }
        let raw = db.collection::<Document>(CONFIGURATIONS_COLLECTION);
        let mut superseded = 0;
        for round in 0..12_i64 {
            let racers = if round % 2 == 0 {
                raw.update_many(
                    doc! { "component": component },
                    doc! { "$set": { "is_active": false } },
                )
                .await
                .expect("reset");
                5
            } else {
                16
            };
            let barrier = Arc::new(tokio::sync::Barrier::new(racers));
            let tasks: Vec<_> = (0..racers as i64)
                .map(|i| {
                    let repo = repo.clone();
                    let barrier = barrier.clone();
                    let component = component.to_owned();
                    let version = (i + round) % 5 + 1;
                    tokio::spawn(async move {
                        barrier.wait().await;
                        (version, repo.activate(&component, "prod", version).await)
                    })
                })
                .collect();
            let mut succeeded = HashSet::new();
            for t in tasks {
                let (version, result) = t.await.expect("join");
                match result {
                    Ok(_) => {
                        succeeded.insert(version);
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Conflict, "{e:?}");
                        superseded += 1;
                    }
                }
            }
            let active = active_versions(&db, component).await;
            assert_eq!(active.len(), 1, "round {round}: active versions {active:?}");
            assert!(
                succeeded.contains(&active[0]),
                "round {round}: {active:?} not in {succeeded:?}"
            );
            assert_eq!(
                repo.get_active(component, "prod")
                    .await
                    .expect("get")
                    .map(|c| c.version),
                Some(active[0])
            );
        }
        superseded
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_activation_in_transactions_leaves_exactly_one_active() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        store.bootstrap().await.expect("bootstrap");
        let repo = store
            .configurations()
            .with_activation_mode(ActivationMode::Transaction);
        let superseded = race(repo, m.db(), "txn_race").await;
        assert_eq!(
            superseded, 0,
            "transactions retry until every activation has applied"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_guarded_activation_leaves_exactly_one_active() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        store.bootstrap().await.expect("bootstrap");
        let repo = store
            .configurations()
            .with_activation_mode(ActivationMode::Guarded);
        race(repo, m.db(), "guarded_race").await;
    }

    #[tokio::test]
    async fn invalid_new_configurations_are_refused() {
        let err = NewConfiguration::new("", "prod", &doc! {}).expect_err("empty component");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = NewConfiguration::new("c", "prod", &42_i32).expect_err("not a document");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}

mod tasks {
    use std::sync::Arc;
    use std::time::Duration;

    use ai_data_core::ErrorKind;
    use ai_data_mongo::bson::{doc, Bson, DateTime, Document};
    use ai_data_platform::mongo::{
        SeedCollections, TaskState, TaskUpdate, TASK_STATUS_CACHE_COLLECTION,
    };

    use super::mongo_common;

    #[tokio::test]
    async fn upsert_creates_then_updates_with_server_time() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        store.bootstrap().await.expect("bootstrap");
        let tasks = store.tasks();
        let before = DateTime::now();
        let created = tasks
            .upsert(
                &TaskUpdate::new("job-1", "embedding_job", TaskState::Pending).message("queued"),
            )
            .await
            .expect("create");
        assert_eq!(created.task_id, "job-1");
        assert_eq!(created.task_type, "embedding_job");
        assert_eq!(created.status, TaskState::Pending);
        assert_eq!(created.message.as_deref(), Some("queued"));
        let created_at = created.created_at.expect("created_at on insert");
        // Same clock (loopback server): allow a little skew.
        let slack = Duration::from_secs(5).as_millis() as i64;
        assert!(created.last_updated.timestamp_millis() >= before.timestamp_millis() - slack);

        let updated = tasks
            .upsert(
                &TaskUpdate::new("job-1", "ignored_on_update", TaskState::Running)
                    .progress(0.5)
                    .result(doc! { "done": 500 }),
            )
            .await
            .expect("update");
        assert_eq!(updated.status, TaskState::Running);
        assert_eq!(
            updated.task_type, "embedding_job",
            "$setOnInsert only on insert"
        );
        assert_eq!(updated.created_at, Some(created_at));
        assert_eq!(
            updated.message.as_deref(),
            Some("queued"),
            "None keeps the stored value"
        );
        assert_eq!(updated.progress, Some(0.5));
        assert_eq!(updated.result, Some(doc! { "done": 500 }));
        assert!(updated.last_updated >= created.last_updated);

        // Stored as the TTL index needs it: a BSON date; one document, _id = task_id.
        let raw = m.db().collection::<Document>(TASK_STATUS_CACHE_COLLECTION);
        let docs: Vec<Document> = {
            use futures::TryStreamExt;
            raw.find(doc! {})
                .await
                .expect("find")
                .try_collect()
                .await
                .expect("collect")
        };
        assert_eq!(docs.len(), 1);
        assert!(matches!(
            docs[0].get("last_updated"),
            Some(Bson::DateTime(_))
        ));
        assert_eq!(docs[0].get_str("_id").expect("_id"), "job-1");

        assert_eq!(tasks.get("job-1").await.expect("get"), Some(updated));
        assert_eq!(tasks.get("nope").await.expect("get"), None);

        let err = tasks
            .upsert(&TaskUpdate::new("job-1", "t", TaskState::Running).progress(2.0))
            .await
            .expect_err("bad progress");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn list_by_status_and_type_newest_first_and_remove() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let tasks = store.tasks();
        let plan = [
            ("a", "embed", TaskState::Running),
            ("b", "embed", TaskState::Completed),
            ("c", "train", TaskState::Running),
            ("d", "embed", TaskState::Running),
            ("e", "train", TaskState::Failed),
        ];
        for (id, ty, st) in &plan {
            tasks
                .upsert(&TaskUpdate::new(*id, *ty, st.clone()))
                .await
                .expect("upsert");
        }
        // Touch "a" last: it becomes the most recently updated.
        tasks
            .upsert(&TaskUpdate::new("a", "embed", TaskState::Running).progress(0.9))
            .await
            .expect("touch");

        let running = tasks
            .list_by_status(&TaskState::Running, 10)
            .await
            .expect("list");
        let ids: Vec<&str> = running.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0], "a");
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["a", "c", "d"]);
        assert!(running
            .windows(2)
            .all(|w| w[0].last_updated >= w[1].last_updated));

        let embed = tasks
            .list_by_type("embed", None, 10)
            .await
            .expect("by type");
        assert_eq!(embed.len(), 3);
        let embed_running = tasks
            .list_by_type("embed", Some(&TaskState::Running), 10)
            .await
            .expect("by type and status");
        let mut ids: Vec<&str> = embed_running.iter().map(|t| t.task_id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "d"]);
        assert_eq!(
            tasks
                .list_by_status(&TaskState::Running, 1)
                .await
                .expect("limit")
                .len(),
            1
        );
        let err = tasks
            .list_by_status(&TaskState::Running, 0)
            .await
            .expect_err("limit 0");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);

        assert!(tasks.remove("e").await.expect("remove"));
        assert!(!tasks.remove("e").await.expect("remove again"));
        assert!(tasks
            .list_by_type("train", Some(&TaskState::Failed), 10)
            .await
            .expect("list")
            .is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_upserts_create_one_entry() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        store.bootstrap().await.expect("bootstrap");
        let barrier = Arc::new(tokio::sync::Barrier::new(12));
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let tasks = store.tasks();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    tasks
                        .upsert(
                            &TaskUpdate::new("shared", "embed", TaskState::Running)
                                .message(format!("writer {i}")),
                        )
                        .await
                })
            })
            .collect();
        for h in handles {
            h.await.expect("join").expect("every upsert succeeds");
        }
        let count = m
            .db()
            .collection::<Document>(TASK_STATUS_CACHE_COLLECTION)
            .count_documents(doc! { "task_id": "shared" })
            .await
            .expect("count");
        assert_eq!(count, 1);
    }
}
