//! Calls a protected API through the authenticating middleware, after the 3-step
//! auth chain (device token, app token, user token) that the middleware's step
//! depends on. Everything runs against a demo server on 127.0.0.1.
//!
//! Run it with `cargo run --example middleware --features middleware`.

#[path = "support/mod.rs"]
mod support;

use tokenfetch::{AuthMiddleware, BodyTokenFetcher, Engine, HeaderTokenFetcher, Injection};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = support::start().await;
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            HeaderTokenFetcher::builder("device_token")
                .endpoint("/device/register")
                .header("X-Device-ID", "device-123")
                .token_header("X-Device-Token")
                .build()?,
        )
        .step(
            BodyTokenFetcher::builder("app_token")
                .endpoint("/v1/app/token")
                .data("client_id", "app")
                .data("client_secret", "s3cret")
                .token_field("token")
                .build()?,
        )
        .step(
            BodyTokenFetcher::builder("user_token")
                .endpoint("/v1/user/token")
                .json()
                .data("username", "u")
                .data("password", "p")
                .depends_on("device_token")
                .depends_on("app_token")
                .inject_header("device_token", "X-Device-Token")
                .inject(Injection::header("app_token", "Authorization").format("Bearer {token}"))
                .build()?,
        )
        .build()?;

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(engine, "user_token")?)
        .build();
    for _ in 0..3 {
        let profile: serde_json::Value = client
            .get(format!("{}/api/profile", server.uri()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        println!("profile: {profile}");
    }
    let requests = server.received_requests().await.unwrap_or_default().len();
    println!("requests: {requests} (3 token requests, then 3 API calls)");
    Ok(())
}
