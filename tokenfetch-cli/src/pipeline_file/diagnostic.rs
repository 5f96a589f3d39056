//! What a pipeline file did wrong, and how it is shown: a [`Diagnostic`] is an
//! error or a warning with a message, a byte span of the file and an optional
//! help; [`render`] prints them rustc-style (`file:line:col`, the offending text
//! underlined, no colours), with the file's inline secrets masked.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use super::secrets;

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The file cannot be used.
    Error,
    /// The file can be used, but something in it is unwise.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One mistake (or unwise thing) in a pipeline file.
///
/// Messages name keys, steps and references (`env:APP_SECRET`), never the
/// values written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one line.
    pub message: String,
    /// The bytes of the file it is about; underlined when rendered.
    pub span: Range<usize>,
    /// How to fix it, such as "did you mean `endpoint`?"; shown beside the
    /// underline.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            message: message.into(),
            span,
            help: None,
        }
    }

    /// Adds a help.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a help if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `error: message`, without the file's text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity, self.message)
    }
}

/// Renders `diagnostics` about the file at `path` whose contents are `text`,
/// one after the other, each followed by a blank line: the message, the
/// position as `path:line:column`, the line with the span underlined and the
/// help beside it. No colours, so the output is the same on every terminal.
/// Inline secrets of the file (a literal `client_secret`, say) are shown as
/// `*` in the quoted lines.
pub fn render(diagnostics: &[Diagnostic], path: &Path, text: &str) -> String {
    let masked = secrets::mask_inline_secrets(text);
    let origin = path.display().to_string();
    let renderer = Renderer::plain();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let level = match diagnostic.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let span = clamp(&diagnostic.span, &masked);
        let mut annotation = AnnotationKind::Primary.span(span);
        if let Some(help) = &diagnostic.help {
            annotation = annotation.label(help.as_str());
        }
        let report = [level.primary_title(diagnostic.message.as_str()).element(
            Snippet::source(masked.as_str())
                .path(origin.as_str())
                .annotation(annotation),
        )];
        out.push_str(&renderer.render(&report));
        out.push_str("\n\n");
    }
    out
}

/// `span`, kept inside `text` and on character boundaries.
fn clamp(span: &Range<usize>, text: &str) -> Range<usize> {
    let floor = |mut at: usize| {
        at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}

/// "did you mean `x`?" when one of `known` is close to `name`.
pub(super) fn did_you_mean<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    nearest(name, known).map(|near| format!("did you mean `{near}`?"))
}

/// The one of `known` nearest to `name`, if it is close enough to be a typo:
/// within a third of the name's length in edits (at least one, at most three),
/// or the same but for case.
pub(crate) fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    known
        .into_iter()
        .filter(|candidate| *candidate != name)
        .filter_map(|candidate| {
            let distance = if candidate.eq_ignore_ascii_case(name) {
                0
            } else {
                strsim::damerau_levenshtein(name, candidate)
            };
            (distance <= limit).then_some((distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// "`a`, `b` or `c`", for lists of valid values.
pub(super) fn one_of(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|value| format!("`{value}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["endpoint", "issuer", "token_field"];
        assert_eq!(nearest("endpont", known), Some("endpoint"));
        assert_eq!(nearest("Issuer", known), Some("issuer"));
        assert_eq!(nearest("tokn_field", known), Some("token_field"));
        assert_eq!(nearest("colour", known), None);
        assert_eq!(nearest("endpoint", known), None);
    }

    #[test]
    fn lists_values() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }

    #[test]
    fn renders_with_position_and_help() {
        let text = "[steps.app]\nendpont = \"/v1/app/token\"\n";
        let diagnostic = Diagnostic::error(12..19, "unknown key `endpont` in step `app`")
            .with_help("did you mean `endpoint`?");
        let out = render(&[diagnostic], Path::new("tokenfetch.toml"), text);
        assert!(out.contains("tokenfetch.toml:2:1"), "{out}");
        assert!(out.contains("^^^^^^^ did you mean `endpoint`?"), "{out}");
    }

    #[test]
    fn spans_past_the_end_are_kept_inside() {
        let out = render(
            &[Diagnostic::error(40..90, "at the end")],
            Path::new("f.toml"),
            "a = 1",
        );
        assert!(out.contains("error: at the end"), "{out}");
        let out = render(&[Diagnostic::error(0..0, "empty")], Path::new("f.toml"), "");
        assert!(out.contains("error: empty"), "{out}");
    }
}
