use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
struct Token {
    #[header]
    device_id: String,
}

fn main() {}
