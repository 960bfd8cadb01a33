//! Multi-cluster splits (`slo compile --split local|global`), against real
//! servers, never a mock:
//!
//! 1. two Prometheus 3.5 servers, each with `external_labels: {cluster:
//!    a|b}`, the local part as its rule file, and three hours of its own
//!    cluster's raw series (backfilled with `promtool tsdb
//!    create-blocks-from openmetrics`: cluster b has no error series on one
//!    route, a counter reset, and its own incident; queue-depth gauges for
//!    the timeslices SLIs' `avg`, `min` and `max`, one of them missing for
//!    a while);
//! 2. each server evaluates every local rule at every minute of the three
//!    hours (`query_range` at the rules' interval: what its rule manager
//!    records at those instants), and the series get the server's
//!    configured cluster label, as remote write or a Thanos sidecar adds it;
//! 3. promtool 3.5 `test rules` evaluates the global part over both
//!    clusters' local series, and the unsplit rules over the union of the
//!    raw series (each carrying its cluster label, as in a central store):
//!    every recorded series and `ALERTS` must agree at every minute, values
//!    within 1e-9.
//!
//! With `SLO_REQUIRE_PROMTOOL=1` (CI) missing binaries fail the test.

use super::backtest::{parse_answers, parse_v, promtool3, Answers};
use super::common::*;
use super::pull::{probe_agent, server_bin, start, Start};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const SLO: &str = "tests/split/multicluster.slo";
const SCRAPE_S: i64 = 15;
const STEP_S: i64 = 60;
const HOURS: i64 = 3;
const END_S: i64 = HOURS * 3600;

/// A series: labels (with `__name__`) and one value per scrape (`None`: no sample).
type Raw = Vec<(Vec<(String, String)>, Vec<Option<f64>>)>;

fn labels(name: &str, l: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = l.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    v.push(("__name__".into(), name.into()));
    v.sort();
    v
}

/// A counter growing by `rate(minute) · (1 + noise)` per second; reset to 0
/// at `reset` (minutes) if given.
fn counter(rate: impl Fn(f64) -> f64, salt: u64, reset: Option<f64>) -> Vec<Option<f64>> {
    let mut c = 0.0;
    (0..=END_S / SCRAPE_S)
        .map(|i| {
            let m = (i * SCRAPE_S) as f64 / 60.0;
            if reset.is_some_and(|r| (m - r).abs() < 1e-9) {
                c = 0.0;
            } else if i > 0 {
                c += (rate(m) * SCRAPE_S as f64 * (0.8 + 0.4 * noise(i as u64, salt))).round();
            }
            Some(c)
        })
        .collect()
}

