use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
union Token {
    a: u32,
    b: f32,
}

fn main() {}
