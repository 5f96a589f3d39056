use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[grant(client_credentials, scope = ["read write", "admin"], subject = "x")]
struct Api {}

fn main() {}
