//! The device authorization grant (RFC 8628): [`DeviceFlow`] asks the server for a
//! device code, hands the user code and the verification URI to the user's
//! callback as a [`DevicePrompt`], then polls the token endpoint at the server's
//! interval until the user approves, refuses, or the code expires. A device code
//! is used for one flow only: each fetch starts a new flow (and asks the user
//! again), which is how a step without a usable refresh token is renewed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::http_step::HttpStep;
use crate::http::HttpResponse;
use crate::model::{Error, ErrorKind, OAuthError, Result, Secret, TokenData};
use crate::step::Context;

/// What the server asks when it has not seen the user's answer yet (RFC 8628 §3.5).
const PENDING: &str = "authorization_pending";
/// What the server asks when the client polls too often: 5 s more between polls.
const SLOW_DOWN: &str = "slow_down";
/// The interval when the server names none (RFC 8628 §3.2).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest interval: a server's `0` does not make the client spin.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest wait between polls after transient failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// What a load of the flow may take beyond `max_wait`: the device authorization
/// request and the last poll.
const LOAD_SLACK: Duration = Duration::from_secs(60);
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The device authorization grant's settings (RFC 8628), for
/// [`Grant::device_code`](crate::Grant::device_code): where to ask for the device
/// code (the issuer's `device_authorization_endpoint` by default) and the callback
/// that shows the user where to go.
///
/// The step's client authentication (at least
/// [`ClientAuth::none`](crate::ClientAuth::none) with the client id) goes with
/// both requests, and the grant's scopes with the first. Polling follows the
/// server: `interval` seconds apart (5 without one), 5 s more after each
/// `slow_down`, on after `authorization_pending` and after transient failures
/// (waiting longer after each, as `Retry-After` says or up to a minute); a
/// refusal (`access_denied`), an expired code (`expired_token`, or the code's
/// `expires_in` passing) ends the flow with a
/// [`Refused`](crate::ErrorKind::Refused) error carrying that OAuth error code.
/// The whole flow may take up to [`max_wait`](DeviceFlow::max_wait) (30 minutes
/// by default), which an engine takes as the step's load timeout.
///
/// ```
/// use tokenfetch::{BodyTokenFetcher, ClientAuth, DeviceFlow, Grant};
///
/// let tv = BodyTokenFetcher::builder("tv")
///     .issuer("https://auth.example.com")
///     .client_auth(ClientAuth::none("living-room-tv"))
///     .grant(Grant::device_code(DeviceFlow::new(|prompt| {
///         eprintln!("Open {} and enter {}", prompt.verification_uri(), prompt.user_code());
///     })).scope("profile"))
///     .refresh_grant(true)
///     .build()?;
/// # Ok::<_, tokenfetch::Error>(())
/// ```
#[derive(Clone)]
pub struct DeviceFlow {
    endpoint: Option<String>,
    on_prompt: Arc<dyn Fn(&DevicePrompt) + Send + Sync>,
    max_wait: Duration,
}

impl DeviceFlow {
    /// A flow that calls `on_prompt` once per device code, to show the user the
    /// code and where to enter it.
    pub fn new(on_prompt: impl Fn(&DevicePrompt) + Send + Sync + 'static) -> Self {
        DeviceFlow {
            endpoint: None,
            on_prompt: Arc::new(on_prompt),
            max_wait: Duration::from_secs(30 * 60),
        }
    }

    /// The device authorization endpoint: a path relative to the step's base URL,
    /// or an absolute URL. Without it, the issuer's metadata names it.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The longest the flow may take, whatever the device code's own expiry
    /// (default 30 minutes).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The longest one load of a step with this flow may take.
    pub(crate) fn load_timeout(&self) -> Duration {
        self.max_wait + LOAD_SLACK
    }

    pub(crate) fn endpoint_value(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
}

impl fmt::Debug for DeviceFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceFlow")
            .field("endpoint", &self.endpoint)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

/// What the user needs to approve a device (RFC 8628 §3.2): the code to enter and
/// where. The device code itself is never shown.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: Duration,
}

