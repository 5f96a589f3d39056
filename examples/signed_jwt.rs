//! JWTs signed here: `private_key_jwt` client authentication with a JWT bearer
//! grant (RFC 7523), and the GitHub App pattern, where a locally signed app JWT
//! is traded for an installation token; against a demo server on 127.0.0.1.
//!
//! Run it with `cargo run --example signed_jwt`.

#[path = "support/oauth.rs"]
mod oauth;

use std::time::Duration;

use tokenfetch::{
    BodyTokenFetcher, ClientAuth, Engine, Grant, Injection, JwtBearer, SignedJwtFetcher,
    SigningAlgorithm, SigningKey,
};

/// A demo key; a real one comes from a secret store.
const PRIVATE_KEY: &str = include_str!("../tests/keys/ec.pem");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = oauth::start().await;
    let key = SigningKey::from_pem(SigningAlgorithm::ES256, PRIVATE_KEY)?.with_kid("demo-key");

    let engine = Engine::builder()
        .base_url(server.uri())
        // The client proves itself with an assertion signed by its key, and asks
        // for a token on behalf of a user with a second signed assertion.
        .step(
            BodyTokenFetcher::builder("delegated")
                .endpoint("/oauth/token")
                .client_auth(ClientAuth::private_key_jwt(
                    "reporting-service",
                    key.clone(),
                ))
                .grant(Grant::jwt_bearer(JwtBearer::signed(
                    key.clone(),
                    "reporting-service",
                    "ann@example.com",
                )))
                .build()?,
        )
        // The GitHub App pattern: no HTTP for the app JWT (`iat` a minute back,
        // `exp` nine minutes ahead), then the installation token.
        .step(
            SignedJwtFetcher::new("github_app", key)
                .issuer("123456")
                .backdate(Duration::from_secs(60))
                .lifetime(Duration::from_secs(9 * 60)),
        )
        .step(
            BodyTokenFetcher::builder("installation")
                .endpoint("/app/installations/42/access_tokens")
                .depends_on("github_app")
                .inject(Injection::header("github_app", "Authorization").format("Bearer {token}"))
                .token_field("token")
                .build()?,
        )
        .build()?;

    let delegated = engine.token_by_name("delegated").await?;
    println!("delegated token: {}", delegated.access_token().expose());
    let installation = engine.token_by_name("installation").await?;
    println!(
        "installation token: {} (expires {})",
        installation.access_token().expose(),
        installation
            .expires_at()
            .map(|at| at.to_rfc3339())
            .unwrap_or_default()
    );
    Ok(())
}
