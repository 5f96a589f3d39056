//! Discovery: an issuer's [`ProviderMetadata`], read from its OpenID Connect
//! discovery document or, where there is none, its RFC 8414 metadata; fetched
//! once per engine for every step naming the issuer, through the same transport
//! guards as a token request.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::sync::OnceCell;
use url::Url;

use crate::http::{HttpResponse, HttpSettings};
use crate::model::{Error, Result, redacted_url};
use crate::step::Context;

/// What an authorization server says about itself (OpenID Connect Discovery 1.0
/// §3, RFC 8414 §2): the fields tokenfetch uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    issuer: String,
    token_endpoint: Url,
    device_authorization_endpoint: Option<Url>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

impl ProviderMetadata {
    /// The issuer identifier, as the document states it (and as configured).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token endpoint.
    pub fn token_endpoint(&self) -> &Url {
        &self.token_endpoint
    }

    /// The device authorization endpoint (RFC 8628 §4), if the server has one.
    pub fn device_authorization_endpoint(&self) -> Option<&Url> {
        self.device_authorization_endpoint.as_ref()
    }

    /// The client authentication methods the token endpoint takes, if listed.
    pub fn token_endpoint_auth_methods_supported(&self) -> Option<&[String]> {
        self.token_endpoint_auth_methods_supported.as_deref()
    }
}

/// The document's fields as sent.
#[derive(Deserialize)]
struct Document {
    issuer: Option<String>,
    token_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// One issuer's metadata: the first step to ask fetches it while the others wait;
/// a failure is not kept, so the next load tries again. An engine keeps one per
/// issuer and transport (steps that reach the server differently, say one without
/// certificate checks, never share what one of them read); a step keeps its own
/// for when it is fetched outside an engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Discovered(Arc<OnceCell<Arc<ProviderMetadata>>>);

/// The metadata of `issuer`, from the engine's cache (else the step's `own`) or
/// fetched through `http`.
pub(crate) async fn discover(
    http: &HttpSettings,
    issuer: &Url,
    context: &Context,
    own: &Discovered,
) -> Result<Arc<ProviderMetadata>> {
    let key = format!("{issuer} {}", http.transport_key());
    let shared = context.shared_cell::<Discovered>(&key);
    let cell = shared.as_deref().unwrap_or(own);
    cell.0
        .get_or_try_init(|| fetch(http, issuer, context))
        .await
        .cloned()
}

/// Whether an answer with `status` says the address holds no document.
fn no_such_document(status: StatusCode) -> bool {
    status.is_client_error()
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::TOO_MANY_REQUESTS
}

/// `issuer` + `/.well-known/openid-configuration` (OpenID Connect Discovery §4),
/// then, when that address answers with a client error (404, or what gateways
/// answer for an unknown route: 400, 401, 403, 405...; not 408 or 429, which say
/// nothing of the route), the RFC 8414 §3.1 address:
/// `/.well-known/oauth-authorization-server` between the host and the issuer's
/// path.
async fn fetch(
    http: &HttpSettings,
    issuer: &Url,
    context: &Context,
) -> Result<Arc<ProviderMetadata>> {
    let path = issuer.path().trim_end_matches('/');
    let mut openid = issuer.clone();
    openid.set_path(&format!("{path}/.well-known/openid-configuration"));
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    let response = match get(http, &openid, context).await {
        Err(error) if error.status().is_some_and(no_such_document) => {
            get(http, &oauth, context).await.map(|body| (oauth, body))
        }
        other => other.map(|body| (openid, body)),
    };
    let (url, response) = response?;
    read(issuer, &response).map(Arc::new).map_err(|error| {
        error.during(format_args!(
            "the discovery document at `{}`",
            redacted_url(&url)
        ))
    })
}

async fn get(http: &HttpSettings, url: &Url, context: &Context) -> Result<HttpResponse> {
    let request = http.request(Method::GET, url.as_str(), context)?;
    http.send(request).await.map_err(|error| {
        error.during(format_args!(
            "reading the discovery document at `{}`",
            redacted_url(url)
        ))
    })
}

/// The metadata in a discovery document's answer, checked against `issuer`.
pub(crate) fn read(issuer: &Url, response: &HttpResponse) -> Result<ProviderMetadata> {
    metadata(issuer, response.json()?)
}

/// Checks the document against the issuer asked for (OpenID Connect Discovery
/// §4.3, RFC 8414 §3.3: the `issuer` must be the one configured) and reads its
/// endpoints.
fn metadata(issuer: &Url, document: Document) -> Result<ProviderMetadata> {
    let stated = document
        .issuer
        .ok_or_else(|| Error::bad_response("it has no `issuer`"))?;
    // Exactly the issuer configured; only the `/` a URL without a path is written
    // with may be left out.
    let configured = issuer.as_str();
    let same = stated == configured || (issuer.path() == "/" && format!("{stated}/") == configured);
    if !same {
        return Err(Error::bad_response(format!(
            "it names the issuer `{}`, not `{}`; set `issuer` to the issuer exactly as the server names it",
            crate::model::server_text(&stated),
            redacted_url(issuer)
        )));
    }
    let endpoint = |name: &str, value: Option<String>| -> Result<Option<Url>> {
        value
            .map(|value| match Url::parse(&value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
                _ => Err(Error::bad_response(format!(
                    "its `{name}` is not an absolute http(s) URL"
                ))),
            })
            .transpose()
    };
    let token_endpoint = endpoint("token_endpoint", document.token_endpoint)?.ok_or_else(|| {
        Error::bad_response(
            "it has no `token_endpoint`; set the step's `endpoint` to the token endpoint instead",
        )
    })?;
    Ok(ProviderMetadata {
        issuer: stated,
        token_endpoint,
        device_authorization_endpoint: endpoint(
            "device_authorization_endpoint",
            document.device_authorization_endpoint,
        )?,
        token_endpoint_auth_methods_supported: document.token_endpoint_auth_methods_supported,
    })
}
