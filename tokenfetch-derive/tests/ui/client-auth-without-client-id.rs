use tokenfetch::{Secret, TokenStep};

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(secret_jwt)]
struct Api {
    #[client_secret]
    secret: Secret,
}

fn main() {}
