//! What a request to an OAuth 2.0 token endpoint gets at send time, beyond its
//! template: the endpoint read from the issuer's metadata, the client's
//! authentication, a JWT bearer assertion signed for this request; and what the
//! answer must hold (the `issued_token_type` asked for).

use std::sync::Arc;

use reqwest::header::AUTHORIZATION;
use url::Url;

use super::grant::{JWT_BEARER, SignedAssertion};
use super::request::TokenRequest;
use crate::http::HttpSettings;
use crate::model::{Error, Result, Secret, TokenData, redacted_url, server_text};
use crate::oauth::{ClientAuth, Discovered, ProviderMetadata, assertion_claims, discover};
use crate::step::{Context, StepIdentity};

/// A step's OAuth settings that act when it sends.
#[derive(Clone, Debug, Default)]
pub(crate) struct TokenEndpoint {
    /// The issuer whose metadata is read.
    pub(crate) issuer: Option<Url>,
    /// Whether the token endpoint is the issuer's, not the step's own endpoint.
    pub(crate) from_issuer: bool,
    pub(crate) client_auth: Option<ClientAuth>,
    pub(crate) signed_assertion: Option<SignedAssertion>,
    pub(crate) requested_token_type: Option<String>,
    /// The issuer's metadata when the step is fetched outside an engine.
    pub(crate) discovered: Discovered,
}

impl TokenEndpoint {
    /// Whether sending adds nothing to the template's request.
    pub(crate) fn adds_nothing(&self) -> bool {
        self.issuer.is_none() && self.client_auth.is_none() && self.signed_assertion.is_none()
    }

    /// The issuer's metadata, if the step names an issuer.
    pub(crate) async fn metadata(
        &self,
        http: &HttpSettings,
        context: &Context,
    ) -> Result<Option<Arc<ProviderMetadata>>> {
        match &self.issuer {
            Some(issuer) => discover(http, issuer, context, &self.discovered)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// `request` as it is sent: to the issuer's token endpoint if the step has no
    /// endpoint of its own, with the client's authentication and a freshly signed
    /// assertion.
    pub(crate) async fn prepare(
        &self,
        request: &TokenRequest,
        http: &HttpSettings,
        context: &Context,
    ) -> Result<TokenRequest> {
        let metadata = self.metadata(http, context).await?;
        let mut request = request.clone();
        if self.from_issuer
            && let Some(metadata) = &metadata
        {
            request.set_endpoint(metadata.token_endpoint().as_str());
        }
        let url = http.url(request.endpoint(), context)?;
        self.authenticate(&mut request, &url, metadata.as_deref())?;
        // The JWT bearer grant's own request, not a refresh of its token.
        if let Some(signed) = &self.signed_assertion
            && request.data("grant_type").map(Secret::expose) == Some(JWT_BEARER)
        {
            let audience = signed.audience.as_deref().unwrap_or(url.as_str());
            let claims = assertion_claims(
                &signed.issuer,
                &signed.subject,
                audience,
                signed.lifetime,
                &signed.claims,
            );
            request.set_data("assertion", signed.key.sign(&claims)?);
        }
        Ok(request)
    }

    /// Adds the client's authentication for a request to `url`.
    pub(crate) fn authenticate(
        &self,
        request: &mut TokenRequest,
        url: &Url,
        metadata: Option<&ProviderMetadata>,
    ) -> Result<()> {
        let Some(auth) = &self.client_auth else {
            return Ok(());
        };
        let supported = metadata.and_then(ProviderMetadata::token_endpoint_auth_methods_supported);
        let credentials = auth.credentials(url, supported)?;
        if let Some(header) = credentials.header {
            request.insert_header(AUTHORIZATION, header);
        }
        for (key, value) in credentials.fields {
            request.set_data(key, value);
        }
        Ok(())
    }

    /// Checks the answer: a token exchange that asked for a token type gets that
    /// type (RFC 8693 §2.2.1); an answer that names no type is taken as it is.
    pub(crate) fn check(&self, token: &TokenData) -> Result<()> {
        if let Some(requested) = &self.requested_token_type
            && let Some(issued) = token.issued_token_type()
            && issued != requested
        {
            return Err(Error::bad_response(format!(
                "the server issued a token of type `{}`, not the `{requested}` the step asked for",
                server_text(issued)
            )));
        }
        Ok(())
    }

    /// The settings, in the explicit encoding of [`StepIdentity`].
    pub(crate) fn identify(&self, identity: &mut StepIdentity) {
        if let Some(issuer) = &self.issuer {
            identity
                .field("issuer", issuer.as_str())
                .field("endpoint_from_issuer", [u8::from(self.from_issuer)]);
        }
        if let Some(auth) = &self.client_auth {
            auth.identify(identity);
        }
        if let Some(signed) = &self.signed_assertion {
            signed.identify(identity);
        }
        if let Some(requested) = &self.requested_token_type {
            identity.field("requested_token_type", requested);
        }
    }

    /// The issuer, for messages.
    pub(crate) fn describe_issuer(&self) -> Option<String> {
        self.issuer.as_ref().map(redacted_url)
    }
}
