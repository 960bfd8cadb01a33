//! `slo fmt`: canonical, idempotent, comment-preserving, meaning-preserving.

use super::common::*;
use slo::syntax::comments::comments;

fn all_sources() -> Vec<std::path::PathBuf> {
    let mut files = slo_files("examples");
    files.extend(slo_files("tests/pass"));
    files.extend(slo_files("stdlib"));
    files
}

#[test]
fn examples_are_formatted() {
    for f in all_sources() {
        let text = std::fs::read_to_string(&f).unwrap();
        let out = slo::fmt::format_source(&text).unwrap();
        assert_eq!(out, text, "{} is not in canonical form (run `slo fmt`)", f.display());
    }
}

#[test]
fn fmt_is_idempotent_and_keeps_comments() {
    for f in all_sources().iter().chain(slo_files("tests/errors").iter()) {
        let Ok(text) = std::fs::read_to_string(f) else { continue }; // the not-UTF-8 case
        let Ok(once) = slo::fmt::format_source(&text) else { continue };
        let twice = slo::fmt::format_source(&once).expect("formatted output parses");
        assert_eq!(once, twice, "fmt is not idempotent on {}", f.display());
        let before: Vec<String> = comments(&text).into_iter().map(|c| c.text).collect();
        let after: Vec<String> = comments(&once).into_iter().map(|c| c.text).collect();
        assert_eq!(after, before, "fmt lost, changed or reordered comments in {}", f.display());
    }
}

/// Formatting a file then checking it gives the same IR as checking it.
#[test]
fn fmt_then_check_gives_same_ir() {
    for f in slo_files("examples").iter().chain(slo_files("tests/pass").iter()) {
        let (_, before, _) = check_file(f);
        let tmp = tempfile::tempdir_in(repo().join("target")).unwrap();
        // Mirror the examples tree so relative imports still resolve.
        let rel = f.strip_prefix(repo()).unwrap();
        let dir = rel.parent().unwrap();
        copy_dir(&repo().join(dir), &tmp.path().join(dir));
        for g in slo::driver::expand(&[tmp.path().to_path_buf()]).unwrap() {
            let text = std::fs::read_to_string(&g).unwrap();
            if let Ok(out) = slo::fmt::format_source(&text) {
                std::fs::write(&g, out).unwrap();
            }
        }
        let loaded = slo::driver::load(&[tmp.path().join(rel)], tmp.path()).unwrap();
        let (after, diags) = slo::driver::check(&loaded);
        assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
        assert_eq!(
            serde_json::to_string(&before).unwrap(),
            serde_json::to_string(&after).unwrap(),
            "IR changed by fmt for {}",
            f.display()
        );
    }
}

#[test]
fn canonical_layout() {
    let messy = "// head\nimport std.alerting.{google_28d}\nservice   api{owner=\"sre\" // who\nlabels={team:\"a\",tier:\"1\"}}\n\n\n\nslo a for api {objective=99.9% over 28d\nsli events{bad=x{code=~\"5..\",job=\"api\"} total=x{job='api'}}}\n// tail\n";
    let out = slo::fmt::format_source(messy).unwrap();
    insta::assert_snapshot!(out, @r#"
    // head
    import std.alerting.{google_28d}

    service api {
      owner = "sre" // who
      labels = { team: "a", tier: "1" }
    }

    slo a for api {
      objective = 99.9% over 28d
      sli events {
        bad = x{code=~"5..", job="api"}
        total = x{job='api'}
      }
    }

    // tail
    "#);
}

/// A comment after the closing brace stays with its declaration, not with
/// the last entry; a comment inside call arguments moves above its
/// declaration, not to the next one.
#[test]
fn comments_stay_with_their_node() {
    let out = slo::fmt::format_source("service api { owner = \"sre\" runbook = \"https://r\" } // stale\n").unwrap();
    assert_eq!(out, "service api {\n  owner = \"sre\"\n  runbook = \"https://r\"\n} // stale\n");
    let out = slo::fmt::format_source(
        "slo a for api = t(objective: 99.9%, // was 99.95%\n job: \"api\")\nslo b for api {}\n",
    )
    .unwrap();
    assert_eq!(out, "// was 99.95%\nslo a for api = t(objective: 99.9%, job: \"api\")\n\nslo b for api {}\n");
}
