//! [`SignedJwtFetcher`]: a step whose token is made here, without HTTP: a JWT
//! signed by a key, such as the app JWT a GitHub App trades for an installation
//! token.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use url::Url;

use crate::model::{Error, Result, TokenData};
use crate::oauth::{SigningKey, seconds, unique_id};
use crate::step::{BoxFuture, Context, StepIdentity, TokenFetcher};

/// A step that signs its own token: a JWT with `iat` (moved back by
/// [`backdate`](SignedJwtFetcher::backdate), for clocks that run ahead), `exp`
/// [`lifetime`](SignedJwtFetcher::lifetime) ahead (5 minutes by default), and
/// the `iss`, `sub`, `aud` and other claims set. The token expires at its `exp`,
/// so an engine signs a new one shortly before.
///
/// The GitHub App pattern: an app JWT (`iss` = the app id, `iat` a minute back,
/// `exp` at most ten minutes ahead) injected as `Authorization: Bearer` into the
/// step that asks for an installation token.
///
/// ```
/// use std::time::Duration;
/// use tokenfetch::{BodyTokenFetcher, Injection, SignedJwtFetcher, SigningAlgorithm, SigningKey};
///
/// # let pem = include_str!("../../../tests/keys/rsa.pem");
/// let key = SigningKey::from_pem(SigningAlgorithm::RS256, pem)?;
/// let app = SignedJwtFetcher::new("github_app", key)
///     .issuer("123456")
///     .backdate(Duration::from_secs(60))
///     .lifetime(Duration::from_secs(9 * 60));
/// let installation = BodyTokenFetcher::builder("installation")
///     .endpoint("https://api.github.com/app/installations/42/access_tokens")
///     .depends_on("github_app")
///     .inject(Injection::header("github_app", "Authorization").format("Bearer {token}"))
///     .token_field("token")
///     .build()?;
/// # let _ = (app, installation);
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[derive(Clone)]
pub struct SignedJwtFetcher {
    name: String,
    key: SigningKey,
    lifetime: Duration,
    backdate: Duration,
    jti: bool,
    claims: Map<String, Value>,
}

impl SignedJwtFetcher {
    /// A step named `name` signing with `key`.
    pub fn new(name: impl Into<String>, key: SigningKey) -> Self {
        SignedJwtFetcher {
            name: name.into(),
            key,
            lifetime: Duration::from_secs(5 * 60),
            backdate: Duration::ZERO,
            jti: false,
            claims: Map::new(),
        }
    }

    /// Sets `iss`.
    pub fn issuer(self, issuer: impl Into<String>) -> Self {
        self.claim("iss", issuer.into())
    }

    /// Sets `sub`.
    pub fn subject(self, subject: impl Into<String>) -> Self {
        self.claim("sub", subject.into())
    }

    /// Sets `aud`.
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.claim("aud", audience.into())
    }

    /// How far ahead of now `exp` is (default 5 minutes).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How far back from now `iat` is (default none).
    pub fn backdate(mut self, backdate: Duration) -> Self {
        self.backdate = backdate;
        self
    }

    /// Adds a `jti` unique to each token.
    pub fn unique_id(mut self) -> Self {
        self.jti = true;
        self
    }

    /// Sets a claim; `iat` and `exp` are the step's own.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    fn sign(&self) -> Result<TokenData> {
        let now = Utc::now().timestamp();
        let expires = now + seconds(self.lifetime);
        let mut claims = self.claims.clone();
        claims.insert("iat".into(), (now - seconds(self.backdate)).into());
        claims.insert("exp".into(), expires.into());
        if self.jti {
            claims.insert("jti".into(), unique_id().into());
        }
        let token = self.key.sign(&claims)?;
        let expires_at = DateTime::from_timestamp(expires, 0)
            .ok_or_else(|| Error::config("the JWT's lifetime is too long"))?;
        Ok(TokenData::new(token).with_expires_at(expires_at))
    }
}

/// Shows the claims' names, not their values, which may be secret.
impl fmt::Debug for SignedJwtFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedJwtFetcher")
            .field("name", &self.name)
            .field("key", &self.key)
            .field("lifetime", &self.lifetime)
            .field("backdate", &self.backdate)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TokenFetcher for SignedJwtFetcher {
    fn name(&self) -> &str {
        &self.name
    }

    fn identify(&self, identity: &mut StepIdentity) {
        identity
            .field("step", &self.name)
            .field("signed_jwt_key", self.key.fingerprint())
            .field("lifetime_ms", self.lifetime.as_millis().to_le_bytes())
            .field("backdate_ms", self.backdate.as_millis().to_le_bytes())
            .field("jti", [u8::from(self.jti)]);
        for (name, value) in &self.claims {
            identity.field("claim", name).add(value.to_string());
        }
    }

    /// A lifetime of zero makes tokens that are expired when made.
    fn validate(&self, _base_url: Option<&Url>) -> Result<()> {
        if self.lifetime.is_zero() {
            return Err(Error::config(format!(
                "step `{}` signs JWTs with a lifetime of zero; set `lifetime` to how long a token may be used",
                self.name
            )));
        }
        Ok(())
    }

    fn fetch<'a>(&'a self, _context: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
        Box::pin(async move { self.sign().map_err(|error| error.with_step(&self.name)) })
    }
}
