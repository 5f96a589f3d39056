//! Client credentials (RFC 6749 §4.4) with `client_secret_basic`, the token
//! endpoint and the authentication method read from the issuer's discovery
//! document, against a demo authorization server on 127.0.0.1. The token comes
//! with a refresh token: the engine renews it with the refresh grant (RFC 6749
//! §6), the client authenticating again, shortly before it expires.
//!
//! Run it with `cargo run --example client_credentials`.

#[path = "support/oauth.rs"]
mod oauth;

use tokenfetch::{BodyTokenFetcher, ClientAuth, Engine, Grant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = oauth::start().await;

    let engine = Engine::builder()
        .step(
            BodyTokenFetcher::builder("api")
                .issuer(server.uri())
                // Basic or post, as the server's metadata says: here, Basic, with
                // the id and secret form-urlencoded first (RFC 6749 §2.3.1).
                .client_auth(ClientAuth::secret(oauth::CLIENT_ID, oauth::CLIENT_SECRET))
                .grant(Grant::client_credentials().scopes(["read", "write"]))
                .refresh_grant(true)
                .build()?,
        )
        .build()?;

    let token = engine.token_by_name("api").await?;
    println!(
        "api token: {} (scope {}, expires in {} s)",
        token.access_token().expose(),
        token.extra()["scope"],
        token.expires_in().unwrap_or_default().as_secs()
    );
    Ok(())
}
