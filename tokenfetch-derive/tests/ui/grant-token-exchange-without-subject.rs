use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://sts.example.com/token")]
#[grant(token_exchange, audience = "api", subject_token_type = "id_tokn")]
struct Api {}

fn main() {}
