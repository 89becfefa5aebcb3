//! Key layout shared by every type here: `<namespace>:v<version>:<key>`.

use ai_data_core::{Error, Result, Store};

/// The prefix `<namespace>:v<version>:` every key of one cache starts with.
///
/// Bumping the version abandons every old entry at once (they age out by
/// TTL or eviction), which is how a change of the cached type is rolled out.
///
/// ```
/// use ai_data_redis::KeySpace;
///
/// let ks = KeySpace::new("models", 3).unwrap();
/// assert_eq!(ks.key("gpt-small"), "models:v3:gpt-small");
/// assert_eq!(ks.namespace(), "models");
/// assert_eq!(ks.scan_pattern("user[1]*"), "models:v3:user\\[1\\]\\**");
/// assert!(KeySpace::new("", 1).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySpace {
    prefix: String,
    /// Length of the namespace at the start of `prefix`.
    namespace_len: usize,
}

impl KeySpace {
    /// A key space; the namespace must be non-empty and free of whitespace
    /// and glob characters (`*?[]\`).
    pub fn new(namespace: &str, version: u32) -> Result<Self> {
        let bad = namespace.is_empty()
            || namespace
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "*?[]\\".contains(c));
        if bad {
            return Err(Error::invalid_input(format!(
                "cache namespace {namespace:?} must be non-empty, without whitespace or *?[]\\"
            ))
            .with_store(Store::Redis));
        }
        Ok(KeySpace {
            prefix: format!("{namespace}:v{version}:"),
            namespace_len: namespace.len(),
        })
    }

    /// `<namespace>:v<version>:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The namespace alone: what observability and errors name as the
    /// target (never a key, which may hold a user's id or an API key).
    pub fn namespace(&self) -> &str {
        &self.prefix[..self.namespace_len]
    }

    /// The full key of `key`.
    pub fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// A `SCAN MATCH` pattern for every key starting with `key_prefix`
    /// (glob characters in it are escaped).
    pub fn scan_pattern(&self, key_prefix: &str) -> String {
        let mut pattern = glob_escape(&self.prefix);
        pattern.push_str(&glob_escape(key_prefix));
        pattern.push('*');
        pattern
    }
}

/// Escape Redis glob characters so that `text` matches only itself.
pub(crate) fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "*?[]\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_checked() {
        for bad in ["", "a b", "a*", "a?", "x[", "tab\t", "back\\slash"] {
            assert!(KeySpace::new(bad, 1).is_err(), "{bad:?}");
        }
        let ks = KeySpace::new("svc:embeddings", 12).expect("ok");
        assert_eq!(ks.prefix(), "svc:embeddings:v12:");
        assert_eq!(ks.namespace(), "svc:embeddings");
    }

    #[test]
    fn escaping_keeps_plain_text() {
        assert_eq!(glob_escape("plain:key-1"), "plain:key-1");
        assert_eq!(glob_escape("a*b?c[d]e\\"), "a\\*b\\?c\\[d\\]e\\\\");
    }
}
