//! In-process tests of the handlers: every request at positions all over
//! the shipped examples, whole and cut short at many places (as a buffer
//! is while it is typed), answers without panicking; and the name index
//! finds what the examples declare and use.

use super::project::{Doc, Workspace};
use super::*;
use lsp_types::{Position, Range, Url};
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platform")
}

/// Every handler at a spread of positions of `uri`.
fn poke_everything(a: &project::Analysis, ws: &Workspace, uri: &Url, text: &str) -> usize {
    let mut answered = 0;
    let lines = text.split('\n').count() as u32;
    for line in 0..lines + 2 {
        for character in [0, 1, 2, 5, 9, 14, 20, 33, 60, 200] {
            let p = Position { line, character };
            answered += usize::from(hover::hover(a, uri, p).is_some());
            answered += usize::from(nav::definition(a, uri, p).is_some());
            let _ = nav::references(a, uri, p, true);
            let _ = nav::prepare_rename(a, uri, p);
            let _ = nav::rename(a, uri, p, "renamed");
            let _ = complete::complete(a, ws, uri, p);
            let _ = actions::code_actions(a, uri, Range { start: p, end: Position { line: line + 1, character } });
        }
    }
    let _ = nav::symbols(a, uri);
    let _ = nav::folding(a, uri);
    let _ = tokens::full(a, uri);
    let _ = actions::format(ws, uri);
    answered
}

#[test]
fn no_request_panics_on_the_examples_whole_or_cut() {
    let mut ws = Workspace::new(Some(examples()), None);
    ws.scan();
    let a = ws.analyze().expect("the examples load");
    assert!(a.program.slos.len() > 10);
    assert!(!a.diags.has_errors(), "{:?}", a.diags);
    let files = crate::driver::expand(&[examples()]).unwrap();
    let mut answered = 0;
    for f in &files {
        let uri = Url::from_file_path(f).unwrap();
        let text = std::fs::read_to_string(f).unwrap();
        answered += poke_everything(&a, &ws, &uri, &text);
    }
    assert!(answered > 200, "only {answered} hovers and definitions answered");
    // One file cut short at a handful of places, as an open buffer.
    let f = &files[0];
    let uri = Url::from_file_path(f).unwrap();
    let text = std::fs::read_to_string(f).unwrap();
    let cuts: Vec<usize> = (1..8).map(|i| text.len() * i / 8).filter(|&c| text.is_char_boundary(c)).collect();
    for cut in cuts {
        let mut ws2 = Workspace::new(Some(examples()), None);
        ws2.scan();
        ws2.open.insert(f.clone(), Doc { text: text[..cut].to_string(), version: 1, uri: uri.clone() });
        let a = ws2.analyze().expect("loads");
        poke_everything(&a, &ws2, &uri, &text[..cut]);
    }
}

#[test]
fn the_index_resolves_declarations_and_references() {
    let mut ws = Workspace::new(Some(examples()), None);
    ws.scan();
    let a = ws.analyze().unwrap();
    let services: Vec<&String> = a.program.services.iter().map(|s| &s.name).collect();
    for s in services {
        let t = index::Target::Service(s.clone());
        assert!(a.index.definition(&a.loaded.modules, &t).is_some(), "{s} has no definition");
        let refs = a.index.references(&t).filter(|o| o.role == index::Role::Ref).count();
        let slos = a.program.slos.iter().filter(|x| &x.service == s).count();
        assert!(refs >= slos, "{s}: {refs} references for {slos} SLOs");
    }
    // Every SLO's declaration is found.
    for s in &a.program.slos {
        let t = index::Target::Slo(s.service.clone(), s.name.clone());
        assert!(a.index.definition(&a.loaded.modules, &t).is_some(), "{}.{}", s.service, s.name);
    }
}

/// A workspace of one file `a.slo` holding `text`, checked.
fn one_file(text: &str) -> (tempfile::TempDir, Workspace, project::Analysis, Url) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.slo");
    std::fs::write(&path, text).unwrap();
    let mut ws = Workspace::new(Some(dir.path().to_path_buf()), None);
    ws.scan();
    let a = ws.analyze().unwrap();
    (dir, ws, a, Url::from_file_path(path).unwrap())
}

