//! Regex matchers against Prometheus itself: a differential test with
//! promtool 3.5 (Go's `regexp/syntax`) as the oracle.
//!
//! Every pattern of `tests/regex/corpus.txt` is (1) checked by
//! `promtool check rules`, one rule per pattern: `slo check` must reject
//! exactly the patterns promtool rejects, with Go's message; and (2) for
//! each valid pattern, `promtool test rules` evaluates
//! `label_replace(probe{v=~"RE"}, "case", "N", "", "")` over one series
//! per probe string: the backtester's selector must pick exactly the same
//! probes. promtool's answers are the fixture `tests/regex/promtool.json`,
//! so the comparison runs without promtool; with promtool (always in CI,
//! `SLO_REQUIRE_PROMTOOL=1`) they are re-derived and must equal the
//! fixture. `SLO_BLESS=1` rewrites the fixture.

use crate::backtest::promtool3;
use crate::common::repo;
use serde::{Deserialize, Serialize};
use slo::backtest::plan::{Node, Planner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The label values every valid pattern is matched against.
const PROBES: &[&str] = &[
    "",
    "5",
    "50",
    "500",
    "5000",
    "5xx",
    "4",
    "404",
    "-",
    "&",
    "[",
    "]",
    "a",
    "A",
    "b",
    "ab",
    "abc",
    "ABC",
    "a\nb",
    "\n",
    "a\n",
    "é",
    "É",
    "ß",
    "ẞ",
    "k",
    "K",
    "\u{212A}",
    "ſ",
    "s",
    "S",
    "<500",
    "-00",
    "&]xx",
    "a{,3}",
    "aa",
    "a.b",
    "a b",
    "\t",
    "_",
    "٣",
    "α",
    "Ω",
    "中",
    "foo",
    "FOO",
    "foobar",
    "\x07",
    "\u{378}",
    "\u{E000}",
    "\u{AD}",
    "{",
    "}",
    "*",
    ".",
    "\\",
    "$",
    "^",
    "a\\b",
    "\x0B",
    "\r\n",
    "ǅ",
    "İ",
    "ı",
    "x-y",
    "500\n",
    "\u{1F600}",
    "5.0",
    "0.5",
    "\u{A0}",
    "aaa",
    "aaaa",
    "2xx",
    "503",
    "200",
    "a\tb",
    "Ab",
    "e\u{301}",
    "\u{10FFFF}",
    "ABC\n",
    "~",
    "#",
    "'",
    "\"",
    "\0",
    "/api/v2/users",
    "prod-eu-1",
    "x.example.com",
    "10.0.1.2",
    "host:9090",
    "a{",
    "{2}",
    "(",
    ")",
    "|",
    "+",
    "?",
    "0",
    "1",
    "1.0",
    "0.50",
    "2.5",
    "ǆ",
    "Ǆ",
    "GET",
    "get",
    "POST",
    "foo bar",
    "a]xx",
    "4]xx",
    "Ⅻ",
    "²",
    "ℵ",
    "ǈ",
    "ʰ",
    "\u{300}",
    "٣٣٣",
    "١٢٣",
    "ς",
    "σ",
    "Σ",
    "\u{FFFD}",
    "\u{D7FF}",
    "ΑΒΓ",
    "αβγ",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Fixture {
    probes: Vec<String>,
    /// Per pattern: Go's error, or the indices of the probes it matches.
    cases: BTreeMap<String, Verdict>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Error(String),
    Matches(BTreeSet<usize>),
}

fn corpus() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("tests/regex/corpus.txt")).unwrap();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let re = if line == "<empty>" { String::new() } else { line.to_string() };
        assert!(seen.insert(re.clone()), "corpus: `{re}` twice");
        out.push(re);
    }
    out
}

