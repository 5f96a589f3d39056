//! Answers a hostile or broken token server sends, each found by generating
//! responses from a raw server on 127.0.0.1: the status decides over the body's
//! size, only a JSON object is an OAuth error, an empty credential is an error,
//! media types compare as RFC 9110 says, what the server wrote reaches messages
//! escaped and cut, a huge `Retry-After` is capped, and what was wrong is said.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, Context, Engine, ErrorKind, HeaderTokenFetcher, RetryPolicy, TokenFetcher,
};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server on 127.0.0.1 that answers every connection with `response`, as is.
fn raw_server(response: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(&response);
        }
    });
    url
}

async fn fetch_from(url: &str) -> tokenfetch::Error {
    BodyTokenFetcher::builder("app")
        .base_url(url)
        .endpoint("/token")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err()
}

async fn mocked(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_large_error_page_keeps_its_status_and_retry_after() {
    let page = "<html>".to_owned() + &"x".repeat(2 * 1024 * 1024) + "</html>";
    let server = mocked(
        ResponseTemplate::new(503)
            .insert_header("Retry-After", "5")
            .set_body_string(page),
    )
    .await;
    let error = fetch_from(&server.uri()).await;
    assert_eq!(error.kind(), ErrorKind::Server, "{error}");
    assert_eq!(error.status().map(|status| status.as_u16()), Some(503));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_large_error_page_is_retried_as_the_policy_allows() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(503).set_body_string("y".repeat(2 * 1024 * 1024)))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "t"})))
        .mount(&server)
        .await;
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("app")
                .endpoint("/token")
                .build()
                .unwrap(),
        )
        .retry_policy(
            RetryPolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    let token = engine.token_by_name("app").await.unwrap();
    assert_eq!(token.access_token().expose(), "t");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn only_a_json_object_is_an_oauth_error() {
    for body in [
        json!(["x"]),
        json!(["invalid_grant", "bad", "https://e.example"]),
    ] {
        let server = mocked(ResponseTemplate::new(400).set_body_json(body.clone())).await;
        let error = fetch_from(&server.uri()).await;
        assert!(error.is_refused());
        assert!(
            error.oauth().is_none(),
            "{body} read as {:?}",
            error.oauth()
        );
        assert!(!error.to_string().contains("invalid_grant"), "{error}");
    }
    let server =
        mocked(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}))).await;
    let error = fetch_from(&server.uri()).await;
    assert_eq!(error.oauth().unwrap().error, "invalid_grant");
}

#[tokio::test]
async fn a_scheme_without_a_credential_is_an_error_naming_the_header() {
    for value in ["Bearer", "Bearer   ", "bearer"] {
        let server = mocked(ResponseTemplate::new(200).insert_header("Authorization", value)).await;
        let error = HeaderTokenFetcher::builder("app")
            .base_url(server.uri())
            .endpoint("/token")
            .build()
            .unwrap()
            .fetch(&Context::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BadResponse, "{value:?}");
        assert!(error.to_string().contains("`authorization`"), "{error}");
    }
}

#[tokio::test]
async fn media_types_compare_case_insensitively_and_exactly() {
    let form = |content_type: &'static str| {
        ResponseTemplate::new(200)
            .set_body_raw("access_token=from-form&token_type=Bearer", content_type)
    };
    for content_type in [
        "Application/X-WWW-Form-Urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        " APPLICATION/x-www-form-urlencoded ;charset=utf-8",
    ] {
        let server = mocked(form(content_type)).await;
        let token = BodyTokenFetcher::builder("app")
            .base_url(server.uri())
            .endpoint("/token")
            .build()
            .unwrap()
            .fetch(&Context::new())
            .await
            .unwrap();
        assert_eq!(token.access_token().expose(), "from-form", "{content_type}");
    }
    // Another subtype is not a form, whatever its prefix.
    let server = mocked(form("application/x-www-form-urlencodedx")).await;
    let error = fetch_from(&server.uri()).await;
    assert_eq!(error.kind(), ErrorKind::BadResponse);
    assert!(error.to_string().contains("not JSON"), "{error}");
}

#[tokio::test]
async fn what_the_server_wrote_is_escaped_and_cut_in_messages() {
    let forged = "bad\n2026-11-28T00:00:00Z  INFO admin logged in\u{1b}[2J";
    let long = "d".repeat(50 * 1024);
    let server = mocked(ResponseTemplate::new(400).set_body_json(
        json!({"error": forged, "error_description": long, "error_uri": "https://e.example/\r\nx"}),
    ))
    .await;
    let error = fetch_from(&server.uri()).await;
    let message = error.to_string();
    assert!(
        !message.contains('\n') && !message.contains('\r'),
        "{message}"
    );
    assert!(!message.contains('\u{1b}'), "{message}");
    assert!(message.contains("bad\\n2026"), "{message}");
    assert!(message.len() < 2048, "a {} byte message", message.len());
    assert!(message.contains("[cut]"), "{message}");
    // The fields themselves stay as the server sent them, for a program to read.
    assert_eq!(error.oauth().unwrap().error, forged);
}

#[tokio::test]
async fn a_retry_after_beyond_64_bits_is_capped() {
    let server = mocked(
        ResponseTemplate::new(503).insert_header("Retry-After", "99999999999999999999999999"),
    )
    .await;
    let error = fetch_from(&server.uri()).await;
    assert_eq!(error.retry_after(), Some(Duration::from_secs(300)));
}

#[tokio::test]
async fn json_nested_too_deeply_is_called_that() {
    let body = "[".repeat(10_000) + &"]".repeat(10_000);
    let server = mocked(ResponseTemplate::new(200).set_body_raw(body, "application/json")).await;
    let error = fetch_from(&server.uri()).await;
    assert_eq!(error.kind(), ErrorKind::BadResponse);
    assert!(error.to_string().contains("nested too deeply"), "{error}");
}

#[tokio::test]
async fn too_many_response_headers_are_called_that() {
    let mut response = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n".to_vec();
    for i in 0..150 {
        response.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    response.extend_from_slice(b"\r\n{}");
    let url = raw_server(response);
    let error = fetch_from(&url).await;
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::BadResponse, "{message}");
    assert!(message.contains("headers"), "{message}");
    assert!(
        !message.contains("check that the server is up"),
        "{message}"
    );
}

#[tokio::test]
async fn a_step_rebuilt_by_hand_reads_the_same() {
    // The fixes live in the shared HTTP layer: a hand-written step sending
    // through `HttpSettings::send` sees the same status-first reading.
    let server =
        mocked(ResponseTemplate::new(503).set_body_string("z".repeat(2 * 1024 * 1024))).await;
    let http = tokenfetch::HttpSettings::builder()
        .base_url(server.uri())
        .build()
        .unwrap();
    let request = http
        .request(reqwest::Method::POST, "/token", &Context::new())
        .unwrap();
    let error = http.send(request).await.unwrap_err();
    assert_eq!(error.status().map(|status| status.as_u16()), Some(503));
}
