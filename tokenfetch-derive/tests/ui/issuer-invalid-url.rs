use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[issuer("accounts.example.com")]
#[grant(client_credentials)]
struct Api {}

fn main() {}
