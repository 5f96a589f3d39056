use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[field("grant_type")]
struct Token {}

fn main() {}
