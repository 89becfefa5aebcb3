//! A connection URL whose password never leaves through `Debug` or `Display`.

use std::fmt;

use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{Error, Result};

/// Query parameters whose values are treated as secrets when a URL is shown.
const SECRET_QUERY_KEYS: [&str; 5] = ["password", "pass", "apikey", "api_key", "sslpassword"];

/// A store URL with its password split off into a [`SecretString`].
///
/// `Display` and `Debug` show `***` for the password and for secret-looking
/// query parameters; [`ConnectionUrl::expose_url`] gives the full URL for
/// handing to a driver.
///
/// ```
/// use ai_data_core::ConnectionUrl;
/// use secrecy::ExposeSecret;
///
/// let url = ConnectionUrl::parse("postgres://app:p%40ss@db:5432/ai_platform").unwrap();
/// assert_eq!(url.to_string(), "postgres://app:***@db:5432/ai_platform");
/// assert_eq!(url.password().unwrap().expose_secret(), "p@ss");
/// assert_eq!(url.database(), Some("ai_platform"));
/// assert_eq!(url.expose_url().as_str(), "postgres://app:p%40ss@db:5432/ai_platform");
/// ```
#[derive(Clone)]
pub struct ConnectionUrl {
    without_password: Url,
    /// The password as it appeared in the URL (percent-encoded).
    encoded_password: Option<SecretString>,
}

impl ConnectionUrl {
    /// Parse a URL. The error names neither the URL nor its password, only
    /// what is wrong with it.
    pub fn parse(input: &str) -> Result<Self> {
        let mut url =
            Url::parse(input).map_err(|e| Error::config(format!("not a valid URL: {e}")))?;
        let encoded_password = url.password().map(|p| SecretString::from(p.to_owned()));
        if encoded_password.is_some() {
            // Cannot fail: the URL has a password, so it has a host.
            let _ = url.set_password(None);
        }
        Ok(ConnectionUrl {
            without_password: url,
            encoded_password,
        })
    }

    /// The URL without its password.
    pub fn without_password(&self) -> &Url {
        &self.without_password
    }

    /// The full URL, password included, for a driver. Do not log it.
    pub fn expose_url(&self) -> Url {
        let mut url = self.without_password.clone();
        if let Some(pw) = &self.encoded_password {
            let _ = url.set_password(Some(pw.expose_secret()));
        }
        url
    }

    /// The decoded password, if the URL has one.
    pub fn password(&self) -> Option<SecretString> {
        self.encoded_password.as_ref().map(|pw| {
            let decoded = percent_decode_str(pw.expose_secret()).decode_utf8_lossy();
            SecretString::from(decoded.into_owned())
        })
    }

    /// The scheme, e.g. `postgres`.
    pub fn scheme(&self) -> &str {
        self.without_password.scheme()
    }

    /// The host, if any.
    pub fn host(&self) -> Option<&str> {
        self.without_password.host_str()
    }

    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.without_password.port()
    }

    /// The user name, if any (decoded).
    pub fn username(&self) -> Option<String> {
        let user = self.without_password.username();
        (!user.is_empty()).then(|| percent_decode_str(user).decode_utf8_lossy().into_owned())
    }

    /// The first path segment, which is the database for PostgreSQL and MongoDB.
    pub fn database(&self) -> Option<&str> {
        self.without_password
            .path_segments()
            .and_then(|mut s| s.next())
            .filter(|s| !s.is_empty())
    }

    /// The URL as it may be shown: password and secret query values as `***`.
    pub fn redacted(&self) -> String {
        let mut url = self.without_password.clone();
        if self.encoded_password.is_some() {
            let _ = url.set_password(Some("***"));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let secret = SECRET_QUERY_KEYS.iter().any(|s| k.eq_ignore_ascii_case(s));
                    let v = if secret { "***".into() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        // `***` is percent-encoded by the URL writer; show it plainly.
        url.as_str().replace("%2A%2A%2A", "***")
    }
}

impl fmt::Display for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConnectionUrl")
            .field(&self.redacted())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_secrets_are_redacted() {
        let url = ConnectionUrl::parse("mongodb://h:27017/db?authSource=admin&password=zzz-secret")
            .expect("parses");
        let shown = url.to_string();
        assert!(shown.contains("authSource=admin"), "{shown}");
        assert!(shown.contains("password=***"), "{shown}");
        assert!(!shown.contains("zzz-secret"));
        assert!(!format!("{url:?}").contains("zzz-secret"));
        assert!(url.expose_url().as_str().contains("zzz-secret"));
    }

    #[test]
    fn parse_error_does_not_echo_input() {
        let err = ConnectionUrl::parse("postgres://user:topsecret@[::1").expect_err("bad");
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(!err.to_string().contains("topsecret"));
    }

    #[test]
    fn no_password_means_none() {
        let url = ConnectionUrl::parse("redis://127.0.0.1:6379/0").expect("parses");
        assert!(url.password().is_none());
        assert_eq!(url.to_string(), "redis://127.0.0.1:6379/0");
    }
}
