//! The pipeline file from the outside: a valid file parses and builds, every
//! kind of mistake is rendered as the snapshots say, and secret references are
//! read when the steps are built, failing with the step and the key but never
//! the value.

use std::path::{Path, PathBuf};
use std::sync::Once;

use insta::assert_snapshot;
use tokenfetch::{Context, TokenFetcher};
use tokenfetch_cli::pipeline_file::{self, BuildErrorKind, Severity};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// The rendered diagnostics of a fixture, the file named by its name alone so
/// that the output is the same on every machine.
fn rendered(name: &str) -> String {
    let (_, text) = fixture(name);
    let diagnostics = match pipeline_file::parse(Path::new(name), &text) {
        Ok((_, warnings)) => warnings,
        Err(diagnostics) => diagnostics,
    };
    pipeline_file::render(&diagnostics, Path::new(name), &text)
}

/// Sets the environment variables the fixtures name, once.
fn set_environment() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: the environment is read in these tests through `std::env`
        // only, which holds std's environment lock; no C code reads it.
        unsafe { std::env::set_var("APP_SECRET", "app-secret-from-env") };
    });
}

fn names(steps: &[Box<dyn TokenFetcher>]) -> Vec<(&str, Vec<&str>)> {
    steps
        .iter()
        .map(|step| (step.name(), step.depends_on()))
        .collect()
}

#[test]
fn the_three_step_file_parses_and_builds() {
    set_environment();
    let (path, text) = fixture("three_steps.toml");
    let (file, warnings) = pipeline_file::parse(&path, &text).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(file.step_names(), ["device", "app", "user"]);
    assert_eq!(
        file.dependencies(),
        [
            ("device".to_owned(), vec![]),
            ("app".to_owned(), vec![]),
            (
                "user".to_owned(),
                vec!["device".to_owned(), "app".to_owned()]
            ),
        ]
    );
    assert_eq!(file.closure("user").unwrap(), ["device", "app", "user"]);
    assert_eq!(file.closure("app").unwrap(), ["app"]);
    assert_eq!(file.closure("nobody"), None);

    let steps = file.build_steps(&["user".to_owned()]).unwrap();
    assert_eq!(
        names(&steps),
        [
            ("device", vec![]),
            ("app", vec![]),
            ("user", vec!["device", "app"])
        ]
    );
    assert_eq!(
        steps[0].ttl(),
        Some(std::time::Duration::from_secs(30 * 86_400))
    );
    let only_app = file.build_steps(&["app".to_owned()]).unwrap();
    assert_eq!(names(&only_app), [("app", vec![])]);
}

#[test]
fn an_unknown_step_is_a_build_error_with_a_suggestion() {
    set_environment();
    let (path, text) = fixture("three_steps.toml");
    let (file, _) = pipeline_file::parse(&path, &text).unwrap();
    let error = match file.build_steps(&["usr".to_owned()]) {
        Err(error) => error,
        Ok(_) => panic!("built an unknown step"),
    };
    assert!(matches!(error.kind, BuildErrorKind::UnknownStep { .. }));
    assert_eq!(
        error.to_string(),
        "no step `usr` in the pipeline file; did you mean `user`?"
    );
}

