//! [`Grant`]: the standard OAuth 2.0 grants as typed values, lowered into what a
//! step's request template holds (`grant_type`, scopes, the grant's parameters,
//! injections from the steps whose tokens it carries) and what is made at send
//! time (a JWT bearer assertion signed anew for each request).

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::device::DeviceFlow;
use super::injection::{Injection, TokenPart};
use crate::model::{Error, Result, Secret};
use crate::oauth::SigningKey;
use crate::step::StepIdentity;

/// The token types of RFC 8693 §3, for [`TokenExchange`].
pub mod token_type {
    /// An OAuth 2.0 access token.
    pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    /// An OAuth 2.0 refresh token.
    pub const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
    /// An OpenID Connect ID token.
    pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
    /// A JWT.
    pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
    /// A base64url-encoded SAML 1.1 assertion.
    pub const SAML1: &str = "urn:ietf:params:oauth:token-type:saml1";
    /// A base64url-encoded SAML 2.0 assertion.
    pub const SAML2: &str = "urn:ietf:params:oauth:token-type:saml2";
}

/// The `grant_type` of the JWT bearer grant (RFC 7523 §2.1).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The `grant_type` of token exchange (RFC 8693 §2.1).
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The `grant_type` of the device flow's token request (RFC 8628 §3.4).
pub(crate) const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A standard OAuth 2.0 grant, for
/// [`FetcherBuilder::grant`](crate::FetcherBuilder::grant): the request's
/// `grant_type` and parameters, typed. Client authentication is the step's
/// [`ClientAuth`](crate::ClientAuth).
///
/// | Grant | Specification | Parameters |
/// |---|---|---|
/// | [`client_credentials`](Grant::client_credentials) | RFC 6749 §4.4 | `scope` |
/// | [`password`](Grant::password) | RFC 6749 §4.3 | `username`, `password`, `scope` |
/// | [`refresh_token`](Grant::refresh_token) | RFC 6749 §6 | `refresh_token`, `scope` |
/// | [`jwt_bearer`](Grant::jwt_bearer) | RFC 7523 §2.1 | `assertion`, `scope` |
/// | [`token_exchange`](Grant::token_exchange) | RFC 8693 §2.1 | `subject_token`, `actor_token`, their types, `audience`, `resource`, `requested_token_type`, `scope` |
/// | [`device_code`](Grant::device_code) | RFC 8628 §3 | `device_code`, after the device authorization request |
///
/// Scopes are a list, joined with spaces as RFC 6749 §3.3 says; each is checked
/// to be a scope token when the step is built.
///
/// ```
/// use tokenfetch::{BodyTokenFetcher, ClientAuth, Grant, TokenExchange, token_type};
///
/// let api = BodyTokenFetcher::builder("api_token")
///     .endpoint("https://sts.example.com/token")
///     .client_auth(ClientAuth::basic("gateway", "secret"))
///     .grant(
///         Grant::token_exchange(
///             TokenExchange::subject("id_token_step", token_type::ID_TOKEN).audience("orders-api"),
///         )
///         .scopes(["orders:read"]),
///     )
///     .build()?;
/// assert_eq!(tokenfetch::TokenFetcher::depends_on(&api), ["id_token_step"]);
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Grant {
    kind: Kind,
    scopes: Vec<String>,
}

#[derive(Clone, Debug)]
enum Kind {
    ClientCredentials,
    Password { username: String, password: Secret },
    RefreshToken(Secret),
    JwtBearer(JwtBearer),
    TokenExchange(TokenExchange),
    DeviceCode(DeviceFlow),
}

impl Grant {
    /// The client credentials grant (RFC 6749 §4.4).
    pub fn client_credentials() -> Self {
        Grant::new(Kind::ClientCredentials)
    }

    /// The resource owner password credentials grant (RFC 6749 §4.3).
    pub fn password(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Grant::new(Kind::Password {
            username: username.into(),
            password: password.into(),
        })
    }

