//! The live loop against real Prometheus servers (2.42 and 3.5) on
//! loopback, never a mock: a scripted exporter (steady traffic, an
//! incident, a counter reset and a scrape gap) is scraped every second;
//! the compiled rules are deployed by a config reload and evaluate every
//! second; then
//!
//! 1. `slo backfill` of the history before the deployment, at the offsets
//!    the rule file's path gives (`--rule-dir`), is moved into the running
//!    server's data directory and served by it;
//! 2. the rules are deployed (a reload) and run through an incident, a
//!    counter reset and a scrape gap;
//! 3. every sample the server holds of the rules' series — backfilled and
//!    live: recorded series, `ALERTS`, `ALERTS_FOR_STATE` — equals one
//!    continuous replay of the pulled raw data (1e-9), with no evaluation
//!    between the backfill's end and the first live one (`--downtime`): the
//!    live rules continue the backfilled bucket series and running sums
//!    without a jump; and the offsets read from the server
//!    (`--offsets-from-server`) are the ones the path gave.
//!
//! Each run takes about two minutes of wall time; the two versions run in
//! parallel. With `SLO_REQUIRE_PROMTOOL=1` (CI) missing servers fail the
//! test instead of skipping it.

use super::common::*;
use super::pull::{probe_agent, promtool, server_bin, start, Start};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SLO: &str = r#"service live {
  owner = "sre"
}

alerts quick() {
  tier LiveBurnFast {
    windows = 2m / 1m
    burn = 10x
    severity = page
    for = 5s
  }
}

slo availability for live {
  objective = 99% over 1h
  sli events {
    bad = http_requests_total{job="live", code=~"5.."}
    total = http_requests_total{job="live"}
  }
  alerts = quick()
}

slo monthly for live {
  objective = 99% over calendar month
  sli events {
    bad = http_requests_total{job="live", code=~"5.."}
    total = http_requests_total{job="live"}
  }
}
"#;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The exporter's counters `t` seconds after it started, the script
/// starting at `go` seconds (when the rules are deployed): 20 good
/// requests/s and 0.2 errors/s; from `go` + 5 s to + 35 s 20 errors/s (the
/// incident); both counters back to 0 at + 20 s (a restart); a 503 from
/// + 40 s to + 45 s (a failed scrape: the server marks the series stale).
fn exposition(t: f64, go: f64) -> Option<String> {
    let r = t - go;
    if (40.0..45.0).contains(&r) {
        return None;
    }
    let errors_at = |t: f64| 0.2 * t + 19.8 * (t - go - 5.0).clamp(0.0, 30.0);
    let since = if r >= 20.0 { go + 20.0 } else { 0.0 };
    let ok = 20.0 * (t - since);
    let bad = errors_at(t) - errors_at(since);
    Some(format!(
        "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {ok:.3}\nhttp_requests_total{{code=\"500\"}} {bad:.3}\n"
    ))
}

/// Serves [`exposition`] on a loopback port until `stop` is set; the
/// script starts when `go` (ms since the start) is set.
fn exporter(stop: Arc<AtomicBool>, go: Arc<AtomicU64>) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let t0 = Instant::now();
    let h = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let _ = conn.set_nonblocking(false);
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let go = go.load(Ordering::Relaxed) as f64 / 1000.0;
            let reply = match exposition(t0.elapsed().as_secs_f64(), go) {
                Some(body) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            };
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    (addr, h)
}

/// `(labels without __name__ sorted, with __name__) → (ts ms → value)`.
type Samples = BTreeMap<Vec<(String, String)>, BTreeMap<i64, f64>>;

/// Parses `slo data export`'s OpenMetrics lines.
fn parse_om(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (name, rest) = line.split_at(line.find(['{', ' ']).unwrap());
        let mut labels = vec![("__name__".to_string(), name.to_string())];
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let end = body.find("} ").unwrap();
            for pair in body[..end].split("\",").filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once("=\"").unwrap();
                labels.push((k.to_string(), v.trim_end_matches('"').to_string()));
            }
            &body[end + 2..]
        } else {
            rest.trim_start()
        };
        labels.sort();
        let (v, ts) = rest.split_once(' ').unwrap();
        let ts = (ts.parse::<f64>().unwrap() * 1000.0).round() as i64;
        out.entry(labels).or_default().insert(ts, parse_value(v));
    }
    out
}

