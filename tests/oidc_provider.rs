//! Interoperability with an authorization server nobody on this project wrote:
//! oidc-provider (OpenID Certified, from npm; `tests/oauth_server/`), started on
//! a loopback port by each test. Client credentials with `client_secret_basic`
//! (its id and secret form-urlencoded), `client_secret_post` and
//! `private_key_jwt`, the method chosen from discovery, the refresh token grant,
//! and the device flow.
//!
//! The first test to run installs the locked server with `npm ci` if it is not
//! installed yet. Without Node.js these tests say so and pass, unless
//! `TOKENFETCH_REQUIRE_OIDC` is set (CI sets it).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokenfetch::{
    BodyTokenFetcher, ClientAuth, Context, DeviceFlow, Engine, ErrorKind, Grant, SigningAlgorithm,
    SigningKey, TokenFetcher,
};

const BASIC_SECRET: &str = "p+ss w:rd/%&=";

/// A running oidc-provider, stopped on drop.
struct Server {
    child: Child,
    issuer: String,
    refresh_token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oauth_server")
}

/// Installs the server once per test run; `false` when Node.js is missing.
fn installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let _one_at_a_time = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    *INSTALLED.get_or_init(|| {
        let dir = server_dir();
        if dir.join("node_modules/oidc-provider").is_dir() {
            return true;
        }
        match Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
        {
            Ok(status) => {
                assert!(status.success(), "`npm ci` in {} failed", dir.display());
                true
            }
            Err(error) => {
                assert!(
                    std::env::var_os("TOKENFETCH_REQUIRE_OIDC").is_none(),
                    "Node.js is required but npm cannot be run: {error}"
                );
                eprintln!("skipped: npm is not installed ({error})");
                false
            }
        }
    })
}

impl Server {
    /// Starts the server; a start that prints nothing within 30 s (Node.js has
    /// been seen to stall at start-up, rarely, with several starting at once) is
    /// killed and tried again, up to three times.
    fn start() -> Option<Server> {
        if !installed() {
            return None;
        }
        for _ in 0..3 {
            let mut child = Command::new("node")
                .arg("server.mjs")
                .current_dir(server_dir())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("node starts");
            let stdout = child.stdout.take().unwrap();
            let (sender, receiver) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = sender.send(line);
            });
            let Ok(line) = receiver.recv_timeout(Duration::from_secs(30)) else {
                eprintln!("oidc-provider printed nothing within 30 s; starting it again");
                let _ = child.kill();
                let _ = child.wait();
                continue;
            };
            let started: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("the server's first line is not JSON: {line:?}"));
            return Some(Server {
                child,
                issuer: started["issuer"].as_str().unwrap().to_owned(),
                refresh_token: started["refresh_token"].as_str().unwrap().to_owned(),
            });
        }
        panic!("oidc-provider did not start in three tries");
    }

    fn client_credentials(&self, name: &str, auth: ClientAuth) -> BodyTokenFetcher {
        BodyTokenFetcher::builder(name)
            .issuer(&self.issuer)
            .client_auth(auth)
            .grant(Grant::client_credentials().scopes(["read", "write"]))
            .build()
            .unwrap()
    }
}

#[tokio::test]
async fn client_credentials_with_basic_post_and_discovery() {
    let Some(server) = Server::start() else {
        return;
    };
    let engine = Engine::builder()
        .step(server.client_credentials("basic", ClientAuth::basic("basic-client", BASIC_SECRET)))
        .step(server.client_credentials("post", ClientAuth::post("post-client", "post-secret")))
        // The method from the issuer's metadata, which lists basic.
        .step(server.client_credentials("chosen", ClientAuth::secret("basic-client", BASIC_SECRET)))
        .build()
        .unwrap();
    for step in ["basic", "post", "chosen"] {
        let token = engine.token_by_name(step).await.unwrap();
        assert_eq!(token.token_type(), "Bearer");
        assert_eq!(token.extra()["scope"], "read write", "{step}");
        let left = token.expires_in().unwrap().as_secs();
        assert!((590..=600).contains(&left), "{step}: {left}");
    }
}

#[tokio::test]
async fn a_client_authenticating_the_wrong_way_is_refused() {
    let Some(server) = Server::start() else {
        return;
    };
    let cases = [
        ClientAuth::basic("post-client", "post-secret"),
        ClientAuth::post("basic-client", BASIC_SECRET),
        // What §2.3.1 forbids: the secret's `+` would be read as a space.
        ClientAuth::basic_unencoded("basic-client", BASIC_SECRET),
        ClientAuth::post("post-client", "wrong"),
    ];
    for auth in cases {
        let error = server
            .client_credentials("api", auth)
            .fetch(&Context::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Refused, "{error}");
        let code = &error.oauth().unwrap().error;
        assert!(
            code == "invalid_client" || code == "invalid_request",
            "{error}"
        );
        assert!(!error.to_string().contains("post-secret"));
    }
}

#[tokio::test]
async fn private_key_jwt_is_accepted() {
    let Some(server) = Server::start() else {
        return;
    };
    let pem = std::fs::read(server_dir().join("jwt-client.key.pem")).unwrap();
    for algorithm in [SigningAlgorithm::RS256, SigningAlgorithm::PS256] {
        let key = SigningKey::from_pem(algorithm, &pem)
            .unwrap()
            .with_kid("jwt-client-key-1");
        let token = server
            .client_credentials("api", ClientAuth::private_key_jwt("jwt-client", key))
            .fetch(&Context::new())
            .await
            .unwrap();
        assert_eq!(token.extra()["scope"], "read write");
    }
}

#[tokio::test]
async fn the_refresh_token_grant_and_a_refresh() {
    let Some(server) = Server::start() else {
        return;
    };
    let fetcher = BodyTokenFetcher::builder("offline")
        .issuer(&server.issuer)
        .client_auth(ClientAuth::post("post-client", "post-secret"))
        .grant(Grant::refresh_token(server.refresh_token.as_str()).scope("read"))
        .build()
        .unwrap();
    let context = Context::new();
    let token = fetcher.fetch(&context).await.unwrap();
    assert_eq!(token.extra()["scope"], "read");
    assert_eq!(
        token.refresh_token().unwrap().expose(),
        server.refresh_token
    );
    let renewed = fetcher.refresh(&token, &context).unwrap().await.unwrap();
    assert_ne!(renewed.access_token(), token.access_token());
    assert_eq!(renewed.extra()["scope"], "read");
}

#[tokio::test]
async fn the_device_flow_is_approved_by_the_user() {
    let Some(server) = Server::start() else {
        return;
    };
    let approve = format!("{}/test/device/approve", server.issuer);
    let fetcher = BodyTokenFetcher::builder("tv")
        .issuer(&server.issuer)
        .client_auth(ClientAuth::post("post-client", "post-secret"))
        .grant(
            Grant::device_code(DeviceFlow::new(move |prompt| {
                // The user, entering the code on another device.
                let approve = approve.clone();
                let form = [("user_code", prompt.user_code().to_owned())];
                tokio::spawn(async move {
                    let answer = reqwest::Client::new()
                        .post(approve)
                        .form(&form)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 204);
                });
            }))
            .scope("read"),
        )
        .build()
        .unwrap();
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.extra()["scope"], "read");
}
