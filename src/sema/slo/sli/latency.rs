//! `sli latency { histogram = … below = … native = … }`: requests faster
//! than a bound, from a classic histogram or (`native = true`) a native one.
//! It owns the histogram's naming rules (a metric name, no
//! `_bucket`/`_count`/`_sum` suffix, no `le` matcher — each worded for the
//! histogram's kind) and the bound in seconds; it may assume the block's
//! fields are collected and limited to [`FIELDS`].

use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{Ty, Val};
use crate::sema::slo::{Cx, Fields};
use crate::syntax::ast;

/// The fields an `sli latency` block takes.
pub(super) const FIELDS: &[&str] = &["histogram", "below", "native"];

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
        let kind = match f.get("native") {
            None => Some(ir::HistogramKind::Classic),
            Some(g) => match self.value(g.value()?, Ty::Bool, g.env) {
                Some(Val::Bool(true)) => Some(ir::HistogramKind::Native),
                Some(Val::Bool(false)) => Some(ir::HistogramKind::Classic),
                _ => None,
            },
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
                    if kind == Some(ir::HistogramKind::Native) {
                        self.diags.push(
                            Diagnostic::error(
                                "slo::sli::native_suffix",
                                f["histogram"].value()?.span,
                                format!("a native histogram is one series; `{m}` names a classic histogram's part"),
                                format!("ends in `{suffix}`"),
                            )
                            .with_help(format!(
                                "write the native histogram's own name (`{base}`, if that is it), or drop \
                                 `native = true` to read `{base}_bucket` and `{base}_count` as a classic histogram"
                            )),
                        );
                        return None;
                    }
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
            if kind == Some(ir::HistogramKind::Native) {
                self.diags.push(
                    Diagnostic::error(
                        "slo::sli::native_le_matcher",
                        f["histogram"].value()?.span,
                        "a native histogram has no `le` label",
                        "matches on `le`",
                    )
                    .with_help(
                        "remove the `le` matcher: a native histogram's buckets are inside each sample, \
                         and `below` is the bound `histogram_fraction` is asked for",
                    ),
                );
                return None;
            }
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
        Some(ir::Sli::Latency { histogram, below_seconds: below?, kind: kind? })
    }
}
