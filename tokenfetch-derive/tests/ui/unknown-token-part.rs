use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(AppToken)]
#[inject_header(from = AppToken, header = "X-Type", part = "expires_at")]
#[inject_field(from = AppToken, field = "session", part = "token_type", extra = "session_id")]
struct UserToken {}

fn main() {}
