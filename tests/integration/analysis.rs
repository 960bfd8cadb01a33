//! Backtest analysis: alert quality against the SRE Workbook's closed
//! forms, incidents (derived and from a file), what-if sweeps, compliance
//! periods, and the HTML report rendered in headless Chromium.

use super::common::{repo, slo, write_parquet};
use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 2026-01-31T00:00:00Z.
const START_MS: i64 = 1_769_817_600_000;
const HOUR_MS: i64 = 3_600_000;
/// The incident: 36 h into the data (2026-02-01T12:00Z), 2 h long.
const INCIDENT_MS: i64 = START_MS + 36 * HOUR_MS;
const INCIDENT_LEN_MS: i64 = 2 * HOUR_MS;
/// Error ratio during the incident, from a clean history.
const E: f64 = 0.5;
/// Budget of the 99% objective below.
const B: f64 = 0.01;
const T_S: f64 = 30.0 * 86_400.0;

const SLO: &str = r#"
import std.alerting.{google_30d}

service svc {
  owner = "test"
}

alerts closed_form() {
  tier Fast {
    windows = 1h / 5m
    burn = 14.4x
    severity = page
  }
  tier Slow {
    windows = 6h / 30m
    burn = 6x
    severity = ticket
  }
}

slo availability for svc {
  objective = 99% over 30d
  sli events {
    bad = http_requests_total{job="svc", code=~"5.."}
    total = http_requests_total{job="svc"}
  }
  alerts = closed_form()
}
"#;

/// 48 h of two counters at 15 s: 10 requests/s in all, and from
/// INCIDENT_MS for 2 h, half of them errors.
fn dataset(dir: &Path) -> (PathBuf, PathBuf) {
    let slo_path = dir.join("svc.slo");
    std::fs::write(&slo_path, SLO).unwrap();
    let step = 15_000;
    let n = (48 * HOUR_MS / step) as usize;
    let (mut ts, mut code, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for (c, bad) in [("200", false), ("500", true)] {
        let mut x = 0.0;
        for i in 0..n {
            let t = START_MS + i as i64 * step;
            ts.push(t);
            code.push(c);
            v.push(x);
            // Requests in (t, t + step].
            let in_incident = (INCIDENT_MS..INCIDENT_MS + INCIDENT_LEN_MS).contains(&t);
            let rate = match (bad, in_incident) {
                (false, false) => 10.0,
                (false, true) => 10.0 * (1.0 - E),
                (true, false) => 0.0,
                (true, true) => 10.0 * E,
            };
            x += rate * 15.0;
        }
    }
    let len = ts.len();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("timestamp", Arc::new(Int64Array::from(ts))),
        ("__name__", Arc::new(StringArray::from(vec!["http_requests_total"; len]))),
        ("job", Arc::new(StringArray::from(vec!["svc"; len]))),
        ("code", Arc::new(StringArray::from(code))),
        ("value", Arc::new(Float64Array::from(v))),
    ];
    let data = dir.join("svc.parquet");
    write_parquet(&data, cols);
    (slo_path, data)
}

