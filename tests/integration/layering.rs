//! The dependency direction ARCHITECTURE.md states, checked on the source
//! text: which folders may name which. A `use` or path that crosses a line
//! the wrong way fails here with the file and line.

use super::common::repo;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/<dir>` (or the file `src/<dir>.rs`).
fn sources(dir: &str) -> Vec<PathBuf> {
    let root = repo().join("src");
    let mut out = Vec::new();
    let file = root.join(format!("{dir}.rs"));
    if file.is_file() {
        out.push(file);
    }
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Lines of code (comments and the `#[cfg(test)]` module left out) that
/// name any of `paths`.
fn offenders(files: &[PathBuf], paths: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            if paths.iter().any(|p| l.contains(p)) {
                out.push(format!("{}:{}: {}", rel(f), i + 1, l));
            }
        }
    }
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(repo()).unwrap_or(p).display().to_string()
}

/// Above the checker, the program is `ir::Program`: no backend, data tool,
/// importer or CLI file names `sema` (the CLI goes through `driver`).
#[test]
fn nothing_above_the_checker_imports_it() {
    let mut files = Vec::new();
    for d in
        ["promql", "grafana", "backtest", "layout", "metrics", "synth", "interop", "cli", "main", "units", "ir", "doc"]
    {
        files.extend(sources(d));
    }
    assert!(files.len() > 30, "{files:?}");
    let bad = offenders(&files, &["crate::sema", "slo::sema", "super::sema"]);
    assert!(bad.is_empty(), "files above the checker name sema:\n{}", bad.join("\n"));
}

/// The replay engine knows nothing of what reads its results.
#[test]
fn the_replay_engine_reads_no_analysis_or_report() {
    let files = sources("backtest/replay");
    assert!(files.len() >= 8, "{files:?}");
    let bad = offenders(
        &files,
        &["backtest::analysis", "backtest::report", "backtest::html", "super::super::", "crate::grafana", "crate::cli"],
    );
    assert!(bad.is_empty(), "the replay engine names its readers:\n{}", bad.join("\n"));
}

/// The ground floor depends on nothing in the crate; the Parquet layout on
/// no stage; the front end on no backend.
#[test]
fn lower_layers_do_not_reach_up() {
    for ground in ["units", "error"] {
        let bad = offenders(&sources(ground), &["crate::"]);
        assert!(bad.is_empty(), "{ground} depends on the crate:\n{}", bad.join("\n"));
    }
    let stages =
        ["crate::sema", "crate::backtest", "crate::promql", "crate::metrics", "crate::synth", "crate::grafana"];
    let layout = offenders(&sources("layout"), &stages);
    assert!(layout.is_empty(), "the Parquet layout depends on a stage:\n{}", layout.join("\n"));
    let mut front = sources("syntax");
    front.extend(sources("sema"));
    let backends =
        ["crate::promql", "crate::backtest", "crate::grafana", "crate::metrics", "crate::interop", "crate::synth"];
    let bad = offenders(&front, &backends);
    assert!(bad.is_empty(), "the front end depends on a backend:\n{}", bad.join("\n"));
    let syntax = offenders(&sources("syntax"), &["crate::sema"]);
    assert!(syntax.is_empty(), "syntax depends on sema:\n{}", syntax.join("\n"));
}

/// The language server sits beside the CLI, on the front end: it reads the
/// program as `ir::Program` (through `driver`) and the checker only for the
/// names it resolves — each module's namespace (`sema::scope`), the module
/// type, and the vocabulary of fields completion offers — never its
/// internals. Nothing but its command names the server.
#[test]
fn the_language_server_reads_only_the_checkers_names() {
    let files = sources("lsp");
    assert!(files.len() >= 8, "{files:?}");
    let allowed = ["crate::sema::scope", "crate::sema::Module", "crate::sema::vocabulary"];
    let bad: Vec<String> = offenders(&files, &["crate::sema", "super::sema"])
        .into_iter()
        .filter(|l| {
            let mut rest = l.as_str();
            while let Some(i) = rest.find("crate::sema") {
                if !allowed.iter().any(|a| rest[i..].starts_with(a)) {
                    return true;
                }
                rest = &rest[i + "crate::sema".len()..];
            }
            rest.contains("super::sema")
        })
        .collect();
    assert!(bad.is_empty(), "the language server names the checker's internals:\n{}", bad.join("\n"));
    let mut others = Vec::new();
    for d in ["driver", "sema", "syntax", "fmt", "promql", "backtest", "grafana", "interop", "metrics", "ir", "diag"] {
        others.extend(sources(d));
    }
    let users = offenders(&others, &["crate::lsp", "slo::lsp"]);
    assert!(users.is_empty(), "a stage names the language server:\n{}", users.join("\n"));
}
