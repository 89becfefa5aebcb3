//! `auth.users`.

use ai_data_core::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::pg::password::{hash_password, needs_rehash, verify_password};
use ai_data_pg::SqlxResultExt;
use ai_data_pg::{PgDatabase, Repository};

const TABLE: &str = "auth.users";
const COLUMNS: &str = "id, username, email, first_name, last_name, is_active, is_superuser, \
                       date_joined, last_login, organization_id, updated_at";

/// A platform user. The password hash is never loaded into this struct.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct User {
    /// Primary key.
    pub id: i32,
    /// Unique login name.
    pub username: String,
    /// Unique e-mail.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Inactive users cannot log in and hold no permissions.
    pub is_active: bool,
    /// Superusers hold every permission.
    pub is_superuser: bool,
    /// When the account was created.
    pub date_joined: DateTime<Utc>,
    /// Last successful [`UserRepo::verify`].
    pub last_login: Option<DateTime<Utc>>,
    /// Organisation, if any.
    pub organization_id: Option<i32>,
    /// Maintained by a trigger.
    pub updated_at: DateTime<Utc>,
}

/// A user to create.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Plain-text password; hashed with Argon2id before it reaches the database.
    pub password: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Organisation.
    pub organization_id: Option<i32>,
    /// Superuser flag.
    pub is_superuser: bool,
}

impl NewUser {
    /// A user with the required fields.
    pub fn new(
        username: impl Into<String>,
        email: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        NewUser {
            username: username.into(),
            email: email.into(),
            password: password.into(),
            ..Default::default()
        }
    }
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &"***")
            .field("is_superuser", &self.is_superuser)
            .finish_non_exhaustive()
    }
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UserUpdate {
    /// New e-mail.
    pub email: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New organisation.
    pub organization_id: Option<i32>,
}

/// Users: create with a hashed password, verify, look up, update, deactivate, list.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// use ai_data_platform::pg::{NewUser, UserRepo};
/// let users = UserRepo::new(db);
/// let alice = users.create(NewUser::new("alice", "alice@example.com", "correct horse")).await?;
/// assert!(users.verify("alice", "correct horse").await?.is_some());
/// let page = users.list(None, 50).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct UserRepo {
    repo: Repository,
}

impl UserRepo {
    /// Lists go to a replica when there is one; lookups by key to the primary.
    pub fn new(db: PgDatabase) -> Self {
        UserRepo {
            repo: Repository::new(db),
        }
    }

    /// Every read from the primary (read-your-writes).
    #[must_use]
    pub fn primary_only(mut self) -> Self {
        self.repo = self.repo.primary_only();
        self
    }

    /// Create a user; the password is hashed with Argon2id.
    /// A taken username or e-mail is [`ErrorKind::Conflict`].
    ///
    /// Observed as `users.create` (its latency includes the hashing).
    pub async fn create(&self, user: NewUser) -> Result<User> {
        self.repo
            .db()
            .observe("users.create", TABLE, async {
                validate_username_email(&user.username, &user.email)?;
                let hash = hash_password(user.password.clone()).await?;
                let sql = format!(
                    "INSERT INTO auth.users (username, email, password_hash, first_name, last_name, organization_id, is_superuser) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
                );
                sqlx::query_as::<_, User>(&sql)
                    .bind(&user.username)
                    .bind(&user.email)
                    .bind(&hash)
                    .bind(&user.first_name)
                    .bind(&user.last_name)
                    .bind(user.organization_id)
                    .bind(user.is_superuser)
                    .fetch_one(self.repo.db().primary())
                    .await
                    .op("create user", TABLE)
            })
            .await
    }

    /// The user whose username and password match, if active; records `last_login`.
    ///
    /// Every failure is the same `Ok(None)`: unknown name, inactive user,
    /// wrong password, malformed stored hash. For an unknown name a hash is
    /// computed anyway, so the time taken does not reveal whether the user
    /// exists.
    ///
    /// Stored hashes may be Argon2id (what [`UserRepo::create`] writes) or
    /// bcrypt (`$2b$...`, what the seed's init script writes, e.g. for its
    /// `admin`; see [`verify_password`]). On the first successful login a
    /// hash other than Argon2id with the current parameters
    /// ([`needs_rehash`]) is replaced by a fresh Argon2id hash of the same
    /// password, in the same statement that records `last_login` (and only
    /// if the stored hash is still the one verified); a wrong password
    /// changes nothing. Until then,
    /// a bcrypt account answers in bcrypt's time (cost 12: a few hundred
    /// ms), not Argon2id's, so timing can tell a not yet migrated account
    /// from an unknown name.
    ///
    /// Observed as `users.verify` (its latency includes the hashing).
    pub async fn verify(&self, username: &str, password: &str) -> Result<Option<User>> {
        self.repo
            .db()
            .observe("users.verify", TABLE, self.verify_inner(username, password))
            .await
    }

