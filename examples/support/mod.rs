//! A demo auth server on 127.0.0.1 for the examples: device registration (token in
//! a response header), app credentials (token in the body field `token`), user login
//! (needs both earlier tokens), and a protected API. Every token endpoint refuses a
//! request that lacks what it needs, as a real server would.

#![allow(dead_code)]

use serde_json::json;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const DEVICE_TOKEN: &str = "dev-7f3a";
pub const APP_TOKEN: &str = "app-91c2";
pub const USER_TOKEN: &str = "user-55d0";

/// Prints how many requests reached the server, then calls the protected API
/// with the user token and prints the answer.
pub async fn use_token(
    server: &MockServer,
    user: &tokenfetch::TokenData,
) -> Result<(), Box<dyn std::error::Error>> {
    let requests = server.received_requests().await.unwrap_or_default().len();
    println!("requests sent to the auth server: {requests}");
    let profile: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/profile", server.uri()))
        .bearer_auth(user.access_token().expose())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("profile: {profile}");
    Ok(())
}

/// Starts the server on a free port; it stops when the returned value is dropped.
pub async fn start() -> MockServer {
    serve(MockServer::start().await).await
}

/// Starts the server on `listener`.
pub async fn start_on(listener: std::net::TcpListener) -> MockServer {
    serve(MockServer::builder().listener(listener).start().await).await
}

async fn serve(server: MockServer) -> MockServer {
    Mock::given(method("POST"))
        .and(path("/device/register"))
        .and(header("X-Device-ID", "device-123"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", DEVICE_TOKEN))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/app/token"))
        .and(body_string("client_id=app&client_secret=s3cret"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": APP_TOKEN, "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/user/token"))
        .and(header("X-Device-Token", DEVICE_TOKEN))
        .and(header(
            "Authorization",
            format!("Bearer {APP_TOKEN}").as_str(),
        ))
        .and(body_json(json!({"username": "u", "password": "p"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": USER_TOKEN,
            "token_type": "Bearer",
            "expires_in": 900,
            "scope": "profile"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/profile"))
        .and(header(
            "Authorization",
            format!("Bearer {USER_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "u", "plan": "pro"})))
        .mount(&server)
        .await;
    // Anything else is refused the way an OAuth2 server refuses.
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "missing or wrong credentials"
        })))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}
