//! Rule order inside a group: Prometheus evaluates a group's rules in
//! order and a rule sees what earlier rules recorded at the same timestamp,
//! so every rule must come after the rules it reads (docs/semantics.md §5).
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
                // Same byte length, so offsets in `out` are offsets in `expr`.
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
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

/// The metric names `expr` mentions (outside string literals).
fn names(expr: &str) -> impl Iterator<Item = &str> {
    let code = code_only(expr);
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    // Token boundaries are the same in `code` and `expr` (only string
    // contents were blanked), so slice the original text.
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices() {
        match (is_name(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, code.len()));
    }
    spans.into_iter().map(move |(a, b)| &expr[a..b])
}

/// Whether `expr` reads the series `name` (as a whole metric name).
#[cfg(test)]
fn reads(expr: &str, name: &str) -> bool {
    names(expr).any(|n| n == name)
}

pub(crate) fn topological(rules: Vec<Rule>) -> Vec<Rule> {
    let mut g = DiGraph::<usize, ()>::new();
    let nodes: Vec<_> = (0..rules.len()).map(|i| g.add_node(i)).collect();
    let mut producers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        if let Rule::Record(rec) = r {
            producers.entry(rec.record.as_str()).or_default().push(i);
        }
    }
    for (i, r) in rules.iter().enumerate() {
        let mut seen = std::collections::HashSet::new();
        for name in names(r.expr()) {
            if !seen.insert(name) {
                continue;
            }
            for &p in producers.get(name).into_iter().flatten() {
                if p != i {
                    g.add_edge(nodes[p], nodes[i], ());
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
        assert!(reads("x{l=\"ü😀\"} / a:b:c", "a:b:c"));
    }
}
