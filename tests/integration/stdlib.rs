//! The stdlib type-checks: every module parses, is formatted, and every
//! template, alert policy and budget policy in it is instantiated by
//! tests/pass/stdlib_all.slo without a diagnostic.

use super::common::*;
use slo::syntax::ast::Item;

#[test]
fn every_stdlib_declaration_is_exercised() {
    // What the checked program actually instantiated, not what the text mentions.
    let (_, program, _) = check_file(&repo().join("tests/pass/stdlib_all.slo"));
    let mut used: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for s in &program.slos {
        used.extend(s.template.clone());
        used.extend(s.alerts.iter().map(|a| a.policy.clone()));
        used.extend(s.policy_rules.iter().map(|p| p.policy.clone()));
    }
    for (module, text) in slo::stdlib::MODULES {
        let file = slo::syntax::parse(slo::source::SourceId(0), text).unwrap_or_else(|_| panic!("std.{module} parses"));
        for item in &file.items {
            let name = match item {
                Item::Template(t) => &t.name.name,
                Item::Alerts(a) => &a.name.name,
                Item::Policy(p) => &p.name.name,
                _ => continue,
            };
            assert!(
                used.contains(name),
                "std.{module}.{name} is not instantiated by tests/pass/stdlib_all.slo (used: {used:?})"
            );
        }
    }
}

#[test]
fn stdlib_checks_clean() {
    let (loaded, program, diags) = check_file(&repo().join("tests/pass/stdlib_all.slo"));
    assert!(diags.0.is_empty(), "{}", render(&loaded, &diags));
    assert!(!program.slos.is_empty());
    // google_28d on a 28d SLO gives the Workbook's 28d factors.
    let slo = program.slos.iter().find(|s| s.alerts.iter().any(|a| a.policy == "google_28d")).unwrap();
    let factors: Vec<f64> = slo
        .alerts
        .iter()
        .filter(|a| a.policy == "google_28d")
        .map(|a| match a.condition {
            slo::ir::AlertCondition::BurnRate { factor, .. } => factor,
            _ => panic!("tier"),
        })
        .collect();
    let want = [13.44, 5.6, 2.8, 0.1 * 28.0 / 3.0];
    assert_eq!(factors.len(), want.len(), "factors {factors:?}");
    for (f, w) in factors.iter().zip(want) {
        assert!((f - w).abs() < 1e-9, "factors {factors:?}");
    }
}
