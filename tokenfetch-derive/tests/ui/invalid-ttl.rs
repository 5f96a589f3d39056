use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[step(ttl = "30 minutes")]
struct Token {}

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[step(ttl = "0s")]
struct Zero {}

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[step(ttl = "30m1h")]
struct Order {}

fn main() {}
