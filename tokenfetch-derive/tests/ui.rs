//! Compile-time behaviour of `#[derive(TokenStep)]` and `#[derive(TokenPipeline)]`
//! (the `pipeline-*` cases, graph errors among them): every accepted attribute form
//! compiles (`tests/ui/pass`), every mistake is a spanned error (`tests/ui/*.rs`
//! with the expected `.stderr`, made with the pinned toolchain).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/*.rs");
}
