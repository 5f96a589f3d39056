use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_header("X Token")]
struct Token {
    #[header("X-Device:ID")]
    device_id: String,
}

fn main() {}
