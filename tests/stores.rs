//! Token stores behind the engine: a file that survives restarts, a memory store
//! shared by engines, keys that keep configurations apart (what a hook adds, what a
//! dependency is), a file lock that holds for as long as its holder works, and a
//! broken store that never fails a call while the auth server is up.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{Issuer, requests_to};
use serde_json::json;
use tokenfetch::{BodyTokenFetcher, Engine, FileStore, LockOutcome, MemoryStore, TokenStore};
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

/// A step whose requests differ only by what its hook adds: the tenant. With
/// `declared`, the builder is told so through `identity`.
fn tenant_engine(
    server: &MockServer,
    tenant: &'static str,
    declared: bool,
    store: impl TokenStore,
) -> Engine {
    let mut step = BodyTokenFetcher::builder("app")
        .endpoint("/token")
        .data("client_id", "one");
    if declared {
        step = step.identity(tenant);
    }
    let step = step
        .with_request(move |request, _| {
            request.set_data("tenant", tenant);
            Ok(())
        })
        .build()
        .unwrap();
    Engine::builder()
        .base_url(server.uri())
        .step(step)
        .store(store)
        .build()
        .unwrap()
}

async fn token_of(engine: &Engine, step: &str) -> String {
    let token = engine.token_by_name(step).await.unwrap();
    token.access_token().expose().to_owned()
}

#[tokio::test]
async fn what_a_hook_adds_keeps_two_configurations_apart() {
    for store in ["memory", "file"] {
        let server = MockServer::start().await;
        Mock::given(path("/token"))
            .respond_with(Issuer::new("tok"))
            .mount(&server)
            .await;
        let memory = Arc::new(MemoryStore::new());
        let file = temp_file(&format!("hook-{store}"));
        let shared = || -> Arc<dyn TokenStore> {
            match store {
                "memory" => Arc::clone(&memory) as Arc<dyn TokenStore>,
                _ => Arc::new(FileStore::new(&file)),
            }
        };

        // A hook that did not say what it adds: never shared, not even with an
        // engine configured the same way.
        let alpha = tenant_engine(&server, "alpha", false, shared());
        let beta = tenant_engine(&server, "beta", false, shared());
        assert!(token_of(&alpha, "app").await.ends_with("tenant=alpha"));
        assert!(token_of(&beta, "app").await.ends_with("tenant=beta"));
        assert!(alpha.store_key("app").is_none());
        let again = tenant_engine(&server, "alpha", false, shared());
        assert!(token_of(&again, "app").await.ends_with("tenant=alpha"));
        assert_eq!(requests_to(&server, "/token").await, 3, "{store}");

        // Declared with `identity`: shared by equal configurations only.
        let alpha = tenant_engine(&server, "alpha", true, shared());
        let beta = tenant_engine(&server, "beta", true, shared());
        let alpha_token = token_of(&alpha, "app").await;
        assert!(alpha_token.ends_with("tenant=alpha"));
        assert!(token_of(&beta, "app").await.ends_with("tenant=beta"));
        let again = tenant_engine(&server, "alpha", true, shared());
        assert_eq!(token_of(&again, "app").await, alpha_token);
        assert_eq!(requests_to(&server, "/token").await, 5, "{store}");
    }
}

/// `app` with `client_id`, and `user`, identical in every engine but for the
/// `app` token it sends.
fn chain(server: &MockServer, client_id: &str) -> tokenfetch::EngineBuilder {
    Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("app")
                .endpoint("/app")
                .data("client_id", client_id)
                .build()
                .unwrap(),
        )
        .step(
            BodyTokenFetcher::builder("user")
                .endpoint("/user")
                .data("username", "u")
                .depends_on("app")
                .inject_field("app", "app_token")
                .build()
                .unwrap(),
        )
}

fn chain_engine(server: &MockServer, client_id: &str, store: impl TokenStore) -> Engine {
    chain(server, client_id).store(store).build().unwrap()
}

#[tokio::test]
async fn a_dependency_configured_otherwise_keeps_the_dependents_apart() {
    let server = MockServer::start().await;
    Mock::given(path("/app"))
        .respond_with(Issuer::new("app"))
        .mount(&server)
        .await;
    Mock::given(path("/user"))
        .respond_with(Issuer::new("user"))
        .mount(&server)
        .await;
    let store = Arc::new(MemoryStore::new());
    let one = chain_engine(&server, "one", Arc::clone(&store));
    let two = chain_engine(&server, "two", Arc::clone(&store));
    let user_one = token_of(&one, "user").await;
    let user_two = token_of(&two, "user").await;
    assert!(user_one.contains("client_id%3Done"), "{user_one}");
    assert!(user_two.contains("client_id%3Dtwo"), "{user_two}");
    assert_ne!(one.store_key("user"), two.store_key("user"));
    assert_eq!(requests_to(&server, "/user").await, 2);

    // The same chain elsewhere (another process, say) shares both tokens.
    let same = chain_engine(&server, "one", store);
    assert_eq!(token_of(&same, "user").await, user_one);
    assert_eq!(one.store_key("user"), same.store_key("user"));
    assert_eq!(requests_to(&server, "/app").await, 2);
    assert_eq!(requests_to(&server, "/user").await, 2);
}

