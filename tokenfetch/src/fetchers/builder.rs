//! [`FetcherBuilder`]: the fluent builder of [`BodyTokenFetcher`] and
//! [`HeaderTokenFetcher`], covering every HTTP step parameter plus
//! token injection and request hooks. Settings are checked in `build()`, which
//! returns the first invalid one as an error instead of panicking.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

use url::Url;

use super::extract::BodyFields;
use super::grant::Grant;
use super::http_step::{BodyTokenFetcher, HeaderTokenFetcher, HttpStep, TokenSource};
use super::injection::Injection;
use super::request::{ContentType, RequestHook, RequestTemplate, TokenRequest};
use super::token_endpoint::TokenEndpoint;
use crate::http::{HttpSettings, HttpSettingsBuilder, header_pair};
use crate::model::{DEFAULT_TOKEN_TYPE, Error, Result, Secret, redacted_endpoint};
use crate::oauth::ClientAuth;
use crate::step::{Context, check_dependencies};

/// Builds a [`BodyTokenFetcher`] or a [`HeaderTokenFetcher`].
///
/// Start with [`BodyTokenFetcher::builder`] or [`HeaderTokenFetcher::builder`]. A
/// step that needs earlier tokens names them with
/// [`depends_on`](FetcherBuilder::depends_on) and says where each goes with
/// [`inject_header`](FetcherBuilder::inject_header),
/// [`inject_field`](FetcherBuilder::inject_field) or [`inject`](FetcherBuilder::inject);
/// anything else is done in a [`with_request`](FetcherBuilder::with_request) hook.
///
/// ```
/// use tokenfetch::{BodyTokenFetcher, Injection};
///
/// let user = BodyTokenFetcher::builder("user_token")
///     .endpoint("/v1/user/token")
///     .json()
///     .data("username", "user@example.com")
///     .data("password", "password123")
///     .depends_on("device_token")
///     .depends_on("app_token")
///     .inject_header("device_token", "X-Device-Token")
///     .inject(Injection::header("app_token", "Authorization").format("Bearer {token}"))
///     .build()?;
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[must_use = "a builder does nothing until `build()` is called"]
pub struct FetcherBuilder<S> {
    name: String,
    http: HttpSettingsBuilder,
    endpoint: Option<String>,
    method: Method,
    headers: Vec<(String, Secret)>,
    query: Vec<(String, Secret)>,
    data: Vec<(String, Secret)>,
    content_type: ContentType,
    ttl: Option<Duration>,
    depends_on: Vec<String>,
    injections: Vec<Injection>,
    hooks: Vec<RequestHook>,
    hook_identity: Vec<Secret>,
    unshared: bool,
    issuer: Option<String>,
    client_auth: Option<ClientAuth>,
    source: S,
}

/// The body-specific settings of a [`FetcherBuilder`] for a [`BodyTokenFetcher`].
#[derive(Debug, Clone, Default)]
pub struct BodySource {
    fields: BodyFields,
    refresh_grant: bool,
    refresh_data: Vec<(String, Secret)>,
    grant: Option<Grant>,
}

/// The header-specific settings of a [`FetcherBuilder`] for a [`HeaderTokenFetcher`].
#[derive(Debug, Clone)]
pub struct HeaderSource {
    header: String,
    token_type: String,
}

impl Default for HeaderSource {
    fn default() -> Self {
        HeaderSource {
            header: "Authorization".to_owned(),
            token_type: DEFAULT_TOKEN_TYPE.to_owned(),
        }
    }
}

impl BodyTokenFetcher {
    /// Starts a builder for step `name`, with the defaults: POST, form
    /// encoding, fields `access_token`, `token_type`, `expires_in`,
    /// `refresh_token`, token type `Bearer`.
    pub fn builder(name: impl Into<String>) -> FetcherBuilder<BodySource> {
        FetcherBuilder::new(name.into(), BodySource::default())
    }
}

impl HeaderTokenFetcher {
    /// Starts a builder for step `name`, with the defaults: POST, token in
    /// the `Authorization` header, token type `Bearer`.
    pub fn builder(name: impl Into<String>) -> FetcherBuilder<HeaderSource> {
        FetcherBuilder::new(name.into(), HeaderSource::default())
    }
}

