//! [`TokenData`]: what a step fetches.
//!
//! A token is a secret: its `Debug` prints the token type, the expiry and the names
//! of the extra fields, never the access token, the refresh token or an extra value.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::secret::Secret;

/// The token type used when a response does not name one.
pub const DEFAULT_TOKEN_TYPE: &str = "Bearer";

/// A fetched token: the access token, its type and expiry, an optional refresh
/// token, and every other field of the response in [`extra`](TokenData::extra).
///
/// ```
/// use std::time::Duration;
/// use tokenfetch::TokenData;
///
/// let token = TokenData::new("abc123")
///     .with_expires_in(Duration::from_secs(3600))
///     .with_extra("scope", "read write");
/// assert_eq!(token.access_token().expose(), "abc123");
/// assert_eq!(token.token_type(), "Bearer");
/// assert!(!token.is_expired());
/// assert!(!format!("{token:?}").contains("abc123"));
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenData {
    access_token: Secret,
    token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    extra: Map<String, Value>,
}

impl TokenData {
    /// A `Bearer` token with no expiry, no refresh token and no extra fields.
    pub fn new(access_token: impl Into<Secret>) -> Self {
        TokenData {
            access_token: access_token.into(),
            token_type: DEFAULT_TOKEN_TYPE.to_owned(),
            expires_at: None,
            refresh_token: None,
            extra: Map::new(),
        }
    }

    /// Sets the token type (`Bearer`, `MAC`, a custom scheme...).
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = token_type.into();
        self
    }

    /// Sets the instant the token expires.
    pub fn with_expires_at(mut self, expires_at: DateTime<Utc>) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the expiry to `lifetime` from now. A lifetime too large to represent is
    /// clamped to ten years.
    pub fn with_expires_in(self, lifetime: Duration) -> Self {
        let lifetime = lifetime.min(MAX_LIFETIME);
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        self.with_expires_at(Utc::now() + lifetime)
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, refresh_token: impl Into<Secret>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// Adds a field to [`extra`](TokenData::extra).
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// The access token. Read it with [`Secret::expose`].
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The token type, `Bearer` unless the server or the step said otherwise.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// When the token expires, if the server or the step said.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// The time left before the token expires: `None` without an expiry, zero once
    /// expired.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_at
            .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
    }

    /// Whether the token has an expiry and it has passed.
    pub fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= Utc::now())
    }

    /// The refresh token, if the server sent one.
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// Every field of the token response that is not one of the above: `scope`,
    /// `id_token`, a session id... Values may be secret: they are never printed.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The `issued_token_type` of a token exchange's answer (RFC 8693 §2.2.1), such
    /// as `urn:ietf:params:oauth:token-type:access_token`, if the server sent one.
    pub fn issued_token_type(&self) -> Option<&str> {
        self.extra.get("issued_token_type").and_then(Value::as_str)
    }

    /// Replaces the refresh token when a refresh response carried none, so that a
    /// refresh token that was not rotated stays usable.
    pub(crate) fn keep_refresh_token(&mut self, previous: &TokenData) {
        if self.refresh_token.is_none() {
            self.refresh_token = previous.refresh_token.clone();
        }
    }
}

/// The longest lifetime a token may claim; longer ones are clamped to it.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// An instant a server sent as a number since 1970: seconds, or, when the number
/// is too large for seconds (from 10¹¹, past the year 5000), milliseconds,
/// microseconds or nanoseconds, as some servers send; clamped to now plus
/// [`MAX_LIFETIME`] and to 1970. `None` for a number that is not finite.
pub(crate) fn epoch_instant(number: f64) -> Option<DateTime<Utc>> {
    if !number.is_finite() {
        return None;
    }
    let mut seconds = number;
    for _ in 0..3 {
        if seconds >= 1e11 {
            seconds /= 1000.0;
        }
    }
    let latest = (Utc::now() + MAX_LIFETIME).timestamp() as f64;
    DateTime::from_timestamp(seconds.clamp(0.0, latest) as i64, 0)
}

impl fmt::Debug for TokenData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra: Vec<&str> = self.extra.keys().map(String::as_str).collect();
        f.debug_struct("TokenData")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("extra", &extra)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret() {
        let token = TokenData::new("tok-MARK")
            .with_refresh_token("ref-MARK")
            .with_extra("id_token", "id-MARK");
        let debug = format!("{token:?}");
        assert!(!debug.contains("MARK"), "{debug}");
        assert!(debug.contains("id_token"));
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn serde_round_trip_keeps_every_field() {
        let token = TokenData::new("a")
            .with_token_type("MAC")
            .with_expires_in(Duration::from_secs(60))
            .with_refresh_token("r")
            .with_extra("scope", "read");
        let json = serde_json::to_string(&token).unwrap();
        let back: TokenData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, token);
    }

    #[test]
    fn absurd_lifetime_is_clamped() {
        let token = TokenData::new("a").with_expires_in(Duration::MAX);
        assert!(token.expires_in().unwrap() <= MAX_LIFETIME);
        assert!(token.expires_in().unwrap() > MAX_LIFETIME - Duration::from_secs(60));
    }

    #[test]
    fn refresh_token_is_kept_when_not_rotated() {
        let old = TokenData::new("a").with_refresh_token("r1");
        let mut fresh = TokenData::new("b");
        fresh.keep_refresh_token(&old);
        assert_eq!(fresh.refresh_token().unwrap().expose(), "r1");
        let mut rotated = TokenData::new("c").with_refresh_token("r2");
        rotated.keep_refresh_token(&old);
        assert_eq!(rotated.refresh_token().unwrap().expose(), "r2");
    }
}