/// Awaits every spawned caller, outside tokio's cooperative budget (see
/// `redis_store.rs`).
async fn join_all<T>(callers: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let results = tokio::task::unconstrained(futures_util::future::join_all(callers)).await;
    results.into_iter().map(|result| result.unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_sharing_a_file_sends_one_request_per_step_when_the_server_is_slower_than_a_lease()
{
    let server = MockServer::start().await;
    for step in ["app", "user"] {
        Mock::given(path(format!("/{step}")))
            .respond_with(Issuer::new(step).slow_first(Duration::from_millis(3000)))
            .mount(&server)
            .await;
    }
    let file = temp_file("slow-fleet");
    // A lease a third of the slow answer: only renewal can keep the lock
    // (renewed every 333 ms, so a renewal may come 667 ms late: slack for a
    // loaded machine, where 200 callers poll the store through file locks).
    let engines: Vec<Engine> = (0..4)
        .map(|_| {
            chain(&server, "one")
                .store(FileStore::new(&file))
                .store_lease(Duration::from_millis(1000))
                .build()
                .unwrap()
        })
        .collect();
    let callers: Vec<_> = (0..200)
        .map(|i| {
            let engine = engines[i % engines.len()].clone();
            tokio::spawn(async move { token_of(&engine, "user").await })
        })
        .collect();
    let tokens = join_all(callers).await;
    assert!(tokens.iter().all(|token| *token == tokens[0]), "{tokens:?}");
    assert_eq!(requests_to(&server, "/app").await, 1);
    assert_eq!(requests_to(&server, "/user").await, 1);
}

#[tokio::test]
async fn a_dead_file_lock_holder_delays_others_only_one_lease() {
    let server = server().await;
    let file = temp_file("dead-holder");
    let engine = engine(&server, "one", FileStore::new(&file));
    let key = engine.store_key("app").unwrap().clone();
    // Another process takes the lock for a 600 ms lease, and dies.
    let dead = FileStore::new(&file);
    let lease = Duration::from_millis(600);
    let LockOutcome::Acquired(lock) = dead.lock(&key, lease).await.unwrap() else {
        panic!("the lock was free");
    };
    assert!(matches!(
        FileStore::new(&file).lock(&key, lease).await.unwrap(),
        LockOutcome::Busy
    ));
    drop((dead, lock));
    let started = std::time::Instant::now();
    assert_eq!(token_of(&engine, "app").await, "tok-one");
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_file_lock_is_renewed_and_released_by_its_holder_only() {
    common::check_lock_lease(&FileStore::new(temp_file("lease-owner"))).await;
}

#[tokio::test]
async fn an_invalidated_token_is_removed_from_the_store_for_the_whole_fleet() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(Issuer::new("tok"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("app")
                .endpoint("/token")
                .build()
                .unwrap(),
        )
        .store(Arc::clone(&store))
        .retry_policy(tokenfetch::RetryPolicy::none())
        .build()
        .unwrap();
    let key = engine.store_key("app").unwrap().clone();
    let bad = engine.token_by_name("app").await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    // An API refused the token: it must not be handed to anyone again, even
    // while the auth server is down.
    assert!(engine.invalidate_token("app", &bad));
    engine.token_by_name("app").await.unwrap_err();
    assert!(store.load(&key).await.unwrap().is_none());
}

#[tokio::test]
async fn invalidating_a_token_another_process_replaced_takes_the_replacement() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(Issuer::new("tok"))
        .mount(&server)
        .await;
    let store = Arc::new(MemoryStore::new());
    let engine = |store: Arc<MemoryStore>| {
        Engine::builder()
            .base_url(server.uri())
            .step(
                BodyTokenFetcher::builder("app")
                    .endpoint("/token")
                    .build()
                    .unwrap(),
            )
            .store(store)
            .build()
            .unwrap()
    };
    let (one, two) = (engine(Arc::clone(&store)), engine(Arc::clone(&store)));
    let first = one.token_by_name("app").await.unwrap();
    let theirs = two.token_by_name("app").await.unwrap();
    assert_eq!(theirs, first);
    // The other process was refused first and renewed the token.
    assert!(two.invalidate_token("app", &theirs));
    let replacement = two.token_by_name("app").await.unwrap();
    assert_ne!(replacement, first);
    // This one is refused with the old token now: it takes the replacement from
    // the store rather than renewing again.
    assert!(one.invalidate_token("app", &first));
    assert_eq!(one.token_by_name("app").await.unwrap(), replacement);
    assert_eq!(requests_to(&server, "/token").await, 2);
}

#[tokio::test]
async fn a_load_that_times_out_releases_the_store_lock() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(Issuer::new("tok").slow_first(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let file = temp_file("timeout-release");
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("app")
                .endpoint("/token")
                .build()
                .unwrap(),
        )
        .store(FileStore::new(&file))
        .retry_policy(tokenfetch::RetryPolicy::none().load_timeout(Duration::from_millis(500)))
        .build()
        .unwrap();
    let error = engine.token_by_name("app").await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    // The lease is 10 s: only a release lets another process take the lock now.
    let key = engine.store_key("app").unwrap().clone();
    let other = FileStore::new(&file);
    let mut acquired = false;
    for _ in 0..50 {
        if let LockOutcome::Acquired(_) = other.lock(&key, Duration::from_secs(1)).await.unwrap() {
            acquired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(acquired, "the timed-out load left the store lock held");
}