impl<S> FetcherBuilder<S> {
    fn new(name: String, source: S) -> Self {
        FetcherBuilder {
            name,
            http: HttpSettings::builder(),
            endpoint: None,
            method: Method::POST,
            headers: Vec::new(),
            query: Vec::new(),
            data: Vec::new(),
            content_type: ContentType::Form,
            ttl: None,
            depends_on: Vec::new(),
            injections: Vec::new(),
            hooks: Vec::new(),
            hook_identity: Vec::new(),
            unshared: false,
            issuer: None,
            client_auth: None,
            source,
        }
    }

    /// The base URL the endpoint is relative to. Without one, the engine's is used.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.http = self.http.base_url(base_url);
        self
    }

    /// The authorization server's issuer identifier: its metadata (OpenID Connect
    /// discovery, else RFC 8414) is read once per engine, shared by the steps
    /// naming the same issuer and reaching it the same way, and gives the token
    /// endpoint when the step sets no [`endpoint`](FetcherBuilder::endpoint), the
    /// device authorization endpoint, and the client authentication methods the
    /// server takes (see [`ClientAuth::secret`]). The document must name this
    /// issuer exactly (the `/` of an issuer without a path aside).
    ///
    /// ```
    /// use tokenfetch::{BodyTokenFetcher, ClientAuth, Grant};
    ///
    /// let fetcher = BodyTokenFetcher::builder("api")
    ///     .issuer("https://accounts.example.com")
    ///     .client_auth(ClientAuth::secret("my-client", "my-secret"))
    ///     .grant(Grant::client_credentials().scope("read"))
    ///     .build()?;
    /// # Ok::<_, tokenfetch::Error>(())
    /// ```
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// How the client authenticates to the token endpoint, on every request of
    /// the step, refreshes included.
    pub fn client_auth(mut self, client_auth: ClientAuth) -> Self {
        self.client_auth = Some(client_auth);
        self
    }

    /// The token endpoint: a path relative to the base URL, or an absolute URL.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The HTTP method (default POST).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sends a GET: the request data goes in the query string.
    pub fn get(self) -> Self {
        self.method(Method::GET)
    }

    /// Sends a POST (the default).
    pub fn post(self) -> Self {
        self.method(Method::POST)
    }

    /// Adds a request header. The value is treated
    /// as secret.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header sent with every request of this step's HTTP layer
    /// ([`HttpSettingsBuilder::header`](crate::HttpSettingsBuilder::header)).
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.http = self.http.header(name, value);
        self
    }

    /// Adds a request data field: a body field for
    /// POST, a query parameter for GET. The value is treated as secret.
    pub fn data(mut self, key: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.data.push((key.into(), value.into()));
        self
    }

    /// Adds several request data fields.
    pub fn request_data<K, V>(mut self, data: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<Secret>,
    {
        self.data
            .extend(data.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds a query parameter, whatever the method.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// How POST data is encoded (default [`ContentType::Form`]).
    pub fn content_type(mut self, content_type: ContentType) -> Self {
        self.content_type = content_type;
        self
    }

    /// Encodes POST data as JSON.
    pub fn json(self) -> Self {
        self.content_type(ContentType::Json)
    }

    /// Encodes POST data as a form (the default).
    pub fn form(self) -> Self {
        self.content_type(ContentType::Form)
    }

    /// How long the token may be cached; the sooner of this and the token's own
    /// expiry wins.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The timeout of one request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.timeout(timeout);
        self
    }

    /// Whether to verify TLS certificates (default `true`).
    pub fn verify_ssl(mut self, verify: bool) -> Self {
        self.http = self.http.verify_ssl(verify);
        self
    }

    /// Allows plain `http://` to hosts other than loopback.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.http = self.http.allow_insecure_http(allow);
        self
    }

    /// Uses this client (build it without redirects).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.http = self.http.client(client);
        self
    }

    /// Names a step whose token this step needs.
    pub fn depends_on(mut self, step: impl Into<String>) -> Self {
        self.depends_on.push(step.into());
        self
    }

    /// Puts step `from`'s access token into header `header`.
    pub fn inject_header(self, from: impl Into<String>, header: impl Into<String>) -> Self {
        self.inject(Injection::header(from, header))
    }

    /// Puts step `from`'s access token into body field `field`.
    pub fn inject_field(self, from: impl Into<String>, field: impl Into<String>) -> Self {
        self.inject(Injection::field(from, field))
    }

    /// Adds an injection: any part of a dependency's token, anywhere in the
    /// request, through an optional format.
    pub fn inject(mut self, injection: Injection) -> Self {
        self.injections.push(injection);
        self
    }

    /// Adjusts the request given the context, after data and injections are in:
    /// the escape hatch for what injections cannot say. Hooks shape the original
    /// request only, not refresh requests. A step with a hook shares its tokens
    /// through a store only once [`identity`](FetcherBuilder::identity) says what
    /// the hook adds.
    ///
    /// ```
    /// use tokenfetch::BodyTokenFetcher;
    ///
    /// let fetcher = BodyTokenFetcher::builder("final_token")
    ///     .endpoint("/final/token")
    ///     .depends_on("session_token")
    ///     .with_request(|request, context| {
    ///         let session = context.require("session_token")?;
    ///         let short: String = session.access_token().expose().chars().take(8).collect();
    ///         request.set_data("session_prefix", short);
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// # Ok::<_, tokenfetch::Error>(())
    /// ```
    pub fn with_request<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut TokenRequest, &Context) -> Result<()> + Send + Sync + 'static,
    {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// Says what the [`with_request`](FetcherBuilder::with_request) hooks add to the
    /// request, so that the step's tokens can be shared through a
    /// [`TokenStore`](crate::TokenStore): call it once per value a hook reads
    /// from outside the request (a tenant, a key id). A closure cannot be looked
    /// into, so a step with a hook and no `identity` is never shared through a
    /// store, and neither are the steps that depend on it. Values are kept only
    /// as a digest.
    ///
    /// ```
    /// use tokenfetch::BodyTokenFetcher;
    ///
    /// let tenant = "alpha".to_owned();
    /// let fetcher = BodyTokenFetcher::builder("tenant_token")
    ///     .endpoint("/token")
    ///     .identity(tenant.clone())
    ///     .with_request(move |request, _| {
    ///         request.set_data("tenant", tenant.clone());
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// # Ok::<_, tokenfetch::Error>(())
    /// ```
    pub fn identity(mut self, part: impl Into<Secret>) -> Self {
        self.hook_identity.push(part.into());
        self
    }

    /// Words configuration errors in terms of the derive's attributes: what the
    /// code `#[derive(TokenStep)]` generates calls. Not for other use.
    #[doc(hidden)]
    pub fn __declared_by_derive(mut self) -> Self {
        self.http = self.http.declared_by_derive();
        self
    }

    /// Never shares this step's tokens through a store: they stay in the memory of
    /// the engine that fetched them (and so do those of the steps depending on
    /// it).
    pub fn unshared(mut self) -> Self {
        self.unshared = true;
        self
    }

    fn build_step(
        mut self,
        source: TokenSource,
        refresh_data: Vec<(String, Secret)>,
        grant: Option<&Grant>,
    ) -> Result<HttpStep> {
        let name = std::mem::take(&mut self.name);
        let fail = |error: Error| error.with_step(&name);
        if name.is_empty() {
            return Err(Error::config("a step name must not be empty"));
        }
        let http = std::mem::take(&mut self.http).build().map_err(fail)?;
        let mut endpoint = TokenEndpoint {
            client_auth: self.client_auth.take(),
            ..TokenEndpoint::default()
        };
        if let Some(issuer) = &self.issuer {
            let url = Url::parse(issuer).map_err(|_| {
                fail(Error::config(format!(
                    "the issuer `{}` is not an absolute URL; write it as the server names itself, such as `https://accounts.example.com`",
                    redacted_endpoint(issuer)
                )))
            })?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(fail(Error::config(
                    "an issuer has no query or fragment (RFC 8414 §2); give the issuer alone",
                )));
            }
            http.url(url.as_str(), &Context::new()).map_err(fail)?;
            endpoint.issuer = Some(url);
        }
        if let Some(auth) = &endpoint.client_auth {
            auth.validate().map_err(fail)?;
        }
        if (endpoint.client_auth.is_some() || grant.is_some())
            && (self.method != Method::POST || self.content_type != ContentType::Form)
        {
            // RFC 6749 §3.2: a token request is a form POST; in a query string the
            // credentials would reach every log on the way.
            return Err(fail(Error::config(
                "an OAuth 2.0 grant or client authentication is sent as a form POST (RFC 6749 §3.2); remove `get()` / `json()`",
            )));
        }
        let mut device = None;
        if let Some(grant) = grant {
            let lowered = grant.lower(&name)?;
            for (key, value, single) in lowered.data {
                if single {
                    self.data.retain(|(existing, _)| *existing != key);
                }
                self.data.push((key, value));
            }
            for step in lowered.depends_on {
                if !self.depends_on.contains(&step) {
                    self.depends_on.push(step);
                }
            }
            self.injections.extend(lowered.injections);
            endpoint.signed_assertion = lowered.signed_assertion;
            endpoint.requested_token_type = lowered.requested_token_type;
            if let Some(flow) = grant.device_flow() {
                if endpoint.client_auth.is_none() {
                    return Err(fail(Error::config(
                        "the device flow needs the client's id: set `client_auth(ClientAuth::none(\"client-id\"))`, or the client's own authentication",
                    )));
                }
                device = Some(flow.clone());
            }
        }
        let path = match (self.endpoint.take(), &endpoint.issuer) {
            (Some(path), _) => path,
            (None, Some(_)) => {
                endpoint.from_issuer = true;
                String::new()
            }
            (None, None) => {
                return Err(fail(Error::config(
                    "no endpoint is set; call `endpoint(\"/path\")`, or `issuer(..)` to read it from the server's metadata",
                )));
            }
        };
        if !endpoint.from_issuer && Url::parse(&path).is_ok() {
            // An absolute endpoint is checked now (scheme, plain http); a relative
            // one when the engine's base URL is known.
            http.url(&path, &Context::new()).map_err(fail)?;
        }
        let mut headers = HeaderMap::new();
        for (key, value) in &self.headers {
            let (key, value) = header_pair(key, value.expose()).map_err(fail)?;
            headers.append(key, value);
        }
        check_dependencies(&name, self.depends_on.iter().map(String::as_str))
            .map_err(|error| fail(Error::config(error.to_string()).with_source(error)))?;
        for injection in &self.injections {
            injection.validate(&name, &self.depends_on).map_err(fail)?;
        }
        let mut template = RequestTemplate::new(
            self.method,
            path,
            headers,
            self.query,
            self.data,
            self.content_type,
        );
        template.injections = self.injections;
        template.hooks = self.hooks;
        Ok(HttpStep {
            name,
            depends_on: self.depends_on,
            ttl: self.ttl,
            http,
            template,
            source,
            hook_identity: self.hook_identity,
            unshared: self.unshared,
            refresh_data,
            endpoint,
            device,
        })
    }
}