fn parse_value(v: &str) -> f64 {
    match v {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap(),
    }
}

/// Every sample of the rules' series the server at `url` holds up to `at`.
fn server_samples(url: &str, at: i64, range_s: i64) -> Samples {
    let q = format!("{{__name__=~\"slo:.+|ALERTS|ALERTS_FOR_STATE\"}}[{range_s}s]");
    let mut resp = probe_agent(false)
        .get(format!("{url}/api/v1/query"))
        .query("query", &q)
        .query("time", format!("{}.{:03}", at / 1000, at % 1000))
        .call()
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["status"], "success", "{body}");
    let mut out = Samples::new();
    for s in body["data"]["result"].as_array().unwrap() {
        let mut labels: Vec<(String, String)> = s["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        labels.sort();
        let e = out.entry(labels).or_default();
        for p in s["values"].as_array().unwrap() {
            let ts = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            e.insert(ts, parse_value(p[1].as_str().unwrap()));
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Where an alert's series differ only because its expression crossed
/// its threshold one evaluation apart (`step` ms): each timestamp only one
/// side has lies next to one both have (a run starting or ending one
/// evaluation apart, or pending one evaluation less), and
/// `ALERTS_FOR_STATE` (the time the alert became active, in seconds)
/// differs by one step. Returns how many samples differ so, or `None` if
/// any differs otherwise.
fn shifted_by_one_step(
    k: &[(String, String)],
    w: &BTreeMap<i64, f64>,
    g: &BTreeMap<i64, f64>,
    step: i64,
) -> Option<usize> {
    let alert = k.iter().any(|(n, v)| n == "__name__" && (v == "ALERTS" || v == "ALERTS_FOR_STATE"));
    if !alert {
        return None;
    }
    let both = |t: i64| w.contains_key(&t) && g.contains_key(&t);
    let mut n = 0;
    for (t, _) in w.iter().filter(|(t, _)| !g.contains_key(*t)).chain(g.iter().filter(|(t, _)| !w.contains_key(*t))) {
        if !(both(t - step) || both(t + step)) {
            return None;
        }
        n += 1;
    }
    for (t, x) in w.iter().filter(|(t, _)| g.contains_key(*t)) {
        let y = g[t];
        if !close(*x, y) {
            if ((x - y).abs() - step as f64 / 1000.0).abs() > 1e-3 {
                return None;
            }
            n += 1;
        }
    }
    Some(n)
}

/// The samples of `want` and `got` in `[lo, hi]` are the same series and
/// timestamps, and their values agree within `tol` (relative) — within
/// 1e-9 for all but `loose` of them. Where some differ (`loose` > 0), an
/// alert may fire one evaluation (`step` ms) apart ([`shifted_by_one_step`]):
/// those samples count among the `loose`, and some recorded sample must
/// differ too. Returns how many were compared.
fn compare(what: &str, want: &Samples, got: &Samples, (lo, hi): (i64, i64), loose: (usize, f64), step: i64) -> usize {
    let cut = |s: &Samples| -> Samples {
        s.iter()
            .map(|(k, v)| (k.clone(), v.range(lo..=hi).map(|(t, x)| (*t, *x)).collect::<BTreeMap<_, _>>()))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    };
    let (want, got) = (cut(want), cut(got));
    let name = |k: &Vec<(String, String)>| format!("{k:?}");
    let missing: Vec<String> = want.keys().filter(|k| !got.contains_key(*k)).map(name).collect();
    let extra: Vec<String> = got.keys().filter(|k| !want.contains_key(*k)).map(name).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: series only replayed: {missing:?}\nonly on the server: {extra:?}"
    );
    let (mut n, mut inexact, mut shifted) = (0, 0, 0);
    let mut bad = Vec::new();
    for (k, w) in &want {
        let g = &got[k];
        let wt: Vec<&i64> = w.keys().collect();
        let gt: Vec<&i64> = g.keys().collect();
        if loose.0 > 0 {
            if let Some(m) = shifted_by_one_step(k, w, g, step).filter(|&m| m > 0) {
                eprintln!("{what}: {k:?}: {m} samples one evaluation apart:\nreplayed {wt:?}\nserver   {gt:?}");
                shifted += m;
                n += w.len();
                continue;
            }
        }
        assert!(wt == gt, "{what}: {k:?}: timestamps differ:\nreplayed {wt:?}\nserver   {gt:?}");
        let wrong: Vec<(i64, f64, f64)> =
            w.iter().filter(|(t, x)| !close(**x, g[*t])).map(|(t, x)| (*t, *x, g[t])).collect();
        for (t, x, y) in &wrong {
            let rel = (x - y).abs() / x.abs().max(y.abs());
            if rel > loose.1 {
                bad.push(format!("{k:?} at {t}: replayed {x}, server {y} (relative {rel:.2e})"));
            }
        }
        if let Some((t, x, y)) = wrong.first() {
            eprintln!(
                "{what}: {k:?}: {} of {} samples differ, first at {t}: replayed {x}, server {y}",
                wrong.len(),
                w.len()
            );
        }
        inexact += wrong.len();
        n += w.len();
    }
    assert!(bad.is_empty(), "{what}:\n{}", bad.join("\n"));
    assert!(shifted == 0 || inexact > 0, "{what}: alerts fired one evaluation apart, but no recorded sample differs");
    assert!(inexact + shifted <= loose.0, "{what}: {} of {n} samples differ by more than 1e-9", inexact + shifted);
    n
}

fn live_loop(version: &str, labels_hash: &str) {
    let Some(bin) = server_bin(version) else { return };
    let Some(promtool) = promtool() else { return };
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    std::fs::write(p("live.slo"), SLO).unwrap();
    let rules = d.path().join("rules");
    let (code, _, err) = slo(&["compile", &p("live.slo"), "--out", rules.to_str().unwrap(), "--eval-interval", "1s"]);
    assert_eq!(code, 0, "{err}");
    let rule_file = rules.join("live.rules.yml");
    assert!(rule_file.is_file());
    let rule_dir = rules.to_str().unwrap().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let go = Arc::new(AtomicU64::new(u64::MAX));
    let t0 = Instant::now();
    let (target, exporter) = exporter(stop.clone(), go.clone());
    // Prometheus 3 evaluates the rules 1.5 s in the past (`rule_query_offset`,
    // which 2.x lacks): a scrape ingested late under load is still in the
    // window, and the replay must model the offset (`--query-offset`; half
    // an interval moves every group's phase).
    let query_offset = (version == "3").then_some("1500ms");
    let config = |with_rules: bool| {
        let offset = query_offset.map(|q| format!("  rule_query_offset: {q}\n")).unwrap_or_default();
        let mut c = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{offset}scrape_configs:\n  - job_name: live\n    static_configs:\n      - targets: [\"{target}\"]\n"
        );
        if with_rules {
            c += &format!("rule_files:\n  - {}\n", rule_file.display());
        }
        c
    };
    let start_ms = now_ms();
    let from = format!("{}.{:03}", start_ms / 1000, start_ms % 1000);
    let ts = |ms: i64| format!("{}.{:03}", ms / 1000, ms % 1000);
    let first = config(false);
    let how = Start { flags: vec!["--web.enable-lifecycle".into()], config: Some(&first), ..Default::default() };
    let tsdb = d.path().join("tsdb");
    let server = start(&bin, &tsdb, d.path(), &how);
    let agent = probe_agent(false);

    // History without rules; then its backfill, up to the deployment `cut`,
    // at the offsets the rule file's path gives.
    std::thread::sleep(Duration::from_secs(30));
    let deploy = now_ms() - 1_000;
    let blocks = d.path().join("blocks");
    let (slo_path, to, out) = (p("live.slo"), ts(deploy), blocks.to_str().unwrap().to_string());
    let mut history = vec!["backfill", &slo_path, "--url", &server.url, "--rule-dir", &rule_dir];
    history.extend(["--labels-hash", labels_hash, "--from", &from, "--to", &to, "--step", "1s", "--out", &out]);
    history.extend(["--promtool", promtool.to_str().unwrap()]);
    if let Some(q) = query_offset {
        history.extend(["--query-offset", q]);
    }
    let (code, _, err) = slo(&history);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("block(s)"), "{err}");
    let mut moved = 0;
    for e in std::fs::read_dir(&blocks).unwrap() {
        let e = e.unwrap();
        if e.path().join("meta.json").is_file() {
            std::fs::rename(e.path(), tsdb.join(e.file_name())).unwrap();
            moved += 1;
        }
    }
    assert!(moved > 0);
    // The server loads new blocks within a minute (its block reload), no restart.
    let deadline = Instant::now() + Duration::from_secs(150);
    while server_samples(&server.url, deploy, 60).is_empty() {
        assert!(Instant::now() < deadline, "Prometheus {version} did not load the backfilled blocks");
        std::thread::sleep(Duration::from_secs(1));
    }
    // Then the deployment (a reload) and the script: incident, reset, gap.
    std::fs::write(d.path().join("prometheus.yml"), config(true)).unwrap();
    let reloaded = agent.post(format!("{}/-/reload", server.url)).send_empty().unwrap();
    assert_eq!(reloaded.status(), 200);
    go.store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(55));
    let cut = now_ms() - 2_000;
    stop.store(true, Ordering::Relaxed);
    exporter.join().unwrap();
    let range_s = (cut - start_ms) / 1000 + 60;
    let served = server_samples(&server.url, cut, range_s);
    let first_eval = served.values().flat_map(|v| v.keys()).filter(|t| **t >= deploy).min().copied();
    let first_eval = first_eval.expect("the deployed rules recorded nothing");
    let live: usize = served.values().map(|v| v.range(first_eval..).count()).sum();
    assert!(live > 500, "only {live} live samples");

    // The replay of the pulled raw data over the whole range, nothing
    // evaluated between the backfill's end and the rules' first evaluation.
    let replay = |schedule: &[&str], out: &str| {
        let slo_path = p("live.slo");
        let gap = format!("{}..{}", ts(deploy), ts(first_eval));
        let to = ts(cut + 1);
        let mut args: Vec<&str> = vec![
            "backfill",
            &slo_path,
            "--url",
            &server.url,
            "--from",
            &from,
            "--to",
            &to,
            "--step",
            "1s",
            "--downtime",
            &gap,
            "--openmetrics",
            out,
            "--quiet",
        ];
        args.extend(schedule);
        let (code, _, err) = slo(&args);
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(out).unwrap()
    };
    let mut by_rule_dir = vec!["--rule-dir", &rule_dir, "--labels-hash", labels_hash];
    if let Some(q) = query_offset {
        by_rule_dir.extend(["--query-offset", q]);
    }
    let whole = replay(&by_rule_dir, &p("whole.om"));
    let expected = parse_om(&whole);
    // The offsets the server shows (its `slo:info` timestamps) are the ones
    // the rule file's path gave.
    let mut from_server = vec!["--offsets-from-server"];
    if let Some(q) = query_offset {
        from_server.extend(["--query-offset", q]);
    }
    let by_server = replay(&from_server, &p("by_server.om"));
    assert!(
        by_server == whole,
        "--offsets-from-server gives other offsets than --rule-dir {rule_dir} --labels-hash {labels_hash}"
    );
    let alerts = |s: &Samples| s.keys().filter(|k| k.iter().any(|(_, v)| v == "ALERTS")).count();
    assert!(alerts(&served) >= 2, "the incident fires (pending and firing): {:?}", served.keys().collect::<Vec<_>>());
    // History (backfilled) and live evaluations: one continuous replay.
    // Prometheus 2.x evaluates a few raw-rate ratios differently from the
    // 3.x semantics the replay implements (at most 2% of the samples, each
    // within 1%), and so, where one is next to a threshold, may fire an
    // alert one evaluation apart (seen once in CI: firing a second
    // earlier); 3.x agrees on every sample.
    let loose = if version == "2" { (served.values().map(|v| v.len()).sum::<usize>() / 50, 0.01) } else { (0, 0.0) };
    let n = compare(
        &format!("Prometheus {version} (backfilled up to {deploy}, live from {first_eval})"),
        &expected,
        &served,
        (start_ms, cut),
        loose,
        1_000,
    );
    eprintln!("Prometheus {version}: {n} samples equal the replay (history backfilled up to {deploy}, live from {first_eval})");
    drop(server);
}

