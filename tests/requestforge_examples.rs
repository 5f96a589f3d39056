//! Every example of requestforge's fetcher reference (the Python library this API
//! grew from), in Rust,
//! against a real HTTP server on 127.0.0.1 that refuses requests lacking what the
//! example is supposed to send.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, BoxFuture, Context, Engine, Error, ErrorKind, HeaderTokenFetcher,
    HttpSettings, Method, RetryPolicy, TokenData, TokenFetcher,
};
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn token_json(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"access_token": token, "expires_in": 3600}))
}

#[tokio::test]
async fn simple_oauth2_flow() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string(
            "grant_type=client_credentials&client_id=your-client-id&client_secret=your-client-secret&scope=read+write",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "oauth-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "ref-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let fetcher = BodyTokenFetcher::builder("oauth_token")
        .base_url(server.uri())
        .endpoint("/oauth/token")
        .method(Method::POST)
        .request_data([
            ("grant_type", "client_credentials"),
            ("client_id", "your-client-id"),
            ("client_secret", "your-client-secret"),
            ("scope", "read write"),
        ])
        .form()
        .token_field("access_token")
        .expires_in_field("expires_in")
        .refresh_token_field("refresh_token")
        .build()
        .unwrap();
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "oauth-1");
    assert!(token.expires_at().is_some());
    assert_eq!(token.refresh_token().unwrap().expose(), "ref-1");
}

#[tokio::test]
async fn two_step_flow() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/app/token"))
        .and(body_string("client_id=app-id&client_secret=app-secret"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token": "app-1", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/user/token"))
        .and(header("X-App-Token", "app-1"))
        .and(body_string(
            "username=user%40example.com&password=password123",
        ))
        .respond_with(token_json("user-1"))
        .mount(&server)
        .await;
    let app = BodyTokenFetcher::builder("app_token")
        .base_url(server.uri())
        .endpoint("/v1/app/token")
        .data("client_id", "app-id")
        .data("client_secret", "app-secret")
        .token_field("token")
        .ttl(Duration::from_secs(3600))
        .build()
        .unwrap();
    let user = BodyTokenFetcher::builder("user_token")
        .base_url(server.uri())
        .endpoint("/v1/user/token")
        .data("username", "user@example.com")
        .data("password", "password123")
        .ttl(Duration::from_secs(30 * 60))
        .depends_on("app_token")
        .inject_header("app_token", "X-App-Token")
        .build()
        .unwrap();
    // Executed step by step, as in requestforge's example.
    let app_token = app.fetch(&Context::new()).await.unwrap();
    let context = Context::new().with_token("app_token", app_token);
    let user_token = user.fetch(&context).await.unwrap();
    assert_eq!(user_token.access_token().expose(), "user-1");
}