/// A PromQL double-quoted string (Go `strconv.Unquote` escapes).
fn promql_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{7F}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            // PromQL's lexer takes a literal U+FFFD for bad UTF-8.
            '\u{FFFD}' => out.push_str("\\ufffd"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn case_expr(re: &str, n: usize) -> String {
    format!("label_replace(probe{{v=~{}}}, \"case\", \"{n}\", \"\", \"\")", promql_string(re))
}

/// promtool's verdict on each pattern: Go's message for the rejected ones.
fn promtool_errors(bin: &Path, cases: &[String], dir: &Path) -> BTreeMap<usize, String> {
    let rules: Vec<serde_json::Value> =
        cases.iter().enumerate().map(|(i, re)| serde_json::json!({"record": "r", "expr": case_expr(re, i)})).collect();
    let file = dir.join("check.json");
    let doc = serde_json::json!({"groups": [{"name": "g", "rules": rules}]});
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = Command::new(bin).args(["check", "rules"]).arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let mut errors = BTreeMap::new();
    for line in text.lines() {
        let Some(at) = line.find("\", rule ") else { continue };
        let rest = &line[at + 8..];
        let n: usize = rest[..rest.find(',').unwrap()].parse().unwrap();
        let msg = line.find("parse error: ").map_or(line, |i| &line[i + 13..]);
        errors.insert(n - 1, msg.to_string());
    }
    assert_eq!(
        out.status.success(),
        errors.is_empty(),
        "promtool check rules: unexpected output:\n{}",
        &text[..text.len().min(3000)]
    );
    errors
}

/// Which probes each valid pattern selects, by `promtool test rules`.
fn promtool_matches(bin: &Path, cases: &[(usize, &String)], dir: &Path) -> BTreeMap<usize, BTreeSet<usize>> {
    let series: Vec<serde_json::Value> = PROBES
        .iter()
        .enumerate()
        .map(|(i, v)| serde_json::json!({"series": format!("probe{{i=\"{i}\", v={}}}", promql_string(v)), "values": "1"}))
        .collect();
    let tests: Vec<serde_json::Value> = cases
        .iter()
        .map(|(n, re)| serde_json::json!({"expr": case_expr(re, *n), "eval_time": "0m", "exp_samples": []}))
        .collect();
    let doc = serde_json::json!({
        "rule_files": [], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}],
    });
    let file = dir.join("test.json");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = Command::new(bin).args(["test", "rules"]).arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let mut got: BTreeMap<usize, BTreeSet<usize>> = cases.iter().map(|(n, _)| (*n, BTreeSet::new())).collect();
    let mut lines = 0;
    for line in text.lines().map(str::trim).filter(|l| l.starts_with("got:")) {
        lines += 1;
        // `{__name__="probe", case="N", i="K", v="…"} 1E+00, …`: the
        // `case` and `i` labels come first after the name (sorted).
        for series in line.split("{__name__=\"probe\", ").skip(1) {
            let case = series.strip_prefix("case=\"").unwrap();
            let n: usize = case[..case.find('"').unwrap()].parse().unwrap();
            let i = &series[series.find("i=\"").unwrap() + 3..];
            let i: usize = i[..i.find('"').unwrap()].parse().unwrap();
            got.get_mut(&n).unwrap_or_else(|| panic!("promtool: case {n} unknown")).insert(i);
        }
    }
    let failed = text.matches("expr: ").count();
    assert_eq!(lines, failed, "promtool test rules: unexpected output:\n{}", &text[..text.len().min(3000)]);
    assert!(lines > 0 || out.status.success(), "promtool test rules failed:\n{}", &text[..text.len().min(3000)]);
    got
}

