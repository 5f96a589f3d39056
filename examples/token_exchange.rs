//! A chain made of standard grants, declared with the derive: a client
//! credentials token, exchanged (RFC 8693) for a token for the orders API,
//! against a demo authorization server on 127.0.0.1 whose address is known only
//! at run time.
//!
//! Run it with `cargo run --example token_exchange`.

#[path = "support/oauth.rs"]
mod oauth;

use tokenfetch::{Engine, Secret, TokenStep};

/// The service's own token.
#[derive(TokenStep)]
#[endpoint("/oauth/token")]
#[client_auth(basic)]
#[grant(client_credentials, scope = ["read"])]
struct ServiceToken {
    #[base_url]
    server: String,
    #[client_id]
    client_id: &'static str,
    #[client_secret]
    client_secret: Secret,
}

/// The service token exchanged for one the orders API takes.
#[derive(TokenStep)]
#[endpoint("/oauth/token")]
#[client_auth(basic)]
#[grant(
    token_exchange,
    subject = ServiceToken,
    subject_token_type = "access_token",
    audience = "orders",
    requested_token_type = "access_token"
)]
struct OrdersToken {
    #[base_url]
    server: String,
    #[client_id]
    client_id: &'static str,
    #[client_secret]
    client_secret: Secret,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = oauth::start().await;
    let engine = Engine::builder()
        .step(ServiceToken {
            server: server.uri(),
            client_id: oauth::CLIENT_ID,
            client_secret: Secret::from(oauth::CLIENT_SECRET),
        })
        .step(OrdersToken {
            server: server.uri(),
            client_id: oauth::CLIENT_ID,
            client_secret: Secret::from(oauth::CLIENT_SECRET),
        })
        .build()?;

    // Fetches the service token first, then exchanges it.
    let orders = engine.token::<OrdersToken>().await?;
    println!(
        "orders token: {} (issued type {})",
        orders.access_token().expose(),
        orders.issued_token_type().unwrap_or("not given")
    );
    Ok(())
}
