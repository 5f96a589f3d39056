use tokenfetch::{Secret, TokenStep};

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token", method = "GET")]
#[grant(password)]
struct Login {
    username: String,
    password: Option<Secret>,
}

fn main() {}
