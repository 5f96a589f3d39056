//! A demo OAuth 2.0 authorization server on 127.0.0.1 for the OAuth examples: a
//! discovery document, and one token endpoint that checks what each grant must
//! carry (client authentication, grant parameters) and refuses the rest as RFC
//! 6749 §5.2 says; a device authorization endpoint whose user approves on the
//! second poll; a GitHub-style installation token endpoint.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The demo client, registered for `client_secret_basic`.
pub const CLIENT_ID: &str = "demo-client";
pub const CLIENT_SECRET: &str = "p+ss w:rd/%&=";

/// Starts the server; it stops when the returned value is dropped.
pub async fn start() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "token_endpoint": format!("{}/oauth/token", server.uri()),
            "device_authorization_endpoint": format!("{}/oauth/device", server.uri()),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(TokenEndpoint::default())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/device"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "device-code-1",
            "user_code": "WDJB-MJHT",
            "verification_uri": format!("{}/activate", server.uri()),
            "expires_in": 600,
            "interval": 1
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/42/access_tokens"))
        .respond_with(|request: &Request| match bearer(request) {
            // A signed app JWT: three base64url parts.
            Some(jwt) if jwt.split('.').count() == 3 => ResponseTemplate::new(201)
                .set_body_json(json!({"token": "ghs_demo", "expires_at": "2030-01-01T00:00:00Z"})),
            _ => refuse(401, "invalid_client", "an app JWT is required"),
        })
        .mount(&server)
        .await;
    server
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn refuse(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": error, "error_description": description}))
}

fn issue(token: &str, extra: Value) -> ResponseTemplate {
    let mut body = json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    ResponseTemplate::new(200).set_body_json(body)
}

/// The token endpoint: client authentication, then the grant.
#[derive(Default)]
struct TokenEndpoint {
    polls: AtomicUsize,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
        let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        // Basic, the id and secret form-urlencoded first (RFC 6749 §2.3.1); or
        // a client assertion (RFC 7523 §2.2); or a public client's id.
        let encode = |text: &str| form_urlencoded_text(text);
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encode(CLIENT_ID),
                encode(CLIENT_SECRET)
            ))
        );
        let authenticated = request
            .headers
            .get("authorization")
            .is_some_and(|value| value == basic.as_str())
            || field("client_assertion_type")
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            || field("client_id") == Some("tv-app");
        if !authenticated {
            return refuse(401, "invalid_client", "client authentication failed");
        }
        match field("grant_type") {
            Some("client_credentials") => issue(
                "cc-token",
                json!({"scope": field("scope"), "refresh_token": "rt-1"}),
            ),
            Some("refresh_token") if field("refresh_token") == Some("rt-1") => {
                issue("cc-token-2", json!({}))
            }
            Some("urn:ietf:params:oauth:grant-type:token-exchange")
                if field("subject_token") == Some("cc-token")
                    && field("subject_token_type")
                        == Some("urn:ietf:params:oauth:token-type:access_token") =>
            {
                issue(
                    &format!("orders-token-for-{}", field("audience").unwrap_or("?")),
                    json!({"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}),
                )
            }
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") if field("assertion").is_some() => {
                issue("delegated-token", json!({}))
            }
            Some("urn:ietf:params:oauth:grant-type:device_code")
                if field("device_code") == Some("device-code-1") =>
            {
                // The user approves between the first and second poll.
                match self.polls.fetch_add(1, Ordering::SeqCst) {
                    0 => refuse(
                        400,
                        "authorization_pending",
                        "the user has not answered yet",
                    ),
                    _ => issue("tv-token", json!({"refresh_token": "tv-refresh"})),
                }
            }
            _ => refuse(400, "invalid_grant", "the grant is not valid"),
        }
    }
}

fn form_urlencoded_text(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap()[1..].to_owned()
}
