use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token", method = "PUT")]
#[token_field("access_token")]
struct Token {}

fn main() {}
