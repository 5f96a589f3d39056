use tokenfetch::{Secret, TokenStep};

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(basic)]
#[client_auth(post)]
struct Api {
    #[client_id]
    id: String,
    #[client_secret]
    secret: Secret,
}

fn main() {}
