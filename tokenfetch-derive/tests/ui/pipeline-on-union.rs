use tokenfetch::TokenPipeline;

#[derive(TokenPipeline)]
union Auth {
    device: u32,
}

fn main() {}
