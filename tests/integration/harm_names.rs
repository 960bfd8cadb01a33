//! Names that collide on deploy, names a target cannot take, and YAML that
//! other readers misread (issue 13, items 6 and 7).
//!
//! - `slo check` reports every generated name two declarations share
//!   (`slo::name::collision`) and every name over a target's limits
//!   (`slo::name::too_long`, `slo::name::invalid`); each claim is held to
//!   what the backends really write.
//! - `--namespace` and `--label` are Kubernetes names (`slo::flag::*`, exit 2).
//! - Every scalar the YAML writer leaves plain resolves to a string under a
//!   YAML 1.1 and 1.2 resolver table written from the specs; and PyYAML (a
//!   YAML 1.1 reader), when installed, loads every compiled file and the
//!   OpenSLO export of a hostile example back to the same values.

use super::common::*;
use slo::promql::{self, Options, Target};
use std::collections::BTreeMap;
use std::process::Command;

fn check_str(src: &str) -> (slo::driver::Loaded, slo::ir::Program, slo::diag::Diagnostics) {
    let loaded = slo::driver::load_strs(&[("names.slo", src)]);
    let (program, diags) = slo::driver::check(&loaded);
    (loaded, program, diags)
}

fn spanned(loaded: &slo::driver::Loaded, span: slo::source::Span) -> &str {
    &loaded.sources.get(span.source).text[span.range()]
}

fn targets() -> Vec<Options> {
    [Target::Prometheus, Target::PrometheusOperator, Target::Mimir, Target::Vmalert, Target::VmRule]
        .into_iter()
        .map(|target| Options { target, ..Options::default() })
        .collect()
}

const TWO_APIS: &str = r#"
service Api {
  owner = "public"
}
service api {
  owner = "internal"
}
slo availability for Api {
  objective = 99.9% over 28d
  sli events {
    bad = http_requests_total{job="public", code=~"5.."}
    total = http_requests_total{job="public"}
  }
}
slo availability for api {
  objective = 99.9% over 28d
  sli events {
    bad = http_requests_total{job="internal", code=~"5.."}
    total = http_requests_total{job="internal"}
  }
}
"#;

/// `Api` and `api`: one error, on the later service, the earlier one
/// related; the help names what collides. And the claim is true: every
/// target really writes the two services under one name.
#[test]
fn services_differing_in_case_collide_on_every_target() {
    let (loaded, program, diags) = check_str(TWO_APIS);
    let collisions: Vec<_> = diags.iter().filter(|d| d.code == "slo::name::collision").collect();
    assert_eq!(collisions.len(), 1, "{}", render(&loaded, &diags));
    let d = collisions[0];
    assert_eq!(spanned(&loaded, d.span), "api");
    assert!(d.span.start > d.related[0].0.start, "primary on the second declaration");
    assert_eq!(spanned(&loaded, d.related[0].0), "Api");
    let help = d.help.as_deref().unwrap();
    for name in ["`slo-api`", "PrometheusRule", "ruler namespace (mimir)", "`Api.rules.yml` and `api.rules.yml`"] {
        assert!(help.contains(name), "{name} not in {help}");
    }
    // No other error: the SLOs `Api.availability` and `api.availability` differ.
    assert_eq!(diags.errors(), 1, "{}", render(&loaded, &diags));

    // What the backends write for the two services.
    for opts in targets() {
        let files: Vec<_> = promql::files(&program, &opts).map(Result::unwrap).collect();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path.to_lowercase(), files[1].path.to_lowercase(), "{:?}", opts.target);
        let objects: Vec<serde_yaml_ng::Value> =
            files.iter().map(|f| serde_yaml_ng::from_str(&f.contents).unwrap()).collect();
        match opts.target {
            Target::Prometheus | Target::Vmalert => {}
            Target::PrometheusOperator | Target::VmRule => {
                assert_eq!(objects[0]["metadata"]["name"], objects[1]["metadata"]["name"])
            }
            Target::Mimir => assert_eq!(objects[0]["namespace"], objects[1]["namespace"]),
        }
    }
    let dashboards: Vec<_> = slo::grafana::files(&program, &Options::default()).map(Result::unwrap).collect();
    assert_eq!(dashboards[0].path.to_lowercase(), dashboards[1].path.to_lowercase());
}

