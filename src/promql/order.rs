//! Rule order inside a group: Prometheus evaluates a group's rules in
//! order and a rule sees what earlier rules recorded at the same timestamp,
//! so every rule must come after the rules it reads (REFERENCE.md §5).
//! A petgraph topological sort over "reads" edges, ties kept in the order
//! the rules were generated, so the output is deterministic.

use super::rules::Rule;
use petgraph::graph::DiGraph;
use std::collections::HashMap;

/// `expr` with the contents of string literals blanked, so a label value
/// that happens to spell a series name is not taken for a read.
fn code_only(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                    continue;
                }
                out.push(' ');
            }
            None => {
                if c == '"' || c == '\'' || c == '`' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// Whether `expr` reads the series `name` (as a whole metric name).
fn reads(expr: &str, name: &str) -> bool {
    let expr = &code_only(expr);
    let b = expr.as_bytes();
    let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    expr.match_indices(name).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(i + name.len()).copied();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

pub fn topological(rules: Vec<Rule>) -> Vec<Rule> {
    let mut g = DiGraph::<usize, ()>::new();
    let nodes: Vec<_> = (0..rules.len()).map(|i| g.add_node(i)).collect();
    let mut producers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        if let Rule::Record(rec) = r {
            producers.entry(rec.record.as_str()).or_default().push(i);
        }
    }
    for (i, r) in rules.iter().enumerate() {
        for (name, ps) in &producers {
            if reads(r.expr(), name) {
                for &p in ps {
                    if p != i {
                        g.add_edge(nodes[p], nodes[i], ());
                    }
                }
            }
        }
    }
    // Kahn's algorithm, always taking the earliest ready rule.
    let mut indegree: Vec<usize> =
        nodes.iter().map(|&n| g.neighbors_directed(n, petgraph::Direction::Incoming).count()).collect();
    let mut ready: std::collections::BTreeSet<usize> = (0..rules.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(rules.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for m in g.neighbors_directed(nodes[i], petgraph::Direction::Outgoing) {
            let j = g[m];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert(j);
            }
        }
    }
    if order.len() != rules.len() {
        // A cycle cannot come out of the generator; keep the given order
        // rather than lose rules if one ever did.
        return rules;
    }
    let mut slots: Vec<Option<Rule>> = rules.into_iter().map(Some).collect();
    order.into_iter().map(|i| slots[i].take().expect("each rule once")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_names_only() {
        assert!(reads("a:b:c{x=\"1\"} / 2", "a:b:c"));
        assert!(!reads("a:b:c5m{x=\"1\"}", "a:b:c"));
        assert!(!reads("xa:b:c", "a:b:c"));
        assert!(!reads("x{l=\"a:b:c\"}", "a:b:c"));
    }
}
