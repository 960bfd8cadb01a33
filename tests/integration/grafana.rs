//! `slo compile --target grafana`: every query of every dashboard reads a
//! series the compiled rules record (or `ALERTS`) for its own service and
//! SLO; every dashboard matches a JSON Schema of Grafana's dashboard model
//! (tests/grafana/dashboard.schema.json) and lays its panels out without
//! overlap; output is deterministic, `--check` and stale-file removal work
//! as for rule files; one small dashboard is snapshotted.

use super::common::*;
use promql_parser::label::MatchOp;
use promql_parser::parser::{self as pp, Expr};
use serde_json::Value;
use slo::promql::{self, rules::Rule, Options, OutFile};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn program(files: &[PathBuf]) -> slo::ir::Program {
    let loaded = slo::driver::load(files, &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    program
}

fn dashboards(program: &slo::ir::Program) -> Vec<OutFile> {
    promql::validate(program, &Options::default()).unwrap_or_else(|e| panic!("{e:?}"));
    slo::grafana::files(program, &Options::default()).collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{e}"))
}

fn json(f: &OutFile) -> Value {
    serde_json::from_str(&f.contents).unwrap_or_else(|e| panic!("{}: {e}", f.path))
}

/// Every (vector or matrix) selector of an expression.
fn selectors<'a>(e: &'a Expr, out: &mut Vec<&'a pp::VectorSelector>) {
    match e {
        Expr::VectorSelector(vs) => out.push(vs),
        Expr::MatrixSelector(ms) => out.push(&ms.vs),
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn equal_matcher<'a>(vs: &'a pp::VectorSelector, label: &str) -> Option<&'a str> {
    vs.matchers.matchers.iter().find(|m| m.name == label && m.op == MatchOp::Equal).map(|m| m.value.as_str())
}

/// Every panel target of a dashboard: (panel title, expr).
fn targets(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((p["title"].as_str().unwrap().to_string(), t["expr"].as_str().unwrap().to_string()));
        }
    }
    out
}

#[test]
fn grafana_queries_read_recorded_series() {
    let program = program(&slo_files("examples"));
    // What the prometheus target records, per (service, slo).
    let mut recorded: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (slo, g) in program.slos.iter().zip(promql::groups(&program, &Options::default()).unwrap()) {
        let names = recorded.entry((slo.service.clone(), slo.name.clone())).or_default();
        for r in &g.rules {
            if let Rule::Record(r) = r {
                names.insert(r.record.name());
            }
        }
    }
    let files = dashboards(&program);
    let services: BTreeSet<&str> = program.slos.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(files.len(), services.len());
    let mut seen_slos = BTreeSet::new();
    let mut alerts_read = 0;
    for f in &files {
        let service = f.path.strip_suffix(".dashboard.json").expect("named after the service");
        for (panel, expr) in targets(&json(f)) {
            let parsed = pp::parse(&expr).unwrap_or_else(|e| panic!("{}: panel {panel}: `{expr}`: {e}", f.path));
            let mut sels = Vec::new();
            selectors(&parsed, &mut sels);
            assert!(!sels.is_empty(), "{panel}: `{expr}` reads no series");
            for vs in sels {
                assert_eq!(equal_matcher(vs, "service"), Some(service), "{}: {panel}: `{expr}`", f.path);
                let slo = equal_matcher(vs, "slo").unwrap_or_else(|| panic!("{panel}: `{expr}` has no slo matcher"));
                let key = (service.to_string(), slo.to_string());
                seen_slos.insert(key.clone());
                let name = vs.name.as_deref().expect("selectors name their metric");
                if name == "ALERTS" {
                    alerts_read += 1;
                    let s = program.slo(service, slo).unwrap();
                    assert!(!s.alerts.is_empty() || !s.policy_rules.is_empty(), "{service}/{slo} has no alerts");
                } else {
                    assert!(
                        recorded[&key].contains(name),
                        "{}: {panel}: `{name}` is not recorded for {service}/{slo}: {:?}",
                        f.path,
                        recorded[&key]
                    );
                }
            }
        }
    }
    // Every SLO has panels, and the alert panels exist.
    assert_eq!(seen_slos.len(), program.slos.len());
    assert!(alerts_read > 0);
}

