use tokenfetch::{TokenPipeline, TokenStep};

#[derive(TokenStep)]
#[endpoint("/root")]
#[token_field("token")]
struct RootToken {}

#[derive(TokenStep)]
#[endpoint("/a")]
#[token_field("token")]
#[depends_on(RootToken, BToken)]
struct AToken {}

#[derive(TokenStep)]
#[endpoint("/b")]
#[token_field("token")]
#[depends_on("c_token")]
struct BToken {}

#[derive(TokenStep)]
#[endpoint("/c")]
#[token_field("token")]
#[depends_on(AToken)]
struct CToken {}

#[derive(TokenPipeline)]
struct Auth {
    root: RootToken,
    c: CToken,
    a: AToken,
    b: BToken,
}

fn main() {}
