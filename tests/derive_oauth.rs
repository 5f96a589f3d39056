//! The OAuth attributes of `#[derive(TokenStep)]`, on the wire: a derived step
//! sends what the same step built with the builder sends.

use std::time::Duration;

use serde_json::json;
use tokenfetch::{
    Context, DevicePrompt, Engine, Secret, TokenData, TokenFetcher, TokenStep, token_type,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "tok", "expires_in": 60})),
        )
        .mount(&server)
        .await;
    server
}

async fn last(server: &MockServer) -> Request {
    server.received_requests().await.unwrap().pop().unwrap()
}

fn body(request: &Request) -> String {
    String::from_utf8(request.body.clone()).unwrap()
}

/// Client credentials with Basic authentication, a base URL known at run time,
/// and the default token field.
#[derive(TokenStep)]
#[endpoint("/oauth/token")]
#[client_auth(basic)]
#[grant(client_credentials, scope = ["read", "write"])]
struct Api {
    #[base_url]
    server: String,
    #[client_id]
    id: String,
    #[client_secret]
    secret: Secret,
    audience: &'static str,
}

#[tokio::test]
async fn client_credentials_with_basic_and_a_run_time_base_url() {
    let server = server().await;
    let step = Api {
        server: server.uri(),
        id: "my id".into(),
        secret: Secret::from("p+ss"),
        audience: "orders",
    };
    let token = step.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "tok");
    let request = last(&server).await;
    assert_eq!(request.url.path(), "/oauth/token");
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        "Basic bXkraWQ6cCUyQnNz"
    );
    assert_eq!(
        body(&request),
        "audience=orders&grant_type=client_credentials&scope=read+write"
    );
}

#[derive(TokenStep)]
#[endpoint("/login")]
#[token_field("access_token", refresh_grant)]
#[client_auth(post)]
#[grant(password, scope = "profile")]
struct Login {
    #[base_url]
    server: String,
    #[client_id]
    client: &'static str,
    #[client_secret]
    client_secret: Secret,
    username: String,
    password: Secret,
}

/// A token exchange whose subject is a step type, and whose identity token
/// comes from that step's `id_token`.
#[derive(TokenStep)]
#[endpoint("/exchange")]
#[client_auth(none)]
#[grant(
    token_exchange,
    subject = Login,
    subject_token_type = "id_token",
    audience = "orders",
    requested_token_type = "access_token"
)]
struct Orders {
    #[base_url]
    server: String,
    #[client_id]
    client: &'static str,
}

#[tokio::test]
async fn a_token_exchange_chain_of_derived_steps() {
    let server = MockServer::start().await;
    Mock::given(path("/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "login-at", "id_token": "id.jwt", "expires_in": 60}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/exchange"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "orders-at",
            "issued_token_type": token_type::ACCESS_TOKEN,
            "expires_in": 60
        })))
        .mount(&server)
        .await;
    assert_eq!(<Orders as TokenStep>::DEPENDS_ON, ["login"]);
    let engine = Engine::builder()
        .step(Login {
            server: server.uri(),
            client: "web",
            client_secret: "s".into(),
            username: "ann".into(),
            password: "pw".into(),
        })
        .step(Orders {
            server: server.uri(),
            client: "gateway",
        })
        .build()
        .unwrap();
    let token = engine.token::<Orders>().await.unwrap();
    assert_eq!(token.issued_token_type(), Some(token_type::ACCESS_TOKEN));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        body(&requests[0]),
        "grant_type=password&username=ann&password=pw&scope=profile&client_id=web&client_secret=s"
    );
    assert_eq!(
        body(&requests[1]),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
         &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token\
         &audience=orders\
         &requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token\
         &subject_token=id.jwt&client_id=gateway"
    );
}

/// `private_key_jwt` with the key in a field, the endpoint from the issuer.
#[derive(TokenStep)]
#[client_auth(private_key_jwt)]
#[grant(client_credentials)]
#[token_field("access_token", expires_at_field = "valid_until")]
struct Signed {
    #[issuer]
    issuer: String,
    #[client_id]
    client: String,
    #[private_key(algorithm = "ES256", kid = "k1")]
    key: Secret,
}

#[tokio::test]
async fn private_key_jwt_with_the_endpoint_from_discovery() {
    let server = MockServer::start().await;
    Mock::given(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "token_endpoint": format!("{}/token", server.uri()),
        })))
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "tok", "valid_until": "2030-01-01T00:00:00Z"}),
            ),
        )
        .mount(&server)
        .await;
    let step = Signed {
        issuer: server.uri(),
        client: "svc".into(),
        key: Secret::from(include_str!("keys/ec.pem")),
    };
    let token = step.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.expires_at().unwrap().timestamp(), 1_893_456_000);
    let request = last(&server).await;
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body).unwrap();
    let assertion = &form
        .iter()
        .find(|(k, _)| k == "client_assertion")
        .unwrap()
        .1;
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some("k1"));

    let bad = Signed {
        issuer: server.uri(),
        client: "svc".into(),
        key: Secret::from("not a key"),
    };
    let error = Engine::builder().step(bad).build().unwrap_err();
    assert!(error.to_string().contains("EC P-256"), "{error}");
    assert!(!error.to_string().contains("not a key"));
}

fn show(prompt: &DevicePrompt) {
    assert_eq!(prompt.user_code(), "CODE");
}

#[derive(TokenStep)]
#[endpoint("/token")]
#[client_auth(none)]
#[grant(device_code, on_prompt = show, endpoint = "/device", scope = ["profile"])]
struct Tv {
    #[base_url]
    server: String,
    #[client_id]
    client: &'static str,
}

#[tokio::test]
async fn a_derived_device_flow_polls_until_approved() {
    let server = MockServer::start().await;
    Mock::given(path("/device"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dc", "user_code": "CODE",
            "verification_uri": "https://example.com/device", "expires_in": 60, "interval": 0
        })))
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "tv"})))
        .mount(&server)
        .await;
    let step = Tv {
        server: server.uri(),
        client: "tv-app",
    };
    assert!(step.repeatable());
    assert_eq!(step.load_timeout(), Some(Duration::from_secs(31 * 60)));
    let token: TokenData = step.fetch(&Context::new()).await.unwrap();
    assert_eq!(token.access_token().expose(), "tv");
    assert_eq!(
        body(&last(&server).await),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc&client_id=tv-app"
    );
}
