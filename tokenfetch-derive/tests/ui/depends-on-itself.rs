use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(UserToken)]
struct UserToken {}

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("access_token")]
#[step(name = "app")]
#[depends_on("app")]
struct AppToken {}

fn main() {}
