//! [`ServerVersion`]: the server's version from `/v1/meta`, and the wire
//! details that depend on it.

use std::fmt;

use ai_data_vector::{Error, Result};

/// A Weaviate version, `major.minor.patch` (suffixes like `-rc.1` ignored).
///
/// ```
/// use ai_data_weaviate::ServerVersion;
///
/// let v = ServerVersion::parse("1.22.13")?;
/// assert_eq!(v, ServerVersion::new(1, 22, 13));
/// assert!(v.has_grpc_search() && v.has_grpc_vector_bytes());
/// assert!(!v.has_flat_index() && !v.has_complement_not_equal());
/// assert!(ServerVersion::parse("1.25.0-rc.1")?.has_flat_index());
/// # Ok::<(), ai_data_vector::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl ServerVersion {
    /// The version the platform deploys (seed: 1.22).
    pub const PLATFORM: ServerVersion = ServerVersion::new(1, 22, 13);

    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        ServerVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parse `1.22.13` (a missing patch is 0; a `-suffix` is ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let core = text.trim().split(['-', '+']).next().unwrap_or_default();
        let mut parts = core.split('.').map(str::parse::<u32>);
        let bad = || Error::invalid_input(format!("{text:?} is not a Weaviate version"));
        let major = parts.next().and_then(|p| p.ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.ok()).ok_or_else(bad)?;
        let patch = match parts.next() {
            None => 0,
            Some(p) => p.map_err(|_| bad())?,
        };
        Ok(ServerVersion::new(major, minor, patch))
    }

    const fn at_least(self, major: u32, minor: u32, patch: u32) -> bool {
        self.major > major
            || (self.major == major
                && (self.minor > minor || (self.minor == minor && self.patch >= patch)))
    }

    /// 1.22 or newer: the versions this backend supports.
    pub const fn is_supported(self) -> bool {
        self.at_least(1, 22, 0)
    }

    /// gRPC `weaviate.v1.Weaviate/Search` (1.22.0).
    pub const fn has_grpc_search(self) -> bool {
        self.at_least(1, 22, 0)
    }

    /// `NearVector.vector_bytes` (1.22.6; before, packed `repeated float vector = 1`).
    pub const fn has_grpc_vector_bytes(self) -> bool {
        self.at_least(1, 22, 6)
    }

    /// gRPC filter numbers are `double` (1.23; `float` in 1.22) and
    /// properties come back in `PropertiesResult.non_ref_props` (field 11).
    pub const fn has_grpc_123_api(self) -> bool {
        self.at_least(1, 23, 0)
    }

    /// The `flat` (exact) vector index (1.23).
    pub const fn has_flat_index(self) -> bool {
        self.at_least(1, 23, 0)
    }

    /// `NotEqual` is the complement of `Equal` over all objects, nulls and
    /// arrays included (1.24, weaviate#4122); before, it matched objects
    /// holding some value other than the operand.
    pub const fn has_complement_not_equal(self) -> bool {
        self.at_least(1, 24, 0)
    }

    /// Native `Not` and `ContainsNone` filter operators (1.33).
    pub const fn has_not_operator(self) -> bool {
        self.at_least(1, 33, 0)
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(
            ServerVersion::parse("1.22").ok(),
            Some(ServerVersion::new(1, 22, 0))
        );
        assert_eq!(
            ServerVersion::parse(" 1.40.0-dev+abc ").ok(),
            Some(ServerVersion::new(1, 40, 0))
        );
        assert!(ServerVersion::parse("one.two").is_err());
        assert!(ServerVersion::parse("1").is_err());
        assert!(ServerVersion::parse("1.22.x").is_err());
        assert!(ServerVersion::new(1, 22, 5) < ServerVersion::new(1, 22, 6));
        assert!(!ServerVersion::new(1, 22, 5).has_grpc_vector_bytes());
        assert!(ServerVersion::new(2, 0, 0).has_not_operator());
        assert!(!ServerVersion::new(1, 21, 9).has_grpc_search());
        assert_eq!(ServerVersion::PLATFORM.to_string(), "1.22.13");
    }
}
