//! The main example: a device token (from a response header), an app token (from a
//! JSON body field) and a user token whose request carries both, fetched by the
//! engine against a demo auth server it starts on 127.0.0.1.
//!
//! Run it with `cargo run --example multi_step`.

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use tokenfetch::{BodyTokenFetcher, Engine, HeaderTokenFetcher, Injection};

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
                .ttl(Duration::from_secs(30 * 24 * 3600))
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

    // Fetches device_token and app_token concurrently, then user_token.
    let user = engine.token_by_name("user_token").await?;
    println!("user token: {user:?}");
    println!("expires in: {:?}", user.expires_in());

    // Later calls are served from the cache: no request goes out.
    let again = engine.token_by_name("user_token").await?;
    assert_eq!(user, again);

    // Use the token.
    support::use_token(&server, &user).await
}