fn promtool_fixture(bin: &Path, cases: &[String]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let errors = promtool_errors(bin, cases, dir.path());
    let valid: Vec<(usize, &String)> = cases.iter().enumerate().filter(|(i, _)| !errors.contains_key(i)).collect();
    let matches = promtool_matches(bin, &valid, dir.path());
    let cases = cases
        .iter()
        .enumerate()
        .map(|(i, re)| {
            let v = match errors.get(&i) {
                Some(e) => Verdict::Error(e.clone()),
                None => Verdict::Matches(matches[&i].clone()),
            };
            (re.clone(), v)
        })
        .collect();
    Fixture { probes: PROBES.iter().map(|p| p.to_string()).collect(), cases }
}

fn fixture_path() -> std::path::PathBuf {
    repo().join("tests/regex/promtool.json")
}

/// promtool's answers: re-derived when promtool runs (and compared with,
/// or written to, the fixture), else the fixture.
fn truth(cases: &[String]) -> Fixture {
    let fixture: Option<Fixture> =
        std::fs::read_to_string(fixture_path()).ok().map(|t| serde_json::from_str(&t).unwrap());
    let Some(bin) = promtool3() else {
        let f = fixture.expect("no tests/regex/promtool.json; run with promtool 3.5 and SLO_BLESS=1");
        assert_eq!(f.probes, PROBES, "the probes changed: re-bless the fixture with promtool");
        return f;
    };
    let fresh = promtool_fixture(&bin, cases);
    if std::env::var("SLO_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(fixture_path(), serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    } else {
        let f = fixture.expect("no tests/regex/promtool.json; run with SLO_BLESS=1");
        let stale: Vec<&String> = fresh.cases.keys().filter(|k| f.cases.get(*k) != fresh.cases.get(*k)).collect();
        assert!(
            stale.is_empty() && f.probes == fresh.probes,
            "the fixture is not what promtool 3.5 answers for {stale:?}"
        );
    }
    fresh
}

/// The probes the backtester's selector `probe{v=~"RE"}` picks, or its error.
fn backtester(re: &str) -> Result<BTreeSet<usize>, String> {
    let mut planner = Planner::new(BTreeSet::new());
    let node = planner.parse(&format!("probe{{v=~{}}}", promql_string(re)))?;
    let Node::Leaf(leaf) = node else { panic!("`{re}`: not a leaf") };
    // Messages name the selector as written, not the planner's stand-in.
    assert!(planner.leaves[leaf].text.starts_with("probe{v=~\""), "{}", planner.leaves[leaf].text);
    assert!(!planner.leaves[leaf].text.contains("__slo_goregex_"), "{}", planner.leaves[leaf].text);
    let sel = &planner.leaves[leaf].sel;
    Ok((0..PROBES.len())
        .filter(|&i| {
            let mut labels = vec![("__name__".to_string(), "probe".to_string()), ("i".to_string(), i.to_string())];
            if !PROBES[i].is_empty() {
                labels.push(("v".to_string(), PROBES[i].to_string()));
            }
            sel.matches(&labels)
        })
        .collect())
}

fn show(set: &BTreeSet<usize>) -> String {
    format!("{:?}", set.iter().map(|&i| PROBES[i]).collect::<Vec<_>>())
}

#[test]
fn check_and_backtester_agree_with_prometheus_on_every_regex() {
    let cases = corpus();
    assert!(cases.len() >= 300, "the corpus shrank to {}", cases.len());
    let truth = truth(&cases);
    let mut check_diffs = Vec::new();
    let mut message_diffs = Vec::new();
    let mut match_diffs = Vec::new();
    for re in &cases {
        let ours = slo::sema::eval::check_re2(re);
        match (&truth.cases[re], ours) {
            (Verdict::Error(go), Err(_)) => {
                let msg = slo::goregex::validate(re).unwrap_err().to_string();
                if &msg != go {
                    message_diffs.push(format!("`{re}`: Go says {go:?}, we say {msg:?}"));
                }
            }
            (Verdict::Error(go), Ok(())) => check_diffs.push(format!("`{re}`: accepted; promtool: {go}")),
            (Verdict::Matches(_), Err(e)) => check_diffs.push(format!("`{re}`: rejected ({e}); promtool accepts it")),
            (Verdict::Matches(want), Ok(())) => match backtester(re) {
                Err(e) => match_diffs.push(format!("`{re}`: the backtester fails: {e}")),
                Ok(got) if &got != want => match_diffs.push(format!(
                    "`{re}`: Prometheus matches {}, the backtester {}",
                    show(want),
                    show(&got)
                )),
                Ok(_) => {}
            },
        }
    }
    let valid = truth.cases.values().filter(|v| matches!(v, Verdict::Matches(_))).count();
    eprintln!("{} regexes ({valid} valid) × {} probes", cases.len(), PROBES.len());
    let report = [("check", &check_diffs), ("message", &message_diffs), ("backtester", &match_diffs)]
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(what, d)| format!("{what}: {} differences\n  {}", d.len(), d.join("\n  ")))
        .collect::<Vec<_>>();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// The corpus covers what it claims: both verdicts, many matches.
