//! The standard OAuth 2.0 vocabulary, checked on the wire over real HTTP: client
//! authentication (RFC 6749 §2.3.1 and Appendix B, RFC 7523 §2.2 assertions
//! verified with the public key), the grants (RFC 6749 §4.3, §4.4, §6, RFC 7523
//! §2.1, RFC 8693, RFC 8628), discovery (OpenID Connect Discovery §4, RFC 8414
//! §3), expiry from `expires_at` or the token's own `exp`, and the local step.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tokenfetch::{
    BodyTokenFetcher, ClientAuth, Context, DeviceFlow, Engine, ErrorKind, Grant, Injection,
    JWT_BEARER_ASSERTION_TYPE, JwtBearer, SignedJwtFetcher, SigningAlgorithm, SigningKey,
    TokenExchange, TokenFetcher, TokenPart, token_type,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const RSA: &str = include_str!("keys/rsa.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa.pub.pem");
const EC: &str = include_str!("keys/ec.pem");
const EC_PUBLIC: &str = include_str!("keys/ec.pub.pem");
const EC_384: &str = include_str!("keys/ec384.pem");
const ED25519: &str = include_str!("keys/ed25519.pem");
const ED25519_PUBLIC: &str = include_str!("keys/ed25519.pub.pem");

/// A token endpoint answering every request with a fresh token.
async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "tok", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn body(request: &Request) -> String {
    String::from_utf8(request.body.clone()).unwrap()
}

fn form(request: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(&request.body).unwrap()
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no `{key}` in {form:?}"))
}

fn authorization(request: &Request) -> Option<&str> {
    request
        .headers
        .get("authorization")
        .map(|value| value.to_str().unwrap())
}

async fn fetch_with(server: &MockServer, auth: ClientAuth) -> Request {
    let fetcher = BodyTokenFetcher::builder("api")
        .endpoint(format!("{}/token", server.uri()))
        .client_auth(auth)
        .grant(Grant::client_credentials().scopes(["read", "write"]))
        .build()
        .unwrap();
    fetcher.fetch(&Context::new()).await.unwrap();
    requests(server).await.pop().unwrap()
}

#[tokio::test]
async fn basic_form_encodes_reserved_and_non_ascii_characters_before_base64() {
    let server = token_server().await;
    let request = fetch_with(&server, ClientAuth::basic("client:id é", "p+ss w:rd/%&=é")).await;
    // form-urlencode("client:id é") ":" form-urlencode("p+ss w:rd/%&=é"), base64.
    assert_eq!(
        authorization(&request),
        Some("Basic Y2xpZW50JTNBaWQrJUMzJUE5OnAlMkJzcyt3JTNBcmQlMkYlMjUlMjYlM0QlQzMlQTk=")
    );
    assert_eq!(
        body(&request),
        "grant_type=client_credentials&scope=read+write"
    );
}

#[tokio::test]
async fn basic_unencoded_sends_the_credentials_as_they_are() {
    let server = token_server().await;
    let request = fetch_with(
        &server,
        ClientAuth::basic_unencoded("client é", "p+ss w:rd/%&=é"),
    )
    .await;
    let expected = base64::engine::general_purpose::STANDARD.encode("client é:p+ss w:rd/%&=é");
    assert_eq!(
        authorization(&request),
        Some(format!("Basic {expected}").as_str())
    );
    let error = BodyTokenFetcher::builder("api")
        .endpoint("https://auth.example.com/token")
        .client_auth(ClientAuth::basic_unencoded("a:b", "s"))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("ClientAuth::basic"), "{error}");
}

#[tokio::test]
async fn post_and_none_put_the_client_in_the_body() {
    let server = token_server().await;
    let request = fetch_with(&server, ClientAuth::post("my client", "s&cret=")).await;
    assert_eq!(authorization(&request), None);
    assert_eq!(
        body(&request),
        "grant_type=client_credentials&scope=read+write&client_id=my+client&client_secret=s%26cret%3D"
    );
    let request = fetch_with(&server, ClientAuth::none("public-app")).await;
    assert_eq!(
        body(&request),
        "grant_type=client_credentials&scope=read+write&client_id=public-app"
    );
}

