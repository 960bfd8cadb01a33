//! Every example and pass case through every stage: the AST and the IR
//! are snapshotted per file, and each must check without errors.

use super::common::*;

fn pass_files() -> Vec<std::path::PathBuf> {
    let mut files = slo_files("examples");
    files.extend(slo_files("tests/pass"));
    files
}

#[test]
fn examples_and_pass_cases_check_clean() {
    let mut failures = String::new();
    for f in pass_files() {
        let (loaded, _, diags) = check_file(&f);
        if diags.has_errors() || diags.warnings() > 0 {
            failures.push_str(&format!("--- {}\n{}", f.display(), render(&loaded, &diags)));
        }
    }
    assert!(failures.is_empty(), "diagnostics in pass cases:\n{failures}");
}

#[test]
fn ast_snapshots() {
    for f in pass_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let ast = slo::syntax::parse(slo::source::SourceId(0), &text).expect("parses");
        insta::with_settings!({ snapshot_suffix => snap_name(&f), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_json_snapshot!("ast", ast);
        });
    }
}

#[test]
fn ir_snapshots() {
    for f in pass_files() {
        let (_, program, diags) = check_file(&f);
        assert!(!diags.has_errors(), "{} has errors", f.display());
        insta::with_settings!({ snapshot_suffix => snap_name(&f), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_json_snapshot!("ir", program);
        });
    }
}

/// The whole examples tree checks as one compilation too (services are
/// global, so a name clash between files would show here).
#[test]
fn examples_check_together() {
    let files = slo_files("examples");
    let loaded = slo::driver::load(&files, &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    assert!(program.slos.len() >= 19, "the platform catalogue alone has 19 SLOs");
}

/// The seed platform's catalogue, value by value.
#[test]
fn platform_catalogue_matches_the_seed() {
    let files = slo_files("examples/platform");
    let loaded = slo::driver::load(&files, &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors(), "{}", render(&loaded, &diags));
    let services: Vec<&str> = program.services.iter().map(|s| s.name.as_str()).collect();
    for s in ["api", "data", "orchestrator", "database", "ai_models", "lead_processing"] {
        assert!(services.contains(&s), "service {s} missing: {services:?}");
    }
    let day = 86_400_000;
    let avail = |svc: &str| {
        program
            .slos
            .iter()
            .find(|s| {
                s.service == svc && matches!(s.sli, slo::ir::Sli::Events { .. }) && s.name.contains("availability")
            })
            .unwrap_or_else(|| panic!("{svc} availability"))
    };
    for (svc, obj) in [("api", 0.999), ("data", 0.9995), ("orchestrator", 0.999), ("database", 0.9999)] {
        let s = avail(svc);
        assert!((s.objective - obj).abs() < 1e-12, "{svc}: {}", s.objective);
        assert_eq!(s.window, slo::ir::Window::Rolling { length: slo::units::Duration(28 * day) });
    }
    // Latency thresholds in seconds, all over 7 days.
    let lat: Vec<(String, f64, f64)> = program
        .slos
        .iter()
        .filter_map(|s| match &s.sli {
            slo::ir::Sli::Latency { below_seconds, .. } => {
                assert_eq!(s.window, slo::ir::Window::Rolling { length: slo::units::Duration(7 * day) }, "{}", s.name);
                Some((s.service.clone(), *below_seconds, s.objective))
            }
            _ => None,
        })
        .collect();
    for want in [
        ("api", 0.5, 0.95),
        ("api", 1.0, 0.99),
        ("data", 0.3, 0.95),
        ("orchestrator", 0.8, 0.95),
        ("ai_models", 2.0, 0.95),
        ("database", 0.1, 0.95),
    ] {
        assert!(
            lat.iter().any(|(s, b, o)| s == want.0 && (b - want.1).abs() < 1e-12 && (o - want.2).abs() < 1e-12),
            "latency SLO {want:?} missing from {lat:?}"
        );
    }
    // Throughput as timeslices: rate thresholds per second.
    let thr: Vec<(String, f64)> = program
        .slos
        .iter()
        .filter_map(|s| match &s.sli {
            slo::ir::Sli::Timeslices { good, .. } => good.all.iter().find_map(|c| match c.lhs {
                slo::ir::SliceQuantity::Rate(_) => Some((s.service.clone(), c.rhs)),
                _ => None,
            }),
            _ => None,
        })
        .collect();
    for want in [("api", 100.0), ("data", 50.0), ("orchestrator", 20.0)] {
        assert!(
            thr.iter().any(|(s, r)| s == want.0 && (r - want.1).abs() < 1e-9),
            "throughput {want:?} missing from {thr:?}"
        );
    }
    // The seed's alert names all come out of the stdlib policies.
    let mut names: Vec<&str> = program
        .slos
        .iter()
        .flat_map(|s| s.alerts.iter().map(|a| a.name.as_str()).chain(s.policy_rules.iter().map(|p| p.name.as_str())))
        .collect();
    names.sort();
    names.dedup();
    for n in [
        "SLOViolationCritical",
        "SLOViolationWarning",
        "ErrorBudgetCritical",
        "ErrorBudgetWarning",
        "HighErrorBudgetBurnRate",
        "SLOLatencyViolation",
    ] {
        assert!(names.contains(&n), "alert {n} missing: {names:?}");
    }
    // Every alert has a runbook link to carry (backends add it as `runbook_url`).
    for s in &program.slos {
        if !s.alerts.is_empty() || !s.policy_rules.is_empty() {
            assert!(
                s.runbook.as_deref().is_some_and(|u| u.starts_with("https://")),
                "{}.{} alerts without a runbook",
                s.service,
                s.name
            );
        }
    }
}

/// The example at the top of README.md checks and compiles.
#[test]
fn readme_example_checks() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("```slo\n").expect("a slo block") + "```slo\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let loaded = slo::driver::load_strs(&[("readme.slo", &readme[start..end])]);
    let (program, diags) = slo::driver::check(&loaded);
    assert!(diags.0.is_empty(), "{}", render(&loaded, &diags));
    assert_eq!(program.slos.len(), 3);
    slo::promql::emit(&program, &slo::promql::Options::default()).expect("compiles");
}
