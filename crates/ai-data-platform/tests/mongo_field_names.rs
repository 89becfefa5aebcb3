//! `$`-prefixed, dotted, empty and NUL field names in user data are refused
//! before any I/O, at every depth; operator-looking *values* are stored and
//! matched literally. Each test on its own database.

mod mongo_common;

use ai_data_core::{Error, ErrorKind};
use ai_data_mongo::bson::{doc, Document};
use ai_data_testkit::MongoTest;

/// Marker put in every value of a refused document: it must never appear
/// in an error.
const SECRET: &str = "SECRET-VALUE-4711";

/// Documents with one refused field name each, and the path the error must
/// name (`root` is the name the repository gives the document).
fn refused_documents(root: &str) -> Vec<(Document, String)> {
    vec![
        // Top level.
        (
            doc! { "ok": SECRET, "$where": SECRET },
            format!(r#"{root}["$where"]"#),
        ),
        (doc! { "a.b": SECRET }, format!(r#"{root}["a.b"]"#)),
        // Two levels deep.
        (
            doc! { "l1": { "l2": { "fine": SECRET, "$gt": SECRET } } },
            format!(r#"{root}.l1.l2["$gt"]"#),
        ),
        (
            doc! { "l1": { "l2": { "x.y": SECRET } } },
            format!(r#"{root}.l1.l2["x.y"]"#),
        ),
        // Inside arrays.
        (
            doc! { "items": [SECRET, { "$ne": SECRET }] },
            format!(r#"{root}.items[1]["$ne"]"#),
        ),
        (
            doc! { "items": [{ "ok": [[], { "p.q": SECRET }] }] },
            format!(r#"{root}.items[0].ok[1]["p.q"]"#),
        ),
        // Empty and NUL-containing names.
        (doc! { "l1": { "": SECRET } }, format!(r#"{root}.l1[""]"#)),
        (
            doc! { "l1": [{ "a\u{0}b": SECRET }] },
            format!(r#"{root}.l1[0]["a\0b"]"#),
        ),
    ]
}

/// Values that look like operators, paths or JSON filters.
fn operator_looking_values() -> Document {
    doc! {
        "op": "$gt",
        "path": "a.b",
        "filter": "{\"$ne\": null}",
        "where": "$where",
        "set": "$set",
        "nested": { "list": ["$in", "x.y.z", { "inner": "$exists" }] },
    }
}

fn assert_refused(err: &Error, path: &str) {
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert!(
        err.message()
            .starts_with(&format!("invalid field name at {path}: ")),
        "expected the path {path} in: {err}"
    );
    assert!(!err.to_string().contains(SECRET), "value leaked: {err}");
}

async fn count(m: &MongoTest, collection: &str, filter: Document) -> u64 {
    m.db()
        .collection::<Document>(collection)
        .count_documents(filter)
        .await
        .expect("count")
}

mod logs {
    use ai_data_mongo::bson::{doc, DateTime};
    use ai_data_platform::mongo::{LogQuery, SeedCollections, SystemLog, SYSTEM_LOGS_COLLECTION};
    use ai_data_platform::LogLevel;

    use super::{
        assert_refused, count, mongo_common, operator_looking_values, refused_documents, SECRET,
    };

    #[tokio::test]
    async fn insert_one_refuses_bad_field_names_and_writes_nothing() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let logs = store.logs();
        logs.insert_one(&SystemLog::new(LogLevel::Info, "svc", "baseline"))
            .await
            .expect("baseline");
        for (details, path) in refused_documents("details") {
            let before = count(&m, SYSTEM_LOGS_COLLECTION, doc! {}).await;
            let log = SystemLog::new(LogLevel::Info, "svc", SECRET).with_details(details);
            let err = logs.insert_one(&log).await.expect_err(&path);
            assert_refused(&err, &path);
            assert_eq!(err.operation(), Some("insert_one"));
            assert!(err.target().is_some_and(|t| t.ends_with(".system_logs")));
            assert_eq!(
                count(&m, SYSTEM_LOGS_COLLECTION, doc! {}).await,
                before,
                "{path}"
            );
        }
        assert_eq!(count(&m, SYSTEM_LOGS_COLLECTION, doc! {}).await, 1);
    }

    #[tokio::test]
    async fn insert_many_refuses_the_whole_call_and_writes_nothing() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        // One document per batch: the valid entries before the bad one
        // would be sent first if the check were not done up front.
        let logs = store.logs().with_batch_size(1);
        for (details, path) in refused_documents("details") {
            let batch = vec![
                SystemLog::new(LogLevel::Info, "svc", "first"),
                SystemLog::new(LogLevel::Info, "svc", "second"),
                SystemLog::new(LogLevel::Info, "svc", SECRET).with_details(details),
                SystemLog::new(LogLevel::Info, "svc", "fourth"),
            ];
            let err = logs.insert_many(&batch).await.expect_err(&path);
            let path = path.replacen("details", "logs[2].details", 1);
            assert_refused(&err, &path);
            assert_eq!(err.operation(), Some("insert_many"));
            assert_eq!(
                count(&m, SYSTEM_LOGS_COLLECTION, doc! {}).await,
                0,
                "{path}"
            );
        }
        // The same batch without the bad entry goes through.
        let good = vec![
            SystemLog::new(LogLevel::Info, "svc", "first"),
            SystemLog::new(LogLevel::Info, "svc", "second").with_details(operator_looking_values()),
        ];
        assert_eq!(logs.insert_many(&good).await.expect("good").inserted(), 2);
        assert_eq!(count(&m, SYSTEM_LOGS_COLLECTION, doc! {}).await, 2);
    }

    #[tokio::test]
    async fn operator_looking_values_round_trip_unchanged() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let log = SystemLog::new(LogLevel::Other("$exists".into()), "$gt", "$set a.b")
            .with_timestamp(DateTime::from_millis(1_700_000_000_000))
            .with_trace_id("a.b")
            .with_details(operator_looking_values());
        store.logs().insert_one(&log).await.expect("insert");
        let page = store
            .logs()
            .query(&LogQuery::new().service("$gt"))
            .await
            .expect("query");
        assert_eq!(page.logs, vec![log]);
        // Stored as written, not as an operator result.
        let raw = m
            .db()
            .collection::<ai_data_mongo::bson::Document>(SYSTEM_LOGS_COLLECTION)
            .find_one(doc! {})
            .await
            .expect("find")
            .expect("one");
        assert_eq!(
            raw.get_document("details").expect("details"),
            &operator_looking_values()
        );
        assert_eq!(raw.get_str("service").expect("service"), "$gt");
    }

    #[tokio::test]
    async fn operator_looking_query_arguments_match_literally() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let logs = store.logs();
        for (service, level) in [
            ("api", LogLevel::Info),
            ("worker", LogLevel::Error),
            ("a", LogLevel::Warn),
        ] {
            logs.insert_one(&SystemLog::new(level, service, "normal"))
                .await
                .expect("insert");
        }
        let services = ["$ne", "{\"$ne\": null}", "$exists", "a.b", "$where", "/.*/"];
        for service in services {
            let page = logs
                .query(&LogQuery::new().service(service))
                .await
                .expect("query");
            assert!(page.logs.is_empty(), "{service} matched {:?}", page.logs);
        }
        let levels = ["$exists", "$in", "{\"$ne\": null}"];
        for level in levels {
            let page = logs
                .query(&LogQuery::new().level(LogLevel::Other(level.into())))
                .await
                .expect("query");
            assert!(page.logs.is_empty(), "{level} matched {:?}", page.logs);
        }

        // Exactly one entry holding each literal: exactly that one matches.
        for service in services {
            logs.insert_one(&SystemLog::new(LogLevel::Info, service, "literal"))
                .await
                .expect("insert");
        }
        for level in levels {
            logs.insert_one(&SystemLog::new(
                LogLevel::Other(level.into()),
                "levels",
                "literal",
            ))
            .await
            .expect("insert");
        }
        for service in services {
            let page = logs
                .query(&LogQuery::new().service(service))
                .await
                .expect("query");
            assert_eq!(page.logs.len(), 1, "{service}");
            assert_eq!(page.logs[0].service, service);
        }
        for level in levels {
            let page = logs
                .query(&LogQuery::new().level(LogLevel::Other(level.into())))
                .await
                .expect("query");
            assert_eq!(page.logs.len(), 1, "{level}");
            assert_eq!(page.logs[0].level.as_str(), level);
        }
    }
}

mod configurations {
    use ai_data_mongo::bson::doc;
    use ai_data_platform::mongo::{NewConfiguration, SeedCollections, CONFIGURATIONS_COLLECTION};

    use super::{
        assert_refused, count, mongo_common, operator_looking_values, refused_documents, SECRET,
    };

    #[tokio::test]
    async fn new_and_publish_refuse_bad_field_names_and_write_nothing() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let configs = store.configurations();
        configs
            .publish(&NewConfiguration::new("svc", "prod", &doc! { "x": 1 }).expect("new"))
            .await
            .expect("baseline");
        for (config, path) in refused_documents("config") {
            // Refused when built ...
            let err = NewConfiguration::new("svc", "prod", &config).expect_err(&path);
            assert_refused(&err, &path);

            // ... and when the public field is changed afterwards.
            let mut new = NewConfiguration::new("svc", "prod", &doc! {})
                .expect("new")
                .description(SECRET);
            new.config = config;
            let before = count(&m, CONFIGURATIONS_COLLECTION, doc! {}).await;
            let err = configs.publish(&new).await.expect_err(&path);
            assert_refused(&err, &path);
            assert_eq!(err.operation(), Some("publish"));
            assert_eq!(
                count(&m, CONFIGURATIONS_COLLECTION, doc! {}).await,
                before,
                "{path}"
            );
        }
        let versions = configs.list_versions("svc", "prod").await.expect("list");
        assert_eq!(versions.len(), 1);
    }

    #[test]
    fn refused_names_from_a_serialized_struct_are_caught_too() {
        #[derive(serde::Serialize)]
        struct Settings {
            #[serde(rename = "model.name")]
            model: String,
        }
        let err = NewConfiguration::new(
            "svc",
            "prod",
            &Settings {
                model: SECRET.into(),
            },
        )
        .expect_err("dotted");
        assert_refused(&err, r#"config["model.name"]"#);
    }

    #[tokio::test]
    async fn operator_looking_values_round_trip_unchanged() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let configs = store.configurations();
        let new = NewConfiguration::new("$where", "a.b", &operator_looking_values())
            .expect("new")
            .description("$set")
            .created_by("$gt");
        let published = configs.publish(&new).await.expect("publish");
        assert_eq!(published.config, operator_looking_values());
        configs
            .activate("$where", "a.b", published.version)
            .await
            .expect("activate");
        let active = configs
            .get_active("$where", "a.b")
            .await
            .expect("get_active")
            .expect("active");
        assert_eq!(active.config, operator_looking_values());
        assert_eq!(active.description.as_deref(), Some("$set"));
        assert_eq!(active.created_by.as_deref(), Some("$gt"));
    }

    #[tokio::test]
    async fn operator_looking_query_arguments_match_literally() {
        let Some((_m, store)) = mongo_common::store().await else {
            return;
        };
        let configs = store.configurations();
        for (component, environment) in [("api", "prod"), ("worker", "staging")] {
            let v = configs
                .publish(&NewConfiguration::new(component, environment, &doc! {}).expect("new"))
                .await
                .expect("publish");
            configs
                .activate(component, environment, v.version)
                .await
                .expect("activate");
        }
        let names = ["$ne", "{\"$ne\": null}", "$exists", "a.b"];
        for name in names {
            assert!(configs
                .list_versions(name, name)
                .await
                .expect("list")
                .is_empty());
            assert!(configs
                .list_versions(name, "prod")
                .await
                .expect("list")
                .is_empty());
            assert_eq!(configs.get_active(name, name).await.expect("active"), None);
            assert_eq!(configs.get_version(name, name, 1).await.expect("v1"), None);
        }
        for name in names {
            let v = configs
                .publish(&NewConfiguration::new(name, name, &doc! {}).expect("new"))
                .await
                .expect("publish");
            assert_eq!(v.version, 1, "{name}: a fresh group");
            configs.activate(name, name, 1).await.expect("activate");
        }
        for name in names {
            let versions = configs.list_versions(name, name).await.expect("list");
            assert_eq!(versions.len(), 1, "{name}");
            assert_eq!(versions[0].component, name);
            let active = configs
                .get_active(name, name)
                .await
                .expect("active")
                .expect("one");
            assert_eq!((active.component.as_str(), active.version), (name, 1));
        }
        // The ordinary groups are untouched.
        assert_eq!(
            configs
                .list_versions("api", "prod")
                .await
                .expect("list")
                .len(),
            1
        );
    }
}

mod tasks {
    use ai_data_mongo::bson::doc;
    use ai_data_platform::mongo::{
        SeedCollections, TaskState, TaskUpdate, TASK_STATUS_CACHE_COLLECTION,
    };

    use super::{
        assert_refused, count, mongo_common, operator_looking_values, refused_documents, SECRET,
    };

    #[tokio::test]
    async fn upsert_refuses_bad_field_names_and_writes_nothing() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let tasks = store.tasks();
        let existing = tasks
            .upsert(
                &TaskUpdate::new("job-1", "embed", TaskState::Running)
                    .progress(0.5)
                    .result(doc! { "done": 5 }),
            )
            .await
            .expect("create");
        for (result, path) in refused_documents("result") {
            // An update of an existing entry: nothing of it is applied.
            let update = TaskUpdate::new("job-1", "embed", TaskState::Completed)
                .progress(1.0)
                .message(SECRET)
                .result(result.clone());
            let err = tasks.upsert(&update).await.expect_err(&path);
            assert_refused(&err, &path);
            assert_eq!(err.operation(), Some("upsert"));
            assert_eq!(
                tasks.get("job-1").await.expect("get").as_ref(),
                Some(&existing),
                "{path}"
            );

            // A new entry: not created.
            let update = TaskUpdate::new("job-new", "embed", TaskState::Pending).result(result);
            let err = tasks.upsert(&update).await.expect_err(&path);
            assert_refused(&err, &path);
            assert_eq!(
                count(&m, TASK_STATUS_CACHE_COLLECTION, doc! {}).await,
                1,
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn operator_looking_values_round_trip_unchanged() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let tasks = store.tasks();
        let update = TaskUpdate::new("$gt", "a.b", TaskState::Other("$set".into()))
            .message("$where")
            .result(operator_looking_values());
        let stored = tasks.upsert(&update).await.expect("create");
        assert_eq!(stored.result, Some(operator_looking_values()));
        // Updating again goes through `$set` with the same literal values.
        let again = tasks.upsert(&update).await.expect("update");
        assert_eq!(again.result, Some(operator_looking_values()));
        let read = tasks.get("$gt").await.expect("get").expect("entry");
        assert_eq!(read.task_id, "$gt");
        assert_eq!(read.task_type, "a.b");
        assert_eq!(read.status, TaskState::Other("$set".into()));
        assert_eq!(read.message.as_deref(), Some("$where"));
        assert_eq!(read.result, Some(operator_looking_values()));
        assert_eq!(count(&m, TASK_STATUS_CACHE_COLLECTION, doc! {}).await, 1);
    }

    #[tokio::test]
    async fn operator_looking_query_arguments_match_literally() {
        let Some((m, store)) = mongo_common::store().await else {
            return;
        };
        let tasks = store.tasks();
        for (id, ty, st) in [
            ("a", "embed", TaskState::Running),
            ("b", "train", TaskState::Completed),
        ] {
            tasks
                .upsert(&TaskUpdate::new(id, ty, st))
                .await
                .expect("upsert");
        }
        let names = ["$ne", "{\"$ne\": null}", "$exists", "a.b"];
        for name in names {
            assert_eq!(tasks.get(name).await.expect("get"), None, "{name}");
            assert!(tasks
                .list_by_type(name, None, 100)
                .await
                .expect("by type")
                .is_empty());
            assert!(tasks
                .list_by_status(&TaskState::Other(name.into()), 100)
                .await
                .expect("by status")
                .is_empty());
            assert!(!tasks.remove(name).await.expect("remove"), "{name}");
        }
        assert_eq!(count(&m, TASK_STATUS_CACHE_COLLECTION, doc! {}).await, 2);

        for name in names {
            tasks
                .upsert(&TaskUpdate::new(name, name, TaskState::Other(name.into())))
                .await
                .expect("upsert");
        }
        for name in names {
            let entry = tasks.get(name).await.expect("get").expect("entry");
            assert_eq!(entry.task_id, name);
            let by_type = tasks.list_by_type(name, None, 100).await.expect("by type");
            assert_eq!(by_type.len(), 1, "{name}");
            assert_eq!(by_type[0].task_id, name);
            let by_status = tasks
                .list_by_status(&TaskState::Other(name.into()), 100)
                .await
                .expect("by status");
            assert_eq!(by_status.len(), 1, "{name}");
        }
        // Removing a literal removes exactly that entry.
        assert!(tasks.remove("$ne").await.expect("remove"));
        assert_eq!(tasks.get("$ne").await.expect("get"), None);
        assert_eq!(
            count(&m, TASK_STATUS_CACHE_COLLECTION, doc! {}).await,
            2 + names.len() as u64 - 1
        );
    }
}