#[test]
fn live_prometheus_2_agrees_with_replay_and_backfill() {
    live_loop("2", "slicelabels");
}

#[test]
fn live_prometheus_3_agrees_with_replay_and_backfill() {
    live_loop("3", "stringlabels");
}

/// Coded errors before any work: a directory slo did not write, a
/// promtool that does not run, an empty range; nothing written.
#[test]
fn backfill_refuses_foreign_directories_and_bad_ranges() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let (code, _, err) =
        slo(&["synth", "--out", &p("x.parquet"), "--series", "2", "--days", "1", "--resolution", "1m", "--seed", "3"]);
    assert_eq!(code, 0, "{err}");
    std::fs::create_dir(p("full")).unwrap();
    std::fs::write(p("full/mine.txt"), "keep").unwrap();
    let run = |out: &str, from: &str, to: &str| {
        slo(&[
            "backfill",
            "bench/bench.slo",
            "--data",
            &p("x.parquet"),
            "--from",
            from,
            "--to",
            to,
            "--out",
            out,
            "--promtool",
            "/nonexistent/promtool",
            "--quiet",
        ])
    };
    let (code, _, err) = run(&p("full"), "2026-01-01T06:00:00Z", "2026-01-01T07:00:00Z");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::backfill::out") && err.contains("not empty"), "{err}");
    let (code, _, err) = run(&p("out"), "2026-01-01T06:00:00Z", "2026-01-01T07:00:00Z");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::backfill::promtool"), "{err}");
    let (code, _, err) = run(&p("out"), "2026-01-01T07:00:00Z", "2026-01-01T06:00:00Z");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::backfill::range"), "{err}");
    assert_eq!(std::fs::read_to_string(p("full/mine.txt")).unwrap(), "keep");
    assert!(!Path::new(&p("out")).exists());
}

