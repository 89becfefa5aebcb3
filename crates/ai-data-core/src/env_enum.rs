//! Enum settings (`SASL_SSL`, `verify-full`, `lz4`) parsed through serde:
//! the enum derives `Deserialize` with `#[serde(rename_all = ..)]` (and
//! `alias` for other spellings) instead of a hand-written `FromStr`.
//!
//! Matching ignores ASCII case and treats `-` and `_` alike, against the
//! variants' serde names; an alias matches as written, lowercased or
//! uppercased. Errors are serde's (`unknown variant `x`, expected one of
//! ...`): they quote the value, so use these for settings, never for secrets.
//!
//! ```
//! use ai_data_core::{env_enum, parse_env_enum, ErrorKind, Store};
//! use serde::Deserialize;
//!
//! #[derive(Debug, PartialEq, Deserialize)]
//! #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
//! enum SecurityProtocol { Plaintext, SaslPlaintext, SaslSsl, Ssl }
//!
//! #[derive(Debug, PartialEq, Deserialize)]
//! #[serde(rename_all = "lowercase")]
//! enum Acks {
//!     #[serde(alias = "-1")]
//!     All,
//!     #[serde(rename = "1", alias = "leader")]
//!     Leader,
//! }
//!
//! let p: SecurityProtocol = parse_env_enum(Store::Kafka, "SECURITY_PROTOCOL", "sasl-ssl")?;
//! assert_eq!(p, SecurityProtocol::SaslSsl);
//! assert_eq!(env_enum::parse::<Acks>("LEADER"), Ok(Acks::Leader));
//! assert_eq!(env_enum::parse::<Acks>("-1"), Ok(Acks::All));
//!
//! let err = parse_env_enum::<Acks>(Store::Kafka, "ACKS", "2").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Config);
//! assert!(err.message().starts_with("invalid value for AI_DATA_KAFKA_ACKS: unknown variant `2`"));
//! # Ok::<(), ai_data_core::Error>(())
//! ```
//!
//! In a `Deserialize` struct read by [`EnvSource::load`](crate::EnvSource::load)
//! (the error then names the variable as usual):
//!
//! ```
//! # use serde::Deserialize;
//! # #[derive(Debug, PartialEq, Deserialize)]
//! # #[serde(rename_all = "lowercase")]
//! # enum Compression { None, Gzip, Lz4 }
//! #[derive(Deserialize)]
//! struct KafkaExtras {
//!     #[serde(default, deserialize_with = "ai_data_core::env_enum::optional")]
//!     compression: Option<Compression>,
//! }
//! let env = ai_data_core::EnvSource::from_pairs([("AI_DATA_KAFKA_COMPRESSION", "LZ4")]);
//! let extras: KafkaExtras = env.load(ai_data_core::Store::Kafka)?;
//! assert_eq!(extras.compression, Some(Compression::Lz4));
//! # Ok::<(), ai_data_core::Error>(())
//! ```

use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer};

use crate::{Error, Result, Store};

/// Parse `text` as the enum `T` (see the [module docs](self) for the
/// matching rules); the error is serde's message.
pub fn parse<T: DeserializeOwned>(text: &str) -> std::result::Result<T, String> {
    let text = text.trim();
    let mut first_error = None;
    for candidate in [
        text.to_owned(),
        text.to_ascii_lowercase(),
        text.to_ascii_uppercase(),
    ] {
        match T::deserialize(EnumText(&candidate)) {
            Ok(value) => return Ok(value),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.map_or_else(String::new, |e| e.to_string()))
}

/// Parse the value of `store`'s variable `suffix` (`"ACKS"` for
/// `AI_DATA_KAFKA_ACKS`) as the enum `T`; a
/// [`Config`](crate::ErrorKind::Config) error naming the variable otherwise.
pub fn parse_env_enum<T: DeserializeOwned>(store: Store, suffix: &str, text: &str) -> Result<T> {
    parse(text).map_err(|why| {
        Error::config(format!("invalid value for {}: {why}", store.var(suffix))).with_store(store)
    })
}

/// `#[serde(default, deserialize_with = "ai_data_core::env_enum::optional")]`
/// for an `Option<Enum>` field: the matching rules of [`parse`].
pub fn optional<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Option::<String>::deserialize(deserializer)? {
        Some(text) => parse(&text).map(Some).map_err(de::Error::custom),
        None => Ok(None),
    }
}

