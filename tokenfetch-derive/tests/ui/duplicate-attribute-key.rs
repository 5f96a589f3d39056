use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token", method = "GET", method = "POST")]
#[token_field("access_token")]
struct Token {}

fn main() {}
