use tokenfetch::{Context, TokenRequest, TokenStep};

#[derive(TokenStep, Clone)]
#[endpoint("/token")]
#[token_field("access_token")]
#[step(with_request = Self::adjust)]
struct Token {}

impl Token {
    fn adjust(&self, request: &mut TokenRequest, context: &Context) {
        let _ = (request, context);
    }
}

fn main() {}
