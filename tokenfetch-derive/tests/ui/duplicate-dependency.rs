use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(AppToken, "session", AppToken, "session")]
struct UserToken {}

fn main() {}
