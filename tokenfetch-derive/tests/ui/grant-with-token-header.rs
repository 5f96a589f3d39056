use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[token_header("X-Token")]
#[grant(client_credentials)]
struct Api {}

fn main() {}