#[test]
fn the_oauth_steps_parse_and_build_with_implicit_dependencies() {
    let text = r#"
[steps.login]
issuer = "https://accounts.example.com"
client_auth = { method = "basic", client_id = "cli", client_secret = "env:CARGO_PKG_NAME" }
grant = { type = "client_credentials", scope = ["openid", "read"] }

[steps.api]
endpoint = "https://sts.example.com/token"
client_auth = { method = "secret_jwt", client_id = "gw", client_secret = "cmd:echo k", kid = "2026" }
grant = { type = "token_exchange", subject = "login", subject_token_type = "id_token", actor = "robot", audience = ["orders"], resource = ["https://orders.example.com"], requested_token_type = "jwt" }

[steps.robot]
issuer = "https://accounts.example.com"
client_auth = { method = "none", client_id = "robot" }
grant = { type = "device_code", scope = ["profile"] }

[steps.bearer]
issuer = "https://accounts.example.com"
client_auth = { method = "post", client_id = "b", client_secret = "env:CARGO_PKG_NAME" }
grant = { type = "jwt_bearer", assertion = "api" }
depends_on = ["login"]
"#;
    let (file, warnings) = pipeline_file::parse(Path::new("oauth.toml"), text).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        file.dependencies()[1],
        (
            "api".to_owned(),
            vec!["login".to_owned(), "robot".to_owned()]
        )
    );
    assert_eq!(
        file.dependencies()[3].1,
        ["login".to_owned(), "api".to_owned()]
    );
    assert_eq!(
        file.closure("bearer").unwrap(),
        ["login", "api", "robot", "bearer"]
    );
    let steps = file.build_steps(&["bearer".to_owned()]).unwrap();
    assert_eq!(
        names(&steps),
        [
            ("login", vec![]),
            ("api", vec!["login", "robot"]),
            ("robot", vec![]),
            ("bearer", vec!["login", "api"]),
        ]
    );
}

#[test]
fn snapshot_several_mistakes() {
    assert_snapshot!(rendered("several_mistakes.toml"));
}

#[test]
fn snapshot_cycle() {
    assert_snapshot!(rendered("cycle.toml"));
}

#[test]
fn snapshot_syntax_error() {
    assert_snapshot!(rendered("syntax_error.toml"));
}

#[test]
fn snapshot_duplicate_step() {
    assert_snapshot!(rendered("duplicate_step.toml"));
}

#[test]
fn snapshot_oauth_mistakes() {
    assert_snapshot!(rendered("oauth_mistakes.toml"));
}

#[test]
fn snapshot_inline_secret() {
    let (_, text) = fixture("inline_secret.toml");
    let (_, warnings) = pipeline_file::parse(Path::new("inline_secret.toml"), &text).unwrap();
    assert!(
        warnings
            .iter()
            .all(|warning| warning.severity == Severity::Warning)
    );
    let out = rendered("inline_secret.toml");
    for secret in ["s3cret-value", "YXBwOnMzY3JldA==", "hunter2"] {
        assert!(!out.contains(secret), "{out}");
    }
    assert_snapshot!(out);
}

