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

fn check_str(src: &str) -> (slo::driver::Loaded, slo::ir::Program, slo::diag::Diagnostics) {
    let loaded = slo::driver::load_strs(&[("names.slo", src)]);
    let (program, diags) = slo::driver::check(&loaded);
    (loaded, program, diags)
}

fn spanned<'a>(loaded: &'a slo::driver::Loaded, span: slo::source::Span) -> &'a str {
    &loaded.sources.get(span.source).text[span.range()]
}

fn targets() -> Vec<Options> {
    [Target::Prometheus, Target::PrometheusOperator, Target::Mimir]
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
            Target::Prometheus => {}
            Target::PrometheusOperator => assert_eq!(objects[0]["metadata"]["name"], objects[1]["metadata"]["name"]),
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