impl FetcherBuilder<BodySource> {
    /// The JSON field holding the access token (default `access_token`).
    pub fn token_field(mut self, field: impl Into<String>) -> Self {
        self.source.fields.token = field.into();
        self
    }

    /// The JSON field holding the token type (default `token_type`).
    pub fn token_type_field(mut self, field: impl Into<String>) -> Self {
        self.source.fields.token_type = field.into();
        self
    }

    /// The JSON field holding the lifetime in seconds (default `expires_in`).
    pub fn expires_in_field(mut self, field: impl Into<String>) -> Self {
        self.source.fields.expires_in = field.into();
        self
    }

    /// The JSON field holding the instant the token expires (default
    /// `expires_at`), as an RFC 3339 date or seconds since 1970 (a number too
    /// large for seconds, from 10¹¹, is read as milliseconds, microseconds or
    /// nanoseconds): read when the lifetime field is absent. Without either, a
    /// JWT access token's own `exp` claim is used (read without checking the
    /// signature, for timing only).
    pub fn expires_at_field(mut self, field: impl Into<String>) -> Self {
        self.source.fields.expires_at = field.into();
        self
    }

    /// The standard OAuth 2.0 grant the step makes: sets `grant_type`, the scopes
    /// and the grant's own parameters (replacing fields of the same names set with
    /// [`data`](FetcherBuilder::data)), and adds the steps whose tokens it carries
    /// to `depends_on`. A refresh token grant also turns on
    /// [`refresh_grant`](FetcherBuilder::refresh_grant).
    pub fn grant(mut self, grant: Grant) -> Self {
        self.source.grant = Some(grant);
        self
    }

