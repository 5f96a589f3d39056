//! The graph rules, which need every step at once: each dependency, grant step
//! and injection names a step; a step depends on neither itself nor a step
//! twice; an injection comes from a dependency; and there is no cycle (reported
//! once per cycle, as `a -> b -> c -> a`, at the dependency that starts it: a
//! `depends_on` entry, or a step the grant names).

use std::collections::{HashMap, HashSet, VecDeque};

use super::diagnostic::{Diagnostic, did_you_mean};
use super::schema::{Spanned, Step};

/// The mistakes of the graph of `steps`.
pub(super) fn check(steps: &[Step]) -> Vec<Diagnostic> {
    let index: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(at, step)| (step.name.value.as_str(), at))
        .collect();
    let mut diagnostics = Vec::new();
    let not_a_step = |reference: &Spanned<String>, message: String| {
        let help = did_you_mean(&reference.value, index.keys().copied())
            .unwrap_or_else(|| format!("declare it as `[steps.{}]`", reference.value));
        Diagnostic::error(reference.span.clone(), message).with_help(help)
    };
    for step in steps {
        let name = &step.name.value;
        let mut seen = HashSet::new();
        for dependency in &step.depends_on {
            if dependency.value == *name {
                diagnostics.push(
                    Diagnostic::error(
                        dependency.span.clone(),
                        format!("step `{name}` depends on itself"),
                    )
                    .with_help("remove it from `depends_on`"),
                );
            } else if !seen.insert(dependency.value.as_str()) {
                diagnostics.push(
                    Diagnostic::error(
                        dependency.span.clone(),
                        format!("step `{name}` depends on `{}` twice", dependency.value),
                    )
                    .with_help("remove this entry"),
                );
            } else if !index.contains_key(dependency.value.as_str()) {
                diagnostics.push(not_a_step(
                    dependency,
                    format!(
                        "step `{name}` depends on `{}`, which is not a step",
                        dependency.value
                    ),
                ));
            }
        }
        for named in &step.grant_steps {
            if named.value == *name {
                diagnostics.push(
                    Diagnostic::error(
                        named.span.clone(),
                        format!("the grant of step `{name}` names the step itself"),
                    )
                    .with_help("name the step whose token the grant carries"),
                );
            } else if !index.contains_key(named.value.as_str()) {
                diagnostics.push(not_a_step(
                    named,
                    format!(
                        "the grant of step `{name}` names `{}`, which is not a step",
                        named.value
                    ),
                ));
            }
        }
        let dependencies = step.all_dependencies();
        for injection in &step.injections {
            let from = &injection.from;
            if from.value == *name {
                diagnostics.push(
                    Diagnostic::error(
                        from.span.clone(),
                        format!("step `{name}` injects its own token"),
                    )
                    .with_help("an injection takes the token of a step it depends on"),
                );
            } else if !index.contains_key(from.value.as_str()) {
                diagnostics.push(not_a_step(
                    from,
                    format!(
                        "step `{name}` injects the token of `{}`, which is not a step",
                        from.value
                    ),
                ));
            } else if !dependencies
                .iter()
                .any(|dependency| dependency.value == from.value)
            {
                diagnostics.push(
                    Diagnostic::error(
                        from.span.clone(),
                        format!(
                            "step `{name}` injects the token of `{}`, which is not in its `depends_on`",
                            from.value
                        ),
                    )
                    .with_help(format!("add `{}` to `depends_on`", from.value)),
                );
            }
        }
    }
    diagnostics.extend(cycles(steps, &index));
    diagnostics
}

/// One diagnostic per cycle of the graph: per strongly connected set of steps,
/// the shortest cycle through its first step in the file.
fn cycles(steps: &[Step], index: &HashMap<&str, usize>) -> Vec<Diagnostic> {
    // Edges to steps that exist, self-dependencies left out (reported above).
    let edges: Vec<Vec<(usize, &Spanned<String>)>> = steps
        .iter()
        .enumerate()
        .map(|(at, step)| {
            step.all_dependencies()
                .into_iter()
                .filter_map(|dependency| {
                    let to = *index.get(dependency.value.as_str())?;
                    (to != at).then_some((to, dependency))
                })
                .collect()
        })
        .collect();
    let reach: Vec<Vec<bool>> = (0..steps.len())
        .map(|from| reachable(&edges, from))
        .collect();
    let mut reported = vec![false; steps.len()];
    let mut diagnostics = Vec::new();
    for start in 0..steps.len() {
        if reported[start] || !reach[start][start] {
            continue;
        }
        for (other, done) in reported.iter_mut().enumerate() {
            if reach[start][other] && reach[other][start] {
                *done = true;
            }
        }
        let Some(path) = shortest_cycle(&edges, start) else {
            continue;
        };
        let names: Vec<&str> = path
            .iter()
            .chain(std::iter::once(&start))
            .map(|&at| steps[at].name.value.as_str())
            .collect();
        let first_edge = path.get(1).copied().unwrap_or(start);
        let span = edges[start]
            .iter()
            .find(|(to, _)| *to == first_edge)
            .map_or_else(
                || steps[start].name.span.clone(),
                |(_, dependency)| dependency.span.clone(),
            );
        diagnostics.push(
            Diagnostic::error(span, format!("dependency cycle: {}", names.join(" -> "))).with_help(
                "a step cannot need its own token, even through other steps; \
                     remove one of these dependencies",
            ),
        );
    }
    diagnostics
}

/// `reach[to]`: whether `to` can be reached from `from` by one edge or more.
fn reachable(edges: &[Vec<(usize, &Spanned<String>)>], from: usize) -> Vec<bool> {
    let mut reach = vec![false; edges.len()];
    let mut stack: Vec<usize> = edges[from].iter().map(|(to, _)| *to).collect();
    while let Some(at) = stack.pop() {
        if !std::mem::replace(&mut reach[at], true) {
            stack.extend(edges[at].iter().map(|(to, _)| *to));
        }
    }
    reach
}

/// The steps of the shortest cycle from `start` back to it, `start` first.
fn shortest_cycle(edges: &[Vec<(usize, &Spanned<String>)>], start: usize) -> Option<Vec<usize>> {
    let mut previous: Vec<Option<usize>> = vec![None; edges.len()];
    let mut queue = VecDeque::from([start]);
    let mut visited = vec![false; edges.len()];
    visited[start] = true;
    while let Some(at) = queue.pop_front() {
        for &(to, _) in &edges[at] {
            if to == start {
                let mut path = vec![at];
                let mut cursor = at;
                while let Some(before) = previous[cursor] {
                    path.push(before);
                    cursor = before;
                }
                path.reverse();
                return Some(path);
            }
            if !visited[to] {
                visited[to] = true;
                previous[to] = Some(at);
                queue.push_back(to);
            }
        }
    }
    None
}