fn labels(r: lsp_types::CompletionResponse) -> Vec<String> {
    match r {
        lsp_types::CompletionResponse::List(l) => l.items.into_iter().map(|i| i.label).collect(),
        lsp_types::CompletionResponse::Array(v) => v.into_iter().map(|i| i.label).collect(),
    }
}

fn hover_text(a: &project::Analysis, uri: &Url, line: u32, character: u32) -> String {
    match hover::hover(a, uri, Position { line, character }).map(|h| h.contents) {
        Some(lsp_types::HoverContents::Markup(m)) => m.value,
        other => panic!("no hover at {line}:{character}: {other:?}"),
    }
}

#[test]
fn completion_in_each_context() {
    let text = "import std.\n\
template t(job: str) {\n  objective = 99.9% over 28d\n}\n\
service api { owner = \"x\" }\n\
slo s for api {\n  sli \n  budgeting = \n  objective = 99\n}\n\
alerts p {\n  tier T {\n    severity = \n  }\n}\n";
    let (_d, ws, a, uri) = one_file(text);
    let at = |line, character| labels(complete::complete(&a, &ws, &uri, Position { line, character }));
    assert_eq!(at(0, 11), ["alerting", "budget", "grpc", "http", "probe"]);
    assert!(at(1, 19).contains(&"string".to_string()), "{:?}", at(1, 19));
    assert_eq!(at(6, 6), ["events", "latency", "gauge", "timeslices", "composite"]);
    assert_eq!(at(7, 14), ["occurrences", "timeslices", "ratio_timeslices"]);
    assert!(at(8, 16).contains(&"%".to_string()));
    assert_eq!(at(12, 15), ["page", "ticket", "critical", "warning", "info"]);
    let tier = at(12, 4);
    assert!(tier.contains(&"burn".to_string()) && tier.contains(&"windows".to_string()), "{tier:?}");
    let top = at(14, 1);
    assert_eq!(top, ["import", "service", "slo", "template", "alerts", "policy"]);
}

#[test]
fn hover_on_tier_fields_and_objectives() {
    let text = "service api { owner = \"x\" }\n\
slo s for api {\n  objective = 99.9% over 30d\n  sli gauge { series = up{job=\"a\"} }\n  alerts = p()\n}\n\
alerts p {\n  tier T {\n    windows = 1h / 5m\n    burn = 2% of budget\n  }\n}\n";
    let (_d, _ws, a, uri) = one_file(text);
    assert!(!a.diags.has_errors(), "{:?}", a.diags);
    // 30d × 0.1% = 43.2 minutes.
    assert!(hover_text(&a, &uri, 2, 4).contains("**43.2 minutes**"));
    // 2% of a 30d budget over 1h: 14.4x.
    let t = hover_text(&a, &uri, 9, 6);
    assert!(t.contains("burn **14.4x**, spends **2%** of the budget over 1h"), "{t}");
    assert!(t.contains("at 100% errors fires after **52s**"), "0.0144 × 1h = 51.84s: {t}");
    assert!(t.contains("the budget pays for **50.0** such firings a month"), "{t}");
    let t = hover_text(&a, &uri, 3, 24);
    assert!(t.contains("up{job=\"a\"}"), "{t}");
}

