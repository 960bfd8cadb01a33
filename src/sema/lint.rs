//! Warnings: definitions that are legal but surely a mistake. They never
//! fail `slo check` unless `--deny-warnings` is given.

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir;
use crate::units::fmt_pct;

pub fn program(p: &ir::Program, diags: &mut Diagnostics) {
    for s in &p.services {
        if s.owner.is_none() {
            diags.push(
                Diagnostic::warning(
                    "slo::lint::no_owner",
                    s.span,
                    format!("service `{}` has no owner", s.name),
                    "nobody owns this service",
                )
                .with_help("add `owner = \"team-name\"` so alerts and reports reach someone"),
            );
        }
        if let Some(r) = &s.runbook {
            runbook(r, s.span, diags);
        }
    }
    let service_runbooks: std::collections::HashSet<&str> =
        p.services.iter().filter_map(|s| s.runbook.as_deref()).collect();
    for slo in &p.slos {
        if let Some(r) = &slo.runbook {
            if !service_runbooks.contains(r.as_str()) {
                runbook(r, slo.span, diags);
            }
        }
        if let ir::Sli::Events { numerator, total } = &slo.sli {
            let (n, kind) = match numerator {
                ir::EventsNumerator::Good(s) => (s, "good"),
                ir::EventsNumerator::Bad(s) => (s, "bad"),
            };
            if n == total {
                diags.push(
                    Diagnostic::warning(
                        "slo::lint::numerator_is_total",
                        slo.span,
                        format!("`{kind}` and `total` select the same series"),
                        "the SLI is constant",
                    )
                    .with_help(format!("`{kind}` should select a subset of `total`, e.g. add `code=~\"5..\"`")),
                );
            }
        }
        for g in &slo.group_by {
            // A matcher that only an absent label satisfies: `g=""`, `g=~""`, `g!~".+"`.
            let pins_away = |m: &ir::Matcher| {
                &m.label == g
                    && match m.op {
                        ir::MatchOp::Eq | ir::MatchOp::Re => m.value.is_empty(),
                        ir::MatchOp::NotRe => m.value == ".+",
                        ir::MatchOp::Ne => false,
                    }
            };
            if selectors(&slo.sli).iter().any(|s| s.matchers.iter().any(pins_away)) {
                diags.push(
                    Diagnostic::warning(
                        "slo::lint::group_absent",
                        slo.span,
                        format!("grouping by `{g}`, which the SLI requires to be absent"),
                        format!("every group reads `{g}=\"\"`"),
                    )
                    .with_help(format!(
                        "drop `{g}` from group_by, or drop the matcher that selects only series without `{g}`"
                    )),
                );
                continue;
            }
            if selectors(&slo.sli).iter().any(|s| s.matchers.iter().any(|m| &m.label == g && m.op == ir::MatchOp::Eq)) {
                diags.push(
                    Diagnostic::warning(
                        "slo::lint::group_fixed",
                        slo.span,
                        format!("grouping by `{g}`, which the SLI fixes with `=`"),
                        "only one group can exist",
                    )
                    .with_help(format!("drop `{g}` from group_by, or match it with a regex")),
                );
            }
        }
        if let ir::Sli::Composite { combine: ir::Combine::Serial, components } = &slo.sli {
            let product: f64 =
                components.iter().filter_map(|c| p.slo(&c.service, &c.name)).map(|c| c.objective).product();
            if slo.objective > product + 1e-12 {
                diags.push(
                    Diagnostic::warning("slo::lint::serial_objective", slo.span, format!("objective {} is above the product of its components' objectives ({})", fmt_pct(slo.objective), fmt_pct(product)), "stricter than its parts")
                        .with_help("a serial chain is at most as reliable as the product of its links; lower the objective or raise the components'"),
                );
            }
        }
    }
}

fn runbook(r: &str, span: crate::source::Span, diags: &mut Diagnostics) {
    if !(r.starts_with("https://") || r.starts_with("http://")) {
        diags.push(
            Diagnostic::warning(
                "slo::lint::runbook_url",
                span,
                format!("runbook \"{r}\" is not a URL"),
                "alerts link to this runbook",
            )
            .with_help("use an http(s) link so the `runbook_url` annotation is clickable"),
        );
    }
}

/// Every selector an SLI reads (see [`ir::Sli::selectors`]).
pub fn selectors(sli: &ir::Sli) -> Vec<&ir::Selector> {
    sli.selectors()
}
