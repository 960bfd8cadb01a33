//! Invalid inputs under tests/errors/: each file names the codes it must
//! produce in a header comment (`// expect: slo::x::y slo::a::b`). The
//! check must report exactly those error codes (each at least once, no
//! other error code), and the rendered report is snapshotted.

use super::common::*;
use std::collections::BTreeSet;

fn expected_codes(text: &str) -> BTreeSet<String> {
    text.lines()
        .take_while(|l| l.starts_with("//"))
        .filter_map(|l| l.strip_prefix("// expect:"))
        .flat_map(|l| l.split_whitespace().map(str::to_string))
        .collect()
}

#[test]
fn error_cases() {
    let files = slo_files("tests/errors");
    assert!(files.len() >= 40, "need at least 40 invalid inputs, have {}", files.len());
    let mut failures = String::new();
    for f in &files {
        // Lossy: one case is deliberately not UTF-8 (its header still is).
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        let want = expected_codes(&text);
        assert!(!want.is_empty(), "{} has no `// expect:` header", f.display());
        let (loaded, _, diags) = check_file(f);
        let got: BTreeSet<String> = diags.iter().map(|d| d.code.to_string()).collect();
        let got_errors: BTreeSet<String> = diags.iter().filter(|d| d.is_error()).map(|d| d.code.to_string()).collect();
        let warnings_only = want.iter().all(|c| c.starts_with("slo::lint::"));
        if !warnings_only && !diags.has_errors() {
            failures.push_str(&format!("{}: no error reported\n", f.display()));
        }
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got_errors.difference(&want).collect();
        if !missing.is_empty() || !extra.is_empty() {
            failures.push_str(&format!(
                "{}: missing {missing:?}, unexpected {extra:?}\n{}",
                f.display(),
                render(&loaded, &diags)
            ));
        }
        insta::with_settings!({ snapshot_suffix => snap_name(f), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("report", render(&loaded, &diags));
        });
    }
    assert!(failures.is_empty(), "{failures}");
}

/// All problems of a file are reported in one run, not just the first.
#[test]
fn reports_every_error_at_once() {
    let loaded = slo::driver::load_strs(&[(
        "many.slo",
        r#"
service api { owner = "sre" }
slo a for api { objective = 100% over 28d  sli events { bad = x{code=~"("} total = x } }
slo b for apx { objective = 99% over 2m  sli gauge { series = up } }
slo c for api { objective = 0.99 over 28d  sli latency { histogram = h_bucket below = 5 } }
"#,
    )]);
    let (_, diags) = slo::driver::check(&loaded);
    let codes: BTreeSet<&str> = diags.iter().map(|d| d.code).collect();
    for c in [
        "slo::objective::range",
        "slo::selector::regex",
        "slo::name::unknown_service",
        "slo::window::range",
        "slo::type::mismatch",
        "slo::sli::histogram_suffix",
    ] {
        assert!(codes.contains(c), "{c} not reported; got {codes:?}");
    }
}

/// Every code the checker can emit is documented in docs/diagnostics.md.
#[test]
fn every_code_is_documented() {
    let doc = std::fs::read_to_string(repo().join("docs/diagnostics.md")).unwrap();
    let mut missing = Vec::new();
    let mut stack = vec![repo().join("src")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let s = std::fs::read_to_string(&p).unwrap();
                for piece in s.split('"').skip(1).step_by(2) {
                    if piece.starts_with("slo::")
                        && piece.matches("::").count() == 2
                        && !piece.ends_with("::")
                        && !doc.contains(&format!("`{piece}`"))
                    {
                        missing.push(piece.to_string());
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented codes: {missing:?}");
}

/// Each top-level declaration is parsed on its own, so one syntax error
/// does not hide another in a later declaration.
#[test]
fn syntax_errors_in_separate_declarations_are_all_reported() {
    let loaded = slo::driver::load_strs(&[(
        "two.slo",
        "service api {\n  owner: \"sre\"\n}\n\nservice db {\n  owner = \"dba\"\n}\n\nslo a for api {\n  objective = 99.9% over\n}\n",
    )]);
    let (_, diags) = slo::driver::check(&loaded);
    let lines: Vec<usize> = diags
        .iter()
        .filter(|d| d.code == "slo::syntax::unexpected")
        .map(|d| loaded.sources.get(d.span.source).line_col(d.span.start as usize).0)
        .collect();
    assert_eq!(lines, vec![2, 11], "{}", super::common::render(&loaded, &diags));
}

/// Files over 256 KiB are parsed by several threads; the result (items,
/// their order, every syntax error) must not depend on that.
#[test]
fn large_files_parse_the_same_in_parallel() {
    let decl = |i: usize| format!("service s{i:05} {{\n  owner = \"team\"\n  labels = {{ n: \"{i}\" }}\n}}\n\n");
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 600 * 1024 {
        text.push_str(&decl(i));
        i += 1;
    }
    let n = i;
    // Two broken declarations far apart.
    text.insert_str(0, "service broken_a {\n  owner: \"x\"\n}\n\n");
    text.push_str("service broken_b {\n  owner = \n}\n");
    let err = slo::syntax::parse(slo::source::SourceId(0), &text).unwrap_err();
    assert_eq!(err.len(), 2, "both syntax errors are reported");
    assert!(err[0].span.start < err[1].span.start, "in file order");
    let ok_text: String = (0..n).map(decl).collect();
    let file = slo::syntax::parse(slo::source::SourceId(0), &ok_text).unwrap();
    assert_eq!(file.items.len(), n);
    for (k, item) in file.items.iter().enumerate() {
        let slo::syntax::ast::Item::Service(s) = item else { panic!("service expected") };
        assert_eq!(s.name.name, format!("s{k:05}"), "items keep file order");
    }
}

/// A symlink inside the project that points outside it does not let an
/// import escape the root.
#[test]
fn imports_cannot_escape_through_symlinks() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.slo"), "service secret { owner = \"x\" }\n").unwrap();
    let project = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path().join("lib")).unwrap();
    let main = project.path().join("main.slo");
    std::fs::write(&main, "import \"./lib/x.slo\" as x\n").unwrap();
    let loaded = slo::driver::load(std::slice::from_ref(&main), project.path()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(diags.iter().any(|d| d.code == "slo::import::escapes_root"), "{}", super::common::render(&loaded, &diags));
    assert!(program.services.is_empty());
}

/// `slo fmt` on a directory reports a file that is not UTF-8 and still
/// formats the others.
#[test]
fn fmt_goes_on_after_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.slo"), b"service a { owner = \"caf\xe9\" }\n").unwrap();
    std::fs::write(dir.path().join("b.slo"), "service b{owner=\"x\"}").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(["fmt", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("slo::syntax::not_utf8"));
    assert_eq!(std::fs::read_to_string(dir.path().join("b.slo")).unwrap(), "service b {\n  owner = \"x\"\n}\n");
}
