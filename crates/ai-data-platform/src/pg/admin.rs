//! The first administrator, created explicitly (the seed's default
//! `admin`/`admin123` account is deliberately not shipped).

use ai_data_core::Result;

use ai_data_pg::PgDatabase;

use crate::pg::{NewUser, User, UserRepo};

/// Create a superuser. Fails with `Conflict` when the username or e-mail
/// is taken, so an existing account's password is never overwritten.
/// Observed as one `users.bootstrap_admin` operation on `auth.users`.
///
/// ```no_run
/// # async fn demo(db: ai_data_pg::PgDatabase) -> ai_data_core::Result<()> {
/// let password = std::env::var("ADMIN_PASSWORD").expect("set ADMIN_PASSWORD");
/// ai_data_platform::pg::bootstrap_admin(&db, "admin", "admin@example.com", &password).await?;
/// # Ok(()) }
/// ```
pub async fn bootstrap_admin(
    db: &PgDatabase,
    username: &str,
    email: &str,
    password: &str,
) -> Result<User> {
    db.observe("users.bootstrap_admin", "auth.users", async {
        if password.chars().count() < 12 {
            return Err(ai_data_core::Error::invalid_input(
                "the administrator password must have at least 12 characters",
            ));
        }
        let mut admin = NewUser::new(username, email, password);
        admin.is_superuser = true;
        // Nested in this call, `create` is not observed again: one
        // operation, `users.bootstrap_admin`.
        UserRepo::new(db.clone()).create(admin).await
    })
    .await
}