/// One cluster's raw series: two routes, errors, a latency histogram.
fn cluster(name: &str) -> Raw {
    let b = name == "b";
    let salt = if b { 1000 } else { 0 };
    let mut out = Raw::new();
    for (k, route) in ["/", "/checkout"].into_iter().enumerate() {
        let k = k as u64;
        let base = if b { 30.0 } else { 12.0 } / (k as f64 + 1.0);
        let reset = (b && route == "/").then_some(95.0);
        let l = |code: &str| labels("http_requests_total", &[("job", "shop"), ("route", route), ("code", code)]);
        out.push((l("200"), counter(|_| base, salt + k, reset)));
        // Cluster b never served an error on `/`: no series (counts as 0).
        if b && route == "/" {
            continue;
        }
        let incident = move |m: f64| {
            let (from, to) = if b { (110.0, 130.0) } else { (50.0, 75.0) };
            if (from..to).contains(&m) {
                base * 0.3
            } else {
                base * 0.004
            }
        };
        out.push((l("500"), counter(incident, salt + 10 + k, None)));
    }
    // The latency histogram: slow requests in cluster a from 140m.
    let fast = move |m: f64| if !b && m >= 140.0 { 0.8 } else { 0.99 };
    let total = move |_: f64| if b { 20.0 } else { 8.0 };
    let h = |le: &str| labels("http_request_duration_seconds_bucket", &[("job", "shop"), ("le", le)]);
    out.push((h("0.1"), counter(move |m| total(m) * fast(m) * 0.5, salt + 20, None)));
    out.push((h("0.3"), counter(move |m| total(m) * fast(m), salt + 20, None)));
    out.push((h("+Inf"), counter(total, salt + 20, None)));
    out.push((labels("http_request_duration_seconds_count", &[("job", "shop")]), counter(total, salt + 20, None)));
    // Queue depths (gauges) of two instances per queue: cluster b's
    // `orders` queue backs up from 60m to 80m, and its instance i2 is gone
    // from 100m to 120m (fewer series in the `avg`); cluster a's `mail`
    // queue drains to 0 around 30m (its `min`).
    for (q, queue) in ["orders", "mail"].into_iter().enumerate() {
        for (n, instance) in ["i1", "i2"].into_iter().enumerate() {
            let l = labels("queue_depth", &[("job", "shop"), ("queue", queue), ("instance", instance)]);
            let salt = salt + 30 + 2 * q as u64 + n as u64;
            let values = (0..=END_S / SCRAPE_S)
                .map(|i| {
                    let m = (i * SCRAPE_S) as f64 / 60.0;
                    if b && instance == "i2" && (100.0..120.0).contains(&m) {
                        return None;
                    }
                    let base = if b && queue == "orders" && (60.0..80.0).contains(&m) { 70.0 } else { 15.0 };
                    let v = if !b && queue == "mail" && (25.0..35.0).contains(&m) {
                        (4.0 * noise(i as u64, salt)).floor()
                    } else {
                        (base + 25.0 * noise(i as u64, salt)).round()
                    };
                    Some(v)
                })
                .collect();
            out.push((l, values));
        }
    }
    out
}

/// `name{k="v",…}` (OpenMetrics allows no space after the commas).
fn selector(l: &[(String, String)]) -> String {
    let name = &l.iter().find(|(k, _)| k == "__name__").unwrap().1;
    let rest: Vec<String> = l.iter().filter(|(k, _)| k != "__name__").map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", rest.join(","))
}

