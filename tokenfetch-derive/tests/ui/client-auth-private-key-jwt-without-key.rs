use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(private_key_jwt)]
#[grant(client_credentials)]
struct Api {
    #[client_id]
    id: String,
}

fn main() {}
