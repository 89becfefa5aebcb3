//! `auth.groups`, membership and permissions.

use ai_data_core::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use ai_data_pg::SqlxResultExt;
use ai_data_pg::{PgDatabase, Repository};

use crate::pg::User;

const TABLE: &str = "auth.groups";
const MEMBERS: &str = "auth.user_groups";
const PERMISSIONS: &str = "auth.permissions";

/// A group of users that can hold permissions.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Group {
    /// Primary key.
    pub id: i32,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Maintained by a trigger.
    pub updated_at: DateTime<Utc>,
}

/// Groups, membership, and permissions granted to groups or directly to users.
///
/// A permission is a code such as `models.deploy`; granting creates the code
/// on first use.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase, user_id: i32) -> ai_data_core::Result<()> {
/// use ai_data_platform::pg::GroupRepo;
/// let groups = GroupRepo::new(db);
/// let ops = groups.create("ops", Some("operators")).await?;
/// groups.add_member(ops.id, user_id).await?;
/// groups.grant_to_group(ops.id, "models.deploy").await?;
/// assert!(groups.user_has_permission(user_id, "models.deploy").await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GroupRepo {
    repo: Repository,
}

impl GroupRepo {
    /// Lists go to a replica when there is one; permission checks to the primary.
    pub fn new(db: PgDatabase) -> Self {
        GroupRepo {
            repo: Repository::new(db),
        }
    }

    /// Every read from the primary (read-your-writes).
    #[must_use]
    pub fn primary_only(mut self) -> Self {
        self.repo = self.repo.primary_only();
        self
    }

    /// Create a group; a taken name is `Conflict`.
    pub async fn create(&self, name: &str, description: Option<&str>) -> Result<Group> {
        self.repo
            .db()
            .observe("groups.create", TABLE, async {
                if name.trim().is_empty() || name.chars().count() > 150 {
                    return Err(Error::invalid_input(
                        "group name must be 1 to 150 characters",
                    ));
                }
                sqlx::query_as::<_, Group>(
                    "INSERT INTO auth.groups (name, description) VALUES ($1, $2) \
                     RETURNING id, name, description, created_at, updated_at",
                )
                .bind(name)
                .bind(description)
                .fetch_one(self.repo.db().primary())
                .await
                .op("create group", TABLE)
            })
            .await
    }

