use tokenfetch::TokenPipeline;

#[derive(TokenPipeline)]
struct Auth<S> {
    step: S,
}

fn main() {}
