use tokenfetch::TokenPipeline;

#[derive(TokenPipeline)]
enum Auth {
    Device,
}

fn main() {}
