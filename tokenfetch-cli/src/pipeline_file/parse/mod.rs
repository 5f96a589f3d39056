//! From the spanned TOML tree to the typed model: every key checked against
//! the keys of its table (with did-you-mean), every value against its type and
//! its rules, each mistake a [`Diagnostic`] at the key or value it is about.
//! Reading goes on after a mistake, so that one run reports them all. The
//! graph rules (which need every step) are [`check`](super::check)'s.
//!
//! This module holds the document and `[defaults]`, and the [`Reader`] the
//! tables are read with; [`step`] reads a step, [`oauth`] its `client_auth` and
//! `grant`.

mod oauth;
mod step;

use std::ops::Range;
use std::time::Duration;

use toml::Spanned as TomlSpanned;
use toml::de::{DeArray, DeString, DeTable, DeValue};

use super::diagnostic::{Diagnostic, did_you_mean, nearest, one_of};
use super::schema::{Defaults, Param, Spanned, Step};
use super::secrets::{SecretValue, looks_secret};
use super::values;

/// A key of a TOML table, spanned.
type Key<'i> = TomlSpanned<DeString<'i>>;
/// A value of a TOML table, spanned.
type Value<'i> = TomlSpanned<DeValue<'i>>;

/// The keys of the document.
const DOCUMENT_KEYS: &[&str] = &["defaults", "steps"];
/// The keys of `[defaults]`.
const DEFAULTS_KEYS: &[&str] = &["base_url", "timeout", "allow_insecure_http"];

/// What was read of a file: its defaults and steps, as far as they could be
/// read, or nothing when the TOML itself does not parse.
#[derive(Debug)]
pub(super) struct Document {
    pub(super) defaults: Defaults,
    pub(super) steps: Vec<Step>,
}

/// Reads `text`: the document (unless its TOML has a syntax error) and the
/// mistakes found.
pub(super) fn read(text: &str) -> (Option<Document>, Vec<Diagnostic>) {
    let mut reader = Reader {
        text,
        diagnostics: Vec::new(),
    };
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut only_duplicates = true;
    for error in &errors {
        let span = error.span().unwrap_or(text.len()..text.len());
        let duplicate = error.message() == "duplicate key";
        only_duplicates &= duplicate;
        reader.push(syntax_error(text, error.message(), span, duplicate));
    }
    // A duplicate key leaves the rest of the tree as written; any other syntax
    // error leaves a tree that would draw mistakes the file does not have.
    if !only_duplicates {
        return (None, reader.diagnostics);
    }
    let document = reader.document(root.get_ref());
    (Some(document), reader.diagnostics)
}

/// A syntax error of the TOML parser, said in the file's terms.
fn syntax_error(text: &str, message: &str, span: Range<usize>, duplicate: bool) -> Diagnostic {
    if !duplicate {
        let message = message.lines().next().unwrap_or("invalid TOML");
        return Diagnostic::error(span, format!("invalid TOML: {message}"));
    }
    let key = text.get(span.clone()).unwrap_or_default();
    let name = key.trim_matches(['"', '\'']);
    let line_start = text
        .get(..span.start)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |at| at + 1);
    let line = text.get(line_start..).unwrap_or_default().trim_start();
    if line.starts_with("[steps.") || line.starts_with("[ steps.") {
        Diagnostic::error(span, format!("step `{name}` is declared twice"))
            .with_help("each `[steps.NAME]` table appears once; merge the two or rename one")
    } else {
        Diagnostic::error(span, format!("duplicate key `{name}`"))
            .with_help("a key is set once per table")
    }
}

/// Reads tables into the model, collecting diagnostics.
pub(super) struct Reader<'t> {
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
}