fn run(args: &[&str]) -> Value {
    let (code, out, err) = slo(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn backtest(slo_path: &Path, data: &Path, extra: &[&str]) -> Value {
    let mut args =
        vec!["backtest", slo_path.to_str().unwrap(), "--data", data.to_str().unwrap(), "--format", "json", "--quiet"];
    args.extend_from_slice(extra);
    let v = run(&args);
    assert_eq!(v["schema"], "slo.backtest/v2");
    v
}

fn quality<'a>(slo: &'a Value, alert: &str) -> &'a Value {
    slo["alert_quality"].as_array().unwrap().iter().find(|q| q["alert"] == alert).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Within one evaluation step (1m) after the closed form's instant.
fn within_a_step(got: f64, closed: f64, what: &str) {
    assert!(got >= closed - 1e-6 && got <= closed + 60.0 + 1e-6, "{what}: {got}s, closed form {closed}s");
}

#[test]
fn alert_quality_matches_the_workbook_closed_forms() {
    let d = tempfile::tempdir().unwrap();
    let (slo_path, data) = dataset(d.path());
    let csv = d.path().join("incidents.csv");
    std::fs::write(
        &csv,
        "start,end,service,slo,title\n2026-02-01T12:00:00Z,2026-02-01T14:00:00Z,svc,availability,half the requests fail\n\
         2026-01-31T06:00:00Z,2026-01-31T07:00:00Z,other,,another service's incident\n",
    )
    .unwrap();
    let v = backtest(&slo_path, &data, &["--incidents", csv.to_str().unwrap()]);
    assert_eq!(v["analysis"]["incidents"], format!("file:{}", csv.display()));
    let s = &v["slos"][0];
    assert_eq!(s["incidents"].as_array().unwrap().len(), 1, "the other service's incident does not apply");
    for (alert, b_star, long_s, short_s) in [("Fast", 14.4, 3600.0, 300.0), ("Slow", 6.0, 21600.0, 1800.0)] {
        let q = quality(s, alert);
        assert_eq!((f(&q["fired"]), f(&q["precision"]), f(&q["recall"])), (1.0, 1.0, 1.0), "{q}");
        // Detection: the long window's error ratio e·t/W reaches b*·B at t = b*·B·W/e.
        let detect = b_star * B * long_s / E;
        within_a_step(f(&q["detection_seconds"]["median"]), detect, &format!("{alert} detection"));
        // Reset: after a long outage the short window decides, W·(1 − b*·B/e).
        within_a_step(f(&q["reset_seconds"]["median"]), short_s * (1.0 - b_star * B / E), &format!("{alert} reset"));
        // Budget spent before detection: e·t / (B·T), up to one 5m bucket.
        let t = f(&q["detection_seconds"]["median"]);
        let spent = f(&q["budget_before_detection"]["median"]);
        let closed = E * t / (B * T_S);
        assert!((spent - closed).abs() <= E * 300.0 / (B * T_S) + 1e-9, "{alert}: spent {spent}, closed form {closed}");
        // One firing over two days.
        assert!((f(&q["per_week"]) - 3.5).abs() < 1e-9, "{q}");
    }
    // Fast: 1036.8 s, i.e. the 18th minute; 1h at 14.4x is 2% of a 30d budget.
    assert_eq!(f(&quality(s, "Fast")["detection_seconds"]["median"]), 1080.0);
    let inc = &s["incidents"][0];
    assert_eq!(inc["detected_by"], "Fast");
    assert_eq!(inc["source"], "file");
    // 2 h at a burn rate of 50 is 50·2h/30d of the budget.
    assert!((f(&inc["budget_spent"]) - 50.0 * 2.0 / 720.0).abs() < 1e-9, "{inc}");
    // The policy over both tiers.
    let all = quality(s, "*");
    assert_eq!((f(&all["fired"]), f(&all["detected"])), (2.0, 1.0), "{all}");
}

#[test]
fn incidents_are_derived_from_the_budget_the_data_consumed() {
    let d = tempfile::tempdir().unwrap();
    let (slo_path, data) = dataset(d.path());
    let v = backtest(&slo_path, &data, &[]);
    assert_eq!(v["analysis"]["incidents"], "derived");
    let inc = v["slos"][0]["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert_eq!(inc[0]["start"], "2026-02-01T12:00:00Z");
    assert_eq!(inc[0]["end"], "2026-02-01T14:00:00Z");
    assert_eq!(inc[0]["source"], "derived");
    assert!((f(&inc[0]["budget_spent"]) - 50.0 * 2.0 / 720.0).abs() < 1e-9, "{}", inc[0]);
    // Above the threshold the incident is not significant.
    let v = backtest(&slo_path, &data, &["--incident-budget", "15%"]);
    assert!(v["slos"][0]["incidents"].as_array().unwrap().is_empty());
}

#[test]
fn an_incidents_file_in_yaml_reads_like_csv_and_bad_rows_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let (slo_path, data) = dataset(d.path());
    let csv = d.path().join("i.csv");
    std::fs::write(&csv, "start,end,title\n2026-02-01T12:00:00Z,2026-02-01T14:00:00Z,outage\n").unwrap();
    let yaml = d.path().join("i.yaml");
    std::fs::write(&yaml, "incidents:\n  - start: 1769947200\n    end: 2026-02-01T14:00:00Z\n    title: outage\n")
        .unwrap();
    let mut a = backtest(&slo_path, &data, &["--incidents", csv.to_str().unwrap()]);
    let mut b = backtest(&slo_path, &data, &["--incidents", yaml.to_str().unwrap()]);
    a["analysis"]["incidents"] = Value::Null;
    b["analysis"]["incidents"] = Value::Null;
    assert_eq!(a, b);
    let bad = d.path().join("bad.csv");
    std::fs::write(&bad, "start,end\n2026-02-01T14:00:00Z,2026-02-01T12:00:00Z\nyesterday,2026-02-01T12:00:00Z\n")
        .unwrap();
    let with_incidents = |file: &Path| {
        let args = ["backtest", slo_path.to_str().unwrap(), "--data", data.to_str().unwrap(), "--incidents"];
        slo(&[&args[..], &[file.to_str().unwrap()]].concat())
    };
    let (code, _, err) = with_incidents(&bad);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("incident 1: ends") && err.contains("incident 2: start and end"), "{err}");
    // An incident that names an SLO or service the sources do not declare
    // would match nothing and silently count for nothing: each such row is
    // an error.
    let unknown = d.path().join("unknown.csv");
    std::fs::write(
        &unknown,
        "start,end,service,slo,title\n\
         2026-02-01T12:00:00Z,2026-02-01T14:00:00Z,svc,availability,known\n\
         2026-02-01T12:00:00Z,2026-02-01T14:00:00Z,svc,availabilty,typo\n\
         2026-02-01T12:00:00Z,2026-02-01T14:00:00Z,svx,,no such service\n\
         2026-02-01T12:00:00Z,2026-02-01T14:00:00Z,,latency,no such slo\n",
    )
    .unwrap();
    let (code, _, err) = with_incidents(&unknown);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::backtest::incidents"), "{err}");
    assert!(!err.contains("incident 1:"), "{err}");
    assert!(err.contains("incident 2: service `svc` has no SLO `availabilty`"), "{err}");
    assert!(err.contains("incident 3: no service `svx` in the checked sources (did you mean `svc`?)"), "{err}");
    assert!(err.contains("incident 4: no SLO `latency`"), "{err}");
}

