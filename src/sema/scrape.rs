//! Ranges that cannot hold two samples.
//!
//! `rate` and `increase` need two samples inside their range. A timeslice
//! SLI compiles its conditions over counters and histograms to
//! `rate(x[slice])` (and timeslice budgeting compiles each slice's ratio
//! the same way), so a slice shorter than two scrape intervals never holds
//! two samples of a target scraped that often: the SLO records nothing, in
//! Prometheus and in the backtest, and nobody is told. The scrape interval
//! is the service's `scrape_interval` ([`ir::DEFAULT_SCRAPE_INTERVAL`]
//! when it says nothing). Windows of alerts and of the SLO are at least 5m
//! and are not checked here.

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir;

/// Whether a slice condition reads a range function that needs two samples.
fn needs_two(q: &ir::SliceQuantity) -> bool {
    match q {
        ir::SliceQuantity::Rate(_)
        | ir::SliceQuantity::Increase(_)
        | ir::SliceQuantity::Ratio { .. }
        | ir::SliceQuantity::Quantile { .. } => true,
        ir::SliceQuantity::Avg(_) | ir::SliceQuantity::Min(_) | ir::SliceQuantity::Max(_) => false,
    }
}

/// Reports every SLO whose slices cannot hold two scrapes.
pub fn check(program: &ir::Program, diags: &mut Diagnostics) {
    for slo in &program.slos {
        let (slice, what) = match (&slo.sli, &slo.budgeting) {
            (ir::Sli::Timeslices { slice, good }, _) => {
                if !good.all.iter().any(|c| needs_two(&c.lhs)) {
                    continue;
                }
                (*slice, "its conditions read `rate`/`increase` over each slice")
            }
            (
                ir::Sli::Events { .. } | ir::Sli::Latency { .. },
                ir::Budgeting::Timeslices { slice, .. } | ir::Budgeting::RatioTimeslices { slice },
            ) => (*slice, "each slice's error ratio is a `rate` over the slice"),
            (
                ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. } | ir::Sli::Composite { .. },
                _,
            ) => continue,
        };
        // `services` is sorted by name; looked up only for SLOs with slices.
        let Ok(i) = program.services.binary_search_by(|s| s.name.as_str().cmp(&slo.service)) else { continue };
        let service = &program.services[i];
        let scrape = service.scrape_interval;
        if slice < scrape * 2 {
            diags.push(
                Diagnostic::error(
                    "slo::scrape::too_coarse",
                    slo.span,
                    format!("{slice} slices cannot hold two samples of a target scraped every {scrape}"),
                    format!("{what}: with one sample per slice it never has a value"),
                )
                .with_related(service.span, format!("scraped every {scrape}"))
                .with_help(format!(
                    "use slices of {} or more, or, if the targets are scraped more often, say so with \
                     `scrape_interval = 15s` on the service",
                    scrape * 2
                )),
            );
        }
    }
}
