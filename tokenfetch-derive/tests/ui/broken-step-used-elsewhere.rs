// A step with a mistake still implements `TokenStep` (a stub next to the error),
// so the steps and code that use it add no errors of their own: one mistake, one
// error.
use tokenfetch::{Context, TokenStep};

#[derive(TokenStep)]
#[token_field("token")]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(AppToken)]
#[inject_header(from = AppToken, header = "X-App-Token")]
struct UserToken {}

fn main() {
    let context = Context::new();
    let _ = context.token::<AppToken>();
    let _ = AppToken::NAME;
    let _ = UserToken {};
}
