use tokenfetch::{Secret, TokenStep};

struct IdToken;

#[derive(TokenStep)]
#[endpoint("https://sts.example.com/token")]
#[client_auth(basic)]
#[grant(token_exchange, subject = IdToken, audience = "api")]
struct Api {
    #[client_id]
    id: String,
    #[client_secret]
    secret: Secret,
}

fn main() {}
