use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token", base_url = "https://auth.example.com")]
struct Api {
    #[base_url]
    server: String,
    #[client_id]
    client: Option<String>,
}

fn main() {}
