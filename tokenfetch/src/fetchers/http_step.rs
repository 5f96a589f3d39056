//! [`BodyTokenFetcher`] and [`HeaderTokenFetcher`]: the two HTTP steps, one request
//! each, differing only in where the token is read from; what a step sends, how it
//! refreshes (RFC 6749 §6, from an allowlist) and how it identifies itself. Both
//! are made by a [`FetcherBuilder`](super::FetcherBuilder).

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderName;
use url::Url;

use super::device::{self, DeviceFlow};
use super::extract::{BodyFields, token_from_header};
use super::grant::DEVICE_CODE;
use super::request::{RequestTemplate, TokenRequest};
use super::token_endpoint::TokenEndpoint;
use crate::http::{HttpSettings, receive};
use crate::model::{Result, Secret, TokenData};
use crate::step::{BoxFuture, Context, StepIdentity, TokenFetcher};

/// Where a step reads its token.
#[derive(Debug, Clone)]
pub(crate) enum TokenSource {
    Body {
        fields: BodyFields,
        refresh_grant: bool,
    },
    Header {
        header: HeaderName,
        token_type: String,
    },
}

/// The body fields of the original request that a refresh keeps, besides `scope`:
/// those that authenticate the client (RFC 6749 §2.3.1, RFC 7523 §2.2).
const CLIENT_AUTHENTICATION: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// Grants whose credential works once (RFC 6749 §4.1.2, §6, RFC 8628 §3.4): a step
/// that used one never sends it again.
const SINGLE_USE_GRANTS: [&str; 3] = ["authorization_code", "refresh_token", DEVICE_CODE];

/// A configured HTTP step: what both fetchers are.
#[derive(Clone)]
pub(crate) struct HttpStep {
    pub(crate) name: String,
    pub(crate) depends_on: Vec<String>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) http: HttpSettings,
    pub(crate) template: RequestTemplate,
    pub(crate) source: TokenSource,
    /// What the step's request hooks add, as the user declared it.
    pub(crate) hook_identity: Vec<Secret>,
    /// Whether the user asked never to share the step through a store.
    pub(crate) unshared: bool,
    /// Fields added to refresh requests only.
    pub(crate) refresh_data: Vec<(String, Secret)>,
    /// What an OAuth token endpoint gets at send time.
    pub(crate) endpoint: TokenEndpoint,
    /// The device flow, for the device authorization grant.
    pub(crate) device: Option<DeviceFlow>,
}

impl HttpStep {
    async fn fetch(&self, context: &Context) -> Result<TokenData> {
        // Boxed, as below: a rare path's state should not make every fetch's
        // future larger.
        if let Some(flow) = &self.device {
            return Box::pin(device::run(self, flow, context)).await;
        }
        let request = self.template.render(context)?;
        let token = self.send(&request, context).await?;
        // A refresh token the step was given stays usable when the server sends
        // no new one.
        Ok(match request.data("refresh_token") {
            Some(given)
                if token.refresh_token().is_none()
                    && self.single_use_grant() == Some("refresh_token") =>
            {
                token.with_refresh_token(given.clone())
            }
            _ => token,
        })
    }

    /// Sends `request`, with what the token endpoint adds, and reads the token.
    pub(crate) async fn send(
        &self,
        request: &TokenRequest,
        context: &Context,
    ) -> Result<TokenData> {
        // Handed to reqwest before the answer is awaited: the future keeps
        // reqwest's own, not the request it was made from.
        let sent = if self.endpoint.adds_nothing() {
            request.to_reqwest(&self.http, context)?.send()
        } else {
            let prepared = Box::pin(self.endpoint.prepare(request, &self.http, context)).await?;
            prepared.to_reqwest(&self.http, context)?.send()
        };
        let response = receive(sent).await?;
        let token = match &self.source {
            TokenSource::Body { fields, .. } => fields.read(&response),
            TokenSource::Header { header, token_type } => {
                token_from_header(&response, header, token_type)
            }
        }?;
        self.endpoint.check(&token)?;
        Ok(token)
    }

