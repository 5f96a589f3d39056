//! Errors that read well and do not mislead: `Debug` that reads like the message,
//! kinds that say what happened (an internal failure, a store failure), connection
//! failures that name the server and the cause, hints that fit the situation
//! ("did you mean"), and settings that cannot work reported when the fetcher or
//! the engine is built rather than at the first token.

use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, BoxFuture, Context, Engine, ErrorKind, FileStore, Result, StepIdentity,
    StoreKey, StoredToken, TokenData, TokenFetcher, TokenStep, TokenStore,
};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn debug_reads_like_the_message_and_its_fields() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_client", "error_description": "unknown client"}),
        ))
        .mount(&server)
        .await;
    let error = BodyTokenFetcher::builder("app")
        .base_url(server.uri())
        .endpoint("/token")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err();
    // What `fn main() -> Result<(), Box<dyn Error>>` prints after `Error: `.
    let boxed: Box<dyn std::error::Error> = Box::new(error.clone());
    let debug = format!("{boxed:?}");
    assert!(
        debug.starts_with(
            "Token request failed for step `app`: HTTP 401 Unauthorized (invalid_client: unknown client) {"
        ),
        "{debug}"
    );
    for field in [
        "kind: Refused",
        "step: \"app\"",
        "status: 401",
        "oauth: \"invalid_client\"",
    ] {
        assert!(debug.contains(field), "{field} missing from {debug}");
    }
    assert!(!debug.contains("Inner"), "{debug}");
}

/// A step whose fetch panics.
struct Panics;

impl TokenFetcher for Panics {
    fn name(&self) -> &str {
        "panics"
    }

    fn fetch<'a>(&'a self, _: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
        Box::pin(async { panic!("a bug in a hand-written step") })
    }
}

#[tokio::test]
async fn a_panicked_fetch_is_an_internal_failure() {
    let engine = Engine::builder().step(Panics).build().unwrap();
    let error = engine.token_by_name("panics").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("panicked"), "{error}");
}

#[tokio::test]
async fn a_file_store_that_cannot_write_is_a_store_failure() {
    let missing = std::env::temp_dir()
        .join(format!("tokenfetch-errors-no-dir-{}", std::process::id()))
        .join("tokens.json");
    let store = FileStore::new(&missing);
    let key = StoreKey::new("app", StepIdentity::new());
    let token = StoredToken::new(TokenData::new("t"), std::time::Duration::from_secs(60));
    let error = store.save(&key, &token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Store);
    assert!(
        error.to_string().starts_with("Token store failed"),
        "{error}"
    );
    assert!(error.to_string().contains("tokens.json"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_names_the_server_and_the_cause_but_not_the_query() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = BodyTokenFetcher::builder("app")
        .endpoint(format!("http://{address}/token?api_key=K3Y"))
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(
        message.starts_with("Could not reach the token server for step `app`"),
        "{message}"
    );
    assert!(message.contains(&format!("`{address}`")), "{message}");
    assert!(message.contains("connection refused"), "{message}");
    assert!(!format!("{message} {error:?}").contains("K3Y"), "{error:?}");
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_named_with_the_dns_failure() {
    let error = BodyTokenFetcher::builder("app")
        .endpoint("https://no-such-host.invalid/token")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("`no-such-host.invalid:443`"), "{message}");
    assert!(message.contains("DNS lookup failed"), "{message}");
}

#[tokio::test]
async fn a_missing_dependency_token_says_what_to_do_where_it_is_missing() {
    let hook_step = |required: &'static str| {
        BodyTokenFetcher::builder("user")
            .endpoint("/user")
            .depends_on("oidc_token")
            .with_request(move |_, context| context.require(required).map(drop))
            .build()
            .unwrap()
    };
    // By hand: the fix is to go through an engine, or to add the token.
    let error = hook_step("oidc_token")
        .fetch(&Context::new().with_base_url("http://127.0.0.1:9".parse().unwrap()))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("fetch through an `Engine`"), "{message}");
    assert!(message.contains("Context::with_token"), "{message}");
    assert!(!message.contains("list `oidc_token`"), "{message}");

    // Through an engine: the hook asks for a step that is not a dependency, one
    // edit away from one that is.
    let server = MockServer::start().await;
    Mock::given(path("/oidc_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "id"})))
        .mount(&server)
        .await;
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("oidc_token")
                .endpoint("/oidc_token")
                .build()
                .unwrap(),
        )
        .step(hook_step("oidc_tokn"))
        .build()
        .unwrap();
    let message = engine.token_by_name("user").await.unwrap_err().to_string();
    assert!(message.contains("list `oidc_tokn` there"), "{message}");
    assert!(message.contains("did you mean `oidc_token`?"), "{message}");
}

#[tokio::test]
async fn a_missing_token_field_lists_the_fields_the_response_had() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token": "S3CRET", "expires_in": 60})),
        )
        .mount(&server)
        .await;
    let error = BodyTokenFetcher::builder("app")
        .base_url(server.uri())
        .endpoint("/token")
        .build()
        .unwrap()
        .fetch(&Context::new())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("no token field `access_token` (it has `expires_in`, `token`)"),
        "{message}"
    );
    assert!(!message.contains("S3CRET"), "{message}");
}

