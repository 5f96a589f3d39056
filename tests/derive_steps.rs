//! `#[derive(TokenStep)]` against a real HTTP server on 127.0.0.1: the canonical
//! example of the README and requestforge's documented examples re-expressed with the derive. The
//! server's matchers refuse a request that lacks the injected headers or body
//! fields, so a wrong injection fails the test. A derived step and the same step
//! built with the fluent builder send byte-identical requests.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, Context, ErrorKind, HeaderTokenFetcher, Injection, Result, Secret, TokenData,
    TokenFetcher, TokenPart, TokenRequest, TokenStep,
};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------------------
// The canonical example of the README (its steps are in tests/common).

mod common;

use common::{AppToken, DeviceToken, UserToken, app, device, user};

fn base(server: &MockServer) -> Context {
    Context::new().with_base_url(Url::parse(&server.uri()).unwrap())
}

#[tokio::test]
async fn canonical_example_fetches_in_order() -> Result<()> {
    let server = common::canonical_server(None).await;
    let mut context = base(&server);

    let device_token = device().fetch(&context).await?;
    assert_eq!(device_token.access_token().expose(), "dev-tok");
    context.insert(DeviceToken::NAME, device_token);

    let app_token = app().fetch(&context).await?;
    assert_eq!(app_token.access_token().expose(), "app-tok");
    assert!(app_token.expires_at().is_some());
    context.insert(AppToken::NAME, app_token);

    let user_token = user().fetch(&context).await?;
    assert_eq!(user_token.access_token().expose(), "user-tok");
    assert_eq!(
        context
            .token::<DeviceToken>()
            .unwrap()
            .access_token()
            .expose(),
        "dev-tok"
    );
    Ok(())
}

#[tokio::test]
async fn canonical_example_describes_its_graph() {
    assert_eq!(DeviceToken::NAME, "device_token");
    assert_eq!(AppToken::NAME, "app_token");
    assert_eq!(UserToken::NAME, "user_token");
    assert_eq!(user().name(), "user_token");
    assert_eq!(user().depends_on(), vec!["device_token", "app_token"]);
    assert_eq!(device().depends_on(), Vec::<&str>::new());
    assert_eq!(device().ttl(), Some(Duration::from_secs(30 * 24 * 3600)));
    assert_eq!(app().ttl(), None);
    let steps: Vec<Box<dyn TokenFetcher>> =
        vec![Box::new(device()), Box::new(app()), Box::new(user())];
    let names: Vec<&str> = steps.iter().map(|step| step.name()).collect();
    assert_eq!(names, ["device_token", "app_token", "user_token"]);
}

#[tokio::test]
async fn a_wrong_injected_token_is_refused_by_the_server() {
    let server = common::canonical_server(None).await;
    let context = base(&server)
        .with_token("device_token", TokenData::new("dev-tok"))
        .with_token("app_token", TokenData::new("not-the-app-token"));
    let error = user().fetch(&context).await.unwrap_err();
    assert_eq!(error.status().map(|status| status.as_u16()), Some(404));
}

