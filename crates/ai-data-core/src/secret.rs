//! Secrets from files, the way Kubernetes mounts a Secret.
//!
//! Precedence, highest first:
//! 1. an explicit value: set in code, `<PREFIX>PASSWORD` / `<PREFIX>API_KEY`,
//!    or the password inside the store's URL;
//! 2. the file named by `<PREFIX>PASSWORD_FILE` / `<PREFIX>API_KEY_FILE`;
//! 3. the store's key in the directory `AI_DATA_SECRETS_DIR`
//!    (`postgres-password`, `mongodb-password`, `redis-password`,
//!    `weaviate-apikey`, `kafka-password`).
//!
//! A file named by a variable must exist; a key missing from the directory
//! simply means "no secret from there". A file that exists but is a
//! directory, unreadable, not UTF-8 or empty is a config error naming the
//! file, never its content.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::env::SECRETS_DIR_VAR;
use crate::{EnvSource, Error, Result, Store};

/// Resolve a store's secret by the precedence in the [module docs](self).
///
/// ```
/// use ai_data_core::{resolve_secret, EnvSource, Store};
/// use secrecy::ExposeSecret;
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("redis-password"), "from-dir\n").unwrap();
/// let env = EnvSource::from_pairs([("AI_DATA_SECRETS_DIR", dir.path().to_str().unwrap())]);
/// let secret = resolve_secret(&env, Store::Redis, None).unwrap().unwrap();
/// assert_eq!(secret.expose_secret(), "from-dir");
/// ```
pub fn resolve_secret(
    env: &EnvSource,
    store: Store,
    explicit: Option<SecretString>,
) -> Result<Option<SecretString>> {
    if explicit.is_some() {
        return Ok(explicit);
    }
    let file_var = store.var(&format!("{}_FILE", store.secret_var()));
    if let Some(path) = env.get(&file_var) {
        return read_secret_file(Path::new(path), &file_var).map(Some);
    }
    let Some(dir) = env.get(SECRETS_DIR_VAR) else {
        return Ok(None);
    };
    let dir = PathBuf::from(dir);
    if !dir.is_dir() {
        return Err(Error::config(format!(
            "{SECRETS_DIR_VAR} points to {}, which is not a directory",
            dir.display()
        ))
        .with_store(store));
    }
    let path = dir.join(store.secret_file_key());
    if !path.exists() {
        return Ok(None);
    }
    read_secret_file(&path, SECRETS_DIR_VAR).map(Some)
}