/// Checks an RFC 7523 §3 client assertion with the public key: signature and
/// every claim. Returns its `jti`.
fn check_assertion(
    form: &[(String, String)],
    key: &DecodingKey,
    algorithm: Algorithm,
    audience: &str,
) -> String {
    assert_eq!(
        field(form, "client_assertion_type"),
        JWT_BEARER_ASSERTION_TYPE
    );
    assert_eq!(field(form, "client_id"), "jwt-client");
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[audience]);
    validation.set_issuer(&["jwt-client"]);
    validation.sub = Some("jwt-client".into());
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud", "jti"]);
    let decoded = jsonwebtoken::decode::<Value>(field(form, "client_assertion"), key, &validation)
        .unwrap_or_else(|error| panic!("{algorithm:?} assertion does not verify: {error}"));
    let claims = decoded.claims;
    let now = chrono::Utc::now().timestamp();
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert!((now - 5..=now).contains(&iat), "iat {iat}, now {now}");
    assert!(
        exp > now && exp <= now + 600,
        "exp {exp} is not a few minutes ahead of {now}"
    );
    claims["jti"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn private_key_jwt_assertions_verify_with_the_public_key() {
    let server = token_server().await;
    let endpoint = format!("{}/token", server.uri());
    let cases = [
        (
            SigningAlgorithm::RS256,
            RSA,
            DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap(),
            Algorithm::RS256,
        ),
        (
            SigningAlgorithm::PS256,
            RSA,
            DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap(),
            Algorithm::PS256,
        ),
        (
            SigningAlgorithm::ES256,
            EC,
            DecodingKey::from_ec_pem(EC_PUBLIC.as_bytes()).unwrap(),
            Algorithm::ES256,
        ),
        (
            SigningAlgorithm::EdDSA,
            ED25519,
            DecodingKey::from_ed_pem(ED25519_PUBLIC.as_bytes()).unwrap(),
            Algorithm::EdDSA,
        ),
    ];
    let mut ids = HashSet::new();
    for (algorithm, pem, public, jws) in cases {
        let key = SigningKey::from_pem(algorithm, pem)
            .unwrap()
            .with_kid("key-1");
        for _ in 0..2 {
            let request = fetch_with(
                &server,
                ClientAuth::private_key_jwt("jwt-client", key.clone()),
            )
            .await;
            let form = form(&request);
            let header = jsonwebtoken::decode_header(field(&form, "client_assertion")).unwrap();
            assert_eq!(header.kid.as_deref(), Some("key-1"));
            assert!(
                ids.insert(check_assertion(&form, &public, jws, &endpoint)),
                "a jti repeated"
            );
        }
    }
    // `aud` as configured, say the issuer.
    let key = SigningKey::from_pem(SigningAlgorithm::RS256, RSA).unwrap();
    let auth = ClientAuth::private_key_jwt("jwt-client", key).audience("https://issuer.example");
    let request = fetch_with(&server, auth).await;
    let public = DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap();
    check_assertion(
        &form(&request),
        &public,
        Algorithm::RS256,
        "https://issuer.example",
    );
}

#[tokio::test]
async fn client_secret_jwt_signs_with_the_secret() {
    let server = token_server().await;
    let request = fetch_with(
        &server,
        ClientAuth::secret_jwt("jwt-client", "shared-secret"),
    )
    .await;
    let endpoint = format!("{}/token", server.uri());
    let secret = DecodingKey::from_secret(b"shared-secret");
    check_assertion(&form(&request), &secret, Algorithm::HS256, &endpoint);
}

#[test]
fn keys_that_cannot_sign_are_refused_when_made() {
    let cases = [
        (
            SigningAlgorithm::RS256,
            "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----",
            "RSA private key",
        ),
        (SigningAlgorithm::RS256, EC, "RSA private key"),
        (SigningAlgorithm::ES256, RSA, "EC P-256"),
        (SigningAlgorithm::ES256, EC_384, "EC P-256"),
        (SigningAlgorithm::EdDSA, EC, "Ed25519"),
        (SigningAlgorithm::HS256, RSA, "SigningKey::hmac"),
    ];
    for (algorithm, pem, advice) in cases {
        let error = SigningKey::from_pem(algorithm, pem).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        let message = error.to_string();
        assert!(message.contains(advice), "{algorithm}: {message}");
        assert!(
            !message.contains("PRIVATE KEY") || !message.contains("MII"),
            "{message}"
        );
    }
    let error = "ES512".parse::<SigningAlgorithm>().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unsupported signing algorithm `ES512`"),
        "{error}"
    );
}

