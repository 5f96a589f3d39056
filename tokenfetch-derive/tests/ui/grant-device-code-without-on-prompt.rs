use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("https://auth.example.com/token")]
#[grant(device_code, endpoint = "/device")]
struct Tv {}

fn main() {}
