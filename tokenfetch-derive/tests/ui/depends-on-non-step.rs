use tokenfetch::TokenStep;

struct NotAStep;

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(NotAStep)]
#[inject_header(from = NotAStep, header = "X-Token")]
struct UserToken {}

fn main() {}
