use tokenfetch::{TokenPipeline, TokenStep};

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

mod staging {
    use tokenfetch::TokenStep;

    #[derive(TokenStep)]
    #[endpoint("/staging/app")]
    #[token_field("token")]
    #[step(name = "app_token")]
    pub struct StagingApp {}
}

#[derive(TokenPipeline)]
struct Auth {
    app: AppToken,
    staging: staging::StagingApp,
}

#[derive(TokenPipeline)]
struct Twice(AppToken, AppToken);

fn main() {}
