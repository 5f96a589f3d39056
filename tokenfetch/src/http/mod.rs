//! HTTP, the layer under the fetchers: [`HttpSettings`], what every HTTP step
//! shares (base URL, timeout, certificate checks, default headers, one reusable
//! client), the URL rules (`urls`), the client every step uses
//! unless given one (`client`), and reading an answer within its limits
//! ([`HttpResponse`]).
//!
//! The rules that keep tokens safe live here: token requests never follow
//! redirects, plain `http://` is refused except to loopback unless the user opts
//! in, and a response body is never read past [`MAX_BODY_BYTES`].

mod client;
mod response;
mod urls;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use url::Url;

use crate::model::{Error, Result, Secret, redacted_endpoint, redacted_url};
use crate::step::Context;

pub(crate) use self::client::{insecure_client, redirect_free_client};
pub use self::response::{HttpResponse, MAX_BODY_BYTES};
pub(crate) use self::response::{describe_body, is_too_deep, too_deep};
pub(crate) use self::urls::{PlainHttp, header_pair, parse_base_url};
use self::urls::{check_scheme, join};

/// The request timeout when none is set: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP settings of a step: where it sends requests and how: base URL,
/// timeout, certificate checks, default headers.
///
/// [`BodyTokenFetcher`](crate::BodyTokenFetcher) and
/// [`HeaderTokenFetcher`](crate::HeaderTokenFetcher) hold one; a hand-written
/// [`TokenFetcher`](crate::TokenFetcher) can hold one too and send its own requests
/// through [`request`](HttpSettings::request) and [`send`](HttpSettings::send).
///
/// There is no `close()`: the connection pool is released when the last clone of
/// the client is dropped.
///
/// ```
/// use std::time::Duration;
/// use tokenfetch::HttpSettings;
///
/// let http = HttpSettings::builder()
///     .base_url("https://auth.example.com")
///     .timeout(Duration::from_secs(10))
///     .header("User-Agent", "my-app/1.0")
///     .build()?;
/// assert_eq!(http.timeout(), Duration::from_secs(10));
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpSettings {
    base_url: Option<Url>,
    timeout: Duration,
    verify_ssl: bool,
    plain_http: PlainHttp,
    headers: HeaderMap,
    client: Option<reqwest::Client>,
    /// Made on first use when neither this fetcher nor the context has a client.
    own_client: Arc<OnceLock<reqwest::Client>>,
    /// The URL the last request went to: a step sends to the same one every
    /// time, so an endpoint is joined to its base URL once.
    last_url: Arc<LastUrl>,
}

/// The last URL made from an endpoint and a base URL.
#[derive(Default)]
struct LastUrl(std::sync::Mutex<Option<(String, Option<Url>, Url)>>);

impl LastUrl {
    fn get(&self, endpoint: &str, base: Option<&Url>) -> Option<Url> {
        let last = self.0.lock().ok()?;
        let (last_endpoint, last_base, url) = last.as_ref()?;
        (last_endpoint == endpoint && last_base.as_ref() == base).then(|| url.clone())
    }

    fn set(&self, endpoint: &str, base: Option<&Url>, url: &Url) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some((endpoint.to_owned(), base.cloned(), url.clone()));
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            verify_ssl: true,
            plain_http: PlainHttp::default(),
            headers: HeaderMap::new(),
            client: None,
            own_client: Arc::default(),
            last_url: Arc::default(),
        }
    }
}

impl HttpSettings {
    /// Starts a builder with the defaults: 30 s timeout, certificates
    /// checked, no default headers.
    pub fn builder() -> HttpSettingsBuilder {
        HttpSettingsBuilder::default()
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

    /// What decides how a request travels, as text: certificate checks, plain
    /// `http://`, the timeout, the default headers (as a digest) and the client
    /// (a client given by the user is these settings' own). Two settings with one
    /// key send a request the same way, so they may share what one of them read.
    pub(crate) fn transport_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut headers = Sha256::new();
        for (name, value) in &self.headers {
            headers.update(name.as_str());
            headers.update([0]);
            headers.update(value.as_bytes());
            headers.update([0]);
        }
        let client = self
            .client
            .as_ref()
            .map_or(0, |_| Arc::as_ptr(&self.own_client) as usize);
        let headers: String = headers
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!(
            "verify={} plain_http={} timeout_ms={} client={client:x} headers={headers}",
            self.verify_ssl,
            self.plain_http.allowed,
            self.timeout.as_millis(),
        )
    }

    /// The full URL of `endpoint`: itself when absolute, else joined to this
    /// fetcher's base URL or the context's.
    pub fn url(&self, endpoint: &str, context: &Context) -> Result<Url> {
        let base = self.base_url.as_ref().or(context.base_url());
        if let Some(url) = self.last_url.get(endpoint, base) {
            return Ok(url);
        }
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
        self.last_url.set(endpoint, base, &url);
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
                    let client = redirect_free_client()?;
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
        receive(request.send()).await
    }
}

/// The answer to a request already handed to reqwest, read as
/// [`HttpSettings::send`] reads it. A step that hands its request over before it
/// awaits keeps only reqwest's (small) future, not the request it was built from.
pub(crate) async fn receive(
    sent: impl Future<Output = reqwest::Result<reqwest::Response>>,
) -> Result<HttpResponse> {
    let response = sent.await.map_err(Error::from_reqwest)?;
    HttpResponse::read(response).await
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("base_url", &self.base_url.as_ref().map(redacted_url))
            .field("timeout", &self.timeout)
            .field("verify_ssl", &self.verify_ssl)
            .field("allow_insecure_http", &self.plain_http.allowed)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Builds an [`HttpSettings`]; [`build`](HttpSettingsBuilder::build)
/// reports the first invalid setting.
#[derive(Debug, Default)]
pub struct HttpSettingsBuilder {
    base_url: Option<String>,
    timeout: Option<Duration>,
    verify_ssl: Option<bool>,
    plain_http: PlainHttp,
    headers: Vec<(String, Secret)>,
    client: Option<ClientOption>,
}

struct ClientOption(reqwest::Client);

impl fmt::Debug for ClientOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reqwest::Client")
    }
}

impl HttpSettingsBuilder {
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
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
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
    pub fn build(self) -> Result<HttpSettings> {
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
            None if !verify_ssl => Some(insecure_client()?),
            None => None,
        };
        Ok(HttpSettings {
            base_url,
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            verify_ssl,
            plain_http: self.plain_http,
            headers,
            client,
            own_client: Arc::default(),
            last_url: Arc::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_what_they_were_given() {
        let http = HttpSettings::builder()
            .base_url("https://auth.example/api")
            .timeout(Duration::from_secs(5))
            .header("X-App", "a")
            .build()
            .unwrap();
        assert_eq!(http.timeout(), Duration::from_secs(5));
        assert_eq!(
            http.base_url().unwrap().as_str(),
            "https://auth.example/api"
        );
        assert!(http.headers().contains_key("x-app"));
    }
}
