//! The compile-time graph check of `#[derive(TokenPipeline)]`: `const fn`s that the
//! generated code evaluates in one `const` item per step and per rule, each spanned
//! at the step's field, so that a broken graph fails the build with an error that
//! names the step and points at its field.
//!
//! A `const` panic can print one `&str` only, so the messages are written into a
//! fixed buffer ([`CheckMessage`]) rather than formatted.

use crate::engine::EngineBuilder;
use crate::step::TokenStep;

/// What the check knows of one step: its name and the names of its dependencies.
#[derive(Debug, Clone, Copy)]
pub struct PipelineStep {
    name: &'static str,
    depends_on: &'static [&'static str],
}

/// A field of a pipeline: implemented for every step type. Everything the generated
/// code does with a field's type goes through this one trait, so that a field that
/// is not a step gives one error, not one per use.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a token step",
    label = "not a token step",
    note = "each field of a pipeline is a step: add `#[derive(TokenStep)]` to `{Self}`, or implement `tokenfetch::TokenStep` for it"
)]
pub trait PipelineField: Sized {
    /// The step's name and dependencies.
    const STEP: PipelineStep;

    /// Adds the step to the engine builder.
    fn add_to(self, builder: EngineBuilder) -> EngineBuilder;
}

impl<S: TokenStep> PipelineField for S {
    const STEP: PipelineStep = PipelineStep {
        name: S::NAME,
        depends_on: S::DEPENDS_ON,
    };

    fn add_to(self, builder: EngineBuilder) -> EngineBuilder {
        builder.step(self)
    }
}

impl PipelineStep {
    /// The step's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The names of the steps it depends on.
    pub const fn dependencies(&self) -> &'static [&'static str] {
        self.depends_on
    }
}

/// The steps of a pipeline, with the names of the fields that hold them.
#[derive(Debug, Clone, Copy)]
pub struct PipelineCheck<const N: usize> {
    pipeline: &'static str,
    steps: [PipelineStep; N],
    fields: [&'static str; N],
}

/// A message built at compile time, at most [`CheckMessage::CAPACITY`] bytes; a
/// longer one is cut at a character boundary and ends with `...`.
#[derive(Debug, Clone, Copy)]
pub struct CheckMessage {
    bytes: [u8; CheckMessage::CAPACITY],
    len: usize,
}

impl CheckMessage {
    /// The most bytes a message holds.
    pub const CAPACITY: usize = 1024;

    const fn new() -> Self {
        CheckMessage {
            bytes: [0; CheckMessage::CAPACITY],
            len: 0,
        }
    }

