//! The Redis store against a real `redis-server` on 127.0.0.1 that each test starts
//! on a free port: a fleet of engines sends one request per step, also when the
//! server is slower than the lock's lease, a step's lock is not held while its
//! dependencies are fetched, a dead lock holder delays others only until its lock
//! expires, Redis going away never fails a call, and entries expire with their
//! token.
//!
//! Without `redis-server` on the PATH these tests say so and pass, unless
//! `TOKENFETCH_REQUIRE_REDIS` is set (CI sets it, after installing the server).
#![cfg(feature = "redis")]

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Issuer, requests_to};
use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, Engine, EngineBuilder, LockOutcome, RedisStore, RefreshPolicy, RetryPolicy,
    TokenStore,
};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A `redis-server` child process, stopped on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                assert!(
                    std::env::var_os("TOKENFETCH_REQUIRE_REDIS").is_none(),
                    "redis-server is required but cannot be started: {error}"
                );
                eprintln!("skipped: redis-server is not installed ({error})");
                return None;
            }
        };
        let redis = Redis { child, port };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(redis);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start listening on port {port}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Awaits every spawned caller, outside tokio's cooperative budget: a test task
/// that spends its budget here would leave none for the mock server, which
/// verifies itself by blocking when dropped, and that check would spin forever.
async fn join_all<T>(callers: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let results = tokio::task::unconstrained(futures_util::future::join_all(callers)).await;
    results.into_iter().map(|result| result.unwrap()).collect()
}

async fn auth_server() -> MockServer {
    let server = MockServer::start().await;
    for step in ["app", "user"] {
        Mock::given(path(format!("/{step}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(
                        json!({"access_token": format!("{step}-tok"), "expires_in": 3600}),
                    )
                    .set_delay(Duration::from_millis(50)),
            )
            .mount(&server)
            .await;
    }
    server
}

fn fleet_member(server: &MockServer, redis: &Redis) -> EngineBuilder {
    Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("app")
                .endpoint("/app")
                .data("client_id", "fleet")
                .build()
                .unwrap(),
        )
        .step(
            BodyTokenFetcher::builder("user")
                .endpoint("/user")
                .depends_on("app")
                .inject_header("app", "X-App-Token")
                .build()
                .unwrap(),
        )
        .store(RedisStore::new(&redis.url()).unwrap())
        .retry_policy(RetryPolicy::none())
        .refresh_policy(RefreshPolicy::default().failure_cooldown(Duration::ZERO))
}

fn engine(server: &MockServer, redis: &Redis) -> Engine {
    fleet_member(server, redis).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_engines_sends_one_request_per_step() {
    let Some(redis) = Redis::start() else { return };
    let server = auth_server().await;
    let engines: Vec<Engine> = (0..4).map(|_| engine(&server, &redis)).collect();
    let callers: Vec<_> = (0..200)
        .map(|i| {
            let engine = engines[i % engines.len()].clone();
            tokio::spawn(async move { engine.token_by_name("user").await })
        })
        .collect();
    for token in join_all(callers).await {
        assert_eq!(token.unwrap().access_token().expose(), "user-tok");
    }
    assert_eq!(requests_to(&server, "/app").await, 1);
    assert_eq!(requests_to(&server, "/user").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_sends_one_request_per_step_when_the_server_is_slower_than_a_lease() {
    let Some(redis) = Redis::start() else { return };
    let server = MockServer::start().await;
    for step in ["app", "user"] {
        Mock::given(path(format!("/{step}")))
            .respond_with(Issuer::new(step).slow_first(Duration::from_millis(2000)))
            .mount(&server)
            .await;
    }
    // Four engines, each with its own client and connection, as four processes
    // would be; a lease under a third of the slow answer, so only renewal keeps it
    // (renewed every 200 ms: slack for a loaded machine).
    let engines: Vec<Engine> = (0..4)
        .map(|_| {
            fleet_member(&server, &redis)
                .store_lease(Duration::from_millis(600))
                .build()
                .unwrap()
        })
        .collect();
    let callers: Vec<_> = (0..200)
        .map(|i| {
            let engine = engines[i % engines.len()].clone();
            tokio::spawn(async move { engine.token_by_name("user").await })
        })
        .collect();
    let tokens: Vec<String> = join_all(callers)
        .await
        .into_iter()
        .map(|token| token.unwrap().access_token().expose().to_owned())
        .collect();
    assert!(tokens.iter().all(|token| *token == tokens[0]), "{tokens:?}");
    assert_eq!(requests_to(&server, "/app").await, 1);
    assert_eq!(requests_to(&server, "/user").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steps_lock_is_taken_only_once_its_dependencies_are_in() {
    let Some(redis) = Redis::start() else { return };
    let server = MockServer::start().await;
    for step in ["app", "user"] {
        Mock::given(path(format!("/{step}")))
            .respond_with(Issuer::new(step).slow_first(Duration::from_millis(600)))
            .mount(&server)
            .await;
    }
    let engine = engine(&server, &redis);
    let user_key = engine.store_key("user").unwrap().clone();
    let caller = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.token_by_name("user").await })
    };
    // While `app` is being fetched, `user`'s lock is free.
    while requests_to(&server, "/app").await == 0 {
        tokio::task::yield_now().await;
    }
    let other = RedisStore::new(&redis.url()).unwrap();
    let LockOutcome::Acquired(lock) = other.lock(&user_key, Duration::from_secs(5)).await.unwrap()
    else {
        panic!("`user` was locked while its dependency was still being fetched");
    };
    other.unlock(&user_key, &lock).await.unwrap();
    caller.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_is_renewed_and_released_by_its_holder_only() {
    let Some(redis) = Redis::start() else { return };
    common::check_lock_lease(&RedisStore::new(&redis.url()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lock_holder_delays_others_only_until_its_lock_expires() {
    let Some(redis) = Redis::start() else { return };
    let server = auth_server().await;
    let engine = engine(&server, &redis);
    // A process takes the fetch lock for `app` and dies without releasing it.
    let dead = RedisStore::new(&redis.url()).unwrap();
    let key = engine.store_key("app").unwrap().clone();
    assert!(matches!(
        dead.lock(&key, Duration::from_millis(800)).await.unwrap(),
        LockOutcome::Acquired(_)
    ));
    drop(dead);
    let started = std::time::Instant::now();
    let token = engine.token_by_name("app").await.unwrap();
    assert_eq!(token.access_token().expose(), "app-tok");
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert_eq!(requests_to(&server, "/app").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_never_fails_a_call() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let server = auth_server().await;
    let engine = engine(&server, &redis);
    engine.token_by_name("user").await.unwrap();
    redis.stop();
    for _ in 0..3 {
        engine.invalidate("app");
        engine.invalidate("user");
        let token = engine.token_by_name("user").await.unwrap();
        assert_eq!(token.access_token().expose(), "user-tok");
    }
    // Cached in memory meanwhile: no request without need.
    let before = server.received_requests().await.unwrap().len();
    engine.token_by_name("user").await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn entries_expire_with_the_token() {
    let Some(redis) = Redis::start() else { return };
    let server = auth_server().await;
    let engine = engine(&server, &redis);
    engine.token_by_name("app").await.unwrap();
    let key = engine.store_key("app").unwrap().as_str().to_owned();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "PTTL {ttl}");
    let value: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        !value.contains("fleet"),
        "request data leaked into the entry"
    );
}
