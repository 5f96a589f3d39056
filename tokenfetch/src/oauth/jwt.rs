//! JSON Web Tokens made here: the [`SigningKey`] a step signs with, the claims of
//! an RFC 7523 assertion, and reading the `exp` claim of a token the server made
//! (for timing only, never trusted for anything else).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::{Error, Result, Secret};

/// A JWS algorithm tokenfetch signs with (RFC 7518 §3, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// HMAC with SHA-256, keyed by a shared secret (`client_secret_jwt`).
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// The algorithm's name in a JWS header: `RS256`, `EdDSA`...
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::HS256 => "HS256",
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::PS256 => "PS256",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::EdDSA => "EdDSA",
        }
    }

    fn jws(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlgorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            SigningAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlgorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            SigningAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    /// What kind of PEM key the algorithm signs with, for messages.
    fn key_kind(self) -> &'static str {
        match self {
            SigningAlgorithm::HS256 => "a shared secret",
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => {
                "an RSA private key (PKCS#1 `BEGIN RSA PRIVATE KEY` or PKCS#8 `BEGIN PRIVATE KEY`)"
            }
            SigningAlgorithm::ES256 => "an EC P-256 private key in PKCS#8 (`BEGIN PRIVATE KEY`)",
            SigningAlgorithm::EdDSA => "an Ed25519 private key in PKCS#8 (`BEGIN PRIVATE KEY`)",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names [`SigningAlgorithm::from_str`] accepts, for messages.
pub(crate) const ALGORITHM_NAMES: &str = "HS256, RS256, PS256, ES256, EdDSA";

impl FromStr for SigningAlgorithm {
    type Err = Error;

    /// Parses a JWS algorithm name, exactly as RFC 7518 spells it.
    fn from_str(name: &str) -> Result<Self> {
        Ok(match name {
            "HS256" => SigningAlgorithm::HS256,
            "RS256" => SigningAlgorithm::RS256,
            "PS256" => SigningAlgorithm::PS256,
            "ES256" => SigningAlgorithm::ES256,
            "EdDSA" => SigningAlgorithm::EdDSA,
            other => {
                return Err(Error::config(format!(
                    "unsupported signing algorithm `{}`; expected one of {ALGORITHM_NAMES}",
                    other.escape_debug()
                )));
            }
        })
    }
}

/// A key that signs JWTs: a private key read from PEM (`private_key_jwt`, the JWT
/// bearer grant, a [`SignedJwtFetcher`](crate::SignedJwtFetcher)) or a shared
/// secret (`client_secret_jwt`), with an optional key id (`kid`) for the JWS
/// header. The key is checked when it is made: a PEM that does not parse, or that
/// holds a key the algorithm cannot sign with, is an error then, not at the first
/// fetch. Its `Debug` shows the algorithm and the key id, never the key.
///
/// ```
/// use tokenfetch::{SigningAlgorithm, SigningKey};
///
/// let error = SigningKey::from_pem(SigningAlgorithm::RS256, "not a key").unwrap_err();
/// assert!(error.to_string().contains("RSA private key"));
///
/// let key = SigningKey::hmac("shared-secret").with_kid("2026-11");
/// assert_eq!(key.algorithm(), SigningAlgorithm::HS256);
/// assert!(!format!("{key:?}").contains("shared-secret"));
/// ```
#[derive(Clone)]
pub struct SigningKey {
    algorithm: SigningAlgorithm,
    key: EncodingKey,
    kid: Option<String>,
    /// A digest of the key material: what a step's identity holds of its key.
    fingerprint: [u8; 32],
}

impl SigningKey {
    /// A private key in PEM for `algorithm`: RSA for `RS256` / `PS256`, EC P-256
    /// for `ES256`, Ed25519 for `EdDSA`.
    pub fn from_pem(algorithm: SigningAlgorithm, pem: impl AsRef<[u8]>) -> Result<Self> {
        let pem = pem.as_ref();
        let parsed = match algorithm {
            SigningAlgorithm::HS256 => {
                return Err(Error::config(
                    "HS256 signs with a shared secret, not a PEM key; use `SigningKey::hmac(secret)`",
                ));
            }
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => EncodingKey::from_rsa_pem(pem),
            SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(pem),
            SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(pem),
        };
        let key = parsed.map_err(|_| {
            Error::config(format!(
                "the private key for {algorithm} does not parse: {algorithm} needs {}",
                algorithm.key_kind()
            ))
        })?;
        let key = SigningKey {
            algorithm,
            key,
            kid: None,
            fingerprint: Sha256::digest(pem).into(),
        };
        // A key of the right family can still be the wrong size or curve (a P-384
        // key for ES256): signing once tells, now rather than at the first fetch.
        key.sign(&Map::new()).map_err(|_| {
            Error::config(format!(
                "the private key cannot sign with {algorithm}: {algorithm} needs {}",
                algorithm.key_kind()
            ))
        })?;
        Ok(key)
    }

    /// A shared secret for `HS256`, as `client_secret_jwt` uses the client
    /// secret.
    pub fn hmac(secret: impl Into<Secret>) -> Self {
        let secret = secret.into();
        SigningKey {
            algorithm: SigningAlgorithm::HS256,
            key: EncodingKey::from_secret(secret.expose().as_bytes()),
            kid: None,
            fingerprint: Sha256::digest(secret.expose().as_bytes()).into(),
        }
    }

    /// Sets the key id put in the JWS header (`kid`), for servers that hold several
    /// keys of one client.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm the key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The key id, if one was set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// A digest of the key material and the key id: what a step's identity holds.
    pub(crate) fn fingerprint(&self) -> impl AsRef<[u8]> + use<> {
        let mut digest = Sha256::new();
        digest.update(self.fingerprint);
        digest.update(self.algorithm.as_str());
        if let Some(kid) = &self.kid {
            digest.update(kid);
        }
        <[u8; 32]>::from(digest.finalize())
    }

    /// Signs `claims` into a compact JWS.
    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> Result<Secret> {
        let mut header = Header::new(self.algorithm.jws());
        header.kid.clone_from(&self.kid);
        jsonwebtoken::encode(&header, claims, &self.key)
            .map(Secret::new)
            .map_err(|error| {
                Error::config(format!("signing a {} JWT failed", self.algorithm)).with_source(error)
            })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("key", &format_args!("{}", crate::model::REDACTED))
            .finish()
    }
}

/// The claims of an RFC 7523 assertion (§3): `extra`, then `iss`, `sub`, `aud`,
/// `iat`, `exp` a `lifetime` ahead and a `jti` never used before, which `extra`
/// cannot replace.
pub(crate) fn assertion_claims(
    issuer: &str,
    subject: &str,
    audience: &str,
    lifetime: Duration,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let now = Utc::now().timestamp();
    // The extra claims first: the reserved ones below are never overwritten.
    let mut claims = extra.clone();
    claims.insert("iss".into(), issuer.into());
    claims.insert("sub".into(), subject.into());
    claims.insert("aud".into(), audience.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + seconds(lifetime)).into());
    claims.insert("jti".into(), unique_id().into());
    claims
}

/// A duration in whole seconds, rounded up, as a JWT's numeric dates count.
pub(crate) fn seconds(duration: Duration) -> i64 {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i64::try_from(whole).unwrap_or(i64::MAX / 2)
}

/// A 128-bit identifier from the operating system's random source, in hex: a
/// `jti` no two assertions share and nobody can predict.
pub(crate) fn unique_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source answers");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The `exp` claim of `token` if it is a JWT with a numeric `exp`: read without
/// checking the signature, and used only to know when to renew the token.
pub(crate) fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    if payload.len() > 64 * 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    crate::model::epoch_instant(claims.get("exp")?.as_f64()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn expiry_is_read_from_a_jwt_only() {
        let at = jwt_expiry(&jwt(r#"{"exp":1900000000}"#)).unwrap();
        assert_eq!(at.timestamp(), 1_900_000_000);
        // A non-standard `exp` in milliseconds is not read as the year 60,000.
        let at = jwt_expiry(&jwt(r#"{"exp":1900000000000}"#)).unwrap();
        assert_eq!(at.timestamp(), 1_900_000_000);
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry(&jwt(r#"{"exp":"soon"}"#)), None);
        assert_eq!(jwt_expiry(&jwt("[1]")), None);
        assert_eq!(jwt_expiry("a.!!!.c"), None);
        assert_eq!(jwt_expiry(&format!("{}.more", jwt("{}"))), None);
    }

    #[test]
    fn algorithms_parse_by_their_jws_names_only() {
        assert_eq!(
            "EdDSA".parse::<SigningAlgorithm>().unwrap(),
            SigningAlgorithm::EdDSA
        );
        let error = "rs256".parse::<SigningAlgorithm>().unwrap_err();
        assert!(error.to_string().contains("RS256, PS256"), "{error}");
    }

    #[test]
    fn identifiers_do_not_repeat() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| unique_id()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
