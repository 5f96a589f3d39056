//! [`GraphError`]: why a set of steps does not form a valid graph. Part of the model
//! so that [`Error`](crate::Error) can carry one without knowing the engine.

/// Why a set of steps does not form a valid graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// Two steps share a name.
    #[error("two steps are named `{name}`; step names must be unique")]
    DuplicateStep {
        /// The shared name.
        name: String,
    },
    /// A step depends on a step that was not registered.
    #[error(
        "step `{step}` depends on `{dependency}`, which is not registered; add a step named `{dependency}`"
    )]
    MissingDependency {
        /// The step that names the dependency.
        step: String,
        /// The unregistered dependency.
        dependency: String,
    },
    /// A step names itself in its dependencies.
    #[error("step `{step}` depends on itself")]
    SelfDependency {
        /// The step.
        step: String,
    },
    /// A step names the same dependency twice.
    #[error("step `{step}` names `{dependency}` twice in its dependencies")]
    DuplicateDependency {
        /// The step.
        step: String,
        /// The dependency named twice.
        dependency: String,
    },
    /// The dependencies form a cycle.
    #[error("dependency cycle: {}", cycle_text(.steps))]
    Cycle {
        /// The steps of the cycle in order; the first depends on the second, and so
        /// on, and the last on the first.
        steps: Vec<String>,
    },
}

fn cycle_text(steps: &[String]) -> String {
    let mut text = steps.join(" -> ");
    if let Some(first) = steps.first() {
        text.push_str(" -> ");
        text.push_str(first);
    }
    text
}