#[test]
fn compliance_periods_follow_the_calendar() {
    let d = tempfile::tempdir().unwrap();
    let (slo_path, data) = dataset(d.path());
    let v = backtest(&slo_path, &data, &[]);
    let c = v["slos"][0]["compliance"].as_array().unwrap();
    assert_eq!(c.len(), 2, "{c:?}");
    let (jan, feb) = (&c[0], &c[1]);
    assert_eq!((jan["period"].as_str(), feb["period"].as_str()), (Some("2026-01"), Some("2026-02")));
    assert!((f(&jan["coverage"]) - 1.0 / 31.0).abs() < 1e-9, "{jan}");
    assert_eq!((f(&jan["attainment"]), jan["met"].as_bool()), (1.0, Some(true)));
    assert_eq!((f(&jan["incidents"]), f(&jan["pages"]), f(&jan["tickets"])), (0.0, 0.0, 0.0));
    // February: 2 h at 50% errors in (almost) a day of traffic.
    let att = f(&feb["attainment"]);
    assert!((att - (1.0 - 1.0 / 24.0)).abs() < 1e-3, "{feb}");
    assert_eq!(feb["met"], false);
    assert!((f(&feb["budget_consumed"]) - (1.0 - att) / B).abs() < 1e-9, "{feb}");
    assert_eq!((f(&feb["incidents"]), f(&feb["pages"]), f(&feb["tickets"])), (1.0, 1.0, 1.0));
    // Weeks: both days fall in ISO week 5 of 2026 (Monday 26 January).
    let v = backtest(&slo_path, &data, &["--compliance", "week"]);
    let c = v["slos"][0]["compliance"].as_array().unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0]["period"], "2026-W05");
    assert_eq!(c[0]["start"], "2026-01-26T00:00:00Z");
    assert!((f(&c[0]["coverage"]) - 2.0 / 7.0).abs() < 1e-3, "{}", c[0]);
}

fn row<'a>(s: &'a Value, objective: f64, alerts: &str) -> &'a Value {
    s["sweep"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| (f(&r["objective"]) - objective).abs() < 1e-12 && r["alerts"] == alerts)
        .unwrap_or_else(|| panic!("no sweep row {objective} {alerts}"))
}