#[tokio::test]
async fn password_and_refresh_token_grants_send_their_parameters() {
    let server = token_server().await;
    let fetcher = BodyTokenFetcher::builder("user")
        .endpoint(format!("{}/token", server.uri()))
        .client_auth(ClientAuth::none("app"))
        .grant(Grant::password("ann@example.com", "pa ss").scope("profile"))
        .build()
        .unwrap();
    fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(
        body(&requests(&server).await[0]),
        "grant_type=password&username=ann%40example.com&password=pa+ss&scope=profile&client_id=app"
    );
    assert!(fetcher.repeatable());

    let fetcher = BodyTokenFetcher::builder("offline")
        .endpoint(format!("{}/token", server.uri()))
        .client_auth(ClientAuth::post("app", "s"))
        .grant(Grant::refresh_token("long-lived"))
        .build()
        .unwrap();
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(
        body(&requests(&server).await[1]),
        "grant_type=refresh_token&refresh_token=long-lived&client_id=app&client_secret=s"
    );
    // The server sent no new refresh token: the given one stays in use.
    assert_eq!(token.refresh_token().unwrap().expose(), "long-lived");
    assert!(!fetcher.repeatable());
}

#[tokio::test]
async fn a_refresh_keeps_the_steps_client_authentication() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "a", "refresh_token": "r1", "expires_in": 3600}),
            ),
        )
        .mount(&server)
        .await;
    let fetcher = BodyTokenFetcher::builder("api")
        .endpoint(format!("{}/token", server.uri()))
        .client_auth(ClientAuth::basic("id", "secret"))
        .grant(Grant::password("ann", "pw").scope("read"))
        .refresh_grant(true)
        .build()
        .unwrap();
    let context = Context::new();
    let token = fetcher.fetch(&context).await.unwrap();
    fetcher.refresh(&token, &context).unwrap().await.unwrap();
    let refresh = requests(&server).await.pop().unwrap();
    assert_eq!(
        body(&refresh),
        "grant_type=refresh_token&refresh_token=r1&scope=read"
    );
    assert_eq!(authorization(&refresh), Some("Basic aWQ6c2VjcmV0"));
}

#[tokio::test]
async fn token_exchange_sends_the_dependency_tokens_and_checks_the_issued_type() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "api-token",
            "issued_token_type": token_type::ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 60
        })))
        .mount(&server)
        .await;
    let exchange = |requested: &str| {
        BodyTokenFetcher::builder("api")
            .endpoint(format!("{}/token", server.uri()))
            .client_auth(ClientAuth::basic("gateway", "s"))
            .grant(
                Grant::token_exchange(
                    TokenExchange::subject("login", token_type::ID_TOKEN)
                        .actor("service", token_type::JWT)
                        .audience("orders")
                        .audience("billing")
                        .resource("https://api.example.com/")
                        .requested_token_type(requested),
                )
                .scopes(["orders:read"]),
            )
            .build()
            .unwrap()
    };
    let fetcher = exchange(token_type::ACCESS_TOKEN);
    assert_eq!(fetcher.depends_on(), ["login", "service"]);
    let context = Context::new()
        .with_token(
            "login",
            tokenfetch::TokenData::new("access").with_extra("id_token", "id.jwt"),
        )
        .with_token("service", tokenfetch::TokenData::new("svc.jwt"));
    let token = fetcher.fetch(&context).await.unwrap();
    assert_eq!(token.issued_token_type(), Some(token_type::ACCESS_TOKEN));
    assert_eq!(
        body(&requests(&server).await[0]),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
         &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token\
         &actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt\
         &audience=orders&audience=billing&resource=https%3A%2F%2Fapi.example.com%2F\
         &requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token\
         &scope=orders%3Aread&subject_token=id.jwt&actor_token=svc.jwt"
    );

    let error = exchange(token_type::JWT).fetch(&context).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadResponse);
    assert!(
        error
            .to_string()
            .contains("not the `urn:ietf:params:oauth:token-type:jwt`"),
        "{error}"
    );
}

