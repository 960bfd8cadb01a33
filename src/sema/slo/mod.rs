//! Lowering of services and SLOs, split by concern:
//!
//! - this file: the checker's context [`Cx`] and what every part of the
//!   lowering shares — gathering a block's fields ([`Fields`], [`Got`]),
//!   evaluating a value of any type (including alert and budget policies),
//!   reserved labels, and condition terms (`x between a and b`);
//! - [`template`]: template, alert-policy and budget-policy instantiation
//!   (resolving the callee, binding and type-checking arguments, defaults);
//! - [`program`]: the program — services, `policy … for …` targets, every
//!   SLO of the catalogue, and the check of declarations nothing uses;
//! - [`decl`]: one SLO declaration — the template's fields overlaid with the
//!   instance's, then every field (labels, grouping, alerts, policies);
//! - [`window`]: objectives, windows, budgeting methods and slice lengths;
//! - [`sli`]: the `sli` block, one file per SLI kind with its lowering.
//!
//! Every part pushes its diagnostics into [`Cx::diags`] and carries on; a
//! value that fails to check comes back `None` and is treated as absent.

use super::error;
use super::eval::{Env, Eval, Ty, Val};
use super::scope::{self, Catalogue, DeclKind, Scope};
use super::Module;
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{self, Entry, ValueKind};
use std::collections::HashMap;

mod decl;
mod program;
pub(crate) mod sli;
mod template;
mod window;

pub(crate) struct Cx<'a> {
    pub sources: &'a SourceMap,
    pub modules: &'a [Module],
    pub scopes: &'a [Scope],
    pub catalogue: &'a Catalogue,
    pub diags: &'a mut Diagnostics,
    /// Declarations instantiated so far: (module, item).
    pub used: std::collections::HashSet<(usize, usize)>,
    /// Parameter defaults evaluated so far, by (module, item, parameter):
    /// each is evaluated once (a chain of defaults calling two others
    /// would otherwise take exponential time), and one still being
    /// evaluated when it is needed again is a cycle.
    pub defaults: HashMap<(usize, usize, usize), Option<Option<Val>>>,
}

const DAY: u64 = 86_400_000;
pub(crate) const MIN_WINDOW_MS: u64 = 5 * 60_000;
pub(crate) const MAX_WINDOW_MS: u64 = 365 * DAY;

pub(crate) const SERVICE_FIELDS: &[&str] = &["owner", "runbook", "description", "labels", "policy", "scrape_interval"];
pub(crate) const SLO_FIELDS: &[&str] = &[
    "description",
    "objective",
    "budgeting",
    "group_by",
    "labels",
    "annotations",
    "runbook",
    "sli",
    "alerts",
    "policy",
];

/// A field gathered from a block, with the environment it is evaluated in.
#[derive(Clone, Copy)]
pub(crate) struct Got<'a> {
    pub entry: &'a Entry,
    pub env: &'a Env,
}

impl<'a> Got<'a> {
    pub fn value(&self) -> Option<&'a ast::Value> {
        match self.entry {
            Entry::Field(f) => Some(&f.value),
            _ => None,
        }
    }
    pub fn span(&self) -> Span {
        self.entry.span()
    }
}

/// The fields of a block by name: a short vector (blocks have a handful
/// of fields; a map would cost more than it saves).
#[derive(Default)]
pub(crate) struct Fields<'a>(Vec<(&'a str, Got<'a>)>);

impl<'a> Fields<'a> {
    /// Sets a field, replacing an earlier one of the same name (overrides).
    pub fn insert(&mut self, key: &'a str, g: Got<'a>) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = g,
            None => self.0.push((key, g)),
        }
    }
    pub fn get(&self, key: &str) -> Option<&Got<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, g)| g)
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl<'a> std::ops::Index<&str> for Fields<'a> {
    type Output = Got<'a>;
    fn index(&self, key: &str) -> &Got<'a> {
        self.get(key).expect("field checked present")
    }
}

