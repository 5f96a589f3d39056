use tokenfetch::{Engine, TokenPipeline, TokenStep};

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/other")]
#[token_field("token")]
struct OtherToken {}

#[derive(TokenPipeline)]
struct Auth {
    app: AppToken,
}

async fn fetch() -> tokenfetch::Result<()> {
    let engine = Auth { app: AppToken {} }.into_engine(Engine::builder())?;
    engine.token::<AppToken>().await?;
    engine.token::<OtherToken>().await?;
    Ok(())
}

fn main() {
    let _ = fetch();
}
