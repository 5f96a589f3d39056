//! The `tokenfetch` binary, run as a user runs it, against a token server on
//! 127.0.0.1: every command and format, the diagnostics of a broken file, the
//! exit code of each failure class, and a fleet of processes sharing a file
//! store.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A fresh directory for one test's pipeline file and store.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenfetch-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Issues `<prefix>-<n>`, counting requests; the first answer can be slow.
struct Issue {
    prefix: &'static str,
    count: AtomicUsize,
    delay: Duration,
    header: bool,
}

impl Respond for Issue {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        let token = format!("{}-{n}", self.prefix);
        let template = if self.header {
            ResponseTemplate::new(200).insert_header("X-Device-Token", token.as_str())
        } else {
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": token, "expires_in": 3600}))
        };
        template.set_delay(if n == 0 { self.delay } else { Duration::ZERO })
    }
}

fn issue(prefix: &'static str, header: bool, delay: Duration) -> Issue {
    Issue {
        prefix,
        count: AtomicUsize::new(0),
        delay,
        header,
    }
}

/// The demo server of the three-step chain: device (header), app (body, checks
/// the secret), user (needs both).
async fn server(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(issue("device", true, delay))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app"))
        .and(wiremock::matchers::body_string_contains(
            "client_secret=app-secret",
        ))
        .respond_with(issue("app", false, delay))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/user"))
        .and(header("X-Device-Token", "device-0"))
        .and(header("Authorization", "Bearer app-0"))
        .respond_with(issue("user", false, delay))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .and(header("Authorization", "Bearer user-0"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello from the API"))
        .mount(&server)
        .await;
    server
}

const PIPELINE: &str = r#"[defaults]
base_url = "BASE"

[steps.device]
endpoint = "/device"
token_header = "X-Device-Token"
headers = { X-Device-ID = "device-123" }

[steps.app]
endpoint = "/app"
data = { client_id = "app", client_secret = "env:APP_SECRET" }

[steps.user]
endpoint = "/user"
depends_on = ["device", "app"]
inject_header = [
    { from = "device", header = "X-Device-Token" },
    { from = "app", header = "Authorization", format = "Bearer {token}" },
]
"#;

/// Writes the pipeline for `server` into `dir`.
fn pipeline(dir: &Path, server: &MockServer) -> PathBuf {
    let file = dir.join("tokenfetch.toml");
    std::fs::write(&file, PIPELINE.replace("BASE", &server.uri())).unwrap();
    file
}

fn tokenfetch(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("tokenfetch").unwrap();
    command
        .current_dir(dir)
        .env_remove("TOKENFETCH_FILE")
        .env_remove("TOKENFETCH_STORE")
        .env("APP_SECRET", "app-secret")
        .arg("--store")
        .arg(format!("file:{}", dir.join("tokens.json").display()));
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

async fn requests(server: &MockServer, route: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == route)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn get_prints_the_token_in_every_format() {
    let server = server(Duration::ZERO).await;
    let dir = workdir("get");
    pipeline(&dir, &server);
    let run = |args: &[&str]| tokenfetch(&dir).args(args).output().unwrap();

    let bare = run(&["get", "user"]);
    assert!(bare.status.success(), "{}", stderr(&bare));
    assert_eq!(stdout(&bare), "user-0\n");
    assert_eq!(
        stdout(&run(&["get", "user", "--format", "header"])),
        "Authorization: Bearer user-0\n"
    );
    assert_eq!(
        stdout(&run(&["header", "user"])),
        "Authorization: Bearer user-0\n"
    );
    let json: Value =
        serde_json::from_str(&stdout(&run(&["get", "user", "--format", "json"]))).unwrap();
    assert_eq!(json["access_token"], "user-0");
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["expires_in"].as_u64().unwrap() > 3500);
    let env = stdout(&run(&["get", "user", "--format", "env"]));
    assert!(env.starts_with("export TOKENFETCH_TOKEN='user-0'\nexport TOKENFETCH_TOKEN_TYPE='Bearer'\nexport TOKENFETCH_EXPIRES_AT='"), "{env}");
    let credential: Value = serde_json::from_str(&stdout(&run(&[
        "get",
        "user",
        "--format",
        "exec-credential",
    ])))
    .unwrap();
    assert_eq!(credential["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(credential["kind"], "ExecCredential");
    assert_eq!(credential["status"]["token"], "user-0");
    assert!(
        credential["status"]["expirationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    // Every run after the first took the tokens from the store.
    for route in ["/device", "/app", "/user"] {
        assert_eq!(requests(&server, route).await, 1, "{route}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_and_exec_run_a_command_with_the_token() {
    let server = server(Duration::ZERO).await;
    let dir = workdir("exec");
    pipeline(&dir, &server);
    let exec = tokenfetch(&dir)
        .args([
            "exec",
            "user",
            "--env",
            "API_TOKEN",
            "--",
            "sh",
            "-c",
            "echo \"got $API_TOKEN\"; exit 7",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&exec), "got user-0\n");
    assert_eq!(exec.status.code(), Some(7));
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok()
    {
        let curl = tokenfetch(&dir)
            .args([
                "curl",
                "user",
                "--",
                "--silent",
                &format!("{}/api", server.uri()),
            ])
            .output()
            .unwrap();
        assert!(curl.status.success(), "{}", stderr(&curl));
        assert_eq!(stdout(&curl), "hello from the API");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_check_status_explain_inspect_and_evict() {
    let server = server(Duration::ZERO).await;
    let dir = workdir("commands");
    pipeline(&dir, &server);
    let run = |args: &[&str]| tokenfetch(&dir).args(args).output().unwrap();

    insta::assert_snapshot!("graph_text", stdout(&run(&["graph"])));
    insta::assert_snapshot!(
        "graph_mermaid",
        stdout(&run(&["graph", "--format", "mermaid"]))
    );
    insta::assert_snapshot!("graph_dot", stdout(&run(&["graph", "--format", "dot"])));
    let check = run(&["check"]);
    assert!(check.status.success());
    assert_eq!(
        stdout(&check),
        "tokenfetch.toml: ok, 3 steps (device, app, user)\n"
    );

    let explained = run(&["explain", "user", "--json"]);
    assert!(explained.status.success(), "{}", stderr(&explained));
    let timeline: Value = serde_json::from_str(&stdout(&explained)).unwrap();
    insta::with_settings!({filters => vec![
        (r#""(start_ms|end_ms|total_ms|request_start_ms)": [0-9.]+"#, "\"$1\": [ms]"),
    ]}, {
        insta::assert_snapshot!("explain_json", serde_json::to_string_pretty(&sorted(&timeline)).unwrap());
    });
    let text = stdout(&run(&["explain", "user"]));
    assert!(text.contains("user") && text.contains("store"), "{text}");

    let status = stdout(&run(&["status"]));
    let user_line = status
        .lines()
        .find(|line| line.starts_with("user"))
        .unwrap();
    assert!(
        user_line.contains("yes") && user_line.contains("59m"),
        "{status}"
    );

    let jwt = format!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.{}.sig",
        base64_url(&json!({"sub": "ann", "exp": 4_102_444_800i64}).to_string())
    );
    let inspect = tokenfetch(&dir)
        .args(["inspect", "-"])
        .write_stdin(jwt)
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    let shown = stdout(&inspect);
    assert!(
        shown.contains("\"kid\": \"k1\"") && shown.contains("\"sub\": \"ann\""),
        "{shown}"
    );
    assert!(
        shown.contains("expires: 2100-01-01T00:00:00Z (in "),
        "{shown}"
    );

    let evict = run(&["evict", "user"]);
    assert_eq!(stdout(&evict), "evicted user\n");
    let status = stdout(&run(&["status"]));
    let user_line = status
        .lines()
        .find(|line| line.starts_with("user"))
        .unwrap();
    assert!(user_line.contains(" no "), "{status}");
    assert_eq!(stdout(&run(&["get", "user"])), "user-1\n");
}

/// The explanation with its steps in name order (their order depends on timing).
fn sorted(timeline: &Value) -> Value {
    let mut timeline = timeline.clone();
    if let Some(steps) = timeline["steps"].as_array_mut() {
        steps.sort_by_key(|step| step["step"].as_str().unwrap_or_default().to_owned());
    }
    timeline
}

fn base64_url(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failure_class_has_its_exit_code() {
    let server = MockServer::start().await;
    Mock::given(path("/refused"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    Mock::given(path("/failing"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let dir = workdir("exit");
    std::fs::write(
        dir.join("tokenfetch.toml"),
        format!(
            "[defaults]\nbase_url = \"{}\"\n\n[steps.refused]\nendpoint = \"/refused\"\n\n[steps.failing]\nendpoint = \"/failing\"\n\n[steps.dead]\nendpoint = \"http://127.0.0.1:9/token\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let code = |args: &[&str]| {
        let output = tokenfetch(&dir).args(args).output().unwrap();
        (output.status.code(), stderr(&output))
    };
    let (refused, message) = code(&["get", "refused"]);
    assert_eq!(refused, Some(1), "{message}");
    assert!(message.contains("invalid_client"), "{message}");
    assert_eq!(code(&["get", "failing"]).0, Some(3));
    assert_eq!(code(&["get", "dead"]).0, Some(3));
    let (unknown, message) = code(&["get", "refuse"]);
    assert_eq!(unknown, Some(2));
    assert!(message.contains("did you mean `refused`?"), "{message}");
    assert_eq!(
        code(&["get", "refused", "--store", "memcached://x"]).0,
        Some(2)
    );
    assert_eq!(code(&["--file", "missing.toml", "get", "x"]).0, Some(2));
}

#[test]
fn check_reports_every_mistake_at_once() {
    let dir = workdir("check");
    std::fs::write(
        dir.join("tokenfetch.toml"),
        "[steps.app]\nendpont = \"/app\"\nttl = \"soon\"\n\n[steps.user]\nendpoint = \"/user\"\ndepends_on = [\"apps\"]\ninject_header = [{ from = \"app\", header = \"Authorization\", format = \"Bearer\" }]\n",
    )
    .unwrap();
    let output = tokenfetch(&dir).arg("check").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!("check_diagnostics", stderr(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_on_a_cold_store_send_one_request_per_step() {
    let server = server(Duration::from_millis(300)).await;
    let dir = workdir("fleet");
    pipeline(&dir, &server);
    let children: Vec<std::process::Child> = (0..8)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("tokenfetch"))
                .current_dir(&dir)
                .env_remove("TOKENFETCH_FILE")
                .env("APP_SECRET", "app-secret")
                .args([
                    "--store",
                    &format!("file:{}", dir.join("tokens.json").display()),
                    "get",
                    "user",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), "user-0\n");
    }
    for route in ["/device", "/app", "/user"] {
        assert_eq!(requests(&server, route).await, 1, "{route}");
    }
    // A second run finds every token in the store: no request at all.
    let again = tokenfetch(&dir).args(["get", "user"]).output().unwrap();
    assert_eq!(stdout(&again), "user-0\n");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[test]
fn diagnostics_never_show_an_inline_secret() {
    let dir = workdir("masking");
    let secret = "Sup3rS3cretValue";
    let files = [
        // A misspelt credential key.
        format!(
            "[steps.api]\nendpoint = \"https://a.example/token\"\nclient_auth = {{ method = \"post\", client_id = \"id\", client_secert = \"{secret}\" }}\n"
        ),
        // A value the parser cannot read.
        format!(
            "[steps.api]\nendpoint = \"https://a.example/token\"\ndata = {{ client_secret = \"x\" }}\npassword = {secret}\n"
        ),
        // A number where a credential goes, and an API key header.
        format!(
            "[steps.api]\nendpoint = \"https://a.example/token\"\nheaders = {{ X-Api-Key = \"{secret}\" }}\nclient_auth = {{ method = \"basic\", client_id = \"id\", client_secret = 12345678 }}\nttl = \"soon\"\n"
        ),
    ];
    for file in files {
        std::fs::write(dir.join("tokenfetch.toml"), &file).unwrap();
        let output = tokenfetch(&dir).arg("check").output().unwrap();
        let shown = stderr(&output);
        assert!(!shown.is_empty());
        assert!(
            !shown.contains(secret) && !shown.contains("12345678"),
            "{shown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_logs_show_no_secret_and_a_tokenless_answer_exits_1() {
    let server = server(Duration::ZERO).await;
    let dir = workdir("verbose");
    pipeline(&dir, &server);
    let output = tokenfetch(&dir)
        .args(["-vv", "get", "user"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let logs = stderr(&output);
    assert!(logs.contains("tokenfetch"), "no logs at -vv: {logs}");
    for secret in ["app-secret", "device-0", "app-0", "user-0"] {
        assert!(!logs.contains(secret), "{secret} in the logs: {logs}");
    }

    let empty = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "wrong-field"})))
        .mount(&empty)
        .await;
    std::fs::write(
        dir.join("tokenfetch.toml"),
        format!("[steps.api]\nendpoint = \"{}/token\"\n", empty.uri()),
    )
    .unwrap();
    let output = tokenfetch(&dir).args(["get", "api"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("no token field `access_token`"));
}