/// Read one secret file, trimming one trailing newline (`echo` and
/// `kubectl create secret --from-file` both leave one).
///
/// `origin` names where the path came from (a variable name) for the error.
pub fn read_secret_file(path: &Path, origin: &str) -> Result<SecretString> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::config(format!(
            "secret file {shown} (from {origin}) cannot be opened: {}",
            e.kind()
        ))
        .with_source(e)
    })?;
    if meta.is_dir() {
        return Err(Error::config(format!(
            "secret file {shown} (from {origin}) is a directory, expected a file"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "secret file {shown} (from {origin}) cannot be read: {}",
            e.kind()
        ))
        .with_source(e)
    })?;
    let Ok(mut text) = String::from_utf8(bytes) else {
        return Err(Error::config(format!(
            "secret file {shown} (from {origin}) is not valid UTF-8"
        )));
    };
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(Error::config(format!(
            "secret file {shown} (from {origin}) is empty"
        )));
    }
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use secrecy::ExposeSecret;

    const CONTENT: &str = "s3cr3t-content-xyz";

    fn env_with(pairs: &[(&str, &str)]) -> EnvSource {
        EnvSource::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn precedence_is_explicit_then_file_then_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("postgres-password"), "from-dir\n").expect("write");
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\r\n").expect("write");
        let dir_s = dir.path().to_str().expect("utf8");
        let file_s = file.to_str().expect("utf8");

        let only_dir = env_with(&[("AI_DATA_SECRETS_DIR", dir_s)]);
        let got = resolve_secret(&only_dir, Store::Postgres, None).expect("ok");
        assert_eq!(got.expect("some").expose_secret(), "from-dir");

        let file_and_dir = env_with(&[
            ("AI_DATA_SECRETS_DIR", dir_s),
            ("AI_DATA_PG_PASSWORD_FILE", file_s),
        ]);
        let got = resolve_secret(&file_and_dir, Store::Postgres, None).expect("ok");
        assert_eq!(got.expect("some").expose_secret(), "from-file");

        let got =
            resolve_secret(&file_and_dir, Store::Postgres, Some("explicit".into())).expect("ok");
        assert_eq!(got.expect("some").expose_secret(), "explicit");
    }

    #[test]
    fn weaviate_uses_api_key_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("weaviate-apikey"), "key-from-dir").expect("write");
        let file = dir.path().join("k");
        std::fs::write(&file, "key-from-file").expect("write");
        let env = env_with(&[("AI_DATA_SECRETS_DIR", dir.path().to_str().expect("utf8"))]);
        let got = resolve_secret(&env, Store::Weaviate, None).expect("ok");
        assert_eq!(got.expect("some").expose_secret(), "key-from-dir");
        let env = env_with(&[(
            "AI_DATA_WEAVIATE_API_KEY_FILE",
            file.to_str().expect("utf8"),
        )]);
        let got = resolve_secret(&env, Store::Weaviate, None).expect("ok");
        assert_eq!(got.expect("some").expose_secret(), "key-from-file");
    }

    #[test]
    fn key_missing_from_directory_is_no_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = env_with(&[("AI_DATA_SECRETS_DIR", dir.path().to_str().expect("utf8"))]);
        assert!(resolve_secret(&env, Store::Kafka, None)
            .expect("ok")
            .is_none());
    }

    fn assert_config_error_naming(err: &Error, names: &[&str]) {
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        for name in names {
            assert!(err.to_string().contains(name), "{err} should name {name}");
        }
        assert!(!err.to_string().contains(CONTENT));
        assert!(!format!("{err:?}").contains(CONTENT));
    }

    #[test]
    fn missing_file_named_by_variable_is_an_error() {
        let env = env_with(&[("AI_DATA_PG_PASSWORD_FILE", "/nonexistent/ai-data/pw")]);
        let err = resolve_secret(&env, Store::Postgres, None).expect_err("missing");
        assert_config_error_naming(
            &err,
            &["/nonexistent/ai-data/pw", "AI_DATA_PG_PASSWORD_FILE"],
        );
    }

    #[test]
    fn empty_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("empty");
        std::fs::write(&file, "\n").expect("write");
        let path = file.to_str().expect("utf8");
        let env = env_with(&[("AI_DATA_REDIS_PASSWORD_FILE", path)]);
        let err = resolve_secret(&env, Store::Redis, None).expect_err("empty");
        assert_config_error_naming(&err, &[path, "empty"]);
    }

    #[test]
    fn directory_instead_of_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_str().expect("utf8");
        let env = env_with(&[("AI_DATA_MONGO_PASSWORD_FILE", path)]);
        let err = resolve_secret(&env, Store::Mongo, None).expect_err("dir");
        assert_config_error_naming(&err, &[path, "directory"]);

        // The same when the directory layout has a directory under the key's name.
        std::fs::create_dir(dir.path().join("kafka-password")).expect("mkdir");
        let env = env_with(&[("AI_DATA_SECRETS_DIR", path)]);
        let err = resolve_secret(&env, Store::Kafka, None).expect_err("dir");
        assert_config_error_naming(&err, &["kafka-password", "directory"]);
    }

    #[test]
    fn secrets_dir_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, CONTENT).expect("write");
        let env = env_with(&[("AI_DATA_SECRETS_DIR", file.to_str().expect("utf8"))]);
        let err = resolve_secret(&env, Store::Redis, None).expect_err("not a dir");
        assert_config_error_naming(&err, &["AI_DATA_SECRETS_DIR"]);
    }

    #[test]
    fn non_utf8_file_is_an_error_without_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bin");
        let mut bytes = CONTENT.as_bytes().to_vec();
        bytes.push(0xff);
        std::fs::write(&file, bytes).expect("write");
        let err = read_secret_file(&file, "TEST_VAR").expect_err("not utf8");
        assert_config_error_naming(&err, &["UTF-8", "TEST_VAR"]);
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_file_is_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("locked");
        std::fs::write(&file, CONTENT).expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        // root reads through mode 000, so make the path unreadable for everyone:
        // a file below a "directory" that is really a file.
        let below_file = file.join("child");
        let err =
            read_secret_file(&below_file, "AI_DATA_KAFKA_PASSWORD_FILE").expect_err("unreadable");
        assert_config_error_naming(&err, &["AI_DATA_KAFKA_PASSWORD_FILE", "cannot be opened"]);
        if std::fs::read(&file).is_err() {
            let err = read_secret_file(&file, "X").expect_err("unreadable");
            assert_config_error_naming(&err, &["cannot be read"]);
        }
    }
}
