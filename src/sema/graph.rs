//! Dependency graphs, with petgraph: import cycles between modules and
//! cycles among composite SLOs. Each cycle is reported once, with its path.

use super::error;
use super::scope::Catalogue;
use super::Module;
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir;
use crate::syntax::ast;
use petgraph::algo::tarjan_scc;
type DiGraphMap<N, E> = petgraph::graphmap::DiGraphMap<N, E, std::hash::RandomState>;

/// Finds a cycle through `start` inside one strongly connected component.
fn cycle_path(g: &DiGraphMap<usize, ()>, scc: &[usize]) -> Vec<usize> {
    let start = *scc.iter().min().expect("non-empty scc");
    // BFS from start back to start within the component.
    let mut prev: std::collections::HashMap<usize, usize> = Default::default();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut succ: Vec<usize> = g.neighbors(n).filter(|m| scc.contains(m)).collect();
        succ.sort();
        for m in succ {
            if m == start {
                let mut path = vec![n];
                let mut cur = n;
                while cur != start {
                    cur = prev[&cur];
                    path.push(cur);
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    vec![start, start]
}

fn cyclic_sccs(g: &DiGraphMap<usize, ()>) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = tarjan_scc(g)
        .into_iter()
        .filter(|c| c.len() > 1 || g.contains_edge(c[0], c[0]))
        .map(|mut c| {
            c.sort();
            c
        })
        .collect();
    out.sort();
    out
}

pub(crate) fn import_cycles(modules: &[Module], diags: &mut Diagnostics) {
    let mut g = DiGraphMap::<usize, ()>::new();
    for (mi, m) in modules.iter().enumerate() {
        g.add_node(mi);
        for t in m.imports.iter().flatten() {
            g.add_edge(mi, *t, ());
        }
    }
    for scc in cyclic_sccs(&g) {
        let path = cycle_path(&g, &scc);
        let names: Vec<&str> = path.iter().map(|&i| modules[i].name.as_str()).collect();
        // Report at the import (in the last module of the path) that closes it.
        let from = path[path.len() - 2];
        let to = path[path.len() - 1];
        let imports = modules[from].file.items.iter().filter_map(|i| match i {
            ast::Item::Import(imp) => Some(imp),
            _ => None,
        });
        let span = imports
            .zip(&modules[from].imports)
            .find(|(_, t)| **t == Some(to))
            .map(|(imp, _)| imp.span)
            .unwrap_or(modules[from].file.span);
        diags.push(error::import_cycle(span, &names.join(" → ")));
    }
}

pub(crate) fn composite_cycles(program: &ir::Program, catalogue: &Catalogue, diags: &mut Diagnostics) {
    let keys: Vec<&(String, String)> = catalogue.slos.keys().collect();
    let by_name: std::collections::HashMap<(&str, &str), usize> =
        keys.iter().enumerate().map(|(i, (a, b))| ((a.as_str(), b.as_str()), i)).collect();
    let index = |s: &str, n: &str| by_name.get(&(s, n)).copied();
    // A composite combines one ratio per component; a grouped component
    // has one per group, and no single one to combine.
    for slo in &program.slos {
        if let ir::Sli::Composite { components, .. } = &slo.sli {
            for c in components {
                if let Some(comp) = program.slo(&c.service, &c.name).filter(|x| !x.group_by.is_empty()) {
                    diags.push(
                        Diagnostic::error(
                            "slo::composite::grouped_component",
                            slo.span,
                            format!("component {}.{} is grouped by {}", c.service, c.name, comp.group_by.join(", ")),
                            "this composite combines a grouped SLO",
                        )
                        .with_related(comp.span, "grouped here")
                        .with_help(
                            "combine ungrouped SLOs, or make an ungrouped twin of the component for the composite",
                        ),
                    );
                }
            }
        }
    }
    // Only composites have edges; SLOs without any cannot be on a cycle.
    let mut g = DiGraphMap::<usize, ()>::new();
    for slo in &program.slos {
        if let ir::Sli::Composite { components, .. } = &slo.sli {
            let Some(from) = index(&slo.service, &slo.name) else { continue };
            g.add_node(from);
            for c in components {
                if let Some(to) = index(&c.service, &c.name) {
                    g.add_edge(from, to, ());
                }
            }
        }
    }
    for scc in cyclic_sccs(&g) {
        let path = cycle_path(&g, &scc);
        let names: Vec<String> = path.iter().map(|&i| format!("{}.{}", keys[i].0, keys[i].1)).collect();
        let first = keys[path[0]];
        let span = program.slo(&first.0, &first.1).map(|s| s.span).unwrap_or_default();
        diags.push(
            Diagnostic::error(
                "slo::composite::cycle",
                span,
                format!("composite SLOs form a cycle: {}", names.join(" → ")),
                "this SLO depends on itself",
            )
            .with_help("a composite may only combine SLOs that do not, directly or through others, include it"),
        );
    }
}
