//! `sli timeslices 1m { good when … }`: good slices over slices. It owns the
//! slice length (the block's argument, checked against the window by
//! [`Cx::slice`]) and the slice condition: the quantities a slice is
//! measured by (`rate`, `increase`, `quantile`, `ratio`, `avg`, `min`,
//! `max`), each compared in its own unit. It may assume the block's fields
//! are collected and limited to [`FIELDS`] and that only this kind has an
//! argument (checked by [`super`]).

use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{Env, Ty, Val};
use crate::sema::slo::{Cx, Fields, Got};
use crate::syntax::ast::{self, Entry, ValueKind};
use crate::units::Duration;

/// The fields an `sli timeslices` block takes.
pub(super) const FIELDS: &[&str] = &["good when"];

impl Cx<'_> {
    pub(super) fn timeslices(
        &mut self,
        s: &ast::SliBlock,
        env: &Env,
        window_ms: u64,
        f: &Fields,
        context: &str,
    ) -> Option<ir::Sli> {
        let Some(arg) = &s.arg else {
            self.diags.push(
                Diagnostic::error(
                    "slo::sli::slice_missing",
                    s.kind.span,
                    "`sli timeslices` needs a slice length",
                    "no slice length",
                )
                .with_help("write `sli timeslices 1m { good when … }`"),
            );
            return None;
        };
        let lit = ast::Value { kind: ValueKind::Duration(arg.clone()), span: arg.span };
        let slice = self.slice(&lit, env, Some(window_ms));
        let Some(Got { entry: Entry::GoodWhen(cond, _), env: cenv }) = f.get("good when").copied() else {
            self.diags.push(error::missing_field(
                s.kind.span,
                "a `good when` condition",
                context,
                "good when rate(http_requests_total{job=\"api\"}) >= 100/s",
            ));
            return None;
        };
        let good = self.slice_cond(cond, cenv);
        Some(ir::Sli::Timeslices { slice: Duration::from_ms(slice?), good: good? })
    }

    fn slice_cond(&mut self, c: &ast::Cond, env: &Env) -> Option<ir::SliceCond> {
        const FNS: [&str; 7] = ["rate", "increase", "quantile", "ratio", "avg", "min", "max"];
        let mut all = Vec::new();
        let mut ok = true;
        for term in &c.terms {
            let lhs = match term {
                ast::Comparison::Compare { lhs, .. } | ast::Comparison::Between { lhs, .. } => lhs,
            };
            let q = match &lhs.kind {
                ValueKind::Call(call) if FNS.contains(&call.callee.dotted().as_str()) => {
                    let name = call.callee.dotted();
                    let want = if matches!(name.as_str(), "quantile" | "ratio") { 2 } else { 1 };
                    if call.args.len() != want {
                        self.diags.push(
                            Diagnostic::error(
                                "slo::cond::args",
                                call.span,
                                format!("`{name}` takes {want} argument{}", if want == 1 { "" } else { "s" }),
                                "wrong number of arguments",
                            )
                            .with_help(match name.as_str() {
                                "quantile" => "write `quantile(0.95, http_request_duration_seconds{job=\"api\"})`",
                                "ratio" => "write `ratio(errors_total{…}, requests_total{…})`",
                                _ => "pass one selector, like `rate(http_requests_total{job=\"api\"})`",
                            }),
                        );
                        ok = false;
                        continue;
                    }
                    let s = |cx: &mut Self, i: usize| match cx.value(&call.args[i].value, Ty::Selector, env) {
                        Some(Val::Selector(s)) => Some(s),
                        _ => None,
                    };
                    let quantity = match name.as_str() {
                        "rate" => s(self, 0).map(|x| (ir::SliceQuantity::Rate(x), Ty::Rate)),
                        "increase" => s(self, 0).map(|x| (ir::SliceQuantity::Increase(x), Ty::Number)),
                        "avg" => s(self, 0).map(|x| (ir::SliceQuantity::Avg(x), Ty::Number)),
                        "min" => s(self, 0).map(|x| (ir::SliceQuantity::Min(x), Ty::Number)),
                        "max" => s(self, 0).map(|x| (ir::SliceQuantity::Max(x), Ty::Number)),
                        "ratio" => {
                            let (a, b) = (s(self, 0), s(self, 1));
                            a.zip(b)
                                .map(|(a, b)| (ir::SliceQuantity::Ratio { numerator: a, denominator: b }, Ty::Percent))
                        }
                        _ => {
                            let qv = match self.value(&call.args[0].value, Ty::Number, env) {
                                Some(Val::Num(q)) if q > 0.0 && q < 1.0 => Some(q),
                                Some(_) => {
                                    self.diags.push(error::out_of_range(
                                        "slo::value::ratio_range",
                                        call.args[0].value.span,
                                        "a quantile must be strictly between 0 and 1".into(),
                                        "not a usable quantile",
                                        "write e.g. 0.95 for the 95th percentile",
                                    ));
                                    None
                                }
                                None => None,
                            };
                            let h = s(self, 1);
                            qv.zip(h).map(|(q, h)| (ir::SliceQuantity::Quantile { q, histogram: h }, Ty::Latency))
                        }
                    };
                    quantity
                }
                _ => {
                    let mut d = Diagnostic::error(
                        "slo::cond::quantity",
                        lhs.span,
                        "a slice condition must measure the slice",
                        "not a slice measurement",
                    );
                    let n = match &lhs.kind {
                        ValueKind::Call(c) => Some(c.callee.dotted()),
                        ValueKind::Path(p) => Some(p.dotted()),
                        _ => None,
                    };
                    d = match n.and_then(|n| error::suggest(&n, FNS)) {
                        Some(h) => d.with_help(h),
                        None => d.with_help(
                            "start with rate(…), increase(…), quantile(q, …), ratio(…, …), avg(…), min(…) or max(…)",
                        ),
                    };
                    self.diags.push(d);
                    None
                }
            };
            let Some((q, ty)) = q else {
                ok = false;
                continue;
            };
            let rhs = |cx: &mut Self, v: &ast::Value| -> Option<f64> {
                match cx.value(v, ty, env)? {
                    Val::Rate(x) | Val::Num(x) | Val::Pct(x) => Some(x),
                    Val::Dur(ms) => Some(ms as f64 / 1000.0),
                    _ => None,
                }
            };
            match self.term(term, rhs) {
                Some(cmps) => all.extend(cmps.into_iter().map(|(op, rhs)| ir::SliceCmp { lhs: q.clone(), op, rhs })),
                None => ok = false,
            }
        }
        ok.then_some(ir::SliceCond { all })
    }
}
