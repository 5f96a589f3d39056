use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(basic)]
#[grant(client_credentials)]
struct Api {
    #[client_id]
    id: String,
}

fn main() {}
