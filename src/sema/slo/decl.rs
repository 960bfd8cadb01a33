//! One SLO declaration: its template instantiated and the instance's
//! overrides laid over the template's fields, then each field checked —
//! objective and window, description, runbook, labels, the SLI, budgeting,
//! `group_by`, alerts and budget policies (the service's, the SLO's own and
//! `policy … for …`). It may assume the service list is the lowered
//! catalogue, sorted by name; the SLI itself is [`super::sli`]'s.

use super::{Cx, Fields, Got, SloCtx, DAY, RESERVED_LABELS, SLO_FIELDS};
use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{self, Env, Inst, Ty, Val};
use crate::sema::scope::{DeclKind, DeclRef};
use crate::source::Span;
use crate::syntax::ast::{self, Entry, ValueKind};
use crate::units::Duration;
use std::collections::HashMap;

impl Cx<'_> {
    pub(super) fn lower_slo(
        &mut self,
        mi: usize,
        d: &ast::SloDecl,
        services: &[ir::Service],
        targeted: &HashMap<(String, Option<String>), Vec<DeclRef>>,
    ) -> Option<ir::Slo> {
        let service = match self.catalogue.services.get(&d.service.name) {
            // The stand-in service of an unused template's check.
            None if d.service.name.is_empty() => services.first(),
            // `services` is sorted by name, as the catalogue is.
            Some(_) => services.binary_search_by(|s| s.name.as_str().cmp(&d.service.name)).ok().map(|i| &services[i]),
            None => {
                let c: Vec<&str> = self.catalogue.services.keys().map(String::as_str).collect();
                self.diags.push(error::unknown_service(d.service.span, &d.service.name, &c));
                None
            }
        };
        let context = format!("SLO `{}`", d.name.name);
        let own_env = Env { module: mi, ..Env::default() };
        let mut tmpl_env = None;
        let mut template = None;
        let mut tmpl_body = None;
        if let ast::SloBody::Instance { call, .. } = &d.body {
            let inst = self.instantiate(call, DeclKind::Template, &own_env)?;
            let ast::Item::Template(t) = &self.modules[inst.decl.module].file.items[inst.decl.item] else {
                return None;
            };
            template = Some(t.name.name.clone());
            tmpl_env = Some(Env { module: inst.decl.module, params: inst.args });
            tmpl_body = Some(&t.body);
        }
        let mut f = Fields::default();
        if let (Some(body), Some(env)) = (tmpl_body, tmpl_env.as_ref()) {
            self.collect(body, env, SLO_FIELDS, &format!("template `{}`", template.as_deref().unwrap_or("")), &mut f);
        }
        match &d.body {
            ast::SloBody::Block(b) => self.collect(b, &own_env, SLO_FIELDS, &context, &mut f),
            ast::SloBody::Instance { overrides: Some(b), .. } => {
                self.collect(b, &own_env, SLO_FIELDS, &context, &mut f)
            }
            ast::SloBody::Instance { overrides: None, .. } => {}
        }
        let mut ok = service.is_some();
        let placeholder = ir::Service {
            name: d.service.name.clone(),
            owner: None,
            runbook: None,
            description: None,
            labels: Default::default(),
            scrape_interval: ir::DEFAULT_SCRAPE_INTERVAL,
            span: d.service.span,
        };
        let service = service.unwrap_or(&placeholder);

        // objective
        let (objective, window) = match f.get("objective") {
            Some(g) => match self.objective(g) {
                Some(o) => o,
                None => {
                    ok = false;
                    (0.99, ir::Window::Rolling { length: Duration::from_ms(28 * DAY) })
                }
            },
            None => {
                self.diags.push(error::missing_field(d.name.span, "objective", &context, "objective = 99.9% over 28d"));
                ok = false;
                (0.99, ir::Window::Rolling { length: Duration::from_ms(28 * DAY) })
            }
        };
        let window_ms = window.nominal().ms();

        let string = |cx: &mut Self, key: &str, ok: &mut bool| -> Option<String> {
            let g = f.get(key)?;
            match cx.value(g.value()?, Ty::String, g.env) {
                Some(Val::Str(s)) => Some(s),
                _ => {
                    *ok = false;
                    None
                }
            }
        };
        let description = string(self, "description", &mut ok);
        let runbook = string(self, "runbook", &mut ok).or_else(|| service.runbook.clone());
        let mut labels = service.labels.clone();
        let mut annotations = ir::Labels::new();
        // The SLO's own labels and where they are written.
        let mut own_labels = (d.name.span, ir::Labels::new());
        for (key, target) in [("labels", &mut labels), ("annotations", &mut annotations)] {
            if let Some(g) = f.get(key) {
                let Some(v) = g.value() else { continue };
                match self.value(v, Ty::Labels, g.env) {
                    Some(Val::Labels(l)) => {
                        if key == "labels" {
                            if !self.reserved_labels(&l, v.span) {
                                ok = false;
                            }
                            own_labels = (v.span, l.clone());
                        }
                        target.extend(l);
                    }
                    _ => ok = false,
                }
            }
        }

        // sli
        let sli = match f.get("sli") {
            Some(Got { entry: Entry::Sli(s), env }) => self.sli(s, env, window_ms),
            Some(g) => {
                self.diags.push(
                    error::mismatch(g.span(), "an `sli <kind> { … }` block", "a field", None)
                        .with_help("write `sli events { good = … total = … }`"),
                );
                None
            }
            None => {
                self.diags.push(error::missing_field(
                    d.name.span,
                    "an `sli` block",
                    &context,
                    "sli events { bad = … total = … }",
                ));
                None
            }
        };

        // budgeting
        let budgeting = match (f.get("budgeting"), &sli) {
            (None, Some(ir::Sli::Timeslices { slice, .. })) => ir::Budgeting::Timeslices { slice: *slice, target: 1.0 },
            (Some(g), Some(ir::Sli::Timeslices { .. })) => {
                self.diags.push(
                    Diagnostic::error(
                        "slo::budgeting::conflict",
                        g.span(),
                        "a timeslices SLI already sets the budgeting method",
                        "remove this",
                    )
                    .with_help(
                        "`sli timeslices 1m { … }` counts good slices; `budgeting` is for events and latency SLIs",
                    ),
                );
                ok = false;
                ir::Budgeting::Occurrences
            }
            (
                None,
                None
                | Some(
                    ir::Sli::Events { .. }
                    | ir::Sli::Latency { .. }
                    | ir::Sli::Gauge { .. }
                    | ir::Sli::Composite { .. },
                ),
            ) => ir::Budgeting::Occurrences,
            (
                Some(g),
                None
                | Some(
                    ir::Sli::Events { .. }
                    | ir::Sli::Latency { .. }
                    | ir::Sli::Gauge { .. }
                    | ir::Sli::Composite { .. },
                ),
            ) => match self.budgeting(g, window_ms) {
                Some(b) => b,
                None => {
                    ok = false;
                    ir::Budgeting::Occurrences
                }
            },
        };

        // group_by
        let mut group_by = Vec::new();
        if let Some(g) = f.get("group_by") {
            match g.value().map(|v| (&v.kind, v)) {
                Some((ValueKind::List(items), _)) => {
                    let mut seen: HashMap<String, Span> = HashMap::new();
                    for it in items {
                        let name = match &it.kind {
                            ValueKind::Path(p) if p.parts.len() == 1 => p.parts[0].name.clone(),
                            ValueKind::String(s) => s.value.clone(),
                            _ => {
                                self.diags.push(error::mismatch(it.span, "a label name", eval::found(it), None));
                                ok = false;
                                continue;
                            }
                        };
                        if !eval::valid_label_name(&name)
                            || name.starts_with("__")
                            || RESERVED_LABELS.contains(&name.as_str())
                        {
                            self.diags.push(
                                Diagnostic::error("slo::label::invalid_name", it.span, format!("cannot group by `{name}`"), "not a usable label name")
                                    .with_help("group by a label of the SLI's series, like `route` or `tenant` (not `slo`, `service` or `__…`)"),
                            );
                            ok = false;
                            continue;
                        }
                        if let Some(first) = seen.get(&name) {
                            self.diags.push(error::duplicate(it.span, "group label", &name, *first));
                            ok = false;
                            continue;
                        }
                        seen.insert(name.clone(), it.span);
                        group_by.push(name);
                    }
                }
                Some((_, v)) => {
                    self.diags.push(error::mismatch(
                        v.span,
                        "a list of label names (like `[route]`)",
                        eval::found(v),
                        None,
                    ));
                    ok = false;
                }
                None => {}
            }
            if !group_by.is_empty() {
                if let Some(ir::Sli::Composite { .. }) = &sli {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::composite::grouped",
                            g.span(),
                            "a composite SLO cannot be grouped",
                            "grouping here",
                        )
                        .with_help("group the component SLOs instead; the composite combines their totals"),
                    );
                    ok = false;
                }
            }
        }

        // A grouping label must come from the series; a static label of the
        // same name would collapse every group into one label set.
        for g in &group_by {
            if labels.contains_key(g) {
                self.diags.push(
                    Diagnostic::error(
                        "slo::label::group_conflict",
                        f.get("group_by").map_or(d.name.span, |x| x.span()),
                        format!("`{g}` is both a grouping label and a static label of this SLO"),
                        "grouped here",
                    )
                    .with_help(format!(
                        "remove `{g}` from the service's or the SLO's `labels`, or group by another label"
                    )),
                );
                ok = false;
            }
        }
        let cx_slo = SloCtx { objective, window_ms, span: d.name.span };

        // alerts
        let mut alerts = Vec::new();
        if let Some(g) = f.get("alerts") {
            if let Some(v) = g.value() {
                match self.value(v, Ty::Alerts, g.env) {
                    Some(Val::Insts(insts)) => {
                        for i in &insts {
                            let before = self.diags.0.len();
                            alerts.extend(self.alerts_for(&cx_slo, i));
                            self.point_at_use(before, i.span);
                        }
                    }
                    _ => ok = false,
                }
            }
        }
        // Two alerts may share a name only when their labels tell them
        // apart: else they would write one ALERTS series. A burn-rate
        // tier's alert is labelled with its long window (`long_window`).
        let mut names: HashMap<(&str, &str, &ir::Labels, Option<Duration>), ()> = HashMap::new();
        for a in &alerts {
            let long = match &a.condition {
                ir::AlertCondition::BurnRate { long, .. } => Some(*long),
                ir::AlertCondition::Threshold(_) => None,
            };
            if names.insert((&a.name, &a.severity, &a.labels, long), ()).is_some() {
                self.diags.push(
                    Diagnostic::error(
                        "slo::alert::duplicate_name",
                        f["alerts"].span(),
                        format!("two alerts of this SLO are named `{}` with the same severity and labels", a.name),
                        "these policies overlap",
                    )
                    .with_help("each alert of an SLO needs its own name, or labels that tell it from the other: rename a tier, give it `alert = \"…\"` and a label of its own, or drop one of the policies"),
                );
                ok = false;
            }
        }

        // budget policies: the service's, the SLO's, and `policy … for …`
        let mut policy_rules = Vec::new();
        let mut insts: Vec<Inst> = Vec::new();
        if let Some((smi, sii)) = self.catalogue.services.get(&d.service.name) {
            if let ast::Item::Service(s) = &self.modules[*smi].file.items[*sii] {
                if let Some(Entry::Field(pf)) =
                    s.body.entries.iter().find(|e| matches!(e, Entry::Field(f) if f.name.name == "policy"))
                {
                    let senv = Env { module: *smi, ..Env::default() };
                    match self.value(&pf.value, Ty::Policy, &senv) {
                        Some(Val::Insts(i)) => insts.extend(i),
                        _ => ok = false,
                    }
                }
            }
        }
        if let Some(g) = f.get("policy") {
            if let Some(v) = g.value() {
                match self.value(v, Ty::Policy, g.env) {
                    Some(Val::Insts(i)) => insts.extend(i),
                    _ => ok = false,
                }
            }
        }
        for key in [(d.service.name.clone(), None), (d.service.name.clone(), Some(d.name.name.clone()))] {
            for r in targeted.get(&key).into_iter().flatten() {
                self.used.insert((r.module, r.item));
                insts.push(Inst { decl: *r, args: Default::default(), span: d.name.span });
            }
        }
        let mut rule_names: HashMap<String, Span> = HashMap::new();
        for i in &insts {
            let before = self.diags.0.len();
            for rule in self.policy_for(&cx_slo, i) {
                if let Some(first) = rule_names.get(&rule.name) {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::policy::duplicate_name",
                            i.span,
                            format!("two budget-policy rules of SLO `{}` are named `{}`", d.name.name, rule.name),
                            "this policy's rule repeats a name",
                        )
                        .with_related(*first, "the first one comes from here")
                        .with_help("apply each policy once (a service's policies already apply to all its SLOs), or rename a rule with `as`"),
                    );
                    ok = false;
                    continue;
                }
                rule_names.insert(rule.name.clone(), i.span);
                policy_rules.push(rule);
            }
            self.point_at_use(before, i.span);
        }
        // Budget-policy alerts set `policy`, `action`, `action_target`: a
        // label of that name on the SLO or its service would be overwritten.
        if let Some(first) = insts.first() {
            let policy_name = match &self.modules[first.decl.module].file.items[first.decl.item] {
                ast::Item::Policy(p) => p.name.span,
                _ => first.span,
            };
            let (span, mine) = &own_labels;
            self.policy_labels(mine, *span, Some(policy_name));
            let inherited: ir::Labels = service
                .labels
                .iter()
                .filter(|(k, _)| !mine.contains_key(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let service_labels = self.service_labels_span(&d.service.name).unwrap_or(service.span);
            self.policy_labels(&inherited, service_labels, Some(policy_name));
        }

        let sli = sli?;
        ok.then(|| ir::Slo {
            service: d.service.name.clone(),
            name: d.name.name.clone(),
            description,
            labels,
            annotations,
            runbook,
            objective,
            window,
            budgeting,
            sli,
            group_by,
            alerts,
            policy_rules,
            template,
            span: d.name.span,
        })
    }
}