#[tokio::test]
async fn jwt_bearer_signs_an_assertion_per_request_or_takes_a_dependencys() {
    let server = token_server().await;
    let endpoint = format!("{}/token", server.uri());
    let key = SigningKey::from_pem(SigningAlgorithm::ES256, EC).unwrap();
    let fetcher = BodyTokenFetcher::builder("delegated")
        .endpoint(&endpoint)
        .grant(Grant::jwt_bearer(
            JwtBearer::signed(key, "my-service", "ann@example.com").claim("tenant", "acme"),
        ))
        .build()
        .unwrap();
    fetcher.fetch(&Context::new()).await.unwrap();
    fetcher.fetch(&Context::new()).await.unwrap();
    let public = DecodingKey::from_ec_pem(EC_PUBLIC.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[&endpoint]);
    validation.set_issuer(&["my-service"]);
    validation.sub = Some("ann@example.com".into());
    let mut ids = HashSet::new();
    for request in requests(&server).await {
        let form = form(&request);
        assert_eq!(
            field(&form, "grant_type"),
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        );
        let claims = jsonwebtoken::decode::<Value>(field(&form, "assertion"), &public, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["tenant"], "acme");
        assert!(ids.insert(claims["jti"].as_str().unwrap().to_owned()));
    }

    let fetcher = BodyTokenFetcher::builder("federated")
        .endpoint(&endpoint)
        .grant(Grant::jwt_bearer(
            JwtBearer::from_step("workload").part(TokenPart::Extra("id_token".into())),
        ))
        .build()
        .unwrap();
    assert_eq!(fetcher.depends_on(), ["workload"]);
    let context = Context::new().with_token(
        "workload",
        tokenfetch::TokenData::new("x").with_extra("id_token", "wl.jwt"),
    );
    fetcher.fetch(&context).await.unwrap();
    let request = requests(&server).await.pop().unwrap();
    assert_eq!(
        body(&request),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=wl.jwt"
    );
}