fn openmetrics(raw: &Raw) -> String {
    let mut out = String::new();
    for (l, values) in raw {
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                out.push_str(&format!("{} {v} {}\n", selector(l), i as i64 * SCRAPE_S));
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// `promtool test rules` over `series` (`interval` seconds apart), one
/// query of every `slo:` series and `ALERTS` per minute.
fn promtool_answers(promtool: &Path, dir: &Path, rules: &Path, interval: i64, series: &Raw) -> Answers {
    let mut y = format!(
        "rule_files: [{}]\nevaluation_interval: 1m\ntests:\n- interval: {interval}s\n  input_series:\n",
        rules.display()
    );
    for (l, values) in series {
        let mut seen = false;
        let vals: Vec<String> = values
            .iter()
            .map(|v| match v {
                Some(x) => {
                    seen = true;
                    format!("{x}")
                }
                // A recorded series that disappears gets a staleness marker.
                None if seen => "stale".into(),
                None => "_".into(),
            })
            .collect();
        y.push_str(&format!("  - series: '{}'\n    values: '{}'\n", selector(l), vals.join(" ")));
    }
    y.push_str("  promql_expr_test:\n");
    for t in (0..=END_S).step_by(STEP_S as usize) {
        y.push_str(&format!(
            "  - expr: '{{__name__=~\"slo:.+|ALERTS\", __name__!~\"slo:window_.+\"}}'\n    eval_time: {t}s\n    exp_samples: [{{labels: '{{__name__=\"none\"}}', value: 0}}]\n"
        ));
    }
    let test = dir.join(format!("test-{}.yml", rules.file_stem().unwrap().to_str().unwrap()));
    std::fs::write(&test, y).unwrap();
    let out = Command::new(promtool).args(["test", "rules"]).arg(&test).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("error in") && !text.contains("could not"), "{text}");
    let mut answers = parse_answers(&text);
    for t in (0..=END_S).step_by(STEP_S as usize) {
        answers.entry(t).or_default();
    }
    answers
}

/// The cluster label a running server adds to what leaves it (its
/// configured `external_labels`).
fn external_cluster(url: &str) -> String {
    let mut resp = probe_agent(false).get(format!("{url}/api/v1/status/config")).call().unwrap();
    let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(body["data"]["yaml"].as_str().unwrap()).unwrap();
    config["global"]["external_labels"]["cluster"].as_str().expect("external label cluster").to_string()
}

/// Every local rule of `rules` evaluated by the server at every minute,
/// labelled as the rule labels them plus the server's cluster label.
fn local_series(url: &str, rules: &Path) -> Raw {
    let cluster = external_cluster(url);
    let file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(rules).unwrap()).unwrap();
    let steps = (END_S / STEP_S + 1) as usize;
    let mut out = Raw::new();
    let mut rules_seen = 0;
    for g in file["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            rules_seen += 1;
            let record = r["record"].as_str().expect("the local part records only");
            let mut resp = probe_agent(false)
                .get(format!("{url}/api/v1/query_range"))
                .query("query", r["expr"].as_str().unwrap())
                .query("start", "0")
                .query("end", END_S.to_string())
                .query("step", STEP_S.to_string())
                .call()
                .unwrap();
            let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
            assert_eq!(body["status"], "success", "{body}");
            for s in body["data"]["result"].as_array().unwrap() {
                let mut l: BTreeMap<String, String> = s["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                for (k, v) in r["labels"].as_mapping().unwrap() {
                    l.insert(k.as_str().unwrap().into(), v.as_str().unwrap().into());
                }
                l.insert("__name__".into(), record.into());
                assert!(!l.contains_key("cluster"), "a cluster's own series have no cluster label: {l:?}");
                l.insert("cluster".into(), cluster.clone());
                let mut values = vec![None; steps];
                for p in s["values"].as_array().unwrap() {
                    let t = p[0].as_f64().unwrap() as i64;
                    values[(t / STEP_S) as usize] = Some(parse_v(p[1].as_str().unwrap()));
                }
                out.push((l.into_iter().collect(), values));
            }
        }
    }
    assert!(rules_seen >= 10, "only {rules_seen} local rules");
    out
}

