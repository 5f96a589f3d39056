//! The device authorization grant (RFC 8628): the user is shown a code and where
//! to enter it, and the step polls until they approve; against a demo server on
//! 127.0.0.1 whose user approves after the first poll.
//!
//! Run it with `cargo run --example device_flow`.

#[path = "support/oauth.rs"]
mod oauth;

use tokenfetch::{BodyTokenFetcher, ClientAuth, DeviceFlow, Engine, Grant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = oauth::start().await;
    let engine = Engine::builder()
        .step(
            BodyTokenFetcher::builder("tv")
                // The device authorization and token endpoints from discovery.
                .issuer(server.uri())
                .client_auth(ClientAuth::none("tv-app"))
                .grant(
                    Grant::device_code(DeviceFlow::new(|prompt| {
                        println!(
                            "To sign in, open {} and enter {} (valid {} s)",
                            prompt.verification_uri(),
                            prompt.user_code(),
                            prompt.expires_in().as_secs()
                        );
                    }))
                    .scope("profile"),
                )
                .refresh_grant(true)
                .build()?,
        )
        .build()?;
    let token = engine.token_by_name("tv").await?;
    println!("signed in: {}", token.access_token().expose());
    Ok(())
}
