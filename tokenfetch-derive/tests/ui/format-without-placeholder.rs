use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(AppToken)]
#[inject_header(from = AppToken, header = "Authorization", format = "Bearer token")]
struct UserToken {}

fn main() {}
