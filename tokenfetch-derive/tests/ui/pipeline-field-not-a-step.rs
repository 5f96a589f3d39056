use tokenfetch::{TokenPipeline, TokenStep};

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

struct Settings {}

#[derive(TokenPipeline)]
struct Auth {
    app: AppToken,
    settings: Settings,
}

fn main() {}
