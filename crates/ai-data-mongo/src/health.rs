//! Health check: `ping`, the server's version and topology.

use async_trait::async_trait;
use mongodb::bson::{doc, Document};
use mongodb::Database;

use ai_data_core::{HealthCheck, HealthReport, Result, Store};

use crate::error::map_err;
use crate::MongoStore;

/// `hello` of the server `db` is on.
async fn hello(db: &Database) -> Result<Document> {
    db.run_command(doc! { "hello": 1 })
        .await
        .map_err(map_err("hello", db.name()))
}

/// Whether the deployment runs multi-document transactions: a replica set
/// member (`setName`) or a `mongos` (`msg: "isdbgrid"`) with sessions.
pub(crate) async fn supports_transactions(db: &Database) -> Result<bool> {
    let hello = hello(db).await?;
    Ok(transactions_from_hello(&hello))
}

fn transactions_from_hello(hello: &Document) -> bool {
    let sessions = hello.contains_key("logicalSessionTimeoutMinutes");
    let replica_set = hello.get_str("setName").is_ok();
    let mongos = hello.get_str("msg") == Ok("isdbgrid");
    sessions && (replica_set || mongos)
}

impl MongoStore {
    /// Ping the server and report latency, version (`buildInfo`) and
    /// topology. Errors are mapped like every other operation: an
    /// unreachable server is [`ai_data_core::ErrorKind::Connect`], bad
    /// credentials [`ai_data_core::ErrorKind::Auth`].
    pub async fn health(&self) -> Result<HealthReport> {
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
        Ok(report)
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
}
