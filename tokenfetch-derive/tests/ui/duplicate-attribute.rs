use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[token_field("token")]
struct Token {}

fn main() {}