#[tokio::test]
async fn a_misspelled_step_name_gets_a_suggestion() {
    let step = |name: &str, depends_on: Option<&str>| {
        let mut builder = BodyTokenFetcher::builder(name).endpoint(format!("/{name}"));
        if let Some(dependency) = depends_on {
            builder = builder.depends_on(dependency);
        }
        builder.build().unwrap()
    };
    let engine = Engine::builder()
        .base_url("http://127.0.0.1:9")
        .step(step("oidc_token", None))
        .build()
        .unwrap();
    let message = engine
        .token_by_name("oidc_tokn")
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("did you mean `oidc_token`?"), "{message}");
    let message = engine
        .token_by_name("billing")
        .await
        .unwrap_err()
        .to_string();
    assert!(!message.contains("did you mean"), "{message}");

    let error = Engine::builder()
        .step(step("oidc_token", None))
        .step(step("api", Some("oidc_tokn")))
        .build()
        .unwrap_err();
    assert!(error.graph_error().is_some());
    assert!(
        error.to_string().contains("did you mean `oidc_token`?"),
        "{error}"
    );
}

#[derive(TokenStep)]
#[endpoint("http://auth.example.com/token")]
#[token_field("access_token")]
struct PlainHttpToken {}

#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
struct RelativeToken {}

#[test]
fn plain_http_to_a_remote_host_is_refused_when_built() {
    let error = BodyTokenFetcher::builder("app")
        .endpoint("http://auth.example.com/token?api_key=K3Y")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let message = error.to_string();
    assert!(message.contains("allow_insecure_http(true)"), "{message}");
    assert!(message.contains("api_key=[redacted]"), "{message}");
    BodyTokenFetcher::builder("app")
        .endpoint("http://auth.example.com/token")
        .allow_insecure_http(true)
        .build()
        .unwrap();

    // A relative endpoint under the engine's plain-http base URL.
    let relative = BodyTokenFetcher::builder("app")
        .endpoint("/token")
        .build()
        .unwrap();
    let error = Engine::builder()
        .base_url("http://auth.example.com")
        .step(relative)
        .build()
        .unwrap_err();
    assert_eq!(error.step(), Some("app"));
    assert!(error.to_string().contains("plain http"), "{error}");
    let error = Engine::builder()
        .base_url("http://auth.example.com")
        .step(RelativeToken {})
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("add `allow_insecure_http` to the step's `#[endpoint(..)]` attribute"),
        "{error}"
    );

    // A derived step's own endpoint, worded as its attribute.
    let error = Engine::builder()
        .step(PlainHttpToken {})
        .build()
        .unwrap_err();
    assert_eq!(error.step(), Some(PlainHttpToken::NAME));
    assert!(
        error
            .to_string()
            .contains("add `allow_insecure_http` to the step's `#[endpoint(..)]` attribute"),
        "{error}"
    );
}

#[tokio::test]
async fn a_handle_from_another_engine_is_an_error_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(path("/a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "a"})))
        .mount(&server)
        .await;
    let build = || {
        Engine::builder()
            .base_url(server.uri())
            .step(
                BodyTokenFetcher::builder("a")
                    .endpoint("/a")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let first = build();
    let handle = first.handle_by_name("a").unwrap();
    assert_eq!(
        first
            .clone()
            .get(handle)
            .await
            .unwrap()
            .access_token()
            .expose(),
        "a"
    );
    drop(first);
    // Later engines, which may live where the first one did, refuse its handle.
    for _ in 0..20 {
        let later = build();
        let error = later.get(handle).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(error.to_string().contains("another engine"), "{error}");
    }
}

#[test]
fn error_displays_start_with_a_capital() {
    let errors = [
        tokenfetch::Error::new(ErrorKind::Transport, "x"),
        tokenfetch::Error::new(ErrorKind::Timeout, "x"),
        tokenfetch::Error::new(ErrorKind::Server, "x"),
        tokenfetch::Error::new(ErrorKind::Refused, "x"),
        tokenfetch::Error::new(ErrorKind::BadResponse, "x"),
        tokenfetch::Error::new(ErrorKind::Config, "x"),
        tokenfetch::Error::new(ErrorKind::Store, "x"),
        tokenfetch::Error::new(ErrorKind::Internal, "x"),
    ];
    for error in errors {
        let message = error.to_string();
        assert!(message.starts_with(char::is_uppercase), "{message}");
    }
}
