//! Reads paths (one a line) on stdin; for each prints `== PATH`, then either
//! `REJECTED line:col` or the pest parse tree of `grammar/slo.pest`, one
//! rule a line, indented by depth, in the shape of the tree-sitter grammar:
//! pest's keyword rules (`kw_*`), the `dq_string`/`sq_string`/`raw_string`
//! split and `EOI` are left out, and `file` is named `source_file`.

use pest::iterators::Pair;
use pest::Parser as _;
use std::io::{BufRead, Write};

#[derive(pest_derive::Parser)]
#[grammar = "../../../grammar/slo.pest"]
struct SloParser;

fn dump(pair: Pair<Rule>, depth: usize, out: &mut String) {
    let name = format!("{:?}", pair.as_rule());
    if name.starts_with("kw_") || matches!(name.as_str(), "dq_string" | "sq_string" | "raw_string" | "EOI") {
        return;
    }
    let name = if name == "file" { "source_file".to_string() } else { name };
    out.push_str(&"  ".repeat(depth));
    out.push_str(&name);
    out.push('\n');
    for inner in pair.into_inner() {
        dump(inner, depth + 1, out);
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = String::new();
    for path in stdin.lock().lines() {
        let path = path.expect("read stdin");
        if path.is_empty() {
            continue;
        }
        out.push_str(&format!("== {path}\n"));
        let text = match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            _ => {
                out.push_str("REJECTED not UTF-8\n");
                continue;
            }
        };
        match SloParser::parse(Rule::file, &text) {
            Ok(pairs) => {
                for pair in pairs {
                    dump(pair, 0, &mut out);
                }
            }
            Err(e) => {
                let (line, col) = match e.line_col {
                    pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
                };
                out.push_str(&format!("REJECTED {line}:{col}\n"));
            }
        }
    }
    std::io::stdout().write_all(out.as_bytes()).expect("write stdout");
}
