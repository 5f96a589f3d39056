//! A generic step, raw identifiers and a path to a step type in another module.

use std::fmt::Display;

use tokenfetch::{TokenFetcher, TokenStep};

mod steps {
    use tokenfetch::TokenStep;

    #[derive(TokenStep)]
    #[endpoint("/app")]
    #[token_field("token")]
    pub struct AppToken {}
}

#[derive(TokenStep)]
#[endpoint("/typed")]
#[token_field("token")]
#[depends_on(steps::AppToken)]
#[inject_header(from = steps::AppToken, header = "X-App")]
struct Typed<T: Display + Send + Sync + 'static> {
    value: T,
    r#type: String,
}

#[derive(TokenStep)]
#[endpoint("/raw")]
#[token_header("X-Token")]
struct r#HTTPToken {}

fn main() {
    let typed = Typed { value: 3u8, r#type: "t".into() };
    assert_eq!(typed.name(), "typed");
    assert_eq!(typed.depends_on(), ["app_token"]);
    assert_eq!(<Typed<u8> as TokenStep>::NAME, "typed");
    assert_eq!(HTTPToken::NAME, "http_token");
    let _ = steps::AppToken {};
}
