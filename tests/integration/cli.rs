//! The binary itself: exit codes and output formats.

use super::common::{repo, slo};

#[test]
fn check_examples_exits_0() {
    let (code, _, err) = slo(&["check", "examples/"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ok:"), "{err}");
}

#[test]
fn user_errors_exit_1_and_io_errors_exit_2() {
    let (code, _, err) = slo(&["check", "tests/errors/objective_100.slo"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::objective::range"), "{err}");
    let (code, _, err) = slo(&["check", "no/such/dir"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = slo(&["check", "--format", "yaml"]);
    assert_eq!(code, 2, "a usage error");
}

#[test]
fn json_and_github_formats() {
    let (code, out, _) = slo(&["check", "--format", "json", "tests/errors/objective_100.slo"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    let d = &v[0];
    for key in ["file", "line", "column", "code", "severity", "message", "help"] {
        assert!(d.get(key).is_some(), "missing {key} in {d}");
    }
    assert_eq!(d["code"], "slo::objective::range");
    let (code, out, _) = slo(&["check", "--format", "github", "tests/errors/objective_100.slo"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("::error file=tests/errors/objective_100.slo,line="), "{out}");
    assert!(out.contains("title=slo%3A%3Aobjective%3A%3Arange::"), "{out}");
}

#[test]
fn fmt_check_and_write() {
    let (code, _, _) = slo(&["fmt", "--check", "examples/", "stdlib/"]);
    assert_eq!(code, 0);
    let dir = tempfile::tempdir_in(repo().join("target")).unwrap();
    let f = dir.path().join("x.slo");
    std::fs::write(&f, "service api{owner=\"sre\"}").unwrap();
    let p = f.to_str().unwrap();
    let (code, out, _) = slo(&["fmt", "--check", p]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "service api{owner=\"sre\"}", "--check must not write");
    let (code, _, _) = slo(&["fmt", p]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "service api {\n  owner = \"sre\"\n}\n");
    // A file that does not parse is left alone.
    std::fs::write(&f, "service {").unwrap();
    let (code, _, err) = slo(&["fmt", p]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "service {");
}

#[test]
fn debug_and_completions() {
    let (code, out, _) = slo(&["debug", "ir", "examples/platform/availability.slo"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"slos\""));
    let (code, out, _) = slo(&["debug", "ast", "examples/platform/services.slo"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"items\""));
    for sh in ["bash", "zsh", "fish"] {
        let (code, out, _) = slo(&["completions", sh]);
        assert_eq!(code, 0);
        assert!(out.contains("check"), "{sh}");
    }
}

/// Same input, byte-identical output.
#[test]
fn deterministic_output() {
    let a = slo(&["debug", "ir", "examples/platform/latency.slo"]);
    let b = slo(&["debug", "ir", "examples/platform/latency.slo"]);
    assert_eq!(a, b);
}
