use tokenfetch::{Engine, TokenPipeline};

#[derive(TokenPipeline)]
struct Auth {}

fn main() {
    // The stub impl next to the error: no second error here.
    let _ = Auth {}.into_engine(Engine::builder());
}
