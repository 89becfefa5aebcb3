//! How [`ConfigurationRepo::activate`] keeps exactly one version active:
//! in a transaction, or with guarded updates (see [`ConfigurationRepo`]).

use ai_data_mongo::bson::doc;
use ai_data_mongo::map_err;
use ai_data_mongo::mongodb::options::{ReadConcern, WriteConcern};
use ai_data_mongo::mongodb::ClientSession;

use ai_data_core::{Error, ErrorKind, Result, Store};

use super::ConfigurationRepo;

impl ConfigurationRepo {
    /// One above the highest `activation_seq` of the group.
    pub(super) async fn next_seq(
        &self,
        component: &str,
        environment: &str,
        session: Option<&mut ClientSession>,
    ) -> Result<i64> {
        let find = self
            .raw
            .find_one(doc! { "component": component, "environment": environment })
            .sort(doc! { "activation_seq": -1 })
            .projection(doc! { "activation_seq": 1 });
        let find = match session {
            Some(s) => find.session(s),
            None => find,
        };
        let top = find.await.map_err(map_err("find_one", &self.ns))?;
        let seq = top
            .and_then(|d| {
                d.get("activation_seq")
                    .and_then(|b| b.as_i64().or_else(|| b.as_i32().map(i64::from)))
            })
            .unwrap_or(0);
        Ok(seq + 1)
    }

    pub(super) async fn activate_in_transaction(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<()> {
        let mut session = self
            .store
            .client()
            .start_session()
            .await
            .map_err(map_err("start_session", &self.ns))?;
        session
            .start_transaction()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::majority())
            .await
            .map_err(map_err("start_transaction", &self.ns))?;
        if let Err(e) = self
            .transaction_body(&mut session, component, environment, version)
            .await
        {
            // Best effort: the server aborts it anyway when the session ends.
            let _ = session.abort_transaction().await;
            return Err(e);
        }
        let mut attempts = 0;
        loop {
            match session.commit_transaction().await {
                Ok(()) => return Ok(()),
                Err(e)
                    if attempts < 3
                        && e.contains_label(
                            ai_data_mongo::mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT,
                        ) =>
                {
                    attempts += 1;
                }
                Err(e) => return Err(map_err("commit_transaction", &self.ns)(e)),
            }
        }
    }

    async fn transaction_body(
        &self,
        session: &mut ClientSession,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<()> {
        let seq = self
            .next_seq(component, environment, Some(&mut *session))
            .await?;
        let target = self
            .raw
            .update_one(
                doc! { "component": component, "environment": environment, "version": version },
                doc! {
                    "$set": { "is_active": true, "activation_seq": seq },
                    "$currentDate": { "activated_at": true },
                },
            )
            .session(&mut *session)
            .await
            .map_err(map_err("update_one", &self.ns))?;
        if target.matched_count == 0 {
            return Err(self.not_found(component, environment, Some(version)));
        }
        // Every other version is written too (the new sequence number always
        // changes the document), so concurrent activations conflict.
        self.raw
            .update_many(
                doc! { "component": component, "environment": environment, "version": { "$ne": version } },
                doc! { "$set": { "is_active": false, "activation_seq": seq } },
            )
            .session(&mut *session)
            .await
            .map_err(map_err("update_many", &self.ns))?;
        Ok(())
    }

    pub(super) async fn activate_guarded(
        &self,
        component: &str,
        environment: &str,
        version: i64,
    ) -> Result<()> {
        let seq = self.next_seq(component, environment, None).await?;
        let group = doc! { "component": component, "environment": environment };

        // 1. The target, unless a newer activation of it already happened.
        let mut claim = group.clone();
        claim.insert("version", version);
        claim.insert(
            "$or",
            vec![
                doc! { "activation_seq": { "$lte": seq } },
                doc! { "activation_seq": null },
            ],
        );
        let claimed = self
            .raw
            .update_one(
                claim,
                doc! {
                    "$set": { "is_active": true, "activation_seq": seq },
                    "$currentDate": { "activated_at": true },
                },
            )
            .await
            .map_err(map_err("update_one", &self.ns))?;
        if claimed.matched_count == 0 {
            return match self.get_version(component, environment, version).await? {
                None => Err(self.not_found(component, environment, Some(version))),
                Some(_) => Err(self.superseded(component, environment, version, version)),
            };
        }

        // 2. Older activations.
        let mut older = group.clone();
        older.insert("is_active", true);
        older.insert("version", doc! { "$ne": version });
        older.insert(
            "$or",
            vec![
                doc! { "activation_seq": { "$lt": seq } },
                doc! { "activation_seq": seq, "version": { "$lt": version } },
                doc! { "activation_seq": null },
            ],
        );
        self.raw
            .update_many(older, doc! { "$set": { "is_active": false } })
            .await
            .map_err(map_err("update_many", &self.ns))?;

        // 3. A newer activation wins: step back.
        let mut newer = group.clone();
        newer.insert("is_active", true);
        newer.insert("version", doc! { "$ne": version });
        newer.insert(
            "$or",
            vec![
                doc! { "activation_seq": { "$gt": seq } },
                doc! { "activation_seq": seq, "version": { "$gt": version } },
            ],
        );
        let winner = self
            .coll
            .find_one(newer)
            .await
            .map_err(map_err("find_one", &self.ns))?;
        if let Some(winner) = winner {
            let mut mine = group;
            mine.insert("version", version);
            mine.insert("is_active", true);
            mine.insert("activation_seq", seq);
            self.raw
                .update_one(mine, doc! { "$set": { "is_active": false } })
                .await
                .map_err(map_err("update_one", &self.ns))?;
            return Err(self.superseded(component, environment, version, winner.version));
        }
        Ok(())
    }

    fn superseded(&self, component: &str, environment: &str, version: i64, winner: i64) -> Error {
        Error::new(
            ErrorKind::Conflict,
            format!(
                "activation of {component}/{environment} v{version} was superseded by a \
                 concurrent activation of v{winner}"
            ),
        )
        .with_store(Store::Mongo)
        .with_operation("activate")
        .with_target(self.ns.clone())
    }
}
