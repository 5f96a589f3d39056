//! [`ClientAuth`]: how a step authenticates its client to the token endpoint
//! (RFC 6749 §2.3, RFC 7523 §2.2, OpenID Connect Core §9), turned into what a
//! request carries: a header, body fields, or both.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderValue;
use serde_json::Map;
use url::Url;

use super::jwt::{SigningKey, assertion_claims};
use crate::model::{Error, Result, Secret};
use crate::step::StepIdentity;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is valid: a few minutes, as RFC 7523 §3 advises.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// How a step's client authenticates to the token endpoint: one typed option per
/// step, applied to every request the step sends (the refresh grant included).
///
/// | Constructor | `token_endpoint_auth_method` | What the request carries |
/// |---|---|---|
/// | [`none`](ClientAuth::none) | `none` | `client_id` in the body |
/// | [`post`](ClientAuth::post) | `client_secret_post` | `client_id` and `client_secret` in the body |
/// | [`basic`](ClientAuth::basic) | `client_secret_basic` | `Authorization: Basic`, id and secret form-urlencoded first (RFC 6749 §2.3.1) |
/// | [`basic_unencoded`](ClientAuth::basic_unencoded) | `client_secret_basic` | the same, id and secret as they are, for servers that do not decode them |
/// | [`secret_jwt`](ClientAuth::secret_jwt) | `client_secret_jwt` | an HS256 assertion keyed by the secret |
/// | [`private_key_jwt`](ClientAuth::private_key_jwt) | `private_key_jwt` | an assertion signed by the client's private key |
/// | [`secret`](ClientAuth::secret) | from the issuer's metadata | `basic` when the server lists it or lists nothing, else `post` |
///
/// An assertion (RFC 7523 §2.2, §3) has `iss` = `sub` = the client id, `aud` = the
/// token endpoint (or [`audience`](ClientAuth::audience)), a `jti` never used
/// before, `iat`, and `exp` five minutes ahead; it is signed anew for each request.
///
/// ```
/// use tokenfetch::{BodyTokenFetcher, ClientAuth, Grant};
///
/// let fetcher = BodyTokenFetcher::builder("api")
///     .endpoint("https://auth.example.com/oauth/token")
///     .client_auth(ClientAuth::basic("my-client", "p+ss w:rd"))
///     .grant(Grant::client_credentials().scopes(["read", "write"]))
///     .build()?;
/// assert!(!format!("{fetcher:?}").contains("p+ss"));
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientAuth {
    client_id: String,
    method: Method,
    audience: Option<String>,
}

#[derive(Clone)]
enum Method {
    None,
    Post(Secret),
    Basic {
        secret: Secret,
        encoded: bool,
    },
    Jwt(SigningKey),
    /// A secret, sent as the issuer's metadata says.
    Secret(Secret),
}

/// What client authentication adds to one request.
#[derive(Debug, Default)]
pub(crate) struct ClientCredentials {
    /// The `Authorization` header, if the method sends one.
    pub(crate) header: Option<HeaderValue>,
    /// The body fields, in order.
    pub(crate) fields: Vec<(&'static str, Secret)>,
}

impl ClientAuth {
    /// A public client (`none`): only `client_id`, in the body.
    pub fn none(client_id: impl Into<String>) -> Self {
        ClientAuth::new(client_id, Method::None)
    }

    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    pub fn post(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        ClientAuth::new(client_id, Method::Post(client_secret.into()))
    }

    /// `client_secret_basic` as RFC 6749 §2.3.1 says it: the id and the secret are
    /// each `application/x-www-form-urlencoded`, joined by `:` and base64-encoded
    /// into `Authorization: Basic ...`. The default of many servers, and the one
    /// every server must support.
    pub fn basic(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        ClientAuth::new(
            client_id,
            Method::Basic {
                secret: client_secret.into(),
                encoded: true,
            },
        )
    }