/// Serves a discovery document at the OpenID Connect address, counting reads.
async fn issuer_server(auth_methods: Option<Vec<&str>>) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let reads = Arc::new(AtomicUsize::new(0));
    let mut document = json!({
        "issuer": server.uri(),
        "token_endpoint": format!("{}/oauth2/token", server.uri()),
        "device_authorization_endpoint": format!("{}/oauth2/device", server.uri()),
    });
    if let Some(methods) = auth_methods {
        document["token_endpoint_auth_methods_supported"] = json!(methods);
    }
    let counter = Arc::clone(&reads);
    Mock::given(path("/.well-known/openid-configuration"))
        .respond_with(move |_: &Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200)
                .set_body_json(document.clone())
                .set_delay(Duration::from_millis(50))
        })
        .mount(&server)
        .await;
    Mock::given(path("/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "t", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    (server, reads)
}

fn discovered_step(name: &str, issuer: &str, auth: ClientAuth) -> BodyTokenFetcher {
    BodyTokenFetcher::builder(name)
        .issuer(issuer)
        .client_auth(auth)
        .grant(Grant::client_credentials())
        .build()
        .unwrap()
}

#[tokio::test]
async fn discovery_is_read_once_per_engine_and_shared_by_its_steps() {
    let (server, reads) = issuer_server(None).await;
    let engine = Engine::builder()
        .step(discovered_step(
            "a",
            &server.uri(),
            ClientAuth::secret("id", "s"),
        ))
        .step(discovered_step(
            "b",
            &server.uri(),
            ClientAuth::secret("id", "s"),
        ))
        .build()
        .unwrap();
    let (a, b) = tokio::join!(engine.token_by_name("a"), engine.token_by_name("b"));
    a.unwrap();
    b.unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    // Nothing listed: RFC 8414's default, client_secret_basic.
    for request in requests(&server)
        .await
        .iter()
        .filter(|r| r.url.path() == "/oauth2/token")
    {
        assert_eq!(authorization(request), Some("Basic aWQ6cw=="));
    }
}

#[tokio::test]
async fn discovery_picks_post_when_the_server_lists_only_post() {
    let (server, _) = issuer_server(Some(vec!["client_secret_post", "private_key_jwt"])).await;
    let fetcher = discovered_step("a", &server.uri(), ClientAuth::secret("id", "s"));
    fetcher.fetch(&Context::new()).await.unwrap();
    let token_request = requests(&server).await.pop().unwrap();
    assert_eq!(authorization(&token_request), None);
    assert_eq!(
        body(&token_request),
        "grant_type=client_credentials&client_id=id&client_secret=s"
    );
}

/// An issuer with RFC 8414 metadata only, whose OpenID Connect address answers
/// `openid_status` (wiremock's 404 when `None`).
async fn rfc_8414_issuer(openid_status: Option<u16>) -> (MockServer, String) {
    let server = MockServer::start().await;
    let issuer = format!("{}/tenant-1", server.uri());
    if let Some(status) = openid_status {
        Mock::given(path("/tenant-1/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(status).set_body_string("no such route"))
            .mount(&server)
            .await;
    }
    Mock::given(path("/.well-known/oauth-authorization-server/tenant-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "token_endpoint": format!("{}/tenant-1/token", server.uri()),
        })))
        .mount(&server)
        .await;
    Mock::given(path("/tenant-1/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "t"})))
        .mount(&server)
        .await;
    (server, issuer)
}

/// Not only a 404: gateways answer an unknown route with 400, 401, 403 (an API
/// gateway's "missing authentication token") or 405.
#[tokio::test]
async fn discovery_falls_back_to_rfc_8414_metadata() {
    for openid_status in [None, Some(400), Some(401), Some(403), Some(405)] {
        let (server, issuer) = rfc_8414_issuer(openid_status).await;
        let fetcher = discovered_step("a", &issuer, ClientAuth::post("id", "s"));
        let token = fetcher.fetch(&Context::new()).await;
        assert_eq!(
            token.unwrap().access_token().expose(),
            "t",
            "OpenID address answering {openid_status:?}"
        );
        let paths: Vec<String> = requests(&server)
            .await
            .iter()
            .map(|r| r.url.path().to_owned())
            .collect();
        assert_eq!(
            paths,
            [
                "/tenant-1/.well-known/openid-configuration",
                "/.well-known/oauth-authorization-server/tenant-1",
                "/tenant-1/token"
            ]
        );
    }
}

/// A server error or a rate limit on the OpenID address is not a sign that the
/// issuer lacks the document: it is reported, not worked around.
#[tokio::test]
async fn discovery_does_not_fall_back_on_a_server_error_or_a_rate_limit() {
    for openid_status in [429, 500, 503] {
        let (server, issuer) = rfc_8414_issuer(Some(openid_status)).await;
        let fetcher = discovered_step("a", &issuer, ClientAuth::post("id", "s"));
        let error = fetcher.fetch(&Context::new()).await.unwrap_err();
        assert_eq!(
            error.status().map(|status| status.as_u16()),
            Some(openid_status)
        );
        assert_eq!(requests(&server).await.len(), 1, "{openid_status}");
    }
}

#[tokio::test]
async fn a_bad_discovery_document_is_a_typed_error_naming_what_is_wrong() {
    let server = MockServer::start().await;
    Mock::given(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"issuer": server.uri()})))
        .mount(&server)
        .await;
    let fetcher = discovered_step("api", &server.uri(), ClientAuth::post("id", "s"));
    let error = fetcher.fetch(&Context::new()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadResponse);
    assert_eq!(error.step(), Some("api"));
    assert!(
        error.to_string().contains("has no `token_endpoint`"),
        "{error}"
    );

    let other = MockServer::start().await;
    Mock::given(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": "https://evil.example.com",
            "token_endpoint": "https://evil.example.com/token",
        })))
        .mount(&other)
        .await;
    let error = discovered_step("api", &other.uri(), ClientAuth::post("id", "s"))
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("names the issuer `https://evil.example.com`"),
        "{error}"
    );
    assert!(
        requests(&other)
            .await
            .iter()
            .all(|r| r.url.path() != "/token")
    );

    let error = BodyTokenFetcher::builder("api")
        .issuer("accounts.example.com")
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("is not an absolute URL"),
        "{error}"
    );
    let error = BodyTokenFetcher::builder("api")
        .issuer("http://accounts.example.com")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn expiry_comes_from_expires_at_or_the_tokens_own_exp() {
    let server = MockServer::start().await;
    Mock::given(path("/github"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": "ghs_x", "expires_at": "2030-01-01T00:00:00Z"})),
        )
        .mount(&server)
        .await;
    let jwt = format!(
        "e30.{}.sig",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":1900000000}"#)
    );
    Mock::given(path("/jwt"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": jwt})))
        .mount(&server)
        .await;
    Mock::given(path("/epoch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "a", "valid_until": 1900000000})),
        )
        .mount(&server)
        .await;
    // An hour from now, in milliseconds since 1970, as some servers send it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let in_an_hour_ms = (now + 3600) * 1000;
    Mock::given(path("/millis"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "a", "expires_at": in_an_hour_ms})),
        )
        .mount(&server)
        .await;
    let fetch = |endpoint: &str, field: Option<(&str, &str)>| {
        let mut builder =
            BodyTokenFetcher::builder("s").endpoint(format!("{}{endpoint}", server.uri()));
        if let Some((token, expires_at)) = field {
            builder = builder.token_field(token).expires_at_field(expires_at);
        }
        builder.build().unwrap()
    };
    let github = fetch("/github", Some(("token", "expires_at")))
        .fetch(&Context::new())
        .await
        .unwrap();
    assert_eq!(
        github.expires_at().unwrap().to_rfc3339(),
        "2030-01-01T00:00:00+00:00"
    );
    let jwt = fetch("/jwt", None).fetch(&Context::new()).await.unwrap();
    assert_eq!(jwt.expires_at().unwrap().timestamp(), 1_900_000_000);
    let epoch = fetch("/epoch", Some(("access_token", "valid_until")))
        .fetch(&Context::new())
        .await
        .unwrap();
    assert_eq!(epoch.expires_at().unwrap().timestamp(), 1_900_000_000);
    let millis = fetch("/millis", None).fetch(&Context::new()).await.unwrap();
    assert_eq!(
        millis.expires_at().unwrap().timestamp(),
        in_an_hour_ms / 1000,
        "milliseconds read as seconds: the token would be cached for years"
    );
}

#[tokio::test]
async fn a_signed_app_jwt_is_injected_into_the_installation_token_request() {
    let server = MockServer::start().await;
    Mock::given(path("/app/installations/42/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"token": "ghs_installation", "expires_at": "2030-01-01T00:00:00Z"}),
        ))
        .mount(&server)
        .await;
    let key = SigningKey::from_pem(SigningAlgorithm::RS256, RSA).unwrap();
    let engine = Engine::builder()
        .step(
            SignedJwtFetcher::new("github_app", key)
                .issuer("123456")
                .backdate(Duration::from_secs(60))
                .lifetime(Duration::from_secs(9 * 60)),
        )
        .step(
            BodyTokenFetcher::builder("installation")
                .endpoint(format!(
                    "{}/app/installations/42/access_tokens",
                    server.uri()
                ))
                .depends_on("github_app")
                .inject(Injection::header("github_app", "Authorization").format("Bearer {token}"))
                .token_field("token")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let token = engine.token_by_name("installation").await.unwrap();
    assert_eq!(token.access_token().expose(), "ghs_installation");
    let request = requests(&server).await.pop().unwrap();
    let jwt = authorization(&request)
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["123456"]);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    let now = chrono::Utc::now().timestamp();
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert!((now - 65..=now - 59).contains(&iat), "iat {iat} now {now}");
    assert!(exp - now <= 540 && exp - now >= 535, "exp {exp} now {now}");
    let app = engine.token_by_name("github_app").await.unwrap();
    assert_eq!(app.expires_at().unwrap().timestamp(), exp);
}

/// A device flow server: the authorization answer, then the poll answers in
/// order, with the instant each poll arrived.
struct DeviceServer {
    polls: Mutex<Vec<(Instant, String)>>,
    answers: Vec<ResponseTemplate>,
}

/// The token endpoint of a [`DeviceServer`].
struct Polls(Arc<DeviceServer>);

impl Respond for Polls {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut polls = self.0.polls.lock().unwrap();
        polls.push((Instant::now(), body(request)));
        self.0
            .answers
            .get(polls.len() - 1)
            .cloned()
            .unwrap_or_else(|| {
                ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}))
            })
    }
}