    /// By id; `NotFound` when absent.
    pub async fn get(&self, id: i32) -> Result<Group> {
        self.repo.db()
            .observe("groups.get", TABLE, async {
                sqlx::query_as::<_, Group>(
                    "SELECT id, name, description, created_at, updated_at FROM auth.groups WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(self.repo.db().primary())
                .await
                .op("get group", TABLE)?
                .ok_or_else(|| {
                    Error::new(ErrorKind::NotFound, format!("no group {id}")).with_target(TABLE)
                })
            })
            .await
    }

    /// Add a user to a group (idempotent). An unknown user or group is `InvalidInput`.
    pub async fn add_member(&self, group_id: i32, user_id: i32) -> Result<()> {
        self.repo.db()
            .observe("groups.add_member", MEMBERS, async {
                sqlx::query(
                    "INSERT INTO auth.user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(user_id)
                .bind(group_id)
                .execute(self.repo.db().primary())
                .await
                .op("add member", MEMBERS)?;
                Ok(())
            })
            .await
    }

    /// Remove a user from a group; whether they were a member.
    pub async fn remove_member(&self, group_id: i32, user_id: i32) -> Result<bool> {
        let delete = async {
            let done =
                sqlx::query("DELETE FROM auth.user_groups WHERE user_id = $1 AND group_id = $2")
                    .bind(user_id)
                    .bind(group_id)
                    .execute(self.repo.db().primary())
                    .await
                    .op("remove member", MEMBERS)?;
            Ok(done.rows_affected() > 0)
        };
        self.repo
            .db()
            .observe_counted("groups.remove_member", MEMBERS, delete, |&removed| {
                u64::from(removed)
            })
            .await
    }

    /// The group's members, by id.
    pub async fn members(&self, group_id: i32) -> Result<Vec<User>> {
        let read = self.repo.read(|pool| async move {
                sqlx::query_as::<_, User>(
                    "SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.is_active, u.is_superuser, \
                     u.date_joined, u.last_login, u.organization_id, u.updated_at \
                     FROM auth.users u JOIN auth.user_groups m ON m.user_id = u.id \
                     WHERE m.group_id = $1 ORDER BY u.id",
                )
                .bind(group_id)
                .fetch_all(&pool)
                .await
                .op("list members", MEMBERS)
            });
        self.repo
            .db()
            .observe_counted("groups.members", MEMBERS, read, Vec::len)
            .await
    }

    /// The groups a user belongs to, by name.
    pub async fn groups_of(&self, user_id: i32) -> Result<Vec<Group>> {
        let read = self.repo.read(|pool| async move {
            sqlx::query_as::<_, Group>(
                "SELECT g.id, g.name, g.description, g.created_at, g.updated_at \
                     FROM auth.groups g JOIN auth.user_groups m ON m.group_id = g.id \
                     WHERE m.user_id = $1 ORDER BY g.name",
            )
            .bind(user_id)
            .fetch_all(&pool)
            .await
            .op("list groups of user", TABLE)
        });
        self.repo
            .db()
            .observe_counted("groups.groups_of", TABLE, read, Vec::len)
            .await
    }

    /// Grant `permission` to every member of a group (idempotent).
    pub async fn grant_to_group(&self, group_id: i32, permission: &str) -> Result<()> {
        self.grant(
            "groups.grant_to_group",
            "auth.group_permissions",
            "group_id",
            group_id,
            permission,
        )
        .await
    }

    /// Grant `permission` to one user (idempotent).
    pub async fn grant_to_user(&self, user_id: i32, permission: &str) -> Result<()> {
        self.grant(
            "groups.grant_to_user",
            "auth.user_permissions",
            "user_id",
            user_id,
            permission,
        )
        .await
    }

    /// Revoke a group's permission; whether it was granted.
    pub async fn revoke_from_group(&self, group_id: i32, permission: &str) -> Result<bool> {
        self.revoke(
            "groups.revoke_from_group",
            "auth.group_permissions",
            "group_id",
            group_id,
            permission,
        )
        .await
    }

    /// Revoke a user's direct permission; whether it was granted.
    pub async fn revoke_from_user(&self, user_id: i32, permission: &str) -> Result<bool> {
        self.revoke(
            "groups.revoke_from_user",
            "auth.user_permissions",
            "user_id",
            user_id,
            permission,
        )
        .await
    }

    /// `table` and `column` are ours, never caller input.
    async fn grant(
        &self,
        operation: &'static str,
        table: &'static str,
        column: &'static str,
        owner: i32,
        permission: &str,
    ) -> Result<()> {
        self.repo.db()
            .observe(operation, table, async {
                validate_permission(permission)?;
                let sql = format!(
                    "WITH p AS ( \
                       INSERT INTO auth.permissions (code) VALUES ($2) \
                       ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id) \
                     INSERT INTO {table} ({column}, permission_id) SELECT $1, id FROM p ON CONFLICT DO NOTHING"
                );
                sqlx::query(&sql)
                    .bind(owner)
                    .bind(permission)
                    .execute(self.repo.db().primary())
                    .await
                    .op("grant permission", table)?;
                Ok(())
            })
            .await
    }

    async fn revoke(
        &self,
        operation: &'static str,
        table: &'static str,
        column: &'static str,
        owner: i32,
        permission: &str,
    ) -> Result<bool> {
        let delete = async {
            let sql = format!(
                "DELETE FROM {table} WHERE {column} = $1 \
                 AND permission_id = (SELECT id FROM auth.permissions WHERE code = $2)"
            );
            let done = sqlx::query(&sql)
                .bind(owner)
                .bind(permission)
                .execute(self.repo.db().primary())
                .await
                .op("revoke permission", table)?;
            Ok(done.rows_affected() > 0)
        };
        self.repo
            .db()
            .observe_counted(operation, table, delete, |&revoked| u64::from(revoked))
            .await
    }

    /// Whether an active user holds `permission`: directly, through a group,
    /// or by being a superuser. Always asks the primary (a revoked grant
    /// must not linger on a lagging replica).
    pub async fn user_has_permission(&self, user_id: i32, permission: &str) -> Result<bool> {
        let check = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS ( \
               SELECT 1 FROM auth.users u WHERE u.id = $1 AND u.is_active AND ( \
                 u.is_superuser \
                 OR EXISTS (SELECT 1 FROM auth.user_permissions up JOIN auth.permissions p ON p.id = up.permission_id \
                            WHERE up.user_id = u.id AND p.code = $2) \
                 OR EXISTS (SELECT 1 FROM auth.user_groups m \
                            JOIN auth.group_permissions gp ON gp.group_id = m.group_id \
                            JOIN auth.permissions p ON p.id = gp.permission_id \
                            WHERE m.user_id = u.id AND p.code = $2)))",
        )
        .bind(user_id)
        .bind(permission)
        .fetch_one(self.repo.db().primary());
        self.repo
            .db()
            .observe("groups.user_has_permission", PERMISSIONS, async {
                check.await.op("check permission", PERMISSIONS)
            })
            .await
    }
}

fn validate_permission(code: &str) -> Result<()> {
    if code.trim().is_empty() || code.chars().count() > 150 {
        return Err(Error::invalid_input(
            "permission code must be 1 to 150 characters",
        ));
    }
    Ok(())
}
