//! `slo import sloth|openslo` and `slo export openslo`: every example in
//! examples/interop imports into .slo that checks and is formatted; the
//! translations mean what the sources meant; Sloth's own rules and ours
//! fire together under promtool; exports validate against OpenSLO v1.

use super::backtest::{parse_got, promtool3};
use super::common::{repo, slo};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn examples(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/interop").join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

fn import(kind: &str, file: &Path, out: &Path) -> String {
    let (code, _, err) = slo(&["import", kind, file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{}: {err}", file.display());
    err
}

#[test]
fn every_example_imports_to_slo_that_checks_and_is_formatted() {
    let d = tempfile::tempdir().unwrap();
    for kind in ["sloth", "openslo"] {
        let out = d.path().join(kind);
        for f in examples(kind) {
            import(kind, &f, &out);
        }
        let (code, _, err) = slo(&["check", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{kind}: {err}");
        let (code, _, err) = slo(&["fmt", "--check", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{kind}: {err}");
        // And compiles to rules.
        let rules = d.path().join(format!("{kind}-rules"));
        let (code, _, err) = slo(&["compile", out.to_str().unwrap(), "--out", rules.to_str().unwrap()]);
        assert_eq!(code, 0, "{kind}: {err}");
    }
}

/// The checked program of one imported file.
fn program(kind: &str, example: &str) -> (slo::ir::Program, String) {
    let d = tempfile::tempdir().unwrap();
    let warnings = import(kind, &repo().join("examples/interop").join(kind).join(example), d.path());
    let files: Vec<PathBuf> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let loaded = slo::driver::load(&files, d.path()).unwrap();
    let (p, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors());
    (p, warnings)
}

fn find<'a>(p: &'a slo::ir::Program, name: &str) -> &'a slo::ir::Slo {
    p.slos.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no SLO {name}"))
}

#[test]
fn openslo_features_mean_the_same_in_slo() {
    use slo::ir::{AlertCondition, Budgeting, CalendarUnit, Combine, EventsNumerator, Sli, Window};
    let (p, warnings) = program("openslo", "storefront.yaml");
    // Referenced SLI, rolling 28d, Occurrences, labels with a list value.
    let a = find(&p, "availability");
    assert_eq!((a.objective, &a.window), (0.999, &Window::Rolling { length: slo::units::Duration(28 * 86_400_000) }));
    assert!(matches!(&a.sli, Sli::Events { numerator: EventsNumerator::Bad(_), .. }));
    assert_eq!(a.labels.get("team").map(String::as_str), Some("web"));
    // The referenced alert policy: a referenced and an inline condition.
    let tiers: Vec<(String, f64, u64, u64, String)> = a
        .alerts
        .iter()
        .map(|x| match &x.condition {
            AlertCondition::BurnRate { long, short, factor, .. } => {
                (x.name.clone(), *factor, long.ms(), short.ms(), x.severity.clone())
            }
            _ => panic!("a burn-rate tier"),
        })
        .collect();
    assert_eq!(
        tiers,
        vec![
            ("FastBurn".into(), 14.4, 3_600_000, 300_000, "page".into()),
            ("SlowBurn".into(), 1.0, 3 * 86_400_000, 6 * 3_600_000, "ticket".into())
        ]
    );
    assert_eq!(a.alerts[0].for_.ms(), 120_000);
    // Calendar month in a zone, Timeslices budgeting, a good-ratio `sum(rate(…))` query.
    let c = find(&p, "checkout_good_minutes");
    assert_eq!(c.window, Window::Calendar { unit: CalendarUnit::Month, tz: "Europe/Berlin".into() });
    assert_eq!(c.budgeting, Budgeting::Timeslices { slice: slo::units::Duration(60_000), target: 0.95 });
    assert!(matches!(&c.sli, Sli::Events { numerator: EventsNumerator::Good(_), .. }));
    // Objectives with their own indicators and weights: a weighted composite over 4w = 28d.
    let j = find(&p, "journeys");
    match &j.sli {
        Sli::Composite { combine: Combine::Weighted(w), components } => {
            assert_eq!(components.len(), 2);
            assert_eq!(w, &vec![0.75, 0.25], "weights 3 and 1, normalised");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(j.window, Window::Rolling { length: slo::units::Duration(28 * 86_400_000) });
    assert!(warnings.contains("short window is added") || warnings.contains("becomes windows"), "{warnings}");
    // A threshold metric over timeslices.
    let (p, _) = program("openslo", "latency-threshold.yaml");
    assert!(matches!(find(&p, "queue_lag").sli, Sli::Timeslices { slice: slo::units::Duration(60_000), .. }));
}

fn import_text(kind: &str, yaml: &str) -> (i32, String, String) {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("in.yaml");
    std::fs::write(&f, yaml).unwrap();
    slo(&["import", kind, f.to_str().unwrap()])
}

#[test]
fn what_cannot_be_translated_is_an_error_not_a_silent_drop() {
    let gauge_ratio = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec:\n  service: s\n  timeWindow: [{duration: 7d, isRolling: true}]\n  objectives: [{target: 0.99}]\n  indicator:\n    metadata: {name: i}\n    spec:\n      ratioMetric:\n        counter: false\n        good: {metricSource: {type: Prometheus, spec: {query: up}}}\n        total: {metricSource: {type: Prometheus, spec: {query: up}}}\n";
    let (code, out, err) = import_text("openslo", gauge_ratio);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "nothing is written on error: {out}");
    assert!(err.contains("slo::interop::untranslatable") && err.contains("counter: false"), "{err}");
    let rolling_month = gauge_ratio.replace("duration: 7d, isRolling: true", "duration: 1M, isRolling: true");
    let (code, _, err) = import_text("openslo", &rolling_month);
    assert_eq!(code, 1);
    assert!(err.contains("calendar periods"), "{err}");
    let threshold = std::fs::read_to_string(repo().join("examples/interop/openslo/latency-threshold.yaml"))
        .unwrap()
        .replace("timeSliceTarget: 1", "timeSliceTarget: 0.9");
    let (code, _, err) = import_text("openslo", &threshold);
    assert_eq!(code, 1);
    assert!(err.contains("timeSliceTarget"), "{err}");
    let (code, _, err) = import_text("openslo", "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata: {name: x}\n");
    assert_eq!(code, 1);
    assert!(err.contains("slo::interop::invalid"), "{err}");
    let plugin = "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli:\n      plugin:\n        id: sloth-common/kubernetes/apiserver/availability\n";
    let (code, _, err) = import_text("sloth", plugin);
    assert_eq!(code, 1);
    assert!(err.contains("plugin"), "{err}");
    let complex = "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli:\n      events:\n        error_query: sum(rate(a{code=\"5xx\"}[{{.window}}])) + sum(rate(b[{{.window}}]))\n        total_query: sum(rate(a[{{.window}}]))\n";
    let (code, _, err) = import_text("sloth", complex);
    assert_eq!(code, 1);
    assert!(err.contains("error_query"), "the diagnostic points at the query: {err}");
}

/// Promtool's firing alerts per evaluation (seconds): sets of `alertname/severity`.
type Firing = BTreeMap<i64, BTreeSet<String>>;

const MINUTES: usize = 48 * 60;

fn sloth_data() -> String {
    // 1000 requests a minute; 5% errors for 30m from 6h; 0.2% errors for 20h from 20h.
    let (mut ok, mut err) = (Vec::new(), Vec::new());
    let (mut o, mut e) = (0.0f64, 0.0f64);
    for m in 0..=MINUTES {
        ok.push(format!("{o}"));
        err.push(format!("{e}"));
        let rate = if (360..390).contains(&m) {
            0.05
        } else if (1200..2400).contains(&m) {
            0.002
        } else {
            0.0
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

fn promtool_firing(bin: &Path, dir: &Path) -> Firing {
    let mut y = String::from(
        "rule_files: [sloth.yml, ours.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n",
    );
    y.push_str(&sloth_data());
    y.push_str("  promql_expr_test:\n");
    for m in (0..=MINUTES).step_by(2) {
        y.push_str(&format!(
            "  - expr: 'ALERTS{{alertstate=\"firing\"}}'\n    eval_time: {m}m\n    exp_samples: [{{labels: '{{__name__=\"none\"}}', value: 0}}]\n"
        ));
    }
    std::fs::write(dir.join("test.yml"), y).unwrap();
    let out = Command::new(bin).args(["test", "rules", "test.yml"]).current_dir(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let mut firing = Firing::new();
    let mut cur = None;
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("expr:") {
            let tt = rest[rest.rfind("time: ").expect("time") + 6..].trim_end_matches(',');
            cur = Some(slo::units::parse_duration(tt).map_or(0, |ms| ms as i64 / 1000));
        } else if let Some(rest) = l.strip_prefix("got:") {
            let set = firing.entry(cur.expect("got after expr")).or_default();
            for labels in parse_got(rest.trim()).keys() {
                let get = |k: &str| {
                    labels.split(&format!("{k}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string()
                };
                // Sloth's alerts carry its `sloth_id` (from their series); ours do not.
                let ours = if labels.contains("sloth_id=\"") { "" } else { "/slo" };
                set.insert(format!("{}/{}{ours}", get("alertname"), get("sloth_severity")));
            }
        }
    }
    assert!(text.contains("expr:"), "promtool printed no results:\n{text}");
    firing
}

/// The round trip keeps Sloth's alert names and shape: `slo import sloth`
/// then `slo compile` gives alerts named as Sloth's own rules name them,
/// with the same `severity` and `sloth_severity` labels, one rule per
/// severity as Sloth's (the imported policy says `join_tiers = true`);
/// without it, one rule per window pair, told apart by `long_window`.
#[test]
fn imported_sloth_alerts_keep_sloths_names() {
    let d = tempfile::tempdir().unwrap();
    import("sloth", &repo().join("examples/interop/sloth/search-crd.yml"), d.path());
    let rules = d.path().join("rules");
    let (code, _, err) = slo(&["compile", d.path().to_str().unwrap(), "--out", rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // (alert, severity, sloth_severity) of every alerting rule of a file.
    let alerts = |text: &str| -> BTreeMap<(String, String, String), Vec<String>> {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
        let mut out: BTreeMap<_, Vec<String>> = BTreeMap::new();
        for g in v["groups"].as_sequence().unwrap() {
            for r in g["rules"].as_sequence().unwrap() {
                let Some(name) = r["alert"].as_str() else { continue };
                let l = |k: &str| r["labels"][k].as_str().unwrap_or_default().to_string();
                out.entry((name.to_string(), l("severity"), l("sloth_severity"))).or_default().push(l("long_window"));
            }
        }
        out
    };
    let sloth = alerts(&std::fs::read_to_string(repo().join("tests/interop/sloth-search.rules.yml")).unwrap());
    let ours = alerts(&std::fs::read_to_string(rules.join("search.rules.yml")).unwrap());
    assert_eq!(sloth, ours, "one alert per severity, no `long_window`, as Sloth's");
    assert_eq!(sloth.len(), 2, "{sloth:?}");
    // Sloth's alerts have no description (the spec gives none): neither
    // have ours, and the policy says so in a way `slo fmt` keeps.
    let v: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(rules.join("search.rules.yml")).unwrap()).unwrap();
    let mut alerting = 0;
    for g in v["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap().iter().filter(|r| r["alert"].is_string()) {
            alerting += 1;
            assert!(r["annotations"]["description"].is_null(), "{r:?}");
            assert!(r["annotations"]["summary"].is_string(), "{r:?}");
        }
    }
    assert_eq!(alerting, 2);
    let (code, _, err) = slo(&["fmt", "--check", d.path().join("search.slo").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Without `join_tiers`, each window pair alerts on its own.
    let src = d.path().join("search.slo");
    let text = std::fs::read_to_string(&src).unwrap();
    assert_eq!(text.matches("  join_tiers = true\n").count(), 1, "{text}");
    std::fs::write(&src, text.replace("  join_tiers = true\n", "")).unwrap();
    let (code, _, err) = slo(&["compile", d.path().to_str().unwrap(), "--out", rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let ours = alerts(&std::fs::read_to_string(rules.join("search.rules.yml")).unwrap());
    assert_eq!(sloth.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
    for windows in ours.values() {
        assert_eq!(windows.len(), 2, "two window pairs per severity: {ours:?}");
        assert_ne!(windows[0], windows[1], "told apart by long_window: {ours:?}");
    }
    // The OpenSLO export keeps the four tiers apart (one AlertPolicy each).
    let (code, out, err) = slo(&["export", "openslo", d.path().join("search.slo").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let policies: BTreeSet<String> = serde_yaml_ng::Deserializer::from_str(&out)
        .map(|doc| serde_yaml_ng::Value::deserialize(doc).unwrap())
        .filter(|v| v["kind"].as_str() == Some("AlertPolicy"))
        .map(|v| v["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(policies.len(), 4, "{policies:?}");
    assert!(policies.iter().all(|p| p.contains("searchqueryerrors")), "{policies:?}");
}

/// Sloth's page alert fires exactly when one of our page tiers does; its
/// ticket alert within one 5m bucket of our ticket tiers (our 1d and 3d
/// ratios sum 5m buckets where Sloth reads the raw counters over the day).
#[test]
fn imported_sloth_alerts_fire_when_sloths_own_rules_do() {
    let d = tempfile::tempdir().unwrap();
    import("sloth", &repo().join("examples/interop/sloth/search-crd.yml"), d.path());
    let loaded = slo::driver::load(&[d.path().join("search.slo")], d.path()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors());
    let opts = slo::promql::Options { eval_interval: slo::units::Duration(60_000), ..Default::default() };
    let files = slo::promql::emit(&program, &opts).unwrap();
    std::fs::write(d.path().join("ours.yml"), &files[0].contents).unwrap();
    std::fs::copy(repo().join("tests/interop/sloth-search.rules.yml"), d.path().join("sloth.yml")).unwrap();
    let fixture = repo().join("tests/interop/sloth-search.firing.json");
    let firing: Firing = match promtool3() {
        Some(bin) => {
            let got = promtool_firing(&bin, d.path());
            if std::env::var("SLO_BLESS").is_ok_and(|v| v == "1") {
                std::fs::write(&fixture, serde_json::to_string_pretty(&got).unwrap()).unwrap();
            }
            let kept: Firing = serde_json::from_str(&std::fs::read_to_string(&fixture).expect("fixture")).unwrap();
            if got != kept {
                let dir = repo().join("target/test-artifacts");
                let _ = std::fs::create_dir_all(&dir);
                let _ = std::fs::write(
                    dir.join("sloth-search.firing.got.json"),
                    serde_json::to_string_pretty(&got).unwrap(),
                );
            }
            assert_eq!(got, kept, "promtool's answers changed: re-bless with SLO_BLESS=1 after checking");
            got
        }
        None => serde_json::from_str(&std::fs::read_to_string(&fixture).expect("fixture")).unwrap(),
    };
    let has = |t: i64, a: &str| firing.get(&t).is_some_and(|s| s.contains(a));
    // Our tiers keep Sloth's alert name.
    let any = |t: i64, name: &str, sev: &str| has(t, &format!("{name}/{sev}/slo"));
    let (mut pages, mut tickets, mut ticket_mismatch) = (0, 0, Vec::new());
    for &t in firing.keys() {
        let sloth_page = has(t, "SearchQueryErrors/page");
        assert_eq!(sloth_page, any(t, "SearchQueryErrors", "page"), "page alerts differ at {t}s");
        pages += sloth_page as usize;
        let sloth_ticket = has(t, "SearchQueryErrors/ticket");
        tickets += sloth_ticket as usize;
        if sloth_ticket != any(t, "SearchQueryErrors", "ticket") {
            ticket_mismatch.push(t);
        }
    }
    assert!(pages > 10 && tickets > 100, "the data must make both alerts fire: {pages} pages, {tickets} tickets");
    // Mismatches only right at a transition of Sloth's ticket alert.
    for t in &ticket_mismatch {
        let near = (-300..=300)
            .step_by(120)
            .any(|dt| has(t + dt, "SearchQueryErrors/ticket") != has(*t, "SearchQueryErrors/ticket"));
        assert!(near, "ticket alerts differ at {t}s, away from any transition");
    }
    assert!(ticket_mismatch.len() <= 6, "{ticket_mismatch:?}");
}

/// `slo compile --join-tiers` writes a severity's tiers as one `or`-joined
/// alert, Sloth's shape: promtool 3.5 evaluates it beside the unjoined
/// tiers (renamed `Joined…`, in the same group) and Sloth's own rules, and
/// at every minute it fires exactly when one of its tiers does, and the
/// page exactly when Sloth's page does.
#[test]
fn joined_tiers_fire_exactly_when_one_of_their_tiers_does() {
    let Some(bin) = promtool3() else {
        eprintln!("note: promtool 3.5 not found; joined_tiers_fire_exactly_when_one_of_their_tiers_does skipped");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    import("sloth", &repo().join("examples/interop/sloth/search-crd.yml"), d.path());
    let loaded = slo::driver::load(&[d.path().join("search.slo")], d.path()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors());
    let emit = |join| {
        let opts = slo::promql::Options { eval_interval: slo::units::Duration(60_000), join, ..Default::default() };
        let files = slo::promql::emit(&program, &opts).unwrap();
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&files[0].contents).unwrap()
    };
    // The tiers apart, and as the imported policy writes them (joined).
    let (mut tiers, joined) = (emit(slo::promql::Join::None), emit(slo::promql::Join::AsWritten));
    let mut added = 0;
    for r in joined["groups"][0]["rules"].as_sequence().unwrap() {
        let Some(name) = r["alert"].as_str() else { continue };
        assert!(r["labels"].get("long_window").is_none(), "a joined alert has no long_window: {r:?}");
        assert!(r["expr"].as_str().unwrap().contains(") or ("), "{r:?}");
        let mut r = r.clone();
        r["alert"] = format!("Joined{name}").into();
        tiers["groups"][0]["rules"].as_sequence_mut().unwrap().push(r);
        added += 1;
    }
    assert_eq!(added, 2, "one page and one ticket alert where there are four tiers");
    std::fs::write(d.path().join("ours.yml"), serde_yaml_ng::to_string(&tiers).unwrap()).unwrap();
    std::fs::copy(repo().join("tests/interop/sloth-search.rules.yml"), d.path().join("sloth.yml")).unwrap();
    let firing = promtool_firing(&bin, d.path());
    let has = |t: i64, a: &str| firing.get(&t).is_some_and(|s| s.contains(a));
    let mut fired = [0, 0];
    for (i, sev) in ["page", "ticket"].into_iter().enumerate() {
        for t in (0..=MINUTES as i64 * 60).step_by(120) {
            let joined = has(t, &format!("JoinedSearchQueryErrors/{sev}/slo"));
            assert_eq!(
                joined,
                has(t, &format!("SearchQueryErrors/{sev}/slo")),
                "{sev}: joined and tiers differ at {t}s"
            );
            if sev == "page" {
                assert_eq!(joined, has(t, "SearchQueryErrors/page"), "page: joined and Sloth's differ at {t}s");
            }
            fired[i] += joined as usize;
        }
    }
    assert!(fired[0] > 10 && fired[1] > 100, "the data must make both alerts fire: {fired:?}");
}

/// `join_tiers = true` in the imported policies, or `slo compile
/// --join-tiers` over a policy without it: Sloth's two alerts per SLO
/// (page, ticket) where tiers apart are four, none with `long_window`; the
/// Alertmanager target agrees without a flag and says it has no
/// inhibition for them.
#[test]
fn join_tiers_property_and_flag_halve_the_alerts_and_the_routing_says_what_it_loses() {
    let d = tempfile::tempdir().unwrap();
    import("sloth", &repo().join("examples/interop/sloth/checkout.yml"), d.path());
    let src = d.path().join("checkout.slo");
    let routing = |extra: &[&str]| {
        let am = d.path().join(format!("am{}", extra.len()));
        let mut args =
            vec!["compile", src.to_str().unwrap(), "--out", am.to_str().unwrap(), "--target", "alertmanager"];
        args.extend(extra);
        let (code, _, err) = slo(&args);
        assert_eq!(code, 0, "{err}");
        (err, std::fs::read_to_string(am.join("alertmanager.yml")).unwrap())
    };
    // As imported: joined, with no flag anywhere.
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(text.contains("  join_tiers = true\n"), "{text}");
    let (err, config) = routing(&[]);
    assert!(err.contains("slo::alertmanager::joined") && err.contains("2 SLO(s)"), "{err}");
    assert!(!config.contains("long_window"), "{config}");
    let rules = d.path().join("joined");
    let (code, _, err) = slo(&["compile", src.to_str().unwrap(), "--out", rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let joined = std::fs::read_to_string(rules.join("checkout.rules.yml")).unwrap();
    assert_eq!((joined.matches("- alert:").count(), joined.matches("long_window").count()), (3, 0));
    // Without the property: tiers apart, inhibited by window; the flag joins them again.
    std::fs::write(&src, text.replace("  join_tiers = true\n", "")).unwrap();
    let (err, config) = routing(&[]);
    assert!(!err.contains("slo::alertmanager::joined"), "{err}");
    assert!(config.contains("long_window"), "{config}");
    let alerts = |extra: &[&str]| {
        let out = d.path().join(format!("rules{}", extra.len()));
        let mut args = vec!["compile", src.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(extra);
        let (code, _, err) = slo(&args);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(out.join("checkout.rules.yml")).unwrap();
        (text.matches("- alert:").count(), text.matches("long_window").count())
    };
    assert_eq!(alerts(&[]), (6, 6), "the requests SLO's four tiers, the payments SLO's two ticket tiers");
    assert_eq!(alerts(&["--join-tiers"]), (3, 0));
    let (err, config) = routing(&["--join-tiers"]);
    assert!(err.contains("slo::alertmanager::joined") && err.contains("2 SLO(s)"), "{err}");
    assert!(!config.contains("long_window"), "{config}");
}

#[test]
fn export_openslo_validates_and_round_trips() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("export.yaml");
    let (code, _, err) = slo(&["export", "openslo", "examples/platform", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("slo::interop::lossy"), "what OpenSLO cannot express is reported: {err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/interop/openslo-v1.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let mut kinds = BTreeMap::new();
    for doc in text.split("\n---\n").map(|d| d.trim_start_matches("---\n")) {
        if doc.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_yaml_ng::from_str(doc).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{errors:?}\n{doc}");
        *kinds.entry(v["kind"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    assert_eq!(kinds.get("Service"), Some(&6), "{kinds:?}");
    assert!(kinds.get("SLO").is_some_and(|n| *n >= 10), "{kinds:?}");
    assert!(kinds.contains_key("AlertPolicy"), "{kinds:?}");
    // Exported OpenSLO imports back into .slo that checks, with the same objectives.
    let back = d.path().join("back");
    import("openslo", &out, &back);
    let (code, _, err) = slo(&["check", back.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // … with the same objectives, windows and burn-rate tiers (long window, factor, for).
    let files: Vec<PathBuf> = std::fs::read_dir(&back).unwrap().map(|e| e.unwrap().path()).collect();
    let (again, _) = slo::driver::check(&slo::driver::load(&files, &back).unwrap());
    let original = {
        let files = slo::driver::expand(&[repo().join("examples/platform")]).unwrap();
        slo::driver::check(&slo::driver::load(&files, &repo()).unwrap()).0
    };
    let shape = |s: &slo::ir::Slo| {
        let mut tiers: Vec<String> = s
            .alerts
            .iter()
            .filter_map(|a| match &a.condition {
                slo::ir::AlertCondition::BurnRate { long, factor, .. } => {
                    Some(format!("{}/{factor:.4}/{}/{}", long.ms(), a.for_.ms(), a.severity))
                }
                _ => None,
            })
            .collect();
        tiers.sort();
        (
            format!("{}-{}", s.service, s.name).replace('_', "-"),
            s.objective.to_string(),
            format!("{:?}", s.window),
            tiers,
        )
    };
    let got: BTreeSet<_> = again.slos.iter().map(shape).collect();
    let want: BTreeSet<_> = original
        .slos
        .iter()
        .filter(|s| matches!(s.sli, slo::ir::Sli::Events { .. } | slo::ir::Sli::Latency { .. }))
        .map(shape)
        .collect();
    assert_eq!(got, want);
    // Byte-identical from run to run.
    let (_, again, _) = slo(&["export", "openslo", "examples/platform"]);
    assert_eq!(again, text);
}

/// No YAML makes an importer panic: the examples, mutated (bytes deleted,
/// lines repeated, multibyte characters and YAML syntax inserted), go
/// through import and diagnostic rendering; whatever is produced parses.
#[test]
fn mutated_yaml_never_panics_an_importer() {
    let mut seeds: Vec<(&str, String)> = Vec::new();
    for kind in ["sloth", "openslo"] {
        for f in examples(kind) {
            seeds.push((kind, std::fs::read_to_string(f).unwrap()));
        }
    }
    let bits =
        ["é", "—", "{", "}", "[", "]", ": ", "- ", "\n", "  ", "'", "\"", "{{.window}}", "---\n", "*a", "&a ", "!!"];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    let (mut translated, mut rejected) = (0, 0);
    for round in 0..400 {
        let (kind, seed) = &seeds[round % seeds.len()];
        let mut t: Vec<char> = seed.chars().collect();
        for _ in 0..1 + next(4) {
            let at = next(t.len() + 1);
            match next(4) {
                0 => {
                    let end = (at + next(40)).min(t.len());
                    t.drain(at.min(t.len())..end);
                }
                1 => {
                    let bit = bits[next(bits.len())];
                    for (i, c) in bit.chars().enumerate() {
                        t.insert((at + i).min(t.len()), c);
                    }
                }
                2 => t.truncate(at),
                _ => {
                    let s: String = t.iter().collect();
                    let lines: Vec<&str> = s.lines().collect();
                    if !lines.is_empty() {
                        let l = lines[next(lines.len())].to_string();
                        t.extend(format!("\n{l}").chars());
                    }
                }
            }
        }
        let text: String = t.into_iter().collect();
        let r = if *kind == "sloth" {
            slo::interop::sloth::import("fuzz.yml", &text, "30d")
        } else {
            slo::interop::openslo::import("fuzz.yaml", &text)
        };
        let _ = slo::diag::render_human(&slo::diag::Diagnostics(r.diagnostics.clone()), &r.sources, false, 80);
        for (_, out) in r.texts() {
            let out = out.unwrap_or_else(|e| panic!("unparsable output for {text:?}:\n{e}"));
            slo::fmt::format_source(&out).unwrap_or_else(|_| panic!("unparsable output for {text:?}:\n{out}"));
        }
        let errors = r.has_errors();
        // Whatever an import would write checks, whatever else went wrong.
        let done = slo::interop::finish(vec![r]).unwrap();
        let named: Vec<(&str, &str)> = done.files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let (_, diags) = slo::driver::check(&slo::driver::load_strs(&named));
        assert!(!diags.has_errors(), "written .slo that does not check, from {text:?}: {:?}", diags.0);
        assert_eq!(done.complete, !errors && done.reports.is_empty(), "{text:?}");
        if errors {
            rejected += 1;
        } else {
            translated += 1;
        }
    }
    // The mutations reach both outcomes: translated files and reported errors.
    assert!(translated > 0 && rejected > 0, "{translated} translated, {rejected} rejected");
}

/// An import that exits 0 must write .slo that checks. A Sloth spec with
/// an SLO label `slo` (reserved) and two SLO names that become one
/// identifier (`req-avail`, `req_avail`) was written and then rejected by
/// `slo check`; then nothing at all was written. Now the SLOs the check
/// errors are in are dropped, each named at its YAML key, and the rest is
/// written and checks.
#[test]
fn an_slo_whose_translation_would_not_check_is_dropped_alone() {
    let d = tempfile::tempdir().unwrap();
    let spec = d.path().join("shop.yml");
    std::fs::write(
        &spec,
        format!(
            "version: \"prometheus/v1\"\nservice: \"shop\"\nslos:\n{}{}{}",
            sloth_slo("req-avail", "    labels:\n      slo: \"x\"\n"),
            sloth_slo("req_avail", ""),
            sloth_slo("checkout", "")
        ),
    )
    .unwrap();
    let out = d.path().join("out");
    let (code, _, err) = slo(&["import", "sloth", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::label::reserved") && err.contains("slo::name::duplicate"), "{err}");
    for (name, line) in [("req-avail", 4), ("req_avail", 17)] {
        assert!(
            err.contains(&format!("SLO `{name}` is not imported: the .slo translated from it does not pass")),
            "{err}"
        );
        assert!(err.contains(&format!("shop.yml:{line}:5]")), "anchored at the name key: {err}");
    }
    assert!(err.contains("slo::interop::unchecked"), "{err}");
    assert!(err.contains("imported 1 of 3 SLOs; skipped 2 (errors above)"), "{err}");
    let text = std::fs::read_to_string(out.join("shop.slo")).unwrap();
    assert!(text.contains("slo checkout for shop") && !text.contains("req_avail"), "{text}");
    let (code, _, err) = slo(&["check", out.to_str().unwrap(), "--root", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // When every SLO of a file is dropped, the file is not written.
    std::fs::write(
        &spec,
        format!(
            "version: \"prometheus/v1\"\nservice: \"shop\"\nslos:\n{}",
            sloth_slo("req-avail", "    labels:\n      slo: \"x\"\n")
        ),
    )
    .unwrap();
    let out = d.path().join("out2");
    let (code, stdout, err) = slo(&["import", "sloth", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(stdout.is_empty() && !out.exists(), "{err}");
    assert!(err.contains("imported 0 of 1 SLO; skipped 1 (errors above)"), "{err}");
}

/// One Sloth SLO, 11 lines (`extra` goes after `objective`).
fn sloth_slo(name: &str, extra: &str) -> String {
    format!(
        "  - name: \"{name}\"\n    objective: 99.9\n{extra}    sli:\n      events:\n        \
         error_query: sum(rate(http_requests_total{{job=\"api\",code=~\"5..\"}}[{{{{.window}}}}]))\n        \
         total_query: sum(rate(http_requests_total{{job=\"api\"}}[{{{{.window}}}}]))\n    alerting:\n      \
         page_alert:\n        disable: true\n      ticket_alert:\n        disable: true\n"
    )
}

/// One SLO that cannot be translated stopped the whole file (and every
/// other file of the import). It is skipped with an error naming it at its
/// YAML key; every other SLO, of its file and of the others, is written
/// and checks; a file whose service does not translate is skipped alone.
#[test]
fn one_untranslatable_slo_skips_only_itself() {
    let d = tempfile::tempdir().unwrap();
    let raw = "  - name: \"ratio\"\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: 1 - avg_over_time(up[{{.window}}])\n";
    let bad_objective = sloth_slo("hundred", "").replace("objective: 99.9", "objective: 100");
    let shop = d.path().join("shop.yml");
    std::fs::write(
        &shop,
        format!(
            "version: \"prometheus/v1\"\nservice: \"shop\"\nslos:\n{}{raw}{bad_objective}{}",
            sloth_slo("checkout", ""),
            sloth_slo("cart", "")
        ),
    )
    .unwrap();
    let search = d.path().join("search.yml");
    std::fs::write(
        &search,
        format!("version: \"prometheus/v1\"\nservice: \"search\"\nslos:\n{}", sloth_slo("queries", "")),
    )
    .unwrap();
    // No service: this file is skipped, with its two SLOs.
    let orphan = d.path().join("orphan.yml");
    std::fs::write(&orphan, format!("version: \"prometheus/v1\"\nslos:\n{}{}", sloth_slo("a", ""), sloth_slo("b", "")))
        .unwrap();
    let out = d.path().join("out");
    let args = |files: &[&Path]| {
        let mut a: Vec<String> = vec!["import".into(), "sloth".into()];
        a.extend(files.iter().map(|f| f.to_str().unwrap().to_string()));
        a.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
        a
    };
    let a = args(&[&shop, &orphan, &search]);
    let (code, _, err) = slo(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("raw error-ratio query"), "{err}");
    for (name, line) in [("ratio", 15), ("hundred", 20)] {
        assert!(err.contains(&format!("SLO `{name}` is not imported")), "{err}");
        assert!(err.contains(&format!("shop.yml:{line}:5]")), "{name} at its name key: {err}");
    }
    assert!(err.contains("the spec has no `service`"), "{err}");
    assert!(err.contains("imported 3 of 7 SLOs; skipped 4 (errors above)"), "{err}");
    let text = std::fs::read_to_string(out.join("shop.slo")).unwrap();
    for (name, kept) in [("checkout", true), ("cart", true), ("ratio", false), ("hundred", false)] {
        assert_eq!(text.contains(&format!("slo {name} for shop")), kept, "{name}: {text}");
    }
    assert!(out.join("search.slo").exists());
    let (code, _, err) = slo(&["check", out.to_str().unwrap(), "--root", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // All translated: exit 0 and the count.
    let a = args(&[&search]);
    let (code, _, err) = slo(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("imported 1 of 1 SLO\n"), "{err}");
}

/// The most common Sloth latency query, errors as all requests minus the
/// fast bucket over all requests, was rejected; it is a latency SLI. The
/// import checks, and its rules compute the same error ratio.
#[test]
fn sloths_latency_query_imports_as_a_latency_sli() {
    let d = tempfile::tempdir().unwrap();
    let spec = d.path().join("api.yml");
    std::fs::write(
        &spec,
        "version: \"prometheus/v1\"\nservice: \"api\"\nslos:\n  - name: \"latency\"\n    objective: 99\n    sli:\n      events:\n        \
         error_query: sum(rate(http_request_duration_seconds_count{job=\"api\"}[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{job=\"api\",le=\"0.25\"}[{{.window}}]))\n        \
         total_query: sum(rate(http_request_duration_seconds_count{job=\"api\"}[{{.window}}]))\n    alerting:\n      \
         page_alert:\n        disable: true\n      ticket_alert:\n        disable: true\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let (code, _, err) = slo(&["import", "sloth", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(out.join("api.slo")).unwrap();
    assert!(text.contains("sli latency {"), "{text}");
    assert!(text.contains(r#"histogram = http_request_duration_seconds{job="api"}"#), "{text}");
    assert!(text.contains("below = 250ms"), "{text}");
    let (code, _, err) = slo(&["check", out.to_str().unwrap(), "--root", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Other shapes of a difference stay untranslatable, with their key named.
    let text = std::fs::read_to_string(&spec).unwrap().replace("le=\"0.25\"", "le=~\"0.2.\"");
    std::fs::write(&spec, text).unwrap();
    let (code, _, err) =
        slo(&["import", "sloth", spec.to_str().unwrap(), "--out", d.path().join("o2").to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error_query"), "{err}");
}

/// A prometheus/v1 spec that spells a key the CRD way (`errorQuery`) got
/// "events need both an error and a total query"; it now says which
/// spelling the format wants.
#[test]
fn a_key_in_the_other_formats_spelling_is_named() {
    let d = tempfile::tempdir().unwrap();
    let spec = d.path().join("api.yml");
    std::fs::write(
        &spec,
        "version: \"prometheus/v1\"\nservice: \"api\"\nslos:\n  - name: \"availability\"\n    objective: 99.9\n    sli:\n      events:\n        \
         errorQuery: sum(rate(http_requests_total{job=\"api\",code=~\"5..\"}[{{.window}}]))\n        \
         total_query: sum(rate(http_requests_total{job=\"api\"}[{{.window}}]))\n    alerting:\n      \
         page_alert:\n        disable: true\n      ticket_alert:\n        disable: true\n",
    )
    .unwrap();
    let (code, _, err) = slo(&["import", "sloth", spec.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`errorQuery` is how the CRD spells it"), "{err}");
    assert!(err.contains("help: rename the key to `error_query`"), "{err}");
}

/// `sum by (route)` on both queries was rejected; it is the SLO's
/// `group_by`, and the import checks.
#[test]
fn sum_by_in_sloth_queries_becomes_group_by() {
    let d = tempfile::tempdir().unwrap();
    let spec = d.path().join("api.yml");
    let yaml = |error_by: &str| {
        format!(
            "version: \"prometheus/v1\"\nservice: \"api\"\nslos:\n  - name: \"availability\"\n    objective: 99.9\n    sli:\n      events:\n        \
             error_query: sum by ({error_by}) (rate(http_requests_total{{job=\"api\",code=~\"5..\"}}[{{{{.window}}}}]))\n        \
             total_query: sum by (route) (rate(http_requests_total{{job=\"api\"}}[{{{{.window}}}}]))\n    alerting:\n      \
             page_alert:\n        disable: true\n      ticket_alert:\n        disable: true\n"
        )
    };
    std::fs::write(&spec, yaml("route")).unwrap();
    let out = d.path().join("out");
    let (code, _, err) = slo(&["import", "sloth", spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(out.join("api.slo")).unwrap();
    assert!(text.contains("group_by = [route]"), "{text}");
    let (code, _, err) = slo(&["check", out.to_str().unwrap(), "--root", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Different groupings cannot be one SLO: an error at the error query.
    std::fs::write(&spec, yaml("handler")).unwrap();
    let (code, _, err) = slo(&["import", "sloth", spec.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("groups by (handler) but the total query by (route)"), "{err}");
}

/// OpenSLO threshold metrics over `histogram_quantile` were rejected;
/// "p99 below 300ms in every slice" (Timeslices, `timeSliceTarget: 1`) is a
/// slice condition `quantile(0.99, h) < 300ms`, and `sum by (le, route)` the
/// SLO's group_by. A quantile threshold over Occurrences (a share of
/// evaluation points, not of requests) is skipped with an error at
/// `budgetingMethod`; SLOs whose alert policy does not translate are
/// skipped; the rest of the file is written and checks.
#[test]
fn openslo_quantile_thresholds_and_sum_by_translate_and_the_rest_is_kept() {
    use slo::ir::{CmpOp, Sli, SliceQuantity};
    let d = tempfile::tempdir().unwrap();
    let spec = repo().join("tests/interop/openslo-mixed.yaml");
    let (code, _, err) = slo(&["import", "openslo", spec.to_str().unwrap(), "--out", d.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("imported 2 of 5 SLOs; skipped 3 (errors above)"), "{err}");
    assert!(err.contains("SLO `p99-occurrences`: a threshold metric under Occurrences budgeting"), "{err}");
    assert!(err.contains("openslo-mixed.yaml:88:3]"), "at budgetingMethod: {err}");
    assert!(err.contains("help: use Timeslices budgeting with `timeSliceTarget: 1`"), "{err}");
    assert!(err.contains("SLO `browse`: its alert policy `on-errors` does not translate"), "{err}");
    for name in ["p99-occurrences", "search", "browse"] {
        assert!(err.contains(&format!("SLO `{name}` is not imported")), "{err}");
    }
    let text = std::fs::read_to_string(d.path().join("api.slo")).unwrap();
    assert!(text.contains("alerts paging()") && !text.contains("error_count"), "{text}");
    let files = vec![d.path().join("api.slo")];
    let (p, diags) = slo::driver::check(&slo::driver::load(&files, d.path()).unwrap());
    assert!(!diags.has_errors(), "{text}");
    let q = find(&p, "p99_latency");
    assert_eq!(q.group_by, vec!["route".to_string()]);
    match &q.sli {
        Sli::Timeslices { slice: slo::units::Duration(60_000), good } => {
            let [c] = good.all.as_slice() else { panic!("{good:?}") };
            assert!(matches!(&c.lhs, SliceQuantity::Quantile { q, histogram }
                if *q == 0.99 && histogram.metric.as_deref() == Some("http_request_duration_seconds")));
            assert_eq!((c.op, c.rhs), (CmpOp::Lt, 0.3));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(find(&p, "availability").group_by, vec!["route".to_string()]);
    assert_eq!(p.slos.len(), 2);
    // The query's range differs from the slice: translated, with a warning.
    let yaml = std::fs::read_to_string(&spec).unwrap();
    let (code, _, err) = import_text("openslo", &yaml.replace("[1m])) by (le, route)", "[5m])) by (le, route)"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the quantile is measured over each 1m slice, not over the query's [5m]"), "{err}");
    // Quantiles .slo does not compute are errors at the query.
    for (from, to, why) in [
        (
            "sum(rate(http_request_duration_seconds_bucket{job=\"api\"}[1m])) by (le, route)",
            "rate(http_request_duration_seconds_bucket{job=\"api\"}[1m])",
            "the buckets are not summed",
        ),
        ("by (le, route))", "by (route))", "summed `by (le)`"),
        ("value: 0.3\n", "value: 0.0003\n", "not a whole number of milliseconds"),
    ] {
        let (code, _, err) = import_text("openslo", &yaml.replace(from, to));
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(why) && err.contains("SLO `p99-latency` is not imported"), "{why}: {err}");
    }
    // `sum by` on one ratio query only: an error at that query.
    let (code, _, err) = import_text(
        "openslo",
        &yaml.replace(
            "sum by (route) (rate(http_requests_total{job=\"api\"}[5m]))",
            "sum(rate(http_requests_total{job=\"api\"}[5m]))",
        ),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the bad query groups by (route) but the total query by ()"), "{err}");
    assert!(err.contains("SLO `availability` is not imported"), "{err}");
}

/// A threshold objective says every point of a slice is good (with
/// `timeSliceTarget: 1`); the slice's average under the bound let a slice
/// with a bad point count as good. The worst point is held to it: `max`
/// for lt/lte, `min` for gt/gte.
#[test]
fn an_openslo_threshold_holds_every_point_of_the_slice() {
    let yaml = std::fs::read_to_string(repo().join("examples/interop/openslo/latency-threshold.yaml")).unwrap();
    let (code, out, err) = import_text("openslo", &yaml);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("good when max(fulfilment_lag_seconds{job=\"fulfilment\"}) <= 30"), "{out}");
    let (code, out, err) = import_text("openslo", &yaml.replace("op: lte", "op: gt"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("good when min(fulfilment_lag_seconds{job=\"fulfilment\"}) > 30"), "{out}");
    // Counted over Occurrences or RatioTimeslices, threshold points have no .slo counterpart.
    for method in ["Occurrences", "RatioTimeslices"] {
        let (code, out, err) =
            import_text("openslo", &yaml.replace("budgetingMethod: Timeslices", &format!("budgetingMethod: {method}")));
        assert_eq!(code, 1, "{err}");
        assert!(out.is_empty() && err.contains(&format!("a threshold metric under {method} budgeting")), "{err}");
    }
}

/// Settings the importers read past without a word: a misspelled Sloth
/// `disable` (the alert then pages), an OpenSLO `alertAfter` that is not a
/// duration (the tier lost its `for`), an unknown severity (paged), and a
/// composite whose objectives give `targetPercent` (its objective became
/// 99%). Each is now a warning or an error at its key.
#[test]
fn alert_settings_and_targets_are_never_read_past_silently() {
    let spec = format!(
        "version: \"prometheus/v1\"\nservice: \"api\"\nslos:\n{}",
        sloth_slo("availability", "").replace("disable: true", "disabled: true")
    );
    let (code, _, err) =
        import_text("sloth", &spec.replace("    alerting:\n", "    alerting:\n      name: ApiErrors\n"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("SLO `availability`: `disabled` in the page alert is not translated"), "{err}");
    assert!(err.contains("Sloth reads `disable`, `labels`, `annotations` here"), "{err}");
    let storefront = std::fs::read_to_string(repo().join("examples/interop/openslo/storefront.yaml")).unwrap();
    let (code, out, err) =
        import_text("openslo", &storefront.replace("    alertAfter: 2m", "    alertAfter: 2 minutes"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("alert condition `fast-burn`: `alertAfter: 2 minutes` is not a duration"), "{err}");
    assert!(err.contains("SLO `availability` is not imported"), "{err}");
    assert!(out.contains("slo checkout_good_minutes") && !out.contains("slo availability"), "{out}");
    let (code, out, err) = import_text("openslo", &storefront.replace("  severity: page\n", "  severity: high\n"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("alert condition `fast-burn`: severity `high` becomes `page`"), "{err}");
    assert!(out.contains(r#"openslo_severity: "high""#), "{out}");
    let (code, out, err) =
        import_text("openslo", &storefront.replace("      target: 0.995\n", "      targetPercent: 99.5\n"));
    assert_eq!(code, 0, "{err}");
    let journeys = out.split("slo journeys for").nth(1).expect("the composite");
    assert!(
        journeys.trim_start().split('\n').nth(1).is_some_and(|l| l.contains("objective = 99.5% over 28d")),
        "{out}"
    );
}

/// OpenSLO DataSources: a `metricSourceRef` takes its type from the
/// DataSource it names (Prometheus: translated, with or without an inline
/// `type` that agrees; Datadog: untranslatable), and a ref to no DataSource
/// of the file is `slo::interop::unknown_ref` at the ref; the other SLOs
/// are imported and mean what they meant.
#[test]
fn openslo_metric_source_refs_resolve_to_data_sources() {
    let d = tempfile::tempdir().unwrap();
    let spec = repo().join("tests/interop/openslo-datasources.yaml");
    let (code, _, err) = slo(&["import", "openslo", spec.to_str().unwrap(), "--out", d.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("imported 1 of 3 SLOs; skipped 2 (errors above)"), "{err}");
    assert!(err.contains("slo::interop::unknown_ref"), "{err}");
    assert!(err.contains("`metricSourceRef: prom-mian` names no DataSource"), "{err}");
    assert!(err.contains("openslo-datasources.yaml:68:13]"), "at the ref: {err}");
    assert!(err.contains("the DataSources imported are `dd`, `prom-main`"), "{err}");
    assert!(err.contains("metric source type `Datadog`: only Prometheus sources translate"), "{err}");
    assert!(!err.contains("`DataSource` objects are not translated"), "{err}");
    let files = vec![d.path().join("checkout.slo")];
    let (p, diags) = slo::driver::check(&slo::driver::load(&files, d.path()).unwrap());
    assert!(!diags.has_errors());
    let s = find(&p, "checkout_availability");
    match &s.sli {
        slo::ir::Sli::Events { numerator: slo::ir::EventsNumerator::Bad(bad), total } => {
            assert_eq!(bad.metric.as_deref(), Some("http_requests_total"));
            assert!(bad.matchers.iter().any(|m| m.label == "code" && m.value == "5.."), "{bad:?}");
            assert_eq!(total.metric.as_deref(), Some("http_requests_total"));
        }
        other => panic!("{other:?}"),
    }
    // A type that contradicts the DataSource's is an error, not a choice.
    let text = std::fs::read_to_string(&spec).unwrap();
    let (code, _, err) = import_text("openslo", &text.replace("        type: Prometheus\n", "        type: Datadog\n"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("metric source type `Datadog`, but its DataSource `prom-main`") && err.contains("Prometheus`"),
        "{err}"
    );
}

/// `slo import sloth DIR` reads every `*.yml` and `*.yaml` below it, sorted,
/// hidden entries skipped, as Sloth's `-i DIR` does: the same .slo as
/// naming the files; a directory without specs is a usage error.
#[test]
fn importing_a_directory_is_importing_its_specs() {
    let d = tempfile::tempdir().unwrap();
    let specs = d.path().join("specs");
    std::fs::create_dir_all(specs.join("more")).unwrap();
    std::fs::copy(repo().join("examples/interop/sloth/checkout.yml"), specs.join("checkout.yml")).unwrap();
    std::fs::copy(repo().join("examples/interop/sloth/search-crd.yml"), specs.join("more/search.yaml")).unwrap();
    std::fs::write(specs.join(".draft.yml"), "not: [a spec").unwrap();
    std::fs::write(specs.join("README.md"), "# specs").unwrap();
    let run = |args: &[&str], out: &str| {
        let out = d.path().join(out);
        let mut all = vec!["import", "sloth"];
        all.extend(args);
        all.extend(["--out", out.to_str().unwrap()]);
        let (code, _, err) = slo(&all);
        assert_eq!(code, 0, "{err}");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let by_dir = run(&[specs.to_str().unwrap()], "by_dir");
    let named = [specs.join("checkout.yml"), specs.join("more/search.yaml")];
    let by_name = run(&[named[0].to_str().unwrap(), named[1].to_str().unwrap()], "by_name");
    assert_eq!(by_dir, by_name);
    assert_eq!(by_dir.len(), 2, "{by_dir:?}");
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = slo(&["import", "sloth", empty.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no *.yml or *.yaml"), "{err}");
}
