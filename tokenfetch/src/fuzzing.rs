//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not a public
//! API): each hands outside data to the parser the library itself uses, through
//! the same function, so that what is fuzzed is what runs.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::fetchers::{BodyFields, token_from_header};
use crate::http::HttpResponse;
use crate::model::{Error, OAuthError, Result, TokenData};
use crate::store::StoredToken;

/// An answer with status `status`, the given headers (those that are not valid
/// header names or values are dropped, as no HTTP client would pass them on) and
/// `body`.
fn response(status: u16, headers: &[(&[u8], &[u8])], body: &[u8]) -> Option<HttpResponse> {
    let status = StatusCode::from_u16(status).ok()?;
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    Some(HttpResponse::from_parts(status, map, body.to_vec()))
}

/// A 2xx token response read by a body step with the default field names.
pub fn body_token(content_type: &[u8], body: &[u8]) -> Result<TokenData> {
    let response =
        response(200, &[(b"content-type", content_type)], body).expect("200 is a status");
    BodyFields::default().read(&response)
}

/// A token read from a response header (`Authorization`) by a header step whose
/// token type is `token_type`.
pub fn header_token(value: &[u8], token_type: &str) -> Result<TokenData> {
    let response = response(200, &[(b"authorization", value)], b"").expect("200 is a status");
    token_from_header(&response, &reqwest::header::AUTHORIZATION, token_type)
}

/// The `Retry-After` delay of an answer with this header value.
pub fn retry_after(value: &[u8]) -> Option<Duration> {
    response(503, &[(b"retry-after", value)], b"")?.retry_after()
}

/// The RFC 6749 error fields of a non-2xx body.
pub fn oauth_error(content_type: &[u8], body: &[u8]) -> Option<OAuthError> {
    response(400, &[(b"content-type", content_type)], body)?.oauth_error()
}

/// The error of a non-2xx answer, message and all.
pub fn status_error(status: u16, headers: &[(&[u8], &[u8])], body: &[u8]) -> Option<Error> {
    let response = response(status, headers, body)?;
    (!response.status().is_success()).then(|| response.error())
}

/// An issuer's metadata from a discovery document's 2xx answer.
pub fn discovery_document(issuer: &str, body: &[u8]) -> Option<Result<crate::ProviderMetadata>> {
    let issuer = url::Url::parse(issuer).ok()?;
    let response = response(200, &[(b"content-type", b"application/json")], body)?;
    Some(crate::oauth::read_discovery(&issuer, &response))
}

/// What a device authorization response (RFC 8628 §3.2) shows the user, and the
/// polling interval.
pub fn device_authorization(body: &[u8]) -> Result<(crate::DevicePrompt, Duration)> {
    let response =
        response(200, &[(b"content-type", b"application/json")], body).expect("200 is a status");
    crate::fetchers::read_authorization(&response, Duration::from_secs(1800))
        .map(|(_, prompt, interval)| (prompt, interval))
}

/// The `exp` of a token, read as a JWT.
pub fn jwt_expiry(token: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    crate::oauth::jwt_expiry(token)
}

/// The tokens of a token file's contents.
pub fn token_file(bytes: &[u8]) -> Result<Vec<(String, StoredToken)>> {
    let contents = crate::store::FileStore::parse(Path::new("tokens.json"), bytes)?;
    Ok(contents.tokens.into_iter().collect())
}

/// A Redis entry's value.
#[cfg(feature = "redis")]
pub fn redis_entry(value: &[u8]) -> Result<StoredToken> {
    let key = crate::store::StoreKey::new("fuzz", crate::step::StepIdentity::new());
    crate::store::redis::decode(&key, value)
}
