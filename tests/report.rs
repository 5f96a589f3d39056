//! What an engine tells about itself: the cache state of each step, the timeline
//! of one resolution, the step graph as data, eviction from memory and store, and
//! metrics (feature `metrics`).

mod common;

use std::time::Duration;

use common::{Issuer, requests_to};
use tokenfetch::{BodyTokenFetcher, Engine, FileStore, StepGraph, TokenOrigin};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer};

/// device and app (the first one slow), then user needing both.
async fn chain(server: &MockServer) -> tokenfetch::EngineBuilder {
    for (route, delay) in [("/device", 200), ("/app", 0), ("/user", 0)] {
        Mock::given(path(route))
            .respond_with(Issuer::new("t").slow_first(Duration::from_millis(delay)))
            .mount(server)
            .await;
    }
    let step = |name: &str, depends_on: &[&str]| {
        let mut builder = BodyTokenFetcher::builder(name).endpoint(format!("/{name}"));
        for dependency in depends_on {
            builder = builder
                .depends_on(*dependency)
                .inject_field(*dependency, *dependency);
        }
        builder.build().unwrap()
    };
    Engine::builder()
        .base_url(server.uri())
        .step(step("device", &[]))
        .step(step("app", &[]))
        .step(step("user", &["device", "app"]))
}

#[tokio::test]
async fn explain_records_each_step_with_its_origin_and_timing() {
    let server = MockServer::start().await;
    let engine = chain(&server).await.build().unwrap();
    let (token, timeline) = engine.explain("user").await;
    token.unwrap();
    let steps: Vec<(&str, Option<TokenOrigin>, u32)> = timeline
        .steps
        .iter()
        .map(|step| (step.step.as_str(), step.origin, step.attempts))
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert_eq!(steps[2], ("user", Some(TokenOrigin::Network), 1));
    let device = timeline.steps.iter().find(|s| s.step == "device").unwrap();
    let app = timeline.steps.iter().find(|s| s.step == "app").unwrap();
    let user = &timeline.steps[2];
    // device and app ran at the same time; user's load began first, waited for
    // both, and ended last.
    assert!(
        app.start < device.end && device.start < app.end,
        "{timeline:?}"
    );
    assert!(user.start <= device.start && user.end >= device.end && user.end >= app.end);
    assert!(device.end - device.start >= Duration::from_millis(200));
    assert!(timeline.total >= user.end);

    // Again: the asked step from memory, nothing else touched.
    let (token, timeline) = engine.explain("user").await;
    token.unwrap();
    assert_eq!(timeline.steps.len(), 1);
    assert_eq!(timeline.steps[0].origin, Some(TokenOrigin::Memory));
    assert_eq!(requests_to(&server, "/user").await, 1);

    // An unknown step: an error, and nothing recorded.
    let (token, timeline) = engine.explain("nowhere").await;
    assert!(token.is_err());
    assert!(timeline.steps.is_empty());
}

#[tokio::test]
async fn a_snapshot_shows_each_steps_cache_state() {
    let server = MockServer::start().await;
    let engine = chain(&server).await.build().unwrap();
    let before = engine.snapshot();
    assert_eq!(before.len(), 3);
    assert!(
        before
            .iter()
            .all(|step| !step.cached && step.origin.is_none() && !step.in_flight)
    );
    engine.token_by_name("user").await.unwrap();
    let after = engine.snapshot();
    for step in &after {
        assert!(step.cached, "{step:?}");
        assert_eq!(step.origin, Some(TokenOrigin::Network));
        let expires_in = step.expires_in.unwrap();
        assert!(expires_in > Duration::from_secs(3500) && expires_in <= Duration::from_secs(3600));
        assert!(step.refresh_in.unwrap() < expires_in);
        assert!(step.last_error.is_none());
    }
}

#[tokio::test]
async fn the_graph_is_data_drawn_as_text_mermaid_and_dot() {
    let server = MockServer::start().await;
    let engine = chain(&server).await.build().unwrap();
    let graph = engine.graph();
    assert_eq!(
        graph,
        StepGraph::new([
            ("device", vec![]),
            ("app", vec![]),
            ("user", vec!["device", "app"])
        ])
    );
    assert_eq!(graph.to_string(), "device\napp\nuser <- device, app\n");
    assert_eq!(
        graph.to_dot(),
        "digraph tokenfetch {\n    rankdir=LR;\n    \"device\";\n    \"app\";\n    \"user\";\n    \"device\" -> \"user\";\n    \"app\" -> \"user\";\n}\n"
    );
    assert!(graph.to_mermaid().contains("    s0 --> s2\n"));
}

