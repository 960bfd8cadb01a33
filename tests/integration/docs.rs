//! Every code sample in README.md and docs/ is checked, so the docs cannot
//! drift from the language: `slo` blocks are complete programs that the
//! checker accepts without errors (the import example gets the file it
//! imports), `yaml` blocks parse, and `json`/`jsonc` blocks parse once
//! their `//` comments are removed.

use super::common::*;
use std::path::PathBuf;

/// (file, line of the opening fence, info string, body) of every fenced block.
fn blocks() -> Vec<(String, usize, String, String)> {
    let mut files: Vec<PathBuf> = vec![repo().join("README.md"), repo().join("ARCHITECTURE.md")];
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