/// Burn-rate panels draw every recorded window and every tier's factor.
#[test]
fn grafana_burn_rate_panel_has_windows_and_tiers() {
    let program = program(&[repo().join("examples/features/alert_tiers.slo")]);
    let d = json(&dashboards(&program)[0]);
    let burn = d["panels"].as_array().unwrap().iter().find(|p| p["title"] == "Burn rate").unwrap();
    let legends: Vec<&str> =
        burn["targets"].as_array().unwrap().iter().map(|t| t["legendFormat"].as_str().unwrap()).collect();
    assert_eq!(legends, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
    // 14.4x, 5% of 30d over 6h = 6x, 10% over 1d = 3x, 1x.
    let steps: Vec<(String, Value)> = burn["fieldConfig"]["defaults"]["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["color"].as_str().unwrap().to_string(), s["value"].clone()))
        .collect();
    let want: Vec<(String, Value)> =
        [("green", Value::Null), ("orange", 1.into()), ("orange", 3.into()), ("red", 6.into()), ("red", 14.4.into())]
            .into_iter()
            .map(|(c, v)| (c.to_string(), v))
            .collect();
    assert_eq!(steps.len(), want.len(), "{steps:?}");
    for ((c, v), (wc, wv)) in steps.iter().zip(&want) {
        assert_eq!(c, wc);
        assert!(v.as_f64() == wv.as_f64(), "{steps:?}");
    }
    assert_eq!(burn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"], "dashed");
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("tests/grafana/dashboard.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("the schema compiles")
}

fn schema_errors(v: &jsonschema::Validator, d: &Value) -> Vec<String> {
    v.iter_errors(d).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// What a JSON Schema cannot say: unique ids and query ids, panels inside
/// the 24-column grid and not overlapping, every query on `${datasource}`.
fn layout_errors(d: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let vars: BTreeSet<&str> =
        d["templating"]["list"].as_array().unwrap().iter().filter_map(|v| v["name"].as_str()).collect();
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for p in d["panels"].as_array().unwrap() {
        let g = &p["gridPos"];
        let (h, w, x, y) =
            (g["h"].as_u64().unwrap(), g["w"].as_u64().unwrap(), g["x"].as_u64().unwrap(), g["y"].as_u64().unwrap());
        if !ids.insert(p["id"].as_u64().unwrap()) {
            errs.push(format!("duplicate panel id {}", p["id"]));
        }
        if x + w > 24 {
            errs.push(format!("panel {} is wider than the grid", p["id"]));
        }
        for cy in y..y + h {
            for cx in x..x + w {
                if !cells.insert((cx, cy)) {
                    errs.push(format!("panel {} overlaps another at ({cx}, {cy})", p["id"]));
                }
            }
        }
        let mut refs = BTreeSet::new();
        for t in p["targets"].as_array().into_iter().flatten() {
            if !refs.insert(t["refId"].as_str().unwrap()) {
                errs.push(format!("panel {}: duplicate refId {}", p["id"], t["refId"]));
            }
            for ds in [&p["datasource"], &t["datasource"]] {
                let uid = ds["uid"].as_str().unwrap_or("");
                if ds["type"] != "prometheus" || !(uid == "${datasource}" && vars.contains("datasource")) {
                    errs.push(format!("panel {}: datasource {ds} is not the ${{datasource}} variable", p["id"]));
                }
            }
        }
    }
    errs
}

#[test]
fn grafana_dashboards_match_the_schema() {
    let v = schema();
    let mut files = dashboards(&program(&slo_files("examples")));
    files.extend(dashboards(&program(&[repo().join("tests/grafana/small.slo")])));
    for f in &files {
        let d = json(f);
        let mut errs = schema_errors(&v, &d);
        errs.extend(layout_errors(&d));
        assert!(errs.is_empty(), "{}:\n{}", f.path, errs.join("\n"));
    }
}

/// The schema and the layout check have teeth: each broken copy fails.
#[test]
fn grafana_schema_rejects_broken_dashboards() {
    let v = schema();
    let good = json(&dashboards(&program(&[repo().join("tests/grafana/small.slo")]))[0]);
    assert!(schema_errors(&v, &good).is_empty() && layout_errors(&good).is_empty());
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: Vec<Breakage> = vec![
        ("no uid", |d| {
            d.as_object_mut().unwrap().remove("uid");
        }),
        ("short uid", |d| d["uid"] = "slo-x".into()),
        ("other schema version", |d| d["schemaVersion"] = 36.into()),
        ("panel without gridPos", |d| {
            d["panels"][2].as_object_mut().unwrap().remove("gridPos");
        }),
        ("panel wider than 24", |d| d["panels"][2]["gridPos"]["w"] = 25.into()),
        ("target without expr", |d| {
            d["panels"][2]["targets"][0].as_object_mut().unwrap().remove("expr");
        }),
        ("panel without targets", |d| {
            d["panels"][2].as_object_mut().unwrap().remove("targets");
        }),
        ("first threshold step with a value", |d| {
            d["panels"][2]["fieldConfig"]["defaults"]["thresholds"]["steps"][0]["value"] = 1.into()
        }),
        ("datasource variable without query", |d| {
            d["templating"]["list"][0].as_object_mut().unwrap().remove("query");
        }),
        ("link without url", |d| {
            d["links"][0].as_object_mut().unwrap().remove("url");
        }),
        ("overlapping panels", |d| d["panels"][3]["gridPos"] = d["panels"][2]["gridPos"].clone()),
        ("duplicate ids", |d| d["panels"][3]["id"] = d["panels"][2]["id"].clone()),
        ("fixed datasource", |d| d["panels"][2]["datasource"]["uid"] = "prom-1".into()),
    ];
    for (what, breaks) in breakages {
        let mut d = good.clone();
        breaks(&mut d);
        assert!(!schema_errors(&v, &d).is_empty() || !layout_errors(&d).is_empty(), "a dashboard with {what} passes");
    }
}

fn slo_in(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slo")).args(args).current_dir(cwd).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn grafana_output_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let examples = repo().join("examples").display().to_string();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let (code, _, err) =
            slo_in(&["compile", &examples, "--target", "grafana", "--out", &out.display().to_string()], &repo());
        assert_eq!(code, 0, "{err}");
    }
    let (first, second) = (read_dir(&a), read_dir(&b));
    assert!(
        first.len() >= 6 && first.keys().all(|k| k.ends_with(".dashboard.json") || k.starts_with(".slo")),
        "{:?}",
        first.keys()
    );
    assert_eq!(first, second);
}

#[test]
fn grafana_check_mode_and_stale_dashboards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("src")).unwrap();
    let file = d.join("src/shop.slo");
    std::fs::copy(repo().join("tests/grafana/small.slo"), &file).unwrap();
    let compile = |extra: &[&str]| {
        let mut args = vec!["compile", "src", "--out", "out", "--target", "grafana"];
        args.extend(extra);
        slo_in(&args, d)
    };
    // Rule files and dashboards may share a directory: neither removes the other.
    let (code, _, err) = slo_in(&["compile", "src", "--out", "out"], d);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = compile(&[]);
    assert_eq!(code, 0, "{err}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join("out/shop.dashboard.json")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert!(d.join("out/shop.rules.yml").exists());
    let (code, _, err) = compile(&["--check"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = slo_in(&["compile", "src", "--out", "out", "--check"], d);
    assert_eq!(code, 0, "rule files are still up to date: {err}");
    // Drift: a changed objective.
    let text = std::fs::read_to_string(&file).unwrap().replace("99.9% over 30d", "99.5% over 30d");
    std::fs::write(&file, text).unwrap();
    let (code, diff, _) = compile(&["--check"]);
    assert_eq!(code, 1);
    assert!(diff.contains("--- a/shop.dashboard.json") && diff.contains("99.5%"), "{diff}");
    // A dashboard of a removed service is stale; other JSON is not ours.
    let gone = d.join("src/gone.slo");
    std::fs::write(&gone, std::fs::read_to_string(&file).unwrap().replace("shop", "gone")).unwrap();
    let (code, _, err) = compile(&[]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(&gone).unwrap();
    std::fs::write(d.join("out/mine.json"), "{\n  \"title\": \"hand-made\"\n}\n").unwrap();
    let (code, diff, _) = compile(&["--check"]);
    assert_eq!(code, 1);
    assert!(diff.contains("--- a/gone.dashboard.json") && !diff.contains("mine.json"), "{diff}");
    let (code, _, err) = compile(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 stale removed"), "{err}");
    assert!(!d.join("out/gone.dashboard.json").exists());
    assert!(d.join("out/mine.json").exists() && d.join("out/shop.rules.yml").exists());
    let (code, _, err) = compile(&["--check"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn grafana_snapshot_small_dashboard() {
    let files = dashboards(&program(&[repo().join("tests/grafana/small.slo")]));
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "shop.dashboard.json");
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("grafana_small_dashboard", files[0].contents);
    });
}
