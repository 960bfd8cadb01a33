//! `slo data import`, `inspect` and `export` through the binary: each input
//! format, bad input, hand-checked inspect figures, and a round trip through
//! Prometheus's own TSDB (`promtool tsdb create-blocks-from openmetrics`,
//! then `promtool tsdb dump`) that must give the same backtest report.

use super::common::{repo, slo};
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Imports `inputs` (extra flags first), expecting success; returns stderr.
fn import_ok(args: &[&str], out: &str) -> String {
    let mut a = vec!["data", "import"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--out", out]);
    let (code, _, err) = slo(&a);
    assert_eq!(code, 0, "{err}");
    err
}

/// The Parquet file as OpenMetrics text, through `slo data export`.
fn exported(parquet: &str, dir: &Path) -> String {
    let out = dir.join(format!("{}.om", Path::new(parquet).file_name().unwrap().to_str().unwrap()));
    let (code, _, err) = slo(&["data", "export", parquet, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    std::fs::read_to_string(out).unwrap()
}

/// The same samples, in every format (labels in other orders, escapes,
/// NaN and infinities, a histogram bucket, a counter with `_total`).
const EXPECTED: &str = r#"http_requests_total{code="200",job="api"} 1 1700000000.000
http_requests_total{code="200",job="api"} 2500000 1700000015.500
http_requests_total{code="200",job="api"} NaN 1700000030.000
http_requests_total{code="500",job="api",path="a\"b\\c\nd"} +Inf 1700000030.000
latency_seconds_bucket{le="0.5"} 0.1 1700000030.000
latency_seconds_bucket{le="0.5"} -Inf 1700000045.000
# EOF
"#;

#[test]
fn data_import_reads_every_format_to_the_same_samples() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let om = write(
        dir,
        "a.om",
        r#"# HELP http_requests x
# TYPE http_requests counter
http_requests_total{job="api",code="200"} 1 1700000000
http_requests_total{code="200",job="api"} 2.5e+06 1700000015.5 # {trace_id="x"} 1 1700000015.4
http_requests_total{job="api", code="200"} NaN 1700000030.000
http_requests_total{job="api",code="500",path="a\"b\\c\nd"} +Inf 1700000030
# TYPE latency_seconds histogram
# UNIT latency_seconds seconds
latency_seconds_bucket{le="0.5"} 0.1 1700000030
latency_seconds_bucket{le="0.5"} -Inf 1700000045
# EOF
"#,
    );
    let text = write(
        dir,
        "b.prom",
        r#"# HELP http_requests_total x
# TYPE http_requests_total counter
http_requests_total{job="api",code="200"} 1 1700000000000
http_requests_total{code="200",job="api"} 2500000 1700000015500
http_requests_total{code="200",job="api"} NaN 1700000030000
http_requests_total{code="500",job="api",path="a\"b\\c\nd"} +Inf 1700000030000
# a comment
latency_seconds_bucket{le="0.5"} 0.1 1700000030000
latency_seconds_bucket{le="0.5"} -Inf 1700000045000
"#,
    );
    let dump = write(
        dir,
        "c.txt",
        r#"{__name__="http_requests_total", code="200", job="api"} 1 1700000000000
{__name__="http_requests_total", code="200", job="api"} 2.5e+06 1700000015500
{__name__="http_requests_total", code="200", job="api"} NaN 1700000030000
{__name__="http_requests_total", code="500", job="api", path="a\"b\\c\nd"} +Inf 1700000030000
{__name__="latency_seconds_bucket", le="0.5"} 0.1 1700000030000
{__name__="latency_seconds_bucket", le="0.5"} -Inf 1700000045000
"#,
    );
    // query_range output, split over two responses in one file.
    let api = write(
        dir,
        "d.json",
        r#"{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"__name__":"http_requests_total","code":"200","job":"api"},"values":[[1700000000,"1"],[1700000015.5,"2500000"],[1700000030,"NaN"]]},
 {"metric":{"__name__":"http_requests_total","code":"500","job":"api","path":"a\"b\\c\nd"},"values":[[1700000030,"+Inf"]]}]}}
{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"le":"0.5","__name__":"latency_seconds_bucket"},"values":[[1700000030,"0.1"],[1700000045.000,"-Inf"]]}]}}
"#,
    );
    for (input, format) in [(&om, "openmetrics"), (&text, "prom-text"), (&dump, "tsdb-dump"), (&api, "prom-api")] {
        let out = dir.join(format!("{format}.parquet"));
        let out = out.to_str().unwrap();
        let err = import_ok(&[input], out);
        assert!(err.contains(&format!("({format})")), "format not detected as {format}: {err}");
        assert!(err.contains("imported 3 series, 6 samples"), "{err}");
        assert_eq!(exported(out, dir), EXPECTED, "{format}");
        // The same with the format given.
        let out2 = dir.join(format!("{format}-given.parquet"));
        let out2 = out2.to_str().unwrap();
        import_ok(&["--from", format, input], out2);
        assert_eq!(std::fs::read(out).unwrap(), std::fs::read(out2).unwrap(), "{format}");
    }
    // All four at once: every sample is an exact duplicate three times over.
    let all = dir.join("all.parquet");
    let err = import_ok(&[&om, &text, &dump, &api], all.to_str().unwrap());
    assert!(err.contains("imported 3 series, 6 samples (0 staleness markers, 18 exact duplicates dropped)"), "{err}");
    assert_eq!(exported(all.to_str().unwrap(), dir), EXPECTED);
}

