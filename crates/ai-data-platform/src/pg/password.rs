//! Password hashing with Argon2id (PHC strings), off the async runtime;
//! verification also of the bcrypt hashes the seed's init script writes.

use ai_data_core::{Error, ErrorKind, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

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

/// Whether `password` matches `hash` (constant-time compare). Runs on the
/// blocking pool.
///
/// `hash` is either a PHC string (`$argon2id$...`, what [`hash_password`]
/// writes) or a bcrypt hash (`$2b$`, `$2a$`, `$2y$`, `$2x$`: what the
/// seed's init script and most other tools write). bcrypt reads only the
/// first 72 bytes of a password, as every bcrypt implementation that made
/// such a hash did. A malformed or unknown hash never matches.
///
/// After a match, [`needs_rehash`] tells whether the hash should be
/// replaced by a fresh [`hash_password`] (`UserRepo::verify` does so).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ai_data_core::Result<()> {
/// use ai_data_platform::pg::{hash_password, needs_rehash, verify_password};
/// let hash = hash_password("correct horse".into()).await?;
/// assert!(verify_password("correct horse".into(), hash.clone()).await?);
/// assert!(!verify_password("wrong".into(), hash.clone()).await?);
/// assert!(!needs_rehash(&hash));
/// // The seed's kind of hash (bcrypt, here at the lowest cost).
/// let legacy = "$2b$04$nR7Z9mRM8TzuS3izyn/RhO8CoBFbcLSo2Lu8ujKbnSVamPEZv/XNe";
/// assert!(verify_password("correct horse battery staple".into(), legacy.into()).await?);
/// assert!(needs_rehash(legacy));
/// # Ok(()) }
/// ```
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        if is_bcrypt(&hash) {
            return bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false);
        }
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

/// Whether a hash that [`verify_password`] accepted should be replaced by
/// a fresh [`hash_password`]: anything other than Argon2id with the
/// current version and parameters (bcrypt from the seed, Argon2i/d, other
/// costs). Cheap: parses the hash, computes nothing.
pub fn needs_rehash(hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return true;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return true;
    }
    let current = Params::default();
    let same_params = Params::try_from(&parsed).is_ok_and(|p| {
        p.m_cost() == current.m_cost()
            && p.t_cost() == current.t_cost()
            && p.p_cost() == current.p_cost()
            && p.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN) == Params::DEFAULT_OUTPUT_LEN
    });
    let same_version = parsed.version.unwrap_or(Version::V0x10 as u32) == Version::default() as u32;
    !(same_params && same_version)
}

/// `$2a$`, `$2b$`, `$2x$`, `$2y$`: the bcrypt (modular crypt) prefixes.
fn is_bcrypt(hash: &str) -> bool {
    let b = hash.as_bytes();
    b.len() > 4
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bcrypt_variants_verify_and_need_a_rehash() {
        let parts = bcrypt::hash_with_result("pw 中文", 4).expect("bcrypt");
        for version in [
            bcrypt::Version::TwoA,
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoX,
            bcrypt::Version::TwoY,
        ] {
            let hash = parts.format_for_version(version);
            assert!(is_bcrypt(&hash), "{hash}");
            assert!(verify_password("pw 中文".into(), hash.clone())
                .await
                .expect("verify"));
            assert!(!verify_password("pw".into(), hash.clone())
                .await
                .expect("verify"));
            assert!(!verify_password(String::new(), hash.clone())
                .await
                .expect("verify"));
            assert!(needs_rehash(&hash), "{hash}");
        }
    }

    #[tokio::test]
    async fn malformed_hashes_never_match() {
        for hash in [
            "",
            "$2b$",
            "$2b$12$short",
            "$2b$12$ZvObSUln.TpZ9vOJUPm6mOSnVkB.Zh6qsJWhjWYQOX5fT4QL96lx中",
            "$argon2id$v=19$m=19456,t=2,p=1$bad",
            "plain text",
        ] {
            assert!(
                !verify_password("x".into(), hash.to_owned())
                    .await
                    .expect("verify"),
                "{hash}"
            );
        }
    }

    #[tokio::test]
    async fn argon2id_with_current_parameters_needs_no_rehash_and_others_do() {
        let current = hash_password("pw".into()).await.expect("hash");
        assert!(current.starts_with("$argon2id$"), "{current}");
        assert!(!needs_rehash(&current), "{current}");
        let salt = SaltString::generate(&mut OsRng);
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::default(),
            Params::new(8 * 1024, 1, 1, None).expect("params"),
        )
        .hash_password(b"pw", &salt)
        .expect("argon2")
        .to_string();
        assert!(verify_password("pw".into(), weaker.clone())
            .await
            .expect("verify"));
        assert!(needs_rehash(&weaker), "{weaker}");
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::default(), Params::default())
            .hash_password(b"pw", &salt)
            .expect("argon2")
            .to_string();
        assert!(verify_password("pw".into(), argon2i.clone())
            .await
            .expect("verify"));
        assert!(needs_rehash(&argon2i), "{argon2i}");
    }
}
