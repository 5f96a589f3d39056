//! What several test files share: the canonical steps of the README, declared with
//! the derive, and a server on 127.0.0.1 that answers them only when each request
//! carries exactly what it should (the device id, the app credentials, the JSON
//! login with both earlier tokens injected).

#![allow(dead_code)]

use serde_json::json;
use tokenfetch::{Secret, TokenStep};
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Registers the device; the token comes back in a response header.
#[derive(TokenStep)]
#[endpoint("/device/register")]
#[token_header("X-Device-Token")]
#[step(ttl = "30d")]
pub struct DeviceToken {
    #[header("X-Device-ID")]
    pub device_id: String,
}

/// App credentials -> app token, read from the JSON body field `token`.
#[derive(TokenStep)]
#[endpoint("/v1/app/token")]
#[token_field("token")]
pub struct AppToken {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Needs both earlier tokens: one as a header, one as a bearer credential.
#[derive(TokenStep)]
#[endpoint("/v1/user/token", content_type = "json")]
#[token_field("access_token")]
#[depends_on(DeviceToken, AppToken)]
#[inject_header(from = DeviceToken, header = "X-Device-Token")]
#[inject_header(from = AppToken, header = "Authorization", format = "Bearer {token}")]
pub struct UserToken {
    pub username: String,
    pub password: Secret,
}

pub fn device() -> DeviceToken {
    DeviceToken {
        device_id: "device-123".into(),
    }
}

pub fn app() -> AppToken {
    AppToken {
        client_id: "app".into(),
        client_secret: "s3cret".into(),
    }
}

pub fn user() -> UserToken {
    UserToken {
        username: "u".into(),
        password: "p".into(),
    }
}

/// The canonical server: tokens `dev-tok`, `app-tok`, `user-tok`. With
/// `expect_each`, the server fails the test on drop unless each step was
/// requested exactly that many times.
pub async fn canonical_server(expect_each: Option<u64>) -> MockServer {
    let server = MockServer::start().await;
    let mocks = [
        Mock::given(method("POST"))
            .and(path("/device/register"))
            .and(header("X-Device-ID", "device-123"))
            .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", "dev-tok")),
        Mock::given(method("POST"))
            .and(path("/v1/app/token"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string("client_id=app&client_secret=s3cret"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"token": "app-tok", "expires_in": 3600})),
            ),
        Mock::given(method("POST"))
            .and(path("/v1/user/token"))
            .and(header("X-Device-Token", "dev-tok"))
            .and(header("Authorization", "Bearer app-tok"))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({"username": "u", "password": "p"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "user-tok", "token_type": "Bearer", "expires_in": 900}),
            )),
    ];
    for mock in mocks {
        let mock = match expect_each {
            Some(times) => mock.expect(times),
            None => mock,
        };
        mock.mount(&server).await;
    }
    server
}

/// A token endpoint that issues a new token on every request,
/// `<prefix>-<n>-<what the request said>`, so that a test can tell which request
/// a caller's token came from. `what the request said` is the body, so two
/// configurations that send different requests get visibly different tokens. The
/// first answer can be made slow.
pub struct Issuer {
    pub prefix: &'static str,
    pub first_delay: std::time::Duration,
    pub issued: std::sync::atomic::AtomicUsize,
}

impl Issuer {
    pub fn new(prefix: &'static str) -> Self {
        Issuer {
            prefix,
            first_delay: std::time::Duration::ZERO,
            issued: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub fn slow_first(mut self, delay: std::time::Duration) -> Self {
        self.first_delay = delay;
        self
    }
}

impl wiremock::Respond for Issuer {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let n = self
            .issued
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let said = String::from_utf8_lossy(&request.body).into_owned();
        let template = ResponseTemplate::new(200).set_body_json(
            json!({"access_token": format!("{}-{n}-{said}", self.prefix), "expires_in": 3600}),
        );
        if n == 0 {
            template.set_delay(self.first_delay)
        } else {
            template
        }
    }
}

/// How many requests the server received for `route`.
pub async fn requests_to(server: &MockServer, route: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == route)
        .count()
}

/// A store's fetch lock is a lease that its holder alone renews and releases:
/// a stranger's renewal and release do nothing, renewal keeps it past its first
/// lease, and release frees it. What every `TokenStore` shared by processes owes.
pub async fn check_lock_lease(store: &impl tokenfetch::TokenStore) {
    use std::time::Duration;
    use tokenfetch::LockOutcome;

    let key = tokenfetch::StoreKey::new("app", tokenfetch::StepIdentity::new());
    // A lease long enough for a loaded machine's file I/O between renewals.
    let lease = Duration::from_millis(1000);
    let LockOutcome::Acquired(lock) = store.lock(&key, lease).await.unwrap() else {
        panic!("the lock was free");
    };
    let stranger = tokenfetch::StoreLock::new();
    assert!(!store.extend(&key, &stranger, lease).await.unwrap());
    store.unlock(&key, &stranger).await.unwrap();
    assert!(matches!(
        store.lock(&key, lease).await.unwrap(),
        LockOutcome::Busy
    ));
    // Renewed past its first lease: still held.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(store.extend(&key, &lock, lease).await.unwrap());
    }
    assert!(matches!(
        store.lock(&key, lease).await.unwrap(),
        LockOutcome::Busy
    ));
    store.unlock(&key, &lock).await.unwrap();
    assert!(matches!(
        store.lock(&key, lease).await.unwrap(),
        LockOutcome::Acquired(_)
    ));
}