/// Names that differ in more than case (and `_`/`-`) are not reported.
#[test]
fn distinct_names_do_not_collide() {
    let services = ["api", "api2", "api_v2", "apiv2", "a_pi", "ap_i", "checkout", "checkout_frontend_gateway_a"];
    let src: String = services.iter().map(|s| format!("service {s} {{\n  owner = \"o\"\n}}\n")).collect();
    let (loaded, _, diags) = check_str(&src);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
}

/// Two long names whose Grafana uids (prefix + 32-bit hash) are equal: the
/// check says so, and the dashboards really share the uid.
#[test]
fn dashboard_uid_hash_collision() {
    let src = std::fs::read_to_string(repo().join("tests/errors/name_collision_dashboard_uid.slo")).unwrap();
    let (loaded, program, diags) = check_str(&src);
    let d = diags.iter().find(|d| d.code == "slo::name::collision").expect("collision reported");
    assert!(d.help.as_deref().unwrap().contains("dashboard uid (grafana)"), "{}", render(&loaded, &diags));
    // Give each service an SLO so that dashboards are written.
    let mut with_slos = std::fs::read_to_string(repo().join("tests/errors/name_collision_dashboard_uid.slo")).unwrap();
    for s in &program.services {
        with_slos.push_str(&format!(
            "slo a for {} {{\n  objective = 99% over 28d\n  sli gauge {{\n    series = up{{job=\"{}\"}}\n  }}\n}}\n",
            s.name, s.name
        ));
    }
    let (_, program, _) = check_str(&with_slos);
    let uids: Vec<String> = slo::grafana::files(&program, &Options::default())
        .map(|f| serde_json::from_str::<serde_json::Value>(&f.unwrap().contents).unwrap()["uid"].to_string())
        .collect();
    assert_eq!(uids.len(), 2);
    assert_eq!(uids[0], uids[1]);
}

fn service_named(name: &str) -> String {
    format!(
        "service {name} {{\n  owner = \"o\"\n}}\nslo a for {name} {{\n  objective = 99% over 28d\n  sli gauge {{\n    series = up{{job=\"x\"}}\n  }}\n}}\n"
    )
}

/// The longest service name check accepts compiles for every target on a
/// real file system; one character more is a coded error at check time
/// (it used to pass check and fail compile with "File name too long").
#[test]
fn name_length_limit_is_the_file_systems() {
    let dir = tempfile::tempdir().unwrap();
    for (len, ok) in [(240, true), (241, false)] {
        let name = format!("s{}", "x".repeat(len - 1));
        let file = dir.path().join(format!("n{len}.slo"));
        std::fs::write(&file, service_named(&name)).unwrap();
        let (code, _, err) = slo(&["check", file.to_str().unwrap()]);
        if ok {
            assert_eq!(code, 0, "{err}");
            for target in ["prometheus", "prometheus-operator", "mimir", "grafana"] {
                let out = dir.path().join(format!("out-{target}"));
                let (code, _, err) =
                    slo(&["compile", file.to_str().unwrap(), "--target", target, "--out", out.to_str().unwrap()]);
                assert_eq!(code, 0, "{target}: {err}");
            }
        } else {
            assert_eq!(code, 1, "{err}");
            assert!(err.contains("slo::name::too_long"), "{err}");
            assert!(err.contains("at most 240 characters"), "{err}");
            assert!(err.contains("dashboard file (grafana)"), "{err}");
        }
    }
}

