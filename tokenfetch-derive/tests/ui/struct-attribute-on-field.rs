use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[skip]
struct Token {
    #[endpoint("/other")]
    device_id: String,
}

fn main() {}
