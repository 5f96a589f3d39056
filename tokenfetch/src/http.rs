//! [`HttpTokenFetcher`]: the HTTP layer every HTTP step shares: base URL, timeout, certificate checks, default headers, one reusable
//! client; and [`HttpResponse`], a token endpoint's answer read within a size limit.
//!
//! The rules that keep tokens safe live here: token requests never follow
//! redirects, plain `http://` is refused except to loopback unless the user opts
//! in, and a response body is never read past [`MAX_BODY_BYTES`].

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, OAuthError, Result, server_text};
use crate::fetcher::Context;
use crate::secret::REDACTED;

/// The largest response body a token endpoint may send: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How much of a non-2xx body is read for its RFC 6749 error fields: the status
/// has decided already, so the rest is never read and never an error.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The request timeout when none is set: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest `Retry-After` honoured; a server asking for more gets this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The HTTP settings of a step: where it sends requests and how: base URL,
/// timeout, certificate checks, default headers.
///
/// [`BodyTokenFetcher`](crate::BodyTokenFetcher) and
/// [`HeaderTokenFetcher`](crate::HeaderTokenFetcher) hold one; a hand-written
/// [`TokenFetcher`](crate::TokenFetcher) can hold one too and send its own requests
/// through [`request`](HttpTokenFetcher::request) and [`send`](HttpTokenFetcher::send).
///
/// There is no `close()`: the connection pool is released when the last clone of
/// the client is dropped.
///
/// ```
/// use std::time::Duration;
/// use tokenfetch::HttpTokenFetcher;
///
/// let http = HttpTokenFetcher::builder()
///     .base_url("https://auth.example.com")
///     .timeout(Duration::from_secs(10))
///     .header("User-Agent", "my-app/1.0")
///     .build()?;
/// assert_eq!(http.timeout(), Duration::from_secs(10));
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpTokenFetcher {
    base_url: Option<Url>,
    timeout: Duration,
    verify_ssl: bool,
    plain_http: PlainHttp,
    headers: HeaderMap,
    client: Option<reqwest::Client>,
    /// Made on first use when neither this fetcher nor the context has a client.
    own_client: Arc<OnceLock<reqwest::Client>>,
}

impl Default for HttpTokenFetcher {
    fn default() -> Self {
        HttpTokenFetcher {
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            verify_ssl: true,
            plain_http: PlainHttp::default(),
            headers: HeaderMap::new(),
            client: None,
            own_client: Arc::default(),
        }
    }
}

impl HttpTokenFetcher {
    /// Starts a builder with the defaults: 30 s timeout, certificates
    /// checked, no default headers.
    pub fn builder() -> HttpTokenFetcherBuilder {
        HttpTokenFetcherBuilder::default()
    }

    /// The base URL, if one was set (else the engine's is used).
    pub fn base_url(&self) -> Option<&Url> {
        self.base_url.as_ref()
    }

    /// The timeout of one request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether TLS certificates are verified.
    pub fn verify_ssl(&self) -> bool {
        self.verify_ssl
    }

    /// The headers sent with every request.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The full URL of `endpoint`: itself when absolute, else joined to this
    /// fetcher's base URL or the context's.
    pub fn url(&self, endpoint: &str, context: &Context) -> Result<Url> {
        let url = match Url::parse(endpoint) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                let base = self.base_url.as_ref().or(context.base_url()).ok_or_else(|| {
                    Error::config(format!(
                        "endpoint `{}` is relative and no base URL is set; set `base_url` on the step or the engine",
                        redacted_endpoint(endpoint)
                    ))
                })?;
                join(base, endpoint)?
            }
            Err(error) => {
                return Err(Error::config(format!(
                    "invalid endpoint `{}`: {error}",
                    redacted_endpoint(endpoint)
                )));
            }
        };
        check_scheme(&url, self.plain_http)?;
        Ok(url)
    }

    /// Starts a request to `endpoint` with the default headers and the timeout set,
    /// through this fetcher's client, else the context's, else one this fetcher
    /// makes on first use and keeps.
    pub fn request(
        &self,
        method: Method,
        endpoint: &str,
        context: &Context,
    ) -> Result<reqwest::RequestBuilder> {
        let url = self.url(endpoint, context)?;
        let client = match self.client.as_ref().or(context.client()) {
            Some(client) => client,
            None => match self.own_client.get() {
                Some(client) => client,
                None => {
                    let client = build_client(client_builder())?;
                    self.own_client.get_or_init(|| client)
                }
            },
        };
        Ok(client
            .request(method, url)
            .headers(self.headers.clone())
            .timeout(self.timeout))
    }

    /// Sends a request and reads the answer within [`MAX_BODY_BYTES`]. A non-2xx
    /// status is an error carrying the status, the RFC 6749 fields of the body and
    /// the `Retry-After` delay: the status decides, and of such a body only the
    /// first 64 KiB are read, whatever its size.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<HttpResponse> {
        let response = request.send().await.map_err(Error::from_reqwest)?;
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_success() {
            let body = read_limited(response).await?;
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        } else {
            let body = read_prefix(response, MAX_ERROR_BODY_BYTES).await;
            let response = HttpResponse {
                status,
                headers,
                body,
            };
            Err(response.status_error())
        }
    }
}