#[test]
fn diagnostics_are_sorted_and_never_quote_a_secret() {
    let text = r#"
[steps.app]
endpoint = "/token"
base_url = "https://auth.example.com"
data = { client_secret = "env:" }
headers = { "bad header" = "plain" }
client_auth = { method = "post", client_id = "id", client_secret = "hunter2", private_key = "hunter2" }
"#;
    let diagnostics = pipeline_file::parse(Path::new("p.toml"), text).unwrap_err();
    assert!(
        diagnostics
            .windows(2)
            .all(|pair| pair[0].span.start <= pair[1].span.start)
    );
    let out = pipeline_file::render(&diagnostics, Path::new("p.toml"), text);
    assert!(
        out.contains("invalid reference in `data.client_secret`"),
        "{out}"
    );
    assert!(out.contains(r#"client_secret = "env:""#), "{out}");
    assert!(out.contains("invalid header name"), "{out}");
    assert!(out.contains("`private_key` is not used by"), "{out}");
    assert!(!out.contains("hunter2"), "{out}");
    for diagnostic in &diagnostics {
        assert!(!diagnostic.message.contains("hunter2"), "{diagnostic}");
    }
}

/// A pipeline file in a directory of its own, for the reference tests.
fn pipeline(text: &str) -> (tempfile::TempDir, pipeline_file::PipelineFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenfetch.toml");
    std::fs::write(&path, text).unwrap();
    let (file, _) = pipeline_file::parse(&path, text).unwrap();
    (dir, file)
}

fn build_error(file: &pipeline_file::PipelineFile, step: &str) -> pipeline_file::BuildError {
    match file.build_steps(&[step.to_owned()]) {
        Err(error) => error,
        Ok(_) => panic!("step `{step}` built"),
    }
}

#[test]
fn references_are_read_only_for_the_steps_built() {
    let (_dir, file) = pipeline(
        r#"
[defaults]
base_url = "https://auth.example.com"

[steps.fine]
endpoint = "/fine"
data = { client_secret = "cmd:echo ok" }

[steps.broken]
endpoint = "/broken"
data = { client_secret = "env:TOKENFETCH_CLI_SURELY_UNSET" }
"#,
    );
    assert_eq!(
        names(&file.build_steps(&["fine".to_owned()]).unwrap()),
        [("fine", vec![])]
    );
    let error = build_error(&file, "broken");
    assert_eq!(error.step, "broken");
    assert_eq!(error.key.as_deref(), Some("data.client_secret"));
    assert_eq!(
        error.to_string(),
        "step `broken`, `data.client_secret`: `env:TOKENFETCH_CLI_SURELY_UNSET`: the environment variable is not set"
    );
}

#[test]
fn a_missing_file_names_the_step_and_the_key() {
    let (_dir, file) = pipeline(
        r#"
[steps.user]
endpoint = "https://auth.example.com/token"
grant = { type = "password", username = "u", password = "file:secrets/missing" }
"#,
    );
    let error = build_error(&file, "user");
    assert_eq!(error.key.as_deref(), Some("grant.password"));
    let message = error.to_string();
    assert!(
        message.starts_with("step `user`, `grant.password`: `file:secrets/missing`: cannot read"),
        "{message}"
    );
}

#[test]
fn a_failing_command_names_the_step_and_the_key_but_not_its_output() {
    let (_dir, file) = pipeline(
        r#"
[steps.api]
issuer = "https://accounts.example.com"
client_auth = { method = "basic", client_id = "cli", client_secret = "cmd:printf 'half''-printed-secret'; exit 1" }
grant = { type = "client_credentials" }
"#,
    );
    let error = build_error(&file, "api");
    assert_eq!(error.step, "api");
    assert_eq!(error.key.as_deref(), Some("client_auth.client_secret"));
    let message = error.to_string();
    assert!(
        message.contains("the command failed (exit status: 1)"),
        "{message}"
    );
    assert!(!message.contains("half-printed-secret"), "{message}");
}

#[test]
fn a_key_that_does_not_parse_is_refused_by_tokenfetch() {
    let (dir, file) = pipeline(
        r#"
[steps.api]
issuer = "https://accounts.example.com"
client_auth = { method = "private_key_jwt", client_id = "cli", private_key = "file:key.pem", algorithm = "ES256" }
grant = { type = "client_credentials" }
"#,
    );
    std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
    let error = build_error(&file, "api");
    assert_eq!(error.key.as_deref(), Some("client_auth.private_key"));
    assert!(matches!(error.kind, BuildErrorKind::Refused(_)), "{error}");
    assert!(!error.to_string().contains("not a key"), "{error}");
}

/// The built steps fetch: every reference reaches the request, every injection
/// its place.
#[tokio::test]
async fn the_built_steps_fetch_against_a_server() {
    set_environment();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/register"))
        .and(header("X-Device-ID", "device-123"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", "device-tok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/app/token"))
        .and(query_param("tenant", "acme"))
        .and(body_string_contains("client_secret=app-secret-from-env"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"token":"app-tok","expires_in":3600}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/user/token"))
        .and(query_param("t", "app-tok"))
        .and(header("X-Device-Token", "device-tok"))
        .and(header("Authorization", "Bearer app-tok"))
        .and(body_string_contains(r#""password":"pw-from-file""#))
        .and(body_string_contains(r#""app_token":"app-tok""#))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"access_token":"user-tok"}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let (path, text) = fixture("three_steps.toml");
    let text = text.replace("https://auth.example.com", &server.uri());
    let (file, _) = pipeline_file::parse(&path, &text).unwrap();
    let steps = file.build_steps(&["user".to_owned()]).unwrap();
    let mut context = Context::new();
    for step in &steps {
        let token = step.fetch(&context).await.unwrap();
        context.insert(step.name(), token);
    }
    let user = context.get("user").unwrap();
    assert_eq!(user.access_token().expose(), "user-tok");
    assert_eq!(context.get("device").unwrap().token_type(), "Device");
}

/// The messages of the errors of `text`.
fn errors(text: &str) -> Vec<String> {
    match pipeline_file::parse(Path::new("p.toml"), text) {
        Ok((_, warnings)) => panic!("no error in\n{text}\nwarnings: {warnings:?}"),
        Err(diagnostics) => diagnostics
            .into_iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .map(|diagnostic| match diagnostic.help {
                Some(help) => format!("{} [{help}]", diagnostic.message),
                None => diagnostic.message,
            })
            .collect(),
    }
}

#[test]
fn each_rule_has_its_error() {
    let cases: &[(&str, &str)] = &[
        ("", "the pipeline file declares no step"),
        (
            "[defaults]\nbase_url = \"https://a.example\"\n",
            "declares no step",
        ),
        (
            "colour = 1\n[steps.a]\nendpoint = \"/a\"",
            "unknown key `colour` at the top level [expected `defaults` or `steps`]",
        ),
        (
            "steps = [1]",
            "`steps` at the top level must be a table, found a list",
        ),
        (
            "[[steps.a]]\nendpoint = \"/a\"",
            "step `a` must be a table, found a list [write `[steps.a]`, not `[[steps.a]]`]",
        ),
        (
            "[steps.a]\nendpoint = \"/a\"",
            "`endpoint` in step `a` is a path, and there is no `base_url` to join it to",
        ),
        (
            "[steps.a]\nendpoint = \"http://auth.example.com/a\"",
            "invalid `endpoint` in step `a` [plain http is only for loopback",
        ),
        (
            "[defaults]\nbase_url = \"ftp://x.example\"\n[steps.a]\nendpoint = \"/a\"",
            "invalid `base_url` in `[defaults]` [the scheme `ftp` is not http or https]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example/?q=1\"",
            "invalid `issuer` in step `a` [an issuer has no query or fragment (RFC 8414 §2)]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ntimeout = \"1m1h\"",
            "invalid duration `timeout` in step `a`: units must go from largest to smallest, each once",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\nttl = 30",
            "`ttl` in step `a` must be a string, found an integer [quote it: `\"...\"`]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ncontent_type = \"xml\"",
            "invalid `content_type` in step `a` [expected `form` or `json`]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\nrefresh_grant = \"yes\"",
            "`refresh_grant` in step `a` must be a boolean (`true` or `false`), found a string",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ntoken_header = \"X Token\"",
            "invalid header name in `token_header` in step `a`",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\nheaders = { \"X Y\" = \"v\" }",
            "invalid header name in `headers` in step `a`",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ndata = { n = 1 }",
            "`data.n` in step `a` must be a string, found an integer",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ntoken_header = \"X-T\"\ntoken_field = \"t\"",
            "`token_field` is for steps reading the token from the body, and step `a` reads it from `token_header`",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ntoken_type = \"Device\"",
            "`token_type` in step `a` is for steps reading the token from a header (`token_header`)",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ndepends_on = \"b\"\n[steps.b]\nissuer = \"https://x.example\"",
            "`depends_on` in step `a` must be a list of strings, found a string [write it as a list: `[\"...\"]`]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ndepends_on = [\"a\"]",
            "step `a` depends on itself",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ndepends_on = [\"b\", \"b\"]\n[steps.b]\nissuer = \"https://x.example\"",
            "step `a` depends on `b` twice",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ninject_header = [{ from = \"b\", header = \"X-B\" }]\n[steps.b]\nissuer = \"https://x.example\"",
            "step `a` injects the token of `b`, which is not in its `depends_on` [add `b` to `depends_on`]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ninject_field = [{ from = \"a\", field = \"f\" }]",
            "step `a` injects its own token",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ninject_field = [{ header = \"X\" }]",
            "unknown key `header` in an `inject_field` entry of step `a` [an `inject_field` entry names a `field`; for a `header`, use `inject_header`]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ninject_query = [{ query = \"q\" }]",
            "an `inject_query` entry of step `a` has no `from` [add `from = \"STEP\"`]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ninject_query = [\"b\"]",
            "`inject_query` in step `a` must be a list of tables, found a string in it",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ndepends_on = [\"b\"]\ninject_field = [{ from = \"b\", field = \"f\", part = \"id\", extra = \"id_token\" }]\n[steps.b]\nissuer = \"https://x.example\"",
            "invalid `part` in an `inject_field` entry of step `a` [expected `access_token`, `token_type` or `refresh_token`]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ndepends_on = [\"b\"]\ninject_field = [{ from = \"b\", field = \"f\", part = \"token_type\", extra = \"id_token\" }]\n[steps.b]\nissuer = \"https://x.example\"",
            "`part` and `extra` in an `inject_field` entry of step `a` both say which part of the token is injected",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ndepends_on = [\"b\"]\n[steps.b]\nissuer = \"https://x.example\"\ndepends_on = [\"a\"]",
            "dependency cycle: a -> b -> a",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ngrant = { type = \"jwt_bearer\", assertion = \"a\" }",
            "the grant of step `a` names the step itself",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ngrant = { scope = [\"x\"] }",
            "`grant` of step `a` has no `type`",
        ),
        (
            "[steps.a]\nendpoint = \"https://x.example/t\"\nclient_auth = { method = \"none\", client_id = \"c\" }\ngrant = { type = \"device_code\" }",
            "step `a` uses the device flow and names no device authorization endpoint",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\nclient_auth = { method = \"none\" }",
            "`client_auth` method `none` of step `a` needs `client_id`",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\nclient_auth = { method = \"basic_unencoded\", client_id = \"a:b\", client_secret = \"env:S\" }",
            "a client id with `:` cannot be sent in unencoded Basic authentication",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\nclient_auth = { method = \"post\", client_id = \"c\", client_secret = \"env:S\", kid = \"k\" }",
            "`kid` is not used by `client_auth` method `post` of step `a`",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ngrant = { type = \"token_exchange\", subject = \"b\", actor_token_type = \"jwt\", resource = [\"not a url\"] }\n[steps.b]\nissuer = \"https://x.example\"",
            "`actor_token_type` in `grant` of step `a` needs `actor`",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ngrant = { type = \"token_exchange\", subject = \"b\", resource = [\"not a url\"] }\n[steps.b]\nissuer = \"https://x.example\"",
            "invalid `resource` in `grant` of step `a`",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ngrant = { type = \"refresh_token\", refresh_token = \"cmd:\" }",
            "invalid reference in `refresh_token` in `grant` of step `a` [`cmd:` names nothing]",
        ),
        (
            "[steps.a]\nissuer = \"https://x.example\"\ncontent_type = \"json\"\nclient_auth = { method = \"none\", client_id = \"c\" }",
            "step `a` has `client_auth`, which is sent as a form POST (RFC 6749 §3.2) [remove `content_type = \"json\"`]",
        ),
    ];
    for (body, expected) in cases {
        let text = *body;
        let found = errors(text);
        assert!(
            found.iter().any(|message| message.contains(expected)),
            "{text}\nexpected: {expected}\nfound: {found:#?}"
        );
    }
}

#[test]
fn a_device_grant_takes_its_endpoint_and_waits_for_a_person() {
    let text = "[steps.tv]\nendpoint = \"https://auth.example.com/token\"\n\
                client_auth = { method = \"none\", client_id = \"tv\" }\n\
                grant = { type = \"device_code\", endpoint = \"https://auth.example.com/device\", scope = [\"profile\"] }\n";
    let (file, warnings) =
        pipeline_file::parse(Path::new("tokenfetch.toml"), text).unwrap_or_else(|errors| {
            panic!("{}", pipeline_file::render(&errors, Path::new("t"), text))
        });
    assert!(warnings.is_empty());
    let steps = file.build_steps(&["tv".to_owned()]).unwrap();
    // The device flow's own load timeout: half an hour and a minute.
    assert_eq!(
        steps[0].load_timeout(),
        Some(std::time::Duration::from_secs(31 * 60))
    );
}