impl DevicePrompt {
    /// The code the user enters.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the user enters it.
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// A URI that carries the code already (for a QR code), if the server gave one.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// How long the code stays valid.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Deserialize)]
struct Authorization {
    device_code: Secret,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: Option<f64>,
    interval: Option<f64>,
}

/// Runs the flow for `step`: the device authorization request, the prompt, the
/// polls.
pub(crate) async fn run(
    step: &HttpStep,
    flow: &DeviceFlow,
    context: &Context,
) -> Result<TokenData> {
    let metadata = step.endpoint.metadata(&step.http, context).await?;
    let endpoint = match (flow.endpoint_value(), &metadata) {
        (Some(endpoint), _) => endpoint.to_owned(),
        (None, Some(metadata)) => metadata
            .device_authorization_endpoint()
            .ok_or_else(|| {
                Error::config(format!(
                    "the metadata of issuer `{}` names no `device_authorization_endpoint`; set it with `DeviceFlow::endpoint`",
                    step.endpoint.describe_issuer().unwrap_or_default()
                ))
            })?
            .to_string(),
        (None, None) => {
            return Err(Error::config(
                "the device flow has no device authorization endpoint: set `DeviceFlow::endpoint`, or an `issuer` whose metadata names one",
            ));
        }
    };
    let template = step.template.render(context)?;
    // The step's request without its grant: scope, headers, query and any
    // extension parameter (an `audience`, say) go with the device request.
    let mut request = template.as_ref().clone();
    request.set_endpoint(&endpoint);
    request.remove_data("grant_type");
    let url = step.http.url(&endpoint, context)?;
    step.endpoint
        .authenticate(&mut request, &url, metadata.as_deref())?;
    let during = "the device authorization request";
    let response = step
        .http
        .send(request.to_reqwest(&step.http, context)?)
        .await
        .map_err(|error| error.during(during))?;
    let (device_code, prompt, mut interval) =
        read_authorization(&response, flow.max_wait).map_err(|error| error.during(during))?;
    let expires_in = prompt.expires_in;
    (flow.on_prompt)(&prompt);

    let deadline = Instant::now() + expires_in;
    let mut poll = template.into_owned();
    poll.remove_data("scope");
    poll.set_data("device_code", device_code);
    let mut wait = interval;
    loop {
        // The last poll goes out when the code expires; the server has the
        // final word on whether the user approved in time.
        let last = Instant::now() + wait >= deadline;
        tokio::time::sleep_until((Instant::now() + wait).min(deadline)).await;
        let error = match step.send(&poll, context).await {
            Ok(token) => return Ok(token),
            Err(error) => error,
        };
        wait = interval;
        if error.is_retryable() {
            // A failing server or network: the user may be approving right now,
            // so poll on, further apart.
            let backoff = error.retry_after().unwrap_or(wait * 2).min(MAX_BACKOFF);
            tracing::debug!(step = %step.name, "device flow poll failed, polling on: {error}");
            wait = backoff.max(interval);
        } else {
            match error.oauth().map(|oauth| oauth.error.as_str()) {
                Some(PENDING) => {}
                Some(SLOW_DOWN) => {
                    interval += SLOW_DOWN_STEP;
                    wait = interval;
                }
                Some(_) => return Err(error.during("the device authorization ended")),
                None => return Err(error),
            }
        }
        if last {
            return Err(expired(expires_in));
        }
    }
}

/// The device code, what the user is shown, and the polling interval, from the
/// device authorization response; the code's lifetime is capped at `max_wait`.
pub(crate) fn read_authorization(
    response: &HttpResponse,
    max_wait: Duration,
) -> Result<(Secret, DevicePrompt, Duration)> {
    let authorization: Authorization = response.json()?;
    let seconds = |value: Option<f64>, default: Duration| match value {
        Some(value) if value.is_finite() && value >= 0.0 => {
            Duration::from_secs_f64(value.min(86_400.0))
        }
        _ => default,
    };
    let prompt = DevicePrompt {
        user_code: authorization.user_code,
        verification_uri: authorization.verification_uri,
        verification_uri_complete: authorization.verification_uri_complete,
        expires_in: seconds(authorization.expires_in, max_wait).min(max_wait),
    };
    let interval = seconds(authorization.interval, DEFAULT_INTERVAL).max(MIN_INTERVAL);
    Ok((authorization.device_code, prompt, interval))
}

/// The error when the code expires before the user answers.
fn expired(expires_in: Duration) -> Error {
    Error::new(
        ErrorKind::Refused,
        format!(
            "the device code expired after {} s before the user approved it; fetch again for a new code",
            expires_in.as_secs()
        ),
    )
    .with_oauth(OAuthError::new("expired_token"))
}
