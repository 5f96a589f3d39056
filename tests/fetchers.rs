//! The HTTP fetchers against a real server on 127.0.0.1: what they send, what they
//! read, and a clear typed error for every kind of bad answer.

use std::time::Duration;

use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, Context, ErrorKind, HeaderTokenFetcher, Injection, TokenData, TokenFetcher,
    TokenPart,
};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn serve(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn body_fetcher(server: &MockServer) -> BodyTokenFetcher {
    BodyTokenFetcher::builder("test_token")
        .base_url(server.uri())
        .endpoint("/token")
        .data("client_id", "test")
        .build()
        .unwrap()
}

async fn fetch_error(response: ResponseTemplate) -> tokenfetch::Error {
    let server = serve(response).await;
    body_fetcher(&server)
        .fetch(&Context::new())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn body_fetcher_reads_every_standard_field_and_keeps_the_rest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "grant_type=client_credentials&client_id=my-client&scope=read+write",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "abc",
            "token_type": "MAC",
            "expires_in": 3600,
            "refresh_token": "ref",
            "scope": "read write",
            "id_token": "xyz"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let fetcher = BodyTokenFetcher::builder("oauth")
        .base_url(server.uri())
        .endpoint("/oauth/token")
        .data("grant_type", "client_credentials")
        .data("client_id", "my-client")
        .data("scope", "read write")
        .build()
        .unwrap();
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "abc");
    assert_eq!(token.token_type(), "MAC");
    assert_eq!(token.refresh_token().unwrap().expose(), "ref");
    let left = token.expires_in().unwrap();
    assert!(left > Duration::from_secs(3590) && left <= Duration::from_secs(3600));
    assert_eq!(token.extra()["scope"], "read write");
    assert_eq!(token.extra()["id_token"], "xyz");
    assert!(!token.extra().contains_key("access_token"));
}

#[tokio::test]
async fn custom_field_names_and_default_token_type() {
    let server = serve(ResponseTemplate::new(200).set_body_json(json!({
        "auth_token": "t", "ttl": "120", "refresh": "r"
    })))
    .await;
    let token = BodyTokenFetcher::builder("token")
        .base_url(server.uri())
        .endpoint("/token")
        .token_field("auth_token")
        .token_type_field("type")
        .expires_in_field("ttl")
        .refresh_token_field("refresh")
        .default_token_type("Custom")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap();
    assert_eq!(token.access_token().expose(), "t");
    assert_eq!(token.token_type(), "Custom");
    assert!(token.expires_in().unwrap() > Duration::from_secs(100));
    assert_eq!(token.refresh_token().unwrap().expose(), "r");
}

#[tokio::test]
async fn json_content_type_sends_a_json_object() {
    let server = MockServer::start().await;
    Mock::given(path("/api/token"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"username": "user", "password": "pass"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "j"})))
        .mount(&server)
        .await;
    let token = BodyTokenFetcher::builder("token")
        .base_url(server.uri())
        .endpoint("/api/token")
        .json()
        .request_data([("username", "user"), ("password", "pass")])
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap();
    assert_eq!(token.access_token().expose(), "j");
}

#[tokio::test]
async fn get_sends_data_as_query_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(query_param("client_id", "abc"))
        .and(query_param("extra", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "g"})))
        .mount(&server)
        .await;
    let token = BodyTokenFetcher::builder("token")
        .base_url(server.uri())
        .endpoint("/token")
        .get()
        .data("client_id", "abc")
        .query("extra", "1")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap();
    assert_eq!(token.access_token().expose(), "g");
}

#[tokio::test]
async fn form_encoded_token_response_is_read() {
    let token = serve(ResponseTemplate::new(200).set_body_raw(
        "access_token=f&token_type=bearer&expires_in=60",
        "application/x-www-form-urlencoded",
    ))
    .await;
    let token = body_fetcher(&token).fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "f");
    assert_eq!(token.token_type(), "bearer");
}