async fn device_server(
    interval: u64,
    expires_in: u64,
    answers: Vec<ResponseTemplate>,
) -> (MockServer, Arc<DeviceServer>) {
    let server = MockServer::start().await;
    Mock::given(path("/device"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "DEVICE-CODE-SECRET",
            "user_code": "WDJB-MJHT",
            "verification_uri": "https://example.com/device",
            "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
            "expires_in": expires_in,
            "interval": interval,
        })))
        .mount(&server)
        .await;
    let device = Arc::new(DeviceServer {
        polls: Mutex::new(Vec::new()),
        answers,
    });
    Mock::given(path("/token"))
        .respond_with(Polls(Arc::clone(&device)))
        .mount(&server)
        .await;
    (server, device)
}

fn pending(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": code}))
}

fn device_step(server: &MockServer, prompts: Arc<Mutex<Vec<String>>>) -> BodyTokenFetcher {
    BodyTokenFetcher::builder("tv")
        .base_url(server.uri())
        .endpoint("/token")
        .client_auth(ClientAuth::none("tv-app"))
        .grant(
            Grant::device_code(
                DeviceFlow::new(move |prompt| {
                    prompts.lock().unwrap().push(format!(
                        "{} {} {:?} {}",
                        prompt.user_code(),
                        prompt.verification_uri(),
                        prompt.verification_uri_complete(),
                        prompt.expires_in().as_secs()
                    ))
                })
                .endpoint("/device"),
            )
            .scope("profile"),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_device_flow_polls_at_the_interval_and_slows_down_when_told() {
    let answers = vec![
        pending("authorization_pending"),
        pending("slow_down"),
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "tv-token", "expires_in": 3600})),
    ];
    let (server, device) = device_server(1, 600, answers).await;
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let fetcher = device_step(&server, Arc::clone(&prompts));
    // Each fetch asks for a new device code: a used one is never sent again.
    assert!(fetcher.repeatable());
    let started = Instant::now();
    let token = fetcher.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "tv-token");
    assert_eq!(
        *prompts.lock().unwrap(),
        [
            "WDJB-MJHT https://example.com/device Some(\"https://example.com/device?user_code=WDJB-MJHT\") 600"
        ]
    );
    let authorization = requests(&server)
        .await
        .into_iter()
        .find(|r| r.url.path() == "/device")
        .unwrap();
    assert_eq!(body(&authorization), "scope=profile&client_id=tv-app");
    let polls = device.polls.lock().unwrap().clone();
    assert_eq!(polls.len(), 3);
    for (_, poll) in &polls {
        assert_eq!(
            poll,
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=DEVICE-CODE-SECRET&client_id=tv-app"
        );
    }
    // One interval before the first poll and after `authorization_pending`; five
    // seconds more after `slow_down`.
    let gaps = [
        polls[0].0 - started,
        polls[1].0 - polls[0].0,
        polls[2].0 - polls[1].0,
    ];
    assert!(gaps[0] >= Duration::from_secs(1), "{gaps:?}");
    assert!(
        gaps[1] >= Duration::from_secs(1) && gaps[1] < Duration::from_secs(3),
        "{gaps:?}"
    );
    assert!(gaps[2] >= Duration::from_secs(6), "{gaps:?}");
}