#[test]
fn data_import_reads_instant_vectors_with_native_histograms() {
    let d = tempfile::tempdir().unwrap();
    let vector = |hist: bool| {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[
  {{"metric":{{"__name__":"up","job":"a"}},"value":[1700000000.123,"1"]}},
  {{"metric":{{"__name__":"up","job":"b"}},"value":[1700000000.123,"0"]}}{}]}}}}"#,
            if hist {
                r#",
  {"metric":{"__name__":"lat","job":"b"},"histogram":[1700000000,{"count":"2","sum":"1","buckets":[]}]}"#
            } else {
                ""
            }
        )
    };
    let floats = write(d.path(), "f.json", &vector(false));
    let out = d.path().join("f.parquet");
    import_ok(&[&floats], out.to_str().unwrap());
    assert_eq!(
        exported(out.to_str().unwrap(), d.path()),
        "up{job=\"a\"} 1 1700000000.123\nup{job=\"b\"} 0 1700000000.123\n# EOF\n"
    );
    // The histogram sample is read too (tests/integration/native_import.rs
    // checks what it holds).
    let api = write(d.path(), "v.json", &vector(true));
    let out = d.path().join("v.parquet");
    let err = import_ok(&[&api], out.to_str().unwrap());
    assert!(err.contains("imported 3 series, 2 samples (0 staleness markers, 1 native-histogram samples,"), "{err}");
    let (code, out, err) = slo(&["data", "inspect", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("native-histogram samples: 1"), "{out}");
}