#[tokio::test]
async fn header_fetcher_reads_the_header_and_strips_the_scheme() {
    let server = MockServer::start().await;
    Mock::given(path("/auth/session"))
        .and(header("X-API-Key", "your-api-key"))
        .and(header("X-Device-ID", "device-123"))
        .and(body_string("username=user&password=pass"))
        .respond_with(ResponseTemplate::new(204).insert_header("X-Session-Token", "Session s-1"))
        .mount(&server)
        .await;
    let fetcher = HeaderTokenFetcher::builder("session_token")
        .base_url(server.uri())
        .endpoint("/auth/session")
        .header("X-API-Key", "your-api-key")
        .header("X-Device-ID", "device-123")
        .data("username", "user")
        .data("password", "pass")
        .token_header("X-Session-Token")
        .token_type("Session")
        .ttl(Duration::from_secs(24 * 3600))
        .build()
        .unwrap();
    assert_eq!(fetcher.ttl(), Some(Duration::from_secs(24 * 3600)));
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "s-1");
    assert_eq!(token.token_type(), "Session");
}

#[tokio::test]
async fn injections_put_earlier_tokens_where_they_were_asked() {
    let server = MockServer::start().await;
    Mock::given(path("/final"))
        .and(header("X-Device", "dev-tok"))
        .and(header("Authorization", "Bearer app-tok"))
        .and(query_param("sid", "42"))
        .and(body_string(
            "username=user&session=sess-tok&type=Bearer&hook=set",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "final"})))
        .expect(1)
        .mount(&server)
        .await;
    let fetcher = BodyTokenFetcher::builder("final_token")
        .base_url(server.uri())
        .endpoint("/final")
        .data("username", "user")
        .depends_on("device_token")
        .depends_on("app_token")
        .depends_on("session_token")
        .inject_header("device_token", "X-Device")
        .inject(Injection::header("app_token", "Authorization").format("{token_type} {token}"))
        .inject_field("session_token", "session")
        .inject(Injection::field("app_token", "type").part(TokenPart::TokenType))
        .inject(Injection::query("session_token", "sid").part(TokenPart::Extra("sid".into())))
        .with_request(|request, _| {
            request.set_data("hook", "set");
            Ok(())
        })
        .build()
        .unwrap();
    let context = Context::new()
        .with_token("device_token", TokenData::new("dev-tok"))
        .with_token("app_token", TokenData::new("app-tok"))
        .with_token(
            "session_token",
            TokenData::new("sess-tok").with_extra("sid", 42),
        );
    let token = fetcher.fetch(&context).await.unwrap();
    assert_eq!(token.access_token().expose(), "final");

    let error = fetcher.fetch(&Context::new()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("device_token"), "{error}");
}

#[tokio::test]
async fn builder_rejects_invalid_configuration() {
    let cases: Vec<(tokenfetch::Result<BodyTokenFetcher>, &str)> = vec![
        (
            BodyTokenFetcher::builder("a")
                .endpoint("/t")
                .base_url("not a url")
                .build(),
            "invalid base URL",
        ),
        (BodyTokenFetcher::builder("a").build(), "no endpoint"),
        (
            BodyTokenFetcher::builder("a")
                .endpoint("/t")
                .header("bad header", "v")
                .build(),
            "invalid header name `bad header`",
        ),
        (
            BodyTokenFetcher::builder("a")
                .endpoint("/t")
                .inject_header("b", "X-B")
                .build(),
            "not in its `depends_on`",
        ),
        (
            BodyTokenFetcher::builder("a")
                .endpoint("/t")
                .depends_on("b")
                .inject(Injection::header("b", "X-B").format("no placeholder"))
                .build(),
            "placeholder",
        ),
        (
            BodyTokenFetcher::builder("a")
                .endpoint("/t")
                .depends_on("a")
                .build(),
            "depends on itself",
        ),
        (
            BodyTokenFetcher::builder("a")
                .endpoint("/t")
                .base_url("http://auth.example.com")
                .build(),
            "plain http",
        ),
    ];
    for (result, expected) in cases {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(
            error.to_string().contains(expected),
            "{error} lacks {expected}"
        );
    }
    let error = HeaderTokenFetcher::builder("h")
        .endpoint("/t")
        .token_header("bad header")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("invalid token header name"));
    BodyTokenFetcher::builder("a")
        .endpoint("/t")
        .base_url("http://auth.example.com")
        .allow_insecure_http(true)
        .build()
        .unwrap();
}

#[tokio::test]
async fn relative_endpoint_without_base_url_is_a_config_error() {
    let fetcher = BodyTokenFetcher::builder("a")
        .endpoint("/t")
        .build()
        .unwrap();
    let error = fetcher.fetch(&Context::new()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("no base URL"));
}

