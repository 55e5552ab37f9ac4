//! The one dependency graph of a project (`depends_on`, including implicit dependencies).
//!
//! Pure: built from a [`Project`], it answers start order (dependencies first), stop order
//! (dependents first), grouped into levels that can run in parallel, and the closure of a
//! service selection (`up web` also starts what `web` depends on). Building fails with the
//! cycle, so that the error can print `a -> b -> c -> a`.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graphmap::DiGraphMap;

use crate::spec::model::{DependsOn, Project};

/// Dependency graph: an edge `a → b` means `a` depends on `b`.
#[derive(Clone, Debug)]
pub struct DependencyGraph {
    names: Vec<String>,
    graph: DiGraphMap<usize, ()>,
    edges: BTreeMap<String, BTreeMap<String, DependsOn>>,
}

impl DependencyGraph {
    /// Builds the graph; `Err(cycle)` lists the services of the first cycle found, in order
    /// (`["a", "b", "c"]` for `a -> b -> c -> a`).
    pub fn build(project: &Project) -> Result<Self, Vec<String>> {
        let edges: BTreeMap<String, BTreeMap<String, DependsOn>> = project
            .services
            .iter()
            .map(|(n, s)| {
                let deps = s
                    .depends_on
                    .iter()
                    .filter(|(d, _)| project.services.contains_key(*d))
                    .map(|(d, c)| (d.clone(), c.clone()))
                    .collect();
                (n.clone(), deps)
            })
            .collect();
        Self::from_edges(edges)
    }

    /// Builds from explicit edges (service → its dependencies).
    pub fn from_edges(
        edges: BTreeMap<String, BTreeMap<String, DependsOn>>,
    ) -> Result<Self, Vec<String>> {
        if let Some(cycle) = find_cycle(&edges) {
            return Err(cycle);
        }
        let names: Vec<String> = edges.keys().cloned().collect();
        let index: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut graph = DiGraphMap::new();
        for i in 0..names.len() {
            graph.add_node(i);
        }
        for (from, deps) in &edges {
            for to in deps.keys() {
                if let (Some(&a), Some(&b)) = (index.get(from.as_str()), index.get(to.as_str())) {
                    graph.add_edge(a, b, ());
                }
            }
        }
        Ok(DependencyGraph {
            names,
            graph,
            edges,
        })
    }

    pub fn services(&self) -> &[String] {
        &self.names
    }

    /// Direct dependencies of a service with their conditions.
    pub fn dependencies(&self, service: &str) -> impl Iterator<Item = (&String, &DependsOn)> {
        self.edges.get(service).into_iter().flat_map(|m| m.iter())
    }

    /// Services that directly depend on `service`.
    pub fn dependents(&self, service: &str) -> Vec<&String> {
        self.edges
            .iter()
            .filter(|(_, d)| d.contains_key(service))
            .map(|(n, _)| n)
            .collect()
    }

    /// Start order in levels: every service comes after all its dependencies; services of
    /// one level are independent of each other.
    pub fn start_levels(&self) -> Vec<Vec<String>> {
        let mut level: BTreeMap<usize, usize> = BTreeMap::new();
        // Longest path to a leaf gives the level; the graph is acyclic.
        fn depth(g: &DiGraphMap<usize, ()>, n: usize, memo: &mut BTreeMap<usize, usize>) -> usize {
            if let Some(&d) = memo.get(&n) {
                return d;
            }
            let mut stack = vec![(n, false)];
            while let Some((x, done)) = stack.pop() {
                if memo.contains_key(&x) {
                    continue;
                }
                let deps: Vec<usize> = g.neighbors(x).collect();
                if done || deps.iter().all(|d| memo.contains_key(d)) {
                    let d = deps.iter().map(|d| memo[d] + 1).max().unwrap_or(0);
                    memo.insert(x, d);
                } else {
                    stack.push((x, true));
                    stack.extend(
                        deps.into_iter()
                            .filter(|d| !memo.contains_key(d))
                            .map(|d| (d, false)),
                    );
                }
            }
            memo[&n]
        }
        for i in 0..self.names.len() {
            depth(&self.graph, i, &mut level);
        }
        let max = level.values().copied().max().map(|m| m + 1).unwrap_or(0);
        let mut out = vec![Vec::new(); max];
        for (i, l) in level {
            out[l].push(self.names[i].clone());
        }
        out
    }

