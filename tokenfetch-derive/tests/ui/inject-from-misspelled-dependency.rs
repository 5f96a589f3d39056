use tokenfetch::TokenStep;

#[derive(TokenStep)]
#[endpoint("/oidc")]
#[token_field("id_token")]
struct OidcToken {}

#[derive(TokenStep)]
#[endpoint("/exchange")]
#[depends_on(OidcToken, "device_token")]
#[inject_field(from = OidcTokn, field = "subject_token")]
#[inject_header(from = "device_tokn", header = "X-Device")]
#[token_field("access_token")]
struct ApiToken {}

fn main() {}
