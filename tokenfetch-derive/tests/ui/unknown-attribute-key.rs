use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token", metod = "GET")]
#[token_field("access_token")]
struct Token {}

fn main() {}
