//! Topic provisioning against the local broker; deletion against a
//! private one.
//!
//! No test deletes topics on the shared broker: on a large tansu 0.6
//! database a deletion keeps the broker busy for minutes, and tansu answers
//! a fetch racing a deletion with a response that crashes librdkafka 2.12
//! (an unknown topic with a zero topic id and a current leader).

mod common;

use ai_data_core::{ErrorKind, HealthCheck};
use std::time::Duration;

use ai_data_kafka::{Admin, CleanupPolicy, TopicSpec, TopicStatus};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Three topics as a platform provisions them (the seed's are in
/// `ai_data_platform::kafka::seed_topics`): 3 partitions, a retention each.
fn three_topics(prefix: &str, replication: i32) -> Vec<TopicSpec> {
    [
        ("data-ingestion", 7),
        ("model-events", 30),
        ("system-logs", 3),
    ]
    .into_iter()
    .map(|(name, days)| {
        TopicSpec::new(format!("{prefix}{name}"), 3, replication)
            .with_retention(DAY * days)
            .with_cleanup_policy(CleanupPolicy::Delete)
    })
    .collect()
}

#[tokio::test]
async fn provisioning_is_idempotent_and_reports_fewer_partitions() {
    let Some(kafka) = ai_data_testkit::kafka().await else {
        return;
    };
    let admin = Admin::new(&common::config(&kafka)).expect("admin");
    let mut specs = three_topics(&kafka.prefix, 2);
    let dead_letters: Vec<TopicSpec> = specs.iter().map(TopicSpec::dead_letter).collect();
    specs.extend(dead_letters);
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();

    let first = admin.ensure_topics(&specs).await.expect("first run");
    assert_eq!(first.created().len(), 6, "{first:?}");
    let info = admin.cluster_info().await.expect("metadata");
    for name in &names {
        assert_eq!(info.topics[name].partitions, 3, "{name}");
    }
    let config = admin
        .topic_config(&kafka.topic("data-ingestion"))
        .await
        .expect("describe configs");
    assert_eq!(
        config.get("retention.ms").map(String::as_str),
        Some("604800000")
    );
    assert_eq!(
        config.get("cleanup.policy").map(String::as_str),
        Some("delete")
    );

    let second = admin.ensure_topics(&specs).await.expect("second run");
    assert!(second.created().is_empty(), "{second:?}");
    for name in &names {
        assert!(
            matches!(
                second.status(name),
                Some(TopicStatus::Exists { partitions: 3, .. })
            ),
            "{name}: {second:?}"
        );
    }
    assert!(second.clone().into_result().is_ok());

    // An existing topic with fewer partitions is reported, and is an error
    // on request; one with more is fine.
    let narrow = kafka.topic("narrow");
    admin
        .ensure_topics(&[TopicSpec::new(&narrow, 1, 1)])
        .await
        .expect("create narrow");
    let report = admin
        .ensure_topics(&[
            TopicSpec::new(&narrow, 3, 1),
            TopicSpec::new(kafka.topic("model-events"), 2, 2),
        ])
        .await
        .expect("check");
    assert_eq!(
        report.status(&narrow),
        Some(TopicStatus::FewerPartitions {
            existing: 1,
            requested: 3
        })
    );
    assert!(matches!(
        report.status(&kafka.topic("model-events")),
        Some(TopicStatus::Exists { partitions: 3, .. })
    ));
    let err = report.into_result().expect_err("fewer partitions");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains(&narrow), "{err}");

    let health = admin.check().await.expect("healthy");
    assert!(health.details["brokers"].parse::<usize>().expect("count") >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_deleted_and_deleting_a_missing_topic_is_fine() {
    let Some(broker) = common::private_broker(None).await else {
        return;
    };
    let config = ai_data_kafka::KafkaConfig::new(&broker.address)
        .with_connect_timeout(std::time::Duration::from_secs(10));
    let admin = Admin::new(&config).expect("admin");
    let specs = three_topics("", 1);
    let report = admin.ensure_topics(&specs).await.expect("created");
    assert_eq!(report.created().len(), 3);
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    admin.delete_topics(&names).await.expect("deleted");
    let info = admin.cluster_info().await.expect("metadata");
    assert!(
        names.iter().all(|n| !info.topics.contains_key(*n)),
        "{info:?}"
    );
    admin
        .delete_topics(&["never-existed"])
        .await
        .expect("a missing topic is not an error");
}
