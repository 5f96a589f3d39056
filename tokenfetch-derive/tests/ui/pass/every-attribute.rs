//! Every attribute and key the derive accepts, in one place.

use std::fmt;

use tokenfetch::{Context, Result, Secret, TokenFetcher, TokenRequest, TokenStep};

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/device")]
#[token_header("X-Device-Token", token_type = "Device")]
#[step(ttl = "30d")]
struct DeviceToken {
    #[header("X-Device-ID")]
    device_id: String,
}

#[derive(TokenStep)]
#[endpoint("/app", method = "POST", content_type = "form")]
#[token_field("token")]
#[step(name = "app")]
struct AppToken {
    client_id: String,
    client_secret: Secret,
}

struct Scope(&'static str);

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[derive(TokenStep, Clone)]
#[endpoint(
    "/user",
    method = "POST",
    content_type = "json",
    base_url = "https://auth.example.com",
    timeout = "10s",
    verify_ssl = true,
    allow_insecure_http = false
)]
#[token_field(
    "access_token",
    token_type_field = "type",
    expires_in_field = "ttl",
    refresh_token_field = "refresh",
    default_token_type = "Custom",
    refresh_grant = true
)]
#[step(name = "user", ttl = "1h30m", with_request = adjust)]
#[depends_on(DeviceToken, AppToken, "runtime_step")]
#[inject_header(from = DeviceToken, header = "X-Device-Token")]
#[inject_header(from = AppToken, header = "Authorization", format = "Bearer {token}")]
#[inject_header(from = AppToken, header = "X-Scheme", part = "token_type")]
#[inject_field(from = AppToken, field = "app_refresh", part = "refresh_token")]
#[inject_field(from = "runtime_step", field = "session", extra = "session_id")]
#[inject_query(from = "runtime_step", query = "rt", format = "{token_type} {token}", part = "access_token")]
#[header("X-Api-Version", value = "2")]
#[field("grant_type", value = "password")]
#[query("tenant", value = "acme")]
struct UserToken {
    username: String,
    #[field("pass")]
    password: Secret,
    #[field]
    plain: &'static str,
    #[header("X-Trace")]
    trace: u64,
    #[query]
    locale: String,
    #[query("page-size")]
    page_size: Option<u32>,
    scope: Scope,
    otp: Option<Secret>,
    #[skip]
    cache: Vec<u8>,
}

impl Clone for Scope {
    fn clone(&self) -> Self {
        Scope(self.0)
    }
}

fn adjust(step: &UserToken, request: &mut TokenRequest, context: &Context) -> Result<()> {
    let _ = (step.cache.len(), context);
    request.set_data("extra", "1");
    Ok(())
}

#[derive(TokenStep)]
#[endpoint("/lookup", method = "GET")]
#[token_field("token")]
#[step()]
struct Unit;

#[derive(TokenStep)]
#[endpoint("/flags", verify_ssl = false, allow_insecure_http)]
#[token_field("token", refresh_grant)]
struct Flags {}

fn main() {
    assert_eq!(DeviceToken::NAME, "device_token");
    assert_eq!(AppToken::NAME, "app");
    assert_eq!(UserToken::NAME, "user");
    assert_eq!(Unit::NAME, "unit");
    assert_eq!(Flags {}.name(), "flags");
    let user = UserToken {
        username: "u".into(),
        password: "p".into(),
        plain: "x",
        trace: 1,
        locale: "fr".into(),
        page_size: None,
        scope: Scope("read"),
        otp: None,
        cache: Vec::new(),
    };
    assert_eq!(user.depends_on(), ["device_token", "app", "runtime_step"]);
    assert_eq!(user.ttl(), Some(std::time::Duration::from_secs(5400)));
    let _ = DeviceToken { device_id: String::new() };
    let _ = AppToken { client_id: String::new(), client_secret: Secret::from("") };
}
