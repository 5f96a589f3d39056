//! Workspace package that owns the top-level tests, examples and benches.
