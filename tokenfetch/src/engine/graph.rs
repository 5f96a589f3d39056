//! The step graph: checks a set of steps as a whole (unique names, every dependency
//! registered, no step depending on itself, no cycle) and turns names into indices
//! so that resolving a step never looks a name up again.

use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::model::GraphError;
use crate::step::check_dependencies;

/// The validated graph: for each step (by index), the indices of its dependencies.
#[derive(Debug)]
pub(crate) struct Graph {
    pub(crate) dependencies: Vec<Vec<usize>>,
    pub(crate) index: FxHashMap<String, usize>,
}

impl Graph {
    /// The load timeout of each step: the engine's `default`, unless the step or
    /// a step it depends on (transitively) sets its own: then the step's own (or
    /// the default) plus the longest of its dependencies', since a load waits for
    /// its dependencies' loads before it sends anything.
    pub(crate) fn load_timeouts(
        &self,
        own: &[Option<Duration>],
        default: Duration,
    ) -> Vec<Duration> {
        fn visit(
            graph: &Graph,
            index: usize,
            own: &[Option<Duration>],
            default: Duration,
            memo: &mut Vec<Option<Option<Duration>>>,
        ) -> Option<Duration> {
            if let Some(known) = memo[index] {
                return known;
            }
            let longest = graph.dependencies[index]
                .iter()
                .filter_map(|&dependency| visit(graph, dependency, own, default, memo))
                .max();
            let timeout = match (own[index], longest) {
                (None, None) => None,
                (mine, longest) => {
                    Some(mine.unwrap_or(default) + longest.unwrap_or(Duration::ZERO))
                }
            };
            memo[index] = Some(timeout);
            timeout
        }
        let mut memo = vec![None; own.len()];
        (0..own.len())
            .map(|index| visit(self, index, own, default, &mut memo).unwrap_or(default))
            .collect()
    }

    /// Checks steps given as `(name, dependency names)`, in registration order.
    pub(crate) fn new(steps: &[(&str, Vec<&str>)]) -> Result<Graph, GraphError> {
        let mut index = FxHashMap::with_capacity_and_hasher(steps.len(), Default::default());
        for (position, (name, _)) in steps.iter().enumerate() {
            if index.insert((*name).to_owned(), position).is_some() {
                return Err(GraphError::DuplicateStep {
                    name: (*name).to_owned(),
                });
            }
        }
        let mut dependencies = Vec::with_capacity(steps.len());
        for (name, names) in steps {
            check_dependencies(name, names.iter().copied())?;
            let indices = names
                .iter()
                .map(|dependency| {
                    index
                        .get(*dependency)
                        .copied()
                        .ok_or_else(|| GraphError::MissingDependency {
                            step: (*name).to_owned(),
                            dependency: (*dependency).to_owned(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            dependencies.push(indices);
        }
        let graph = Graph {
            dependencies,
            index,
        };
        if let Some(cycle) = graph.find_cycle() {
            return Err(GraphError::Cycle {
                steps: cycle.into_iter().map(|i| steps[i].0.to_owned()).collect(),
            });
        }
        Ok(graph)
    }

    /// A cycle, as step indices in dependency order, if there is one.
    fn find_cycle(&self) -> Option<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut marks = vec![Mark::New; self.dependencies.len()];
        let mut path = Vec::new();
        for start in 0..self.dependencies.len() {
            if marks[start] != Mark::New {
                continue;
            }
            // Depth-first, with an explicit stack of (step, next dependency to visit).
            let mut stack = vec![(start, 0)];
            marks[start] = Mark::OnPath;
            path.push(start);
            while let Some(&mut (step, ref mut next)) = stack.last_mut() {
                if let Some(&dependency) = self.dependencies[step].get(*next) {
                    *next += 1;
                    match marks[dependency] {
                        Mark::OnPath => {
                            let from = path.iter().position(|&s| s == dependency)?;
                            return Some(path[from..].to_vec());
                        }
                        Mark::New => {
                            marks[dependency] = Mark::OnPath;
                            path.push(dependency);
                            stack.push((dependency, 0));
                        }
                        Mark::Done => {}
                    }
                } else {
                    marks[step] = Mark::Done;
                    path.pop();
                    stack.pop();
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_load_timeout_reaches_the_steps_that_wait_for_it() {
        // device <- exchange <- api, and a step of its own.
        let graph = Graph::new(&[
            ("device", vec![]),
            ("exchange", vec!["device"]),
            ("api", vec!["exchange"]),
            ("alone", vec![]),
        ])
        .unwrap();
        let minute = Duration::from_secs(60);
        let own = [Some(30 * minute), None, None, None];
        assert_eq!(
            graph.load_timeouts(&own, minute),
            [30 * minute, 31 * minute, 32 * minute, minute]
        );
        assert_eq!(graph.load_timeouts(&[None; 4], minute), [minute; 4]);
    }

    #[test]
    fn valid_diamond() {
        let graph = Graph::new(&[
            ("d", vec![]),
            ("b", vec!["d"]),
            ("c", vec!["d"]),
            ("a", vec!["b", "c"]),
        ])
        .unwrap();
        assert_eq!(graph.dependencies[3], vec![1, 2]);
        assert_eq!(graph.index["a"], 3);
    }

    #[test]
    fn each_error_names_its_steps() {
        assert_eq!(
            Graph::new(&[("a", vec![]), ("a", vec![])]).unwrap_err(),
            GraphError::DuplicateStep { name: "a".into() }
        );
        assert_eq!(
            Graph::new(&[("a", vec!["x"])]).unwrap_err(),
            GraphError::MissingDependency {
                step: "a".into(),
                dependency: "x".into()
            }
        );
        assert_eq!(
            Graph::new(&[("a", vec!["a"])]).unwrap_err(),
            GraphError::SelfDependency { step: "a".into() }
        );
        assert_eq!(
            Graph::new(&[("b", vec![]), ("a", vec!["b", "b"])]).unwrap_err(),
            GraphError::DuplicateDependency {
                step: "a".into(),
                dependency: "b".into()
            }
        );
        let error = Graph::new(&[
            ("root", vec![]),
            ("a", vec!["root", "b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
        ])
        .unwrap_err();
        assert_eq!(
            error,
            GraphError::Cycle {
                steps: vec!["a".into(), "b".into(), "c".into()]
            }
        );
        assert_eq!(error.to_string(), "dependency cycle: a -> b -> c -> a");
    }
}
