//! Every OAuth attribute and key the derive accepts.

use tokenfetch::{DevicePrompt, Secret, TokenStep};

#[derive(TokenStep)]
#[issuer("https://accounts.example.com")]
#[client_auth(secret)]
#[grant(client_credentials, scope = ["read", "write"])]
struct FromDiscovery {
    #[client_id]
    id: String,
    #[client_secret]
    secret: Secret,
}

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token", expires_at_field = "expires_at", refresh_grant)]
#[client_auth(basic_unencoded)]
#[grant(password, scope = "profile")]
struct Login {
    #[base_url]
    server: String,
    #[client_id]
    id: &'static str,
    #[client_secret]
    secret: Secret,
    username: String,
    password: Secret,
}

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(secret_jwt, audience = "https://auth.example.com")]
#[grant(refresh_token)]
struct Offline {
    #[client_id]
    id: String,
    #[client_secret]
    secret: Secret,
    refresh_token: Secret,
}

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(private_key_jwt)]
#[grant(jwt_bearer, issuer = "my-service", subject = "ann@example.com", audience = "https://auth.example.com")]
struct Delegated {
    #[client_id]
    id: String,
    #[private_key(algorithm = "EdDSA", kid = "2026")]
    key: Secret,
}

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[grant(jwt_bearer, assertion = Delegated, scope = ["a"])]
struct Federated {}

#[derive(TokenStep)]
#[endpoint("https://sts.example.com/token")]
#[client_auth(post)]
#[grant(
    token_exchange,
    subject = Login,
    subject_token_type = "id_token",
    actor = "runtime_actor",
    actor_token_type = "urn:example:token-type:custom",
    audience = ["orders", "billing"],
    resource = "https://api.example.com/",
    requested_token_type = "jwt",
    scope = ["orders:read"]
)]
struct Exchanged {
    #[client_id]
    id: String,
    #[client_secret]
    secret: Secret,
}

fn prompt(prompt: &DevicePrompt) {
    eprintln!("{} {}", prompt.verification_uri(), prompt.user_code());
}

#[derive(TokenStep)]
#[client_auth(none)]
#[grant(device_code, on_prompt = prompt, scope = ["profile"])]
struct Tv {
    #[issuer]
    issuer: String,
    #[client_id]
    id: &'static str,
}

fn main() {
    let _ = (
        FromDiscovery { id: String::new(), secret: Secret::from("") },
        Login { server: String::new(), id: "", secret: Secret::from(""), username: String::new(), password: Secret::from("") },
        Offline { id: String::new(), secret: Secret::from(""), refresh_token: Secret::from("") },
        Federated {},
        Exchanged { id: String::new(), secret: Secret::from("") },
        Tv { issuer: String::new(), id: "" },
    );
    let _ = <Exchanged as TokenStep>::DEPENDS_ON;
}