/// `--namespace` and `--label` are checked against Kubernetes' rules:
/// coded errors, exit 2; valid ones compile.
#[test]
fn namespace_and_label_flags_are_kubernetes_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args =
            vec!["compile", "examples/features/services.slo", "--target", "prometheus-operator", "--out", out];
        args.extend_from_slice(extra);
        slo(&args)
    };
    let sixty_four = "n".repeat(64);
    for (flags, code) in [
        (vec!["--namespace", "Monitoring"], "slo::flag::namespace"),
        (vec!["--namespace", "team_a"], "slo::flag::namespace"),
        (vec!["--namespace=-a"], "slo::flag::namespace"),
        (vec!["--namespace", sixty_four.as_str()], "slo::flag::namespace"),
        (vec!["--label", "a b=c"], "slo::flag::label"),
        (vec!["--label", "release=yes:no"], "slo::flag::label"),
        (vec!["--label", "Example.com/team=a"], "slo::flag::label"),
        (vec!["--label", "/team=a"], "slo::flag::label"),
        (vec!["--label", "team=-a"], "slo::flag::label"),
        (vec!["--label", "novalue"], "slo::flag::label"),
    ] {
        let (exit, _, err) = run(&flags);
        assert_eq!(exit, 2, "{flags:?}: {err}");
        assert!(err.contains(&format!("error[{code}]")), "{flags:?}: {err}");
        assert!(err.contains("help:"), "{flags:?}: {err}");
    }
    let (exit, _, err) = run(&[
        "--namespace",
        "team-a",
        "--label",
        "app.kubernetes.io/part-of=slo",
        "--label",
        "empty=",
        "--label",
        "Release=Kube_prometheus.1",
    ]);
    assert_eq!(exit, 0, "{err}");
}

// ------------------------------------------------------------------ YAML