    /// The OAuth2 `refresh_token` grant (RFC 6749 §6), built from an allowlist:
    /// `grant_type`, the refresh token, the original `scope` and client
    /// authentication fields, then what the user added for refreshes. Headers,
    /// query parameters and the injections into them are kept; nothing else of the
    /// original grant (a code, a verifier, a password, a device code) is replayed,
    /// and request hooks, which shape the original grant, do not run.
    async fn refresh(&self, token: &TokenData, context: &Context) -> Result<TokenData> {
        let refresh_token = token
            .refresh_token()
            .expect("refresh is only offered for tokens with a refresh token");
        let mut request = self.template.render_injections(context)?;
        let original = request.take_data();
        request.set_data("grant_type", "refresh_token");
        request.set_data("refresh_token", refresh_token.clone());
        for (key, value) in original {
            if key == "scope" || CLIENT_AUTHENTICATION.contains(&key.as_str()) {
                request.set_data(key, value);
            }
        }
        for (key, value) in &self.refresh_data {
            request.set_data(key.clone(), value.clone());
        }
        let mut fresh = self.send(&request, context).await?;
        fresh.keep_refresh_token(token);
        Ok(fresh)
    }

    /// The single-use grant the step's request makes, if it makes one. A step
    /// with the device flow asks for a new device code on every fetch, so it
    /// never sends a used one again.
    fn single_use_grant(&self) -> Option<&str> {
        let grant = self.template.request.data("grant_type")?.expose();
        let renewed_by_the_flow = self.device.is_some() && grant == DEVICE_CODE;
        (SINGLE_USE_GRANTS.contains(&grant) && !renewed_by_the_flow).then_some(grant)
    }

    /// Every part of the step's request, in the explicit encoding of
    /// [`StepIdentity`]; a hook that did not say what it adds makes the step
    /// unshareable.
    fn identify(&self, identity: &mut StepIdentity) {
        identity.field("step", &self.name);
        if let Some(base_url) = self.http.base_url() {
            identity.field("base_url", base_url.as_str());
        }
        for (name, value) in self.http.headers() {
            identity
                .field("default_header", name.as_str())
                .add(value.as_bytes());
        }
        if let Some(ttl) = self.ttl {
            identity.field("ttl_ms", ttl.as_millis().to_le_bytes());
        }
        self.template.identify(identity);
        match &self.source {
            TokenSource::Body {
                fields,
                refresh_grant,
            } => {
                identity.field("source", "body");
                fields.identify(identity);
                identity.field("refresh_grant", [u8::from(*refresh_grant)]);
            }
            TokenSource::Header { header, token_type } => {
                identity
                    .field("source", "header")
                    .field("token_header", header.as_str())
                    .field("token_type", token_type);
            }
        }
        for (key, value) in &self.refresh_data {
            identity.field("refresh_data", key).add(value.expose());
        }
        self.endpoint.identify(identity);
        if let Some(flow) = &self.device {
            identity.field("device_endpoint", flow.endpoint_value().unwrap_or_default());
        }
        if !self.template.hooks.is_empty() {
            if self.hook_identity.is_empty() {
                identity.not_shareable();
            }
            for part in &self.hook_identity {
                identity.field("hook_identity", part.expose());
            }
        }
        if self.unshared {
            identity.not_shareable();
        }
    }

    fn can_refresh(&self, token: &TokenData) -> bool {
        matches!(
            self.source,
            TokenSource::Body {
                refresh_grant: true,
                ..
            }
        ) && token.refresh_token().is_some()
    }
}

impl fmt::Debug for HttpStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpStep")
            .field("name", &self.name)
            .field("depends_on", &self.depends_on)
            .field("ttl", &self.ttl)
            .field("http", &self.http)
            .field("request", &self.template)
            .field("source", &self.source)
            .field("endpoint", &self.endpoint)
            .field("device", &self.device)
            .finish()
    }
}

