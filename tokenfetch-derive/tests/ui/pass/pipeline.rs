//! Pipelines: named and tuple structs, dependencies by type and by name pointing
//! either way in field order, a step type from another module, and the typed engine.

use tokenfetch::{Engine, InPipeline, PipelineEngine, TokenPipeline, TokenStep};

mod steps {
    use tokenfetch::TokenStep;

    #[derive(TokenStep)]
    #[endpoint("/device")]
    #[token_header("X-Device-Token")]
    pub struct DeviceToken {}
}

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
#[depends_on(steps::DeviceToken)]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[step(name = "user")]
#[depends_on(AppToken, "device_token")]
#[inject_header(from = AppToken, header = "Authorization", format = "Bearer {token}")]
#[inject_header(from = "device_token", header = "X-Device-Token")]
struct UserToken {}

/// Dependencies point forward and backward in field order.
#[derive(TokenPipeline)]
struct Auth {
    user: UserToken,
    device: steps::DeviceToken,
    r#app: AppToken,
}

#[derive(TokenPipeline)]
struct Device(steps::DeviceToken);

fn in_pipeline<P: TokenPipeline, S: InPipeline<P>>() {}

async fn fetch(engine: PipelineEngine<Auth>) -> tokenfetch::Result<()> {
    engine.token::<UserToken>().await?;
    engine.token::<steps::DeviceToken>().await?;
    engine.invalidate::<AppToken>();
    Ok(())
}

fn main() {
    assert_eq!(Auth::STEP_NAMES, ["user", "device_token", "app_token"]);
    assert_eq!(Device::STEP_NAMES, ["device_token"]);
    in_pipeline::<Auth, AppToken>();
    in_pipeline::<Device, steps::DeviceToken>();

    let auth = Auth {
        user: UserToken {},
        device: steps::DeviceToken {},
        app: AppToken {},
    };
    let engine = auth.into_engine(Engine::builder()).unwrap();
    let names: Vec<&str> = engine.engine().step_names().collect();
    assert_eq!(names, ["user", "device_token", "app_token"]);
    let _ = fetch(engine.clone());

    let device = Device(steps::DeviceToken {})
        .into_engine(Engine::builder())
        .unwrap();
    let untyped: Engine = device.into();
    assert_eq!(untyped.step_names().count(), 1);
}
