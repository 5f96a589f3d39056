//! What an engine tells about itself: each step's cache state
//! ([`Engine::snapshot`]), the timeline of one resolution ([`Engine::explain`]),
//! and the step graph as data ([`StepGraph`], with Mermaid and Graphviz output).
//! Recording a timeline is opt-in per call: the cache hit path never looks at it.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Engine, Inner, TokenFuture};
use crate::model::{Error, Result, TokenData};

/// Where a step's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenOrigin {
    /// The engine's memory: cached by an earlier call.
    Memory,
    /// The shared [`TokenStore`](crate::TokenStore): fetched by another engine or
    /// process.
    Store,
    /// A request to the step's server.
    Network,
    /// A refresh of the cached token with its refresh token.
    Refresh,
}

impl TokenOrigin {
    /// The origin in lower case: `memory`, `store`, `network` or `refresh`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenOrigin::Memory => "memory",
            TokenOrigin::Store => "store",
            TokenOrigin::Network => "network",
            TokenOrigin::Refresh => "refresh",
        }
    }
}

impl fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step's cache state, from [`Engine::snapshot`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepState {
    /// The step's name.
    pub name: String,
    /// Whether a token is cached and may be handed out.
    pub cached: bool,
    /// Time left before the cached token expires.
    pub expires_in: Option<Duration>,
    /// Time left before the cached token is renewed (zero once due).
    pub refresh_in: Option<Duration>,
    /// Whether a fetch of the step is running.
    pub in_flight: bool,
    /// The last failure, while it is remembered.
    pub last_error: Option<Error>,
    /// Where the cached token came from.
    pub origin: Option<TokenOrigin>,
}

/// One step of a resolution, from [`Engine::explain`]: when it started and ended
/// (from the start of the call), where its token came from, how many requests
/// it took and how it ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepTiming {
    /// The step's name.
    pub step: String,
    /// When the step's load started, from the start of the call (it waits for
    /// its dependencies first).
    pub start: Duration,
    /// When its own first request was about to be sent, its dependencies in and
    /// the store's lock taken; `None` when it sent none.
    pub request_start: Option<Duration>,
    /// When the step ended, from the start of the call.
    pub end: Duration,
    /// Where the token came from; `None` when the step failed.
    pub origin: Option<TokenOrigin>,
    /// Requests sent (zero from memory or the store, and not counted when the
    /// step failed).
    pub attempts: u32,
    /// The last HTTP status of a failure, if it had one.
    pub status: Option<u16>,
    /// The failure, if the step failed.
    pub error: Option<Error>,
}

/// The timeline of one resolution: every step it involved, in the order they
/// ended, with the call's own duration.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The steps, in the order they ended.
    pub steps: Vec<StepTiming>,
    /// The whole call.
    pub total: Duration,
}

/// The recording of a timeline in progress: the steps that ended, with the
/// instant each load started.
pub(super) struct Recording {
    started: Instant,
    steps: Vec<(Instant, StepTiming)>,
}

/// Ends the recording when [`Engine::explain`] returns or is dropped.
struct StopRecording<'a>(&'a Inner);

