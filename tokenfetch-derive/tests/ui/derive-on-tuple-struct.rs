use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
struct Token(String, String);

fn main() {}
