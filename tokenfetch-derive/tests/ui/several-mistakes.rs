use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token", method = "PATCH", retries = 3)]
#[step(ttl = "forever")]
#[step(name = "again")]
#[depends_on(Token, AppToken, AppToken)]
#[inject_header(from = SessionToken, header = "Bad Header")]
struct Token {
    #[header("X-Device-ID")]
    #[query]
    device_id: String,
}

struct AppToken;

fn main() {}
