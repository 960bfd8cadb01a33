//! Hostile inputs against resources and the terminal (issue 13, items 11,
//! 12, 13, 15, 16): each runs the binary under a memory and time cap and
//! must end in a coded error, or succeed within the caps; nothing a source
//! or a dataset holds reaches the terminal as a control sequence; a closed
//! pipe ends the program quietly.

use super::common::{slo, slo_capped, write_parquet, Capped};
use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// Address space for runs that read Parquet (DataFusion, tokio and
/// mimalloc reserve a lot of it up front; a normal import and inspect run
/// fits in a fraction of this).
const MEM_MIB: u64 = 2048;

fn run(dir: &Path, args: &[&str], secs: u64) -> Capped {
    slo_capped(dir, args, MEM_MIB, secs)
}

/// The run ended with `exit` and named `code` (and `needle`, e.g. file:line).
fn assert_coded(r: &Capped, exit: i32, code: &str, needle: &str) {
    assert_eq!(r.code, Some(exit), "exit after {:?}; stderr:\n{}", r.elapsed, &r.stderr[..r.stderr.len().min(4000)]);
    assert!(r.stderr.contains(code), "no {code} in:\n{}", &r.stderr[..r.stderr.len().min(4000)]);
    assert!(r.stderr.contains(needle), "no `{needle}` in:\n{}", &r.stderr[..r.stderr.len().min(4000)]);
}

// ------------------------------------------------------------ item 11: import

/// 2,000 series, each with a label name of its own: one column each in the
/// Parquet layout. The old importer built a dense series × name table.
#[test]
fn import_caps_distinct_label_names_at_the_line_that_passes_it() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        let _ = writeln!(text, "m{{l{i:05}=\"v\"}} 1 1700000000000");
    }
    std::fs::write(d.path().join("wide.prom"), text).unwrap();
    let r = run(d.path(), &["data", "import", "wide.prom", "--out", "o.parquet"], 60);
    assert_coded(&r, 1, "slo::import::too_many_label_names", "wide.prom:1025:");
    assert!(!d.path().join("o.parquet").exists());
}

/// At the cap (1,000 label names, 20,000 rows): imported and inspected
/// within the caps, each label column filled by runs.
#[test]
fn import_and_inspect_at_the_label_name_cap_stay_small() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..1000 {
        for k in 0..20 {
            let _ = writeln!(text, "m{{job=\"a\",l{i:04}=\"v\"}} {k} {}", 1_700_000_000_000i64 + k * 15_000);
        }
    }
    std::fs::write(d.path().join("wide.prom"), text).unwrap();
    let r = run(d.path(), &["data", "import", "wide.prom", "--out", "o.parquet"], 120);
    assert_eq!(r.code, Some(0), "{:?}: {}", r.elapsed, r.stderr);
    let r = run(d.path(), &["data", "inspect", "o.parquet"], 120);
    assert_eq!(r.code, Some(0), "{:?}: {}", r.elapsed, r.stderr);
    assert!(r.stdout.starts_with("1000 series, 20000 samples"), "{}", r.stdout);
}

/// One series with 200,000 labels: refused at its 129th label, at once
/// (the old parser checked each new label against all before it).
#[test]
fn import_refuses_a_series_with_too_many_labels() {
    let d = tempfile::tempdir().unwrap();
    let mut line = String::from("m{");
    for i in 0..200_000 {
        let _ = write!(line, "l{i}=\"x\",");
    }
    line.push_str("} 1 1700000000000\n");
    std::fs::write(d.path().join("one.prom"), format!("ok 1 1700000000000\n{line}")).unwrap();
    let r = run(d.path(), &["data", "import", "one.prom", "--out", "o.parquet"], 20);
    assert_coded(&r, 1, "slo::import::too_many_labels", "one.prom:2:");
    assert!(r.elapsed.as_secs() < 10, "{:?}", r.elapsed);
    // The same through the API JSON reader.
    let labels: Vec<String> = (0..1000).map(|i| format!("\"l{i}\":\"x\"")).collect();
    let json = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"__name__":"m",{}}},"value":[1700000000,"1"]}}]}}}}"#,
        labels.join(",")
    );
    std::fs::write(d.path().join("one.json"), json).unwrap();
    let r = run(d.path(), &["data", "import", "one.json", "--out", "o.parquet"], 20);
    assert_coded(&r, 1, "slo::import::too_many_labels", "data.result[0].metric");
}

#[test]
fn import_refuses_long_label_names_and_values() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "ok 1 1700000000000\nm{{{}=\"x\"}} 1 1700000000000\nm{{a=\"{}\"}} 1 1700000000000\n",
        "n".repeat(2000),
        "v".repeat(20_000)
    );
    std::fs::write(d.path().join("long.prom"), text).unwrap();
    let r = run(d.path(), &["data", "import", "long.prom", "--out", "o.parquet"], 20);
    assert_coded(&r, 1, "slo::import::label_too_long", "long.prom:2:");
    assert!(r.stderr.contains("long.prom:3:"), "{}", r.stderr);
    // The messages name sizes; they do not print the 20 KB value.
    assert!(r.stderr.len() < 4000, "{}", r.stderr.len());
}

