//! Alerting rules set no label their series already carry (issue 16):
//! every alert expression compares an SLO's own recorded series, which
//! carry `service` and `slo`, so the rules leave those out — except `slo`
//! where two SLOs of a service share an alert name, to keep the rules
//! apart for promtool's duplicate-rules lint. A differential run in
//! promtool 3.5 shows the `ALERTS` series are the same with the labels
//! set again on every rule.

use super::backtest::{parse_got, promtool3};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Three SLOs of one service: two on the same stdlib preset (shared alert
/// names), one with its own tiers, a guarded tier, a threshold, a
/// budget policy and a grouping label.
const SOURCE: &str = r#"
import std.alerting.{google_30d}
import std.budget.{budget_alerts, workbook}

service search {
  owner = "discovery-team"
}

alerts strict() {
  tier StrictBurnFast {
    windows = 1h / 5m
    burn = 14.4x
    severity = page
    route = "pagerduty"
  }
  tier StrictBurnSlow {
    windows = 6h / 30m
    burn = 6x
    severity = ticket
    min_events = 1000
  }
  threshold StrictSliLow {
    when sli(30m) < 99%
    severity = warning
  }
}

slo errors for search {
  objective = 99.9% over 30d
  sli events {
    bad = search_queries_total{job="search", result="error"}
    total = search_queries_total{job="search"}
  }
  alerts = google_30d()
  policy = workbook()
}

slo errors_loose for search {
  objective = 99.85% over 30d
  sli events {
    bad = search_queries_total{job="search", result="error"}
    total = search_queries_total{job="search"}
  }
  alerts = google_30d()
}

slo strict for search {
  objective = 99.99% over 30d
  sli events {
    bad = search_queries_total{job="search", result="error"}
    total = search_queries_total{job="search"}
  }
  group_by = [job]
  alerts = strict()
  policy = budget_alerts()
}
"#;

const MINUTES: usize = 24 * 60;

/// 1000 queries a minute: 5% errors for 30m from 6h, 0.5% from 12h to 20h.
fn data() -> String {
    let (mut ok, mut err) = (Vec::new(), Vec::new());
    let (mut o, mut e) = (0.0f64, 0.0f64);
    for m in 0..=MINUTES {
        ok.push(format!("{o}"));
        err.push(format!("{e}"));
        let rate = match m {
            360..390 => 0.05,
            720..1200 => 0.005,
            _ => 0.0,
        };
        e += 1000.0 * rate;
        o += 1000.0 * (1.0 - rate);
    }
    format!(
        "  - series: 'search_queries_total{{job=\"search\", result=\"ok\"}}'\n    values: '{}'\n  - series: 'search_queries_total{{job=\"search\", result=\"error\"}}'\n    values: '{}'\n",
        ok.join(" "),
        err.join(" ")
    )
}

fn compiled() -> String {
    let loaded = slo::driver::load_strs(&[("search.slo", SOURCE)]);
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{diags:?}");
    let opts = slo::promql::Options { eval_interval: slo::units::Duration(60_000), ..Default::default() };
    let files = slo::promql::emit(&program, &opts).unwrap();
    assert_eq!(files.len(), 1);
    files[0].contents.clone()
}

/// `rules` with `f` applied to the labels of every alerting rule; `f`
/// gets the group's `service` and `slo` (its recording rules' labels).
fn edit_alerts(rules: &str, f: impl Fn(&mut serde_yaml_ng::Mapping, &str, &str)) -> String {
    let mut v: serde_yaml_ng::Value = serde_yaml_ng::from_str(rules).unwrap();
    for g in v["groups"].as_sequence_mut().unwrap() {
        let rules = g["rules"].as_sequence_mut().unwrap();
        let rec = rules.iter().find(|r| r.get("record").is_some()).expect("a recording rule").clone();
        let (service, slo) = (rec["labels"]["service"].as_str().unwrap(), rec["labels"]["slo"].as_str().unwrap());
        for r in rules.iter_mut().filter(|r| r.get("alert").is_some()) {
            f(r["labels"].as_mapping_mut().unwrap(), service, slo);
        }
    }
    serde_yaml_ng::to_string(&v).unwrap()
}

/// Every `ALERTS` series (all its labels) promtool holds at each minute.
fn alerts_series(bin: &Path, dir: &Path, rules: &str) -> BTreeMap<usize, BTreeSet<String>> {
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    let mut y =
        String::from("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n");
    y.push_str(&data());
    y.push_str("  promql_expr_test:\n");
    for m in 0..=MINUTES {
        y.push_str(&format!(
            "  - expr: 'ALERTS'\n    eval_time: {m}m\n    exp_samples: [{{labels: '{{__name__=\"none\"}}', value: 0}}]\n"
        ));
    }
    std::fs::write(dir.join("test.yml"), y).unwrap();
    let out = Command::new(bin).args(["test", "rules", "test.yml"]).current_dir(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("expr:"), "promtool printed no results:\n{text}");
    let mut at = BTreeMap::new();
    let mut cur = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("expr:") {
            let tt = rest[rest.rfind("time: ").expect("time") + 6..].trim_end_matches(',');
            cur = Some(slo::units::parse_duration(tt).map_or(0, |ms| ms as usize / 60_000));
        } else if let Some(rest) = line.strip_prefix("got:") {
            let set: &mut BTreeSet<String> = at.entry(cur.expect("got after expr")).or_default();
            set.extend(parse_got(rest.trim()).into_keys());
        }
    }
    at
}