    async fn verify_inner(&self, username: &str, password: &str) -> Result<Option<User>> {
        let row: Option<(i32, String)> = sqlx::query_as(
            "SELECT id, password_hash FROM auth.users WHERE username = $1 AND is_active",
        )
        .bind(username)
        .fetch_optional(self.repo.db().primary())
        .await
        .op("verify user", TABLE)?;
        let Some((id, hash)) = row else {
            // Hash anyway so that timing does not reveal whether the user exists.
            let _ = hash_password(password.to_owned()).await;
            return Ok(None);
        };
        if !verify_password(password.to_owned(), hash.clone()).await? {
            return Ok(None);
        }
        // A legacy hash (the seed's bcrypt) is replaced on this first good
        // login. A failed rehash only keeps the old hash: the login stands.
        let rehashed = if needs_rehash(&hash) {
            match hash_password(password.to_owned()).await {
                Ok(new_hash) => Some(new_hash),
                Err(e) => {
                    tracing::warn!(user_id = id, error = %e, "keeping the legacy password hash: rehashing failed");
                    None
                }
            }
        } else {
            None
        };
        // The new hash only replaces the one just verified: a password set
        // concurrently in between is kept.
        let sql = format!(
            "UPDATE auth.users SET last_login = now(), \
             password_hash = CASE WHEN $2::text IS NOT NULL AND password_hash = $3 THEN $2 ELSE password_hash END \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        sqlx::query_as::<_, User>(&sql)
            .bind(id)
            .bind(rehashed)
            .bind(&hash)
            .fetch_optional(self.repo.db().primary())
            .await
            .op("verify user", TABLE)
    }

    /// Replace the password.
    pub async fn set_password(&self, id: i32, password: &str) -> Result<()> {
        self.repo
            .db()
            .observe("users.set_password", TABLE, async {
                let hash = hash_password(password.to_owned()).await?;
                let done = sqlx::query("UPDATE auth.users SET password_hash = $2 WHERE id = $1")
                    .bind(id)
                    .bind(hash)
                    .execute(self.repo.db().primary())
                    .await
                    .op("set password", TABLE)?;
                found(done.rows_affected(), id)
            })
            .await
    }

    /// By id; `NotFound` when absent.
    pub async fn get(&self, id: i32) -> Result<User> {
        self.get_where("users.get", "id", id, format!("id {id}"))
            .await
    }

    /// By username; `NotFound` when absent.
    pub async fn get_by_username(&self, username: &str) -> Result<User> {
        // The message never repeats the name: errors reach logs and traces.
        self.get_where(
            "users.get_by_username",
            "username",
            username,
            "with that username".to_owned(),
        )
        .await
    }

    /// By e-mail; `NotFound` when absent.
    pub async fn get_by_email(&self, email: &str) -> Result<User> {
        self.get_where(
            "users.get_by_email",
            "email",
            email,
            "with that e-mail".to_owned(),
        )
        .await
    }

    /// `column` is one of ours, never caller input.
    async fn get_where<V>(
        &self,
        operation: &'static str,
        column: &'static str,
        value: V,
        key: String,
    ) -> Result<User>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        self.repo
            .db()
            .observe(operation, TABLE, async {
                let sql = format!("SELECT {COLUMNS} FROM auth.users WHERE {column} = $1");
                sqlx::query_as::<_, User>(&sql)
                    .bind(value)
                    .fetch_optional(self.repo.db().primary())
                    .await
                    .op("get user", TABLE)?
                    .ok_or_else(|| not_found(&key))
            })
            .await
    }

    /// Apply `update`; returns the updated user.
    pub async fn update(&self, id: i32, update: UserUpdate) -> Result<User> {
        self.repo.db()
            .observe("users.update", TABLE, async {
                if let Some(email) = &update.email {
                    validate_username_email("x", email)?;
                }
                let sql = format!(
                    "UPDATE auth.users SET email = COALESCE($2, email), first_name = COALESCE($3, first_name), \
                     last_name = COALESCE($4, last_name), organization_id = COALESCE($5, organization_id) \
                     WHERE id = $1 RETURNING {COLUMNS}"
                );
                sqlx::query_as::<_, User>(&sql)
                    .bind(id)
                    .bind(update.email)
                    .bind(update.first_name)
                    .bind(update.last_name)
                    .bind(update.organization_id)
                    .fetch_optional(self.repo.db().primary())
                    .await
                    .op("update user", TABLE)?
                    .ok_or_else(|| not_found(&format!("id {id}")))
            })
            .await
    }

    /// Mark inactive: the user can no longer log in and holds no permission.
    pub async fn deactivate(&self, id: i32) -> Result<()> {
        self.repo
            .db()
            .observe("users.deactivate", TABLE, async {
                let done = sqlx::query("UPDATE auth.users SET is_active = false WHERE id = $1")
                    .bind(id)
                    .execute(self.repo.db().primary())
                    .await
                    .op("deactivate user", TABLE)?;
                found(done.rows_affected(), id)
            })
            .await
    }

    /// Up to `limit` users with id greater than `after` (keyset pagination:
    /// pass the last id of the previous page).
    pub async fn list(&self, after: Option<i32>, limit: u32) -> Result<Vec<User>> {
        let sql = format!("SELECT {COLUMNS} FROM auth.users WHERE id > $1 ORDER BY id LIMIT $2");
        let read = self.repo.read(|pool| {
            let sql = sql.clone();
            async move {
                sqlx::query_as::<_, User>(&sql)
                    .bind(after.unwrap_or(0))
                    .bind(i64::from(limit))
                    .fetch_all(&pool)
                    .await
                    .op("list users", TABLE)
            }
        });
        self.repo
            .db()
            .observe_counted("users.list", TABLE, read, Vec::len)
            .await
    }
}

fn validate_username_email(username: &str, email: &str) -> Result<()> {
    if username.trim().is_empty() || username.chars().count() > 150 {
        return Err(Error::invalid_input("username must be 1 to 150 characters"));
    }
    if email.chars().count() > 254 || !email.contains('@') {
        return Err(Error::invalid_input(
            "email must contain '@' and be at most 254 characters",
        ));
    }
    Ok(())
}

fn not_found(key: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("no user {key}")).with_target(TABLE)
}

fn found(rows: u64, id: i32) -> Result<()> {
    if rows == 0 {
        Err(not_found(&format!("id {id}")))
    } else {
        Ok(())
    }
}
