//! `slo compile --target alertmanager` against the real Alertmanager 0.25
//! (Debian's `prometheus-alertmanager`, unpacked under `.tools/` by CI):
//! `amtool check-config` accepts the shipped catalogue's config and a
//! config merged into a user's; and a server started on a free loopback
//! port, fed the alerts a backtest finds firing at one instant (labels
//! taken from the compiled rule files), routes each to the receiver the
//! sources name and inhibits exactly the slow tiers of an SLO whose fast
//! tier fires. Without the binaries the tests skip with a note; with
//! `SLO_REQUIRE_SERVERS=1` (CI) they fail.

use super::common::*;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tool(name: &str, env: &str) -> Option<PathBuf> {
    server_tool("alertmanager", name, env, "--version")
}

fn compile(args: &[&str]) -> String {
    let (code, _, err) = slo(args);
    assert_eq!(code, 0, "{err}");
    err
}

fn check_config(amtool: &Path, file: &Path) {
    let out = Command::new(amtool).arg("check-config").arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "amtool check-config {}:\n{}{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap()
    );
}

/// The receiver `amtool config routes test` picks for an alert's labels.
fn route_of(amtool: &Path, file: &Path, labels: &[&str]) -> String {
    let out = Command::new(amtool)
        .args(["config", "routes", "test", "--config.file"])
        .arg(file)
        .args(labels)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn amtool_accepts_the_platform_config_and_a_merged_one() {
    let Some(amtool) = tool("amtool", "AMTOOL") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stubs");
    compile(&["compile", "--target", "alertmanager", "--out", out.to_str().unwrap(), "examples/platform"]);
    let file = out.join("alertmanager.yml");
    check_config(&amtool, &file);
    // The page tier goes to PagerDuty, the ticket tier to Slack, a freeze
    // (no receiver) to the root's default.
    let page = ["service=api", "slo=availability", "severity=page", "receiver=pagerduty", "long_window=1h"];
    assert_eq!(route_of(&amtool, &file, &page), "pagerduty");
    assert_eq!(route_of(&amtool, &file, &["slo=availability", "severity=ticket", "receiver=slack-sre"]), "slack-sre");
    assert_eq!(route_of(&amtool, &file, &["slo=availability", "severity=critical", "action=freeze"]), "default");

    let merged = dir.path().join("merged");
    let base = "examples/alertmanager/alertmanager.yml";
    let err = compile(&[
        "compile",
        "--target",
        "alertmanager",
        "--alertmanager-config",
        base,
        "--out",
        merged.to_str().unwrap(),
        "examples/platform",
    ]);
    assert!(err.contains("note: receiver `jira-lead-routing` is not in alertmanager.yml: added as a stub"), "{err}");
    let file = merged.join("alertmanager.yml");
    check_config(&amtool, &file);
    // slo's routes come first; the user's own routes still route the rest.
    assert_eq!(route_of(&amtool, &file, &["slo=latency_p95", "severity=page", "receiver=pagerduty"]), "pagerduty");
    assert_eq!(route_of(&amtool, &file, &["alertname=PostgresDown", "team=platform-sre"]), "dba-pager");
    assert_eq!(route_of(&amtool, &file, &["alertname=Watchdog"]), "team-email");
    // The merged output as the next base: the same config (rerun-safe).
    let again = dir.path().join("again");
    compile(&[
        "compile",
        "--target",
        "alertmanager",
        "--alertmanager-config",
        file.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "examples/platform",
    ]);
    let body = |p: &Path| {
        std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(body(&file), body(&again.join("alertmanager.yml")));
    // --check sees no drift, then sees a change.
    let (code, _, err) =
        slo(&["compile", "--target", "alertmanager", "--check", "--out", out.to_str().unwrap(), "examples/platform"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(out.join("alertmanager.yml"), "route: {receiver: x}\n").unwrap();
    let (code, _, err) =
        slo(&["compile", "--target", "alertmanager", "--check", "--out", out.to_str().unwrap(), "examples/platform"]);
    assert_eq!(code, 2, "a hand-edited output is a collision: {err}");
    assert!(err.contains("slo::out::collision"), "{err}");
}

#[test]
fn a_base_that_is_not_an_alertmanager_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("rules.yml");
    std::fs::write(&base, "groups: []\n").unwrap();
    let out = dir.path().join("out");
    let (code, _, err) = slo(&[
        "compile",
        "--target",
        "alertmanager",
        "--alertmanager-config",
        base.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "examples/platform",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::alertmanager::base") && err.contains("Prometheus rule file"), "{err}");
    assert!(!out.exists());
    let (code, _, err) = slo(&[
        "compile",
        "--alertmanager-config",
        base.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "examples/platform",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::flag::alertmanager_config"), "{err}");
}

#[test]
fn the_small_example_compiles_to_this_config() {
    let dir = tempfile::tempdir().unwrap();
    compile(&[
        "compile",
        "--target",
        "alertmanager",
        "--out",
        dir.path().to_str().unwrap(),
        "examples/features/group_by.slo",
    ]);
    insta::assert_snapshot!(std::fs::read_to_string(dir.path().join("alertmanager.yml")).unwrap());
}

/// Two SLOs of one service: `fast` has a 3-hour incident at 10% errors
/// (its page tiers fire, and its 1d ticket tier after an hour), `slow` a
/// two-day burn at 0.5% (5x: only its ticket tiers fire). Both spend their
/// budget, so the workbook's freeze (critical, no receiver) fires too.
const SLO: &str = r#"import std.alerting.{google_28d}
import std.budget.{workbook}

service shop {
  owner = "shop-sre"
  policy = workbook()
}

slo fast for shop {
  objective = 99.9% over 28d
  sli events {
    bad = http_requests_total{job="fast", code=~"5.."}
    total = http_requests_total{job="fast"}
  }
  alerts = google_28d(page_to: "pagerduty", ticket_to: "slack \"sre\"")
}

slo slow for shop {
  objective = 99.9% over 28d
  sli events {
    bad = http_requests_total{job="slow", code=~"5.."}
    total = http_requests_total{job="slow"}
  }
  alerts = google_28d(page_to: "pagerduty", ticket_to: "slack \"sre\"")
}
"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

/// Debian's Alertmanager reads its default notification templates from
/// /usr/share/prometheus/alertmanager/. Installed, it runs as it is;
/// unpacked under `.tools/` (CI), it runs in a private mount namespace
/// where the unpacked share directory is bind-mounted there (nothing
/// outside the process changes; `unshare` and `sh` exec in place, so the
/// child's pid is the server's).
fn server_command(bin: &Path) -> Command {
    const SHARE: &str = "/usr/share/prometheus";
    let unpacked = bin.parent().and_then(Path::parent).map(|usr| usr.join("share/prometheus"));
    match unpacked {
        Some(share)
            if !Path::new(SHARE).join("alertmanager/default.tmpl").exists()
                && share.join("alertmanager/default.tmpl").exists() =>
        {
            let mut c = Command::new("unshare");
            c.args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount --bind \"$0\" \"$1\" && shift && exec \"$@\"",
            ])
            .arg(share)
            .arg(SHARE)
            .arg(bin);
            c
        }
        _ => Command::new(bin),
    }
}

fn start(bin: &Path, config: &Path, dir: &Path) -> (Server, String) {
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join(format!("alertmanager-{port}.log"));
        let child = server_command(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut server = Server(child);
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("address already in use") {
                    break;
                }
                panic!("alertmanager exited ({status}):\n{text}");
            }
            if agent().get(format!("{url}/-/ready")).call().is_ok_and(|r| r.status() == 200) {
                return (server, url);
            }
            assert!(Instant::now() < deadline, "alertmanager not ready in 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("no free port for alertmanager");
}

/// The compiled alerting rules: (alert name, its labels), from the rule file.
fn compiled_alerts(file: &Path) -> Vec<(String, BTreeMap<String, String>)> {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut out = Vec::new();
    for g in v["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            let Some(name) = r.get("alert").and_then(|a| a.as_str()) else { continue };
            let labels: BTreeMap<String, String> = serde_yaml_ng::from_value(r["labels"].clone()).unwrap();
            assert!(labels.values().all(|v| !v.contains("{{")), "labels are literal here: {labels:?}");
            out.push((name.to_string(), labels));
        }
    }
    out
}

fn get(url: &str) -> Json {
    let mut r = agent().get(url).call().unwrap();
    assert_eq!(r.status(), 200);
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

#[test]
fn a_real_alertmanager_routes_and_inhibits_a_backtests_firing_alerts() {
    let Some(bin) = tool("prometheus-alertmanager", "ALERTMANAGER") else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    std::fs::write(d("shop.slo"), SLO).unwrap();
    compile(&["compile", "--target", "alertmanager", "--out", &d("am"), &d("shop.slo"), "--root", &d("")]);
    compile(&["compile", "--out", &d("rules"), &d("shop.slo"), "--root", &d("")]);
    compile(&[
        "synth",
        "--out",
        &d("data.parquet"),
        "--days",
        "3",
        "--resolution",
        "1m",
        "--incident",
        "2d/3h/0.1@fast",
        "--incident",
        "12h/60h/0.005@slow",
        &d("shop.slo"),
        "--root",
        &d(""),
    ]);
    let (code, report, err) = slo(&[
        "backtest",
        &d("shop.slo"),
        "--root",
        &d(""),
        "--data",
        &d("data.parquet"),
        "--format",
        "json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Json = serde_json::from_str(&report).unwrap();

    // Per (slo, alert): its firing intervals [start, end).
    type Intervals = Vec<(String, Option<String>)>;
    let mut firing: BTreeMap<(String, String), Intervals> = BTreeMap::new();
    for s in report["slos"].as_array().unwrap() {
        for a in s["alerts"].as_array().unwrap() {
            let key = (s["slo"].as_str().unwrap().to_string(), a["alert"].as_str().unwrap().to_string());
            for i in a["firing"].as_array().unwrap() {
                let end = i["end"].as_str().map(str::to_string);
                firing.entry(key.clone()).or_default().push((i["start"].as_str().unwrap().to_string(), end));
            }
        }
    }
    let fires = |slo: &str, alert: &str, t: &str| {
        firing
            .get(&(slo.to_string(), alert.to_string()))
            .into_iter()
            .flatten()
            .any(|(s, e)| s.as_str() <= t && e.as_deref().is_none_or(|e| t < e))
    };
    // The instant: the first interval start at which fast's page and 1d
    // ticket tiers and slow's 1d ticket tier fire, and slow pages not.
    let mut starts: BTreeSet<&str> = firing.values().flatten().map(|(s, _)| s.as_str()).collect();
    starts.retain(|t| {
        fires("fast", "SLOBurnRate1h", t)
            && fires("fast", "SLOBurnRate1d", t)
            && fires("slow", "SLOBurnRate1d", t)
            && !fires("slow", "SLOBurnRate1h", t)
            && !fires("slow", "SLOBurnRate6h", t)
            && fires("slow", "ErrorBudgetExhausted", t)
    });
    let t = *starts.first().unwrap_or_else(|| panic!("no instant with the scenario's alerts firing: {firing:#?}"));

    // The alerts firing at t, with the labels the compiled rules give them.
    let rules = compiled_alerts(&dir.path().join("rules/shop.rules.yml"));
    let mut posted: Vec<BTreeMap<String, String>> = Vec::new();
    for (name, labels) in &rules {
        if fires(&labels["slo"], name, t) {
            let mut l = labels.clone();
            l.insert("alertname".into(), name.clone());
            posted.push(l);
        }
    }
    let names: BTreeSet<(String, String)> = posted.iter().map(|l| (l["slo"].clone(), l["alertname"].clone())).collect();
    for want in [("fast", "SLOBurnRate6h"), ("fast", "ErrorBudgetExhausted")] {
        assert!(names.contains(&(want.0.into(), want.1.into())), "{t}: {names:?}");
    }

    let (_server, url) = start(&bin, &dir.path().join("am/alertmanager.yml"), dir.path());
    let body: Vec<Json> = posted.iter().map(|l| serde_json::json!({ "labels": l })).collect();
    let r = agent()
        .post(format!("{url}/api/v2/alerts"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_string(&body).unwrap())
        .unwrap();
    assert_eq!(r.status(), 200);

    // The inhibitor sees the sources asynchronously: poll until every
    // alert is stored and the suppressed set has stayed the same for two
    // polls in a row with something suppressed (or the deadline passes).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last: Option<BTreeSet<String>> = None;
    let alerts = loop {
        let alerts = get(&format!("{url}/api/v2/alerts"));
        let n = alerts.as_array().unwrap().len();
        let suppressed: BTreeSet<String> = alerts
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"]["state"] == "suppressed")
            .map(|a| a["fingerprint"].to_string())
            .collect();
        let settled = n == posted.len() && !suppressed.is_empty() && last.as_ref() == Some(&suppressed);
        if settled || Instant::now() > deadline {
            break alerts;
        }
        last = (n == posted.len()).then_some(suppressed);
        std::thread::sleep(Duration::from_millis(300));
    };
    let label = |a: &Json, k: &str| a["labels"][k].as_str().unwrap_or("").to_string();
    let by_fp: BTreeMap<String, (String, String)> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["fingerprint"].as_str().unwrap().to_string(), (label(a, "slo"), label(a, "alertname"))))
        .collect();
    let mut inhibited: BTreeMap<(String, String), BTreeSet<(String, String)>> = BTreeMap::new();
    for a in alerts.as_array().unwrap() {
        let by: BTreeSet<(String, String)> =
            a["status"]["inhibitedBy"].as_array().unwrap().iter().map(|f| by_fp[f.as_str().unwrap()].clone()).collect();
        assert_eq!(a["status"]["state"] == "suppressed", !by.is_empty(), "{a}");
        if !by.is_empty() {
            inhibited.insert((label(a, "slo"), label(a, "alertname")), by);
        }
    }
    // fast's 1d ticket (and 3d, if firing) is silenced by its page tiers,
    // nothing else: not slow's 1d ticket (its freeze is critical but no
    // tier), not a page, not a freeze.
    let fast_1d = inhibited.get(&("fast".into(), "SLOBurnRate1d".into())).expect("fast's 1d ticket is inhibited");
    assert!(fast_1d.contains(&("fast".into(), "SLOBurnRate1h".into())), "{fast_1d:?}");
    assert!(fast_1d.iter().all(|(s, a)| s == "fast" && a.starts_with("SLOBurnRate")), "{fast_1d:?}");
    for (slo, alert) in inhibited.keys() {
        assert!(slo == "fast" && ["SLOBurnRate1d", "SLOBurnRate3d"].contains(&alert.as_str()), "{inhibited:?}");
    }

    // Groups: which receiver got which alerts. The dispatcher files the
    // alerts into its aggregation groups asynchronously (after the alert
    // store has them), so under load the groups can lag: poll until every
    // posted alert is in a group, or the deadline passes.
    let deadline = Instant::now() + Duration::from_secs(20);
    let got = loop {
        let mut got: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        for g in get(&format!("{url}/api/v2/alerts/groups")).as_array().unwrap() {
            let receiver = g["receiver"]["name"].as_str().unwrap().to_string();
            for a in g["alerts"].as_array().unwrap() {
                got.entry(receiver.clone()).or_default().insert((label(a, "slo"), label(a, "alertname")));
            }
        }
        if got.values().map(BTreeSet::len).sum::<usize>() >= posted.len() || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let want = |pred: &dyn Fn(&BTreeMap<String, String>) -> bool| -> BTreeSet<(String, String)> {
        posted.iter().filter(|l| pred(l)).map(|l| (l["slo"].clone(), l["alertname"].clone())).collect()
    };
    let pages = want(&|l| l.get("receiver").map(String::as_str) == Some("pagerduty"));
    let tickets = want(&|l| l.get("receiver").map(String::as_str) == Some("slack \"sre\""));
    let unrouted = want(&|l| !l.contains_key("receiver"));
    assert!(pages.iter().all(|(s, _)| s == "fast") && !pages.is_empty());
    assert!(tickets.contains(&("slow".into(), "SLOBurnRate1d".into())));
    assert!(unrouted.contains(&("slow".into(), "ErrorBudgetExhausted".into())));
    assert_eq!(got.get("pagerduty"), Some(&pages), "{got:#?}");
    assert_eq!(got.get("slack \"sre\""), Some(&tickets), "{got:#?}");
    assert_eq!(got.get("default"), Some(&unrouted), "{got:#?}");
    assert_eq!(got.len(), 3, "{got:#?}");
    eprintln!("at {t}: {} alerts posted; inhibited {inhibited:?}; routed {got:?}", posted.len());
}
