use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/token")]
struct Token {}

fn main() {}