impl fmt::Debug for HttpTokenFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTokenFetcher")
            .field("base_url", &self.base_url.as_ref().map(redacted_url))
            .field("timeout", &self.timeout)
            .field("verify_ssl", &self.verify_ssl)
            .field("allow_insecure_http", &self.plain_http.allowed)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Whether plain `http://` may go to a host other than loopback, and how to say
/// so in an error: as a builder call, or as the derive's attribute.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlainHttp {
    pub(crate) allowed: bool,
    pub(crate) declared_by_derive: bool,
}

/// Builds an [`HttpTokenFetcher`]; [`build`](HttpTokenFetcherBuilder::build)
/// reports the first invalid setting.
#[derive(Debug, Default)]
pub struct HttpTokenFetcherBuilder {
    base_url: Option<String>,
    timeout: Option<Duration>,
    verify_ssl: Option<bool>,
    plain_http: PlainHttp,
    headers: Vec<(String, crate::Secret)>,
    client: Option<ClientOption>,
}

struct ClientOption(reqwest::Client);

impl fmt::Debug for ClientOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reqwest::Client")
    }
}

impl HttpTokenFetcherBuilder {
    /// The base URL relative endpoints are joined to. Without one, the engine's is
    /// used.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The timeout of one request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether to verify TLS certificates (default `true`). `false` is for test
    /// servers only: anyone on the path can then read the token.
    pub fn verify_ssl(mut self, verify: bool) -> Self {
        self.verify_ssl = Some(verify);
        self
    }

    /// Allows plain `http://` to hosts other than loopback. Tokens and secrets then
    /// cross the network in clear: use it only on a network you trust.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.plain_http.allowed = allow;
        self
    }

    /// Adds a header sent with every request. Its value is treated as sensitive.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<crate::Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Uses this client instead of a shared default one. Build it with
    /// `redirect(reqwest::redirect::Policy::none())`: a token request must not
    /// follow redirects, and tokenfetch cannot change a client it was given.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(ClientOption(client));
        self
    }

    /// Words the plain-http error as the derive's attribute.
    pub(crate) fn declared_by_derive(mut self) -> Self {
        self.plain_http.declared_by_derive = true;
        self
    }

    /// Checks the settings and builds the fetcher.
    pub fn build(self) -> Result<HttpTokenFetcher> {
        let base_url = self.base_url.as_deref().map(parse_base_url).transpose()?;
        if let Some(url) = &base_url {
            check_scheme(url, self.plain_http)?;
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let (name, value) = header_pair(name, value.expose())?;
            headers.append(name, value);
        }
        let verify_ssl = self.verify_ssl.unwrap_or(true);
        let client = match self.client {
            Some(ClientOption(client)) => Some(client),
            None if !verify_ssl => Some(build_client(
                client_builder().tls_danger_accept_invalid_certs(true),
            )?),
            None => None,
        };
        Ok(HttpTokenFetcher {
            base_url,
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            verify_ssl,
            plain_http: self.plain_http,
            headers,
            client,
            own_client: Arc::default(),
        })
    }
}