    /// Start order, flattened.
    pub fn start_order(&self) -> Vec<String> {
        self.start_levels().into_iter().flatten().collect()
    }

    /// Stop order: dependents before their dependencies.
    pub fn stop_order(&self) -> Vec<String> {
        let mut v = self.start_order();
        v.reverse();
        v
    }

    /// The selected services plus everything they depend on, transitively, in start order.
    pub fn closure(&self, selected: &[String]) -> Vec<String> {
        let mut keep: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = selected.to_vec();
        while let Some(s) = todo.pop() {
            if !keep.insert(s.clone()) {
                continue;
            }
            if let Some(deps) = self.edges.get(&s) {
                todo.extend(deps.keys().cloned());
            }
        }
        self.start_order()
            .into_iter()
            .filter(|s| keep.contains(s))
            .collect()
    }
}

/// Depth-first search in name order; returns the first cycle found.
fn find_cycle(edges: &BTreeMap<String, BTreeMap<String, DependsOn>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for start in edges.keys() {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        // Iterative DFS: stack of (node, iterator position).
        let mut path: Vec<&str> = vec![start];
        let mut iters: Vec<Vec<&str>> = vec![edges[start].keys().map(String::as_str).collect()];
        marks.insert(start, Mark::Visiting);
        while let Some(next) = iters.last_mut() {
            if next.is_empty() {
                iters.pop();
                if let Some(n) = path.pop() {
                    marks.insert(n, Mark::Done);
                }
                continue;
            }
            let dep = next.remove(0);
            match marks.get(dep) {
                Some(Mark::Visiting) => {
                    let pos = path.iter().position(|p| *p == dep).unwrap_or(0);
                    return Some(path[pos..].iter().map(|s| s.to_string()).collect());
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(d) = edges.get(dep) {
                        marks.insert(dep, Mark::Visiting);
                        path.push(dep);
                        iters.push(d.keys().map(String::as_str).collect());
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[(&str, &[&str])]) -> BTreeMap<String, BTreeMap<String, DependsOn>> {
        list.iter()
            .map(|(n, deps)| {
                (
                    n.to_string(),
                    deps.iter()
                        .map(|d| (d.to_string(), DependsOn::default()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn cycle_is_reported_in_order() {
        let e = edges(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]);
        assert_eq!(
            DependencyGraph::from_edges(e).unwrap_err(),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let e = edges(&[("a", &["a"])]);
        assert_eq!(DependencyGraph::from_edges(e).unwrap_err(), vec!["a"]);
    }

    #[test]
    fn start_and_stop_order() {
        let e = edges(&[
            ("web", &["db", "cache"]),
            ("db", &[]),
            ("cache", &[]),
            ("job", &["web"]),
        ]);
        let g = DependencyGraph::from_edges(e).unwrap();
        assert_eq!(
            g.start_levels(),
            vec![vec!["cache", "db"], vec!["web"], vec!["job"]]
        );
        assert_eq!(g.stop_order(), vec!["job", "web", "db", "cache"]);
    }

    #[test]
    fn closure_pulls_dependencies() {
        let e = edges(&[("web", &["db"]), ("db", &[]), ("other", &[])]);
        let g = DependencyGraph::from_edges(e).unwrap();
        assert_eq!(g.closure(&["web".into()]), vec!["db", "web"]);
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let mut e = BTreeMap::new();
        for i in 0..20000 {
            let deps: BTreeMap<String, DependsOn> = if i > 0 {
                [(format!("s{:05}", i - 1), DependsOn::default())].into()
            } else {
                BTreeMap::new()
            };
            e.insert(format!("s{i:05}"), deps);
        }
        let g = DependencyGraph::from_edges(e).unwrap();
        assert_eq!(g.start_order().first().map(String::as_str), Some("s00000"));
    }
}