#[tokio::test]
async fn a_missing_dependency_is_a_configuration_error() {
    let server = common::canonical_server(None).await;
    let context = base(&server).with_token("device_token", TokenData::new("dev-tok"));
    let error = user().fetch(&context).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("app_token"), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Derived and built steps send byte-identical requests.

/// What identifies a request on the wire.
#[derive(Debug, PartialEq)]
struct Wire {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Wire {
    fn of(request: &Request) -> Self {
        let mut headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect();
        headers.sort();
        Wire {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: request.url.query().map(str::to_owned),
            headers,
            body: request.body.clone(),
        }
    }
}

/// Fetches `derived` then `built` against one server that accepts anything, and
/// returns what each sent.
async fn wires(
    derived: &dyn TokenFetcher,
    built: &dyn TokenFetcher,
    context: Context,
) -> (Wire, Wire) {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Device-Token", "from-header")
                .insert_header("X-Session-Token", "from-header")
                .set_body_json(json!({"access_token": "a", "token": "t", "auth_token": "x"})),
        )
        .mount(&server)
        .await;
    let context = context.with_base_url(Url::parse(&server.uri()).unwrap());
    derived.fetch(&context).await.expect("derived fetch");
    built.fetch(&context).await.expect("built fetch");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    (Wire::of(&requests[0]), Wire::of(&requests[1]))
}

fn dependencies() -> Context {
    Context::new()
        .with_token("device_token", TokenData::new("dev-tok"))
        .with_token(
            "app_token",
            TokenData::new("app-tok")
                .with_token_type("MAC")
                .with_refresh_token("app-refresh")
                .with_extra("session_id", "sess-42"),
        )
        .with_token("session_token", TokenData::new("sess-tok"))
        .with_token("runtime_step", TokenData::new("rt-tok"))
}

#[tokio::test]
async fn derived_and_built_canonical_steps_send_identical_requests() {
    let built_user = BodyTokenFetcher::builder("user_token")
        .endpoint("/v1/user/token")
        .json()
        .token_field("access_token")
        .depends_on("device_token")
        .depends_on("app_token")
        .inject_header("device_token", "X-Device-Token")
        .inject(Injection::header("app_token", "Authorization").format("Bearer {token}"))
        .data("username", "u")
        .data("password", "p")
        .build()
        .unwrap();
    let (derived, built) = wires(&user(), &built_user, dependencies()).await;
    assert_eq!(derived, built);
    assert!(
        derived
            .headers
            .iter()
            .any(|(name, _)| name == "x-device-token")
    );

    let built_device = HeaderTokenFetcher::builder("device_token")
        .endpoint("/device/register")
        .token_header("X-Device-Token")
        .header("X-Device-ID", "device-123")
        .ttl(Duration::from_secs(30 * 24 * 3600))
        .build()
        .unwrap();
    let (derived, built) = wires(&device(), &built_device, Context::new()).await;
    assert_eq!(derived, built);

    let built_app = BodyTokenFetcher::builder("app_token")
        .endpoint("/v1/app/token")
        .token_field("token")
        .data("client_id", "app")
        .data("client_secret", "s3cret")
        .build()
        .unwrap();
    let (derived, built) = wires(&app(), &built_app, Context::new()).await;
    assert_eq!(derived, built);
    assert_eq!(derived.body, b"client_id=app&client_secret=s3cret");
}

/// Every kind of request data at once: constants, renamed fields, headers, query
/// parameters, optional and skipped fields, numbers, every injection target and
/// part, string dependencies and a request hook.
#[derive(TokenStep, Clone)]
#[endpoint("/everything", content_type = "json", timeout = "5s")]
#[token_field(
    "auth_token",
    token_type_field = "type",
    expires_in_field = "ttl",
    refresh_token_field = "refresh",
    default_token_type = "Custom"
)]
#[step(name = "everything", ttl = "1h30m", with_request = Self::adjust)]
#[depends_on(AppToken, "runtime_step")]
#[header("X-Api-Version", value = "2")]
#[field("grant_type", value = "password")]
#[query("tenant", value = "acme")]
#[inject_header(from = AppToken, header = "X-App-Type", part = "token_type")]
#[inject_field(from = AppToken, field = "session", extra = "session_id")]
#[inject_field(from = AppToken, field = "app_refresh", part = "refresh_token")]
#[inject_query(from = "runtime_step", query = "rt", format = "{token_type}:{token}")]
struct Everything {
    #[field("user")]
    username: String,
    password: Secret,
    #[header("X-Device-ID")]
    device_id: &'static str,
    #[query]
    locale: String,
    #[query("page-size")]
    page_size: u32,
    nickname: Option<String>,
    missing: Option<Secret>,
    #[skip]
    #[allow(dead_code)]
    note: Vec<u8>,
    r#type: char,
}

impl Everything {
    fn adjust(&self, request: &mut TokenRequest, context: &Context) -> Result<()> {
        let app = context.require(AppToken::NAME)?;
        let short: String = app.access_token().expose().chars().take(3).collect();
        request.set_data("app_prefix", short);
        request.set_header(
            "X-Nickname-Len",
            &self.nickname.as_deref().unwrap_or("").len().to_string(),
        )
    }
}

fn everything() -> Everything {
    Everything {
        username: "alice".into(),
        password: "pw".into(),
        device_id: "dev-1",
        locale: "fr".into(),
        page_size: 50,
        nickname: Some("ally".into()),
        missing: None,
        note: vec![1, 2, 3],
        r#type: 'x',
    }
}

