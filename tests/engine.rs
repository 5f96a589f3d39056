//! The engine against a real HTTP server on 127.0.0.1: single flight, concurrency,
//! cache lifetimes, retries, stale-while-error, timeouts, cancellation, 401
//! recovery, refresh tokens and graph errors.
//!
//! Cache lifetimes are tested by moving tokio's clock forward (`travel`) between
//! requests, so an hour passes in an instant while HTTP still runs in real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant as StdInstant};

use futures_util::FutureExt;
use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, Engine, EngineBuilder, ErrorKind, GraphError, HeaderTokenFetcher,
    RefreshPolicy, RetryPolicy,
};
use wiremock::matchers::{body_string_contains, header, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers with a new token each time (`{prefix}-1`, `{prefix}-2`...), after
/// `delay`, and records when each request arrived.
#[derive(Clone)]
struct Tokens {
    prefix: &'static str,
    expires_in: Option<u64>,
    delay: Duration,
    count: Arc<AtomicUsize>,
    arrivals: Arc<std::sync::Mutex<Vec<StdInstant>>>,
}

impl Tokens {
    fn new(prefix: &'static str) -> Self {
        Tokens {
            prefix,
            expires_in: None,
            delay: Duration::ZERO,
            count: Arc::default(),
            arrivals: Arc::default(),
        }
    }

    fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = Some(seconds);
        self
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Respond for Tokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(StdInstant::now());
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let mut body = json!({"access_token": format!("{}-{n}", self.prefix)});
        if let Some(expires_in) = self.expires_in {
            body["expires_in"] = json!(expires_in);
        }
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(self.delay)
    }
}

async fn mount(server: &MockServer, route: &str, tokens: &Tokens) {
    Mock::given(path(route))
        .respond_with(tokens.clone())
        .mount(server)
        .await;
}

fn step(name: &str, depends_on: &[&str]) -> BodyTokenFetcher {
    let mut builder = BodyTokenFetcher::builder(name).endpoint(format!("/{name}"));
    for dependency in depends_on {
        builder = builder
            .depends_on(*dependency)
            .inject_header(*dependency, format!("X-{dependency}"));
    }
    builder.build().unwrap()
}

fn engine(server: &MockServer) -> EngineBuilder {
    Engine::builder()
        .base_url(server.uri())
        .refresh_policy(RefreshPolicy::default().jitter(Duration::ZERO))
        .retry_policy(
            RetryPolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
}

/// Awaits every spawned caller, outside tokio's cooperative budget: a test task
/// that spends its budget here would leave none for the mock server, which
/// verifies itself by blocking when dropped, and that check would spin forever.
async fn join_all<T>(callers: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let results = tokio::task::unconstrained(futures_util::future::join_all(callers)).await;
    results.into_iter().map(|result| result.unwrap()).collect()
}

/// Moves tokio's clock forward by `duration`, lets the timers that came due run
/// (as they do when time passes for real: the cache marks a token due from a
/// timer), then lets the clock run on in real time.
async fn travel(duration: Duration) {
    tokio::time::pause();
    tokio::time::advance(duration).await;
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    tokio::time::resume();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_callers_send_one_request_per_step() {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(50);
    let (a, b, c) = (
        Tokens::new("a").delay(delay),
        Tokens::new("b").delay(delay),
        Tokens::new("c").delay(delay),
    );
    mount(&server, "/a", &a).await;
    mount(&server, "/b", &b).await;
    mount(&server, "/c", &c).await;
    let engine = engine(&server)
        .step(step("a", &[]))
        .step(step("b", &["a"]))
        .step(step("c", &["b"]))
        .build()
        .unwrap();
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.token_by_name("c").await })
        })
        .collect();
    for token in join_all(callers).await {
        assert_eq!(token.unwrap().access_token().expose(), "c-1");
    }
    assert_eq!((a.count(), b.count(), c.count()), (1, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_callers_share_one_failure() {
    let server = MockServer::start().await;
    Mock::given(path("/a"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "invalid_client"}))
                .set_delay(Duration::from_millis(50)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let engine = engine(&server).step(step("a", &[])).build().unwrap();
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.token_by_name("a").await })
        })
        .collect();
    let mut messages = std::collections::HashSet::new();
    for result in join_all(callers).await {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Refused);
        assert_eq!(error.oauth().unwrap().error, "invalid_client");
        messages.insert(error.to_string());
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diamond_fetches_independent_steps_at_the_same_time() {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(200);
    let tokens: Vec<Tokens> = ["d", "b", "c", "a"]
        .into_iter()
        .map(|name| Tokens::new(name).delay(delay))
        .collect();
    for (name, tokens) in ["d", "b", "c", "a"].iter().zip(&tokens) {
        mount(&server, &format!("/{name}"), tokens).await;
    }
    let engine = engine(&server)
        .step(step("d", &[]))
        .step(step("b", &["d"]))
        .step(step("c", &["d"]))
        .step(step("a", &["b", "c"]))
        .build()
        .unwrap();
    engine.token_by_name("a").await.unwrap();
    let counts: Vec<usize> = tokens.iter().map(Tokens::count).collect();
    assert_eq!(counts, [1, 1, 1, 1]);
    let b = tokens[1].arrivals.lock().unwrap()[0];
    let c = tokens[2].arrivals.lock().unwrap()[0];
    let apart = if b > c { b - c } else { c - b };
    assert!(apart < delay, "b and c did not overlap: {apart:?} apart");
}