    /// The refresh token grant (RFC 6749 §6) from a refresh token the step is
    /// given: for a long-lived refresh token kept in configuration. The tokens it
    /// gets are renewed with the refresh token the server sends back, if any.
    pub fn refresh_token(refresh_token: impl Into<Secret>) -> Self {
        Grant::new(Kind::RefreshToken(refresh_token.into()))
    }

    /// The JWT bearer grant (RFC 7523 §2.1).
    pub fn jwt_bearer(assertion: JwtBearer) -> Self {
        Grant::new(Kind::JwtBearer(assertion))
    }

    /// Token exchange (RFC 8693): a dependency's token exchanged for another.
    pub fn token_exchange(exchange: TokenExchange) -> Self {
        Grant::new(Kind::TokenExchange(exchange))
    }

    /// The device authorization grant (RFC 8628).
    pub fn device_code(flow: DeviceFlow) -> Self {
        Grant::new(Kind::DeviceCode(flow))
    }

    fn new(kind: Kind) -> Self {
        Grant {
            kind,
            scopes: Vec::new(),
        }
    }

    /// Adds a scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Adds scopes.
    pub fn scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Whether this is the refresh token grant.
    pub(crate) fn is_refresh_token(&self) -> bool {
        matches!(self.kind, Kind::RefreshToken(_))
    }

    /// The device flow, if this is the device grant.
    pub(crate) fn device_flow(&self) -> Option<&DeviceFlow> {
        match &self.kind {
            Kind::DeviceCode(flow) => Some(flow),
            _ => None,
        }
    }

    /// What the grant puts in the request template: body fields (replacing any the
    /// builder set under the same single-valued name), the steps it needs, and
    /// their injections. `step` names the step for errors.
    pub(crate) fn lower(&self, step: &str) -> Result<LoweredGrant> {
        let mut lowered = LoweredGrant::default();
        let grant_type = match &self.kind {
            Kind::ClientCredentials => "client_credentials",
            Kind::Password { username, password } => {
                lowered.set("username", username.as_str());
                lowered.set("password", password.clone());
                "password"
            }
            Kind::RefreshToken(token) => {
                lowered.set("refresh_token", token.clone());
                "refresh_token"
            }
            Kind::JwtBearer(bearer) => {
                match &bearer.0 {
                    Assertion::FromStep { step, part } => {
                        lowered.needs(step);
                        lowered
                            .injections
                            .push(Injection::field(step.clone(), "assertion").part(part.clone()));
                    }
                    Assertion::Signed(signed) => lowered.signed_assertion = Some(signed.clone()),
                }
                JWT_BEARER
            }
            Kind::TokenExchange(exchange) => {
                exchange.lower(&mut lowered);
                TOKEN_EXCHANGE
            }
            Kind::DeviceCode(_) => DEVICE_CODE,
        };
        // `grant_type` first, as every example of the RFCs writes it.
        lowered
            .data
            .insert(0, ("grant_type".to_owned(), Secret::new(grant_type), true));
        if !self.scopes.is_empty() {
            for scope in &self.scopes {
                check_scope(scope).map_err(|error| error.with_step(step))?;
            }
            lowered.set("scope", self.scopes.join(" "));
        }
        Ok(lowered)
    }
}

/// A scope token of RFC 6749 §3.3: `1*( %x21 / %x23-5B / %x5D-7E )`.
fn check_scope(scope: &str) -> Result<()> {
    let valid = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    if scope.is_empty() || !scope.bytes().all(valid) {
        return Err(Error::config(format!(
            "`{}` is not a scope: RFC 6749 §3.3 allows visible ASCII except `\"` and `\\`, with no spaces; give each scope separately",
            scope.escape_debug()
        )));
    }
    Ok(())
}

/// A grant, as the request template holds it.
#[derive(Debug, Default)]
pub(crate) struct LoweredGrant {
    /// Body fields; single-valued ones replace the builder's of the same name.
    pub(crate) data: Vec<(String, Secret, bool)>,
    pub(crate) depends_on: Vec<String>,
    pub(crate) injections: Vec<Injection>,
    pub(crate) signed_assertion: Option<SignedAssertion>,
    pub(crate) requested_token_type: Option<String>,
}

