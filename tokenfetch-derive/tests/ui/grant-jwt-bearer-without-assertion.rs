use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[grant(jwt_bearer, issuer = "my-service")]
struct Delegated {}

fn main() {}