/// A token endpoint's answer, read whole (at most [`MAX_BODY_BYTES`]).
#[derive(Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpResponse {
    /// An answer from its parts, as read off the wire.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn from_parts(status: StatusCode, headers: HeaderMap, body: Vec<u8>) -> Self {
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// The error for this answer's status, as [`HttpTokenFetcher::send`] makes it.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn error(&self) -> Error {
        self.status_error()
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Parses the body as JSON, or reports a [`BadResponse`](crate::ErrorKind::BadResponse)
    /// error saying why it does not parse.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|error| {
            if is_too_deep(&error) {
                return too_deep();
            }
            Error::bad_response(format!(
                "the body is not the expected JSON ({}, {})",
                describe_body(&self.body),
                server_text(&error.to_string())
            ))
        })
    }

    /// Whether the `Content-Type` is `application/x-www-form-urlencoded`: type and
    /// subtype compared case-insensitively and exactly, parameters aside
    /// (RFC 9110 §8.3.1).
    pub(crate) fn is_form(&self) -> bool {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                let essence = value.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
    }

    /// The error for this non-2xx answer.
    fn status_error(&self) -> Error {
        let mut error = Error::from_status(self.status).with_retry_after(self.retry_after());
        if let Some(oauth) = self.oauth_error() {
            error = error.with_oauth(oauth);
        }
        error
    }

    /// The RFC 6749 §5.2 fields of the body, if it is a form or a JSON object that
    /// has them (a JSON array is not an error object, even one that would fill
    /// the fields in order).
    pub(crate) fn oauth_error(&self) -> Option<OAuthError> {
        if self.is_form() {
            serde_urlencoded::from_bytes(&self.body).ok()
        } else {
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&self.body).ok()?;
            serde_json::from_value(serde_json::Value::Object(object)).ok()
        }
    }

    /// `Retry-After` as seconds or as an HTTP date, capped.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        let value = self
            .headers
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim();
        let delay = match value.parse::<u64>() {
            Ok(seconds) => Duration::from_secs(seconds),
            // Delay-seconds too large for 64 bits: as long as we ever wait.
            Err(_) if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) => {
                MAX_RETRY_AFTER
            }
            Err(_) => {
                let at = httpdate::parse_http_date(value).ok()?;
                at.duration_since(std::time::SystemTime::now())
                    .unwrap_or(Duration::ZERO)
            }
        };
        Some(delay.min(MAX_RETRY_AFTER))
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A short description of a body for error messages: its size and whether it looks
/// like HTML, never its content (it may hold a token).
pub(crate) fn describe_body(body: &[u8]) -> String {
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() {
        "the body is empty".to_owned()
    } else if trimmed.starts_with(b"<") {
        format!("got {} bytes of HTML or XML", body.len())
    } else {
        format!("got {} bytes", body.len())
    }
}

/// Reads at most `limit` bytes of a body, and never fails: a body cut short, by
/// the limit or by the connection, is what was read of it.
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == limit {
            break;
        }
    }
    body
}

/// Whether a JSON error is the parser's nesting limit.
pub(crate) fn is_too_deep(error: &serde_json::Error) -> bool {
    error.to_string().starts_with("recursion limit exceeded")
}

/// The error for a body nested past the JSON parser's limit.
pub(crate) fn too_deep() -> Error {
    Error::bad_response(
        "the body is JSON nested too deeply (more than 128 levels) to be a token response",
    )
}

/// Reads a body, refusing it as soon as it is known to pass the limit.
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>> {
    let too_large = || {
        Error::bad_response(format!(
            "the response body is larger than the {MAX_BODY_BYTES}-byte limit"
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Error::from_reqwest)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A client that follows no redirects: what every step uses unless given one.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// Builds a client, reporting a failure (TLS set-up) as a configuration error.
fn build_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client> {
    builder
        .build()
        .map_err(|error| Error::config("cannot build the HTTP client").with_source(error))
}

/// Parses a base URL, naming it (without credentials) in the error.
pub(crate) fn parse_base_url(base_url: &str) -> Result<Url> {
    let url = Url::parse(base_url)
        .map_err(|error| Error::config(format!("invalid base URL: {error}")))?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "invalid base URL `{}`: it must be an http:// or https:// URL",
            redacted_url(&url)
        )));
    }
    Ok(url)
}

/// Joins a relative endpoint to a base URL, keeping the base's path
/// (`https://h/api` + `/token` = `https://h/api/token`).
fn join(base: &Url, endpoint: &str) -> Result<Url> {
    let joined = format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        endpoint.trim_start_matches('/')
    );
    Url::parse(&joined).map_err(|error| {
        Error::config(format!(
            "invalid endpoint `{}`: {error}",
            redacted_endpoint(endpoint)
        ))
    })
}

