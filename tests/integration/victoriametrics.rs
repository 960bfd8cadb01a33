//! `slo compile --target vmalert` and `--target vmrule` against the real
//! vmalert (1.79.5, Debian's `victoria-metrics` package, unpacked under
//! `.tools/victoria-metrics/`; `$VMALERT` overrides): every example that
//! the targets accept is loaded by `vmalert -dryRun` (which parses every
//! expression as MetricsQL and every annotation as a template), the
//! VMRule's `spec.groups` too; a broken file and a rule with
//! `keep_firing_for` are rejected by the same check (so it can fail), and
//! what the targets refuse is refused with a coded diagnostic.
//!
//! Without the binary the tests skip with a note; with
//! `SLO_REQUIRE_SERVERS=1` (CI) they fail.

use super::common::*;
use slo::promql::{self, Options, OutputError, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

/// vmalert, or None (skip) when it is absent and not required.
pub(super) fn vm_bin(name: &str) -> Option<PathBuf> {
    server_tool("victoria-metrics", name, &name.to_ascii_uppercase().replace('-', "_"), "-version")
}

/// `vmalert -dryRun` over `files`: whether it accepts them, and its errors.
fn dry_run(vmalert: &Path, files: &[PathBuf]) -> (bool, String) {
    let mut cmd = Command::new(vmalert);
    cmd.arg("-dryRun").arg("-loggerLevel=ERROR");
    for f in files {
        cmd.arg(format!("-rule={}", f.display()));
    }
    let out = cmd.output().expect("vmalert runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A VMRule's `spec.groups` as a vmalert rule file (what the operator
/// hands vmalert).
fn vmrule_groups(contents: &str) -> String {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(contents).unwrap();
    assert_eq!(v["apiVersion"].as_str(), Some("operator.victoriametrics.com/v1beta1"));
    assert_eq!(v["kind"].as_str(), Some("VMRule"));
    let mut m = serde_yaml_ng::Mapping::new();
    m.insert("groups".into(), v["spec"]["groups"].clone());
    serde_yaml_ng::to_string(&m).unwrap()
}

/// The example programs: examples/platform whole, and each feature
/// example alone.
fn example_programs() -> Vec<(String, Vec<PathBuf>)> {
    let mut out = vec![("platform".to_string(), slo_files("examples/platform"))];
    for f in std::fs::read_dir(repo().join("examples/features")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "slo") {
            out.push((p.file_stem().unwrap().to_string_lossy().into_owned(), vec![p]));
        }
    }
    out.sort();
    out
}

/// Every example compiles for both VictoriaMetrics targets, except what
/// they refuse (calendar windows), and vmalert loads every file.
#[test]
fn vmalert_accepts_every_example() {
    let Some(vmalert) = vm_bin("vmalert") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut files, mut refused) = (Vec::new(), Vec::new());
    for (name, sources) in example_programs() {
        let loaded = slo::driver::load(&sources, &repo()).unwrap();
        let (program, diags) = slo::driver::check(&loaded);
        assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
        for target in [Target::Vmalert, Target::VmRule] {
            let opts = Options { target, ..Options::default() };
            match promql::emit(&program, &opts) {
                Ok(out) => {
                    for f in out {
                        let path = dir.path().join(format!("{name}-{}-{}", target.name(), f.path));
                        let text = match target {
                            Target::VmRule => vmrule_groups(&f.contents),
                            _ => f.contents,
                        };
                        assert!(text.contains("type: prometheus"), "{name}: {text}");
                        std::fs::write(&path, text).unwrap();
                        files.push(path);
                    }
                }
                Err(errs) => {
                    for e in &errs {
                        assert!(matches!(e, OutputError::TargetUnsupported { .. }), "{name}: {e}");
                        assert!(e.to_string().contains("calendar window"), "{name}: {e}");
                    }
                    refused.push(name.clone());
                }
            }
        }
    }
    assert_eq!(refused, ["calendar_windows", "calendar_windows"], "only calendar windows are refused");
    assert!(files.len() > 50, "{} files", files.len());
    let (ok, msg) = dry_run(&vmalert, &files);
    assert!(ok, "vmalert rejects the compiled examples:\n{msg}");
}

/// The check can fail: vmalert rejects a compiled file with one expression
/// broken, and the `keep_firing_for` the vmalert targets refuse.
#[test]
fn vmalert_rejects_broken_files() {
    let Some(vmalert) = vm_bin("vmalert") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules");
    let (code, _, err) = slo(&[
        "compile",
        repo().join("examples/platform").to_str().unwrap(),
        "--root",
        repo().to_str().unwrap(),
        "--target",
        "vmalert",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let api = out.join("api.rules.yml");
    let (ok, msg) = dry_run(&vmalert, std::slice::from_ref(&api));
    assert!(ok, "{msg}");
    let text = std::fs::read_to_string(&api).unwrap();
    let broken = dir.path().join("broken.yml");
    assert!(text.contains("sum(rate("));
    std::fs::write(&broken, text.replacen("sum(rate(", "sum((rate(", 1)).unwrap();
    let (ok, msg) = dry_run(&vmalert, &[broken]);
    assert!(!ok && msg.contains("bad prometheus expr"), "{msg}");
    let keep = dir.path().join("keep.yml");
    std::fs::write(&keep, text.replacen("    for: ", "    keep_firing_for: 5m\n    for: ", 1)).unwrap();
    let (ok, msg) = dry_run(&vmalert, &[keep]);
    assert!(!ok && msg.contains("keep_firing_for"), "{msg}");
}

/// What the VictoriaMetrics targets refuse is a coded diagnostic at the
/// SLO (exit 1) or a coded flag error (exit 2), and nothing is written.
#[test]
fn vm_targets_refuse_what_vmalert_would_not_run_alike() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("k.slo"),
        "service s {\n  owner = \"o\"\n}\nalerts sticky() {\n  tier Fast {\n    windows = 1h / 5m\n    burn = 14.4x\n    severity = page\n    keep_firing_for = 10m\n  }\n}\nslo a for s {\n  objective = 99% over 28d\n  sli events {\n    bad = e{job=\"a\"}\n    total = t{job=\"a\"}\n  }\n  alerts = sticky()\n}\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let out = dir.path().join("out");
    for target in ["vmalert", "vmrule"] {
        let (code, _, err) = slo(&["compile", d, "--root", d, "--target", target, "--out", out.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("slo::compile::target_unsupported") && err.contains("keep_firing_for"), "{err}");
        assert!(!out.exists());
    }
    let (code, _, err) = slo(&["compile", d, "--root", d, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "prometheus runs keep_firing_for: {err}");
    let (code, _, err) = slo(&[
        "compile",
        repo().join("examples/features/calendar_windows.slo").to_str().unwrap(),
        "--root",
        repo().to_str().unwrap(),
        "--target",
        "vmalert",
        "--out",
        dir.path().join("cal").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::compile::target_unsupported") && err.contains("calendar window"), "{err}");
    let (code, _, err) = slo(&[
        "compile",
        d,
        "--root",
        d,
        "--target",
        "vmrule",
        "--partial-response",
        "warn",
        "--out",
        dir.path().join("pr").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::flag::partial_response"), "{err}");
}

/// `--target vmrule` names, namespaces and labels its objects like the
/// prometheus-operator target, and the two directories' files differ only
/// in apiVersion, kind and the groups' `type`.
#[test]
fn vmrule_objects_mirror_prometheus_rules() {
    let dir = tempfile::tempdir().unwrap();
    let platform = repo().join("examples/platform");
    let mut outs = Vec::new();
    for target in ["prometheus-operator", "vmrule"] {
        let out = dir.path().join(target);
        let (code, _, err) = slo(&[
            "compile",
            platform.to_str().unwrap(),
            "--root",
            repo().to_str().unwrap(),
            "--target",
            target,
            "--namespace",
            "observability",
            "--label",
            "release=vm",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        outs.push(out);
    }
    let vm = std::fs::read_to_string(outs[1].join("api.yaml")).unwrap();
    let prom = std::fs::read_to_string(outs[0].join("api.yaml")).unwrap();
    let head: Vec<&str> = vm.lines().take(9).collect();
    assert_eq!(
        head,
        [
            "# Generated by `slo compile` from .slo sources. Do not edit: change the sources and recompile.",
            "apiVersion: operator.victoriametrics.com/v1beta1",
            "kind: VMRule",
            "metadata:",
            "  name: slo-api",
            "  namespace: observability",
            "  labels:",
            "    release: vm",
            "spec:",
        ]
    );
    let expected = prom
        .replace("monitoring.coreos.com/v1", "operator.victoriametrics.com/v1beta1")
        .replace("kind: PrometheusRule", "kind: VMRule")
        .replace("    interval: '1m'\n", "    interval: '1m'\n    type: prometheus\n");
    assert!(vm.contains("type: prometheus") && vm == expected, "the VMRule is not the PrometheusRule with its type");
    // Both targets' manifests live side by side in one directory only if
    // their names differ: a vmalert compile into a prometheus directory is
    // a collision, not an overwrite.
    let shared = dir.path().join("shared");
    let args = |t: &'static str| {
        vec![
            "compile".to_string(),
            platform.display().to_string(),
            "--root".into(),
            repo().display().to_string(),
            "--target".into(),
            t.into(),
            "--out".into(),
            shared.display().to_string(),
        ]
    };
    let run = |t| {
        let a = args(t);
        slo(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(run("prometheus").0, 0);
    let (code, _, err) = run("vmalert");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("slo::out::collision"), "{err}");
}
