//! The blocking facade: plain threads get tokens through one shared fetch; a call
//! from inside an async runtime is a clear error, not a deadlock.
#![cfg(feature = "blocking")]

use serde_json::json;
use tokenfetch::{BodyTokenFetcher, Context, Engine, ErrorKind};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server on a runtime of its own, so that the test threads have none.
fn server() -> (tokio::runtime::Runtime, MockServer) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(path("/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "sync", "expires_in": 3600}))
                    .set_delay(std::time::Duration::from_millis(50)),
            )
            .mount(&server)
            .await;
        server
    });
    (runtime, server)
}

fn fetcher(server: &MockServer) -> BodyTokenFetcher {
    BodyTokenFetcher::builder("sync_token")
        .base_url(server.uri())
        .endpoint("/token")
        .build()
        .unwrap()
}

#[test]
fn plain_threads_share_one_fetch() {
    let (runtime, server) = server();
    let engine =
        tokenfetch::blocking::Engine::new(Engine::builder().step(fetcher(&server))).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let engine = engine.clone();
            std::thread::spawn(move || engine.token_by_name("sync_token"))
        })
        .collect();
    for thread in threads {
        assert_eq!(
            thread.join().unwrap().unwrap().access_token().expose(),
            "sync"
        );
    }
    let requests = runtime.block_on(server.received_requests()).unwrap().len();
    assert_eq!(requests, 1);
}

#[test]
fn a_fetcher_can_be_called_without_a_runtime() {
    let (_runtime, server) = server();
    let token = tokenfetch::blocking::fetch(&fetcher(&server), &Context::new()).unwrap();
    assert_eq!(token.access_token().expose(), "sync");
}

#[test]
fn inside_an_async_runtime_it_is_an_error_not_a_deadlock() {
    let (runtime, server) = server();
    let engine =
        tokenfetch::blocking::Engine::new(Engine::builder().step(fetcher(&server))).unwrap();
    let error = runtime
        .block_on(async { engine.token_by_name("sync_token") })
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.to_string().contains("inside an async runtime"),
        "{error}"
    );
}
