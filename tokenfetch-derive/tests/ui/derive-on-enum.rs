use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
enum Token {
    A,
    B,
}

fn main() {}
