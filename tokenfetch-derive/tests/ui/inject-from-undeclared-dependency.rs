use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/app")]
#[token_field("token")]
struct AppToken {}

#[derive(TokenStep)]
#[endpoint("/device")]
#[token_header("X-Device-Token")]
struct DeviceToken {}

#[derive(TokenStep)]
#[endpoint("/user")]
#[token_field("access_token")]
#[depends_on(DeviceToken)]
#[inject_header(from = AppToken, header = "Authorization", format = "Bearer {token}")]
#[inject_field(from = "session_token", field = "session")]
struct UserToken {}

fn main() {}
