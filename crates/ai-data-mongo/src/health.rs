//! Health check: `ping`, the server's version and topology, and the seed's
//! replication-lag alert.

use std::fmt;

use async_trait::async_trait;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::ErrorKind as DriverKind;
use mongodb::Database;

use ai_data_core::{HealthCheck, HealthReport, Result, Store};

use crate::error::{code, from_driver_error, map_err};
use crate::MongoStore;

/// The seed's `MongoDBReplicationLag` alert (section 8): a SECONDARY more
/// than this many milliseconds (60 s) behind the PRIMARY.
#[cfg(test)]
const REPLICATION_LAG_ALERT_MILLIS: i64 = 60_000;

/// `hello` of the server `db` is on.
async fn hello(db: &Database) -> Result<Document> {
    db.run_command(doc! { "hello": 1 })
        .await
        .map_err(map_err("hello", db.name()))
}

fn transactions_from_hello(hello: &Document) -> bool {
    let sessions = hello.contains_key("logicalSessionTimeoutMinutes");
    let replica_set = hello.get_str("setName").is_ok();
    let mongos = hello.get_str("msg") == Ok("isdbgrid");
    sessions && (replica_set || mongos)
}

/// What `replSetGetStatus` says about replication lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplicationLag {
    /// How far the SECONDARY furthest behind is from the PRIMARY (0 when
    /// there is no secondary).
    Measured {
        /// Entries in `members` (every state, arbiters included).
        members: usize,
        /// SECONDARY members with an `optimeDate`.
        secondaries: usize,
        /// Largest `optimeDate` difference PRIMARY − SECONDARY, in
        /// milliseconds (never negative).
        max_lag_millis: i64,
    },
    /// No PRIMARY with an `optimeDate`: nothing to measure against.
    NoPrimary {
        /// Entries in `members`.
        members: usize,
    },
}

/// The member's state: `stateStr`, else the numeric `state` (1 primary,
/// 2 secondary, 7 arbiter).
fn member_state(member: &Document) -> Option<&str> {
    if let Ok(name) = member.get_str("stateStr") {
        return Some(name);
    }
    let state = match member.get("state")? {
        Bson::Int32(n) => i64::from(*n),
        Bson::Int64(n) => *n,
        Bson::Double(n) if n.fract() == 0.0 => *n as i64,
        _ => return None,
    };
    match state {
        1 => Some("PRIMARY"),
        2 => Some("SECONDARY"),
        7 => Some("ARBITER"),
        _ => None,
    }
}

/// The lag the seed alerts on, from a `replSetGetStatus` reply: for every
/// SECONDARY, the PRIMARY's `optimeDate` minus its own; the largest.
/// Arbiters and members in other states (recovering, down, ...) are not
/// secondaries and do not count; with more than one PRIMARY (a stale one
/// during a failover) the newest `optimeDate` is the reference.
pub(crate) fn replication_lag(status: &Document) -> ReplicationLag {
    let members: Vec<&Document> = status
        .get_array("members")
        .map(|m| m.iter().filter_map(Bson::as_document).collect())
        .unwrap_or_default();
    let optime = |m: &Document| {
        m.get_datetime("optimeDate")
            .ok()
            .map(|d| d.timestamp_millis())
    };
    let in_state = |state: &'static str| {
        members
            .iter()
            .filter(move |m| member_state(m) == Some(state))
            .filter_map(|m| optime(m))
    };
    let Some(primary) = in_state("PRIMARY").max() else {
        return ReplicationLag::NoPrimary {
            members: members.len(),
        };
    };
    let (secondaries, max_lag_millis) = in_state("SECONDARY").fold((0, 0), |(n, max), t| {
        (n + 1, max.max(primary.saturating_sub(t)))
    });
    ReplicationLag::Measured {
        members: members.len(),
        secondaries,
        max_lag_millis,
    }
}

/// The seed's alert condition: a warning when the lag is above
/// `alert_millis` (the seed: 60 s).
pub(crate) fn replication_lag_warning(max_lag_millis: i64, alert_millis: i64) -> Option<String> {
    (max_lag_millis > alert_millis).then(|| {
        format!(
            "MongoDB: a SECONDARY is {} s behind the PRIMARY (alert above {} s, the seed's \
             MongoDBReplicationLag)",
            Seconds(max_lag_millis),
            Seconds(alert_millis)
        )
    })
}