#[tokio::test]
async fn derived_and_built_steps_send_identical_requests_with_every_attribute() {
    let this = everything();
    let built = BodyTokenFetcher::builder("everything")
        .endpoint("/everything")
        .json()
        .timeout(Duration::from_secs(5))
        .token_field("auth_token")
        .token_type_field("type")
        .expires_in_field("ttl")
        .refresh_token_field("refresh")
        .default_token_type("Custom")
        .ttl(Duration::from_secs(5400))
        .depends_on("app_token")
        .depends_on("runtime_step")
        .inject(Injection::header("app_token", "X-App-Type").part(TokenPart::TokenType))
        .inject(
            Injection::field("app_token", "session").part(TokenPart::Extra("session_id".into())),
        )
        .inject(Injection::field("app_token", "app_refresh").part(TokenPart::RefreshToken))
        .inject(Injection::query("runtime_step", "rt").format("{token_type}:{token}"))
        .header("X-Api-Version", "2")
        .data("grant_type", "password")
        .query("tenant", "acme")
        .data("user", "alice")
        .data("password", "pw")
        .header("X-Device-ID", "dev-1")
        .query("locale", "fr")
        .query("page-size", "50")
        .data("nickname", "ally")
        .data("type", "x")
        .with_request(move |request, context| this.adjust(request, context))
        .build()
        .unwrap();
    let (derived, built) = wires(&everything(), &built, dependencies()).await;
    assert_eq!(derived, built);

    assert_eq!(derived.method, "POST");
    assert_eq!(
        derived.query.as_deref(),
        Some("tenant=acme&locale=fr&page-size=50&rt=Bearer%3Art-tok")
    );
    let body: serde_json::Value = serde_json::from_slice(&derived.body).unwrap();
    assert_eq!(
        body,
        json!({
            "grant_type": "password",
            "user": "alice",
            "password": "pw",
            "nickname": "ally",
            "type": "x",
            "session": "sess-42",
            "app_refresh": "app-refresh",
            "app_prefix": "app",
        })
    );
    let header = |name: &str| {
        derived
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
    };
    assert_eq!(header("x-app-type").as_deref(), Some("MAC"));
    assert_eq!(header("x-api-version").as_deref(), Some("2"));
    assert_eq!(header("x-device-id").as_deref(), Some("dev-1"));
    assert_eq!(header("x-nickname-len").as_deref(), Some("4"));
    assert_eq!(everything().ttl(), Some(Duration::from_secs(5400)));
    assert_eq!(everything().depends_on(), ["app_token", "runtime_step"]);
}

/// A GET step: the data goes in the query string.
#[derive(TokenStep)]
#[endpoint("/lookup", method = "GET")]
#[token_field("token")]
struct Lookup {
    key: String,
    #[header("X-Trace")]
    trace: u64,
}

#[tokio::test]
async fn derived_get_sends_its_data_as_query_like_the_builder() {
    let built = BodyTokenFetcher::builder("lookup")
        .endpoint("/lookup")
        .get()
        .token_field("token")
        .data("key", "k 1")
        .header("X-Trace", "7")
        .build()
        .unwrap();
    let derived = Lookup {
        key: "k 1".into(),
        trace: 7,
    };
    let (derived, built) = wires(&derived, &built, Context::new()).await;
    assert_eq!(derived, built);
    assert_eq!(derived.method, "GET");
    assert_eq!(derived.query.as_deref(), Some("key=k+1"));
    assert!(derived.body.is_empty());
}

// ---------------------------------------------------------------------------
// requestforge's documented examples, re-expressed with the derive.

/// Simple OAuth2 flow: client credentials, form-encoded, with a refresh token
/// renewed through the `refresh_token` grant.
#[derive(TokenStep)]
#[endpoint("/oauth/token")]
#[token_field(
    "access_token",
    expires_in_field = "expires_in",
    refresh_token_field = "refresh_token",
    refresh_grant
)]
#[step(name = "oauth_token")]
#[field("grant_type", value = "client_credentials")]
struct OAuthToken {
    client_id: String,
    client_secret: Secret,
    scope: String,
}