#[tokio::test]
async fn token_is_renewed_after_the_margin_and_never_served_expired() {
    let server = MockServer::start().await;
    let tokens = Tokens::new("t");
    mount(&server, "/t", &tokens).await;
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(
            BodyTokenFetcher::builder("t")
                .endpoint("/t")
                .ttl(Duration::from_secs(3600))
                .build()
                .unwrap(),
        )
        .refresh_policy(
            RefreshPolicy::default()
                .margin(Duration::from_secs(300))
                .jitter(Duration::ZERO)
                .failure_cooldown(Duration::ZERO),
        )
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let first = engine.token_by_name("t").await.unwrap();
    travel(Duration::from_secs(3290)).await;
    assert_eq!(engine.token_by_name("t").await.unwrap(), first);
    assert_eq!(tokens.count(), 1);

    travel(Duration::from_secs(20)).await;
    let second = engine.token_by_name("t").await.unwrap();
    assert_eq!(second.access_token().expose(), "t-2");
    assert_eq!(tokens.count(), 2);

    // The server goes away; once the token has expired it is never served.
    server.reset().await;
    Mock::given(path("/t"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    travel(Duration::from_secs(3601)).await;
    let error = engine.token_by_name("t").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Server);
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let server = MockServer::start().await;
    Mock::given(path("/t"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    let tokens = Tokens::new("t");
    mount(&server, "/t", &tokens).await;
    let engine = engine(&server).step(step("t", &[])).build().unwrap();
    assert_eq!(
        engine
            .token_by_name("t")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "t-1"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/t"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .expect(1)
        .mount(&server)
        .await;
    let engine = engine(&server).step(step("t", &[])).build().unwrap();
    let error = engine.token_by_name("t").await.unwrap_err();
    assert!(error.is_refused());
    assert_eq!(error.step(), Some("t"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    let arrivals: Arc<std::sync::Mutex<Vec<StdInstant>>> = Arc::default();
    let log = Arc::clone(&arrivals);
    let count = AtomicUsize::new(0);
    Mock::given(path("/t"))
        .respond_with(move |_: &Request| {
            log.lock().unwrap().push(StdInstant::now());
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                ResponseTemplate::new(429).insert_header("Retry-After", "2")
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"access_token": "late"}))
            }
        })
        .mount(&server)
        .await;
    let engine = engine(&server).step(step("t", &[])).build().unwrap();
    engine.token_by_name("t").await.unwrap();
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 2);
    assert!(arrivals[1] - arrivals[0] >= Duration::from_secs(2));
}

#[tokio::test]
async fn failing_renewal_keeps_serving_the_valid_token() {
    let server = MockServer::start().await;
    let tokens = Tokens::new("t").expires_in(3600);
    mount(&server, "/t", &tokens).await;
    let engine = engine(&server)
        .step(step("t", &[]))
        .refresh_policy(
            RefreshPolicy::default()
                .margin(Duration::from_secs(300))
                .jitter(Duration::ZERO)
                .failure_cooldown(Duration::ZERO),
        )
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let first = engine.token_by_name("t").await.unwrap();
    server.reset().await;
    Mock::given(path("/t"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    travel(Duration::from_secs(3400)).await;
    for _ in 0..5 {
        assert_eq!(engine.token_by_name("t").await.unwrap(), first);
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
    travel(Duration::from_secs(200)).await;
    assert_eq!(
        engine.token_by_name("t").await.unwrap_err().kind(),
        ErrorKind::Server
    );
}

#[tokio::test]
async fn failure_cooldown_limits_new_attempts() {
    let server = MockServer::start().await;
    Mock::given(path("/t"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let engine = engine(&server)
        .step(step("t", &[]))
        .retry_policy(RetryPolicy::none())
        .refresh_policy(RefreshPolicy::default().failure_cooldown(Duration::from_secs(30)))
        .build()
        .unwrap();
    for _ in 0..10 {
        assert!(engine.token_by_name("t").await.is_err());
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    travel(Duration::from_secs(31)).await;
    assert!(engine.token_by_name("t").await.is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn hanging_server_gives_the_load_timeout_and_the_next_call_tries_again() {
    let server = MockServer::start().await;
    Mock::given(path("/t"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "slow"}))
                .set_delay(Duration::from_secs(30)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let tokens = Tokens::new("t");
    mount(&server, "/t", &tokens).await;
    let engine = engine(&server)
        .step(step("t", &[]))
        .retry_policy(RetryPolicy::default().load_timeout(Duration::from_millis(300)))
        .refresh_policy(RefreshPolicy::default().failure_cooldown(Duration::ZERO))
        .build()
        .unwrap();
    let error = engine.token_by_name("t").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.to_string().contains("load timeout"), "{error}");
    assert_eq!(
        engine
            .token_by_name("t")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "t-1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_caller_does_not_fail_the_others() {
    let server = MockServer::start().await;
    let tokens = Tokens::new("t").delay(Duration::from_millis(300));
    mount(&server, "/t", &tokens).await;
    let engine = engine(&server).step(step("t", &[])).build().unwrap();
    let first = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.token_by_name("t").await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let others: Vec<_> = (0..99)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.token_by_name("t").await })
        })
        .collect();
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    for token in join_all(others).await {
        assert_eq!(token.unwrap().access_token().expose(), "t-1");
    }
    assert_eq!(tokens.count(), 1);
}

#[tokio::test]
async fn unauthorized_step_renews_its_dependencies_once() {
    let server = MockServer::start().await;
    let app = Tokens::new("app");
    mount(&server, "/app", &app).await;
    Mock::given(path("/user"))
        .and(header("X-app", "app-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "user"})))
        .mount(&server)
        .await;
    Mock::given(path("/user"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let engine = engine(&server)
        .step(step("app", &[]))
        .step(step("user", &["app"]))
        .build()
        .unwrap();
    let user = engine.token_by_name("user").await.unwrap();
    assert_eq!(user.access_token().expose(), "user");
    assert_eq!(app.count(), 2);
    let user_requests = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == "/user")
        .count();
    assert_eq!(user_requests, 2);
}

#[tokio::test]
async fn a_second_unauthorized_goes_back_to_the_caller() {
    let server = MockServer::start().await;
    let app = Tokens::new("app");
    mount(&server, "/app", &app).await;
    Mock::given(path("/user"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let engine = engine(&server)
        .step(step("app", &[]))
        .step(step("user", &["app"]))
        .build()
        .unwrap();
    let error = engine.token_by_name("user").await.unwrap_err();
    assert_eq!(error.status().unwrap().as_u16(), 401);
    assert_eq!(error.step(), Some("user"));
    assert_eq!(app.count(), 2);
}

#[tokio::test]
async fn refresh_token_is_used_and_rotated() {
    let server = MockServer::start().await;
    Mock::given(path("/t"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "a1", "refresh_token": "r1", "expires_in": 600}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/t"))
        .and(body_string_contains("refresh_token=r1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "a2", "refresh_token": "r2", "expires_in": 600}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/t"))
        .and(body_string_contains("refresh_token=r2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "a3", "expires_in": 600})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let engine = engine(&server)
        .step(refreshing_step("client_credentials", &[]))
        .build()
        .unwrap();
    for expected in ["a1", "a2", "a3"] {
        let token = engine.token_by_name("t").await.unwrap();
        assert_eq!(token.access_token().expose(), expected);
        travel(Duration::from_secs(590)).await;
    }
    // a3 came without a refresh token: r2 is kept, and used again.
    let token = engine.token_by_name("t").await.unwrap();
    assert_eq!(token.access_token().expose(), "a3");
    assert_eq!(token.refresh_token().unwrap().expose(), "r2");
}

/// Step `t`: the `grant` (with `extra` fields) for client `id`, renewed with the
/// refresh grant.
fn refreshing_step(grant: &str, extra: &[(&str, &str)]) -> BodyTokenFetcher {
    let mut builder = BodyTokenFetcher::builder("t")
        .endpoint("/t")
        .data("grant_type", grant);
    for (key, value) in extra {
        builder = builder.data(*key, *value);
    }
    builder
        .data("client_id", "id")
        .refresh_grant(true)
        .build()
        .unwrap()
}

/// A step that exchanges `grant` once for a token living 600 s with a refresh
/// token, and whose refreshes are refused.
async fn refused_refresh_server(grant: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/t"))
        .and(body_string_contains(format!("grant_type={grant}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "a1", "refresh_token": "r1", "expires_in": 600}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(path("/t"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .expect(1)
        .mount(&server)
        .await;
    server
}

async fn grant_requests(server: &MockServer, grant: &str) -> usize {
    let needle = format!("grant_type={grant}");
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| String::from_utf8_lossy(&request.body).contains(&needle))
        .count()
}

#[tokio::test]
async fn a_refused_refresh_never_replays_a_single_use_grant() {
    let server = refused_refresh_server("authorization_code").await;
    let engine = engine(&server)
        .step(refreshing_step("authorization_code", &[("code", "c0de")]))
        .build()
        .unwrap();
    assert_eq!(
        engine
            .token_by_name("t")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "a1"
    );
    travel(Duration::from_secs(601)).await;
    let error = engine.token_by_name("t").await.unwrap_err();
    assert!(error.is_refused(), "{error}");
    assert_eq!(error.oauth().unwrap().error, "invalid_grant");
    travel(Duration::from_secs(2)).await;
    let error = engine.token_by_name("t").await.unwrap_err();
    assert!(error.to_string().contains("single-use grant"), "{error}");
    assert_eq!(grant_requests(&server, "authorization_code").await, 1);
}

#[tokio::test]
async fn a_refused_refresh_repeats_a_repeatable_grant() {
    let server = refused_refresh_server("client_credentials").await;
    let engine = engine(&server)
        .step(refreshing_step("client_credentials", &[]))
        .build()
        .unwrap();
    engine.token_by_name("t").await.unwrap();
    travel(Duration::from_secs(601)).await;
    assert_eq!(
        engine
            .token_by_name("t")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "a1"
    );
    assert_eq!(grant_requests(&server, "client_credentials").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_steps_refused_at_once_renew_their_dependency_once() {
    let server = MockServer::start().await;
    let app = Tokens::new("app");
    mount(&server, "/app", &app).await;
    let names: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    let mut builder = engine(&server).step(step("app", &[]));
    for (i, name) in names.iter().enumerate() {
        Mock::given(path(format!("/{name}")))
            .and(header("X-app", "app-2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "ok"})))
            .mount(&server)
            .await;
        // Refusals of the first app token arrive spread out, some after the
        // dependency was renewed.
        Mock::given(path(format!("/{name}")))
            .respond_with(
                ResponseTemplate::new(401).set_delay(Duration::from_millis(15 * i as u64)),
            )
            .mount(&server)
            .await;
        builder = builder.step(step(name, &["app"]));
    }
    let engine = builder.build().unwrap();
    let callers: Vec<_> = names
        .iter()
        .map(|name| {
            let (engine, name) = (engine.clone(), name.clone());
            tokio::spawn(async move { engine.token_by_name(&name).await })
        })
        .collect();
    for token in join_all(callers).await {
        assert_eq!(token.unwrap().access_token().expose(), "ok");
    }
    assert_eq!(app.count(), 2);
}

#[tokio::test]
async fn background_refresh_renews_without_a_caller() {
    let server = MockServer::start().await;
    let tokens = Tokens::new("t").expires_in(600);
    mount(&server, "/t", &tokens).await;
    let engine = engine(&server)
        .step(step("t", &[]))
        .refresh_policy(
            RefreshPolicy::default()
                .jitter(Duration::ZERO)
                .background(true),
        )
        .build()
        .unwrap();
    engine.token_by_name("t").await.unwrap();
    travel(Duration::from_secs(590)).await;
    for _ in 0..200 {
        if tokens.count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(tokens.count(), 2);
    assert_eq!(
        engine
            .token_by_name("t")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "t-2"
    );
    assert_eq!(tokens.count(), 2);
}

#[tokio::test]
async fn invalidate_forces_a_new_fetch() {
    let server = MockServer::start().await;
    let tokens = Tokens::new("t");
    mount(&server, "/t", &tokens).await;
    let engine = engine(&server).step(step("t", &[])).build().unwrap();
    engine.token_by_name("t").await.unwrap();
    assert!(engine.invalidate("t"));
    assert!(!engine.invalidate("nope"));
    assert_eq!(
        engine
            .token_by_name("t")
            .await
            .unwrap()
            .access_token()
            .expose(),
        "t-2"
    );
    let handle = engine.handle_by_name("t").unwrap();
    assert_eq!(
        engine.get(handle).await.unwrap().access_token().expose(),
        "t-2"
    );
}

#[tokio::test]
async fn graph_errors_name_their_steps() {
    let header = |name: &str, depends_on: &[&str]| {
        let mut builder = HeaderTokenFetcher::builder(name).endpoint("/x");
        for dependency in depends_on {
            builder = builder.depends_on(*dependency);
        }
        builder.build().unwrap()
    };
    let duplicate = Engine::builder()
        .step(header("a", &[]))
        .step(header("a", &[]))
        .build()
        .unwrap_err();
    assert_eq!(
        duplicate.graph_error(),
        Some(&GraphError::DuplicateStep { name: "a".into() })
    );
    let missing = Engine::builder()
        .step(header("user", &["app"]))
        .build()
        .unwrap_err();
    assert!(
        missing.to_string().contains("`user` depends on `app`"),
        "{missing}"
    );
    let cycle = Engine::builder()
        .step(header("a", &["b"]))
        .step(header("b", &["c"]))
        .step(header("c", &["a"]))
        .build()
        .unwrap_err();
    assert_eq!(
        cycle.graph_error(),
        Some(&GraphError::Cycle {
            steps: vec!["a".into(), "b".into(), "c".into()]
        })
    );
    assert_eq!(cycle.kind(), ErrorKind::Config);
    let unknown = Engine::builder()
        .step(header("a", &[]))
        .build()
        .unwrap()
        .token_by_name("zzz")
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("no step named `zzz`"));
}

/// A runtime of one thread, with timers and I/O, for a test that drives (or
/// drops) runtimes itself.
fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Never an expired token, even when the timer that marks a token due cannot run:
/// the runtime's only thread is blocked (starved), or its clock is paused, while
/// the token's two seconds of life pass.
#[test]
fn an_expired_token_is_never_served_when_the_timer_cannot_run() {
    for paused in [false, true] {
        let runtime = current_thread_runtime();
        runtime.block_on(async {
            let server = MockServer::start().await;
            let tokens = Tokens::new("t").expires_in(2);
            mount(&server, "/t", &tokens).await;
            let engine = engine(&server).step(step("t", &[])).build().unwrap();
            let first = engine.token_by_name("t").await.unwrap();
            assert_eq!(first.access_token().expose(), "t-1");
            if paused {
                tokio::time::pause();
            }
            // Neither the timer nor anything else runs on this thread meanwhile.
            std::thread::sleep(Duration::from_millis(2_100));
            let pending = engine.token_by_name("t");
            let served = engine.token_by_name("t").now_or_never();
            assert!(
                !matches!(served, Some(Ok(ref token)) if token.access_token().expose() == "t-1"),
                "the expired token was served (paused clock: {paused})"
            );
            if paused {
                tokio::time::resume();
            }
            let token = pending.await.unwrap();
            assert_eq!(
                token.access_token().expose(),
                "t-2",
                "paused clock: {paused}"
            );
        });
    }
}

/// A hand-written step that answers when the test says so.
struct Released(std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>);

impl tokenfetch::TokenFetcher for Released {
    fn name(&self) -> &str {
        "released"
    }

    fn fetch<'a>(
        &'a self,
        _: &'a tokenfetch::Context,
    ) -> tokenfetch::BoxFuture<'a, tokenfetch::Result<tokenfetch::TokenData>> {
        let released = self.0.lock().unwrap().take();
        Box::pin(async move {
            if let Some(released) = released {
                released.await.unwrap();
            }
            Ok(tokenfetch::TokenData::new("t"))
        })
    }
}

/// A waker that counts its wakes and passes them on.
struct Counting {
    wakes: AtomicUsize,
    task: std::task::Waker,
}

impl std::task::Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.task.wake_by_ref();
    }
}

/// A caller whose fetch completes is woken once, by the answer: completing the
/// fetch does not wake it again (a spurious wake costs the task a poll of
/// everything it awaits, and the runtime a trip to the driver).
#[tokio::test]
async fn the_caller_that_completes_a_fetch_is_woken_once() {
    let (release, released) = tokio::sync::oneshot::channel();
    let engine = Engine::builder()
        .step(Released(std::sync::Mutex::new(Some(released))))
        .build()
        .unwrap();
    let mut token = engine.token_by_name("released");
    let counting = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(Arc::new(Counting {
            wakes: AtomicUsize::new(0),
            task: cx.waker().clone(),
        }))
    })
    .await;
    let waker = std::task::Waker::from(Arc::clone(&counting));
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(token.poll_unpin(&mut cx).is_pending());
    release.send(()).unwrap();
    assert_eq!(counting.wakes.load(Ordering::SeqCst), 1);
    let std::task::Poll::Ready(token) = token.poll_unpin(&mut cx) else {
        panic!("the fetch was released");
    };
    assert_eq!(token.unwrap().access_token().expose(), "t");
    assert_eq!(
        counting.wakes.load(Ordering::SeqCst),
        1,
        "completing the fetch woke its caller again"
    );
}

/// The only caller gives up: its fetch still completes and caches the token, and
/// the next caller gets it without a second request.
#[tokio::test]
async fn a_fetch_whose_only_caller_gave_up_still_caches_its_token() {
    let server = MockServer::start().await;
    let tokens = Tokens::new("t").delay(Duration::from_millis(300));
    mount(&server, "/t", &tokens).await;
    let engine = engine(&server).step(step("t", &[])).build().unwrap();
    let gave_up = tokio::time::timeout(Duration::from_millis(50), engine.token_by_name("t")).await;
    assert!(gave_up.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let token = engine.token_by_name("t").now_or_never();
    assert_eq!(
        token.expect("cached").unwrap().access_token().expose(),
        "t-1"
    );
    assert_eq!(tokens.count(), 1);
}

/// Answers its first request after ten seconds, the next ones at once.
struct SlowFirst(Tokens);

impl Respond for SlowFirst {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let first = self.0.count() == 0;
        let answer = self.0.respond(request);
        if first {
            answer.set_delay(Duration::from_secs(10))
        } else {
            answer
        }
    }
}

/// A fetch whose runtime is shut down while its only caller has given up cannot
/// go on (its connection and timers were that runtime's): the next caller, in
/// another runtime, starts the fetch again rather than resuming a dead one.
#[test]
fn a_fetch_cut_off_by_its_runtime_is_started_again_by_the_next_caller() {
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(MockServer::start());
    let tokens = Tokens::new("t");
    server_runtime.block_on(
        Mock::given(path("/t"))
            .respond_with(SlowFirst(tokens.clone()))
            .mount(&server),
    );
    let engine = engine(&server).step(step("t", &[])).build().unwrap();
    let first = current_thread_runtime();
    first.block_on(async {
        let gave_up =
            tokio::time::timeout(Duration::from_millis(200), engine.token_by_name("t")).await;
        assert!(gave_up.is_err());
    });
    drop(first);
    let token = current_thread_runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(5), engine.token_by_name("t")).await
    });
    let token = token.expect("the next caller waited for the dead fetch");
    assert_eq!(token.unwrap().access_token().expose(), "t-2");
}

/// A step that never answers, and says when it is dropped.
struct NeverAnswers(Arc<std::sync::atomic::AtomicBool>);

impl tokenfetch::TokenFetcher for NeverAnswers {
    fn name(&self) -> &str {
        "never"
    }

    fn fetch<'a>(
        &'a self,
        _: &'a tokenfetch::Context,
    ) -> tokenfetch::BoxFuture<'a, tokenfetch::Result<tokenfetch::TokenData>> {
        Box::pin(std::future::pending())
    }
}

impl Drop for NeverAnswers {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// An engine dropped while a fetch its caller gave up on is cut off by its
/// runtime's shutdown is freed: the unfinished fetch does not keep it alive.
#[test]
fn an_engine_is_freed_when_its_runtime_shuts_down_mid_fetch() {
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let engine = Engine::builder()
        .step(NeverAnswers(Arc::clone(&dropped)))
        .build()
        .unwrap();
    let runtime = current_thread_runtime();
    runtime.block_on(async {
        let gave_up =
            tokio::time::timeout(Duration::from_millis(50), engine.token_by_name("never")).await;
        assert!(gave_up.is_err());
    });
    drop(engine);
    assert!(
        !dropped.load(Ordering::SeqCst),
        "a task still runs the fetch"
    );
    drop(runtime);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the engine outlived its last handle and its runtime"
    );
}
