//! `sli gauge { series = … }`: a 0/1 gauge (`up`, `probe_success`) whose
//! average is the SLI. It owns the required `series`; it may assume the
//! block's fields are collected and limited to [`FIELDS`].

use crate::ir;
use crate::sema::error;
use crate::sema::slo::{Cx, Fields};
use crate::syntax::ast;

/// The fields an `sli gauge` block takes.
pub(super) const FIELDS: &[&str] = &["series"];

impl Cx<'_> {
    pub(super) fn gauge(&mut self, s: &ast::SliBlock, f: &Fields, context: &str) -> Option<ir::Sli> {
        match self.sel(f, "series")? {
            Some(series) => Some(ir::Sli::Gauge { series }),
            None => {
                self.diags.push(error::missing_field(
                    s.kind.span,
                    "series",
                    context,
                    "series = probe_success{job=\"blackbox\"}",
                ));
                None
            }
        }
    }
}