#[tokio::test]
async fn requestforge_simple_oauth2_flow_with_refresh() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string(
            "grant_type=client_credentials&client_id=your-client-id&client_secret=your-client-secret&scope=read+write",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "first", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "r1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=r1&client_id=your-client-id&client_secret=your-client-secret&scope=read+write",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "second", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    let step = OAuthToken {
        client_id: "your-client-id".into(),
        client_secret: "your-client-secret".into(),
        scope: "read write".into(),
    };
    let context = base(&server);
    let token = step.fetch(&context).await?;
    assert_eq!(token.access_token().expose(), "first");
    assert_eq!(token.refresh_token().unwrap().expose(), "r1");
    let refreshed = step
        .refresh(&token, &context)
        .expect("refresh grant")
        .await?;
    assert_eq!(refreshed.access_token().expose(), "second");
    assert_eq!(refreshed.refresh_token().unwrap().expose(), "r1");
    assert!(
        step.refresh(&TokenData::new("no-refresh"), &context)
            .is_none()
    );
    Ok(())
}

/// Header-based authentication: the session token comes back in a header.
#[derive(TokenStep)]
#[endpoint("/auth/session")]
#[token_header("X-Session-Token", token_type = "Session")]
#[step(ttl = "24h")]
struct SessionToken {
    #[header("X-API-Key")]
    api_key: Secret,
    #[header("X-Device-ID")]
    device_id: String,
    username: String,
    password: Secret,
}

#[tokio::test]
async fn requestforge_header_based_authentication() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/session"))
        .and(header("X-API-Key", "your-api-key"))
        .and(header("X-Device-ID", "device-123"))
        .and(body_string("username=user&password=pass"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Session-Token", "sess-1"))
        .expect(1)
        .mount(&server)
        .await;
    let step = SessionToken {
        api_key: "your-api-key".into(),
        device_id: "device-123".into(),
        username: "user".into(),
        password: "pass".into(),
    };
    assert_eq!(step.ttl(), Some(Duration::from_secs(24 * 3600)));
    let token = step.fetch(&base(&server)).await?;
    assert_eq!(token.access_token().expose(), "sess-1");
    assert_eq!(token.token_type(), "Session");
    Ok(())
}

/// Mixed header and body tokens: a user token from the body, carrying the device
/// token (from a header) in a header.
#[derive(TokenStep)]
#[endpoint("/user/auth")]
#[token_field("access_token")]
#[step(name = "user_token", ttl = "15m")]
#[depends_on(DeviceToken)]
#[inject_header(from = DeviceToken, header = "X-Device-Token")]
struct MixedUserToken {
    username: String,
    password: Secret,
}

#[tokio::test]
async fn requestforge_mixed_header_and_body_tokens() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/register"))
        .and(header("X-Device-ID", "device-123"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", "dev-7"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/user/auth"))
        .and(header("X-Device-Token", "dev-7"))
        .and(body_string("username=user&password=pass"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "user-7"})))
        .expect(1)
        .mount(&server)
        .await;
    let mut context = base(&server);
    let device_token = device().fetch(&context).await?;
    context.insert(DeviceToken::NAME, device_token);
    let step = MixedUserToken {
        username: "user".into(),
        password: "pass".into(),
    };
    assert_eq!(step.ttl(), Some(Duration::from_secs(15 * 60)));
    let token = step.fetch(&context).await?;
    assert_eq!(token.access_token().expose(), "user-7");
    Ok(())
}

/// Two-step flow: the app token goes into the user token request's `X-App-Token`.
#[derive(TokenStep)]
#[endpoint("/v1/user/token")]
#[token_field("access_token")]
#[step(name = "user_token", ttl = "30m")]
#[depends_on(AppToken)]
#[inject_header(from = AppToken, header = "X-App-Token")]
struct TwoStepUserToken {
    username: String,
    password: Secret,
}

#[tokio::test]
async fn requestforge_two_step_flow() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/app/token"))
        .and(body_string("client_id=app-id&client_secret=app-secret"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token": "app-9", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/user/token"))
        .and(header("X-App-Token", "app-9"))
        .and(body_string(
            "username=user%40example.com&password=password123",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "user-9"})))
        .expect(1)
        .mount(&server)
        .await;
    let mut context = base(&server);
    let app_token = AppToken {
        client_id: "app-id".into(),
        client_secret: "app-secret".into(),
    }
    .fetch(&context)
    .await?;
    context.insert(AppToken::NAME, app_token);
    let token = TwoStepUserToken {
        username: "user@example.com".into(),
        password: "password123".into(),
    }
    .fetch(&context)
    .await?;
    assert_eq!(token.access_token().expose(), "user-9");
    Ok(())
}

