//! [`Error`]: why a token could not be had, and whether trying again can help.
//!
//! One opaque type with predicates, in the manner of `reqwest::Error`: the caller
//! branches on [`Error::kind`], [`Error::is_retryable`], [`Error::status`] or the
//! parsed [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) fields
//! of [`Error::oauth`], never on the message. An `Error` is cheap to clone, so that
//! every caller waiting on one fetch receives the same error. Its message never
//! holds a token, a secret or a request URL's query.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use super::graph_error::GraphError;
use super::redact::server_text;

/// The longest `Retry-After` honoured; a server asking for more gets this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// What went wrong, coarsely: enough to decide what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server could not be reached or the connection broke. Retryable.
    Transport,
    /// The request or the whole load took longer than allowed. Retryable.
    Timeout,
    /// The server failed or asked to slow down: 5xx, 408 or 429. Retryable; see
    /// [`Error::retry_after`].
    Server,
    /// The server refused the request: an RFC 6749 error or another 4xx. Not
    /// retryable: fix the credentials or the request.
    Refused,
    /// The server answered 2xx but the answer holds no usable token: a missing
    /// field or header, a body that does not parse, a body over the size limit.
    BadResponse,
    /// The step or the engine is configured wrongly: a bad URL, header or graph.
    Config,
    /// A token store failed: a file that cannot be read or written, a Redis that
    /// does not answer. The engine logs these and goes on without the store; a
    /// caller sees them from a store's own methods.
    Store,
    /// tokenfetch itself failed: a step's fetch panicked, or the runtime it ran on
    /// shut down before it finished.
    Internal,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Transport => "Could not reach the token server",
            ErrorKind::Timeout => "Timed out",
            ErrorKind::Server | ErrorKind::Refused => "Token request failed",
            ErrorKind::BadResponse => "Bad token response",
            ErrorKind::Config => "Invalid configuration",
            ErrorKind::Store => "Token store failed",
            ErrorKind::Internal => "Internal failure",
        }
    }
}

/// The error fields of [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2),
/// parsed from an error response's JSON or form-encoded body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct OAuthError {
    /// The error code: `invalid_client`, `invalid_grant`, `unauthorized_client`...
    pub error: String,
    /// A human-readable explanation, if the server sent one.
    #[serde(default)]
    pub error_description: Option<String>,
    /// A page about the error, if the server sent one.
    #[serde(default)]
    pub error_uri: Option<String>,
}

impl OAuthError {
    /// An error with only its code.
    pub(crate) fn new(error: impl Into<String>) -> Self {
        OAuthError {
            error: error.into(),
            error_description: None,
            error_uri: None,
        }
    }
}

/// Shows what the server wrote escaped (no line breaks or terminal escapes) and cut
/// after 256 characters.
impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&server_text(&self.error))?;
        if let Some(description) = &self.error_description {
            write!(f, ": {}", server_text(description))?;
        }
        if let Some(uri) = &self.error_uri {
            write!(f, " (see {})", server_text(uri))?;
        }
        Ok(())
    }
}

/// Why a token could not be had.
///
/// ```
/// use tokenfetch::{Error, ErrorKind};
///
/// let error = Error::new(ErrorKind::Refused, "credentials revoked").with_step("app_token");
/// assert_eq!(error.step(), Some("app_token"));
/// assert!(!error.is_retryable());
/// assert_eq!(error.to_string(), "Token request failed for step `app_token`: credentials revoked");
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    step: Option<String>,
    status: Option<StatusCode>,
    oauth: Option<OAuthError>,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message saying what happened. The message must not
    /// hold a secret.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                step: None,
                status: None,
                oauth: None,
                retry_after: None,
                source: None,
            }),
        }
    }

    /// A [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// A [`ErrorKind::Store`] error.
    pub fn store(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Store, message)
    }

    /// A [`ErrorKind::BadResponse`] error.
    pub fn bad_response(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadResponse, message)
    }

    /// The error for a non-2xx answer: [`ErrorKind::Server`] for 5xx, 408 and 429,
    /// [`ErrorKind::Refused`] for any other status.
    pub fn from_status(status: StatusCode) -> Self {
        let kind = if status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            ErrorKind::Server
        } else {
            ErrorKind::Refused
        };
        let mut error = Error::new(kind, format!("HTTP {status}"));
        error.inner_mut().status = Some(status);
        error
    }

    /// Names the step that failed; kept if already set.
    pub fn with_step(mut self, step: impl Into<String>) -> Self {
        if self.inner.step.is_none() {
            self.inner_mut().step = Some(step.into());
        }
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner_mut().source = Some(Arc::new(source));
        self
    }

    /// Says what was being done when the error happened: `what: message`.
    pub(crate) fn during(mut self, what: impl fmt::Display) -> Self {
        let inner = self.inner_mut();
        inner.message = format!("{what}: {}", inner.message);
        self
    }

    pub(crate) fn with_oauth(mut self, oauth: OAuthError) -> Self {
        self.inner_mut().oauth = Some(oauth);
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner_mut().retry_after = retry_after;
        self
    }

    /// Turns a `reqwest` failure into a transport or timeout error naming the
    /// server's host and port and the cause (connection refused, DNS, TLS), and
    /// dropping the URL's path and query (the query may carry request data).
    pub(crate) fn from_reqwest(error: reqwest::Error) -> Self {
        let server = error
            .url()
            .and_then(|url| {
                let host = url.host_str()?;
                Some(match url.port_or_known_default() {
                    Some(port) => format!("`{host}:{port}`"),
                    None => format!("`{host}`"),
                })
            })
            .unwrap_or_else(|| "the server".to_owned());
        let error = error.without_url();
        let (kind, message) = if error.is_timeout() {
            (
                ErrorKind::Timeout,
                format!("no answer from {server} within the step's timeout"),
            )
        } else if error.is_builder() {
            (
                ErrorKind::Config,
                "the token request could not be built".to_owned(),
            )
        } else if let Some(broken) = broken_http(&error) {
            (
                ErrorKind::BadResponse,
                format!("the answer from {server} is not HTTP a client can read: {broken}"),
            )
        } else {
            (ErrorKind::Transport, connection_failure(&server, &error))
        };
        Error::new(kind, message).with_source(error)
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The step that failed.
    pub fn step(&self) -> Option<&str> {
        self.inner.step.as_deref()
    }

    /// The HTTP status of the failed answer, where there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The RFC 6749 error the server sent, where it sent one.
    pub fn oauth(&self) -> Option<&OAuthError> {
        self.inner.oauth.as_ref()
    }

    /// How long the server asked to wait (`Retry-After`), where it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Which graph rule [`EngineBuilder::build`](crate::EngineBuilder::build)
    /// found broken, for a graph error.
    pub fn graph_error(&self) -> Option<&GraphError> {
        self.inner.source.as_deref()?.downcast_ref()
    }

    /// The message alone, without the step and the cause.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether trying again later may succeed: transport failures, timeouts, 5xx,
    /// 408 and 429, and store failures.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Server | ErrorKind::Store
        )
    }

    /// Whether the request or the load timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether the server refused the request (4xx other than 408 and 429).
    pub fn is_refused(&self) -> bool {
        self.inner.kind == ErrorKind::Refused
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.write_str(inner.kind.describe())?;
        if let Some(step) = &inner.step {
            write!(f, " for step `{step}`")?;
        }
        write!(f, ": {}", inner.message)?;
        if let Some(oauth) = &inner.oauth {
            write!(f, " ({oauth})")?;
        }
        if let Some(retry_after) = inner.retry_after {
            write!(f, "; retry after {}s", retry_after.as_secs())?;
        }
        Ok(())
    }
}

