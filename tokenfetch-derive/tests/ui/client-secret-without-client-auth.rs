use tokenfetch::{Secret, TokenStep};

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[grant(client_credentials)]
struct Api {
    #[client_id]
    id: String,
    #[client_secret]
    secret: Secret,
}

fn main() {}
