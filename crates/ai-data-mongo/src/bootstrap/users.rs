//! Least-privilege users of the database a [`Bootstrap`](super::Bootstrap)
//! runs on: created, or updated (password and roles) when they exist.

use std::fmt;

use mongodb::bson::{doc, Bson};
use mongodb::Database;

use ai_data_core::{ExposeSecret, Result, SecretString};

use super::report::UserOutcome;
use crate::error::{code, from_driver_error, map_err, server_code};

/// What a user may do in the database it is created in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserAccess {
    /// `readWrite` + `dbAdmin`: the services' account.
    ReadWrite,
    /// `read`: reporting and debugging.
    ReadOnly,
}

impl UserAccess {
    /// The built-in role names the seed grants.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            UserAccess::ReadWrite => &["readWrite", "dbAdmin"],
            UserAccess::ReadOnly => &["read"],
        }
    }
}

/// A least-privilege user to create in the database the bootstrap runs on.
///
/// `Debug` shows `***` for the password.
///
/// ```
/// use ai_data_mongo::{PlatformUser, UserAccess};
/// let user = PlatformUser::new("reporting", "s3cret".to_owned(), UserAccess::ReadOnly);
/// assert_eq!(user.name(), "reporting");
/// assert_eq!(user.access(), UserAccess::ReadOnly);
/// assert!(!format!("{user:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct PlatformUser {
    name: String,
    password: SecretString,
    access: UserAccess,
}

impl PlatformUser {
    /// A user with the given access.
    pub fn new(
        name: impl Into<String>,
        password: impl Into<SecretString>,
        access: UserAccess,
    ) -> Self {
        PlatformUser {
            name: name.into(),
            password: password.into(),
            access,
        }
    }

    /// User name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Granted access.
    pub fn access(&self) -> UserAccess {
        self.access
    }

    fn roles_doc(&self, db: &str) -> Vec<Bson> {
        self.access
            .roles()
            .iter()
            .map(|role| Bson::Document(doc! { "role": *role, "db": db }))
            .collect()
    }
}

impl fmt::Debug for PlatformUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformUser")
            .field("name", &self.name)
            .field("password", &"***")
            .field("access", &self.access)
            .finish()
    }
}

/// Create `user` in `db`, or update its password and roles when it exists.
pub(super) async fn ensure_user(db: &Database, user: &PlatformUser) -> Result<UserOutcome> {
    let target = format!("{}/{}", db.name(), user.name);
    let info = db
        .run_command(doc! { "usersInfo": { "user": &user.name, "db": db.name() } })
        .await
        .map_err(map_err("users_info", &target))?;
    let exists = info
        .get_array("users")
        .map(|users| !users.is_empty())
        .unwrap_or(false);
    let roles = user.roles_doc(db.name());
    let pwd = user.password.expose_secret();
    let create = doc! { "createUser": &user.name, "pwd": pwd, "roles": roles.clone() };
    let update = doc! { "updateUser": &user.name, "pwd": pwd, "roles": roles };
    let created = if exists {
        false
    } else {
        match db.run_command(create).await {
            Ok(_) => true,
            Err(e) if server_code(&e) == Some(code::USER_EXISTS) => false,
            Err(e) => return Err(from_driver_error(e, "create_user", target)),
        }
    };
    if !created {
        db.run_command(update)
            .await
            .map_err(map_err("update_user", &target))?;
    }
    tracing::info!(user = %user.name, database = db.name(), created, "user ensured");
    Ok(UserOutcome {
        user: user.name.clone(),
        access: user.access,
        created,
    })
}