impl Drop for StopRecording<'_> {
    fn drop(&mut self) {
        self.0.recording_on.store(false, Ordering::Release);
        self.0
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

impl Inner {
    /// Records that step `index` ended, if a timeline is being recorded.
    pub(super) fn record(
        &self,
        index: usize,
        started: Instant,
        outcome: std::result::Result<(TokenOrigin, u32, Option<Instant>), &Error>,
    ) {
        if !self.recording_on.load(Ordering::Acquire) {
            return;
        }
        let mut recording = self
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(recording) = recording.as_mut() else {
            return;
        };
        let since = |instant: Instant| instant.saturating_duration_since(recording.started);
        let (origin, attempts, requested_at, error) = match outcome {
            Ok((origin, attempts, requested_at)) => (Some(origin), attempts, requested_at, None),
            Err(error) => (None, 0, None, Some(error.clone())),
        };
        let timing = StepTiming {
            step: self.steps[index].name.clone(),
            start: since(started),
            request_start: requested_at.map(since),
            end: since(Instant::now()),
            origin,
            attempts,
            status: error.as_ref().and_then(|e| e.status()).map(|s| s.as_u16()),
            error,
        };
        recording.steps.push((started, timing));
    }
}

impl Engine {
    /// Each step's cache state, in registration order: cached or not, time to
    /// expiry and to renewal, a fetch in flight, the last failure, where the token
    /// came from.
    pub fn snapshot(&self) -> Vec<StepState> {
        let now = Instant::now();
        self.inner
            .steps
            .iter()
            .map(|step| {
                let entry = step.slot.entry();
                let state = step.slot.state();
                StepState {
                    name: step.name.clone(),
                    cached: entry.as_ref().is_some_and(|entry| entry.expires_at > now),
                    expires_in: entry
                        .as_ref()
                        .map(|entry| entry.expires_at.saturating_duration_since(now)),
                    refresh_in: entry
                        .as_ref()
                        .map(|entry| entry.refresh_at.saturating_duration_since(now)),
                    in_flight: state.inflight.is_some(),
                    last_error: state.failure.as_ref().map(|(_, error)| error.clone()),
                    origin: entry.as_ref().map(|entry| entry.origin),
                }
            })
            .collect()
    }

    /// Fetches step `name` as [`token_by_name`](Engine::token_by_name) does, and
    /// records the timeline of that resolution: each step of `name`'s graph whose
    /// token it needed, when its load started and ended, where its token came
    /// from, its requests and how it ended. Loads that other callers started
    /// earlier and this call joined are left out. One explanation at a time: a
    /// second call waits for the first; dropping the call ends the recording.
    pub async fn explain(&self, name: &str) -> (Result<Arc<TokenData>>, Timeline) {
        let _one_at_a_time = self.inner.explaining.lock().await;
        let started = Instant::now();
        *self
            .inner
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Recording {
            started,
            steps: Vec::new(),
        });
        self.inner.recording_on.store(true, Ordering::Release);
        let stop = StopRecording(&self.inner);
        let result = match self.inner.graph.index.get(name) {
            Some(&index) => match self.inner.steps[index].slot.fresh() {
                Some(token) => {
                    self.inner
                        .record(index, started, Ok((TokenOrigin::Memory, 0, None)));
                    Ok(token)
                }
                None => TokenFuture::resolve(&self.inner, index).await,
            },
            None => self.token_by_name(name).await,
        };
        let recording = self
            .inner
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(stop);
        let graph = self
            .inner
            .graph
            .index
            .get(name)
            .map(|&index| self.closure(index));
        let steps = recording
            .map(|recording| recording.steps)
            .unwrap_or_default()
            .into_iter()
            .filter(|(load_started, timing)| {
                *load_started >= started
                    && graph
                        .as_ref()
                        .is_some_and(|names| names.contains(&timing.step))
            })
            .map(|(_, timing)| timing)
            .collect();
        let timeline = Timeline {
            steps,
            total: started.elapsed(),
        };
        (result, timeline)
    }

    /// The names of step `index` and every step it depends on.
    fn closure(&self, index: usize) -> Vec<String> {
        let mut seen = vec![false; self.inner.steps.len()];
        let mut stack = vec![index];
        let mut names = Vec::new();
        while let Some(next) = stack.pop() {
            if std::mem::replace(&mut seen[next], true) {
                continue;
            }
            names.push(self.inner.steps[next].name.clone());
            stack.extend(&self.inner.graph.dependencies[next]);
        }
        names
    }

    /// The step graph: each step and the steps it depends on, in registration
    /// order.
    pub fn graph(&self) -> StepGraph {
        let steps = &self.inner.steps;
        StepGraph {
            steps: steps
                .iter()
                .enumerate()
                .map(|(index, step)| {
                    let dependencies = self.inner.graph.dependencies[index]
                        .iter()
                        .map(|&dependency| steps[dependency].name.clone())
                        .collect();
                    (step.name.clone(), dependencies)
                })
                .collect(),
        }
    }
}