    /// `client_secret_basic` with the id and secret base64-encoded as they are,
    /// not form-urlencoded first: for the servers known to reject the encoded
    /// form. Identical to [`basic`](ClientAuth::basic) when neither holds a
    /// character the encoding changes.
    pub fn basic_unencoded(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        ClientAuth::new(
            client_id,
            Method::Basic {
                secret: client_secret.into(),
                encoded: false,
            },
        )
    }

    /// `client_secret_jwt`: an HS256 client assertion keyed by the client secret.
    pub fn secret_jwt(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        ClientAuth::new(client_id, Method::Jwt(SigningKey::hmac(client_secret)))
    }

    /// `private_key_jwt`: a client assertion signed by the client's private key
    /// (RS256, PS256, ES256 or EdDSA).
    pub fn private_key_jwt(client_id: impl Into<String>, key: SigningKey) -> Self {
        ClientAuth::new(client_id, Method::Jwt(key))
    }

    /// A client secret sent the way the issuer's metadata says
    /// ([`FetcherBuilder::issuer`](crate::FetcherBuilder::issuer)):
    /// `client_secret_basic` when `token_endpoint_auth_methods_supported` lists
    /// it or is absent (RFC 8414 §2's default), else `client_secret_post`.
    /// Without an issuer, `client_secret_basic`.
    pub fn secret(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        ClientAuth::new(client_id, Method::Secret(client_secret.into()))
    }

    fn new(client_id: impl Into<String>, method: Method) -> Self {
        ClientAuth {
            client_id: client_id.into(),
            method,
            audience: None,
        }
    }

    /// The `aud` of client assertions, instead of the token endpoint: say, the
    /// issuer, for servers that want that.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The method's registered name (RFC 7591 §2): `none`, `client_secret_post`,
    /// `client_secret_basic`, `client_secret_jwt` or `private_key_jwt`; `None`
    /// for [`secret`](ClientAuth::secret), which the issuer's metadata decides.
    pub fn method_name(&self) -> Option<&'static str> {
        Some(match &self.method {
            Method::None => "none",
            Method::Post(_) => "client_secret_post",
            Method::Basic { .. } => "client_secret_basic",
            Method::Jwt(key) if key.algorithm() == super::SigningAlgorithm::HS256 => {
                "client_secret_jwt"
            }
            Method::Jwt(_) => "private_key_jwt",
            Method::Secret(_) => return None,
        })
    }

    /// Checks what can be checked before a request: a client id that Basic can
    /// carry.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.client_id.is_empty() {
            return Err(Error::config("the client id of `client_auth` is empty"));
        }
        if let Method::Basic { encoded: false, .. } = self.method
            && self.client_id.contains(':')
        {
            return Err(Error::config(
                "a client id with `:` cannot be sent in unencoded Basic authentication; use `ClientAuth::basic`, which form-urlencodes it",
            ));
        }
        Ok(())
    }

    /// What one request to `token_endpoint` carries; `supported` is the issuer's
    /// `token_endpoint_auth_methods_supported`, when it is known.
    pub(crate) fn credentials(
        &self,
        token_endpoint: &Url,
        supported: Option<&[String]>,
    ) -> Result<ClientCredentials> {
        let id = || Secret::new(self.client_id.clone());
        let mut credentials = ClientCredentials::default();
        match &self.method {
            Method::None => credentials.fields.push(("client_id", id())),
            Method::Post(secret) => {
                credentials.fields.push(("client_id", id()));
                credentials.fields.push(("client_secret", secret.clone()));
            }
            Method::Basic { secret, encoded } => {
                credentials.header = Some(basic(&self.client_id, secret, *encoded)?);
            }
            Method::Secret(secret) => {
                let listed = |method: &str| supported.is_none_or(|s| s.iter().any(|m| m == method));
                if listed("client_secret_basic") || !listed("client_secret_post") {
                    credentials.header = Some(basic(&self.client_id, secret, true)?);
                } else {
                    credentials.fields.push(("client_id", id()));
                    credentials.fields.push(("client_secret", secret.clone()));
                }
            }
            Method::Jwt(key) => {
                let audience = self.audience.as_deref().unwrap_or(token_endpoint.as_str());
                let claims = assertion_claims(
                    &self.client_id,
                    &self.client_id,
                    audience,
                    ASSERTION_LIFETIME,
                    &Map::new(),
                );
                credentials.fields.push(("client_id", id()));
                credentials.fields.push((
                    "client_assertion_type",
                    Secret::new(JWT_BEARER_ASSERTION_TYPE),
                ));
                credentials
                    .fields
                    .push(("client_assertion", key.sign(&claims)?));
            }
        }
        Ok(credentials)
    }

    /// The method and its credentials, in the explicit encoding of
    /// [`StepIdentity`] (secrets only as a digest).
    pub(crate) fn identify(&self, identity: &mut StepIdentity) {
        identity.field("client_id", &self.client_id);
        match &self.method {
            Method::None => {
                identity.field("client_auth", "none");
            }
            Method::Post(secret) => {
                identity.field("client_auth", "post").add(secret.expose());
            }
            Method::Basic { secret, encoded } => {
                identity
                    .field("client_auth", if *encoded { "basic" } else { "basic_raw" })
                    .add(secret.expose());
            }
            Method::Secret(secret) => {
                identity.field("client_auth", "secret").add(secret.expose());
            }
            Method::Jwt(key) => {
                identity.field("client_auth", "jwt").add(key.fingerprint());
            }
        }
        if let Some(audience) = &self.audience {
            identity.field("client_auth_audience", audience);
        }
    }
}

