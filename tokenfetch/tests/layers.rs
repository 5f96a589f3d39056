//! The layering of `src/` holds: a module never refers to a layer above its own
//! (or beside it), so that the model knows no engine, a step knows no store or
//! fetcher, and the engine knows no middleware. ARCHITECTURE.md draws the map this
//! test enforces; change both together.

use std::path::{Path, PathBuf};

/// The layers, lowest first; layers of one rank are independent of each other.
const LAYERS: [(&str, u8); 9] = [
    ("model", 0),
    ("step", 1),
    ("http", 2),
    ("store", 2),
    ("oauth", 3),
    ("fetchers", 4),
    ("engine", 5),
    ("integrations", 6),
    ("pipeline", 6),
];

fn rank(layer: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == layer)
        .map(|(_, rank)| *rank)
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// Every `crate::<name>` a line of code refers to (doc comments and comments
/// aside).
fn crate_paths(line: &str) -> Vec<&str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    let code = code.split(" //").next().unwrap_or(code);
    code.match_indices("crate::")
        .filter(|(at, _)| {
            // `crate::x`, not `tokenfetch_crate::x` or `$crate::x`.
            !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
        })
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn no_module_refers_to_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(layer) = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .filter(|first| relative.components().count() > 1 || rank(first).is_some())
        else {
            continue;
        };
        let Some(own) = rank(layer) else {
            continue; // lib.rs, private.rs, fuzzing.rs: the top, free to use anything
        };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for target in crate_paths(line) {
                let allowed = match rank(target) {
                    _ if target == layer => true,
                    Some(theirs) => theirs < own,
                    // `crate::Name`: a root re-export, which hides the layer.
                    None => false,
                };
                if !allowed {
                    violations.push(format!(
                        "{}:{}: `{layer}` refers to `crate::{target}`: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} files were checked: is src/ laid out in layers?"
    );
    assert!(
        violations.is_empty(),
        "imports that run upward or sideways:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    assert_eq!(crate_paths("use crate::engine::Engine;"), ["engine"]);
    assert_eq!(crate_paths("    let x = crate::http::client();"), ["http"]);
    assert_eq!(
        crate_paths("/// [`Engine`](crate::Engine)"),
        Vec::<&str>::new()
    );
    assert_eq!(crate_paths("$crate::x"), Vec::<&str>::new());
    assert_eq!(
        crate_paths("use crate::{model::Error, step::Context};"),
        [""]
    );
}