fn close(a: &str, b: &str) -> bool {
    let (x, y) = (parse_v(a), parse_v(b));
    (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
}

#[test]
fn split_over_two_prometheus_servers_equals_the_unsplit_rules_over_the_union() {
    let Some(bin) = server_bin("3") else { return };
    let Some(promtool) = promtool3() else {
        eprintln!("skipped: promtool 3.5 not found (set SLO_REQUIRE_PROMTOOL=1 to make this fail)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let compile = |out: &str, extra: &[&str]| {
        let out = dir.join(out);
        let mut args = vec!["compile", SLO, "--out", out.to_str().unwrap()];
        args.extend(extra);
        let (code, _, err) = slo(&args);
        assert_eq!(code, 0, "{err}");
        out.join("shop.rules.yml")
    };
    let local = compile("local", &["--split", "local"]);
    let global = compile("global", &["--split", "global"]);
    let whole = compile("whole", &[]);

    // Each cluster's Prometheus over its own raw series.
    let mut union = Raw::new();
    let mut locals = Raw::new();
    for name in ["a", "b"] {
        let raw = cluster(name);
        let cdir = dir.join(name);
        std::fs::create_dir(&cdir).unwrap();
        std::fs::write(cdir.join("raw.om"), openmetrics(&raw)).unwrap();
        let tsdb = cdir.join("tsdb");
        let out = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(cdir.join("raw.om"))
            .arg(&tsdb)
            .output()
            .unwrap();
        assert!(out.status.success(), "create-blocks: {}", String::from_utf8_lossy(&out.stderr));
        let config = format!(
            "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n  external_labels:\n    cluster: {name}\nrule_files:\n  - {}\n",
            local.display()
        );
        let server = start(&bin, &tsdb, &cdir, &Start { config: Some(&config), ..Default::default() });
        // The server loaded the local part as its rules.
        let mut resp = probe_agent(false).get(format!("{}/api/v1/rules", server.url)).call().unwrap();
        let rules: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(rules["data"]["groups"].as_array().map(Vec::len), Some(6), "{rules}");
        locals.extend(local_series(&server.url, &local));
        drop(server);
        for (mut l, v) in raw {
            l.push(("cluster".into(), name.into()));
            l.sort();
            union.push((l, v));
        }
    }

    let reference = promtool_answers(&promtool, dir, &whole, SCRAPE_S, &union);
    let split = promtool_answers(&promtool, dir, &global, STEP_S, &locals);
    let (mut compared, mut alerts, mut clusters) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (t, want) in &reference {
        let got = &split[t];
        let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(want), keys(got), "at {t}s: different series (unsplit, then split)");
        for (k, v) in want {
            compared += 1;
            alerts += usize::from(k.contains("ALERTS"));
            clusters += usize::from(k.contains("cluster="));
            if !close(v, &got[k]) {
                wrong.push(format!("{k} at {t}s: unsplit {v}, split {}", got[k]));
            }
        }
    }
    assert!(wrong.is_empty(), "{} values differ:\n{}", wrong.len(), wrong.join("\n"));
    assert!(compared > 5000, "only {compared} values compared");
    assert!(alerts > 20, "the incidents fire: only {alerts} alert samples");
    assert!(clusters > 500, "the per-cluster SLO is per cluster: {clusters}");
    let firing = |c: &str| {
        reference
            .values()
            .flat_map(|m| m.keys())
            .any(|k| k.contains("firing") && k.contains(&format!("cluster=\"{c}\"")))
    };
    assert!(firing("a") && firing("b"), "each cluster's incident fires its per-cluster alerts");
    // The timeslices SLIs judge slices both ways, over both clusters.
    for slo in ["good_slices", "queue"] {
        let slices = |v: f64| {
            reference.values().flatten().any(|(k, x)| {
                k.contains("\"slo:sli_events_bad:increase5m\"")
                    && k.contains(&format!("slo=\"{slo}\""))
                    && parse_v(x) == v
            })
        };
        assert!(slices(1.0) && slices(0.0), "{slo}: good and bad slices");
    }
    eprintln!("split: {compared} values ({alerts} alert samples) agree at {} evaluations", reference.len());
}

/// Every `name{` selector of a PromQL expression.
fn selectors(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    for (i, _) in expr.match_indices('{') {
        let start =
            expr[..i].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).map_or(0, |p| p + 1);
        if start < i && b[start].is_ascii_alphabetic() {
            out.push(&expr[start..i]);
        }
    }
    out
}

