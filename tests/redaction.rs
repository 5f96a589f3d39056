//! Secrets never print: a marker planted as client secret, password, header value,
//! access token, refresh token, an endpoint's query value, a Basic client secret,
//! a JWT secret, an assertion claim and a device code, and a private key and the
//! assertions it signs, must not appear in any `tracing` output (at TRACE,
//! from every crate), nor in any `Debug` or `Display` of tokens, steps, engines,
//! requests or errors over a full run with successes and failures.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, ClientAuth, Context, DeviceFlow, Engine, Grant, HeaderTokenFetcher,
    Injection, JwtBearer, RefreshPolicy, RetryPolicy, SigningAlgorithm, SigningKey,
};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const MARK: &str = "MARKER7q9z";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn secret(label: &str) -> String {
    format!("{label}-{MARK}")
}

#[tokio::test]
async fn no_secret_reaches_logs_debug_or_errors() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let server = MockServer::start().await;
    Mock::given(path("/app"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": secret("access"),
            "refresh_token": secret("refresh"),
            "id_token": secret("extra"),
            "expires_in": 3600
        })))
        .mount(&server)
        .await;
    Mock::given(path("/device"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", secret("device")))
        .mount(&server)
        .await;
    Mock::given(path("/user"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&server)
        .await;
    Mock::given(path("/broken"))
        .respond_with(ResponseTemplate::new(200).set_body_string(secret("body")))
        .mount(&server)
        .await;

    let app = BodyTokenFetcher::builder("app")
        .endpoint("/app")
        .data("client_id", "app")
        .data("client_secret", secret("client-secret"))
        .header("X-Api-Key", secret("api-key"))
        .default_header("X-Default", secret("default-header"))
        .refresh_grant(true)
        .build()
        .unwrap();
    let device = HeaderTokenFetcher::builder("device")
        .endpoint("/device")
        .token_header("X-Device-Token")
        .build()
        .unwrap();
    let user = BodyTokenFetcher::builder("user")
        .endpoint("/user")
        .json()
        .data("password", secret("password"))
        .depends_on("app")
        .depends_on("device")
        .inject(Injection::header("app", "Authorization").format("Bearer {token}"))
        .inject_field("device", "device")
        .with_request(|request, _| {
            tracing::info!("request: {request:?}");
            Ok(())
        })
        .build()
        .unwrap();
    let broken = BodyTokenFetcher::builder("broken")
        .endpoint("/broken")
        .get()
        .data("client_secret", secret("query"))
        .build()
        .unwrap();
    let dead = BodyTokenFetcher::builder("dead")
        .base_url("http://127.0.0.1:9")
        .endpoint("/token")
        .get()
        .data("client_secret", secret("dead-query"))
        .build()
        .unwrap();

    let mut printed = vec![
        format!("{app:?}"),
        format!("{device:?}"),
        format!("{user:?}"),
        format!("{broken:?}"),
    ];
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(app)
        .step(device)
        .step(user)
        .step(broken)
        .step(dead)
        .retry_policy(RetryPolicy::none())
        .refresh_policy(RefreshPolicy::default().failure_cooldown(Duration::ZERO))
        .build()
        .unwrap();
    printed.push(format!("{engine:?}"));

    let app_token = engine.token_by_name("app").await.unwrap();
    let device_token = engine.token_by_name("device").await.unwrap();
    assert!(app_token.access_token().expose().contains(MARK));
    printed.push(format!("{app_token:?}"));
    printed.push(format!("{device_token:?}"));
    printed.push(format!("{:?}", app_token.access_token()));
    let context = Context::new()
        .with_token("app", (*app_token).clone())
        .with_token("device", (*device_token).clone());
    printed.push(format!("{context:?}"));

    for name in ["user", "broken", "dead"] {
        let error = engine.token_by_name(name).await.unwrap_err();
        printed.push(format!("{error}"));
        printed.push(format!("{error:?}"));
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            printed.push(format!("{cause}"));
            printed.push(format!("{cause:?}"));
            source = cause.source();
        }
    }
    // Endpoints whose query holds a secret: relative with no base URL to join it
    // to, and not a URL at all. Every error, log line and `Debug` shows the
    // query's names, never its values.
    for endpoint in [
        format!("/token?api_key={}", secret("query")),
        format!("http://[::1/token?api_key={}", secret("query")),
    ] {
        let builder = BodyTokenFetcher::builder("query")
            .endpoint(endpoint)
            .with_request(|request, _| {
                tracing::info!("query request: {request:?}");
                Ok(())
            });
        printed.push(format!("{builder:?}"));
        let fetcher = builder.build().unwrap();
        printed.push(format!("{fetcher:?}"));
        let engine = Engine::builder()
            .step(fetcher)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let error = engine.token_by_name("query").await.unwrap_err();
        assert!(error.to_string().contains("api_key=[redacted]"), "{error}");
        printed.push(format!("{error}"));
        printed.push(format!("{error:?}"));
    }

    // A renewal through the refresh grant, logged as well.
    engine.invalidate("app");
    engine.token_by_name("app").await.unwrap();

    // OAuth: a private key, the client assertions it signs, a client secret sent
    // as Basic, a grant's password, a device code.
    let never_printed = oauth_run(&server, &mut printed).await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("tokenfetch.fetch"),
        "the run was not traced: {logs}"
    );
    assert!(logs.contains("request: TokenRequest"), "{logs}");
    assert!(logs.contains("api_key=[redacted]"), "{logs}");
    assert!(logs.contains("device prompt"), "{logs}");
    for text in printed.iter().chain([&logs]) {
        assert!(!text.contains(MARK), "a secret leaked into: {text}");
        for secret in &never_printed {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
    }
}

/// Runs OAuth steps whose every secret is marked, printing what a user might
/// print; returns the secrets without the marker: a line of the private key and
/// the client assertions the server received.
async fn oauth_run(server: &MockServer, printed: &mut Vec<String>) -> Vec<String> {
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": secret("oauth-access"),
            "expires_in": 3600
        })))
        .mount(server)
        .await;
    Mock::given(path("/oauth/device"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": secret("device-code"),
            "user_code": "USER-CODE",
            "verification_uri": "https://example.com/device",
            "interval": 0
        })))
        .mount(server)
        .await;
    Mock::given(path("/oauth/poll"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "access_denied"})))
        .mount(server)
        .await;
    let pem = include_str!("keys/rsa.pem");
    let key = SigningKey::from_pem(SigningAlgorithm::RS256, pem).unwrap();
    let auth = ClientAuth::private_key_jwt("svc", key.clone());
    let grant = Grant::password("ann", secret("grant-password"));
    let flow = DeviceFlow::new(|prompt| tracing::info!("device prompt: {prompt:?}"))
        .endpoint("/oauth/device");
    printed.extend([
        format!("{key:?}"),
        format!("{auth:?}"),
        format!("{grant:?}"),
        format!("{flow:?}"),
        format!("{:?}", ClientAuth::basic("svc", secret("basic-secret"))),
        format!(
            "{:?}",
            JwtBearer::signed(key.clone(), "svc", "ann").claim("x", secret("claim"))
        ),
    ]);
    let signed = BodyTokenFetcher::builder("signed")
        .endpoint("/oauth/token")
        .client_auth(auth)
        .grant(Grant::jwt_bearer(
            JwtBearer::signed(key, "svc", "ann").claim("x", secret("claim")),
        ))
        .build()
        .unwrap();
    let basic = BodyTokenFetcher::builder("basic")
        .endpoint("/oauth/token")
        .client_auth(ClientAuth::basic("svc", secret("basic-secret")))
        .grant(grant)
        .build()
        .unwrap();
    let tv = BodyTokenFetcher::builder("tv")
        .endpoint("/oauth/poll")
        .client_auth(ClientAuth::secret_jwt("tv", secret("jwt-secret")))
        .grant(Grant::device_code(flow))
        .build()
        .unwrap();
    printed.extend([
        format!("{signed:?}"),
        format!("{basic:?}"),
        format!("{tv:?}"),
    ]);
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(signed)
        .step(basic)
        .step(tv)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    printed.push(format!("{engine:?}"));
    for name in ["signed", "basic"] {
        let token = engine.token_by_name(name).await.unwrap();
        printed.push(format!("{token:?}"));
    }
    let error = engine.token_by_name("tv").await.unwrap_err();
    assert_eq!(error.oauth().unwrap().error, "access_denied");
    printed.extend([format!("{error}"), format!("{error:?}")]);

    let mut never_printed = vec![pem.lines().nth(1).unwrap().to_owned()];
    for request in server.received_requests().await.unwrap() {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
        for (key, value) in form {
            if key == "client_assertion" || key == "assertion" {
                never_printed.push(value);
            }
        }
    }
    assert!(never_printed.len() >= 4, "{never_printed:?}");
    never_printed
}
