//! [`Secret`]: a string that never prints.
//!
//! Client secrets, passwords, request data and tokens are held in a [`Secret`]. Its
//! `Debug` prints `[redacted]` and it cannot be formatted with `{}` at all, so that
//! `format!("Bearer {}", token)` does not compile (the error says to call
//! `.expose()`) instead of silently sending `Bearer [redacted]`; the only way to read the value is the explicit
//! [`Secret::expose`]. Two secrets compare in constant time, and the memory is
//! wiped on drop (through `secrecy`).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

use super::redact::REDACTED;

/// A secret string: a token, a password, a client secret.
///
/// ```
/// use tokenfetch::Secret;
///
/// let secret = Secret::from("s3cret");
/// assert_eq!(format!("{secret:?}"), "[redacted]");
/// assert_eq!(secret.expose(), "s3cret");
/// ```
///
/// A `Secret` cannot be formatted with `{}`: to put one in a header or a URL, say
/// so with [`expose`](Secret::expose).
///
/// ```compile_fail
/// let token = tokenfetch::Secret::from("abc");
/// let header = format!("Bearer {}", token); // error: call `.expose()` on this secret
/// ```
///
/// ```
/// # let token = tokenfetch::Secret::from("abc");
/// let header = format!("Bearer {}", token.expose());
/// # assert_eq!(header, "Bearer abc");
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

/// Compares in constant time for values of the same length, so that the time a
/// comparison takes tells nothing about where two secrets differ.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose()
            .as_bytes()
            .ct_eq(other.expose().as_bytes())
            .into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// What stands in for `Display` on [`Secret`]: no type implements it (none can:
/// it is only implementable here), so `format!("{}", secret)` fails to compile, with
/// a message that says to call [`Secret::expose`].
#[diagnostic::on_unimplemented(
    message = "a `Secret` never prints its value: `{{}}` would send `[redacted]`, not the secret",
    label = "call `.expose()` on this secret",
    note = "to send the clear value on purpose, write `format!(\"Bearer {{}}\", token.expose())`"
)]
pub trait SecretHasNoDisplay {}

/// Never usable: its bound holds for no type, so any use of it is a compile error
/// pointing to [`Secret::expose`] (a plain missing `Display` would suggest `{:?}`,
/// which prints `[redacted]`).
impl fmt::Display for Secret
where
    for<'a> &'a Secret: SecretHasNoDisplay,
{
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_compares_the_whole_value() {
        assert_eq!(Secret::from("s3cret"), Secret::from("s3cret"));
        assert_ne!(Secret::from("s3cret"), Secret::from("s3creT"));
        assert_ne!(Secret::from("s3cret"), Secret::from("s3cre"));
        assert_ne!(Secret::from(""), Secret::from("x"));
        assert_eq!(Secret::from(""), Secret::from(""));
    }
}