#[test]
fn a_sweep_moves_thresholds_with_the_objective_and_recommends_with_a_margin() {
    let d = tempfile::tempdir().unwrap();
    let (slo_path, data) = dataset(d.path());
    let v = backtest(&slo_path, &data, &["--objective", "95%,97%,99%,99.5%", "--alerts", "own,google_30d"]);
    let s = &v["slos"][0];
    assert_eq!(s["sweep"].as_array().unwrap().len(), 8);
    // At the SLO's own objective and alerts the sweep is the replay.
    let own = row(s, 0.99, "own");
    for a in ["Fast", "Slow"] {
        let replay = s["alerts"].as_array().unwrap().iter().find(|x| x["alert"] == a).unwrap();
        assert_eq!(f(&own["fired"][a]["count"]), replay["firing"].as_array().unwrap().len() as f64);
        assert_eq!(f(&own["fired"][a]["seconds"]), f(&replay["firing_seconds"]));
    }
    // A tighter objective halves the threshold, so detection halves: b*·B·W/e.
    within_a_step(f(&row(s, 0.995, "own")["detection_median_seconds"]), 14.4 * 0.005 * 3600.0 / E, "Fast at 99.5%");
    assert_eq!(f(&row(s, 0.99, "own")["detection_median_seconds"]), 1080.0);
    // google_30d's 1h tier waits `for = 2m` on top.
    let g = row(s, 0.99, "google_30d");
    within_a_step(f(&g["detection_median_seconds"]), 14.4 * B * 3600.0 / E + 120.0, "google_30d 1h tier");
    // The period error peaks at the incident's end: 1h of errors in 38h.
    // At 97% the budget then falls to 1 − (1/38)/3% ≈ 12%: below a 25% margin.
    let rec = &s["recommendation"];
    assert_eq!(f(&rec["objective"]), 0.95, "{rec}");
    let lowest = f(&row(s, 0.97, "own")["budget_remaining_min"]);
    assert!((lowest - (1.0 - (1.0 / 38.0) / 0.03)).abs() < 0.01, "{lowest}");
    let v2 = backtest(&slo_path, &data, &["--objective", "95%,97%,99%", "--margin", "10%"]);
    assert_eq!(f(&v2["slos"][0]["recommendation"]["objective"]), 0.97);
    // An unknown preset is a usage error that names the known ones.
    let (code, _, err) =
        slo(&["backtest", slo_path.to_str().unwrap(), "--data", data.to_str().unwrap(), "--alerts", "no_such_policy"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no_such_policy") && err.contains("google_30d"), "{err}");
}

/// On the shipped data: at every SLO's own objective and alerts, the
/// sweep's native replay fires exactly as the compiled rules did.
#[test]
fn the_sweep_reproduces_the_replayed_alerts_on_the_example_data() {
    let v = run(&[
        "backtest",
        "examples/platform",
        "--data",
        "examples/data/platform.parquet",
        "--format",
        "json",
        "--quiet",
        "--objective",
        "95%,99%,99.5%,99.9%,99.95%,99.99%",
        "--alerts",
        "own",
    ]);
    let mut checked = 0;
    for s in v["slos"].as_array().unwrap() {
        let own = row(s, f(&s["objective"]), "own");
        assert!(own["skipped"].as_array().unwrap().is_empty(), "{own}");
        for (name, fired) in own["fired"].as_object().unwrap() {
            let replay: Vec<&Value> = s["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["alert"] == name.as_str() && a["labels"].get("policy").is_none())
                .collect();
            let count: usize = replay.iter().map(|a| a["firing"].as_array().unwrap().len()).sum();
            let secs: f64 = replay.iter().map(|a| f(&a["firing_seconds"])).sum();
            assert_eq!(f(&fired["count"]) as usize, count, "{}/{} {name}", s["service"], s["slo"]);
            assert_eq!(f(&fired["seconds"]), secs, "{}/{} {name}", s["service"], s["slo"]);
            checked += count;
        }
    }
    assert!(checked > 50, "only {checked} firings compared");
}

fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() && std::env::var_os("SLO_REQUIRE_CHROMIUM").is_some_and(|v| v == "1") {
        panic!("SLO_REQUIRE_CHROMIUM=1 but no chromium: apt-get install -y chromium");
    }
    found
}

fn headless(bin: &Path, profile: &Path, extra: &[&str], page: &Path) -> (String, String) {
    let mut cmd = std::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd.args(extra);
    cmd.arg(format!("file://{}", page.display()));
    let out = cmd.output().expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The HTML report of the shipped data: every chart is there, nothing
/// is fetched, and headless Chromium renders it without console errors.
/// The screenshot is kept in target/test-artifacts/.
#[test]
fn the_html_report_renders_every_chart_in_headless_chromium() {
    let d = tempfile::tempdir().unwrap();
    let page = d.path().join("report.html");
    let (code, _, err) = slo(&[
        "backtest",
        "examples/platform",
        "--data",
        "examples/data/platform.parquet",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
        "--quiet",
        "--objective",
        "99.5%,99.9%",
        "--alerts",
        "own,google_30d",
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    // 17 SLOs, one group each, 4 charts per group.
    assert_eq!(html.matches("<svg").count(), 17 * 4, "charts");
    for title in ["SLI over the window vs objective", "Error budget remaining", "Burn rate per window", "Alerts firing"]
    {
        assert_eq!(html.matches(title).count(), 17, "{title}");
    }
    assert!(!html.contains("chart not drawn"));
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("@import"), "self-contained");
    for table in ["Alert quality", "What-if sweep", "Compliance", "Recommendation:"] {
        assert!(html.contains(table), "{table}");
    }
    let Some(bin) = chromium() else {
        eprintln!("chromium not installed: the HTML was checked, not rendered");
        return;
    };
    let profile = d.path().join("profile");
    let (dom, log) = headless(&bin, &profile, &["--dump-dom"], &page);
    assert_eq!(dom.matches("<svg").count(), 17 * 4, "rendered DOM");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Failed to load")).collect();
    assert!(console.is_empty(), "console errors: {console:?}");
    let artifacts = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("backtest-report.png");
    let _ = std::fs::remove_file(&shot);
    headless(&bin, &profile, &["--window-size=1200,2600", &format!("--screenshot={}", shot.display())], &page);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000, "a real screenshot: {} bytes", png.len());
}

/// The HTML report is byte-identical from run to run, written atomically
/// with ordinary permissions, and a failed run leaves it untouched.
#[test]
fn the_html_report_is_deterministic_and_written_atomically() {
    let d = tempfile::tempdir().unwrap();
    let (slo_path, data) = dataset(d.path());
    let page = d.path().join("r.html");
    let args = |out: &Path| {
        vec![
            "backtest".to_string(),
            slo_path.to_str().unwrap().to_string(),
            "--data".into(),
            data.to_str().unwrap().into(),
            "--format".into(),
            "html".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--quiet".into(),
        ]
    };
    let run_to = |out: &Path| {
        let a = args(out);
        let (code, _, err) = slo(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{err}");
        std::fs::read(out).unwrap()
    };
    let first = run_to(&page);
    assert_eq!(first, run_to(&d.path().join("again.html")));
    let html = String::from_utf8(first.clone()).unwrap();
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(
        html.contains(">\nFast (page)\n</text>") && html.contains(">\nincidents\n</text>"),
        "bands name the alerts and incidents"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&page).unwrap().permissions().mode() & 0o777, 0o644);
    }
    // --format html without --out is a usage error; a failed run keeps the old file.
    let (code, _, err) =
        slo(&["backtest", slo_path.to_str().unwrap(), "--data", data.to_str().unwrap(), "--format", "html"]);
    assert_eq!(code, 2, "{err}");
    let mut bad = args(&page);
    bad[3] = d.path().join("missing.parquet").to_str().unwrap().into();
    let (code, _, _) = slo(&bad.iter().map(String::as_str).collect::<Vec<_>>());
    assert_ne!(code, 0);
    assert_eq!(std::fs::read(&page).unwrap(), first);
}

/// A grouped SLO: every analysis row belongs to a real group, the sweep
/// at the SLO's own settings fires per group as the compiled rules did,
/// and a recommendation is made.
#[test]
fn grouped_slos_are_analysed_per_group() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("g.parquet");
    let file = "examples/features/group_by.slo";
    // Two handlers of job "gateway" at 10 requests/s; "/pay" fails 20% for 3 h on day 2.
    let step = 15_000;
    let n = (72 * HOUR_MS / step) as usize;
    let (mut ts, mut handler, mut code, mut v) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for h in ["/browse", "/pay"] {
        for (c, bad) in [("200", false), ("500", true)] {
            let mut x = 0.0;
            for i in 0..n {
                let t = START_MS + i as i64 * step;
                ts.push(t);
                handler.push(h);
                code.push(c);
                v.push(x);
                let e = if h == "/pay" && (START_MS + 30 * HOUR_MS..START_MS + 33 * HOUR_MS).contains(&t) {
                    0.2
                } else {
                    0.0
                };
                x += 150.0 * if bad { e } else { 1.0 - e };
            }
        }
    }
    let len = ts.len();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("timestamp", Arc::new(Int64Array::from(ts))),
        ("__name__", Arc::new(StringArray::from(vec!["http_requests_total"; len]))),
        ("job", Arc::new(StringArray::from(vec!["gateway"; len]))),
        ("handler", Arc::new(StringArray::from(handler))),
        ("code", Arc::new(StringArray::from(code))),
        ("value", Arc::new(Float64Array::from(v))),
    ];
    write_parquet(&data, cols);
    let v = run(&[
        "backtest",
        file,
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
        "--quiet",
        "--objective",
        "90%,99%,99.9%",
        "--alerts",
        "own",
    ]);
    let s = v["slos"].as_array().unwrap().iter().find(|s| s["slo"] == "availability_per_route").unwrap();
    let groups = s["groups"].as_array().unwrap().len();
    assert!(groups >= 2, "{}", s["groups"]);
    let sweep = s["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 3 * groups, "one row per objective and group, none for a label-less pseudo-group");
    for r in sweep {
        assert!(r["labels"].get("handler").is_some(), "{r}");
    }
    for c in s["compliance"].as_array().unwrap() {
        assert!(c["labels"].get("handler").is_some(), "{c}");
    }
    assert!(s["recommendation"]["objective"].is_number(), "{}", s["recommendation"]);
    // Per group, the sweep at 99.9% with the own alerts fires as the compiled rules did.
    let mut firings = 0;
    for r in sweep.iter().filter(|r| (f(&r["objective"]) - 0.999).abs() < 1e-12) {
        for (name, fired) in r["fired"].as_object().unwrap() {
            let replay: Vec<&Value> = s["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["alert"] == name.as_str() && a["labels"]["handler"] == r["labels"]["handler"])
                .collect();
            let count: usize = replay.iter().map(|a| a["firing"].as_array().unwrap().len()).sum();
            assert_eq!(f(&fired["count"]) as usize, count, "{name} {}", r["labels"]);
            firings += count;
        }
    }
    assert!(firings > 0, "the incident must fire something");
}

/// An alert is told from a budget-policy action by what it was compiled
/// from, not by its labels: an alert labelled `policy` and `action` by its
/// team is still an alert (counted, its quality measured), and the one
/// real policy action is reported with its own target.
#[test]
fn alerts_labelled_like_policy_actions_are_still_alerts() {
    let d = tempfile::tempdir().unwrap();
    let (slo_path, data) = dataset(d.path());
    let text = SLO
        .replace(
            "    burn = 14.4x\n    severity = page\n",
            "    burn = 14.4x\n    severity = page\n    labels = { policy: \"oncall\", action: \"escalate\" }\n",
        )
        .replace(
            "  alerts = closed_form()\n}",
            "  alerts = closed_form()\n}\n\npolicy gate for svc.availability {\n  when burn_rate(1h) > 10x => notify \"slack-{{sre}}\" severity info as GateBurn\n}\n",
        );
    assert!(text.contains("policy: \"oncall\"") && text.contains("GateBurn"), "the SLO text was edited");
    std::fs::write(&slo_path, text).unwrap();
    let v = backtest(&slo_path, &data, &[]);
    let s = &v["slos"][0];
    let fast = quality(s, "Fast");
    assert_eq!(f(&fast["fired"]), 1.0, "{fast}");
    let policies = s["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1, "{policies:?}");
    assert_eq!(policies[0]["policy"], "gate");
    assert_eq!(policies[0]["action"], "notify");
    // The target as written, not as escaped for the alert's Go template.
    assert_eq!(policies[0]["target"], "slack-{{sre}}");
    assert_eq!(policies[0]["alert"], "GateBurn");
}
