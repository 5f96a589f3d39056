use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[grant(client_credential, scope = ["read"])]
struct Api {}

fn main() {}
