//! [`BodyTokenFetcher`] and [`HeaderTokenFetcher`]: the two HTTP steps, one request
//! each, differing only in where the token is read from. Both are made by a
//! [`FetcherBuilder`](crate::FetcherBuilder).

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderName;

use crate::error::Result;
use crate::fetcher::{BoxFuture, Context, TokenFetcher};
use crate::http::HttpTokenFetcher;
use crate::request::RequestTemplate;
use crate::response::{BodyFields, token_from_header};
use crate::store::StepIdentity;
use crate::token::TokenData;

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

/// A configured HTTP step: what both fetchers are.
#[derive(Clone)]
pub(crate) struct HttpStep {
    pub(crate) name: String,
    pub(crate) depends_on: Vec<String>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) http: HttpTokenFetcher,
    pub(crate) template: RequestTemplate,
    pub(crate) source: TokenSource,
}

impl HttpStep {
    async fn fetch(&self, context: &Context) -> Result<TokenData> {
        let request = self.template.render(context)?;
        self.send(request, context).await
    }

    async fn send(&self, request: crate::TokenRequest, context: &Context) -> Result<TokenData> {
        let request = request.into_reqwest(&self.http, context)?;
        let response = self.http.send(request).await?;
        match &self.source {
            TokenSource::Body { fields, .. } => fields.read(&response),
            TokenSource::Header { header, token_type } => {
                token_from_header(&response, header, token_type)
            }
        }
    }

    /// The OAuth2 `refresh_token` grant: the step's request with its data replaced
    /// by `grant_type`, `refresh_token` and the client credentials it carried.
    async fn refresh(&self, token: &TokenData, context: &Context) -> Result<TokenData> {
        let refresh_token = token
            .refresh_token()
            .expect("refresh is only offered for tokens with a refresh token");
        let mut request = self.template.render(context)?;
        let kept: Vec<_> = ["client_id", "client_secret", "scope"]
            .into_iter()
            .filter_map(|key| request.data(key).map(|value| (key, value.clone())))
            .collect();
        for key in [
            "grant_type",
            "username",
            "password",
            "client_id",
            "client_secret",
            "scope",
            "code",
        ] {
            request.remove_data(key);
        }
        request.set_data("grant_type", "refresh_token");
        request.set_data("refresh_token", refresh_token.clone());
        for (key, value) in kept {
            request.set_data(key, value);
        }
        let mut fresh = self.send(request, context).await?;
        fresh.keep_refresh_token(token);
        Ok(fresh)
    }

    fn identify(&self, identity: &mut StepIdentity) {
        identity.add(&self.name);
        if let Some(base_url) = self.http.base_url() {
            identity.add(base_url.as_str());
        }
        for (name, value) in self.http.headers() {
            identity.add(name.as_str()).add(value.as_bytes());
        }
        self.template.request.identify(identity);
        for injection in &self.template.injections {
            identity.add(format!("{injection:?}"));
        }
        identity.add(format!("{:?}", self.source));
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
            pub fn http(&self) -> &HttpTokenFetcher {
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