/// Implicit types a YAML 1.1 reader (the type repository at yaml.org/type,
/// as PyYAML and libyaml-based tools implement it) or a YAML 1.2 reader
/// (core and JSON schemas) resolves a plain scalar to, other than `str`.
fn resolver_table() -> Vec<(&'static str, regex::Regex)> {
    let table = [
        // YAML 1.1
        ("bool", r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"),
        ("null", r"~|null|Null|NULL|"),
        (
            "int",
            r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        ),
        (
            "float",
            r"[-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        ),
        // PyYAML's float also takes an exponent without a dot.
        ("float (PyYAML)", r"[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"),
        ("merge", r"<<"),
        ("value", r"="),
        ("timestamp", r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"),
        (
            "timestamp",
            r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
        ),
        // YAML 1.2 core schema (the JSON schema is a subset).
        ("bool (1.2)", r"true|True|TRUE|false|False|FALSE"),
        ("null (1.2)", r"null|Null|NULL|~|"),
        ("int (1.2)", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
        (
            "float (1.2)",
            r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN",
        ),
    ];
    table.into_iter().map(|(t, r)| (t, regex::Regex::new(&format!("^(?:{r})$")).unwrap())).collect()
}

/// Strings some YAML reader takes for something else, from the issue.
const HOSTILE: &[&str] = &[
    "<<",
    "=",
    "yes",
    "Yes",
    "on",
    "ON",
    "off",
    "y",
    "N",
    "~",
    "0x1F",
    "0o17",
    "0b101",
    "017",
    "1_000",
    "+12",
    "-1",
    "1e3",
    "1.5e+3",
    "6.8523015e+5",
    "2026-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "12:30:00",
    "190:20:30.15",
    ".inf",
    "-.inf",
    ".NaN",
    ".5",
    "null",
    "Null",
    "NO",
    "True",
    "FALSE",
    "",
];

/// `k: <scalar>` for one string.
fn written(s: &str) -> String {
    let mut out = String::from("k: ");
    promql::yaml::scalar(&mut out, s);
    out.push('\n');
    out
}

/// Every scalar written plain resolves to a string under every resolver of
/// the table; every hostile string is quoted; and each reads back as itself.
#[test]
fn plain_scalars_resolve_to_strings_in_yaml_1_1_and_1_2() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let table = resolver_table();
    let check = |s: &str| {
        let out = written(s);
        let value = &out[3..out.len() - 1];
        if value == s {
            for (ty, re) in &table {
                assert!(!re.is_match(s), "{s:?} is written plain but a YAML reader resolves it to {ty}");
            }
        }
        let back: BTreeMap<String, String> = serde_yaml_ng::from_str(&out).unwrap_or_else(|e| panic!("{out:?}: {e}"));
        assert_eq!(back["k"], s, "{out:?}");
    };
    for s in HOSTILE {
        assert!(table.iter().any(|(_, re)| re.is_match(s)), "{s:?}: the table must know every hostile string");
        check(s);
        assert_ne!(&written(s)[3..written(s).len() - 1], *s, "{s:?} must be quoted");
    }
    // Random strings built from the characters YAML's types are made of.
    let alphabet = prop_oneof![
        8 => "[0-9]",
        2 => "[-+._:~<=eExXoObB ]",
        2 => "[a-zA-Z]",
        1 => prop::sample::select(vec!["yes", "no", "on", "off", "null", "true", "inf", "nan", "Inf", "NaN", "T", "Z", "\t", "#", "'", "\"", ": ", " #", "\n", "-"]).prop_map(str::to_string),
    ];
    let strings = prop::collection::vec(alphabet, 0..12).prop_map(|v| v.concat());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut plain = 0;
    for _ in 0..20_000 {
        let s = strings.new_tree(&mut runner).unwrap().current();
        check(&s);
        plain += usize::from(written(&s)[3..] == format!("{s}\n"));
    }
    assert!(plain > 1000, "the property must see plain scalars too ({plain})");
}

/// Whether `python3 -c "import yaml"` works (PyYAML, a YAML 1.1 reader).
fn pyyaml() -> bool {
    let ok = Command::new("python3").args(["-c", "import yaml"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SLO_REQUIRE_PYYAML").as_deref() != Ok("1"),
            "PyYAML is required (SLO_REQUIRE_PYYAML=1): pip install pyyaml"
        );
        eprintln!("note: PyYAML not installed; skipping the YAML 1.1 reader checks");
    }
    ok
}

/// Each YAML file loaded by PyYAML (`safe_load_all`), as JSON; any value
/// PyYAML does not read as a JSON type (a date, a merge key…) is marked.
fn load_with_pyyaml(paths: &[std::path::PathBuf]) -> Vec<serde_json::Value> {
    const SCRIPT: &str = r#"
import json, sys, yaml
def plain(x):
    if isinstance(x, dict):
        return {(k if isinstance(k, str) else "NOT A STRING: " + repr(k)): plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    if x is None or isinstance(x, (str, bool, int, float)):
        return x
    return "NOT A STRING: " + repr(x)
out = []
for p in sys.argv[1:]:
    try:
        with open(p, encoding="utf-8") as f:
            out.append([plain(d) for d in yaml.safe_load_all(f)])
    except Exception as e:
        out.append("PyYAML cannot load " + p + ": " + str(e))
print(json.dumps(out))
"#;
    let mut cmd = Command::new("python3");
    cmd.args(["-c", SCRIPT]).args(paths);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// What serde_yaml_ng (YAML 1.2) reads from a file, as JSON.
fn load_with_serde(text: &str) -> serde_json::Value {
    use serde::Deserialize;
    serde_json::Value::Array(
        serde_yaml_ng::Deserializer::from_str(text).map(|d| serde_json::Value::deserialize(d).unwrap()).collect(),
    )
}

/// A .slo file with every hostile string as a label value, an annotation,
/// a description and a route, with a calendar window (OpenSLO `startTime`).
fn hostile_source() -> String {
    let q = slo::syntax::strings::quote;
    let mut labels = String::new();
    let mut annotations = String::new();
    for (i, s) in HOSTILE.iter().enumerate() {
        labels.push_str(&format!("l{i}: {}, ", q(s)));
        annotations.push_str(&format!("a{i}: {}, ", q(s)));
    }
    // Longer than YAML allows an implicit key (1024): written as `? key`.
    let long = format!("k{}", "_".repeat(1100));
    let mut src = format!(
        "service shop {{\n  owner = \"yes\"\n  description = \"2026-01-01\"\n  labels = {{ team: \"NO\", since: \"12:30:00\", {long}: \"long key\" }}\n}}\n\n\
         alerts pages(r: string = \"on\") {{\n  tier Fast {{\n    windows = 1h / 5m\n    burn = 14.4x\n    route = r\n    labels = {{ merge: \"<<\" }}\n  }}\n}}\n\n"
    );
    for (i, s) in HOSTILE.iter().enumerate() {
        src.push_str(&format!(
            "slo s{i} for shop {{\n  description = {d}\n  objective = 99.9% over {w}\n  labels = {{ {labels}}}\n  annotations = {{ {annotations}}}\n  sli events {{\n    bad = m{{v={d}, code=\"5\"}}\n    total = m{{v={d}}}\n  }}\n  alerts = pages(r: {r})\n}}\n\n",
            d = q(s),
            // An empty receiver is refused (slo::alert::receiver).
            r = if s.is_empty() { q("(empty)") } else { q(s) },
            w = if i % 2 == 0 { "28d" } else { "calendar month in \"UTC\"" },
        ));
    }
    src
}

/// PyYAML loads every compiled rule file and the OpenSLO export of the
/// hostile example to exactly what serde_yaml_ng reads (all label and
/// annotation values strings, none a bool, number, date, null or merge).
#[test]
fn yaml_1_1_readers_read_back_the_same_strings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.slo");
    std::fs::write(&file, hostile_source()).unwrap();
    let loaded = slo::driver::load(std::slice::from_ref(&file), dir.path()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));

    let mut texts: Vec<(std::path::PathBuf, String)> = Vec::new();
    for opts in targets() {
        for f in promql::files(&program, &opts).map(Result::unwrap) {
            texts.push((dir.path().join(format!("{:?}-{}", opts.target, f.path)), f.contents));
        }
    }
    let (export, _) = slo::interop::openslo::export(&program);
    texts.push((dir.path().join("openslo.yaml"), export));

    // serde_yaml_ng's view: every hostile string is there, as a string.
    for (p, text) in &texts {
        let v = load_with_serde(text);
        let all = v.to_string();
        for s in HOSTILE.iter().filter(|s| !s.is_empty()) {
            if !p.ends_with("openslo.yaml") {
                assert!(all.contains(&serde_json::Value::from(*s).to_string()), "{s:?} missing from {}", p.display());
            }
        }
        std::fs::write(p, text).unwrap();
    }
    let export = load_with_serde(&texts.last().unwrap().1);
    // Prometheus (go-yaml) reads the quoted values and the explicit key.
    for bin in [std::path::PathBuf::from("/usr/bin/promtool"), repo().join(".tools/promtool3/usr/bin/promtool")] {
        if Command::new(&bin).arg("--version").output().is_ok_and(|o| o.status.success()) {
            let p = &texts[0].0;
            let o = Command::new(&bin).args(["check", "rules"]).arg(p).output().unwrap();
            assert!(o.status.success(), "{}: {}", bin.display(), String::from_utf8_lossy(&o.stdout));
        }
    }
    assert!(texts[0].1.contains(&format!("? k{}", "_".repeat(1100))), "the long key is explicit");
    assert!(export.to_string().contains(r#""startTime":"2020-01-01 00:00:00""#), "{export}");

    if !pyyaml() {
        return;
    }
    let paths: Vec<_> = texts.iter().map(|(p, _)| p.clone()).collect();
    let python = load_with_pyyaml(&paths);
    for ((p, text), py) in texts.iter().zip(python) {
        assert_eq!(py, load_with_serde(text), "PyYAML reads {} differently", p.display());
    }
}

/// PyYAML reads thousands of random strings through the scalar writer as
/// themselves (syntax, not only types: quotes, `: `, ` #`, breaks, unicode).
#[test]
fn pyyaml_reads_random_scalars_back() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    if !pyyaml() {
        return;
    }
    let piece = prop_oneof![
        "[0-9a-zA-Z]{0,3}",
        "[-+._:~<=#'\" ,\\[\\]{}!&*|>%@`?]",
        prop::sample::select(vec![
            "yes", "NO", "null", ": ", " #", "\n", "\t", "\r", "ü😀", "\u{85}", "\u{2028}", "\u{feff}", "  "
        ])
        .prop_map(str::to_string),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    let strings = prop::collection::vec(piece, 0..8).prop_map(|v| v.concat());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut expected = Vec::new();
    let mut text = String::new();
    for s in
        HOSTILE.iter().map(|s| s.to_string()).chain((0..3000).map(|_| strings.new_tree(&mut runner).unwrap().current()))
    {
        text.push_str("- ");
        promql::yaml::scalar(&mut text, &s);
        text.push('\n');
        expected.push(serde_json::Value::String(s));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("scalars.yaml");
    std::fs::write(&p, &text).unwrap();
    let got = &load_with_pyyaml(std::slice::from_ref(&p))[0];
    let want = serde_json::json!([expected]);
    if *got != want {
        let (g, w) = (&got[0], &want[0]);
        let first = (0..expected.len()).find(|&i| g.get(i) != w.get(i));
        panic!(
            "PyYAML reads differently at {first:?}: got {:?}, want {:?} (or: {})",
            first.map(|i| &g[i]),
            first.map(|i| &w[i]),
            got.as_str().unwrap_or("")
        );
    }
}