#[test]
fn rename_a_parameter_renames_its_uses_and_named_arguments() {
    let text = "template t(job: string, objective: percent = 99.9%) {\n  objective = objective over 28d\n  \
sli events {\n    bad = http_requests_total{job=job, code=~\"5..\"}\n    total = http_requests_total{job=job}\n  }\n}\n\
service api { owner = \"x\" }\n\
slo s for api = t(job: \"api\")\n";
    let (_d, _ws, a, uri) = one_file(text);
    assert!(!a.diags.has_errors(), "{:?}", a.diags);
    // On `job` in `{job=job}` (the value, not the label).
    let line3 = text.lines().nth(3).unwrap();
    let col = line3.find("=job").unwrap() as u32 + 1;
    let edit = nav::rename(&a, &uri, Position { line: 3, character: col }, "service_job").unwrap();
    let edits = &edit.changes.unwrap()[&uri];
    // The declaration, two matcher values, the named argument; never the label `job`.
    assert_eq!(edits.len(), 4, "{edits:?}");
    let mut fixed = text.to_string();
    let lines = text::LineIndex::new(text);
    let mut spans: Vec<(usize, usize)> =
        edits.iter().map(|e| (lines.offset(text, e.range.start), lines.offset(text, e.range.end))).collect();
    spans.sort();
    for (s, e) in spans.into_iter().rev() {
        fixed.replace_range(s..e, "service_job");
    }
    assert!(fixed.contains("template t(service_job: string"), "{fixed}");
    assert!(fixed.contains("{job=service_job, code"), "{fixed}");
    assert!(fixed.contains("t(service_job: \"api\")"), "{fixed}");
    // A keyword is not a name.
    assert!(nav::rename(&a, &uri, Position { line: 3, character: col }, "slo").is_err());
}

#[test]
fn semantic_tokens_classify_names_by_what_they_denote() {
    let text = "// c\nservice api { owner = \"x\" }\nslo s for api { objective = 99.9% over 28d  sli gauge { series = up } }\n";
    let (_d, _ws, a, uri) = one_file(text);
    let Some(lsp_types::SemanticTokensResult::Tokens(t)) = tokens::full(&a, &uri) else { panic!() };
    // Decode to (line, start, length, type, modifiers).
    let (mut line, mut start) = (0, 0);
    let mut out = Vec::new();
    for tok in &t.data {
        line += tok.delta_line;
        start = if tok.delta_line == 0 { start + tok.delta_start } else { tok.delta_start };
        out.push((line, start, tok.length, tok.token_type, tok.token_modifiers_bitset));
    }
    let legend = tokens::legend();
    let ty = |i: u32| legend.token_types[i as usize].as_str().to_string();
    let at = |l: u32, c: u32| out.iter().find(|t| t.0 == l && t.1 == c).map(|t| (ty(t.3), t.4, t.2));
    assert_eq!(at(0, 0), Some(("comment".into(), 0, 4)));
    assert_eq!(at(1, 0), Some(("keyword".into(), 0, 7)));
    assert_eq!(at(1, 8), Some(("namespace".into(), 1, 3)), "the service's declaration");
    assert_eq!(at(1, 14), Some(("property".into(), 0, 5)));
    assert_eq!(at(1, 22), Some(("string".into(), 0, 3)));
    assert_eq!(at(2, 4), Some(("variable".into(), 1, 1)), "the SLO's declaration");
    assert_eq!(at(2, 10), Some(("namespace".into(), 0, 3)), "a reference to the service");
    assert_eq!(at(2, 28), Some(("number".into(), 0, 5)));
}

/// A check that reuses the last parses gives what a check from scratch gives.
#[test]
fn reused_parses_give_the_same_program_and_diagnostics() {
    let mut ws = Workspace::new(Some(examples()), None);
    ws.scan();
    let first = ws.analyze().unwrap();
    let files = crate::driver::expand(&[examples()]).unwrap();
    let f = &files[1];
    let uri = Url::from_file_path(f).unwrap();
    let text = std::fs::read_to_string(f).unwrap().replacen("99.9%", "0.999", 1);
    ws.open.insert(f.clone(), Doc { text: text.clone(), version: 1, uri: uri.clone() });
    let cached = ws.analyze().unwrap();
    let mut fresh_ws = Workspace::new(Some(examples()), None);
    fresh_ws.scan();
    fresh_ws.open.insert(f.clone(), Doc { text, version: 1, uri });
    let fresh = fresh_ws.analyze().unwrap();
    assert_eq!(cached.program, fresh.program);
    assert_eq!(cached.diags.0, fresh.diags.0);
    assert!(cached.diags.has_errors() && !first.diags.has_errors());
    let asts = |a: &project::Analysis| a.loaded.modules.iter().map(|m| m.file.clone()).collect::<Vec<_>>();
    assert_eq!(asts(&cached), asts(&fresh));
}
