use tokenfetch::{Secret, TokenStep};

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(private_key_jwt)]
struct Api {
    #[client_id]
    id: String,
    #[private_key(algorithm = "RS512")]
    key: Secret,
}

fn main() {}
