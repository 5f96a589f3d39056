use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token", content_type = "xml")]
#[token_field("access_token")]
struct Token {}

fn main() {}
