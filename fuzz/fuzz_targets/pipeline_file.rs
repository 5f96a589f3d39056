//! The command line's pipeline file: any text is parsed into steps or into
//! diagnostics, never a panic; every diagnostic's span lies inside the text, and
//! rendering them never panics either. Secrets are not resolved: nothing runs.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tokenfetch_cli::pipeline_file;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("tokenfetch.toml");
    let diagnostics = match pipeline_file::parse(path, text) {
        Ok((file, warnings)) => {
            // The graph of a file that parsed has no step depending on a missing one.
            let names = file.step_names();
            for (step, dependencies) in file.dependencies() {
                assert!(names.contains(&step.as_str()));
                for dependency in dependencies {
                    assert!(names.contains(&dependency.as_str()), "{step} -> {dependency}");
                }
            }
            warnings
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a failed parse says why");
            errors
        }
    };
    for diagnostic in &diagnostics {
        assert!(diagnostic.span.start <= diagnostic.span.end && diagnostic.span.end <= text.len() + 1);
    }
    let _ = pipeline_file::render(&diagnostics, path, text);
});