/// A Parquet file with 3,000 label columns (written by another tool): a
/// schema error before any row is read.
#[test]
fn inspect_refuses_thousands_of_label_columns() {
    let d = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..3000).map(|i| format!("l{i:04}")).collect();
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("timestamp", Arc::new(Int64Array::from(vec![1_700_000_000_000i64, 1_700_000_015_000]))),
        ("__name__", Arc::new(StringArray::from(vec!["m", "m"]))),
        ("value", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
    ];
    for n in &names {
        cols.push((n, Arc::new(StringArray::from(vec![None::<&str>, None]))));
    }
    write_parquet(&d.path().join("wide.parquet"), cols);
    let r = run(d.path(), &["data", "inspect", "wide.parquet"], 60);
    assert_coded(&r, 1, "slo::data::schema", "3000 label columns, more than 1024");
}

// ------------------------------------------------------------- item 13: synth

#[test]
fn synth_checks_sizes_before_allocating() {
    let d = tempfile::tempdir().unwrap();
    let r = slo_capped(d.path(), &["synth", "--series", "100000000", "--out", "s.parquet"], 1024, 30);
    assert_coded(&r, 2, "slo::synth::too_large", "100000000 series");
    // Samples: 1,000 series × 10 years at 1s.
    let args = ["synth", "--series", "1000", "--days", "3650", "--resolution", "1s", "--out", "s.parquet"];
    let r = slo_capped(d.path(), &args, 1024, 30);
    assert_coded(&r, 2, "slo::synth::too_large", "steps");
    // With sources: instances multiply every selector's series.
    std::fs::write(
        d.path().join("a.slo"),
        "service api {}\nslo avail for api {\n  objective = 99% over 28d\n  sli events {\n    bad = http_requests_total{job=\"api\", code=~\"5..\"}\n    total = http_requests_total{job=\"api\"}\n  }\n}\n",
    )
    .unwrap();
    let r = slo_capped(d.path(), &["synth", "a.slo", "--instances", "100000000", "--out", "s.parquet"], 1024, 30);
    assert_coded(&r, 2, "slo::synth::too_large", "series");
    assert!(!d.path().join("s.parquet").exists());
}

// ----------------------------------------------------------- item 12: grafana

/// Peak RSS of a run in KiB (GNU time), with its stdout size.
fn peak_rss_kib(dir: &Path, args: &[&str]) -> u64 {
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    err.trim().lines().last().unwrap().trim().parse().unwrap()
}

/// One service with 3,000 SLOs: the dashboard is written while it is
/// built, so what the Grafana target needs beyond the Prometheus target
/// (same program, rules built one SLO at a time) is about its own output,
/// not a tree of it (the old code held ~8x the output as `serde_json` values).
#[test]
fn grafana_memory_follows_the_output() {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("skipped: no /usr/bin/time");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mut src = String::from("import std.alerting.{google_28d}\n\nservice big {}\n");
    for i in 0..3000 {
        let _ = writeln!(
            src,
            "slo s{i} for big {{\n  objective = 99.9% over 28d\n  sli events {{\n    bad = http_requests_total{{job=\"j{i}\", code=~\"5..\"}}\n    total = http_requests_total{{job=\"j{i}\"}}\n  }}\n  alerts = google_28d()\n}}"
        );
    }
    std::fs::write(d.path().join("big.slo"), src).unwrap();
    let prom = peak_rss_kib(d.path(), &["compile", "big.slo", "--out", "rules"]);
    let graf = peak_rss_kib(d.path(), &["compile", "--target", "grafana", "big.slo", "--out", "dash"]);
    let size = std::fs::metadata(d.path().join("dash/big.dashboard.json")).unwrap().len() / 1024;
    assert!(graf < prom + 3 * size, "grafana {graf} KiB, prometheus {prom} KiB, dashboard {size} KiB");
}

// ---------------------------------------------------------- item 15: escapes

/// Characters that must not reach a terminal raw.
fn hostile(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            && c != '\r'
    })
}

fn assert_clean(what: &str, r: &(i32, String, String)) {
    for (stream, s) in [("stdout", &r.1), ("stderr", &r.2)] {
        if let Some(c) = hostile(s) {
            panic!("{what}: {:?} on {stream}:\n{s}", c);
        }
    }
}

const EVIL: &str = "\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[31m\u{9b}2J\u{202e}";

