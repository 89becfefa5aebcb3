//! Users created by the seed's init script carry bcrypt hashes
//! (`$2b$12$...`); the migrations run over such a database, so
//! `UserRepo::verify` accepts them and rehashes the password to Argon2id
//! on the first successful login.

mod common;

use ai_data_platform::pg::UserRepo;

/// The stored hash of `username`.
async fn stored_hash(db: &ai_data_pg::PgDatabase, username: &str) -> String {
    sqlx::query_scalar("SELECT password_hash FROM auth.users WHERE username = $1")
        .bind(username)
        .fetch_one(db.primary())
        .await
        .expect("hash")
}

#[tokio::test]
async fn seed_bcrypt_user_logs_in_and_is_rehashed_to_argon2id_once() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    // A real bcrypt hash at the seed's cost 12, inserted the way the seed's
    // init script inserts its admin.
    let bcrypt_hash = tokio::task::spawn_blocking(|| bcrypt::hash("admin123", 12))
        .await
        .expect("task")
        .expect("bcrypt");
    assert!(bcrypt_hash.starts_with("$2b$12$"), "{bcrypt_hash}");
    sqlx::query(
        "INSERT INTO auth.users (username, email, password_hash, is_active, is_superuser) \
         VALUES ('admin', 'admin@example.com', $1, true, true) \
         ON CONFLICT (username) DO NOTHING",
    )
    .bind(&bcrypt_hash)
    .execute(db.primary())
    .await
    .expect("seed admin");

    let users = UserRepo::new(db.clone());

    // A wrong password fails the same way as for any user, and rehashes nothing.
    assert!(users
        .verify("admin", "admin1234")
        .await
        .expect("verify")
        .is_none());
    assert_eq!(stored_hash(&db, "admin").await, bcrypt_hash);
    assert!(users
        .get_by_username("admin")
        .await
        .expect("get")
        .last_login
        .is_none());

    // The right password logs in and replaces the bcrypt hash with Argon2id.
    let admin = users
        .verify("admin", "admin123")
        .await
        .expect("verify")
        .expect("the seed's bcrypt hash is accepted");
    assert_eq!(admin.username, "admin");
    assert!(admin.is_superuser && admin.last_login.is_some());
    let rehashed = stored_hash(&db, "admin").await;
    assert!(rehashed.starts_with("$argon2id$"), "{rehashed}");

    // The second login works with the new hash, and leaves it as it is.
    let again = users
        .verify("admin", "admin123")
        .await
        .expect("verify")
        .expect("logs in with the Argon2id hash");
    assert_eq!(again.id, admin.id);
    assert_eq!(stored_hash(&db, "admin").await, rehashed);
    assert!(users
        .verify("admin", "admin1234")
        .await
        .expect("verify")
        .is_none());
    assert!(users.verify("admin", "").await.expect("verify").is_none());
}

#[tokio::test]
async fn inactive_bcrypt_user_cannot_log_in_and_keeps_its_hash() {
    let Some((_t, db)) = common::migrated().await else {
        return;
    };
    let bcrypt_hash = tokio::task::spawn_blocking(|| bcrypt::hash("s3cret", 4))
        .await
        .expect("task")
        .expect("bcrypt");
    sqlx::query(
        "INSERT INTO auth.users (username, email, password_hash, is_active) \
         VALUES ('old', 'old@example.com', $1, false)",
    )
    .bind(&bcrypt_hash)
    .execute(db.primary())
    .await
    .expect("seed user");
    let users = UserRepo::new(db.clone());
    assert!(users
        .verify("old", "s3cret")
        .await
        .expect("verify")
        .is_none());
    assert_eq!(stored_hash(&db, "old").await, bcrypt_hash);
}