#[test]
fn data_import_reports_every_bad_line_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let bad = write(
        d.path(),
        "bad.prom",
        "ok_metric{a=\"1\"} 1 1700000000000\n\
         ok_metric{a=\"1\" b=\"2\"} 1 1700000000000\n\
         ok_metric{a=\"1\"} abc 1700000000000\n\
         ok_metric{a=\"1\"} 1 1700000000.5\n\
         ok_metric{a=\"1\"} 2\n\
         ok_metric{a=\"1\",a=\"2\"} 1 1700000000000\n\
         ok_metric{value=\"x\"} 1 1700000000000\n\
         {a=\"1\"} 1 1700000000000\n\
         ok_metric{a=\"unterminated} 1 1700000000000\n\
         # TYPE ok_metric sideways\n\
         ok_metric{a=\"1\"} 1 1700000000000 extra\n\
         ok_metric{h_count=\"x\"} 1 1700000000000\n",
    );
    let out = d.path().join("o.parquet");
    let (code, _, err) = slo(&["data", "import", &bad, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(!out.exists(), "nothing is written when the input has errors");
    let expect = [
        ("slo::import::syntax", 2, "expected `,` or `}` after a label value"),
        ("slo::import::value", 3, "`abc` is not a number"),
        ("slo::import::timestamp", 4, "is not an integer number of milliseconds"),
        ("slo::import::no_timestamp", 5, "the sample has no timestamp"),
        ("slo::import::label", 6, "label `a` appears twice"),
        ("slo::import::label", 7, "label `value` has the name of a column"),
        ("slo::import::no_name", 8, "the series has no metric name"),
        ("slo::import::syntax", 9, "unterminated string"),
        ("slo::import::syntax", 10, "unknown metric type `sideways`"),
        ("slo::import::syntax", 11, "unexpected `extra` after the sample"),
        // A native-histogram column of the layout.
        ("slo::import::label", 12, "label `h_count` has the name of a column"),
    ];
    for (code, line, msg) in expect {
        let head = format!("error[{code}]: ");
        let at = format!("--> {bad}:{line}:");
        let found = err.split("error[").any(|chunk| {
            let chunk = format!("error[{chunk}");
            chunk.starts_with(&head) && chunk.contains(msg) && chunk.contains(&at)
        });
        assert!(found, "no {code} at line {line} ({msg}) in:\n{err}");
    }
    assert!(err.contains("OpenMetrics: end the file with `# EOF` or pass `--from openmetrics`"), "{err}");
    assert!(err.contains("11 error(s); nothing written"), "{err}");

    // The cap lists the first problems and counts the rest.
    let many: String = (0..500).map(|i| format!("m{{a=\"{i}\"}} x {i}\n")).collect();
    let many = write(d.path(), "many.prom", &many);
    let (code, _, err) = slo(&["data", "import", &many, "--out", out.to_str().unwrap(), "--max-errors", "7"]);
    assert_eq!(code, 1);
    assert_eq!(err.matches("error[slo::import::value]").count(), 7, "{err}");
    assert!(err.contains("500 errors (7 shown"), "{err}");

    // Samples without timestamps are fine with a default time.
    let bare = write(d.path(), "bare.prom", "up{job=\"a\"} 1\nup{job=\"b\"} 0 1700000000000\n");
    let err = import_ok(&["--default-time", "1700000060", &bare], out.to_str().unwrap());
    assert!(err.contains("imported 2 series, 2 samples"), "{err}");
    assert_eq!(
        exported(out.to_str().unwrap(), d.path()),
        "up{job=\"a\"} 1 1700000060.000\nup{job=\"b\"} 0 1700000000.000\n# EOF\n"
    );
}

#[test]
fn data_import_conflicts_json_errors_and_io() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.prom", "x{j=\"1\"} 1 1000\nx{j=\"1\"} 2 2000\n");
    let b = write(d.path(), "b.prom", "x{j=\"1\"} 1 1000\n\n# c\nx{j=\"1\"} 2.5 2000\n");
    let out = d.path().join("o.parquet");
    let (code, _, err) = slo(&["data", "import", &a, &b, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "error[slo::import::conflict]: x{{j=\"1\"}} has two values at 1970-01-01T00:00:02Z: 2 ({a}:2) and 2.5 here"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("--> {b}:4")), "{err}");
    assert!(!out.exists());

    let j = write(d.path(), "e.json", "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error\"}");
    let (code, _, err) = slo(&["data", "import", &j, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("the response is an error (bad_data): parse error"), "{err}");
    let j = write(
        d.path(),
        "f.json",
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":\"x\"},\n\"values\":[[1,\"1\"],[2,\"one\"],[\"t\",\"2\"]]}]}}",
    );
    let (code, _, err) = slo(&["data", "import", &j, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("error[slo::import::value]: `\"one\"` is not a number"), "{err}");
    assert!(err.contains("at data.result[0].values[1][1]"), "{err}");
    assert!(err.contains("at data.result[0].values[2][0]"), "{err}");
    let j = write(d.path(), "g.json", "{\"status\":\"success\",\n\"data\": {\"resultType\": [}");
    let (code, _, err) = slo(&["data", "import", "--from", "prom-api", &j, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("error[slo::import::json]: invalid JSON"), "{err}");
    assert!(err.contains(&format!("--> {j}:2:")), "{err}");

    let empty = write(d.path(), "empty.prom", "# nothing\n");
    let (code, _, err) = slo(&["data", "import", &empty, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("slo::import::empty"), "{err}");

    let (code, _, err) = slo(&["data", "import", "no/such/file.prom", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[slo::import::io]"), "{err}");
    // Not valid UTF-8, and random bytes: diagnostics, never a panic.
    let mut bytes = b"x 1 1000\nx{a=\"\xff\"} 2 2000\n".to_vec();
    bytes.extend((0..2000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    std::fs::write(d.path().join("bin.prom"), &bytes).unwrap();
    let (code, _, err) =
        slo(&["data", "import", d.path().join("bin.prom").to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::import::encoding"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn data_import_writes_deterministic_0644_files_atomically() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.prom", "y{j=\"2\"} 3 3000\nx 1 1000\ny{j=\"1\"} 2 2000\nx 0 500\n");
    let (o1, o2) = (d.path().join("1.parquet"), d.path().join("2.parquet"));
    import_ok(&[&a], o1.to_str().unwrap());
    import_ok(&[&a], o2.to_str().unwrap());
    assert_eq!(std::fs::read(&o1).unwrap(), std::fs::read(&o2).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&o1).unwrap().permissions().mode() & 0o777, 0o644);
    }
    // Sorted by name, then labels, then time.
    assert_eq!(
        exported(o1.to_str().unwrap(), d.path()),
        "x 0 0.500\nx 1 1.000\ny{j=\"1\"} 2 2.000\ny{j=\"2\"} 3 3.000\n# EOF\n"
    );
    // A failed import leaves the previous file alone, and no temp files.
    let bad = write(d.path(), "bad.prom", "x 1\n");
    let (code, _, _) = slo(&["data", "import", &bad, "--out", o1.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read(&o1).unwrap(), std::fs::read(&o2).unwrap());
    let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 5, "{left:?}");
}

#[test]
fn data_inspect_counts_series_range_resolution_and_gaps() {
    let d = tempfile::tempdir().unwrap();
    // a: every 15 s from t=0 to 300 s, but nothing between 120 s and 240 s
    //    (a staleness marker at 135 s opens the gap).
    // b: every 30 s from 0 to 600 s. c: one sample. Another metric: 60 s.
    let mut text = String::new();
    for t in (0..=300).step_by(15) {
        if t > 135 && t < 240 {
            continue;
        }
        let v = if t == 135 { "NaN".to_string() } else { t.to_string() };
        text.push_str(&format!("req_total{{pod=\"a\"}} {v} {}\n", 1_700_000_000_000i64 + t * 1000));
    }
    for t in (0..=600).step_by(30) {
        text.push_str(&format!("req_total{{pod=\"b\"}} {t} {}\n", 1_700_000_000_000i64 + t * 1000));
    }
    text.push_str("req_total{pod=\"c\"} 1 1700000000000\n");
    for t in (0..=600).step_by(60) {
        text.push_str(&format!("up 1 {}\n", 1_700_000_000_000i64 + t * 1000));
    }
    let input = write(d.path(), "i.prom", &text);
    let out = d.path().join("i.parquet");
    import_ok(&["--nan-as-stale", &input], out.to_str().unwrap());
    let (code, stdout, err) = slo(&["data", "inspect", out.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // a: 0..120 (9) + 135 marker + 240..300 (5) = 14 samples + 1 marker.
    assert_eq!(v["series"], 4);
    assert_eq!(v["samples"], 14 + 21 + 1 + 11);
    assert_eq!(v["stale_markers"], 1);
    assert_eq!(v["first"], "2023-11-14T22:13:20Z");
    assert_eq!(v["last"], "2023-11-14T22:23:20Z");
    // Resolutions: a 15 s, b 30 s, up 60 s; c has one sample.
    assert_eq!(v["resolution"]["median_ms"], 30_000);
    assert_eq!(v["resolution"]["min_ms"], 15_000);
    assert_eq!(v["resolution"]["max_ms"], 60_000);
    assert_eq!(v["resolution"]["single_sample_series"], 1);
    assert_eq!(v["gaps"]["count"], 1);
    let g = &v["gaps"]["largest"][0];
    assert_eq!(g["series"], "req_total{pod=\"a\"}");
    assert_eq!(g["from"], "2023-11-14T22:15:35Z");
    assert_eq!(g["to"], "2023-11-14T22:17:20Z");
    assert_eq!(g["duration_ms"], 105_000);
    assert_eq!(g["after_stale_marker"], true);
    let m = &v["metrics"];
    assert_eq!(m[0]["name"], "req_total");
    assert_eq!(m[0]["series"], 3);
    assert_eq!(m[0]["samples"], 36);
    assert_eq!(m[0]["resolution_ms"], 15_000, "lower median of 15 s and 30 s");
    assert_eq!(m[1]["name"], "up");
    assert_eq!(m[1]["resolution_ms"], 60_000);

    let (code, table, _) = slo(&["data", "inspect", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(table.contains("4 series, 47 samples, 1 staleness markers, 0 NaN values in 2 metrics"), "{table}");
    assert!(table.contains("range: 2023-11-14T22:13:20Z .. 2023-11-14T22:23:20Z (10m)"), "{table}");
    assert!(
        table.contains("resolution: median 30s (series range 15s .. 1m), 1 series with a single sample"),
        "{table}"
    );
    assert!(
        table.contains(
            "req_total{pod=\"a\"}  2023-11-14T22:15:35Z .. 2023-11-14T22:17:20Z (1m45s, after a staleness marker)"
        ),
        "{table}"
    );

    let (code, _, err) = slo(&["data", "inspect", "no/such.parquet"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::data::io"), "{err}");
}

/// promtool 3.5 from `.tools/` (as the backtest tests find it), else a
/// `promtool` on PATH; None (skip) unless SLO_REQUIRE_PROMTOOL=1.
fn promtool() -> Option<PathBuf> {
    let runs = |p: &Path| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success());
    let pinned = repo().join(".tools/promtool3/usr/bin/promtool");
    if runs(&pinned) {
        return Some(pinned);
    }
    if runs(Path::new("promtool")) {
        return Some(PathBuf::from("promtool"));
    }
    if std::env::var("SLO_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1") {
        panic!("promtool is required (SLO_REQUIRE_PROMTOOL=1) but neither {} nor `promtool` runs", pinned.display());
    }
    None
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn data_import_round_trips_through_the_prometheus_tsdb() {
    let Some(promtool) = promtool() else {
        eprintln!("skipped: promtool not found (set SLO_REQUIRE_PROMTOOL=1 to make this fail)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let err = super::common::synth_openmetrics(d.path());
    assert!(err.contains("staleness markers written as NaN"), "synth writes scrape gaps: {err}");
    run(Command::new(&promtool).args(["tsdb", "create-blocks-from", "openmetrics", &p("orig.om"), &p("tsdb")]));
    // `tsdb dump` opens the directory as a database, which needs a WAL dir.
    std::fs::create_dir_all(d.path().join("tsdb/wal")).unwrap();
    let dump = run(Command::new(&promtool).args(["tsdb", "dump", &p("tsdb")]));
    std::fs::write(d.path().join("dump.txt"), &dump).unwrap();
    let err = import_ok(&["--nan-as-stale", &p("dump.txt")], &p("back.parquet"));
    assert!(err.contains("(tsdb-dump)"), "{err}");

    let report = |data: &str| {
        let (code, out, err) = slo(&["backtest", "bench/bench.slo", "--data", data, "--format", "json", "--quiet"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let (a, b) = (report(&p("orig.parquet")), report(&p("back.parquet")));
    let fired = a["slos"][0]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["firing"].as_array().is_some_and(|f| !f.is_empty()));
    assert!(fired, "the incident fires an alert: {a}");
    for key in ["slos", "evaluations", "from", "to"] {
        assert_eq!(a[key], b[key], "`{key}` differs after the round trip");
    }
    // Every sample, marker and label came back: the text is identical.
    let (code, _, err) = slo(&["data", "export", &p("back.parquet"), "--out", &p("back.om")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(p("orig.om")).unwrap() == std::fs::read(p("back.om")).unwrap(),
        "the exported text differs after the round trip"
    );
}

/// `query_range` output sits on its step: import and inspect say so
/// (`slo::data::resampled`); raw scrape times, a millisecond off the
/// grid, do not trigger it.
#[test]
fn resampled_data_is_flagged_on_import_and_inspect() {
    let d = tempfile::tempdir().unwrap();
    let doc = |jitter: i64| {
        let values: Vec<String> = (0..40)
            .map(|k| format!("[{}, \"{k}\"]", (1_767_225_600_000 + k * 15_000 + jitter * (k % 2)) as f64 / 1000.0))
            .collect();
        format!(
            "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{{\"metric\":{{\"__name__\":\"up\",\"job\":\"a\"}},\"values\":[{}]}}]}}}}",
            values.join(",")
        )
    };
    for (jitter, flagged) in [(0, true), (1, false)] {
        let json = d.path().join(format!("r{jitter}.json"));
        std::fs::write(&json, doc(jitter)).unwrap();
        let out = d.path().join(format!("r{jitter}.parquet"));
        let err = import_ok(&[json.to_str().unwrap()], out.to_str().unwrap());
        assert_eq!(err.contains("warning[slo::data::resampled]: every sample sits on one 15s grid"), flagged, "{err}");
        let (code, stdout, err) = slo(&["data", "inspect", out.to_str().unwrap(), "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(err.contains("slo::data::resampled"), flagged, "{err}");
        let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(r["grid"].is_object(), flagged, "{stdout}");
        if flagged {
            assert_eq!(r["grid"]["step_ms"], 15_000);
        }
    }
}
