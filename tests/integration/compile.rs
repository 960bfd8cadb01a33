//! `slo compile`: every example compiles for every target, the output is
//! snapshotted and deterministic, `--check` catches drift, and promtool
//! (2.42 from Debian, 3.5 from sid) accepts every file and passes the unit
//! tests under tests/promtool/ (rules fire above their thresholds, stay
//! silent below, record the hand-computed values).
//!
//! Tests that need promtool skip with a note when it is absent, and fail
//! when `SLO_REQUIRE_PROMTOOL=1` (as in CI, after
//! `.ci/install-promtool.sh`).

use super::common::*;
use slo::promql::{self, Options, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The promtool binaries present: (version label, path).
fn promtools() -> Vec<(&'static str, PathBuf)> {
    let candidates =
        [("2.42", PathBuf::from("/usr/bin/promtool")), ("3.5", repo().join(".tools/promtool3/usr/bin/promtool"))];
    let required = std::env::var("SLO_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1");
    let mut out = Vec::new();
    for (v, p) in candidates {
        let runs = Command::new(&p).arg("--version").output().is_ok_and(|o| o.status.success());
        if runs {
            out.push((v, p));
        } else if required {
            panic!(
                "promtool {v} is required (SLO_REQUIRE_PROMTOOL=1) but {} does not run: run .ci/install-promtool.sh",
                p.display()
            );
        } else {
            eprintln!("note: promtool {v} not found at {}; skipping its checks", p.display());
        }
    }
    out
}

fn compile_files(files: &[PathBuf], opts: &Options) -> Vec<promql::OutFile> {
    let loaded = slo::driver::load(files, &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    promql::emit(&program, opts).unwrap_or_else(|e| panic!("{e:?}"))
}

fn targets() -> Vec<(&'static str, Options)> {
    vec![
        ("prometheus", Options::default()),
        ("operator", Options { target: Target::PrometheusOperator, ..Options::default() }),
        ("mimir", Options { target: Target::Mimir, ..Options::default() }),
    ]
}

/// The `groups:` of any target's file, as a plain Prometheus rule file.
fn as_rule_file(contents: &str) -> String {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(contents).unwrap();
    let groups = v.get("groups").or_else(|| v.get("spec").and_then(|s| s.get("groups"))).expect("groups").clone();
    let mut m = serde_yaml_ng::Mapping::new();
    m.insert("groups".into(), groups);
    serde_yaml_ng::to_string(&m).unwrap()
}

fn promtool(bin: &Path, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(bin).args(args).current_dir(dir).output().expect("promtool runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn every_example_compiles_and_snapshots() {
    for f in slo_files("examples") {
        let files = compile_files(std::slice::from_ref(&f), &Options::default());
        let mut all = String::new();
        for o in &files {
            all.push_str(&format!("=== {}\n{}", o.path, o.contents));
        }
        insta::with_settings!({ snapshot_suffix => snap_name(&f), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("compiled", all);
        });
    }
}

#[test]
fn output_is_deterministic() {
    let files = slo_files("examples");
    for (_, opts) in targets() {
        assert_eq!(compile_files(&files, &opts), compile_files(&files, &opts));
    }
}

#[test]
fn promtool_accepts_every_output_for_every_target() {
    let tools = promtools();
    if tools.is_empty() {
        return;
    }
    let files = slo_files("examples");
    for (name, opts) in targets() {
        let dir = tempfile::tempdir().unwrap();
        let outs = compile_files(&files, &opts);
        let mut paths = Vec::new();
        for o in &outs {
            let p = dir
                .path()
                .join(format!("{}.rules.yml", o.path.trim_end_matches(".yaml").trim_end_matches(".rules.yml")));
            std::fs::write(&p, as_rule_file(&o.contents)).unwrap();
            paths.push(p.display().to_string());
        }
        for (v, bin) in &tools {
            let mut args = vec!["check", "rules"];
            args.extend(paths.iter().map(String::as_str));
            let (ok, out) = promtool(bin, &args, dir.path());
            assert!(ok, "promtool {v} rejects the {name} output:\n{out}");
        }
    }
}

/// tests/promtool/NAME.slo is compiled into rules/ next to a copy of
/// NAME_test.yml, which promtool runs.
#[test]
fn promtool_unit_tests() {
    let tools = promtools();
    if tools.is_empty() {
        return;
    }
    let cases: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/promtool"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "slo"))
        .collect();
    assert!(cases.len() >= 3);
    for slo_file in cases {
        let stem = slo_file.file_stem().unwrap().to_string_lossy().into_owned();
        let test_file = slo_file.with_file_name(format!("{stem}_test.yml"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rules")).unwrap();
        for o in compile_files(std::slice::from_ref(&slo_file), &Options::default()) {
            std::fs::write(dir.path().join("rules").join(&o.path), &o.contents).unwrap();
        }
        std::fs::copy(&test_file, dir.path().join("test.yml")).unwrap();
        // Native histograms in input series need promtool 3.
        let needs_3 = std::fs::read_to_string(&test_file).unwrap().starts_with("# requires: promtool 3");
        for (v, bin) in &tools {
            if needs_3 && !v.starts_with('3') {
                continue;
            }
            let (ok, out) = promtool(bin, &["test", "rules", "test.yml"], dir.path());
            assert!(ok, "promtool {v} test rules failed for {stem}:\n{out}");
        }
    }
}

fn slo_bin(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slo")).args(args).current_dir(cwd).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_mode_catches_drift() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let file = src.join("shop.slo");
    std::fs::copy(repo().join("tests/promtool/uneven.slo"), &file).unwrap();
    let out = dir.path().join("rules");
    let d = dir.path();
    let (code, _, err) = slo_bin(&["compile", "src", "--out", "rules"], d);
    assert_eq!(code, 0, "{err}");
    // Readable by a Prometheus running as another user.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("shop.rules.yml")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let (code, _, err) = slo_bin(&["compile", "src", "--out", "rules", "--check"], d);
    assert_eq!(code, 0, "{err}");
    // A one-character change in a source.
    let text = std::fs::read_to_string(&file).unwrap().replace("99% over 28d", "98% over 28d");
    std::fs::write(&file, text).unwrap();
    let (code, diff, _) = slo_bin(&["compile", "src", "--out", "rules", "--check"], d);
    assert_eq!(code, 1);
    assert!(
        diff.contains("--- a/shop.rules.yml")
            && diff.contains("-    expr: vector(0.99)")
            && diff.contains("+    expr: vector(0.98)"),
        "{diff}"
    );
    let before = std::fs::read_to_string(out.join("shop.rules.yml")).unwrap();
    assert!(before.contains("vector(0.99)"), "--check must not write");
    // A stale generated file (from a deleted service) shows as deleted;
    // a file slo did not write is left alone.
    let gone = src.join("gone.slo");
    std::fs::write(&gone, std::fs::read_to_string(&file).unwrap().replace("shop", "gone")).unwrap();
    let (code, _, _) = slo_bin(&["compile", "src", "--out", "rules"], d);
    assert_eq!(code, 0);
    std::fs::remove_file(&gone).unwrap();
    std::fs::write(out.join("mine.yml"), "groups: []\n").unwrap();
    let (code, diff, _) = slo_bin(&["compile", "src", "--out", "rules", "--check"], d);
    assert_eq!(code, 1);
    assert!(diff.contains("--- a/gone.rules.yml") && diff.contains("+++ b/gone.rules.yml"), "{diff}");
    assert!(!diff.contains("mine.yml"));
    let (code, _, _) = slo_bin(&["compile", "src", "--out", "rules"], d);
    assert_eq!(code, 0);
    assert!(!out.join("gone.rules.yml").exists() && out.join("mine.yml").exists());
    let (code, _, _) = slo_bin(&["compile", "src", "--out", "rules", "--check"], d);
    assert_eq!(code, 0);
}

#[test]
fn operator_and_mimir_shapes() {
    let f = repo().join("tests/promtool/uneven.slo");
    let mut opts = Options { target: Target::PrometheusOperator, namespace: "sre".into(), ..Options::default() };
    opts.crd_labels.insert("release".into(), "kube-prometheus".into());
    let out = &compile_files(std::slice::from_ref(&f), &opts)[0];
    assert_eq!(out.path, "shop.yaml");
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out.contents).unwrap();
    assert_eq!(v["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(v["kind"], "PrometheusRule");
    assert_eq!(v["metadata"]["name"], "slo-shop");
    assert_eq!(v["metadata"]["namespace"], "sre");
    assert_eq!(v["metadata"]["labels"]["release"], "kube-prometheus");
    assert!(v["spec"]["groups"].as_sequence().is_some_and(|g| !g.is_empty()));
    let opts = Options { target: Target::Mimir, partial_response: Some("abort".into()), ..Options::default() };
    let out = &compile_files(std::slice::from_ref(&f), &opts)[0];
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out.contents).unwrap();
    assert_eq!(v["namespace"], "slo-shop");
    assert_eq!(v["groups"][0]["partial_response_strategy"], "abort");
}

/// Adversarial strings (quotes, backslashes, newlines, unicode, template
/// markers) in every user-controlled position: the output parses as YAML
/// with the exact values, user text cannot open a Go template action, and
/// promtool accepts all of it.
#[test]
fn adversarial_strings_are_escaped() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let pieces = prop::collection::vec(
        prop_oneof![
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("\n".to_string()),
            Just("'".to_string()),
            Just("`".to_string()),
            Just("{{".to_string()),
            Just("}}".to_string()),
            Just("{{ $value }}".to_string()),
            Just("{{ .Labels }}".to_string()),
            Just("$labels".to_string()),
            Just("%".to_string()),
            Just(": ".to_string()),
            Just("# ".to_string()),
            Just("- ".to_string()),
            Just("ü😀".to_string()),
            Just("\t".to_string()),
            "[a-z]{0,3}".prop_map(|s| s),
            any::<char>().prop_filter("printable", |c| !c.is_control()).prop_map(|c| c.to_string()),
        ],
        1..8,
    )
    .prop_map(|v| v.concat());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let q = slo::syntax::strings::quote;
    let mut src = String::from("service shop {\n  owner = \"o\"\n}\n\nalerts a(r: string = \"x\") {\n  tier T {\n    windows = 1h / 5m\n    burn = 14.4x\n    route = r\n  }\n}\n\n");
    let mut expected = Vec::new();
    for i in 0..60 {
        let s: Vec<String> = (0..5).map(|_| pieces.new_tree(&mut runner).unwrap().current()).collect();
        src.push_str(&format!(
            "slo s{i} for shop {{\n  description = {}\n  objective = 99.9% over 28d\n  labels = {{ l: {} }}\n  annotations = {{ a: {} }}\n  runbook = {}\n  sli events {{\n    bad = m{{v={}, w=~{}}}\n    total = m{{v={}}}\n  }}\n  alerts = a(r: {})\n}}\n\n",
            q(&s[0]), q(&s[1]), q(&s[2]), q(&format!("https://x/{}", s[3])), q(&s[4]), q(&regex_syntax::escape(&s[0])), q(&s[4]), q(&s[3])
        ));
        expected.push((format!("s{i}"), s));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("adversarial.slo");
    std::fs::write(&file, &src).unwrap();
    let loaded = slo::driver::load(std::slice::from_ref(&file), dir.path()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    let out = promql::emit(&program, &Options::default()).unwrap();
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out[0].contents).expect("output is YAML");
    for (name, s) in &expected {
        let group = yaml["groups"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|g| g["name"] == format!("slo/shop/{name}").as_str())
            .unwrap();
        let rules = group["rules"].as_sequence().unwrap();
        let rec = &rules[0];
        assert_eq!(
            rec["labels"]["l"].as_str(),
            Some(s[1].as_str()),
            "recording-rule labels are not templates: kept as is"
        );
        let alert = rules.iter().find(|r| r.get("alert").is_some()).unwrap();
        // Alert labels and annotations are Go templates: `{{` is escaped.
        let ann = alert["annotations"]["a"].as_str().unwrap();
        assert_eq!(ann, slo::promql::rules::template_literal(&s[2]));
        assert_eq!(alert["labels"]["receiver"].as_str().unwrap(), slo::promql::rules::template_literal(&s[3]));
        // The matcher value reaches PromQL escaped, as a Go string.
        assert!(rec["expr"].as_str().unwrap().contains(&format!("v={}", slo::syntax::strings::quote(&s[4]))));
    }
    for (v, bin) in promtools() {
        std::fs::write(dir.path().join("out.rules.yml"), &out[0].contents).unwrap();
        let (ok, text) = promtool(&bin, &["check", "rules", "out.rules.yml"], dir.path());
        assert!(ok, "promtool {v} rejects escaped output:\n{text}");
    }
}

/// What the backend cannot express is a diagnostic on the SLO, not a crash
/// or a silently wrong rule.
#[test]
fn unsupported_constructs_are_reported() {
    let loaded = slo::driver::load_strs(&[(
        "c.slo",
        "service s {\n  owner = \"o\"\n}\nslo a for s {\n  objective = 99% over 28d\n  sli gauge {\n    series = up{job=\"a\"}\n  }\n}\nslo b for s {\n  objective = 99% over 28d\n  sli gauge {\n    series = up{job=\"b\"}\n  }\n}\npolicy p for s.c {\n  when incident_share > 20% => postmortem\n}\nslo c for s {\n  objective = 98% over 28d\n  sli composite {\n    combine = serial\n    of = [s.a, s.b]\n  }\n}\n",
    )]);
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    let errs = promql::emit(&program, &Options::default()).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].diagnostic().code, "slo::compile::unsupported");

    // A traffic guard counts events; a timeslices SLI has none. And an
    // evaluation interval longer than a slice would skip slices.
    let loaded = slo::driver::load_strs(&[(
        "t.slo",
        "import std.alerting.{google_28d}\nservice s {\n  owner = \"o\"\n}\nslo t for s {\n  objective = 99% over 28d\n  sli timeslices 1m {\n    good when rate(x{job=\"a\"}) >= 1/s\n  }\n  alerts = google_28d(min_events: 100)\n}\nslo u for s {\n  objective = 99% over 28d\n  sli timeslices 1m {\n    good when rate(x{job=\"b\"}) >= 1/s\n  }\n}\n",
    )]);
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    let errs = promql::emit(&program, &Options::default()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].to_string().contains("min_events"), "{errs:?}");
    let slow = Options { eval_interval: slo::units::Duration(120_000), ..Options::default() };
    let errs = promql::emit(&program, &slow).unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().any(|e| e.to_string().contains("evaluation intervals")), "{errs:?}");
}

/// The fast YAML writer reads back exactly as serde_yaml_ng's own output,
/// for every example and target.
#[test]
fn yaml_writer_matches_serde() {
    let files = slo_files("examples");
    let loaded = slo::driver::load(&files, &repo()).unwrap();
    let (program, _) = slo::driver::check(&loaded);
    let vm = [
        ("vmalert", Options { target: Target::Vmalert, ..Options::default() }),
        ("vmrule", Options { target: Target::VmRule, ..Options::default() }),
    ];
    for (name, opts) in targets().into_iter().chain(vm) {
        let fast: Vec<_> = promql::files(&program, &opts).map(Result::unwrap).collect();
        let reference: Vec<_> = promql::files_via_serde(&program, &opts).map(Result::unwrap).collect();
        assert_eq!(fast.len(), reference.len());
        for (a, b) in fast.iter().zip(&reference) {
            assert_eq!(a.path, b.path);
            let va: serde_yaml_ng::Value = serde_yaml_ng::from_str(&a.contents).unwrap();
            let vb: serde_yaml_ng::Value = serde_yaml_ng::from_str(&b.contents).unwrap();
            assert_eq!(va, vb, "{name} {}", a.path);
        }
    }
}

/// A k-of-n composite of `n` gauge SLOs of one service, `k` of which must be good.
fn k_of_n_source(n: usize, k: usize) -> String {
    let mut s =
        String::from("service replicas {\n  owner = \"sre\"\n  runbook = \"https://runbooks.example.com/r\"\n}\n");
    for i in 1..=n {
        s.push_str(&format!(
            "slo r{i} for replicas {{\n  objective = 99% over 28d\n  sli gauge {{\n    series = up{{job=\"r\", replica=\"{i}\"}}\n  }}\n}}\n"
        ));
    }
    let of: Vec<String> = (1..=n).map(|i| format!("replicas.r{i}")).collect();
    s.push_str(&format!(
        "service pool {{\n  owner = \"sre\"\n  runbook = \"https://runbooks.example.com/p\"\n}}\n\
         slo serving for pool {{\n  objective = 99.99% over 28d\n  sli composite {{\n    combine = k_of_n({k})\n    of = [{}]\n  }}\n}}\n",
        of.join(", ")
    ));
    s
}

/// k-of-n composites used to spell out every subset: from n = 16 the rule
/// file grew exponentially (11 of 22 wrote 7.2 GB) and at n = 32 a shift
/// wrapped and kept one term of 33. Now every size up to the cap compiles
/// to rules of polynomial size that read every component, and promtool
/// accepts them; past the cap it is a coded error.
#[test]
fn k_of_n_composites_stay_polynomial_and_complete() {
    let tools = promtools();
    for (n, k) in [(3, 2), (16, 8), (22, 11), (32, 1), (32, 16), (32, 32)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pool.slo"), k_of_n_source(n, k)).unwrap();
        let out = dir.path().join("rules");
        let (code, _, err) = slo(&[
            "compile",
            dir.path().to_str().unwrap(),
            "--root",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{n} choose {k}: {err}");
        let pool = std::fs::read_to_string(out.join("pool.rules.yml")).unwrap();
        assert!(pool.len() < 2 << 20, "{k} of {n}: {} bytes of rules", pool.len());
        for i in 1..=n {
            assert!(pool.contains(&format!("slo=\"r{i}\"")), "{k} of {n}: component r{i} is never read");
        }
        let mut paths = vec![out.join("pool.rules.yml").display().to_string()];
        paths.push(out.join("replicas.rules.yml").display().to_string());
        for (v, bin) in &tools {
            let mut args = vec!["check", "rules"];
            args.extend(paths.iter().map(String::as_str));
            let (ok, msg) = promtool(bin, &args, dir.path());
            assert!(ok, "promtool {v} rejects {k} of {n}:\n{msg}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pool.slo"), k_of_n_source(33, 2)).unwrap();
    let (code, _, err) = slo(&["check", dir.path().to_str().unwrap(), "--root", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::composite::too_many"), "{err}");
}

/// An annotation set to "" is left out of the rules (as an empty label is):
/// a policy drops the generated `description` so; one of its own replaces
/// it; without either, every alert has the generated one.
#[test]
fn an_annotation_set_to_empty_is_left_out() {
    let src = r#"service shop {
  owner = "o"
}

alerts quiet {
  annotations = { description: "", team: "" }
  tier Fast {
    windows = 1h / 5m
    burn = 14.4x
  }
}

alerts own {
  annotations = { description: "see the dashboard" }
  tier Fast {
    windows = 1h / 5m
    burn = 14.4x
  }
}

alerts plain {
  tier Fast {
    windows = 1h / 5m
    burn = 14.4x
  }
}

"#;
    let mut src = src.to_string();
    for (slo, policy) in [("a", "quiet"), ("b", "own"), ("c", "plain")] {
        src += &format!(
            "slo {slo} for shop {{\n  objective = 99.9% over 28d\n  sli events {{\n    bad = m{{code=\"5\"}}\n    total = m\n  }}\n  alerts = {policy}()\n}}\n\n"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.slo"), src).unwrap();
    let out = dir.path().join("rules");
    let (code, _, err) = slo_bin(&["compile", ".", "--out", out.to_str().unwrap()], dir.path());
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(out.join("shop.rules.yml")).unwrap();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for g in v["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap().iter().filter(|r| r["alert"].is_string()) {
            let slo = g["name"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
            let keys: Vec<String> =
                r["annotations"].as_mapping().unwrap().keys().map(|k| k.as_str().unwrap().to_string()).collect();
            seen.insert(slo, (keys, r["annotations"]["description"].as_str().map(str::to_string)));
        }
    }
    assert_eq!(seen["a"], (vec!["summary".to_string()], None), "{text}");
    assert_eq!(seen["b"].1.as_deref(), Some("see the dashboard"), "{text}");
    assert!(seen["c"].1.as_deref().is_some_and(|d| d.contains("humanizePercentage")), "{text}");
    for (keys, _) in seen.values() {
        assert!(keys.iter().all(|k| k != "team"), "{text}");
    }
    for (_, bin) in promtools() {
        let (ok, msg) = promtool(&bin, &["check", "rules", out.join("shop.rules.yml").to_str().unwrap()], dir.path());
        assert!(ok, "{msg}");
    }
}
