//! `sli latency { histogram = … below = … }`: requests faster than a bound,
//! from a classic histogram. It owns the histogram's naming rules (a metric
//! name, no `_bucket`/`_count`/`_sum` suffix, no `le` matcher) and the bound
//! in seconds; it may assume the block's fields are collected and limited
//! to [`FIELDS`].

use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{Ty, Val};
use crate::sema::slo::{Cx, Fields};
use crate::syntax::ast;

/// The fields an `sli latency` block takes.
pub(super) const FIELDS: &[&str] = &["histogram", "below"];

impl Cx<'_> {
    pub(super) fn latency(&mut self, s: &ast::SliBlock, f: &Fields, context: &str) -> Option<ir::Sli> {
        let h = self.sel(f, "histogram");
        let below = match f.get("below") {
            Some(g) => match self.value(g.value()?, Ty::Latency, g.env) {
                Some(Val::Dur(ms)) => Some(ms as f64 / 1000.0),
                _ => None,
            },
            None => {
                self.diags.push(error::missing_field(s.kind.span, "below", context, "below = 500ms"));
                None
            }
        };
        let Some(histogram) = h? else {
            self.diags.push(error::missing_field(
                s.kind.span,
                "histogram",
                context,
                "histogram = http_request_duration_seconds{job=\"api\"}",
            ));
            return None;
        };
        if let Some(m) = &histogram.metric {
            for suffix in ["_bucket", "_count", "_sum"] {
                if let Some(base) = m.strip_suffix(suffix) {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::sli::histogram_suffix",
                            f["histogram"].value()?.span,
                            format!("name the histogram without `{suffix}`"),
                            format!("`{m}` is one of the histogram's series"),
                        )
                        .with_help(format!("write `{base}`: slo reads `{base}_bucket` and `{base}_count` itself")),
                    );
                    return None;
                }
            }
        } else {
            self.diags.push(
                Diagnostic::error(
                    "slo::sli::histogram_name",
                    f["histogram"].value()?.span,
                    "a latency SLI needs the histogram's metric name",
                    "no metric name",
                )
                .with_help("write `histogram = http_request_duration_seconds{job=\"api\"}`"),
            );
            return None;
        }
        if histogram.matchers.iter().any(|m| m.label == "le") {
            self.diags.push(
                Diagnostic::error(
                    "slo::sli::le_matcher",
                    f["histogram"].value()?.span,
                    "do not match on `le` in a latency SLI",
                    "`le` is chosen by `below`",
                )
                .with_help("remove the `le` matcher; `below` picks the bucket"),
            );
            return None;
        }
        Some(ir::Sli::Latency { histogram, below_seconds: below? })
    }
}