#[tokio::test]
async fn the_device_flow_stops_on_access_denied_and_on_expiry() {
    let (server, device) = device_server(
        0,
        600,
        vec![pending("authorization_pending"), pending("access_denied")],
    )
    .await;
    let error = device_step(&server, Arc::default())
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Refused);
    assert_eq!(error.oauth().unwrap().error, "access_denied");
    assert_eq!(device.polls.lock().unwrap().len(), 2);
    assert!(!format!("{error} {error:?}").contains("DEVICE-CODE-SECRET"));

    // A failing server does not end the flow: the user may be approving.
    let (server, device) = device_server(
        0,
        600,
        vec![
            ResponseTemplate::new(503).set_body_json(json!({"error": "temporarily_unavailable"})),
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "late"})),
        ],
    )
    .await;
    let token = device_step(&server, Arc::default())
        .fetch(&Context::new())
        .await
        .unwrap();
    assert_eq!(token.access_token().expose(), "late");
    let polls = device.polls.lock().unwrap().clone();
    // The server's interval of 0 is taken as 1 s; after the failure, 2 s.
    assert!(
        polls[1].0 - polls[0].0 >= Duration::from_secs(2),
        "{:?}",
        polls[1].0 - polls[0].0
    );

    let (server, _) = device_server(1, 2, vec![pending("authorization_pending"); 5]).await;
    let error = device_step(&server, Arc::default())
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Refused);
    assert_eq!(error.oauth().unwrap().error, "expired_token");
    assert!(error.to_string().contains("device code expired"), "{error}");

    let (server, _) = device_server(0, 600, vec![pending("expired_token")]).await;
    let error = device_step(&server, Arc::default())
        .fetch(&Context::new())
        .await
        .unwrap_err();
    assert_eq!(error.oauth().unwrap().error, "expired_token");
}

