//! The replication-lag warning from a real `replSetGetStatus`: a private
//! two-member replica set whose SECONDARY is delayed (`secondaryDelaySecs`,
//! a real mongod feature), so it falls behind the PRIMARY as the PRIMARY
//! writes. The seed alerts at 60 s; the test lowers the threshold to 1 s
//! (`with_replication_lag_alert`) so the lag it waits for takes seconds.

mod common;

use std::time::Duration;

use ai_data_mongo::bson::{doc, Bson, Document};
use ai_data_mongo::mongodb::options::WriteConcern;
use ai_data_mongo::mongodb::Client;
use ai_data_mongo::{MongoStore, DEFAULT_REPLICATION_LAG_ALERT};
use ai_data_testkit::MongodServer;

const SET: &str = "lagset";

/// The state name of member `id` in a `replSetGetStatus` reply.
fn member_state(status: &Document, id: i32) -> Option<String> {
    status
        .get_array("members")
        .ok()?
        .iter()
        .filter_map(Bson::as_document)
        .find(|m| m.get_i32("_id") == Ok(id))
        .and_then(|m| m.get_str("stateStr").ok())
        .map(str::to_owned)
}

async fn repl_status(client: &Client) -> Option<Document> {
    client
        .database("admin")
        .run_command(doc! { "replSetGetStatus": 1 })
        .await
        .ok()
}

#[tokio::test]
async fn a_delayed_secondary_is_measured_and_warned_about() {
    let Some(primary) = MongodServer::replica_member(SET).await else {
        return;
    };
    let Some(secondary) = MongodServer::replica_member(SET).await else {
        return;
    };
    let client = primary.client().await;
    // The delayed member applies nothing younger than an hour; it has no
    // vote, so the PRIMARY alone is a majority and writes are acknowledged.
    // A short election timeout: the first PRIMARY is elected in under a
    // second instead of after the default 10 s.
    client
        .database("admin")
        .run_command(doc! { "replSetInitiate": {
            "_id": SET,
            "members": [
                { "_id": 0, "host": primary.host(), "priority": 1 },
                { "_id": 1, "host": secondary.host(), "priority": 0, "votes": 0,
                  "hidden": true, "secondaryDelaySecs": 3600 },
            ],
            "settings": { "electionTimeoutMillis": 500 },
        } })
        .await
        .expect("replSetInitiate");
    ai_data_testkit::eventually(
        "a writable PRIMARY and a SECONDARY",
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let status = repl_status(&client).await?;
            // A new PRIMARY takes writes only once it has drained its
            // oplog buffer: `hello` says when.
            let hello = client
                .database("admin")
                .run_command(doc! { "hello": 1 })
                .await
                .ok()?;
            (hello.get_bool("isWritablePrimary") == Ok(true)
                && member_state(&status, 1).as_deref() == Some("SECONDARY"))
            .then_some(())
        },
    )
    .await;

    let db = client.database("lag_probe");
    let store = MongoStore::from_client(client.clone(), "lag_probe");
    let strict = store
        .clone()
        .with_replication_lag_alert(Duration::from_secs(1));
    // The PRIMARY writes; the SECONDARY's optime stays where its initial
    // sync left it, so the lag grows with the clock.
    let report = ai_data_testkit::eventually(
        "the SECONDARY to fall more than 1 s behind",
        Duration::from_secs(30),
        Duration::from_millis(250),
        || async {
            db.collection::<Document>("writes")
                .insert_one(doc! { "at": ai_data_mongo::bson::DateTime::now() })
                .write_concern(WriteConcern::nodes(1))
                .await
                .expect("write on the PRIMARY");
            let report = strict.health().await.expect("healthy");
            (!report.warnings.is_empty()).then_some(report)
        },
    )
    .await;
    assert_eq!(report.details["replica_set"], SET);
    assert_eq!(report.details["replica_set_members"], "2");
    assert_eq!(report.details["replica_set_secondaries"], "1");
    let lag: f64 = report.details["replication_lag_seconds"]
        .parse()
        .expect("seconds");
    assert!(lag > 1.0, "{:?}", report.details);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let warning = &report.warnings[0];
    assert!(warning.contains("behind the PRIMARY"), "{warning}");
    assert!(warning.contains("alert above 1 s"), "{warning}");
    assert!(warning.contains("MongoDBReplicationLag"), "{warning}");

    // The same lag is below the seed's 60 s: measured, no warning.
    assert_eq!(DEFAULT_REPLICATION_LAG_ALERT, Duration::from_secs(60));
    let seed = store.health().await.expect("healthy");
    let seed_lag: f64 = seed.details["replication_lag_seconds"]
        .parse()
        .expect("seconds");
    assert!((lag..60.0).contains(&seed_lag), "{:?}", seed.details);
    assert!(seed.warnings.is_empty(), "{:?}", seed.warnings);
}
