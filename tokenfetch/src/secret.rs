//! [`Secret`]: a string that never prints.
//!
//! Client secrets, passwords, request data and tokens are held in a [`Secret`]. Its
//! `Debug` and `Display` print `[redacted]`; the only way to read the value is the
//! explicit [`Secret::expose`]. The memory is wiped on drop (through `secrecy`).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What every redacted value prints as.
pub(crate) const REDACTED: &str = "[redacted]";

/// A secret string: a token, a password, a client secret.
///
/// ```
/// use tokenfetch::Secret;
///
/// let secret = Secret::from("s3cret");
/// assert_eq!(format!("{secret:?}"), "[redacted]");
/// assert_eq!(secret.to_string(), "[redacted]");
/// assert_eq!(secret.expose(), "s3cret");
/// ```
///
/// It serializes to its clear value, so that a token store can persist it: keep
/// serialized tokens where you would keep the secret itself.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// Reads the clear value. Every read of a secret goes through this call, so that
    /// a search for `expose` finds them all.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::from)
    }
}