/// A step graph as data: each step with the steps it depends on. From an engine
/// ([`Engine::graph`]), a pipeline type (`StepGraph::of_pipeline`) or any list
/// ([`StepGraph::new`]); drawn as text (`Display`), [Mermaid](StepGraph::to_mermaid)
/// or [Graphviz](StepGraph::to_dot).
///
/// ```
/// use tokenfetch::StepGraph;
///
/// let graph = StepGraph::new([
///     ("device", vec![]),
///     ("app", vec![]),
///     ("user", vec!["device", "app"]),
/// ]);
/// assert_eq!(graph.to_string(), "device\napp\nuser <- device, app\n");
/// assert_eq!(
///     graph.to_mermaid(),
///     "graph LR\n    s0[\"device\"]\n    s1[\"app\"]\n    s2[\"user\"]\n    s0 --> s2\n    s1 --> s2\n"
/// );
/// assert!(graph.to_dot().contains("\"device\" -> \"user\";"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepGraph {
    steps: Vec<(String, Vec<String>)>,
}

impl StepGraph {
    /// A graph of `(step, dependencies)`, in order.
    pub fn new<S, D, I>(steps: I) -> Self
    where
        I: IntoIterator<Item = (S, D)>,
        S: Into<String>,
        D: IntoIterator,
        D::Item: Into<String>,
    {
        StepGraph {
            steps: steps
                .into_iter()
                .map(|(step, dependencies)| {
                    (
                        step.into(),
                        dependencies.into_iter().map(Into::into).collect(),
                    )
                })
                .collect(),
        }
    }

    /// The steps and their dependencies, in order.
    pub fn steps(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.steps
            .iter()
            .map(|(step, dependencies)| (step.as_str(), dependencies.as_slice()))
    }

    /// A Mermaid flowchart: one node per step (`s0`, `s1`.. in order, labelled
    /// with the step's name, so that any name draws), an edge from each
    /// dependency to the step that needs it.
    pub fn to_mermaid(&self) -> String {
        let id = |name: &str| {
            self.steps
                .iter()
                .position(|(step, _)| step == name)
                .map_or_else(|| format!("\"{name}\""), |index| format!("s{index}"))
        };
        let mut out = String::from("graph LR\n");
        for (step, _) in &self.steps {
            out.push_str(&format!(
                "    {}[\"{}\"]\n",
                id(step),
                step.replace('"', "#quot;")
            ));
        }
        for (step, dependencies) in &self.steps {
            for dependency in dependencies {
                out.push_str(&format!("    {} --> {}\n", id(dependency), id(step)));
            }
        }
        out
    }

    /// A Graphviz `dot` digraph, edges from each dependency to its step.
    pub fn to_dot(&self) -> String {
        let quote = |name: &str| format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = String::from("digraph tokenfetch {\n    rankdir=LR;\n");
        for (step, _) in &self.steps {
            out.push_str(&format!("    {};\n", quote(step)));
        }
        for (step, dependencies) in &self.steps {
            for dependency in dependencies {
                out.push_str(&format!("    {} -> {};\n", quote(dependency), quote(step)));
            }
        }
        out.push_str("}\n");
        out
    }
}

/// One line per step: `step`, or `step <- dependency, dependency`.
impl fmt::Display for StepGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (step, dependencies) in &self.steps {
            if dependencies.is_empty() {
                writeln!(f, "{step}")?;
            } else {
                writeln!(f, "{step} <- {}", dependencies.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{BoxFuture, Context, TokenFetcher};

    /// A step whose fetch takes 200 ms.
    struct Slow;

    impl TokenFetcher for Slow {
        fn name(&self) -> &str {
            "slow"
        }

        fn fetch<'a>(&'a self, _: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(TokenData::new("t"))
            })
        }
    }

    #[tokio::test]
    async fn a_dropped_explanation_stops_recording() {
        let engine = Engine::builder().step(Slow).build().unwrap();
        let explained = engine.explain("slow");
        let cancelled = tokio::time::timeout(Duration::from_millis(20), explained).await;
        assert!(cancelled.is_err());
        // Loads that end later record nothing.
        assert!(!engine.inner.recording_on.load(Ordering::Acquire));
        assert!(engine.inner.recording.lock().unwrap().is_none());
    }
}