/// `Basic base64(id ":" secret)`, the id and secret form-urlencoded first when
/// `encoded` (RFC 6749 §2.3.1, Appendix B).
fn basic(client_id: &str, secret: &Secret, encoded: bool) -> Result<HeaderValue> {
    let pair = if encoded {
        format!(
            "{}:{}",
            form_encode(client_id),
            form_encode(secret.expose())
        )
    } else {
        format!("{client_id}:{}", secret.expose())
    };
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
        .map_err(|_| Error::config("the client credentials do not make a header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B:
/// UTF-8, then percent-encoding, space as `+`).
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match &self.method {
            Method::None => "none".to_owned(),
            Method::Post(_) => "client_secret_post".to_owned(),
            Method::Basic { encoded: true, .. } => "client_secret_basic".to_owned(),
            Method::Basic { encoded: false, .. } => "client_secret_basic (unencoded)".to_owned(),
            Method::Secret(_) => "client secret, method from the issuer's metadata".to_owned(),
            Method::Jwt(key) => format!("{key:?}"),
        };
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("method", &format_args!("{method}"))
            .field("audience", &self.audience)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_form_encodes_before_base64() {
        let header = basic("my id", &Secret::new("p+ss w:rd/%&=é"), true).unwrap();
        let encoded = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+id:p%2Bss+w%3Ard%2F%25%26%3D%C3%A9");
        assert!(header.is_sensitive());
        let raw = basic("id", &Secret::new("a:b"), false).unwrap();
        let raw = raw.to_str().unwrap().strip_prefix("Basic ").unwrap();
        assert_eq!(STANDARD.decode(raw).unwrap(), b"id:a:b");
    }

    #[test]
    fn secret_follows_the_metadata() {
        let auth = ClientAuth::secret("id", "s");
        let url = Url::parse("https://auth.example.com/token").unwrap();
        let listed = |methods: &[&str]| methods.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        let basic = auth.credentials(&url, None).unwrap();
        assert!(basic.header.is_some() && basic.fields.is_empty());
        let post = auth
            .credentials(&url, Some(&listed(&["client_secret_post"])))
            .unwrap();
        assert!(post.header.is_none());
        assert_eq!(post.fields[1].0, "client_secret");
        let both = auth
            .credentials(
                &url,
                Some(&listed(&["client_secret_post", "client_secret_basic"])),
            )
            .unwrap();
        assert!(both.header.is_some());
    }
}
