//! `sli events { good|bad = … total = … }`: a ratio of counters. It owns
//! the numerator rule (exactly one of `good` and `bad`) and the required
//! `total`; it may assume the block's fields are collected and limited to
//! [`FIELDS`], and that selectors are valid (checked by `eval`).

use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::slo::{Cx, Fields};
use crate::syntax::ast;

/// The fields an `sli events` block takes.
pub(super) const FIELDS: &[&str] = &["good", "bad", "total"];

impl Cx<'_> {
    pub(super) fn events(&mut self, s: &ast::SliBlock, f: &Fields, context: &str) -> Option<ir::Sli> {
        let good = self.sel(f, "good");
        let bad = self.sel(f, "bad");
        let total = self.sel(f, "total");
        let numerator = match (good?, bad?) {
            (Some(g), None) => ir::EventsNumerator::Good(g),
            (None, Some(b)) => ir::EventsNumerator::Bad(b),
            (Some(_), Some(_)) => {
                self.diags.push(
                    Diagnostic::error(
                        "slo::sli::numerator",
                        f["bad"].span(),
                        "an events SLI takes `good` or `bad`, not both",
                        "second numerator",
                    )
                    .with_related(f["good"].span(), "`good` is set here")
                    .with_help("keep the one your metrics measure directly; the other is total minus it"),
                );
                return None;
            }
            (None, None) => {
                self.diags.push(error::missing_field(
                    s.kind.span,
                    "`good` or `bad`",
                    context,
                    "bad = http_requests_total{code=~\"5..\"}",
                ));
                return None;
            }
        };
        let Some(total) = total? else {
            self.diags.push(error::missing_field(
                s.kind.span,
                "total",
                context,
                "total = http_requests_total{job=\"api\"}",
            ));
            return None;
        };
        Some(ir::Sli::Events { numerator, total })
    }
}