#[test]
fn sources_never_reach_the_terminal_raw() {
    let d = tempfile::tempdir().unwrap();
    // A string with raw escapes, and an error on the same line and in the
    // file name.
    let file = d.path().join(format!("evil{EVIL}.slo"));
    std::fs::write(
        &file,
        format!(
            "service api {{ owner = \"{EVIL}\" }}\nslo x for api {{ description = \"{EVIL}\" objective = {EVIL} }}\n"
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    for format in ["human", "json", "github"] {
        let r = slo(&["check", f, "--format", format]);
        assert_eq!(r.0, 1, "{format}: {}", r.2);
        assert_clean(format, &r);
    }
    // JSON stays JSON, with the same text.
    let r = slo(&["check", f, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.1).unwrap();
    assert!(v[0]["file"].as_str().unwrap().contains(EVIL));
    assert_clean("fmt", &slo(&["fmt", "--check", f]));
    assert_clean("debug", &slo(&["debug", "ast", f]));
}

#[test]
fn data_label_values_never_reach_the_terminal_raw() {
    let d = tempfile::tempdir().unwrap();
    let v = EVIL.replace('"', "");
    // A conflict names the series; the import summary names the file.
    let text = format!("m{{a=\"{v}\"}} 1 1700000000000\nm{{a=\"{v}\"}} 2 1700000000000\n");
    std::fs::write(d.path().join("c.prom"), text).unwrap();
    let r = run(d.path(), &["data", "import", "c.prom", "--out", "o.parquet"], 60);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("slo::import::conflict"), "{}", r.stderr);
    assert_clean("import", &(1, r.stdout, r.stderr));
    // Inspect lists gaps by series: a series with a gap and an evil label.
    let mut text = String::new();
    for k in [0i64, 1, 2, 3, 40] {
        let _ = writeln!(text, "m{{a=\"{v}\"}} {k} {}", 1_700_000_000_000 + k * 15_000);
    }
    std::fs::write(d.path().join("g.prom"), text).unwrap();
    let r = run(d.path(), &["data", "import", "g.prom", "--out", "g.parquet"], 60);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for format in ["table", "json"] {
        let r = run(d.path(), &["data", "inspect", "g.parquet", "--format", format], 60);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(r.stdout.contains("gaps") || format == "json");
        assert_clean(format, &(0, r.stdout.clone(), r.stderr));
        if format == "json" {
            let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            // The series text quotes the value as Go does: `\u202e`, an escape.
            assert!(j["gaps"]["largest"][0]["series"].as_str().unwrap().contains("\\u202e"), "{}", r.stdout);
        }
    }
}

// ------------------------------------------------------- item 16: broken pipes

/// Runs `slo args` with its stdout (or stderr) a pipe whose read end is
/// already closed: (exit code, stderr).
fn closed_pipe(args: &[&str], stderr_too: bool) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_slo"));
    cmd.args(args).current_dir(super::common::repo()).env("NO_COLOR", "1");
    let out = if stderr_too {
        cmd.stdout(writer.try_clone().unwrap()).stderr(writer).output().unwrap()
    } else {
        cmd.stdout(writer).output().unwrap()
    };
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_closed_stdout_ends_the_program_quietly() {
    let ex = "examples/features/alert_tiers.slo";
    assert!(super::common::repo().join(ex).exists());
    for args in [
        &["completions", "bash"][..],
        &["debug", "ir", ex],
        &["debug", "ast", ex],
        &["check", ex, "--format", "json"],
        &["export", "openslo", ex],
    ] {
        let (code, err) = closed_pipe(args, false);
        assert_eq!(code, Some(141), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    }
    // stderr closed too (`2>&1 | head`): diagnostics on stderr.
    let (code, _) = closed_pipe(&["check", "tests/errors"], true);
    assert_eq!(code, Some(141));
}

/// A backtest report names groups by their labels: a tenant label value
/// from the data with escapes must not reach the terminal raw.
#[test]
fn backtest_report_labels_never_reach_the_terminal_raw() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("svc.slo"),
        "service svc {}\nslo avail for svc {\n  objective = 99% over 1h\n  sli events {\n    bad = http_requests_total{job=\"svc\", code=~\"5..\"}\n    total = http_requests_total{job=\"svc\"}\n  }\n  group_by = [tenant]\n}\n",
    )
    .unwrap();
    let (mut ts, mut code, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for (c, rate) in [("200", 9.0), ("500", 1.0)] {
        for i in 0..480i64 {
            ts.push(1_769_817_600_000 + i * 15_000);
            code.push(c);
            v.push(rate * 15.0 * i as f64);
        }
    }
    let n = ts.len();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("timestamp", Arc::new(Int64Array::from(ts))),
        ("__name__", Arc::new(StringArray::from(vec!["http_requests_total"; n]))),
        ("job", Arc::new(StringArray::from(vec!["svc"; n]))),
        ("tenant", Arc::new(StringArray::from(vec![EVIL; n]))),
        ("code", Arc::new(StringArray::from(code))),
        ("value", Arc::new(Float64Array::from(v))),
    ];
    write_parquet(&d.path().join("d.parquet"), cols);
    let r = run(d.path(), &["backtest", "svc.slo", "--data", "d.parquet", "--quiet"], 120);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("svc/avail{tenant="), "{}", r.stdout);
    assert_clean("backtest table", &(0, r.stdout, r.stderr));
    let r = run(d.path(), &["backtest", "svc.slo", "--data", "d.parquet", "--quiet", "--format", "json"], 120);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_clean("backtest json", &(0, r.stdout.clone(), r.stderr));
    assert!(r.stdout.contains("\\u001b]52") && serde_json::from_str::<serde_json::Value>(&r.stdout).is_ok());
}