#[tokio::test]
async fn an_engine_renews_a_device_token_with_a_new_flow() {
    let server = MockServer::start().await;
    let authorizations = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&authorizations);
    Mock::given(path("/device"))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "device_code": format!("code-{n}"), "user_code": "U",
                "verification_uri": "https://example.com/device", "interval": 1
            }))
        })
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(|request: &Request| {
            let code = body(request)
                .rsplit("device_code=")
                .next()
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned();
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": format!("for-{code}"), "expires_in": 1}))
        })
        .mount(&server)
        .await;
    let engine = Engine::builder()
        .step(device_step(&server, Arc::default()))
        .refresh_policy(
            tokenfetch::RefreshPolicy::default()
                .margin(Duration::ZERO)
                .jitter(Duration::ZERO),
        )
        .build()
        .unwrap();
    assert_eq!(
        engine
            .token_by_name("tv")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "for-code-0"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // No refresh token: the expired token is renewed by a new flow, with a new code.
    assert_eq!(
        engine
            .token_by_name("tv")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "for-code-1"
    );
    assert_eq!(authorizations.load(Ordering::SeqCst), 2);
}

#[test]
fn a_grant_is_never_sent_in_a_query_string_or_as_json() {
    for builder in [
        BodyTokenFetcher::builder("api")
            .endpoint("https://auth.example.com/token")
            .get(),
        BodyTokenFetcher::builder("api")
            .endpoint("https://auth.example.com/token")
            .json(),
    ] {
        let error = builder
            .client_auth(ClientAuth::post("id", "secret"))
            .grant(Grant::client_credentials())
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("form POST"), "{error}");
    }
}

#[tokio::test]
async fn steps_reaching_an_issuer_differently_do_not_share_its_metadata() {
    let (server, reads) = issuer_server(None).await;
    let strict = discovered_step("strict", &server.uri(), ClientAuth::post("id", "s"));
    let other = BodyTokenFetcher::builder("other")
        .issuer(server.uri())
        .timeout(Duration::from_secs(5))
        .client_auth(ClientAuth::post("id", "s"))
        .grant(Grant::client_credentials())
        .build()
        .unwrap();
    let engine = Engine::builder().step(strict).step(other).build().unwrap();
    engine.token_by_name("strict").await.unwrap();
    engine.token_by_name("other").await.unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 2);
    // Outside an engine, a step reads the document once, for all its fetches.
    let alone = discovered_step("alone", &server.uri(), ClientAuth::post("id", "s"));
    alone.fetch(&Context::new()).await.unwrap();
    alone.fetch(&Context::new()).await.unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 3);
}

#[test]
fn a_device_flow_needs_the_client_id() {
    let error = BodyTokenFetcher::builder("tv")
        .endpoint("https://auth.example.com/token")
        .grant(Grant::device_code(DeviceFlow::new(|_| {})))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("ClientAuth::none"), "{error}");
}
