//! Engine benchmarks, each beside its baseline in the same run:
//!
//! - `hit`: a cached token through a typed handle (`engine.token::<S>()` and
//!   `engine.get(handle)`) on a warm 3-step graph, against
//!   `Arc<RwLock<Option<Arc<Token>>>>` read + clone + `Instant` comparison; on 1 and
//!   2 threads.
//! - `cold_diamond`: resolving a diamond A -> {B, C} -> D from an empty cache with
//!   20 ms of server latency per step, against the same four requests one after
//!   another. The critical path is 3 x 20 ms = 60 ms.
//! - `fetch_overhead`: 2,000 uncached fetches through the engine, against a
//!   hand-written reqwest loop sending the same requests to the same server.
//!
//! Run with `cargo bench --bench engine`.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use divan::Bencher;
use futures_util::FutureExt;
use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, BoxFuture, Context, Engine, RefreshPolicy, StepHandle, TokenData,
    TokenFetcher, TokenStep,
};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn main() {
    divan::main();
}

/// Step types known at compile time, as `#[derive(TokenStep)]` makes them.
macro_rules! typed_step {
    ($name:ident, $text:literal) => {
        struct $name(BodyTokenFetcher);

        impl TokenFetcher for $name {
            fn name(&self) -> &str {
                $text
            }
            fn depends_on(&self) -> Vec<&str> {
                self.0.depends_on()
            }
            fn fetch<'a>(
                &'a self,
                context: &'a Context,
            ) -> BoxFuture<'a, tokenfetch::Result<TokenData>> {
                self.0.fetch(context)
            }
        }

        impl TokenStep for $name {
            const NAME: &'static str = $text;
        }
    };
}

typed_step!(Device, "device");
typed_step!(App, "app");
typed_step!(User, "user");

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            let token = ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "tok", "expires_in": 3600}));
            for step in ["device", "app", "user", "t"] {
                Mock::given(path(format!("/{step}")))
                    .respond_with(token.clone())
                    .mount(&server)
                    .await;
            }
            for step in ["a", "b", "c", "d"] {
                Mock::given(path(format!("/slow/{step}")))
                    .respond_with(token.clone().set_delay(Duration::from_millis(20)))
                    .mount(&server)
                    .await;
            }
            server
        });
        Fixture { runtime, server }
    })
}

fn step(name: &str, endpoint: &str, depends_on: &[&str]) -> BodyTokenFetcher {
    let mut builder = BodyTokenFetcher::builder(name)
        .endpoint(endpoint)
        .data("client_id", "bench");
    for dependency in depends_on {
        builder = builder
            .depends_on(*dependency)
            .inject_header(*dependency, format!("X-{dependency}"));
    }
    builder.build().unwrap()
}

fn warm_engine() -> &'static (Engine, StepHandle) {
    static ENGINE: OnceLock<(Engine, StepHandle)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let fixture = fixture();
        let engine = Engine::builder()
            .base_url(fixture.server.uri())
            .step(Device(step("device", "/device", &[])))
            .step(App(step("app", "/app", &["device"])))
            .step(User(step("user", "/user", &["app"])))
            .build()
            .unwrap();
        fixture.runtime.block_on(engine.token::<User>()).unwrap();
        let handle = engine.handle::<User>().unwrap();
        (engine, handle)
    })
}

mod hit {
    use super::*;

    type Baseline = Arc<RwLock<Option<(Arc<TokenData>, Instant)>>>;

    fn baseline() -> &'static Baseline {
        static CELL: OnceLock<Baseline> = OnceLock::new();
        CELL.get_or_init(|| {
            let expires = Instant::now() + Duration::from_secs(3600);
            Arc::new(RwLock::new(Some((
                Arc::new(TokenData::new("tok")),
                expires,
            ))))
        })
    }

    #[divan::bench(threads = [1, 2])]
    fn baseline_rwlock(bencher: Bencher) {
        let cell = baseline();
        bencher.bench(|| {
            let guard = cell.read().unwrap();
            let (token, expires) = guard.as_ref().unwrap();
            assert!(Instant::now() < *expires);
            Arc::clone(token)
        });
    }

    #[divan::bench(threads = [1, 2])]
    fn engine_token_typed(bencher: Bencher) {
        let (engine, _) = warm_engine();
        bencher.bench(|| engine.token::<User>().now_or_never().unwrap().unwrap());
    }

    #[divan::bench(threads = [1, 2])]
    fn engine_get_handle(bencher: Bencher) {
        let (engine, handle) = warm_engine();
        bencher.bench(|| engine.get(*handle).now_or_never().unwrap().unwrap());
    }
}

mod cold_diamond {
    use super::*;

    fn diamond() -> Engine {
        let fixture = fixture();
        Engine::builder()
            .base_url(fixture.server.uri())
            .step(step("d", "/slow/d", &[]))
            .step(step("b", "/slow/b", &["d"]))
            .step(step("c", "/slow/c", &["d"]))
            .step(step("a", "/slow/a", &["b", "c"]))
            .refresh_policy(RefreshPolicy::default())
            .build()
            .unwrap()
    }

    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn engine_resolve(bencher: Bencher) {
        let fixture = fixture();
        let engine = diamond();
        bencher.bench_local(|| {
            for step in ["a", "b", "c", "d"] {
                engine.invalidate(step);
            }
            fixture.runtime.block_on(engine.token_by_name("a")).unwrap()
        });
    }

    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn baseline_one_after_another(bencher: Bencher) {
        let fixture = fixture();
        let client = reqwest::Client::new();
        let base = fixture.server.uri();
        bencher.bench_local(|| {
            fixture.runtime.block_on(async {
                for step in ["d", "b", "c", "a"] {
                    client
                        .post(format!("{base}/slow/{step}"))
                        .form(&[("client_id", "bench")])
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                }
            })
        });
    }
}

mod fetch_overhead {
    use super::*;

    const FETCHES: usize = 2_000;

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn engine_uncached(bencher: Bencher) {
        let fixture = fixture();
        let engine = Engine::builder()
            .base_url(fixture.server.uri())
            .step(step("t", "/t", &[]))
            .build()
            .unwrap();
        bencher.bench_local(|| {
            fixture.runtime.block_on(async {
                for _ in 0..FETCHES {
                    engine.invalidate("t");
                    engine.token_by_name("t").await.unwrap();
                }
            })
        });
    }

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn baseline_reqwest_loop(bencher: Bencher) {
        let fixture = fixture();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = format!("{}/t", fixture.server.uri());
        bencher.bench_local(|| {
            fixture.runtime.block_on(async {
                for _ in 0..FETCHES {
                    let body: serde_json::Value = client
                        .post(&url)
                        .form(&[("client_id", "bench")])
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert!(body["access_token"].is_string());
                }
            })
        });
    }
}