    /// The JSON field holding the refresh token (default `refresh_token`).
    pub fn refresh_token_field(mut self, field: impl Into<String>) -> Self {
        self.source.fields.refresh_token = field.into();
        self
    }

    /// The token type when the response names none (default `Bearer`).
    pub fn default_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.source.fields.default_token_type = token_type.into();
        self
    }

    /// Renews the token with the OAuth2 `refresh_token` grant (RFC 6749 §6) when it
    /// has a refresh token, instead of repeating the original request. The
    /// refresh request carries only `grant_type=refresh_token`, the refresh token,
    /// the original `scope` and client authentication (`client_id`,
    /// `client_secret`, `client_assertion`, `client_assertion_type`), the step's
    /// headers and query, and whatever [`refresh_data`](FetcherBuilder::refresh_data)
    /// adds. When the server refuses the refresh, the original request is sent
    /// again only if it can be repeated: an authorization code, a device code or a
    /// refresh token is never replayed, and the refusal is returned instead.
    pub fn refresh_grant(mut self, enabled: bool) -> Self {
        self.source.refresh_grant = enabled;
        self
    }

    /// Adds a body field to refresh requests only (see
    /// [`refresh_grant`](FetcherBuilder::refresh_grant)).
    pub fn refresh_data(mut self, key: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.source.refresh_data.push((key.into(), value.into()));
        self
    }

    /// Checks the settings and builds the fetcher.
    pub fn build(self) -> Result<BodyTokenFetcher> {
        let refresh_grant = self.source.refresh_grant
            || self
                .source
                .grant
                .as_ref()
                .is_some_and(Grant::is_refresh_token);
        let source = TokenSource::Body {
            fields: self.source.fields.clone(),
            refresh_grant,
        };
        let refresh_data = self.source.refresh_data.clone();
        let grant = self.source.grant.clone();
        self.build_step(source, refresh_data, grant.as_ref())
            .map(BodyTokenFetcher)
    }
}