#[tokio::test]
async fn rfc6749_error_body_is_parsed_and_refused() {
    for response in [
        ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed",
            "error_uri": "https://auth.example.com/errors/invalid_client"
        })),
        ResponseTemplate::new(400).set_body_raw(
            "error=invalid_client&error_description=Client+authentication+failed&error_uri=https%3A%2F%2Fauth.example.com%2Ferrors%2Finvalid_client",
            "application/x-www-form-urlencoded",
        ),
    ] {
        let error = fetch_error(response).await;
        assert_eq!(error.kind(), ErrorKind::Refused);
        assert!(!error.is_retryable());
        assert_eq!(error.step(), Some("test_token"));
        let oauth = error.oauth().unwrap();
        assert_eq!(oauth.error, "invalid_client");
        assert_eq!(oauth.error_description.as_deref(), Some("Client authentication failed"));
        assert!(oauth.error_uri.as_deref().unwrap().ends_with("/invalid_client"));
        assert!(error.to_string().contains("Token request failed"));
    }
}

#[tokio::test]
async fn error_field_in_a_200_is_a_refusal() {
    let error =
        fetch_error(ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_grant"})))
            .await;
    assert_eq!(error.kind(), ErrorKind::Refused);
    assert_eq!(error.oauth().unwrap().error, "invalid_grant");
}

#[tokio::test]
async fn server_errors_are_retryable_with_retry_after() {
    let error = fetch_error(ResponseTemplate::new(500).set_body_string("oops")).await;
    assert_eq!(error.kind(), ErrorKind::Server);
    assert!(error.is_retryable());
    assert_eq!(error.status().unwrap().as_u16(), 500);

    let error = fetch_error(ResponseTemplate::new(429).insert_header("Retry-After", "7")).await;
    assert_eq!(error.kind(), ErrorKind::Server);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));

    let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(60));
    let error = fetch_error(ResponseTemplate::new(503).insert_header("Retry-After", later)).await;
    let wait = error.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
}

#[tokio::test]
async fn unusable_2xx_bodies_are_bad_responses_naming_the_problem() {
    let cases = [
        (
            ResponseTemplate::new(200).set_body_raw("<html><body>login</body></html>", "text/html"),
            "HTML",
        ),
        (ResponseTemplate::new(200), "empty"),
        (
            ResponseTemplate::new(200).set_body_json(json!({"token": "x"})),
            "`access_token`",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!([1, 2])),
            "not an object",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"access_token": 5})),
            "not a string",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "x", "expires_in": "soon"})),
            "`expires_in`",
        ),
        (
            ResponseTemplate::new(200).set_body_string("x".repeat(tokenfetch::MAX_BODY_BYTES + 1)),
            "limit",
        ),
    ];
    for (response, expected) in cases {
        let error = fetch_error(response).await;
        assert_eq!(error.kind(), ErrorKind::BadResponse, "{error}");
        assert!(
            error.to_string().contains(expected),
            "{error} lacks {expected}"
        );
    }
}

#[tokio::test]
async fn expires_in_variants() {
    let cases = [
        (json!(3600), Some(3600)),
        (json!("3600"), Some(3600)),
        (json!(-10), Some(0)),
        (json!(1e30), Some(10 * 365 * 24 * 3600)),
    ];
    for (expires_in, expected) in cases {
        let server = serve(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "x", "expires_in": expires_in})),
        )
        .await;
        let token = body_fetcher(&server).fetch(&Context::new()).await.unwrap();
        let left = token.expires_in().map(|d| d.as_secs_f64().round() as u64);
        assert_eq!(left, expected, "{expires_in}");
        if expected == Some(0) {
            assert!(token.is_expired());
        }
    }
}

#[tokio::test]
async fn header_problems_are_named() {
    let server = MockServer::start().await;
    Mock::given(path("/missing"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/binary"))
        .respond_with(ResponseTemplate::new(200).append_header(
            "X-Token",
            reqwest::header::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        ))
        .mount(&server)
        .await;
    for (endpoint, expected) in [
        ("/missing", "no header `x-token`"),
        ("/binary", "not valid visible ASCII"),
    ] {
        let error = HeaderTokenFetcher::builder("h")
            .base_url(server.uri())
            .endpoint(endpoint)
            .token_header("X-Token")
            .build()
            .unwrap()
            .fetch(&Context::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BadResponse);
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let error = BodyTokenFetcher::builder("dead")
        .base_url(format!("http://127.0.0.1:{port}"))
        .endpoint("/token")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(error.is_retryable());
    assert_eq!(error.step(), Some("dead"));
}

#[tokio::test]
async fn slow_server_is_a_timeout() {
    let server = serve(
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "late"}))
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let error = BodyTokenFetcher::builder("slow")
        .base_url(server.uri())
        .endpoint("/token")
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert!(
        error.is_timeout(),
        "{error} {:?}",
        std::error::Error::source(&error)
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "x"})))
        .expect(0)
        .mount(&server)
        .await;
    let error = body_fetcher(&server)
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert_eq!(error.status().unwrap().as_u16(), 302);
}

