//! [`HttpResponse`]: a token endpoint's answer, read within its limits. A 2xx body
//! is read whole up to [`MAX_BODY_BYTES`]; of a non-2xx body only a bounded
//! prefix, for its RFC 6749 error fields, since the status has decided. The media
//! type, `Retry-After` and the error fields are read here, whatever the server
//! sent.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::model::{Error, MAX_RETRY_AFTER, OAuthError, Result, server_text};

/// The largest response body a token endpoint may send: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How much of a non-2xx body is read for its RFC 6749 error fields: the status
/// has decided already, so the rest is never read and never an error.
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// A token endpoint's answer, read whole (at most [`MAX_BODY_BYTES`]).
#[derive(Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpResponse {
    /// Reads an answer: a 2xx body whole, within [`MAX_BODY_BYTES`]; for any
    /// other status, the error carrying it, read from at most the first 64 KiB of
    /// the body, whatever its size.
    pub(crate) async fn read(mut response: reqwest::Response) -> Result<HttpResponse> {
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        if status.is_success() {
            let body = read_limited(&mut response).await?;
            return Ok(HttpResponse {
                status,
                headers,
                body,
            });
        }
        let body = read_prefix(&mut response, MAX_ERROR_BODY_BYTES).await;
        Err(HttpResponse {
            status,
            headers,
            body,
        }
        .status_error())
    }

    /// An answer from its parts, as read off the wire.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_parts(status: StatusCode, headers: HeaderMap, body: Vec<u8>) -> Self {
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// The error for this answer's status, as [`HttpSettings::send`](crate::HttpSettings::send) makes it.
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
async fn read_prefix(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
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
async fn read_limited(response: &mut reqwest::Response) -> Result<Vec<u8>> {
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
    // Room for a usual token body at once; a larger one grows as it comes, so
    // that a length announced is not memory taken before the bytes arrive.
    let announced = response.content_length().unwrap_or(0).min(16 * 1024);
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = response.chunk().await.map_err(Error::from_reqwest)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_description_never_shows_content() {
        assert_eq!(describe_body(b""), "the body is empty");
        assert!(describe_body(b"  <html>secret</html>").contains("HTML"));
        assert!(!describe_body(b"secret").contains("secret"));
    }
}