/// The tolerance for Prometheus 2 takes an alert firing one evaluation
/// apart (the CI case: firing a second earlier, and its activation time
/// a second apart), and nothing else.
#[test]
fn alerts_one_evaluation_apart_are_told_from_other_differences() {
    let key = |name: &str| vec![("__name__".to_string(), name.to_string())];
    let run = |ts: std::ops::Range<i64>, v: f64| -> BTreeMap<i64, f64> { ts.map(|t| (t * 1000, v)).collect() };
    let firing = key("ALERTS");
    // Firing one second earlier on the server, or ending one later.
    assert_eq!(shifted_by_one_step(&firing, &run(10..20, 1.0), &run(9..20, 1.0), 1000), Some(1));
    assert_eq!(shifted_by_one_step(&firing, &run(10..20, 1.0), &run(10..21, 1.0), 1000), Some(1));
    assert_eq!(shifted_by_one_step(&firing, &run(10..20, 1.0), &run(10..20, 1.0), 1000), Some(0));
    // Two seconds apart, or three evaluations missing: not a shift.
    assert_eq!(shifted_by_one_step(&firing, &run(10..20, 1.0), &run(8..20, 1.0), 1000), None);
    let mut gap = run(10..20, 1.0);
    for t in [14_000, 15_000, 16_000] {
        gap.remove(&t);
    }
    assert_eq!(shifted_by_one_step(&firing, &run(10..20, 1.0), &gap, 1000), None);
    // The activation time one second apart (within 1e-9 of such a value,
    // so only the extra sample counts), and not two.
    let state = key("ALERTS_FOR_STATE");
    assert_eq!(
        shifted_by_one_step(&state, &run(10..20, 1_796_589_177.23), &run(9..20, 1_796_589_176.23), 1000),
        Some(1)
    );
    assert_eq!(shifted_by_one_step(&state, &run(10..20, 1_796_589_177.23), &run(10..20, 1_796_589_175.23), 1000), None);
    // Recorded series are never taken as shifted.
    assert_eq!(
        shifted_by_one_step(&key("slo:sli_error:ratio_rate5m"), &run(10..20, 0.1), &run(9..20, 0.1), 1000),
        None
    );
}
