use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint(method = "GET")]
#[token_field("access_token")]
struct Token {}

fn main() {}
