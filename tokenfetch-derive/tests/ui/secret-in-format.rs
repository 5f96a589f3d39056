// A token is a `Secret`, which has no `Display`: the natural line below would
// send `Bearer [redacted]` if it compiled. Read the value with `.expose()`.
use tokenfetch::TokenData;

fn authorization(token: &TokenData) -> String {
    format!("Bearer {}", token.access_token())
}

fn main() {
    let _ = authorization(&TokenData::new("abc"));
}
