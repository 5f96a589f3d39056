use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[token_field("access_token")]
struct Token {
    client_id: String,
}

fn main() {}