/// requestforge's `session_token` step, by name: dependencies by string work for steps
/// known only at run time.
#[derive(TokenStep)]
#[endpoint("/final/token")]
#[token_field("access_token")]
#[step(name = "final_token")]
#[depends_on(DeviceToken, AppToken, "session_token")]
#[inject_header(from = DeviceToken, header = "X-Device")]
#[inject_header(from = AppToken, header = "X-App")]
#[inject_field(from = "session_token", field = "session")]
struct FinalToken {
    username: String,
}

#[tokio::test]
async fn requestforge_dependency_injection_of_three_tokens() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/final/token"))
        .and(header("X-Device", "dev-tok"))
        .and(header("X-App", "app-tok"))
        .and(body_string("username=user&session=sess-tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "final"})))
        .expect(1)
        .mount(&server)
        .await;
    let step = FinalToken {
        username: "user".into(),
    };
    assert_eq!(
        step.depends_on(),
        ["device_token", "app_token", "session_token"]
    );
    let context = dependencies().with_base_url(Url::parse(&server.uri()).unwrap());
    let token = step.fetch(&context).await?;
    assert_eq!(token.access_token().expose(), "final");
    Ok(())
}

/// Custom data building: the app token in the body, and a request hook that reads
/// the struct and the context.
#[derive(TokenStep, Clone)]
#[endpoint("/user/token")]
#[token_field("access_token")]
#[step(name = "user_token", with_request = Self::add_prefix)]
#[depends_on(AppToken)]
#[inject_field(from = AppToken, field = "app_token")]
struct CustomDataUserToken {
    username: String,
    password: Secret,
    #[skip]
    prefix_len: usize,
}

impl CustomDataUserToken {
    fn add_prefix(&self, request: &mut TokenRequest, context: &Context) -> Result<()> {
        let app = context.require(AppToken::NAME)?;
        let prefix: String = app
            .access_token()
            .expose()
            .chars()
            .take(self.prefix_len)
            .collect();
        request.set_data("app_prefix", prefix);
        Ok(())
    }
}

#[tokio::test]
async fn requestforge_custom_data_building() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/user/token"))
        .and(body_string(
            "username=user&password=pass&app_token=app-tok&app_prefix=ap",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "custom"})))
        .expect(1)
        .mount(&server)
        .await;
    let step = CustomDataUserToken {
        username: "user".into(),
        password: "pass".into(),
        prefix_len: 2,
    };
    let context = dependencies().with_base_url(Url::parse(&server.uri()).unwrap());
    let token = step.fetch(&context).await?;
    assert_eq!(token.access_token().expose(), "custom");
    Ok(())
}

/// Custom field names in the response.
#[derive(TokenStep)]
#[endpoint("/auth")]
#[token_field(
    "auth_token",
    token_type_field = "type",
    expires_in_field = "ttl",
    refresh_token_field = "refresh",
    default_token_type = "Custom"
)]
#[step(name = "token")]
struct CustomFieldsToken {
    #[query("client")]
    client_id: String,
}

#[tokio::test]
async fn requestforge_custom_field_names() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .and(query_param("client", "id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "auth_token": "abc", "ttl": 60, "refresh": "r"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let token = CustomFieldsToken {
        client_id: "id".into(),
    }
    .fetch(&base(&server))
    .await?;
    assert_eq!(token.access_token().expose(), "abc");
    assert_eq!(token.token_type(), "Custom");
    assert_eq!(token.refresh_token().unwrap().expose(), "r");
    assert!(token.expires_in().unwrap() <= Duration::from_secs(60));
    Ok(())
}

// ---------------------------------------------------------------------------
// Optional fields, absolute endpoints, secrets.

/// An absolute endpoint overrides the context's base URL; `None` fields are left
/// out.
#[derive(TokenStep)]
#[endpoint("http://127.0.0.1:1/unused")]
#[token_field("access_token")]
struct Optional {
    #[query]
    scope: Option<String>,
    #[header("X-Otp")]
    otp: Option<Secret>,
}

