//! The canonical example: three steps declared with
//! `#[derive(TokenStep)]` and gathered in a `#[derive(TokenPipeline)]`, whose graph
//! the compiler checks, fetched through the typed engine against a demo auth server
//! started on 127.0.0.1.
//!
//! Run it with `cargo run --example canonical`.

#[path = "support/mod.rs"]
mod support;

use tokenfetch::{Engine, Secret, TokenPipeline, TokenStep};

/// Registers the device; the token comes back in a response header.
#[derive(TokenStep)]
#[endpoint("/device/register")]
#[token_header("X-Device-Token")]
#[step(ttl = "30d")]
struct DeviceToken {
    #[header("X-Device-ID")]
    device_id: String,
}

/// App credentials -> app token, read from the JSON body field `token`.
#[derive(TokenStep)]
#[endpoint("/v1/app/token")]
#[token_field("token")]
struct AppToken {
    client_id: String,
    client_secret: Secret,
}

/// Needs both earlier tokens: one as a header, one as a bearer credential.
#[derive(TokenStep)]
#[endpoint("/v1/user/token", content_type = "json")]
#[token_field("access_token")]
#[depends_on(DeviceToken, AppToken)]
#[inject_header(from = DeviceToken, header = "X-Device-Token")]
#[inject_header(from = AppToken, header = "Authorization", format = "Bearer {token}")]
struct UserToken {
    username: String,
    password: Secret,
}

/// The whole pipeline. Leaving out `app`, or a cycle, or two steps with one name,
/// would not compile.
#[derive(TokenPipeline)]
struct Auth {
    device: DeviceToken,
    app: AppToken,
    user: UserToken,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = support::start().await;

    let auth = Auth {
        device: DeviceToken {
            device_id: "device-123".into(),
        },
        app: AppToken {
            client_id: "app".into(),
            client_secret: "s3cret".into(),
        },
        user: UserToken {
            username: "u".into(),
            password: "p".into(),
        },
    };
    let engine = auth.into_engine(Engine::builder().base_url(server.uri()))?;

    // Fetches DeviceToken and AppToken concurrently, then UserToken.
    let user = engine.token::<UserToken>().await?;
    println!("user token: {user:?}");

    // Later calls are served from the cache: no request goes out.
    let again = engine.token::<UserToken>().await?;
    assert_eq!(user, again);

    // Use the token.
    support::use_token(&server, &user).await
}