/// Refuses plain `http://` to a host that is not loopback, unless allowed.
fn check_scheme(url: &Url, plain_http: PlainHttp) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if plain_http.allowed || is_loopback(url) => Ok(()),
        "http" => Err(Error::config(format!(
            "refusing to send credentials over plain http to `{}`; use https, or {} if this network is trusted",
            redacted_url(url),
            if plain_http.declared_by_derive {
                "add `allow_insecure_http` to the step's `#[endpoint(..)]` attribute"
            } else {
                "call `allow_insecure_http(true)`"
            }
        ))),
        scheme => Err(Error::config(format!(
            "unsupported URL scheme `{scheme}`; use https"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A URL fit for logs, errors and `Debug`: no credentials, no fragment, and every
/// query value replaced by `[redacted]` (`/token?api_key=[redacted]`).
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.set_query(None);
    bare.set_fragment(None);
    let mut text = String::from(bare);
    if let Some(query) = url.query() {
        text.push('?');
        text.push_str(&redacted_query(query));
    }
    text
}

/// An endpoint as the user wrote it (relative, absolute, or not a URL at all),
/// fit for logs, errors and `Debug`: as [`redacted_url`] does, by hand where it
/// does not parse.
pub(crate) fn redacted_endpoint(endpoint: &str) -> String {
    if let Ok(url) = Url::parse(endpoint) {
        return redacted_url(&url);
    }
    let endpoint = endpoint.split('#').next().unwrap_or_default();
    let (address, query) = match endpoint.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (endpoint, None),
    };
    let mut text = match address.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        }
        None => address.to_owned(),
    };
    if let Some(query) = query {
        text.push('?');
        text.push_str(&redacted_query(query));
    }
    text
}

/// `a=1&b` -> `a=[redacted]&[redacted]`: the names stay, the values go.
fn redacted_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}={REDACTED}"),
            None if pair.is_empty() => String::new(),
            None => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Validates a header name and value; the value is marked sensitive.
pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::config(format!("invalid header name `{name}`")))?;
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::config(format!(
            "invalid value for header `{name}`: it must be visible ASCII without line breaks"
        ))
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_the_base_path() {
        let base = Url::parse("https://h.example/api/").unwrap();
        assert_eq!(
            join(&base, "/v1/token").unwrap().as_str(),
            "https://h.example/api/v1/token"
        );
        let base = Url::parse("https://h.example").unwrap();
        assert_eq!(
            join(&base, "token").unwrap().as_str(),
            "https://h.example/token"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:1",
            "https://a.example",
        ] {
            check_scheme(&Url::parse(ok).unwrap(), PlainHttp::default()).unwrap();
        }
        let remote = Url::parse("http://user:pw@auth.example/x?secret=1").unwrap();
        let error = check_scheme(&remote, PlainHttp::default()).unwrap_err();
        assert!(error.to_string().contains("allow_insecure_http"));
        assert!(
            error.to_string().contains("/x?secret=[redacted]"),
            "{error}"
        );
        assert!(!error.to_string().contains("pw") && !error.to_string().contains("secret=1"));
        let allowed = PlainHttp {
            allowed: true,
            declared_by_derive: false,
        };
        check_scheme(&remote, allowed).unwrap();
    }

    #[test]
    fn query_values_are_redacted_wherever_an_endpoint_is_shown() {
        for (endpoint, shown) in [
            ("/token?api_key=K", "/token?api_key=[redacted]"),
            (
                "/token?a=1&b=2&flag",
                "/token?a=[redacted]&b=[redacted]&[redacted]",
            ),
            ("/token?api_key=K#frag", "/token?api_key=[redacted]"),
            (
                "https://u:p@h.example/t?k=K",
                "https://h.example/t?k=[redacted]",
            ),
            ("ht tp://u:p@h/t?k=K", "ht tp://h/t?k=[redacted]"),
            ("/plain", "/plain"),
        ] {
            assert_eq!(redacted_endpoint(endpoint), shown, "{endpoint}");
        }
    }

    #[test]
    fn bad_header_is_a_config_error() {
        assert!(header_pair("bad header", "v").is_err());
        assert!(header_pair("X-Ok", "line\nbreak").is_err());
        assert!(header_pair("X-Ok", "v").unwrap().1.is_sensitive());
    }

    #[test]
    fn body_description_never_shows_content() {
        assert_eq!(describe_body(b""), "the body is empty");
        assert!(describe_body(b"  <html>secret</html>").contains("HTML"));
        assert!(!describe_body(b"secret").contains("secret"));
    }
}