macro_rules! http_fetcher {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(pub(crate) HttpStep);

        impl $name {
            /// The HTTP settings.
            pub fn http(&self) -> &HttpSettings {
                &self.0.http
            }

            /// The endpoint, relative to the base URL or absolute.
            pub fn endpoint(&self) -> &str {
                self.0.template.request.endpoint()
            }

            /// The HTTP method.
            pub fn method(&self) -> &reqwest::Method {
                self.0.template.request.method()
            }
        }

        impl TokenFetcher for $name {
            fn name(&self) -> &str {
                &self.0.name
            }

            fn depends_on(&self) -> Vec<&str> {
                self.0.depends_on.iter().map(String::as_str).collect()
            }

            fn ttl(&self) -> Option<Duration> {
                self.0.ttl
            }

            fn identify(&self, identity: &mut StepIdentity) {
                self.0.identify(identity)
            }

            fn repeatable(&self) -> bool {
                self.0.single_use_grant().is_none()
            }

            fn load_timeout(&self) -> Option<Duration> {
                self.0.device.as_ref().map(DeviceFlow::load_timeout)
            }

            /// Checks the URL the endpoint makes with the engine's base URL: its
            /// scheme and plain `http://`. A relative endpoint with no base URL at
            /// all is left to the fetch, where a context may still bring one.
            fn validate(&self, base_url: Option<&Url>) -> Result<()> {
                if self.0.endpoint.from_issuer {
                    return Ok(());
                }
                let endpoint = self.0.template.request.endpoint();
                let mut context = Context::new();
                match base_url {
                    Some(base_url) => context = context.with_base_url(base_url.clone()),
                    None if self.0.http.base_url().is_none() && Url::parse(endpoint).is_err() => {
                        return Ok(());
                    }
                    None => {}
                }
                self.0.http.url(endpoint, &context).map(drop)
            }

            fn fetch<'a>(&'a self, context: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
                Box::pin(async move {
                    self.0
                        .fetch(context)
                        .await
                        .map_err(|error| error.with_step(&self.0.name))
                })
            }

            fn refresh<'a>(
                &'a self,
                token: &'a TokenData,
                context: &'a Context,
            ) -> Option<BoxFuture<'a, Result<TokenData>>> {
                if !self.0.can_refresh(token) {
                    return None;
                }
                Some(Box::pin(async move {
                    self.0
                        .refresh(token, context)
                        .await
                        .map_err(|error| error.with_step(&self.0.name))
                }))
            }
        }
    };
}

http_fetcher! {
    /// A step that reads its token from the response body: JSON fields
    /// (`access_token`, `token_type`, `expires_in`, `refresh_token` by default) or a
    /// form-encoded body. For OAuth2 and similar token endpoints.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokenfetch::BodyTokenFetcher;
    ///
    /// let fetcher = BodyTokenFetcher::builder("access_token")
    ///     .base_url("https://auth.example.com")
    ///     .endpoint("/oauth/token")
    ///     .data("grant_type", "client_credentials")
    ///     .data("client_id", "my-client")
    ///     .data("client_secret", "my-secret")
    ///     .ttl(Duration::from_secs(30 * 60))
    ///     .build()?;
    /// assert!(!format!("{fetcher:?}").contains("my-secret"));
    /// # Ok::<_, tokenfetch::Error>(())
    /// ```
    BodyTokenFetcher
}

http_fetcher! {
    /// A step that reads its token from a response header, for APIs that return
    /// tokens in headers rather than the body.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokenfetch::HeaderTokenFetcher;
    ///
    /// let fetcher = HeaderTokenFetcher::builder("app_token")
    ///     .base_url("https://auth.example.com")
    ///     .endpoint("/auth/token")
    ///     .header("X-App-Name", "my-app")
    ///     .header("X-App-Secret", "secret123")
    ///     .token_header("X-Auth-Token")
    ///     .ttl(Duration::from_secs(3600))
    ///     .build()?;
    /// # Ok::<_, tokenfetch::Error>(())
    /// ```
    HeaderTokenFetcher
}