#[tokio::test]
async fn evict_drops_the_token_and_its_store_entry() {
    let server = MockServer::start().await;
    let dir = std::env::temp_dir().join(format!("tokenfetch-evict-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tokens.json");
    let engine = chain(&server)
        .await
        .store(FileStore::new(&file))
        .build()
        .unwrap();
    engine.token_by_name("app").await.unwrap();
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("tokenfetch:v2:app:")
    );
    assert!(engine.evict("app").await.unwrap());
    assert!(
        !std::fs::read_to_string(&file)
            .unwrap()
            .contains("tokenfetch:v2:app:")
    );
    assert!(!engine.snapshot()[1].cached);
    // A second engine on the same file fetches again.
    let other = chain(&server)
        .await
        .store(FileStore::new(&file))
        .build()
        .unwrap();
    other.token_by_name("app").await.unwrap();
    assert_eq!(requests_to(&server, "/app").await, 2);
    assert!(!engine.evict("nowhere").await.unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "metrics")]
mod metrics_facade {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };
    use wiremock::MockServer;

    /// Counts what is recorded, by metric name and labels.
    #[derive(Default)]
    struct Counting {
        counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
        histograms: Mutex<BTreeMap<String, Arc<Samples>>>,
    }

    #[derive(Default)]
    struct Samples(Mutex<Vec<f64>>);

    impl metrics::HistogramFn for Samples {
        fn record(&self, value: f64) {
            self.0.lock().unwrap().push(value);
        }
    }

    fn name(key: &Key) -> String {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        format!("{}{{{}}}", key.name(), labels.join(","))
    }

    impl Recorder for Counting {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let counter = Arc::clone(self.counters.lock().unwrap().entry(name(key)).or_default());
            Counter::from_arc(counter)
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            let samples = Arc::clone(
                self.histograms
                    .lock()
                    .unwrap()
                    .entry(name(key))
                    .or_default(),
            );
            Histogram::from_arc(samples)
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn fetches_hits_and_misses_are_counted() {
        let recorder = Counting::default();
        let _local = metrics::set_default_local_recorder(&recorder);
        let server = MockServer::start().await;
        let engine = super::chain(&server).await.build().unwrap();
        engine.token_by_name("user").await.unwrap();
        engine.token_by_name("user").await.unwrap();
        let counters = recorder.counters.lock().unwrap();
        let count = |name: &str| counters.get(name).map_or(0, |c| c.load(Ordering::SeqCst));
        assert_eq!(count("tokenfetch_cache_total{step=user,result=hit}"), 1);
        assert_eq!(count("tokenfetch_cache_total{step=user,result=miss}"), 1);
        assert_eq!(count("tokenfetch_fetches_total{step=user,outcome=ok}"), 1);
        assert_eq!(count("tokenfetch_fetches_total{step=device,outcome=ok}"), 1);
        let histograms = recorder.histograms.lock().unwrap();
        assert_eq!(
            histograms["tokenfetch_fetch_seconds{step=device}"]
                .0
                .lock()
                .unwrap()
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn an_explanation_after_a_dropped_one_sees_only_its_own_resolution() {
    let server = MockServer::start().await;
    let engine = chain(&server).await.build().unwrap();
    // Dropped while `device` (200 ms) is still loading.
    let cancelled = tokio::time::timeout(Duration::from_millis(50), engine.explain("user")).await;
    assert!(cancelled.is_err());
    engine.token_by_name("user").await.unwrap();
    // The next explanation sees only its own resolution: `user` from memory.
    let (token, timeline) = engine.explain("user").await;
    token.unwrap();
    let steps: Vec<_> = timeline
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.origin))
        .collect();
    assert_eq!(steps, [("user", Some(TokenOrigin::Memory))]);
    // Another step's load, outside an explanation, is recorded nowhere.
    let (_, timeline) = engine.explain("app").await;
    assert_eq!(timeline.steps.len(), 1);
}
