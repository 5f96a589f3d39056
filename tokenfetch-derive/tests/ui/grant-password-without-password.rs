use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[grant(password)]
struct Login {
    username: String,
    #[field("pass")]
    password: String,
}

fn main() {}