impl LoweredGrant {
    fn set(&mut self, key: &str, value: impl Into<Secret>) {
        self.data.push((key.to_owned(), value.into(), true));
    }

    fn add(&mut self, key: &str, value: impl Into<Secret>) {
        self.data.push((key.to_owned(), value.into(), false));
    }

    fn needs(&mut self, step: &str) {
        if !self.depends_on.iter().any(|known| known == step) {
            self.depends_on.push(step.to_owned());
        }
    }
}

/// The assertion of a [`Grant::jwt_bearer`]: signed here from a key, or the token
/// of a dependency step.
///
/// ```
/// use tokenfetch::{JwtBearer, SigningKey};
///
/// let from_step = JwtBearer::from_step("workload_identity");
/// let signed = JwtBearer::signed(SigningKey::hmac("k"), "my-service", "user@example.com")
///     .claim("tenant", "acme");
/// # let _ = (from_step, signed);
/// ```
#[derive(Clone, Debug)]
pub struct JwtBearer(Assertion);

#[derive(Clone, Debug)]
enum Assertion {
    Signed(SignedAssertion),
    FromStep { step: String, part: TokenPart },
}

/// An assertion signed here for each request (RFC 7523 §3).
#[derive(Clone)]
pub(crate) struct SignedAssertion {
    pub(crate) key: SigningKey,
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) audience: Option<String>,
    pub(crate) lifetime: Duration,
    pub(crate) claims: Map<String, Value>,
}

impl fmt::Debug for SignedAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedAssertion")
            .field("key", &self.key)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SignedAssertion {
    pub(crate) fn identify(&self, identity: &mut StepIdentity) {
        identity
            .field("assertion_key", self.key.fingerprint())
            .field("assertion_issuer", &self.issuer)
            .field("assertion_subject", &self.subject)
            .field(
                "assertion_lifetime_ms",
                self.lifetime.as_millis().to_le_bytes(),
            );
        if let Some(audience) = &self.audience {
            identity.field("assertion_audience", audience);
        }
        for (key, value) in &self.claims {
            identity
                .field("assertion_claim", key)
                .add(value.to_string());
        }
    }
}

impl JwtBearer {
    /// An assertion signed by `key` for each request: `iss` = `issuer`, `sub` =
    /// `subject`, `aud` = the token endpoint (or [`audience`](JwtBearer::audience)),
    /// `iat`, `exp` five minutes ahead (or [`lifetime`](JwtBearer::lifetime)), a
    /// unique `jti`.
    pub fn signed(key: SigningKey, issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        JwtBearer(Assertion::Signed(SignedAssertion {
            key,
            issuer: issuer.into(),
            subject: subject.into(),
            audience: None,
            lifetime: Duration::from_secs(5 * 60),
            claims: Map::new(),
        }))
    }

    /// The access token of dependency step `step` as the assertion (say, a
    /// workload identity token); the step is added to `depends_on`.
    pub fn from_step(step: impl Into<String>) -> Self {
        JwtBearer(Assertion::FromStep {
            step: step.into(),
            part: TokenPart::AccessToken,
        })
    }

    /// Which part of the dependency's token is the assertion (for
    /// [`from_step`](JwtBearer::from_step)): say, `TokenPart::Extra("id_token")`.
    pub fn part(mut self, part: TokenPart) -> Self {
        if let Assertion::FromStep { part: slot, .. } = &mut self.0 {
            *slot = part;
        }
        self
    }

    /// The `aud` of a signed assertion, instead of the token endpoint.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        if let Assertion::Signed(signed) = &mut self.0 {
            signed.audience = Some(audience.into());
        }
        self
    }

    /// How far ahead a signed assertion's `exp` is (default five minutes).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        if let Assertion::Signed(signed) = &mut self.0 {
            signed.lifetime = lifetime;
        }
        self
    }

    /// Adds a claim to a signed assertion.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        if let Assertion::Signed(signed) = &mut self.0 {
            signed.claims.insert(name.into(), value.into());
        }
        self
    }
}