fn promtool_lint(bin: &Path, dir: &Path, rules: &str) -> String {
    std::fs::write(dir.join("lint.yml"), rules).unwrap();
    let out = Command::new(bin).args(["check", "rules", "lint.yml"]).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn alert_rules_set_only_labels_their_series_lack() {
    let rules = compiled();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&rules).unwrap();
    let mut seen = BTreeMap::new();
    for g in v["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap().iter().filter(|r| r.get("alert").is_some()) {
            let name = r["alert"].as_str().unwrap();
            assert!(r["labels"].get("service").is_none(), "service comes with the series: {r:?}");
            let has_slo = r["labels"].get("slo").is_some();
            // Only the preset's names, shared by `errors` and `errors_loose`, keep `slo`.
            assert_eq!(has_slo, name.starts_with("SLOBurnRate"), "{name}: {r:?}");
            seen.insert(name.to_string(), has_slo);
        }
    }
    for name in ["SLOBurnRate1h", "StrictBurnFast", "StrictSliLow", "ErrorBudgetExhausted", "ErrorBudgetCritical"] {
        assert!(seen.contains_key(name), "{name} missing: {seen:?}");
    }
}

#[test]
fn alerts_series_are_the_same_with_service_and_slo_set_again() {
    let Some(bin) = promtool3() else {
        eprintln!("note: promtool 3.5 not found; alerts_series_are_the_same_with_service_and_slo_set_again skipped");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let after = compiled();
    let before = edit_alerts(&after, |l, service, slo| {
        l.insert("service".into(), service.into());
        l.insert("slo".into(), slo.into());
    });
    assert_ne!(
        before,
        serde_yaml_ng::to_string(&serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&after).unwrap()).unwrap()
    );
    let (a, b) = (alerts_series(&bin, d.path(), &after), alerts_series(&bin, d.path(), &before));
    assert_eq!(a.keys().count(), MINUTES + 1, "an answer at every minute");
    for (m, set) in &b {
        assert_eq!(a.get(m), Some(set), "ALERTS differ at minute {m}");
    }
    assert_eq!(a, b);
    // Every kind of alert fired, each with its SLO's `service` and `slo`.
    let firing: BTreeSet<&String> = a.values().flatten().filter(|s| s.contains("alertstate=\"firing\"")).collect();
    for (name, slo) in [
        ("SLOBurnRate1h", "errors"),
        ("SLOBurnRate1h", "errors_loose"),
        ("StrictBurnFast", "strict"),
        ("StrictSliLow", "strict"),
        ("ErrorBudgetExhausted", "errors"),
        ("ErrorBudgetCritical", "strict"),
    ] {
        let want = [format!("alertname=\"{name}\""), "service=\"search\"".into(), format!(" slo=\"{slo}\"")];
        assert!(
            firing.iter().any(|s| want.iter().all(|w| s.contains(w.as_str()))),
            "{name} of {slo} never fired: {firing:?}"
        );
    }
    // `slo` stays where it keeps two rules apart: without it promtool
    // lints duplicates; as compiled it does not.
    assert!(!promtool_lint(&bin, d.path(), &after).contains("duplicate"));
    let bare = edit_alerts(&after, |l, _, _| {
        l.remove("slo");
    });
    assert!(promtool_lint(&bin, d.path(), &bare).contains("duplicate rule"));
}
