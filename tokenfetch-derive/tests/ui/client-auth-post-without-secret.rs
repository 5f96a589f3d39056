use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[client_auth(post)]
struct Api {
    #[client_id]
    id: String,
    secret: String,
}

fn main() {}
