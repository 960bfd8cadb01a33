//! Every code sample in README.md and docs/ is checked, so the docs cannot
//! drift from the language: `slo` blocks are complete programs that the
//! checker accepts without errors (the import example gets the file it
//! imports), `yaml` blocks parse, and `json`/`jsonc` blocks parse once
//! their `//` comments are removed.

use super::common::*;
use std::path::PathBuf;

/// (file, line of the opening fence, info string, body) of every fenced block.
fn blocks() -> Vec<(String, usize, String, String)> {
    let mut files: Vec<PathBuf> =
        vec![repo().join("README.md"), repo().join("ARCHITECTURE.md"), repo().join("editors/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for f in files {
        let name = f.strip_prefix(repo()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let mut open: Option<(usize, String, String)> = None;
        for (i, line) in text.lines().enumerate() {
            let fence = line.trim_start().strip_prefix("```");
            match (&mut open, fence) {
                (None, Some(info)) => open = Some((i + 1, info.trim().to_string(), String::new())),
                (Some(_), Some(_)) => {
                    let (at, info, body) = open.take().unwrap();
                    out.push((name.clone(), at, info, body));
                }
                (Some((_, _, body)), None) => {
                    body.push_str(line);
                    body.push('\n');
                }
                (None, None) => {}
            }
        }
        assert!(open.is_none(), "{name}: a code block is never closed");
    }
    out
}

#[test]
fn every_slo_sample_checks() {
    // What docs/language.md's import example imports.
    let common = "alerts platform_alerts() {\n  tier Page {\n    windows = 1h / 5m\n    burn = 14.4x\n    severity = page\n  }\n}\n";
    let mut checked = 0;
    let mut failures = Vec::new();
    for (file, line, info, body) in blocks() {
        if info != "slo" {
            continue;
        }
        checked += 1;
        let loaded = slo::driver::load_strs(&[("sample.slo", &body), ("shared/common.slo", common)]);
        let (_, diags) = slo::driver::check(&loaded);
        if diags.has_errors() {
            failures.push(format!("{file}:{line}:\n{}", render(&loaded, &diags)));
        }
    }
    assert!(checked >= 8, "only {checked} slo samples found");
    assert!(failures.is_empty(), "{} of {checked} samples do not check:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_yaml_and_json_sample_parses() {
    let mut failures = Vec::new();
    for (file, line, info, body) in blocks() {
        match info.as_str() {
            "yaml" | "yml" => {
                for doc in serde_yaml_ng::Deserializer::from_str(&body) {
                    if let Err(e) = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc) {
                        failures.push(format!("{file}:{line}: {e}"));
                    }
                }
            }
            "json" | "jsonc" => {
                let stripped: String = body
                    .lines()
                    .map(|l| match l.find("//") {
                        Some(i) if !l[..i].chars().filter(|c| *c == '"').count().is_multiple_of(2) => l,
                        Some(i) => &l[..i],
                        None => l,
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&stripped) {
                    failures.push(format!("{file}:{line}: {e}"));
                }
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// docs/stdlib.md is what `slo doc --stdlib` prints today.
#[test]
fn the_stdlib_reference_is_current() {
    let want = slo::doc::stdlib_reference().expect("every stdlib example checks");
    let have = std::fs::read_to_string(repo().join("docs/stdlib.md")).unwrap();
    assert!(have == want, "docs/stdlib.md is stale: run `slo doc --stdlib --out docs/stdlib.md`");
    // Every declaration of every module is documented.
    for (module, text) in slo::stdlib::MODULES {
        for line in text.lines() {
            for kind in ["template ", "alerts ", "policy "] {
                if let Some(rest) = line.strip_prefix(kind) {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    assert!(
                        want.contains(&format!("### `{kind}{name}`")),
                        "std.{module}.{name} is not in docs/stdlib.md"
                    );
                }
            }
        }
    }
    let (code, _, err) = slo(&["doc", "--stdlib", "--out", "docs/stdlib.md", "--check"]);
    assert_eq!(code, 0, "{err}");
}

/// `slo doc PATHS --out DIR`: an index and a page per service, figures
/// read off the program, written like compile's output directory.
#[test]
fn the_catalogue_documents_every_service_and_slo() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("catalogue");
    let o = out.to_str().unwrap();
    let (code, _, err) = slo(&["doc", "examples/platform", "--out", o]);
    assert_eq!(code, 0, "{err}");
    let index = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(index.contains("| [api](api.service.md) | platform-api |"), "{index}");
    let api = std::fs::read_to_string(out.join("api.service.md")).unwrap();
    // 99.9% over 28d: 0.1% of 40,320 minutes.
    assert!(api.contains("| 99.9% | rolling 28d | 40.3 min |"), "{api}");
    assert!(api.contains("burn rate over 1h and 5m above"), "{api}");
    let pages = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "md"))
        .count();
    assert_eq!(pages, 7, "README.md and one page for each of the six services");
    // Up to date, then stale once a page is gone; a rerun restores it.
    assert_eq!(slo(&["doc", "examples/platform", "--out", o, "--check"]).0, 0);
    std::fs::remove_file(out.join("api.service.md")).unwrap();
    assert_eq!(slo(&["doc", "examples/platform", "--out", o, "--check"]).0, 1);
    let (code, _, err) = slo(&["doc", "examples/platform", "--out", o]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(out.join("api.service.md")).unwrap(), api);
    // A page edited by hand is not overwritten (as with compile's output).
    std::fs::write(out.join("api.service.md"), "edited\n").unwrap();
    let (code, _, err) = slo(&["doc", "examples/platform", "--out", o]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::out::collision"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("api.service.md")).unwrap(), "edited\n");
    std::fs::remove_file(out.join("api.service.md")).unwrap();
    // A file slo did not write is left alone.
    std::fs::write(out.join("notes.md"), "mine\n").unwrap();
    assert_eq!(slo(&["doc", "examples/platform", "--out", o]).0, 0);
    assert_eq!(std::fs::read_to_string(out.join("notes.md")).unwrap(), "mine\n");
    // Without --out there is nowhere to write a directory of pages.
    assert_eq!(slo(&["doc", "examples/platform"]).0, 2);
}

/// Words of a shell command line: whitespace-separated, quotes removed.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quote, mut any) = (String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Every `slo …` (or `cargo run … -- …`) command in the shell blocks of the
/// docs names a real subcommand and real flags: it parses up to a `--help`
/// appended to it.
#[test]
fn every_slo_command_in_the_docs_parses() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (file, line, info, body) in blocks() {
        if !matches!(info.as_str(), "sh" | "bash" | "shell" | "console") {
            continue;
        }
        for cmd in body.replace("\\\n", " ").lines().flat_map(|l| l.split("&&")) {
            let cmd = cmd.trim().trim_start_matches("$ ");
            let cmd = cmd.split(['#', '|', ';', '>']).next().unwrap_or("");
            let args = if let Some(rest) = cmd.strip_prefix("slo ") {
                rest
            } else if cmd.starts_with("cargo run") && cmd.contains(" -- ") {
                cmd.split_once(" -- ").unwrap().1
            } else {
                continue;
            };
            let mut args = words(args);
            args.push("--help".into());
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, _, err) = slo(&refs);
            checked += 1;
            if code != 0 {
                failures.push(format!("{file}:{line}: slo {}\n{err}", args.join(" ")));
            }
        }
    }
    assert!(checked >= 10, "only {checked} commands found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