/// Milliseconds shown as seconds: `61`, `60.5`, `0.001`.
struct Seconds(i64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, ms) = (self.0 / 1000, (self.0 % 1000).abs());
        if ms == 0 {
            write!(f, "{s}")
        } else {
            let frac = format!("{ms:03}");
            write!(f, "{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// Add the replication-lag details (and the warning) to `report`.
///
/// Only a replica set member is asked; a server that refuses
/// `replSetGetStatus` (not supported, not authorized: the seed's
/// application user lacks `clusterMonitor`, set not initialized) yields a
/// detail saying why, not an error. An error reaching the server is one.
async fn with_replication_lag(
    admin: &Database,
    hello: &Document,
    alert_millis: i64,
    report: HealthReport,
) -> Result<HealthReport> {
    const UNAVAILABLE: &str = "replication_lag";
    if hello.get_str("setName").is_err() {
        let why = if hello.get_str("msg") == Ok("isdbgrid") {
            "unavailable: mongos (ask each shard's replica set)"
        } else {
            "unavailable: standalone server (not a replica set member)"
        };
        return Ok(report.with_detail(UNAVAILABLE, why));
    }
    let status = match admin.run_command(doc! { "replSetGetStatus": 1 }).await {
        Ok(status) => status,
        Err(e) => {
            let why = match &*e.kind {
                DriverKind::Command(c) => match c.code {
                    code::COMMAND_NOT_FOUND | code::COMMAND_NOT_SUPPORTED => {
                        "unavailable: the server does not support replSetGetStatus".to_owned()
                    }
                    code::UNAUTHORIZED => "unavailable: not authorized to run replSetGetStatus \
                                           (needs the clusterMonitor role)"
                        .to_owned(),
                    _ => format!(
                        "unavailable: replSetGetStatus failed: {}",
                        from_driver_error(e, "repl_set_get_status", "admin").message()
                    ),
                },
                _ => return Err(from_driver_error(e, "repl_set_get_status", "admin")),
            };
            return Ok(report.with_detail(UNAVAILABLE, why));
        }
    };
    Ok(match replication_lag(&status) {
        ReplicationLag::Measured {
            members,
            secondaries,
            max_lag_millis,
        } => {
            let report = report
                .with_detail(
                    "replication_lag_seconds",
                    Seconds(max_lag_millis).to_string(),
                )
                .with_detail("replica_set_members", members.to_string())
                .with_detail("replica_set_secondaries", secondaries.to_string());
            match replication_lag_warning(max_lag_millis, alert_millis) {
                Some(warning) => report.with_warning(warning),
                None => report,
            }
        }
        ReplicationLag::NoPrimary { members } => report
            .with_detail(UNAVAILABLE, "unavailable: no PRIMARY in replSetGetStatus")
            .with_detail("replica_set_members", members.to_string()),
    })
}

impl MongoStore {
    /// Ping the server and report latency, version (`buildInfo`) and
    /// topology. Errors are mapped like every other operation: an
    /// unreachable server is [`ai_data_core::ErrorKind::Connect`], bad
    /// credentials [`ai_data_core::ErrorKind::Auth`].
    ///
    /// On a replica set member it also runs `replSetGetStatus` and reports
    /// the largest lag of a SECONDARY behind the PRIMARY
    /// (`replication_lag_seconds`, with `replica_set_members` and
    /// `replica_set_secondaries`), with a warning above 60 s (the seed's
    /// `MongoDBReplicationLag` alert; see
    /// [`MongoStore::with_replication_lag_alert`] and
    /// `AI_DATA_MONGO_REPLICATION_LAG_ALERT`). When the lag cannot be measured
    /// (standalone server, mongos, command refused or not supported, no
    /// PRIMARY) the detail `replication_lag` says why, without a warning.
    ///
    /// Observed as operation `health` (target `admin`).
    pub async fn health(&self) -> Result<HealthReport> {
        self.executor()
            .call("health")
            .target("admin")
            .idempotent()
            .run(|| self.probe())
            .await
    }

    /// Whether the deployment runs multi-document transactions: a replica
    /// set member (`setName`) or a `mongos` (`msg: "isdbgrid"`) with
    /// sessions. Asks the server (`hello`) each time; observed as
    /// operation `supports_transactions` (target: the database name).
    pub async fn supports_transactions(&self) -> Result<bool> {
        self.executor()
            .call("supports_transactions")
            .target(self.database().name())
            .idempotent()
            .run(|| async {
                let hello = hello(self.database()).await?;
                Ok(transactions_from_hello(&hello))
            })
            .await
    }

    /// `ping`, `buildInfo`, `hello` and the replication lag.
    async fn probe(&self) -> Result<HealthReport> {
        let admin = self.client().database("admin");
        let report = HealthReport::measure(Store::Mongo, async {
            admin
                .run_command(doc! { "ping": 1 })
                .await
                .map_err(map_err("ping", "admin"))?;
            let info = admin
                .run_command(doc! { "buildInfo": 1 })
                .await
                .map_err(map_err("build_info", "admin"))?;
            Ok(info.get_str("version").ok().map(str::to_owned))
        })
        .await?;
        let hello = hello(&admin).await?;
        let mut report = report
            .with_detail("database", self.database().name())
            .with_detail(
                "transactions",
                if transactions_from_hello(&hello) {
                    "supported"
                } else {
                    "unsupported"
                },
            );
        if let Ok(set) = hello.get_str("setName") {
            report = report.with_detail("replica_set", set);
        }
        let alert_millis =
            i64::try_from(self.replication_lag_alert.as_millis()).unwrap_or(i64::MAX);
        with_replication_lag(&admin, &hello, alert_millis, report).await
    }
}

#[async_trait]
impl HealthCheck for MongoStore {
    async fn check(&self) -> Result<HealthReport> {
        self.health().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::DateTime;

    #[test]
    fn transactions_need_sessions_and_a_replica_set_or_mongos() {
        let rs = doc! { "setName": "rs0", "logicalSessionTimeoutMinutes": 30 };
        let mongos = doc! { "msg": "isdbgrid", "logicalSessionTimeoutMinutes": 30 };
        let standalone = doc! { "logicalSessionTimeoutMinutes": 30 };
        let old = doc! { "setName": "rs0" };
        assert!(transactions_from_hello(&rs));
        assert!(transactions_from_hello(&mongos));
        assert!(!transactions_from_hello(&standalone));
        assert!(!transactions_from_hello(&old));
    }

    const NOW: i64 = 1_800_000_000_000;

    /// A `members` entry `behind_ms` behind NOW.
    fn member(state: i32, state_str: &str, behind_ms: i64) -> Document {
        doc! {
            "name": format!("{state_str}:{behind_ms}"),
            "state": state,
            "stateStr": state_str,
            "optimeDate": DateTime::from_millis(NOW - behind_ms),
        }
    }

    fn status(members: Vec<Document>) -> Document {
        doc! { "set": "rs0", "members": members, "ok": 1.0 }
    }

    #[test]
    fn lag_is_the_secondary_furthest_behind_the_primary() {
        let s = status(vec![
            member(1, "PRIMARY", 0),
            member(2, "SECONDARY", 0),
            member(2, "SECONDARY", 60_000),
            member(2, "SECONDARY", 61_000),
        ]);
        assert_eq!(
            replication_lag(&s),
            ReplicationLag::Measured {
                members: 4,
                secondaries: 3,
                max_lag_millis: 61_000
            }
        );
        let at = status(vec![
            member(1, "PRIMARY", 0),
            member(2, "SECONDARY", 0),
            member(2, "SECONDARY", 60_000),
        ]);
        assert!(matches!(
            replication_lag(&at),
            ReplicationLag::Measured {
                max_lag_millis: 60_000,
                ..
            }
        ));
    }

    #[test]
    fn a_one_member_set_has_no_lag() {
        let s = status(vec![member(1, "PRIMARY", 0)]);
        assert_eq!(
            replication_lag(&s),
            ReplicationLag::Measured {
                members: 1,
                secondaries: 0,
                max_lag_millis: 0
            }
        );
    }

    #[test]
    fn without_a_primary_there_is_nothing_to_measure() {
        let s = status(vec![
            member(2, "SECONDARY", 0),
            member(2, "SECONDARY", 90_000),
        ]);
        assert_eq!(
            replication_lag(&s),
            ReplicationLag::NoPrimary { members: 2 }
        );
        assert_eq!(
            replication_lag(&doc! { "ok": 1.0 }),
            ReplicationLag::NoPrimary { members: 0 }
        );
    }

    #[test]
    fn arbiters_and_other_states_are_ignored() {
        // An arbiter has no meaningful optime; a RECOVERING member is not a
        // secondary yet.
        let s = status(vec![
            member(1, "PRIMARY", 0),
            member(2, "SECONDARY", 5_000),
            member(7, "ARBITER", 3_600_000),
            member(3, "RECOVERING", 3_600_000),
            doc! { "name": "arbiter-without-optime", "state": 7, "stateStr": "ARBITER" },
        ]);
        assert_eq!(
            replication_lag(&s),
            ReplicationLag::Measured {
                members: 5,
                secondaries: 1,
                max_lag_millis: 5_000
            }
        );
    }

    #[test]
    fn numeric_states_work_without_state_str_and_the_newest_primary_counts() {
        let mut secondary = member(2, "SECONDARY", 10_000);
        secondary.remove("stateStr");
        let stale_primary = member(1, "PRIMARY", 120_000);
        let s = status(vec![stale_primary, member(1, "PRIMARY", 0), secondary]);
        assert!(matches!(
            replication_lag(&s),
            ReplicationLag::Measured {
                secondaries: 1,
                max_lag_millis: 10_000,
                ..
            }
        ));
        // A secondary "ahead" of the primary (clock skew) is no lag.
        let ahead = status(vec![member(1, "PRIMARY", 1_000), member(2, "SECONDARY", 0)]);
        assert!(matches!(
            replication_lag(&ahead),
            ReplicationLag::Measured {
                max_lag_millis: 0,
                ..
            }
        ));
    }

    #[test]
    fn warns_only_above_sixty_seconds() {
        assert_eq!(
            replication_lag_warning(0, REPLICATION_LAG_ALERT_MILLIS),
            None
        );
        assert_eq!(
            replication_lag_warning(59_999, REPLICATION_LAG_ALERT_MILLIS),
            None
        );
        assert_eq!(
            replication_lag_warning(60_000, REPLICATION_LAG_ALERT_MILLIS),
            None
        );
        let above = replication_lag_warning(60_001, REPLICATION_LAG_ALERT_MILLIS).expect("above");
        assert!(above.contains("60.001 s behind"), "{above}");
        let warning = replication_lag_warning(61_000, REPLICATION_LAG_ALERT_MILLIS).expect("above");
        assert!(warning.contains("61 s behind"), "{warning}");
        assert!(warning.contains("alert above 60 s"), "{warning}");
        assert!(warning.contains("MongoDBReplicationLag"), "{warning}");
    }

    #[tokio::test]
    async fn standalone_and_mongos_say_why_without_asking_or_warning() {
        // Nothing listens there: the check must not need the server.
        let client =
            mongodb::Client::with_uri_str("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=1")
                .await
                .expect("client");
        let admin = client.database("admin");
        for (hello, why) in [
            (doc! { "isWritablePrimary": true }, "standalone"),
            (doc! { "msg": "isdbgrid" }, "mongos"),
        ] {
            let report = HealthReport::measure(Store::Mongo, async { Ok(None) })
                .await
                .expect("report");
            let report = with_replication_lag(&admin, &hello, REPLICATION_LAG_ALERT_MILLIS, report)
                .await
                .expect("no error");
            let detail = &report.details["replication_lag"];
            assert!(detail.starts_with("unavailable: "), "{detail}");
            assert!(detail.contains(why), "{detail}");
            assert!(!report.details.contains_key("replication_lag_seconds"));
            assert!(report.warnings.is_empty());
        }
    }

    #[test]
    fn seconds_print_without_trailing_zeros() {
        assert_eq!(Seconds(0).to_string(), "0");
        assert_eq!(Seconds(61_000).to_string(), "61");
        assert_eq!(Seconds(60_500).to_string(), "60.5");
        assert_eq!(Seconds(1).to_string(), "0.001");
    }
}
