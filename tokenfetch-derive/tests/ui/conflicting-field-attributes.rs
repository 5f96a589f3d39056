use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
struct Token {
    #[header("X-Device-ID")]
    #[query]
    device_id: String,
    #[skip]
    #[skip]
    note: String,
}

fn main() {}