/// A table's entries in the order of the file.
fn entries<'a, 'i>(table: &'a DeTable<'i>) -> Vec<(&'a Key<'i>, &'a Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// Whether `key` is missing from `table` and no unknown key of it looks like
/// a misspelling of `key` (which is reported already, with `key` as its
/// did-you-mean).
fn absent(table: &DeTable<'_>, key: &str, known: &[&str]) -> bool {
    table.get(key).is_none()
        && !table.iter().any(|(written, _)| {
            let written = written.get_ref().as_ref();
            !known.contains(&written) && nearest(written, known.iter().copied()) == Some(key)
        })
}

/// "a string", "a list"...: what a TOML value is, for messages.
fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

impl<'t> Reader<'t> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(Diagnostic::error(span, message));
    }

    fn error_help(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Diagnostic::error(span, message).with_help(help));
    }

    fn document(&mut self, root: &DeTable<'_>) -> Document {
        let mut defaults = Defaults::default();
        let mut steps_table = None;
        for (key, value) in entries(root) {
            match key.get_ref().as_ref() {
                "defaults" => {
                    if let Some(table) = self.table(value, "defaults", "at the top level") {
                        defaults = self.defaults(table);
                    }
                }
                "steps" => steps_table = self.table(value, "steps", "at the top level"),
                _ => self.unknown_key(key, DOCUMENT_KEYS, "at the top level"),
            }
        }
        let mut steps = Vec::new();
        match steps_table {
            Some(table) if !table.is_empty() => {
                for (name, value) in entries(table) {
                    if let Some(step) = self.step(name, value, &defaults) {
                        steps.push(step);
                    }
                }
            }
            // `steps` of another type: reported already.
            None if root.get("steps").is_some() => {}
            Some(_) | None => {
                let end = self.text.len();
                let span = root.get("steps").map_or(end..end, |value| value.span());
                self.error_help(
                    span,
                    "the pipeline file declares no step",
                    "declare each step as a table: `[steps.NAME]`",
                );
            }
        }
        Document { defaults, steps }
    }

    fn defaults(&mut self, table: &DeTable<'_>) -> Defaults {
        const PLACE: &str = "in `[defaults]`";
        let mut defaults = Defaults::default();
        let mut base_url = None;
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            match name {
                "base_url" => base_url = self.string(value, name, PLACE),
                "timeout" => defaults.timeout = self.duration(value, name, PLACE),
                "allow_insecure_http" => {
                    defaults.allow_insecure_http = self.bool(value, name, PLACE).unwrap_or(false);
                }
                _ => self.unknown_key(key, DEFAULTS_KEYS, PLACE),
            }
        }
        if let Some(base_url) = base_url {
            self.base_url(&base_url, defaults.allow_insecure_http, PLACE);
            defaults.base_url = Some(base_url.value);
        }
        defaults
    }

    /// Checks a base URL.
    fn base_url(&mut self, base_url: &Spanned<String>, insecure: bool, place: &str) {
        if let Err(why) = values::check_url(&base_url.value, insecure) {
            self.error_help(
                base_url.span.clone(),
                format!("invalid `base_url` {place}"),
                why,
            );
        }
    }

    /// "unknown key `x` {place}", with the nearest known key, or the known keys
    /// when they are few.
    fn unknown_key(&mut self, key: &Key<'_>, known: &[&str], place: &str) {
        let name = key.get_ref().as_ref();
        let help = did_you_mean(name, known.iter().copied())
            .or_else(|| (known.len() <= 8).then(|| format!("expected {}", one_of(known))));
        self.push(
            Diagnostic::error(key.span(), format!("unknown key `{name}` {place}"))
                .with_help_opt(help),
        );
    }

    /// "`key` {place} must be {expected}, found ...".
    fn wrong_type(&mut self, value: &Value<'_>, key: &str, place: &str, expected: &str) {
        let found = type_name(value.get_ref());
        let mut diagnostic = Diagnostic::error(
            value.span(),
            format!("`{key}` {place} must be {expected}, found {found}"),
        );
        if expected.starts_with("a list") && matches!(value.get_ref(), DeValue::String(_)) {
            diagnostic = diagnostic.with_help("write it as a list: `[\"...\"]`");
        } else if expected == "a string"
            && !matches!(value.get_ref(), DeValue::Array(_) | DeValue::Table(_))
        {
            diagnostic = diagnostic.with_help("quote it: `\"...\"`");
        }
        self.push(diagnostic);
    }

    fn string(&mut self, value: &Value<'_>, key: &str, place: &str) -> Option<Spanned<String>> {
        match value.get_ref() {
            DeValue::String(text) => Some(Spanned::new(text.to_string(), value.span())),
            _ => {
                self.wrong_type(value, key, place, "a string");
                None
            }
        }
    }

    /// A string that must not be empty (a field or header name).
    fn name(&mut self, value: &Value<'_>, key: &str, place: &str) -> Option<Spanned<String>> {
        let name = self.string(value, key, place)?;
        if name.value.is_empty() {
            self.error(name.span, format!("`{key}` {place} is empty"));
            return None;
        }
        Some(name)
    }

    fn bool(&mut self, value: &Value<'_>, key: &str, place: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(*flag),
            _ => {
                self.wrong_type(value, key, place, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    fn table<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        key: &str,
        place: &str,
    ) -> Option<&'a DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => {
                self.wrong_type(value, key, place, "a table");
                None
            }
        }
    }

    fn array<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        key: &str,
        place: &str,
        expected: &str,
    ) -> Option<&'a DeArray<'i>> {
        match value.get_ref() {
            DeValue::Array(array) => Some(array),
            _ => {
                self.wrong_type(value, key, place, expected);
                None
            }
        }
    }

    /// A list of strings; an entry of another type is reported and left out.
    fn string_list(
        &mut self,
        value: &Value<'_>,
        key: &str,
        place: &str,
    ) -> Option<Vec<Spanned<String>>> {
        let array = self.array(value, key, place, "a list of strings")?;
        let mut strings = Vec::new();
        for item in array.iter() {
            match item.get_ref() {
                DeValue::String(text) => strings.push(Spanned::new(text.to_string(), item.span())),
                other => self.error(
                    item.span(),
                    format!(
                        "`{key}` {place} must be a list of strings, found {} in it",
                        type_name(other)
                    ),
                ),
            }
        }
        Some(strings)
    }

    fn duration(&mut self, value: &Value<'_>, key: &str, place: &str) -> Option<Duration> {
        let text = self.string(value, key, place)?;
        match values::parse_duration(&text.value) {
            Ok(duration) => Some(duration),
            Err(why) => {
                self.error_help(
                    text.span,
                    format!("invalid duration `{key}` {place}: {why}"),
                    values::DURATION_HELP,
                );
                None
            }
        }
    }

    /// One of `choices`, by name; otherwise the valid names and the nearest.
    fn choice<T: Copy>(
        &mut self,
        value: &Value<'_>,
        key: &str,
        place: &str,
        choices: &[(&str, T)],
    ) -> Option<Spanned<T>> {
        let text = self.string(value, key, place)?;
        if let Some((_, choice)) = choices.iter().find(|(name, _)| *name == text.value) {
            return Some(Spanned::new(*choice, text.span));
        }
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let expected = format!("expected {}", one_of(&names));
        let help = match did_you_mean(&text.value, names.iter().copied()) {
            Some(near) => format!("{near} ({expected})"),
            None => expected,
        };
        self.error_help(text.span, format!("invalid `{key}` {place}"), help);
        None
    }

    /// A value that may be a secret reference. A literal under a key that looks
    /// secret (`secret_key`, the name it is sent under) draws a warning.
    fn secret(
        &mut self,
        value: &Value<'_>,
        key: &str,
        place: &str,
        secret_key: Option<&str>,
    ) -> Option<SecretValue> {
        let text = self.string(value, key, place)?;
        match SecretValue::parse(&text.value) {
            Ok(secret) => {
                if secret.is_literal() && secret_key.is_some_and(looks_secret) {
                    self.push(
                        Diagnostic::warning(text.span, format!("inline secret `{key}` {place}"))
                            .with_help("use env:, file: or cmd: to keep it out of the file"),
                    );
                }
                Some(secret)
            }
            Err(why) => {
                self.error_help(
                    text.span,
                    format!("invalid reference in `{key}` {place}"),
                    why,
                );
                None
            }
        }
    }

    /// `headers`, `data`, `query`, `refresh_data`: a table of string values,
    /// each of which may be a secret reference. Header names are checked when
    /// `headers` is set.
    fn params(&mut self, value: &Value<'_>, key: &str, place: &str, headers: bool) -> Vec<Param> {
        let Some(table) = self.table(value, key, place) else {
            return Vec::new();
        };
        let mut params = Vec::new();
        for (name, value) in entries(table) {
            let name_text = name.get_ref().as_ref();
            if headers && !values::is_header_name(name_text) {
                self.error_help(
                    name.span(),
                    format!("invalid header name in `headers` {place}"),
                    "a header name is letters, digits and `!#$%&'*+-.^_`|~`",
                );
                continue;
            }
            let entry = format!("{key}.{name_text}");
            if let Some(secret) = self.secret(value, &entry, place, Some(name_text)) {
                params.push(Param {
                    key: name_text.to_owned(),
                    value: secret,
                });
            }
        }
        params
    }
}
