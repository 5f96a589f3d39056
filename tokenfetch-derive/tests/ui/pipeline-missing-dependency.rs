use tokenfetch::{TokenPipeline, TokenStep};

#[derive(TokenStep)]
#[endpoint("/device")]
#[token_header("X-Device-Token")]
struct DeviceToken {}

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(DeviceToken, AppToken, "session_token")]
struct UserToken {}

#[derive(TokenPipeline)]
struct Auth {
    device: DeviceToken,
    user: UserToken,
}

fn main() {}