fn load(files: &[std::path::PathBuf]) -> slo::ir::Program {
    let loaded = slo::driver::load(files, &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    program
}

fn split_opts(target: slo::promql::Target, part: slo::promql::Part, label: &str) -> slo::promql::Options {
    slo::promql::Options {
        target,
        split: Some(slo::promql::Split { part, cluster_label: label.into() }),
        ..Default::default()
    }
}

/// The seed platform splits entirely (its timeslices SLIs too; its
/// `cluster="leads-primary"` selectors are refused under the default
/// cluster label), and so does examples/multicluster; both parts of every
/// target pass `promtool check rules`, the local part reads only raw
/// series and the global part only recorded ones.
#[test]
fn platform_parts_check_with_promtool() {
    use slo::promql::{Part, Target};
    let program = load(&slo_files("examples/platform"));
    let errs = slo::promql::emit(&program, &split_opts(Target::Prometheus, Part::Global, "cluster")).unwrap_err();
    let codes: Vec<String> = errs.iter().map(|e| e.diagnostic().code.to_string()).collect();
    assert!(!codes.is_empty() && codes.iter().all(|c| c == "slo::compile::split_selector"), "{codes:?}");
    parts_check_with_promtool(&program, 6);
    parts_check_with_promtool(&load(&slo_files("examples/multicluster")), 1);
}

fn parts_check_with_promtool(program: &slo::ir::Program, files: usize) {
    use slo::promql::{Part, Target};
    let timeslices = program.slos.iter().filter(|s| matches!(s.sli, slo::ir::Sli::Timeslices { .. })).count();
    assert!(timeslices > 0, "a timeslices SLI is split");
    let mut slice_parts = 0;
    let tools: Vec<std::path::PathBuf> = [Some(std::path::PathBuf::from("/usr/bin/promtool")), promtool3()]
        .into_iter()
        .flatten()
        .filter(|p| super::pull::runs(p))
        .collect();
    for target in [Target::Prometheus, Target::PrometheusOperator, Target::Mimir] {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for part in [Part::Local, Part::Global] {
            let outs = slo::promql::emit(program, &split_opts(target, part, "k8s_cluster")).unwrap();
            assert_eq!(outs.len(), files);
            for o in &outs {
                let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&o.contents).unwrap();
                let groups = v.get("groups").or_else(|| v.get("spec").and_then(|s| s.get("groups"))).unwrap();
                for g in groups.as_sequence().unwrap() {
                    for r in g["rules"].as_sequence().unwrap() {
                        let expr = r["expr"].as_str().unwrap();
                        for s in selectors(expr) {
                            assert_eq!(s.starts_with("slo:"), part == Part::Global, "{part:?}: {s} in {expr}");
                        }
                        if part == Part::Local {
                            let record = r["record"].as_str().unwrap();
                            assert!(record.starts_with("slo:window_"), "{expr}");
                            slice_parts += usize::from(record.starts_with("slo:window_slice"));
                            assert!(expr.contains("k8s_cluster)") || expr.contains("k8s_cluster, le)"), "{expr}");
                        } else {
                            assert!(!expr.contains("k8s_cluster"), "{expr}");
                        }
                    }
                }
                let mut m = serde_yaml_ng::Mapping::new();
                m.insert("groups".into(), groups.clone());
                let p = dir.path().join(format!("{}-{}.rules.yml", part.as_str(), o.path));
                std::fs::write(&p, serde_yaml_ng::to_string(&m).unwrap()).unwrap();
                paths.push(p.display().to_string());
            }
        }
        for bin in &tools {
            let out = Command::new(bin).args(["check", "rules"]).args(&paths).output().unwrap();
            assert!(out.status.success(), "{}: {}", bin.display(), String::from_utf8_lossy(&out.stdout));
        }
    }
    assert!(slice_parts >= 3 * timeslices, "{slice_parts} local slice series for {timeslices} SLIs in 3 targets");
}

/// One small SLO's two parts, as files.
#[test]
fn small_split_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("small.slo");
    std::fs::write(
        &src,
        "service api {\n  owner = \"sre\"\n}\n\nalerts fast() {\n  tier Fast {\n    windows = 1h / 5m\n    burn = 14.4x\n    severity = page\n    min_events = 100\n  }\n}\n\nslo availability for api {\n  objective = 99.9% over 28d\n  sli events {\n    bad = http_requests_total{job=\"api\", code=~\"5..\"}\n    total = http_requests_total{job=\"api\"}\n  }\n  group_by = [region]\n  alerts = fast()\n}\n",
    )
    .unwrap();
    let mut all = String::new();
    for (part, target) in [("local", "prometheus"), ("global", "prometheus"), ("global", "prometheus-operator")] {
        let out = d.path().join(format!("{part}-{target}"));
        let (code, _, err) = slo(&[
            "compile",
            src.to_str().unwrap(),
            "--root",
            d.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--split",
            part,
            "--target",
            target,
            "--cluster-label",
            "k8s_cluster",
        ]);
        assert_eq!(code, 0, "{err}");
        for e in std::fs::read_dir(&out).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_str().unwrap().to_string();
            if !name.starts_with('.') {
                all.push_str(&format!("=== {part} {target}: {name}\n{}", std::fs::read_to_string(e.path()).unwrap()));
            }
        }
    }
    insta::assert_snapshot!("split_small", all);
}

