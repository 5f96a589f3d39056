//! The store keys of an engine's steps, Merkle-style: a step's key covers its own
//! identity, the engine's base URL and its dependencies' keys.

use url::Url;

use super::graph::Graph;
use crate::step::{StepIdentity, TokenFetcher};
use crate::store::StoreKey;

/// The store keys of the steps: each step's own identity, the engine's base URL,
/// and each dependency's name and key (in name order), so that a change anywhere
/// upstream of a step changes its key. `None` for a step that cannot be shared,
/// and for every step depending on one.
pub(super) fn store_keys(
    fetchers: &[&dyn TokenFetcher],
    graph: &Graph,
    base_url: Option<&Url>,
) -> Vec<Option<StoreKey>> {
    fn visit(
        index: usize,
        fetchers: &[&dyn TokenFetcher],
        graph: &Graph,
        base_url: Option<&Url>,
        keys: &mut Vec<Option<Option<StoreKey>>>,
    ) -> Option<StoreKey> {
        if let Some(key) = &keys[index] {
            return key.clone();
        }
        let fetcher = fetchers[index];
        let mut identity = StepIdentity::new();
        if let Some(base_url) = base_url {
            identity.field("engine_base_url", base_url.as_str());
        }
        fetcher.identify(&mut identity);
        let mut dependencies = graph.dependencies[index].clone();
        dependencies.sort_by_key(|&dependency| fetchers[dependency].name());
        for dependency in dependencies {
            match visit(dependency, fetchers, graph, base_url, keys) {
                Some(key) => {
                    identity
                        .field("dependency", fetchers[dependency].name())
                        .field("dependency_key", key.as_str());
                }
                None => {
                    identity.not_shareable();
                }
            }
        }
        let key = identity
            .is_shareable()
            .then(|| StoreKey::new(fetcher.name(), identity));
        keys[index] = Some(key.clone());
        key
    }
    let mut keys = vec![None; fetchers.len()];
    (0..fetchers.len())
        .map(|index| visit(index, fetchers, graph, base_url, &mut keys))
        .collect()
}