#[test]
fn the_fixture_exercises_both_verdicts() {
    if std::env::var("SLO_BLESS").is_ok_and(|v| v == "1") {
        return; // the other test is rewriting the fixture
    }
    let cases = corpus();
    let f: Fixture = serde_json::from_str(&std::fs::read_to_string(fixture_path()).unwrap()).unwrap();
    assert_eq!(f.cases.len(), cases.len(), "fixture and corpus differ: re-bless");
    let errors = f.cases.values().filter(|v| matches!(v, Verdict::Error(_))).count();
    assert!(errors >= 100 && f.cases.len() - errors >= 200, "{errors} errors of {}", f.cases.len());
    for re in ["5**", "a{1001}", "(?x)5..", "5..)|(.*"] {
        assert!(matches!(f.cases[re], Verdict::Error(_)), "{re}");
    }
    for (re, probe) in [("[0-9--4]..", "-00"), ("[0-9&&[^4]]..", "&]xx"), ("\\<5..", "<500"), ("a.b", "a\nb")] {
        let Verdict::Matches(m) = &f.cases[re] else { panic!("{re}") };
        assert!(m.contains(&PROBES.iter().position(|p| *p == probe).unwrap()), "{re} {probe:?}");
    }
}

/// Importers read Sloth/OpenSLO queries with Go's regexes too: a pattern
/// Rust's dialect rejects (`\Q…\E`, octal) still imports, unchanged.
#[test]
fn importers_take_go_regexes_as_written() {
    for (pattern, promql) in [(r"\Q5\E..", r#""\\Q5\\E..""#), (r"\065..", r#""\\065..""#)] {
        let query = format!("sum(rate(http_requests_total{{job=\"api\", code=~{promql}}}[5m]))");
        let sel = slo::interop::summed_rate_selector(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(sel.contains(promql), "{pattern}: {sel}");
        assert_eq!(slo::goregex::validate(pattern), Ok(()));
    }
    // A broken query is reported on the text as written, not the stand-in.
    let e = slo::interop::summed_rate_selector(r#"sum(rate(x{code=~"5.."}[5m])"#).unwrap_err();
    assert!(!e.contains("__slo_goregex_"), "{e}");
}

/// A value that merely looks like the planner's stand-in is left alone.
#[test]
fn values_that_look_like_stand_ins_are_not_decoded() {
    for text in [r#"x{a="__slo_goregex_zz"}"#, r#"x{a="__slo_goregex_6"}"#, r#"x{a=~"__slo_goregex_zz"}"#] {
        let mut planner = Planner::new(BTreeSet::new());
        let Node::Leaf(leaf) = planner.parse(text).unwrap() else { panic!("{text}") };
        assert_eq!(planner.leaves[leaf].text, text);
        let sel = slo::interop::summed_rate_selector(&format!("sum(rate({text}[5m]))")).unwrap();
        assert!(sel.contains("__slo_goregex_"), "{sel}");
    }
}
