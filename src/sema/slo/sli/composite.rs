//! `sli composite { combine = … of = … }`: an SLI over other SLOs —
//! `serial`, `weighted` (a map of SLOs to positive weights, normalised) or
//! `k_of_n(k)`. It owns the combination, the component references (each a
//! `service.slo` of the catalogue, none twice, at least two) and the k-of-n
//! limits; cycles between composites are [`crate::sema::graph`]'s. It may
//! assume the block's fields are collected and limited to [`FIELDS`].

use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{self, Ty, Val};
use crate::sema::slo::{Cx, Fields};
use crate::source::Span;
use crate::syntax::ast::{self, ValueKind};

/// The fields an `sli composite` block takes.
pub(super) const FIELDS: &[&str] = &["combine", "of"];

impl Cx<'_> {
    pub(super) fn composite(&mut self, s: &ast::SliBlock, f: &Fields) -> Option<ir::Sli> {
        let context = "`sli composite`";
        let Some(cg) = f.get("combine") else {
            self.diags.push(error::missing_field(s.kind.span, "combine", context, "combine = serial"));
            return None;
        };
        let Some(og) = f.get("of") else {
            self.diags.push(error::missing_field(
                s.kind.span,
                "of",
                context,
                "of = [api.availability, data.availability]",
            ));
            return None;
        };
        let cv = cg.value()?;
        let ov = og.value()?;
        enum Mode {
            Serial,
            Weighted,
            KOfN(f64, Span),
        }
        let mode = match &cv.kind {
            ValueKind::Path(p) if p.dotted() == "serial" => Mode::Serial,
            ValueKind::Path(p) if p.dotted() == "weighted" => Mode::Weighted,
            ValueKind::Call(c) if c.callee.dotted() == "k_of_n" && c.args.len() == 1 => {
                match self.value(&c.args[0].value, Ty::Number, cg.env) {
                    Some(Val::Num(k)) => Mode::KOfN(k, c.args[0].value.span),
                    _ => return None,
                }
            }
            _ => {
                let n = match &cv.kind {
                    ValueKind::Path(p) => Some(p.dotted()),
                    ValueKind::Call(c) => Some(c.callee.dotted()),
                    _ => None,
                };
                let mut d = Diagnostic::error(
                    "slo::composite::combine",
                    cv.span,
                    "unknown way to combine SLOs",
                    "not a combination",
                );
                d = match n.as_deref() {
                    Some("k_of_n") => d.with_help("`k_of_n` takes how many components must be good: `k_of_n(2)`"),
                    Some(m @ ("serial" | "weighted")) => d.with_help(format!("`{m}` takes no arguments: write `{m}`")),
                    _ => match n.and_then(|n| error::suggest(&n, ["serial", "weighted", "k_of_n"])) {
                        Some(h) => d.with_help(format!("{h} (`k_of_n` takes the count: `k_of_n(2)`)")),
                        None => d.with_help("write `serial`, `weighted` or `k_of_n(2)`"),
                    },
                };
                self.diags.push(d);
                return None;
            }
        };
        let mut refs: Vec<(ir::SloRef, Span, Option<&ast::Value>)> = Vec::new();
        let mut ok = true;
        fn push_ref<'v>(
            cx: &mut Cx,
            p: &ast::Path,
            w: Option<&'v ast::Value>,
            refs: &mut Vec<(ir::SloRef, Span, Option<&'v ast::Value>)>,
        ) -> bool {
            if p.parts.len() != 2
                || !cx.catalogue.slos.contains_key(&(p.parts[0].name.clone(), p.parts[1].name.clone()))
            {
                let names = cx.catalogue.slo_names();
                let cands: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut d = error::unknown_slo(p.span, &p.dotted(), &cands);
                if p.parts.len() != 2 {
                    d = d.with_help("refer to an SLO as `service.slo`, e.g. `api.availability`");
                }
                cx.diags.push(d);
                return false;
            }
            let r = ir::SloRef { service: p.parts[0].name.clone(), name: p.parts[1].name.clone() };
            if let Some((_, first, _)) = refs.iter().find(|(x, _, _)| *x == r) {
                cx.diags.push(error::duplicate(p.span, "component", &p.dotted(), *first));
                return false;
            }
            refs.push((r, p.span, w));
            true
        }
        match (&mode, &ov.kind) {
            (Mode::Weighted, ValueKind::Map(entries)) => {
                for e in entries {
                    match &e.key {
                        ast::MapKey::Path(p) => ok &= push_ref(self, p, Some(&e.value), &mut refs),
                        ast::MapKey::String(st) => {
                            self.diags.push(error::mismatch(
                                st.span,
                                "an SLO name like `api.availability`",
                                "a string",
                                None,
                            ));
                            ok = false;
                        }
                    }
                }
            }
            (Mode::Weighted, _) => {
                self.diags.push(
                    error::mismatch(ov.span, "a map of SLOs to weights", eval::found(ov), None)
                        .with_help("write `of = { api.availability: 2, data.availability: 1 }`"),
                );
                return None;
            }
            (_, ValueKind::List(items)) => {
                for it in items {
                    match &it.kind {
                        ValueKind::Path(p) => ok &= push_ref(self, p, None, &mut refs),
                        _ => {
                            self.diags.push(error::mismatch(
                                it.span,
                                "an SLO name like `api.availability`",
                                eval::found(it),
                                None,
                            ));
                            ok = false;
                        }
                    }
                }
            }
            _ => {
                self.diags.push(
                    error::mismatch(ov.span, "a list of SLOs", eval::found(ov), None)
                        .with_help("write `of = [api.availability, data.availability]`"),
                );
                return None;
            }
        }
        if !ok {
            return None;
        }
        if refs.len() < 2 {
            self.diags.push(
                Diagnostic::error(
                    "slo::composite::too_few",
                    ov.span,
                    "a composite needs at least two SLOs",
                    "fewer than two components",
                )
                .with_help("with one component, use that SLO directly"),
            );
            return None;
        }
        let combine = match mode {
            Mode::Serial => ir::Combine::Serial,
            Mode::KOfN(k, span) => {
                if refs.len() > ir::Combine::K_OF_N_MAX_COMPONENTS {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::composite::too_many",
                            ov.span,
                            format!(
                                "a k-of-n composite of {} SLOs; at most {} are supported",
                                refs.len(),
                                ir::Combine::K_OF_N_MAX_COMPONENTS
                            ),
                            format!("{} components", refs.len()),
                        )
                        .with_help(
                            "the rules grow with n·k: for a large pool, measure the pool itself (e.g. a gauge SLI \
                             of the share of replicas up) or combine fewer, larger components",
                        ),
                    );
                    return None;
                }
                if k.fract() != 0.0 || k < 1.0 || k > refs.len() as f64 {
                    self.diags.push(error::out_of_range(
                        "slo::composite::k_range",
                        span,
                        format!("k = {k} is not a whole number between 1 and {}", refs.len()),
                        "out of range",
                        "k counts how many of the components must be good",
                    ));
                    return None;
                }
                ir::Combine::KOfN(k as u32)
            }
            Mode::Weighted => {
                let mut ws = Vec::new();
                for (_, _, w) in &refs {
                    let w = w.expect("weighted components carry weights");
                    match self.value(w, Ty::Number, og.env) {
                        Some(Val::Num(x)) if x > 0.0 => ws.push(x),
                        Some(_) => {
                            self.diags.push(error::out_of_range(
                                "slo::composite::weight",
                                w.span,
                                "weights must be positive".into(),
                                "not positive",
                                "drop the component instead of weighting it 0",
                            ));
                            return None;
                        }
                        None => return None,
                    }
                }
                let sum: f64 = ws.iter().sum();
                ir::Combine::Weighted(ws.into_iter().map(|w| w / sum).collect())
            }
        };
        Some(ir::Sli::Composite { combine, components: refs.into_iter().map(|(r, _, _)| r).collect() })
    }
}