    const fn push(mut self, text: &str) -> Self {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() {
            if self.len == Self::CAPACITY {
                return self.cut();
            }
            self.bytes[self.len] = text[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Ends a message that does not fit with `...`, cutting at a character boundary.
    const fn cut(mut self) -> Self {
        self.len = Self::CAPACITY - 3;
        while self.len > 0 && self.bytes[self.len] & 0xC0 == 0x80 {
            self.len -= 1;
        }
        let mut i = 0;
        while i < 3 {
            self.bytes[self.len] = b'.';
            self.len += 1;
            i += 1;
        }
        self
    }

    /// The message.
    pub const fn as_str(&self) -> &str {
        let (text, _) = self.bytes.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            Err(_) => "invalid token pipeline",
        }
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl<const N: usize> PipelineCheck<N> {
    /// The pipeline struct `pipeline`, its steps and the names of their fields, in
    /// field order.
    pub const fn new(
        pipeline: &'static str,
        steps: [PipelineStep; N],
        fields: [&'static str; N],
    ) -> Self {
        PipelineCheck {
            pipeline,
            steps,
            fields,
        }
    }

    /// The first step named `name`.
    const fn position(&self, name: &str) -> Option<usize> {
        let mut i = 0;
        while i < N {
            if same(self.steps[i].name, name) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Whether step `index` has the name of an earlier step: the error is reported
    /// at the later one.
    pub const fn duplicate(&self, index: usize) -> Option<CheckMessage> {
        let name = self.steps[index].name;
        let first = match self.position(name) {
            Some(first) if first < index => first,
            _ => return None,
        };
        Some(
            CheckMessage::new()
                .push("fields `")
                .push(self.fields[first])
                .push("` and `")
                .push(self.fields[index])
                .push("` of `")
                .push(self.pipeline)
                .push("` are both a step named `")
                .push(name)
                .push("`; step names must be unique in a pipeline"),
        )
    }

    /// Whether step `index` depends on steps that are not in the pipeline.
    pub const fn missing(&self, index: usize) -> Option<CheckMessage> {
        let step = self.steps[index];
        let mut message = CheckMessage::new()
            .push("step `")
            .push(step.name)
            .push("` (field `")
            .push(self.fields[index])
            .push("`) depends on ");
        let mut missing = 0;
        let mut i = 0;
        while i < step.depends_on.len() {
            if self.position(step.depends_on[i]).is_none() {
                if missing > 0 {
                    message = message.push(", ");
                }
                message = message.push("`").push(step.depends_on[i]).push("`");
                missing += 1;
            }
            i += 1;
        }
        if missing == 0 {
            return None;
        }
        Some(
            message
                .push(if missing == 1 {
                    ", which is not a step of pipeline `"
                } else {
                    ", which are not steps of pipeline `"
                })
                .push(self.pipeline)
                .push("`; add a field for each to `")
                .push(self.pipeline)
                .push("`"),
        )
    }

    /// Whether step `index` is where the first dependency cycle (in field order)
    /// closes: the cycle is reported once, at that step.
    pub const fn cycle(&self, index: usize) -> Option<CheckMessage> {
        let (path, start, len) = match self.find_cycle() {
            Some(cycle) => cycle,
            None => return None,
        };
        if path[start] != index {
            return None;
        }
        let mut message = CheckMessage::new()
            .push("step `")
            .push(self.steps[index].name)
            .push("` (field `")
            .push(self.fields[index])
            .push("`) is in a dependency cycle in pipeline `")
            .push(self.pipeline)
            .push("`: ");
        let mut i = start;
        while i < len {
            message = message.push(self.steps[path[i]].name).push(" -> ");
            i += 1;
        }
        Some(message.push(self.steps[index].name))
    }

    /// The first cycle a depth-first walk in field order meets: the walk's path,
    /// where the cycle starts in it, and the path's length. Dependencies that are
    /// not in the pipeline are skipped (they are reported by [`Self::missing`]).
    const fn find_cycle(&self) -> Option<([usize; N], usize, usize)> {
        const NEW: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut marks = [NEW; N];
        // The path from the start: step indices, and for each the next dependency
        // to visit.
        let mut path = [0usize; N];
        let mut next = [0usize; N];
        let mut start = 0;
        while start < N {
            if marks[start] == NEW {
                let mut len = 1;
                path[0] = start;
                next[0] = 0;
                marks[start] = ON_PATH;
                while len > 0 {
                    let step = path[len - 1];
                    let dependencies = self.steps[step].depends_on;
                    if next[len - 1] < dependencies.len() {
                        let name = dependencies[next[len - 1]];
                        next[len - 1] += 1;
                        if let Some(dependency) = self.position(name) {
                            if marks[dependency] == ON_PATH {
                                let mut from = 0;
                                while path[from] != dependency {
                                    from += 1;
                                }
                                return Some((path, from, len));
                            } else if marks[dependency] == NEW {
                                marks[dependency] = ON_PATH;
                                path[len] = dependency;
                                next[len] = 0;
                                len += 1;
                            }
                        }
                    } else {
                        marks[step] = DONE;
                        len -= 1;
                    }
                }
            }
            start += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn step(name: &'static str, depends_on: &'static [&'static str]) -> PipelineStep {
        PipelineStep { name, depends_on }
    }

    fn messages<const N: usize>(check: &PipelineCheck<N>) -> Vec<String> {
        (0..N)
            .flat_map(|i| [check.duplicate(i), check.missing(i), check.cycle(i)])
            .flatten()
            .map(|message| message.as_str().to_owned())
            .collect()
    }

    #[test]
    fn a_valid_graph_has_no_message() {
        let check = PipelineCheck::new(
            "Auth",
            [
                step("user", &["device", "app"]),
                step("device", &[]),
                step("app", &["device"]),
            ],
            ["u", "d", "a"],
        );
        assert!(messages(&check).is_empty());
    }

    #[test]
    fn each_rule_names_the_step_and_its_field() {
        let check = PipelineCheck::new(
            "Auth",
            [step("a", &[]), step("a", &[]), step("b", &["x", "a", "y"])],
            ["first", "second", "third"],
        );
        assert_eq!(
            messages(&check),
            [
                "fields `first` and `second` of `Auth` are both a step named `a`; step names must be unique in a pipeline",
                "step `b` (field `third`) depends on `x`, `y`, which are not steps of pipeline `Auth`; add a field for each to `Auth`",
            ]
        );
    }

    #[test]
    fn a_cycle_is_reported_once_where_it_closes() {
        let check = PipelineCheck::new(
            "Auth",
            [
                step("root", &[]),
                step("a", &["root", "b"]),
                step("b", &["c"]),
                step("c", &["a"]),
            ],
            ["r", "fa", "fb", "fc"],
        );
        assert_eq!(
            messages(&check),
            ["step `a` (field `fa`) is in a dependency cycle in pipeline `Auth`: a -> b -> c -> a"]
        );
        let itself = PipelineCheck::new("P", [step("s", &["s"])], ["f"]);
        assert_eq!(
            messages(&itself),
            ["step `s` (field `f`) is in a dependency cycle in pipeline `P`: s -> s"]
        );
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        let long = "é".repeat(CheckMessage::CAPACITY);
        let message = CheckMessage::new().push("x").push(&long);
        let text = message.as_str();
        assert!(text.ends_with("é..."), "{text}");
        assert!(text.len() <= CheckMessage::CAPACITY);
    }

    #[test]
    fn the_check_runs_at_compile_time() {
        const CHECK: PipelineCheck<2> =
            PipelineCheck::new("P", [step("a", &["b"]), step("b", &[])], ["a", "b"]);
        const CYCLE: Option<CheckMessage> = CHECK.cycle(0);
        const MISSING: Option<CheckMessage> = CHECK.missing(0);
        assert!(CYCLE.is_none() && MISSING.is_none());
    }
}