pub(crate) fn entry_key(e: &Entry) -> (&str, Span) {
    match e {
        Entry::Field(f) => (f.name.name.as_str(), f.name.span),
        Entry::Sli(s) => ("sli", s.span),
        Entry::Rule(r) => (if r.kind == ast::RuleKind::Tier { "tier" } else { "threshold" }, r.name.span),
        Entry::When(w) => ("when", w.span),
        Entry::GoodWhen(_, s) => ("good when", *s),
    }
}

/// Shared context data about the SLO an alert or policy is instantiated for.
#[derive(Debug, Clone)]
pub(crate) struct SloCtx {
    pub objective: f64,
    pub window_ms: u64,
    pub span: Span,
}

impl<'a> Cx<'a> {
    pub fn new(
        sources: &'a SourceMap,
        modules: &'a [Module],
        scopes: &'a [Scope],
        catalogue: &'a Catalogue,
        diags: &'a mut Diagnostics,
    ) -> Cx<'a> {
        Cx { sources, modules, scopes, catalogue, diags, used: Default::default(), defaults: Default::default() }
    }

    /// Reports labels slo sets itself on series and alerts.
    /// Reports labels that budget-policy alerts set themselves (`policy`,
    /// `action`, `action_target`): on a policy, or on an SLO (or its
    /// service) that a policy applies to, they would be overwritten.
    pub(crate) fn policy_labels(&mut self, labels: &ir::Labels, span: Span, policy: Option<Span>) {
        for k in labels.keys().filter(|k| POLICY_LABELS.contains(&k.as_str())) {
            let mut d = Diagnostic::error(
                "slo::label::reserved",
                span,
                format!("label `{k}` is set by slo on budget-policy alerts"),
                "reserved on budget-policy alerts",
            )
            .with_help(format!(
                "every budget-policy alert carries `{k}` (the policy, its action and the action's target); rename this label"
            ));
            if let Some(p) = policy {
                d = d.with_related(p, "this budget policy applies to the SLO");
            }
            // A service's label is found once per SLO: report it once.
            let seen = self.diags.0.iter().any(|x| x.code == d.code && x.span == d.span && x.message == d.message);
            if !seen {
                self.diags.push(d);
            }
        }
    }

    /// The span of service `name`'s `labels` field, if it has one.
    pub(crate) fn service_labels_span(&self, name: &str) -> Option<Span> {
        let (m, i) = self.catalogue.services.get(name)?;
        let ast::Item::Service(s) = &self.modules[*m].file.items[*i] else { return None };
        s.body.entries.iter().find_map(|e| match e {
            ast::Entry::Field(f) if f.name.name == "labels" => Some(f.span),
            _ => None,
        })
    }

    pub(crate) fn reserved_labels(&mut self, labels: &ir::Labels, span: Span) -> bool {
        let mut ok = true;
        for k in labels.keys() {
            if RESERVED_LABELS.contains(&k.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        "slo::label::reserved",
                        span,
                        format!("label `{k}` is set by slo itself"),
                        "reserved label",
                    )
                    .with_help(format!("slo adds `{k}` to every series and alert; choose another name")),
                );
                ok = false;
            }
        }
        ok
    }

    /// Collects the fields of a block into `into`, keyed by name. Entries
    /// that are not fields of `allowed` are reported; later blocks (an
    /// instance's overrides) replace earlier ones (the template's).
    pub fn collect<'b>(
        &mut self,
        block: &'b ast::Block,
        env: &'b Env,
        allowed: &[&str],
        context: &str,
        into: &mut Fields<'b>,
    ) {
        self.collect_skipping(block, env, allowed, context, into, |_| false)
    }

    /// [`Cx::collect`], leaving out the entries `skip` picks (a policy's
    /// tiers and rules, which its own loop handles).
    pub(crate) fn collect_skipping<'b>(
        &mut self,
        block: &'b ast::Block,
        env: &'b Env,
        allowed: &[&str],
        context: &str,
        into: &mut Fields<'b>,
        skip: fn(&Entry) -> bool,
    ) {
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for e in block.entries.iter().filter(|e| !skip(e)) {
            let (key, span) = entry_key(e);
            // `tier = 3` is a field named like an entry kind, not a tier.
            let entry_kind = matches!(key, "tier" | "threshold" | "when" | "good when");
            if matches!(e, Entry::Field(_)) && entry_kind {
                self.diags.push(error::misplaced(
                    span,
                    &format!("a field named `{key}`"),
                    context,
                    &format!("`{key}` starts its own entry: write `{key} …` without `=`"),
                ));
                continue;
            }
            if !allowed.contains(&key) {
                match e {
                    Entry::Field(f) => self.diags.push(error::unknown_field(f.name.span, key, context, allowed)),
                    _ => self.diags.push(error::misplaced(
                        span,
                        &format!("`{key}`"),
                        context,
                        &format!(
                            "{context} takes the fields {}",
                            allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                        ),
                    )),
                }
                continue;
            }
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                self.diags.push(error::duplicate_field(span, key, *first));
                continue;
            }
            seen.push((key, span));
            into.insert(key, Got { entry: e, env });
        }
    }

    /// Evaluates a value of any type, including alert and budget policies.
    pub fn value(&mut self, v: &ast::Value, want: Ty, env: &Env) -> Option<Val> {
        if matches!(want, Ty::Alerts | Ty::Policy) {
            let kind = if want == Ty::Alerts { DeclKind::Alerts } else { DeclKind::Policy };
            match &v.kind {
                ValueKind::Call(c) => return self.instantiate(c, kind, env).map(|i| Val::Insts(vec![i])),
                ValueKind::List(items) => {
                    let mut out = Vec::new();
                    let mut ok = true;
                    for it in items {
                        match self.value(it, want, env) {
                            Some(Val::Insts(mut i)) => out.append(&mut i),
                            _ => ok = false,
                        }
                    }
                    return ok.then_some(Val::Insts(out));
                }
                ValueKind::Path(p) if !(p.parts.len() == 1 && env.params.contains_key(&p.parts[0].name)) => {
                    // `alerts = google_28d` without parentheses.
                    if let Some(r) =
                        scope::resolve(self.modules, self.scopes, env.module, p, &mut Diagnostics::default())
                    {
                        if r.kind == kind {
                            self.diags.push(error::mismatch(
                                v.span,
                                want.article(),
                                "a name",
                                Some(format!("call it: `{}()`", p.dotted())),
                            ));
                            return None;
                        }
                    }
                }
                _ => {}
            }
        }
        Eval { diags: self.diags, env }.value(v, want)
    }

    /// The comparisons one condition term stands for: `x op v`, or
    /// `x between a and b` as `x >= a` and `x <= b` (an empty range is
    /// reported). `rhs` evaluates a bound in the quantity's unit.
    pub fn term(
        &mut self,
        term: &ast::Comparison,
        mut rhs: impl FnMut(&mut Self, &ast::Value) -> Option<f64>,
    ) -> Option<Vec<(ir::CmpOp, f64)>> {
        match term {
            ast::Comparison::Compare { op, rhs: r, .. } => Some(vec![(*op, rhs(self, r)?)]),
            ast::Comparison::Between { low, high, span, .. } => {
                let (a, b) = (rhs(self, low), rhs(self, high));
                let (a, b) = (a?, b?);
                if a >= b {
                    self.diags.push(empty_range(*span));
                    return None;
                }
                Some(vec![(ir::CmpOp::Ge, a), (ir::CmpOp::Le, b)])
            }
        }
    }
}

/// Labels budget-policy alerts carry besides [`RESERVED_LABELS`].
pub(crate) const POLICY_LABELS: &[&str] = &["policy", "action", "action_target"];

pub(crate) const RESERVED_LABELS: &[&str] =
    &["slo", "service", "severity", "alertname", "receiver", "le", "objective", "window", "long_window"];

pub fn empty_range(span: Span) -> Diagnostic {
    Diagnostic::error(
        "slo::cond::empty_range",
        span,
        "this range is empty",
        "the lower bound is not below the upper bound",
    )
    .with_help("write the smaller bound first: `x between 10% and 30%`")
}
