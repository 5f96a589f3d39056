//! [`EngineBuilder`]: the steps, the defaults they fall back on, the policies and
//! the store; [`build`](EngineBuilder::build) checks the whole graph and each
//! step's settings, and computes the store keys.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustc_hash::FxHashMap;

use super::graph::Graph;
use super::keys::store_keys;
use super::policy::{RefreshPolicy, RetryPolicy};
use super::slot::Slot;
use super::{Engine, Inner, Step};
use crate::http::{parse_base_url, redirect_free_client};
use crate::model::{Error, GraphError, Result, did_you_mean};
use crate::step::{Context, TokenFetcher};
use crate::store::TokenStore;

/// How long a store lock lasts unless its holder renews it, by default.
const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// Numbers the engines of this process: an engine's handles carry its number.
static ENGINES: AtomicUsize = AtomicUsize::new(0);

/// Builds an [`Engine`]; [`build`](EngineBuilder::build) checks the whole graph.
#[must_use = "a builder does nothing until `build()` is called"]
#[derive(Default)]
pub struct EngineBuilder {
    steps: Vec<(Box<dyn TokenFetcher>, TypeId)>,
    base_url: Option<String>,
    client: Option<reqwest::Client>,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
    store: Option<Box<dyn TokenStore>>,
    lease: Option<Duration>,
}

impl EngineBuilder {
    /// Adds a step: a derived struct, a builder-made fetcher or a hand-written one.
    pub fn step<F: TokenFetcher>(mut self, step: F) -> Self {
        self.steps.push((Box::new(step), TypeId::of::<F>()));
        self
    }

    /// Adds a step already boxed: one of steps chosen at run time, such as those of
    /// a configuration file. `token::<S>()` does not find it by type; ask for it by
    /// name.
    pub fn boxed_step(mut self, step: Box<dyn TokenFetcher>) -> Self {
        self.steps
            .push((step, TypeId::of::<Box<dyn TokenFetcher>>()));
        self
    }

    /// The base URL for steps that have only a relative endpoint and no base URL of
    /// their own.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The HTTP client for steps that have none of their own. Build it with
    /// `redirect(reqwest::redirect::Policy::none())`. Default: a client of the
    /// engine's own that follows no redirects.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// When tokens are renewed.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    /// How failed fetches are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Keeps tokens in `store` too: a [`FileStore`](crate::FileStore) to survive
    /// restarts, a shared store for a fleet of processes. Without one, tokens live
    /// in the engine's memory only.
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// How long the fetch lock of a shared store lasts unless renewed (default
    /// 10 s). The process that holds it renews it every third of this while its
    /// fetch runs, however long the fetch takes; if that process dies, the others
    /// wait at most this long before one of them fetches.
    pub fn store_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Checks the graph (unique names, every dependency registered, no step
    /// depending on itself, no cycle), the base URL and each step's settings
    /// against it ([`TokenFetcher::validate`]), and builds the engine. A graph
    /// error is a [`Config`](crate::ErrorKind::Config) error whose
    /// [`graph_error`](Error::graph_error) says which.
    pub fn build(mut self) -> Result<Engine> {
        for (step, _) in &mut self.steps {
            if let Some(prepared) = step.prepare() {
                let name = step.name().to_owned();
                *step = prepared.map_err(|error| error.with_step(&name))?;
            }
        }
        let shape: Vec<(&str, Vec<&str>)> = self
            .steps
            .iter()
            .map(|(step, _)| (step.name(), step.depends_on()))
            .collect();
        let graph = Graph::new(&shape).map_err(|error| {
            let hint = match &error {
                GraphError::MissingDependency { dependency, .. } => {
                    did_you_mean(dependency, shape.iter().map(|(name, _)| *name))
                }
                _ => String::new(),
            };
            Error::config(format!("{error}{hint}")).with_source(error)
        })?;
        drop(shape);
        let base_url = self.base_url.as_deref().map(parse_base_url).transpose()?;
        for (fetcher, _) in &self.steps {
            fetcher
                .validate(base_url.as_ref())
                .map_err(|error| error.with_step(fetcher.name()))?;
        }
        let lease = self.lease.unwrap_or(DEFAULT_LEASE);
        if lease < Duration::from_millis(30) {
            return Err(Error::config(format!(
                "the store lease of {lease:?} is too short to be renewed in time; give at least 30 ms"
            )));
        }
        let client = match self.client {
            Some(client) => client,
            None => redirect_free_client()?,
        };
        let fetchers: Vec<&dyn TokenFetcher> = self.steps.iter().map(|(f, _)| &**f).collect();
        let keys = store_keys(&fetchers, &graph, base_url.as_ref());
        let own: Vec<Option<Duration>> = fetchers.iter().map(|f| f.load_timeout()).collect();
        let load_timeouts = graph.load_timeouts(&own, self.retry.load_timeout_value());
        let mut by_type = FxHashMap::default();
        for (index, (_, type_id)) in self.steps.iter().enumerate() {
            by_type.entry(*type_id).or_insert(index);
        }
        let mut context = Context::new()
            .with_client(client)
            .with_shared(Arc::default())
            .resolved_by_engine();
        if let Some(base_url) = base_url {
            context = context.with_base_url(base_url);
        }
        let steps = self
            .steps
            .into_iter()
            .zip(keys)
            .zip(load_timeouts)
            .map(|(((fetcher, _), key), load_timeout)| Step {
                name: fetcher.name().to_owned(),
                key,
                load_timeout,
                metrics: super::metrics::StepMetrics::new(fetcher.name()),
                fetcher,
                slot: Slot::default(),
            })
            .collect();
        Ok(Engine {
            inner: Arc::new(Inner {
                id: ENGINES.fetch_add(1, Ordering::Relaxed),
                steps,
                by_type,
                graph,
                context,
                refresh: self.refresh,
                retry: self.retry,
                store: self.store,
                lease,
                timer: Arc::default(),
                recording_on: Default::default(),
                recording: Default::default(),
                explaining: Default::default(),
            }),
        })
    }
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder")
            .field(
                "steps",
                &self.steps.iter().map(|(s, _)| s.name()).collect::<Vec<_>>(),
            )
            .field("refresh", &self.refresh)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
