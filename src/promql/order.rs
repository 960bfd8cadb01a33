//! Rule order inside a group: Prometheus evaluates a group's rules in
//! order and a rule sees what earlier rules recorded at the same timestamp,
//! so every rule must come after the rules it reads (docs/semantics.md §5).
//! A petgraph topological sort over "reads" edges, ties kept in the order
//! the rules were generated, so the output is deterministic.

use super::rules::Rule;
use petgraph::graph::DiGraph;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// The metric names `expr` mentions outside string literals (a label value
/// that happens to spell a series name is not a read). One pass over the
/// bytes: quotes are ASCII and UTF-8 continuation bytes never are, so a
/// byte scan finds the same tokens as a character scan.
fn names(expr: &str) -> impl Iterator<Item = &str> {
    let b = expr.as_bytes();
    let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b'"' | b'\'' | b'`') {
            if let Some(s) = start.take() {
                spans.push((s, i));
            }
            // Skip the literal, escapes included, to its closing quote.
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        match (is_name(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(s) = start {
        spans.push((s, b.len()));
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
    let mut producers: HashMap<String, Vec<usize>> = HashMap::default();
    for (i, r) in rules.iter().enumerate() {
        if let Rule::Record(rec) = r {
            producers.entry(rec.record.name()).or_default().push(i);
        }
    }
    for (i, r) in rules.iter().enumerate() {
        let mut seen = HashSet::default();
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
        // An escaped quote does not end the literal; a name after it counts.
        assert!(!reads(r#"x{l="q\"a:b:c"}"#, "a:b:c"));
        assert!(reads(r#"x{l="q\\"} / a:b:c"#, "a:b:c"));
        assert!(!reads("x{l='a:b:c'} + y{l=`a:b:c`}", "a:b:c"));
        // Unterminated literals and a trailing backslash end the scan quietly.
        assert!(!reads("x{l=\"a:b:c", "a:b:c"));
        assert!(!reads("x{l=\"\\", "a:b:c"));
        assert_eq!(names("sum(a:b[5m]) by (l)").collect::<Vec<_>>(), ["sum", "a:b", "5m", "by", "l"]);
    }
}