/// The parts are written like any compile (own manifests, so one part
/// never replaces the other's files; `--check` finds drift), and bad
/// combinations are coded usage errors.
#[test]
fn split_outdir_and_flags() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = out.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["compile", SLO, "--out", o];
        args.extend(extra);
        slo(&args)
    };
    let (code, _, err) = run(&["--split", "local"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.join(".slo-manifest.prometheus-local").is_file());
    let (code, _, err) = run(&["--split", "local", "--check"]);
    assert_eq!(code, 0, "{err}");
    // The other part into the same directory: a collision, nothing written.
    let before = std::fs::read_to_string(out.join("shop.rules.yml")).unwrap();
    let (code, _, err) = run(&["--split", "global"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::out::collision"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("shop.rules.yml")).unwrap(), before);
    // Checking the other part against it is the same collision.
    let (code, _, err) = run(&["--split", "global", "--check"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::out::collision"), "{err}");
    // Drift: the local part under another cluster label.
    let (code, diff, _) = run(&["--split", "local", "--check", "--cluster-label", "k8s_cluster"]);
    assert_eq!(code, 1);
    assert!(diff.contains("k8s_cluster"), "{diff}");
    // Operator and Mimir objects of the two parts have different names.
    for (target, key) in [("prometheus-operator", "  name: slo-shop-global"), ("mimir", "namespace: slo-shop-global")] {
        let dir = d.path().join(target);
        let (code, _, err) =
            slo(&["compile", SLO, "--out", dir.to_str().unwrap(), "--split", "global", "--target", target]);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(dir.join("shop.yaml")).unwrap();
        assert!(text.lines().any(|l| l == key), "{text}");
    }
    for (flags, want) in [
        (&["--split", "local", "--target", "grafana"][..], "slo::flag::split"),
        (&["--split", "local", "--cluster-label", "service"][..], "slo::flag::cluster_label"),
        (&["--split", "local", "--cluster-label", "a-b"][..], "slo::flag::cluster_label"),
    ] {
        let (code, _, err) = run(flags);
        assert_eq!(code, 2, "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
    }
}

/// What cannot be split is an error with its code on the SLO.
#[test]
fn unsplittable_slos_are_reported() {
    let loaded = slo::driver::load_strs(&[(
        "u.slo",
        "service s {\n  owner = \"o\"\n}\nslo labelled for s {\n  objective = 99% over 28d\n  sli events {\n    bad = e{job=\"a\"}\n    total = t{job=\"a\"}\n  }\n  labels = { cluster: \"eu\" }\n}\nslo t for s {\n  objective = 99% over 28d\n  sli timeslices 1m {\n    good when rate(x{job=\"b\", cluster=\"eu\"}) >= 1/s and avg(g{job=\"b\"}) < 3\n  }\n}\nslo sel for s {\n  objective = 99% over 28d\n  sli latency {\n    histogram = h{cluster=\"eu\"}\n    below = 300ms\n  }\n}\n",
    )]);
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    let opts = split_opts(slo::promql::Target::Prometheus, slo::promql::Part::Local, "cluster");
    let errs = slo::promql::emit(&program, &opts).unwrap_err();
    let mut codes: Vec<String> = errs.iter().map(|e| e.diagnostic().code.to_string()).collect();
    codes.sort();
    // A timeslices SLI's selectors are checked like any other's.
    assert_eq!(codes, ["slo::compile::split_label", "slo::compile::split_selector", "slo::compile::split_selector"]);
    // Under another cluster label, all three split.
    let opts = split_opts(slo::promql::Target::Prometheus, slo::promql::Part::Local, "k8s_cluster");
    assert!(slo::promql::emit(&program, &opts).is_ok());
}
