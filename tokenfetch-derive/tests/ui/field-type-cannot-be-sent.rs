use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
struct Token {
    #[header("X-Key")]
    key: Vec<u8>,
    scopes: Option<Vec<String>>,
}

fn main() {}