#[tokio::test]
async fn an_absolute_endpoint_ignores_the_base_url() {
    let server = MockServer::start().await;
    let derived = Optional {
        scope: None,
        otp: None,
    };
    let error = derived.fetch(&base(&server)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    assert_eq!(error.step(), Some("optional"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// The same step with a relative endpoint, to see what `Some` and `None` send.
#[derive(TokenStep)]
#[endpoint("/opt")]
#[token_field("access_token")]
#[step(name = "optional")]
struct OptionalRelative {
    #[query]
    scope: Option<String>,
    #[header("X-Otp")]
    otp: Option<Secret>,
}

#[tokio::test]
async fn some_fields_are_sent_and_none_fields_are_not() {
    let built = BodyTokenFetcher::builder("optional")
        .endpoint("/opt")
        .token_field("access_token")
        .query("scope", "read")
        .build()
        .unwrap();
    let derived = OptionalRelative {
        scope: Some("read".into()),
        otp: None,
    };
    let (derived, built) = wires(&derived, &built, Context::new()).await;
    assert_eq!(derived, built);
    assert!(!derived.headers.iter().any(|(name, _)| name == "x-otp"));

    let built = BodyTokenFetcher::builder("optional")
        .endpoint("/opt")
        .token_field("access_token")
        .header("X-Otp", "123456")
        .build()
        .unwrap();
    let derived = OptionalRelative {
        scope: None,
        otp: Some("123456".into()),
    };
    let (derived, built) = wires(&derived, &built, Context::new()).await;
    assert_eq!(derived, built);
    assert_eq!(derived.query, None);
}

#[tokio::test]
async fn secret_fields_are_sent_but_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string("client_id=app&client_secret=MARK-secret"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "bad client"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let step = AppToken {
        client_id: "app".into(),
        client_secret: "MARK-secret".into(),
    };
    let error = step.fetch(&base(&server)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Refused);
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{:?}", step.client_secret),
    ] {
        assert!(!text.contains("MARK"), "{text}");
    }
}

#[tokio::test]
async fn insecure_and_http_settings_are_accepted() -> Result<()> {
    /// `verify_ssl = false` uses one shared client; loopback `http://` needs no
    /// opt-in, but the flag is accepted.
    #[derive(TokenStep)]
    #[endpoint("/lenient", verify_ssl = false, allow_insecure_http, timeout = "2s")]
    #[token_header("X-Device-Token")]
    struct Lenient {}

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/lenient"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", "ok"))
        .expect(2)
        .mount(&server)
        .await;
    let context = base(&server);
    assert_eq!(
        Lenient {}.fetch(&context).await?.access_token().expose(),
        "ok"
    );
    assert_eq!(
        Lenient {}.fetch(&context).await?.access_token().expose(),
        "ok"
    );
    let arc: Arc<dyn TokenFetcher> = Arc::new(Lenient {});
    assert_eq!(arc.name(), "lenient");
    Ok(())
}

// ---------------------------------------------------------------------------
// Store identity: a derived step keys its stored token by everything it sends.

/// Fetches `AppToken` once through an engine of its own that shares `store`, and
/// returns the step's store key.
async fn fetch_through_store(
    server: &MockServer,
    store: &Arc<tokenfetch::MemoryStore>,
    client_id: &str,
) -> Result<tokenfetch::StoreKey> {
    let engine = tokenfetch::Engine::builder()
        .base_url(server.uri())
        .store(Arc::clone(store))
        .step(AppToken {
            client_id: client_id.into(),
            client_secret: "s3cret".into(),
        })
        .build()?;
    let token = engine.token::<AppToken>().await?;
    assert_eq!(token.access_token().expose(), "app-tok");
    Ok(engine.store_key(AppToken::NAME).unwrap().clone())
}

#[tokio::test]
async fn derived_steps_with_different_field_values_have_different_store_keys() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/app/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": "app-tok", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    let store = Arc::new(tokenfetch::MemoryStore::new());

    // Same field values: the second engine finds the first one's token.
    let first = fetch_through_store(&server, &store, "app").await?;
    let same = fetch_through_store(&server, &store, "app").await?;
    assert_eq!(first, same);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // Another client id: another key, so another fetch.
    let other = fetch_through_store(&server, &store, "other-app").await?;
    assert_ne!(first, other);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        String::from_utf8_lossy(&requests[1].body),
        "client_id=other-app&client_secret=s3cret"
    );
    Ok(())
}

#[test]
fn a_derived_step_identifies_itself_by_its_request() {
    let identity = |step: &AppToken| {
        let mut identity = tokenfetch::StepIdentity::new();
        step.identify(&mut identity);
        tokenfetch::StoreKey::new(AppToken::NAME, identity)
    };
    let secret = |secret: &str| AppToken {
        client_id: "app".into(),
        client_secret: secret.into(),
    };
    assert_eq!(identity(&secret("a")), identity(&secret("a")));
    assert_ne!(identity(&secret("a")), identity(&secret("b")));
    // Only a digest is kept: the key never shows a secret.
    assert!(
        !identity(&secret("planted-secret"))
            .as_str()
            .contains("planted-secret")
    );
}

