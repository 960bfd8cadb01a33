//! The editor packages' own tests, run with the suite so CI runs them:
//! the tree-sitter grammar (`editors/tree-sitter-slo/test.sh`: generate,
//! corpus and highlight tests, every `.slo` of the repository parsed with
//! no ERROR or MISSING node) and the VS Code extension
//! (`editors/vscode/test.sh`: `npm ci`, the TextMate grammar's tests and
//! every `.slo` tokenized, the client's tests, `vsce package`). The tools
//! come from registries: the tree-sitter CLI built from crates.io by
//! `editors/tree-sitter-slo/install-cli.sh` into `.tools/tree-sitter`
//! (or `$TREE_SITTER`), Node.js and npm. Without them the tests are
//! skipped with the reason; with `SLO_REQUIRE_EDITORS=1` (CI) they fail.

use super::common::*;
use std::path::PathBuf;
use std::process::Command;

fn required() -> bool {
    std::env::var("SLO_REQUIRE_EDITORS").is_ok_and(|v| v == "1")
}

fn skip(why: String) {
    assert!(!required(), "{why} (SLO_REQUIRE_EDITORS=1)");
    eprintln!("skipped: {why} (set SLO_REQUIRE_EDITORS=1 to make this fail)");
}

fn run_script(script: &str, envs: &[(&str, PathBuf)]) {
    let out = Command::new("bash").arg(repo().join(script)).envs(envs.iter().cloned()).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed ({}):\n{stdout}\n{stderr}", out.status);
    eprintln!("{script}: {}", stdout.lines().last().unwrap_or(""));
}

#[test]
fn tree_sitter_grammar_parses_every_slo_file() {
    let cli = std::env::var_os("TREE_SITTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/tree-sitter/bin/tree-sitter"));
    if !Command::new(&cli).arg("--version").output().is_ok_and(|o| o.status.success()) {
        return skip(format!(
            "no tree-sitter CLI at {} (bash editors/tree-sitter-slo/install-cli.sh .tools/tree-sitter)",
            cli.display()
        ));
    }
    run_script("editors/tree-sitter-slo/test.sh", &[("TREE_SITTER", cli)]);
}

#[test]
fn vscode_extension_builds_tests_and_packages() {
    if !Command::new("npm").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return skip("no npm".into());
    }
    run_script("editors/vscode/test.sh", &[]);
}