#[tokio::test]
async fn header_based_authentication() {
    let server = MockServer::start().await;
    Mock::given(path("/auth/token"))
        .and(header("X-App-Name", "my-app"))
        .and(header("X-App-Secret", "secret123"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Auth-Token", "hdr-1"))
        .mount(&server)
        .await;
    let fetcher = HeaderTokenFetcher::builder("app_token")
        .base_url(server.uri())
        .endpoint("/auth/token")
        .method(Method::POST)
        .header("X-App-Name", "my-app")
        .header("X-App-Secret", "secret123")
        .token_header("X-Auth-Token")
        .token_type("Bearer")
        .ttl(Duration::from_secs(3600))
        .build()
        .unwrap();
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "hdr-1");
    assert_eq!(token.token_type(), "Bearer");
}

#[tokio::test]
async fn mixed_header_and_body_tokens() {
    let server = MockServer::start().await;
    Mock::given(path("/device/register"))
        .and(header("X-Device-ID", "device-123"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", "dev-1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/user/auth"))
        .and(header("X-Device-Token", "dev-1"))
        .and(body_string("username=user&password=pass"))
        .respond_with(token_json("user-1"))
        .expect(1)
        .mount(&server)
        .await;
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            HeaderTokenFetcher::builder("device_token")
                .endpoint("/device/register")
                .header("X-Device-ID", "device-123")
                .token_header("X-Device-Token")
                .ttl(Duration::from_secs(30 * 24 * 3600))
                .build()
                .unwrap(),
        )
        .step(
            BodyTokenFetcher::builder("user_token")
                .endpoint("/user/auth")
                .data("username", "user")
                .data("password", "pass")
                .ttl(Duration::from_secs(15 * 60))
                .depends_on("device_token")
                .inject_header("device_token", "X-Device-Token")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let user = engine.token_by_name("user_token").await.unwrap();
    assert_eq!(user.access_token().expose(), "user-1");
    // Cached: the `expect(1)`s above fail the test if anything is fetched again.
    engine.token_by_name("user_token").await.unwrap();
}

/// requestforge's `CustomTokenFetcher` example: proprietary logic on top of the HTTP layer.
struct CustomTokenFetcher {
    name: String,
    api_key: String,
    http: HttpSettings,
}

impl TokenFetcher for CustomTokenFetcher {
    fn name(&self) -> &str {
        &self.name
    }

    fn ttl(&self) -> Option<Duration> {
        Some(Duration::from_secs(3600))
    }

    fn fetch<'a>(&'a self, context: &'a Context) -> BoxFuture<'a, tokenfetch::Result<TokenData>> {
        Box::pin(async move {
            let request = self
                .http
                .request(Method::POST, "/custom/auth", context)?
                .header("X-API-Key", &self.api_key)
                .json(&json!({"action": "authenticate"}));
            let response = self.http.send(request).await?;
            #[derive(serde::Deserialize)]
            struct Answer {
                custom_token: String,
                ttl: u64,
                session: String,
            }
            let answer: Answer = response.json()?;
            Ok(TokenData::new(answer.custom_token)
                .with_token_type("Custom")
                .with_expires_in(Duration::from_secs(answer.ttl))
                .with_extra("session_id", answer.session))
        })
    }
}

#[tokio::test]
async fn custom_token_fetcher() {
    let server = MockServer::start().await;
    Mock::given(path("/custom/auth"))
        .and(header("X-API-Key", "your-key"))
        .and(body_json(json!({"action": "authenticate"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"custom_token": "c-1", "ttl": 600, "session": "s-9"})),
        )
        .mount(&server)
        .await;
    let fetcher = CustomTokenFetcher {
        name: "custom_token".into(),
        api_key: "your-key".into(),
        http: HttpSettings::builder()
            .base_url(server.uri())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    };
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "c-1");
    assert_eq!(token.token_type(), "Custom");
    assert_eq!(token.extra()["session_id"], "s-9");

    // A wrong key: the HTTP layer turns the 401 into the typed error.
    let wrong = CustomTokenFetcher {
        api_key: "nope".into(),
        ..fetcher
    };
    Mock::given(path("/custom/auth"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let error = wrong.fetch(&Context::new()).await.unwrap_err();
    assert_eq!(error.status().unwrap().as_u16(), 401);
}

/// requestforge's `RobustTokenFetcher` example: a step with its own error handling.
struct RobustTokenFetcher {
    inner: BodyTokenFetcher,
    alerts: Arc<Mutex<Vec<String>>>,
}

impl TokenFetcher for RobustTokenFetcher {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn fetch<'a>(&'a self, context: &'a Context) -> BoxFuture<'a, tokenfetch::Result<TokenData>> {
        self.inner.fetch(context)
    }

    fn on_fetch_error(&self, error: &Error, _context: &Context) {
        self.alerts
            .lock()
            .unwrap()
            .push(format!("Token fetch failed: {error}"));
    }
}

#[tokio::test]
async fn error_handling_with_a_custom_hook() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(RobustTokenFetcher {
            inner: BodyTokenFetcher::builder("robust_token")
                .endpoint("/token")
                .data("client_id", "id")
                .build()
                .unwrap(),
            alerts: Arc::clone(&alerts),
        })
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = engine.token_by_name("robust_token").await.unwrap_err();
    assert!(error.message().contains("401"));
    assert_eq!(error.step(), Some("robust_token"));
    let alerts = alerts.lock().unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].contains("Token request failed for step `robust_token`"));
}

#[tokio::test]
async fn dependency_injection_of_three_tokens() {
    let server = MockServer::start().await;
    for (step, token) in [("device", "d-1"), ("app", "a-1"), ("session", "s-1")] {
        Mock::given(path(format!("/{step}")))
            .respond_with(token_json(token))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(path("/final/token"))
        .and(header("X-Device", "d-1"))
        .and(header("X-App", "a-1"))
        .and(body_string("username=user&session=s-1"))
        .respond_with(token_json("final-1"))
        .expect(1)
        .mount(&server)
        .await;
    let simple = |name: &str| {
        BodyTokenFetcher::builder(format!("{name}_token"))
            .endpoint(format!("/{name}"))
            .build()
            .unwrap()
    };
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(simple("device"))
        .step(simple("app"))
        .step(simple("session"))
        .step(
            BodyTokenFetcher::builder("final_token")
                .endpoint("/final/token")
                .data("username", "user")
                .depends_on("device_token")
                .depends_on("app_token")
                .depends_on("session_token")
                .inject_header("device_token", "X-Device")
                .inject_header("app_token", "X-App")
                .inject_field("session_token", "session")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let token = engine.token_by_name("final_token").await.unwrap();
    assert_eq!(token.access_token().expose(), "final-1");
}

#[tokio::test]
async fn testing_fetchers_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "test-token-123", "token_type": "Bearer", "expires_in": 3600
        })))
        .mount(&server)
        .await;
    let fetcher = BodyTokenFetcher::builder("test_token")
        .base_url(server.uri())
        .endpoint("/oauth/token")
        .data("client_id", "test")
        .build()
        .unwrap();
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "test-token-123");
    assert_eq!(token.token_type(), "Bearer");
    assert!(token.expires_at().is_some());
}

#[tokio::test]
async fn testing_fetchers_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let fetcher = BodyTokenFetcher::builder("test_token")
        .base_url(server.uri())
        .endpoint("/oauth/token")
        .data("client_id", "test")
        .build()
        .unwrap();
    let error = fetcher.fetch(&Context::new()).await.unwrap_err();
    assert!(
        error.to_string().contains("Token request failed"),
        "{error}"
    );
    assert_eq!(error.kind(), ErrorKind::Refused);
}

#[tokio::test]
async fn validate_context() {
    let fetcher = BodyTokenFetcher::builder("user_token")
        .base_url("http://127.0.0.1:9")
        .endpoint("/user")
        .depends_on("prev_token")
        .inject(
            tokenfetch::Injection::header("prev_token", "Authorization").format("Bearer {token}"),
        )
        .build()
        .unwrap();
    let error = fetcher.fetch(&Context::new()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("`prev_token`"));
}