/// A token exchange (RFC 8693 §2.1): the token of a dependency step (the subject,
/// and optionally an actor) exchanged for a token for `audience` or `resource`.
/// The steps named are added to `depends_on`; the response's `issued_token_type`
/// is kept on the token ([`TokenData::issued_token_type`](crate::TokenData::issued_token_type))
/// and, when a [`requested_token_type`](TokenExchange::requested_token_type) is
/// set and the server names the type it issued, must be that type.
#[derive(Clone, Debug)]
pub struct TokenExchange {
    subject: ExchangedToken,
    actor: Option<ExchangedToken>,
    audience: Vec<String>,
    resource: Vec<String>,
    requested_token_type: Option<String>,
}

#[derive(Clone, Debug)]
struct ExchangedToken {
    step: String,
    token_type: String,
    part: TokenPart,
}

impl TokenExchange {
    /// Exchanges the token of step `step`, of type `token_type` (one of
    /// [`token_type`](crate::token_type)). An ID token is read from the step's
    /// `id_token` field; any other type from its access token (change it with
    /// [`subject_part`](TokenExchange::subject_part)).
    pub fn subject(step: impl Into<String>, token_type: impl Into<String>) -> Self {
        TokenExchange {
            subject: ExchangedToken::new(step.into(), token_type.into()),
            actor: None,
            audience: Vec::new(),
            resource: Vec::new(),
            requested_token_type: None,
        }
    }

    /// Which part of the subject step's token is sent.
    pub fn subject_part(mut self, part: TokenPart) -> Self {
        self.subject.part = part;
        self
    }

    /// The acting party: the token of step `step`, of type `token_type`.
    pub fn actor(mut self, step: impl Into<String>, token_type: impl Into<String>) -> Self {
        self.actor = Some(ExchangedToken::new(step.into(), token_type.into()));
        self
    }

    /// Adds an `audience`: the logical name of the service the token is for.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// Adds a `resource`: the URI of the service the token is for.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource.push(resource.into());
        self
    }

    /// The type of token asked for; the server's `issued_token_type` must match.
    pub fn requested_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.requested_token_type = Some(token_type.into());
        self
    }

    fn lower(&self, lowered: &mut LoweredGrant) {
        for (token, prefix) in std::iter::once((&self.subject, "subject"))
            .chain(self.actor.iter().map(|actor| (actor, "actor")))
        {
            lowered.needs(&token.step);
            lowered.injections.push(
                Injection::field(token.step.clone(), format!("{prefix}_token"))
                    .part(token.part.clone()),
            );
            lowered.set(&format!("{prefix}_token_type"), token.token_type.as_str());
        }
        for audience in &self.audience {
            lowered.add("audience", audience.as_str());
        }
        for resource in &self.resource {
            lowered.add("resource", resource.as_str());
        }
        if let Some(requested) = &self.requested_token_type {
            lowered.set("requested_token_type", requested.as_str());
            lowered.requested_token_type = Some(requested.clone());
        }
    }
}

impl ExchangedToken {
    fn new(step: String, token_type: String) -> Self {
        let part = if token_type == token_type::ID_TOKEN {
            TokenPart::Extra("id_token".to_owned())
        } else {
            TokenPart::AccessToken
        };
        ExchangedToken {
            step,
            token_type,
            part,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_and_joined() {
        let lowered = Grant::client_credentials()
            .scopes(["read", "write:all"])
            .lower("s")
            .unwrap();
        let scope = lowered.data.iter().find(|(k, ..)| k == "scope").unwrap();
        assert_eq!(scope.1.expose(), "read write:all");
        for bad in ["", "read write", "say\"hi", "back\\slash", "é"] {
            let error = Grant::client_credentials()
                .scope(bad)
                .lower("s")
                .unwrap_err();
            assert!(error.to_string().contains("RFC 6749 §3.3"), "{error}");
        }
    }
}
