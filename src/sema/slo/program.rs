//! The program: every service of the catalogue, `policy … for …` targets,
//! every SLO (lowered by [`super::decl`]), and the check of templates and
//! policies of the user's files that nothing instantiates. It may assume
//! the catalogue holds each service and SLO once (duplicates were reported
//! when it was built) and that services come sorted by name.

use super::{Cx, Fields, SloCtx, MAX_WINDOW_MS, SERVICE_FIELDS};
use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{Env, Inst, Ty, Val};
use crate::sema::scope::{self, DeclKind, DeclRef};
use crate::source::Span;
use crate::syntax::ast;
use crate::units::Duration;
use std::collections::HashMap;

impl Cx<'_> {
    pub(crate) fn lower_program(&mut self) -> ir::Program {
        let mut program = ir::Program::default();
        for &(mi, ii) in self.catalogue.services.values() {
            if let ast::Item::Service(s) = &self.modules[mi].file.items[ii] {
                let svc = self.lower_service(mi, s);
                program.services.push(svc);
            }
        }
        let targeted = self.targeted_policies();
        for ((_svc, _name), &(mi, ii)) in &self.catalogue.slos {
            let ast::Item::Slo(d) = &self.modules[mi].file.items[ii] else { continue };
            if let Some(slo) = self.lower_slo(mi, d, &program.services, &targeted) {
                program.slos.push(slo);
            }
        }
        program
    }

    /// Templates, alert policies and budget policies of the user's files
    /// that nothing instantiates are still checked, with their defaults,
    /// so a library file reports its mistakes before anyone uses it.
    /// Declarations with required parameters can only be checked in use.
    /// Lints are dropped here: they depend on the SLO a policy serves.
    pub(crate) fn check_unused(&mut self) {
        let stand_in = ir::Service {
            name: String::new(),
            owner: None,
            runbook: None,
            description: None,
            labels: Default::default(),
            scrape_interval: ir::DEFAULT_SCRAPE_INTERVAL,
            span: Span::default(),
        };
        for (mi, m) in self.modules.iter().enumerate() {
            if self.sources.get(m.source).origin != crate::source::Origin::User {
                continue;
            }
            for (ii, item) in m.file.items.iter().enumerate() {
                if self.used.contains(&(mi, ii)) {
                    continue;
                }
                let (name, kind) = match (scope::decl_of(item), item) {
                    (Some(d), _) => d,
                    // `policy x for api` whose service has no SLOs yet.
                    (None, ast::Item::Policy(p)) => (&p.name, DeclKind::Policy),
                    _ => continue,
                };
                let params: &[ast::Param] = match item {
                    ast::Item::Template(t) => &t.params,
                    ast::Item::Alerts(a) => a.params.as_deref().unwrap_or(&[]),
                    ast::Item::Policy(p) => p.params.as_deref().unwrap_or(&[]),
                    _ => continue,
                };
                if params.iter().any(|p| p.default.is_none()) {
                    continue;
                }
                let before = self.diags.0.len();
                let path = ast::Path { parts: vec![name.clone()], span: name.span };
                let call = ast::Call { callee: path, args: vec![], span: name.span };
                let env = Env { module: mi, ..Env::default() };
                let ctx = SloCtx { objective: 0.999, window_ms: MAX_WINDOW_MS, span: name.span };
                match kind {
                    DeclKind::Template => {
                        let d = ast::SloDecl {
                            name: name.clone(),
                            service: ast::Ident { name: String::new(), span: name.span },
                            body: ast::SloBody::Instance { call, overrides: None },
                            span: name.span,
                        };
                        self.lower_slo(mi, &d, std::slice::from_ref(&stand_in), &HashMap::new());
                    }
                    DeclKind::Alerts => {
                        if let Some(i) = self.instantiate(&call, kind, &env) {
                            self.alerts_for(&ctx, &i);
                        }
                    }
                    DeclKind::Policy if matches!(item, ast::Item::Policy(p) if p.target.is_some()) => {
                        let i = Inst {
                            decl: DeclRef { module: mi, item: ii, kind },
                            args: Default::default(),
                            span: name.span,
                        };
                        self.policy_for(&ctx, &i);
                    }
                    DeclKind::Policy => {
                        if let Some(i) = self.instantiate(&call, kind, &env) {
                            self.policy_for(&ctx, &i);
                        }
                    }
                }
                let mut k = before;
                while k < self.diags.0.len() {
                    if self.diags.0[k].code.starts_with("slo::lint::") {
                        self.diags.0.remove(k);
                    } else {
                        k += 1;
                    }
                }
            }
        }
    }

    /// A service; fields that fail are reported and left out, so lints do
    /// not report them missing again.
    fn lower_service(&mut self, mi: usize, s: &ast::ServiceDecl) -> ir::Service {
        let env = Env { module: mi, ..Env::default() };
        let mut f = Fields::default();
        self.collect(&s.body, &env, SERVICE_FIELDS, &format!("service `{}`", s.name.name), &mut f);
        let string = |cx: &mut Self, key: &str| -> Option<String> {
            let g = f.get(key)?;
            match cx.value(g.value()?, Ty::String, g.env)? {
                Val::Str(s) => Some(s),
                _ => None,
            }
        };
        let owner = string(self, "owner");
        let runbook = string(self, "runbook");
        let description = string(self, "description");
        let mut labels = ir::Labels::new();
        if let Some(g) = f.get("labels") {
            if let Some(Val::Labels(l)) = g.value().and_then(|v| self.value(v, Ty::Labels, g.env)) {
                self.reserved_labels(&l, g.span());
                labels = l;
            }
        }
        // The service's `policy` applies per SLO (where its rules are
        // checked); evaluate it here too, so it is checked even for a
        // service without SLOs.
        if let Some(g) = f.get("policy") {
            if let Some(v) = g.value() {
                self.value(v, Ty::Policy, g.env);
            }
        }
        let mut scrape_interval = ir::DEFAULT_SCRAPE_INTERVAL;
        if let Some(g) = f.get("scrape_interval") {
            match g.value().and_then(|v| self.value(v, Ty::Duration, g.env).map(|x| (v, x))) {
                Some((_, Val::Dur(ms))) if (1_000..=3_600_000).contains(&ms) => scrape_interval = Duration::from_ms(ms),
                Some((v, Val::Dur(ms))) => self.diags.push(error::out_of_range(
                    "slo::scrape::range",
                    v.span,
                    format!("a scrape interval of {} is outside 1s..1h", crate::units::fmt_duration(ms)),
                    "out of range",
                    "Prometheus scrapes every 1s to 1h; write the interval its scrape config uses (e.g. 15s, 30s, 1m)",
                )),
                _ => {}
            }
        }
        ir::Service {
            name: s.name.name.clone(),
            owner,
            runbook,
            description,
            labels,
            scrape_interval,
            span: s.name.span,
        }
    }

    /// `policy x for api { … }` and `policy x for api.slo { … }`: target → decls.
    fn targeted_policies(&mut self) -> HashMap<(String, Option<String>), Vec<DeclRef>> {
        let mut out: HashMap<(String, Option<String>), Vec<DeclRef>> = HashMap::new();
        for (mi, m) in self.modules.iter().enumerate() {
            for (ii, item) in m.file.items.iter().enumerate() {
                let ast::Item::Policy(p) = item else { continue };
                let Some(t) = &p.target else { continue };
                let r = DeclRef { module: mi, item: ii, kind: DeclKind::Policy };
                match t.parts.as_slice() {
                    [svc] => {
                        if !self.catalogue.services.contains_key(&svc.name) {
                            let c: Vec<&str> = self.catalogue.services.keys().map(String::as_str).collect();
                            self.diags.push(error::unknown_service(svc.span, &svc.name, &c));
                            continue;
                        }
                        out.entry((svc.name.clone(), None)).or_default().push(r);
                    }
                    [svc, slo] => {
                        if !self.catalogue.slos.contains_key(&(svc.name.clone(), slo.name.clone())) {
                            let names = self.catalogue.slo_names();
                            let c: Vec<&str> = names.iter().map(String::as_str).collect();
                            self.diags.push(error::unknown_slo(t.span, &t.dotted(), &c));
                            continue;
                        }
                        out.entry((svc.name.clone(), Some(slo.name.clone()))).or_default().push(r);
                    }
                    _ => self.diags.push(
                        Diagnostic::error(
                            "slo::policy::target",
                            t.span,
                            "a policy applies to a service or to one SLO",
                            "neither `service` nor `service.slo`",
                        )
                        .with_help("write `policy name for api` or `policy name for api.availability`"),
                    ),
                }
            }
        }
        out
    }
}
