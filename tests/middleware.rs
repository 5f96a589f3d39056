//! The reqwest middleware: the token on every request, one renewal and one retry on
//! a 401, a second 401 handed back, no replay of a body that cannot be replayed.
#![cfg(feature = "middleware")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::header::HeaderName;
use serde_json::json;
use tokenfetch::{AuthMiddleware, BodyTokenFetcher, Engine};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// An auth server issuing `tok-1`, `tok-2`... and an API accepting only `accepted`.
async fn servers(accepted: &'static str) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&issued);
    Mock::given(path("/token"))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(json!({"access_token": format!("tok-{n}")}))
        })
        .mount(&server)
        .await;
    Mock::given(path("/api"))
        .and(header(
            "Authorization",
            format!("Bearer {accepted}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    Mock::given(path("/api"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    (server, issued)
}

fn client(
    server: &MockServer,
    middleware: impl FnOnce(Engine) -> AuthMiddleware,
) -> reqwest_middleware::ClientWithMiddleware {
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("api")
                .endpoint("/token")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(middleware(engine))
        .build()
}

fn by_name(engine: Engine) -> AuthMiddleware {
    AuthMiddleware::new(engine, "api").unwrap()
}

#[tokio::test]
async fn every_request_carries_the_cached_token() {
    let (server, issued) = servers("tok-1").await;
    let client = client(&server, by_name);
    for _ in 0..3 {
        let response = client
            .get(format!("{}/api", server.uri()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_renews_the_token_and_retries_once() {
    let (server, issued) = servers("tok-2").await;
    let client = client(&server, by_name);
    let response = client
        .post(format!("{}/api", server.uri()))
        .body("replayable")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_401_goes_back_to_the_caller() {
    let (server, issued) = servers("never").await;
    let client = client(&server, by_name);
    let response = client
        .get(format!("{}/api", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    let api_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/api")
        .count();
    assert_eq!(api_calls, 2);
}

#[tokio::test]
async fn a_streamed_body_is_not_replayed() {
    let (server, issued) = servers("tok-2").await;
    let client = client(&server, by_name);
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>("once".as_bytes().to_vec())]);
    let response = client
        .post(format!("{}/api", server.uri()))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn header_and_format_are_configurable() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "k"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .and(header("X-Api-Token", "Token k"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, |engine| {
        AuthMiddleware::new(engine, "api")
            .unwrap()
            .header(HeaderName::from_static("x-api-token"))
            .format("Token {token}")
            .unwrap()
    });
    let response = client
        .get(format!("{}/api", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(AuthMiddleware::new(Engine::builder().build().unwrap(), "missing").is_err());
}