/// Reads like the message, followed by the fields a program branches on: what
/// `fn main() -> Result<(), Box<dyn Error>>` prints when it returns this error.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        write!(f, "{self}")?;
        let mut fields = f.debug_struct("");
        fields.field("kind", &inner.kind);
        if let Some(step) = &inner.step {
            fields.field("step", step);
        }
        if let Some(status) = inner.status {
            fields.field("status", &status.as_u16());
        }
        if let Some(oauth) = &inner.oauth {
            fields.field("oauth", &oauth.error);
        }
        if let Some(source) = &inner.source {
            fields.field("source", &format_args!("{source}"));
        }
        fields.finish()
    }
}

/// What is wrong with an answer that is not readable HTTP (a head over the
/// header limit, a malformed status line or header), from the HTTP parser's
/// words in the error's causes; `None` for any other failure.
fn broken_http(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if text.starts_with("message head is too large") {
            return Some(
                "its head has more headers, or longer ones, than allowed (at most 100 headers)"
                    .to_owned(),
            );
        }
        if text.starts_with("invalid HTTP") {
            return Some(text);
        }
        next = cause.source();
    }
    None
}

/// Says why a connection to `server` failed, from the innermost cause that names
/// it: refused, reset, DNS, TLS, or the cause's own words.
fn connection_failure(server: &str, error: &(dyn StdError + 'static)) -> String {
    let mut causes = Vec::new();
    let mut io_kind = None;
    let mut next = error.source();
    while let Some(cause) = next {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        causes.push(cause.to_string());
        next = cause.source();
    }
    let all = causes.join(": ").to_ascii_lowercase();
    let innermost = causes.last().map(String::as_str).unwrap_or("unknown cause");
    let reason = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset".to_owned(),
        Some(std::io::ErrorKind::ConnectionAborted) => "connection aborted".to_owned(),
        _ if all.contains("dns error") => format!("DNS lookup failed ({innermost})"),
        _ if all.contains("tls") || all.contains("certificate") || all.contains("handshake") => {
            format!("TLS failed ({innermost})")
        }
        _ => innermost.to_owned(),
    };
    format!(
        "cannot connect to {server}: {reason}; check that the server is up and the URL is right"
    )
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_decides_the_kind() {
        assert_eq!(
            Error::from_status(StatusCode::UNAUTHORIZED).kind(),
            ErrorKind::Refused
        );
        for status in [408, 429, 500, 502, 503, 504] {
            let error = Error::from_status(StatusCode::from_u16(status).unwrap());
            assert_eq!(error.kind(), ErrorKind::Server, "{status}");
            assert!(error.is_retryable());
        }
    }

    #[test]
    fn refusal_message_names_step_status_and_oauth_error() {
        let error = Error::from_status(StatusCode::UNAUTHORIZED)
            .with_step("test_token")
            .with_oauth(OAuthError {
                error: "invalid_client".into(),
                error_description: Some("unknown client".into()),
                error_uri: None,
            });
        assert_eq!(
            error.to_string(),
            "Token request failed for step `test_token`: HTTP 401 Unauthorized (invalid_client: unknown client)"
        );
    }

    #[test]
    fn first_step_name_wins() {
        let error = Error::config("x").with_step("inner").with_step("outer");
        assert_eq!(error.step(), Some("inner"));
    }
}
