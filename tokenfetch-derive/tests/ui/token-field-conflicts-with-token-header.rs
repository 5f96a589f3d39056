use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[token_header("X-Token")]
struct Token {}

fn main() {}