#[tokio::test]
async fn refresh_grant_sends_the_refresh_token_and_keeps_an_unrotated_one() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=r1&client_id=id&client_secret=sec",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "new"})))
        .expect(1)
        .mount(&server)
        .await;
    let fetcher = BodyTokenFetcher::builder("t")
        .base_url(server.uri())
        .endpoint("/token")
        .data("grant_type", "password")
        .data("username", "u")
        .data("password", "p")
        .data("client_id", "id")
        .data("client_secret", "sec")
        .refresh_grant(true)
        .build()
        .unwrap();
    let old = TokenData::new("old").with_refresh_token("r1");
    let context = Context::new();
    assert!(fetcher.refresh(&TokenData::new("x"), &context).is_none());
    let fresh = fetcher.refresh(&old, &context).unwrap().await.unwrap();
    assert_eq!(fresh.access_token().expose(), "new");
    assert_eq!(fresh.refresh_token().unwrap().expose(), "r1");
}

#[tokio::test]
async fn a_refresh_sends_only_what_rfc_6749_allows() {
    let server = MockServer::start().await;
    // After an authorization-code exchange: no code, verifier or redirect URI,
    // nothing a hook adds; the scope, the client's credentials and what the user
    // added for refreshes.
    Mock::given(path("/code"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=r1&client_id=id&client_secret=sec&scope=read&resource=https%3A%2F%2Fapi.example",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "new"})))
        .expect(1)
        .mount(&server)
        .await;
    // After a device grant: no device code.
    Mock::given(path("/device"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=r1&client_id=id",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "new"})))
        .expect(1)
        .mount(&server)
        .await;
    let code = BodyTokenFetcher::builder("code")
        .base_url(server.uri())
        .endpoint("/code")
        .data("grant_type", "authorization_code")
        .data("code", "c0de")
        .data("code_verifier", "v3rifier")
        .data("redirect_uri", "https://app.example/cb")
        .data("client_id", "id")
        .data("client_secret", "sec")
        .data("scope", "read")
        .with_request(|request, _| {
            request.set_data("nonce", "n");
            Ok(())
        })
        .refresh_data("resource", "https://api.example")
        .refresh_grant(true)
        .build()
        .unwrap();
    let device = BodyTokenFetcher::builder("device")
        .base_url(server.uri())
        .endpoint("/device")
        .data("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
        .data("device_code", "d3vice")
        .data("client_id", "id")
        .refresh_grant(true)
        .build()
        .unwrap();
    let old = TokenData::new("old").with_refresh_token("r1");
    for fetcher in [&code, &device] {
        assert!(
            !fetcher.repeatable(),
            "a single-use grant is not repeatable"
        );
        let fresh = fetcher
            .refresh(&old, &Context::new())
            .unwrap()
            .await
            .unwrap();
        assert_eq!(fresh.access_token().expose(), "new");
    }
}

/// A server that streams an endless chunked body with no `Content-Length`.
fn endless_body_server() -> (String, std::thread::JoinHandle<usize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
            .unwrap();
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        // Stops when the client hangs up, or after 64 MiB at most.
        while sent < 64 * 1024 * 1024 {
            let head = format!("{:x}\r\n", chunk.len());
            let written = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(&chunk))
                .and_then(|()| stream.write_all(b"\r\n"));
            if written.is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    (url, handle)
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit() {
    let (url, server) = endless_body_server();
    let error = BodyTokenFetcher::builder("endless")
        .base_url(url)
        .endpoint("/token")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadResponse);
    assert!(error.to_string().contains("limit"), "{error}");
    let sent = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert!(sent < 16 * 1024 * 1024, "the client read {sent} bytes");
}
