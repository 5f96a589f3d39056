//! `graph`: the steps and their dependencies, as text, Mermaid or dot.

use tokenfetch::StepGraph;

use crate::cli::GraphFormat;
use crate::exit::{Failure, OK};
use crate::session::Session;

pub fn graph(session: &Session, format: GraphFormat) -> Result<u8, Failure> {
    let graph = StepGraph::new(session.file.dependencies());
    match format {
        GraphFormat::Text => crate::out!("{graph}"),
        GraphFormat::Mermaid => crate::out!("{}", graph.to_mermaid()),
        GraphFormat::Dot => crate::out!("{}", graph.to_dot()),
    }
    Ok(OK)
}