/// A string that deserializes as an enum variant, matched to the variant
/// whose serde name differs from it only in case and `-` / `_`.
struct EnumText<'a>(&'a str);

fn same_name(variant: &str, text: &str) -> bool {
    let norm = |b: u8| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        }
    };
    variant.len() == text.len()
        && variant
            .bytes()
            .zip(text.bytes())
            .all(|(a, b)| norm(a) == norm(b))
}

impl<'de> Deserializer<'de> for EnumText<'_> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, ValueError> {
        visitor.visit_str(self.0)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> std::result::Result<V::Value, ValueError> {
        let text = variants
            .iter()
            .copied()
            .find(|v| same_name(v, self.0))
            .unwrap_or(self.0);
        let access: StrDeserializer<'_, ValueError> = text.into_deserializer();
        visitor.visit_enum(access)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnvSource, ErrorKind};

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "SCREAMING-KEBAB-CASE")]
    enum Mechanism {
        Plain,
        // serde does not split digits off a word (`SCRAM-SHA256`).
        #[serde(rename = "SCRAM-SHA-256")]
        ScramSha256,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Reset {
        #[serde(alias = "smallest", alias = "beginning")]
        Earliest,
        Latest,
    }

    #[test]
    fn variants_match_ignoring_case_and_dash_or_underscore() {
        for text in ["SCRAM-SHA-256", "scram_sha_256", " Scram-Sha_256 "] {
            assert_eq!(
                parse::<Mechanism>(text),
                Ok(Mechanism::ScramSha256),
                "{text}"
            );
        }
        assert_eq!(parse::<Mechanism>("plain"), Ok(Mechanism::Plain));
        assert_eq!(parse::<Reset>("SMALLEST"), Ok(Reset::Earliest));
        assert_eq!(parse::<Reset>("latest"), Ok(Reset::Latest));
    }

    #[test]
    fn an_unknown_value_names_the_variable_and_the_choices() {
        let err = parse_env_enum::<Mechanism>(Store::Kafka, "SASL_MECHANISM", "GSSAPI")
            .expect_err("unknown");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.store(), Some(Store::Kafka));
        let msg = err.message();
        assert!(
            msg.starts_with("invalid value for AI_DATA_KAFKA_SASL_MECHANISM: "),
            "{msg}"
        );
        assert!(
            msg.contains("PLAIN") && msg.contains("SCRAM-SHA-256"),
            "{msg}"
        );
    }

    #[test]
    fn optional_fields_parse_through_envsource_load_and_errors_name_the_variable() {
        #[derive(Deserialize)]
        struct Extras {
            #[serde(default, deserialize_with = "optional")]
            auto_offset_reset: Option<Reset>,
            #[serde(default, deserialize_with = "optional")]
            sasl_mechanism: Option<Mechanism>,
        }
        let env = EnvSource::from_pairs([("AI_DATA_KAFKA_AUTO_OFFSET_RESET", "Beginning")]);
        let extras: Extras = env.load(Store::Kafka).expect("loads");
        assert_eq!(extras.auto_offset_reset, Some(Reset::Earliest));
        assert_eq!(extras.sasl_mechanism, None);

        let env = EnvSource::from_pairs([("AI_DATA_KAFKA_SASL_MECHANISM", "kerberos")]);
        let err = env.load::<Extras>(Store::Kafka).err().expect("unknown");
        assert!(
            err.message().contains("AI_DATA_KAFKA_SASL_MECHANISM"),
            "{err}"
        );
    }
}