/// A derived step whose hook reads a `#[skip]` field: the tenant is not part of
/// the struct's request attributes, only the hook sends it.
#[derive(TokenStep, Clone)]
#[endpoint("/tenant/token")]
#[token_field("access_token")]
#[step(with_request = Self::add_tenant)]
struct TenantToken {
    client_id: String,
    #[skip]
    tenant: String,
}

impl TenantToken {
    fn add_tenant(&self, request: &mut TokenRequest, _: &Context) -> Result<()> {
        request.set_data("tenant", self.tenant.clone());
        Ok(())
    }
}

/// Like `TenantToken`, with a `#[skip]` field whose value cannot be written down:
/// the derive cannot know what the hook makes of it.
#[derive(TokenStep, Clone)]
#[endpoint("/tenant/token")]
#[token_field("access_token")]
#[step(with_request = Self::add_tenant)]
struct OpaqueTenantToken {
    client_id: String,
    #[skip]
    tenant: Arc<std::sync::Mutex<String>>,
}

impl OpaqueTenantToken {
    fn add_tenant(&self, request: &mut TokenRequest, _: &Context) -> Result<()> {
        let tenant = self.tenant.lock().unwrap().clone();
        request.set_data("tenant", tenant);
        Ok(())
    }
}

#[tokio::test]
async fn a_skip_field_read_by_the_hook_keeps_store_entries_apart() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(path("/tenant/token"))
        .respond_with(common::Issuer::new("tok"))
        .mount(&server)
        .await;
    let store = Arc::new(tokenfetch::MemoryStore::new());
    let fetch = |step: TenantToken| {
        let engine = tokenfetch::Engine::builder()
            .base_url(server.uri())
            .store(Arc::clone(&store))
            .step(step)
            .build();
        async move {
            let engine = engine?;
            let token = engine.token::<TenantToken>().await?;
            Ok::<_, tokenfetch::Error>(token.access_token().expose().to_owned())
        }
    };
    let tenant = |tenant: &str| TenantToken {
        client_id: "app".into(),
        tenant: tenant.into(),
    };
    let alpha = fetch(tenant("alpha")).await?;
    let beta = fetch(tenant("beta")).await?;
    assert!(alpha.ends_with("tenant=alpha"), "{alpha}");
    assert!(beta.ends_with("tenant=beta"), "{beta}");
    // The same tenant elsewhere shares the entry.
    assert_eq!(fetch(tenant("alpha")).await?, alpha);
    assert_eq!(common::requests_to(&server, "/tenant/token").await, 2);

    // A field the derive cannot write down: never shared.
    let opaque = OpaqueTenantToken {
        client_id: "app".into(),
        tenant: Arc::new(std::sync::Mutex::new("alpha".into())),
    };
    let engine = tokenfetch::Engine::builder()
        .base_url(server.uri())
        .store(Arc::clone(&store))
        .step(opaque)
        .build()?;
    assert!(engine.store_key(OpaqueTenantToken::NAME).is_none());
    engine.token::<OpaqueTenantToken>().await?;
    assert_eq!(common::requests_to(&server, "/tenant/token").await, 3);
    Ok(())
}

/// Counts how often it is written into a request: once per build of the step's
/// fetcher.
struct CountedId(Arc<std::sync::atomic::AtomicUsize>);

impl std::fmt::Display for CountedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        f.write_str("counted")
    }
}

#[derive(TokenStep)]
#[endpoint("/counted")]
#[token_field("access_token")]
struct CountedToken {
    client_id: CountedId,
}

#[tokio::test]
async fn an_engine_builds_a_derived_steps_fetcher_once() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(path("/counted"))
        .and(body_string("client_id=counted"))
        .respond_with(common::Issuer::new("tok"))
        .mount(&server)
        .await;
    let builds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let engine = tokenfetch::Engine::builder()
        .base_url(server.uri())
        .step(CountedToken {
            client_id: CountedId(Arc::clone(&builds)),
        })
        .build()?;
    for _ in 0..3 {
        engine.invalidate(CountedToken::NAME);
        engine.token::<CountedToken>().await?;
    }
    assert_eq!(common::requests_to(&server, "/counted").await, 3);
    assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 1);
    Ok(())
}