impl FetcherBuilder<HeaderSource> {
    /// The response header holding the token (default `Authorization`).
    pub fn token_header(mut self, header: impl Into<String>) -> Self {
        self.source.header = header.into();
        self
    }

    /// The token type recorded in the token (default `Bearer`).
    pub fn token_type(mut self, token_type: impl Into<String>) -> Self {
        self.source.token_type = token_type.into();
        self
    }

    /// Checks the settings and builds the fetcher.
    pub fn build(self) -> Result<HeaderTokenFetcher> {
        let header = HeaderName::from_bytes(self.source.header.as_bytes()).map_err(|_| {
            Error::config(format!(
                "invalid token header name `{}`",
                self.source.header
            ))
            .with_step(&self.name)
        })?;
        let source = TokenSource::Header {
            header,
            token_type: self.source.token_type.clone(),
        };
        self.build_step(source, Vec::new(), None)
            .map(HeaderTokenFetcher)
    }
}

impl<S: fmt::Debug> fmt::Debug for FetcherBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetcherBuilder")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint.as_deref().map(redacted_endpoint))
            .field("method", &self.method)
            .field("depends_on", &self.depends_on)
            .field("issuer", &self.issuer.as_deref().map(redacted_endpoint))
            .field("client_auth", &self.client_auth)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}
