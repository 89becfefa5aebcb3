//! Password hashing with Argon2id (PHC strings), off the async runtime.

use ai_data_core::{Error, ErrorKind, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Hash `password` into a PHC string (`$argon2id$...`). Runs on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    if password.is_empty() {
        return Err(Error::invalid_input("password must not be empty"));
    }
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::new(ErrorKind::Backend, format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Backend, "password hashing task failed").with_source(e))?
}

/// Whether `password` matches the PHC string `hash` (constant-time compare).
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Backend, "password verification task failed").with_source(e))
}
