use tokenfetch::{Context, TokenRequest, TokenStep};

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
#[step(with_request = Self::adjust)]
struct Token {}

impl Token {
    fn adjust(&self, _: &mut TokenRequest, _: &Context) -> tokenfetch::Result<()> {
        Ok(())
    }
}

fn main() {}
