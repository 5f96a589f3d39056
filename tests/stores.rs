//! Token stores behind the engine: a file that survives restarts, a memory store
//! shared by engines, keys that keep configurations apart, and a broken store that
//! never fails a call while the auth server is up.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use tokenfetch::{BodyTokenFetcher, Engine, FileStore, MemoryStore, TokenStore};
use wiremock::matchers::{body_string_contains, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenfetch-stores-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tokens.json");
    let _ = std::fs::remove_file(&file);
    file
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    for client in ["one", "two"] {
        Mock::given(path("/token"))
            .and(body_string_contains(format!("client_id={client}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": format!("tok-{client}"), "expires_in": 3600}),
            ))
            .mount(&server)
            .await;
    }
    server
}

fn engine(server: &MockServer, client: &str, store: impl TokenStore) -> Engine {
    Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("app")
                .endpoint("/token")
                .data("client_id", client)
                .data("client_secret", "s3cret")
                .build()
                .unwrap(),
        )
        .store(store)
        .build()
        .unwrap()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn file_store_survives_a_restart() {
    let server = server().await;
    let file = temp_file("restart");
    let first = engine(&server, "one", FileStore::new(&file));
    let token = first.token_by_name("app").await.unwrap();
    drop(first);
    assert_eq!(requests(&server).await, 1);

    let contents = std::fs::read_to_string(&file).unwrap();
    assert!(!contents.contains("s3cret"), "a secret reached the file");

    let second = engine(&server, "one", FileStore::new(&file));
    assert_eq!(second.token_by_name("app").await.unwrap(), token);
    assert_eq!(requests(&server).await, 1, "the second run fetched again");
}

#[tokio::test]
async fn different_client_ids_never_share_an_entry() {
    let server = server().await;
    let file = temp_file("clients");
    let one = engine(&server, "one", FileStore::new(&file));
    let two = engine(&server, "two", FileStore::new(&file));
    assert_eq!(
        one.token_by_name("app")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "tok-one"
    );
    assert_eq!(
        two.token_by_name("app")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "tok-two"
    );
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn engines_share_a_memory_store() {
    let server = server().await;
    let store = Arc::new(MemoryStore::new());
    let one = engine(&server, "one", Arc::clone(&store));
    let other = engine(&server, "one", store);
    one.token_by_name("app").await.unwrap();
    other.token_by_name("app").await.unwrap();
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn invalidate_skips_the_stored_copy() {
    let server = server().await;
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&server, "one", Arc::clone(&store));
    engine.token_by_name("app").await.unwrap();
    engine.invalidate("app");
    engine.token_by_name("app").await.unwrap();
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_foreign_file_is_reported_and_the_engine_goes_on() {
    let server = server().await;
    let file = temp_file("foreign");
    std::fs::write(&file, "not json at all").unwrap();
    let engine = engine(&server, "one", FileStore::new(&file));
    for _ in 0..3 {
        engine.token_by_name("app").await.unwrap();
    }
    assert_eq!(requests(&server).await, 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not json at all");
}

#[tokio::test]
async fn an_unwritable_store_never_fails_a_call() {
    let server = server().await;
    let missing = std::env::temp_dir()
        .join(format!("tokenfetch-no-such-dir-{}", std::process::id()))
        .join("tokens.json");
    let engine = engine(&server, "one", FileStore::new(missing));
    engine.token_by_name("app").await.unwrap();
    engine.token_by_name("app").await.unwrap();
    assert_eq!(requests(&server).await, 1);
}

#[test]
fn processes_writing_one_file_at_once_lose_nothing() {
    let file = temp_file("processes");
    let writers: Vec<_> = (0..4)
        .map(|process| {
            std::process::Command::new(env!("CARGO_BIN_EXE_file_store_writer"))
                .arg(&file)
                .arg(format!("p{process}"))
                .arg("25")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut writer in writers {
        assert!(writer.wait().unwrap().success());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = FileStore::new(&file);
    for process in 0..4 {
        for n in 0..25 {
            let name = format!("p{process}-{n}");
            let key = tokenfetch::StoreKey::new(&name, tokenfetch::StepIdentity::new());
            let stored = runtime.block_on(store.load(&key)).unwrap();
            assert_eq!(
                stored.unwrap().token.access_token().expose(),
                format!("token-{name}")
            );
        }
    }
}
