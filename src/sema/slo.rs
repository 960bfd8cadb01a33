//! Lowering of services and SLOs: template expansion, field checking, SLIs.

use super::error;
use super::eval::{self, Bound, Env, Eval, Inst, Ty, Val};
use super::scope::{self, Catalogue, DeclKind, DeclRef, Scope};
use super::Module;
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{self, Entry, ValueKind};
use std::collections::HashMap;

pub struct Cx<'a> {
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
pub const MIN_WINDOW_MS: u64 = 5 * 60_000;
pub const MAX_WINDOW_MS: u64 = 365 * DAY;

pub const SERVICE_FIELDS: &[&str] = &["owner", "runbook", "description", "labels", "policy", "scrape_interval"];
pub const SLO_FIELDS: &[&str] = &[
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
pub struct Got<'a> {
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
pub struct Fields<'a>(Vec<(&'a str, Got<'a>)>);

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

pub fn entry_key(e: &Entry) -> (&str, Span) {
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
pub struct SloCtx {
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
    pub fn reserved_labels(&mut self, labels: &ir::Labels, span: Span) -> bool {
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
    pub fn collect_skipping<'b>(
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

    /// Resolves and binds a call to a template, alert policy or budget policy.
    pub fn instantiate(&mut self, call: &ast::Call, kind: DeclKind, env: &Env) -> Option<Inst> {
        let r = scope::resolve(self.modules, self.scopes, env.module, &call.callee, self.diags)?;
        self.used.insert((r.module, r.item));
        if r.kind != kind {
            self.diags.push(error::mismatch(
                call.callee.span,
                kind.describe(),
                r.kind.describe(),
                Some(format!("`{}` is {}", call.callee.dotted(), r.kind.describe())),
            ));
            return None;
        }
        let params: &[ast::Param] = match &self.modules[r.module].file.items[r.item] {
            ast::Item::Template(t) => &t.params,
            ast::Item::Alerts(a) => a.params.as_deref().unwrap_or(&[]),
            ast::Item::Policy(p) => p.params.as_deref().unwrap_or(&[]),
            _ => &[],
        };
        let args = self.bind(params, r, call, env)?;
        Some(Inst { decl: r, args: args.into(), span: call.span })
    }

    /// The value of a parameter's default (evaluated in its module).
    fn default_value(
        &mut self,
        decl: DeclRef,
        i: usize,
        p: &ast::Param,
        d: &ast::Value,
        ty: Ty,
        env: &Env,
    ) -> Option<Val> {
        let key = (decl.module, decl.item, i);
        match self.defaults.get(&key) {
            Some(Some(v)) => return v.clone(),
            Some(None) => {
                self.diags.push(
                    Diagnostic::error(
                        "slo::template::recursive_default",
                        d.span,
                        format!("the default of `{}` needs itself", p.name.name),
                        "this default instantiates the declaration it belongs to",
                    )
                    .with_help("a parameter's default cannot call its own declaration, directly or through others; give a plain default"),
                );
                return None;
            }
            None => {}
        }
        self.defaults.insert(key, None);
        let v = self.value(d, ty, env);
        self.defaults.insert(key, Some(v.clone()));
        v
    }

    fn param_types(&mut self, params: &[ast::Param]) -> Option<Vec<Ty>> {
        let mut out = Vec::new();
        let mut ok = true;
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in params {
            if let Some(first) = seen.get(p.name.name.as_str()) {
                self.diags.push(error::duplicate(p.name.span, "parameter", &p.name.name, *first));
                ok = false;
            }
            seen.insert(&p.name.name, p.name.span);
            match Ty::from_name(&p.ty.name) {
                Some(t) => out.push(t),
                None => {
                    let names: Vec<&str> = Ty::NAMES.iter().map(|(n, _)| *n).collect();
                    self.diags.push(error::unknown_type(p.ty.span, &p.ty.name, &names));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Binds call arguments to parameters: named or positional, defaults
    /// applied, each type-checked in the caller's environment.
    fn bind(
        &mut self,
        params: &[ast::Param],
        decl: DeclRef,
        call: &ast::Call,
        env: &Env,
    ) -> Option<HashMap<String, Bound>> {
        let tys = self.param_types(params)?;
        let mut given: HashMap<usize, &ast::Arg> = HashMap::new();
        let mut ok = true;
        let mut seen_named = false;
        for (pos, a) in call.args.iter().enumerate() {
            let idx = match &a.name {
                Some(n) => {
                    seen_named = true;
                    match params.iter().position(|p| p.name.name == n.name) {
                        Some(i) => i,
                        None => {
                            let names: Vec<&str> = params.iter().map(|p| p.name.name.as_str()).collect();
                            let d = Diagnostic::error(
                                "slo::template::unknown_arg",
                                n.span,
                                format!("`{}` has no parameter `{}`", call.callee.dotted(), n.name),
                                "unknown parameter",
                            );
                            let d = match error::suggest(&n.name, names.iter().copied()) {
                                Some(s) => d.with_help(s),
                                None if names.is_empty() => d.with_help("it takes no parameters"),
                                None => d.with_help(format!(
                                    "its parameters are {}",
                                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                                )),
                            };
                            self.diags.push(d);
                            ok = false;
                            continue;
                        }
                    }
                }
                None => {
                    if seen_named {
                        self.diags.push(
                            Diagnostic::error(
                                "slo::template::positional_after_named",
                                a.span,
                                "positional argument after a named one",
                                "give this argument a name",
                            )
                            .with_help("write `name: value` for every argument after the first named one"),
                        );
                        ok = false;
                        continue;
                    }
                    if pos >= params.len() {
                        self.diags.push(
                            Diagnostic::error(
                                "slo::template::too_many_args",
                                a.span,
                                format!(
                                    "`{}` takes {} argument{}",
                                    call.callee.dotted(),
                                    params.len(),
                                    if params.len() == 1 { "" } else { "s" }
                                ),
                                "one argument too many",
                            )
                            .with_help("remove the extra arguments"),
                        );
                        ok = false;
                        continue;
                    }
                    pos
                }
            };
            if let Some(prev) = given.get(&idx) {
                self.diags.push(error::duplicate(a.span, "argument", &params[idx].name.name, prev.span));
                ok = false;
                continue;
            }
            given.insert(idx, a);
        }
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        let def_env = Env { module: decl.module, params: Default::default() };
        for (i, (p, ty)) in params.iter().zip(&tys).enumerate() {
            let val = match (given.get(&i), &p.default) {
                (Some(a), _) => self.value(&a.value, *ty, env),
                (None, Some(d)) => self.default_value(decl, i, p, d, *ty, &def_env),
                (None, None) => {
                    missing.push(p.name.name.clone());
                    None
                }
            };
            match val {
                Some(v) => {
                    out.insert(p.name.name.clone(), Bound { val: v, ty: *ty });
                }
                None => ok = false,
            }
        }
        if !missing.is_empty() {
            let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
            let example = missing.iter().map(|m| format!("{m}: …")).collect::<Vec<_>>().join(", ");
            let decl_span = match &self.modules[decl.module].file.items[decl.item] {
                ast::Item::Template(t) => t.name.span,
                ast::Item::Alerts(a) => a.name.span,
                ast::Item::Policy(p) => p.name.span,
                other => other.span(),
            };
            self.diags.push(
                Diagnostic::error(
                    "slo::template::missing_arg",
                    call.span,
                    format!("`{}` needs {list}", call.callee.dotted()),
                    format!("missing {list}"),
                )
                .with_help(format!("pass them: `{}({example})`", call.callee.dotted()))
                .with_related(decl_span, "declared here"),
            );
        }
        ok.then_some(out)
    }

    /// Problems found while instantiating a stdlib declaration for this
    /// SLO are the user's: point the report at their call, and show the
    /// stdlib line as the secondary site.
    fn point_at_use(&mut self, since: usize, use_site: Span) {
        for d in &mut self.diags.0[since..] {
            if self.sources.get(d.span.source).origin == crate::source::Origin::Stdlib {
                let inner = (d.span, std::mem::take(&mut d.label));
                d.related.retain(|(sp, _)| sp.source != use_site.source || *sp != use_site);
                d.related.insert(0, (inner.0, format!("in the stdlib: {}", inner.1)));
                d.span = use_site;
                d.label = "this use of a stdlib declaration fails for this SLO".into();
            }
        }
    }

    // ------------------------------------------------------------ program

    pub fn lower_program(&mut self) -> ir::Program {
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
    pub fn check_unused(&mut self) {
        let stand_in = ir::Service {
            name: String::new(),
            owner: None,
            runbook: None,
            description: None,
            labels: Default::default(),
            scrape_interval_ms: ir::DEFAULT_SCRAPE_INTERVAL_MS,
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
        let mut scrape_interval_ms = ir::DEFAULT_SCRAPE_INTERVAL_MS;
        if let Some(g) = f.get("scrape_interval") {
            match g.value().and_then(|v| self.value(v, Ty::Duration, g.env).map(|x| (v, x))) {
                Some((_, Val::Dur(ms))) if (1_000..=3_600_000).contains(&ms) => scrape_interval_ms = ms,
                Some((v, Val::Dur(ms))) => self.diags.push(error::out_of_range(
                    "slo::scrape::range",
                    v.span,
                    format!("a scrape interval of {} is outside 1s..1h", eval::fmt_duration(ms)),
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
            scrape_interval_ms,
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

    fn lower_slo(
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
            scrape_interval_ms: ir::DEFAULT_SCRAPE_INTERVAL_MS,
            span: d.service.span,
        };
        let service = service.unwrap_or(&placeholder);

        // objective
        let (objective, window) = match f.get("objective") {
            Some(g) => match self.objective(g) {
                Some(o) => o,
                None => {
                    ok = false;
                    (0.99, ir::Window::Rolling { ms: 28 * DAY })
                }
            },
            None => {
                self.diags.push(error::missing_field(d.name.span, "objective", &context, "objective = 99.9% over 28d"));
                ok = false;
                (0.99, ir::Window::Rolling { ms: 28 * DAY })
            }
        };
        let window_ms = window.nominal_ms();

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
        for (key, target) in [("labels", &mut labels), ("annotations", &mut annotations)] {
            if let Some(g) = f.get(key) {
                let Some(v) = g.value() else { continue };
                match self.value(v, Ty::Labels, g.env) {
                    Some(Val::Labels(l)) => {
                        if key == "labels" && !self.reserved_labels(&l, v.span) {
                            ok = false;
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
            (None, Some(ir::Sli::Timeslices { slice_ms, .. })) => {
                ir::Budgeting::Timeslices { slice_ms: *slice_ms, target: 1.0 }
            }
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
            (None, _) => ir::Budgeting::Occurrences,
            (Some(g), _) => match self.budgeting(g, window_ms) {
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
        let mut names: HashMap<String, ()> = HashMap::new();
        for a in &alerts {
            if names.insert(a.name.clone(), ()).is_some() {
                self.diags.push(
                    Diagnostic::error(
                        "slo::alert::duplicate_name",
                        f["alerts"].span(),
                        format!("two alerts of this SLO are named `{}`", a.name),
                        "these policies overlap",
                    )
                    .with_help("each alert of an SLO needs its own name: rename a tier or drop one of the policies"),
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

    fn objective(&mut self, g: &Got) -> Option<(f64, ir::Window)> {
        let v = g.value()?;
        let ValueKind::Over(target, window) = &v.kind else {
            let mut d = error::mismatch(v.span, "an objective with a window", eval::found(v), None);
            d.code = "slo::objective::no_window";
            let example = match &v.kind {
                ValueKind::Percent(l) => format!("objective = {} over 28d", l.text),
                _ => "objective = 99.9% over 28d".into(),
            };
            self.diags.push(d.with_help(format!("say over which window: `{example}`")));
            return None;
        };
        let t = match self.value(target, Ty::Percent, g.env) {
            Some(Val::Pct(x)) => Some(x),
            _ => None,
        };
        if let Some(x) = t {
            if x <= 0.0 || x >= 1.0 {
                self.diags.push(error::out_of_range(
                    "slo::objective::range",
                    target.span,
                    format!(
                        "objective {} leaves {}",
                        eval::fmt_pct(x),
                        if x >= 1.0 { "no error budget" } else { "no room for success" }
                    ),
                    "must be strictly between 0% and 100%",
                    if x >= 1.0 {
                        "100% allows no failure at all, so every burn rate is infinite; use e.g. 99.99%"
                    } else {
                        "an objective of 0% is always met; use a real target like 99%"
                    },
                ));
                return None;
            }
        }
        let w = self.window(window, g.env);
        Some((t?, w?))
    }

    pub fn window(&mut self, w: &ast::Window, env: &Env) -> Option<ir::Window> {
        match w {
            ast::Window::Value(v) => {
                let Some(Val::Dur(ms)) = self.value(v, Ty::Duration, env) else { return None };
                if !(MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&ms) {
                    self.diags.push(error::out_of_range(
                        "slo::window::range",
                        v.span,
                        format!("an SLO window of {} is out of range", eval::fmt_duration(ms)),
                        "must be between 5m and 1y",
                        "SLO windows run from 5m to 1y; 28d or 30d are common",
                    ));
                    return None;
                }
                Some(ir::Window::Rolling { ms })
            }
            ast::Window::Calendar { unit, tz, .. } => {
                let u = match unit.name.as_str() {
                    "week" => Some(ir::CalendarUnit::Week),
                    "month" => Some(ir::CalendarUnit::Month),
                    "quarter" => Some(ir::CalendarUnit::Quarter),
                    other => {
                        let mut d = Diagnostic::error(
                            "slo::window::calendar_unit",
                            unit.span,
                            format!("`{other}` is not a calendar period"),
                            "unknown period",
                        );
                        d = match error::suggest(other, ["week", "month", "quarter"]) {
                            Some(s) => d.with_help(s),
                            None => d.with_help(
                                "calendar windows are `week`, `month` or `quarter`; for a year use a rolling `365d`",
                            ),
                        };
                        self.diags.push(d);
                        None
                    }
                };
                let tz = match tz {
                    None => Some("UTC".to_string()),
                    Some(s) => {
                        match jiff::tz::TimeZone::get(&s.value) {
                            // The database's own spelling ("europe/berlin" → "Europe/Berlin").
                            Ok(zone) => Some(zone.iana_name().unwrap_or(&s.value).to_string()),
                            Err(_) => {
                                let d = Diagnostic::error(
                                    "slo::window::time_zone",
                                    s.span,
                                    format!("unknown time zone \"{}\"", s.value),
                                    "not in the IANA time zone database",
                                );
                                let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
                                let d = match error::suggest(&s.value, names.iter().map(String::as_str)) {
                                Some(h) => d.with_help(h),
                                None => d.with_help("use an IANA name such as \"Europe/Berlin\" or \"America/New_York\", or \"UTC\""),
                            };
                                self.diags.push(d);
                                None
                            }
                        }
                    }
                };
                Some(ir::Window::Calendar { unit: u?, tz: tz? })
            }
        }
    }

    fn slice(&mut self, v: &ast::Value, env: &Env, window_ms: Option<u64>) -> Option<u64> {
        let Some(Val::Dur(ms)) = self.value(v, Ty::Duration, env) else { return None };
        if ms < 60_000 {
            self.diags.push(error::out_of_range(
                "slo::timeslice::too_short",
                v.span,
                format!("a timeslice of {} is shorter than 1m", eval::fmt_duration(ms)),
                "too short",
                "a slice needs several scrapes to judge; use 1m or more",
            ));
            return None;
        }
        if let Some(w) = window_ms {
            if w % ms != 0 {
                self.diags.push(error::out_of_range(
                    "slo::timeslice::not_divisor",
                    v.span,
                    format!(
                        "{} slices do not divide the {} window evenly",
                        eval::fmt_duration(ms),
                        eval::fmt_duration(w)
                    ),
                    "does not divide the window",
                    "pick a slice length that divides the SLO window (1m, 5m, 10m, 1h…)",
                ));
                return None;
            }
        }
        Some(ms)
    }

    fn budgeting(&mut self, g: &Got, window_ms: u64) -> Option<ir::Budgeting> {
        let v = g.value()?;
        let help = "write `occurrences`, `timeslices(1m, 95%)` or `ratio_timeslices(5m)`";
        match &v.kind {
            ValueKind::Path(p) if p.dotted() == "occurrences" => Some(ir::Budgeting::Occurrences),
            ValueKind::Call(c) if matches!(c.callee.dotted().as_str(), "timeslices" | "ratio_timeslices") => {
                let ratio = c.callee.dotted() == "ratio_timeslices";
                let want = if ratio { 1 } else { 2 };
                if c.args.len() != want {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::budgeting::args",
                            c.span,
                            format!(
                                "`{}` takes {want} argument{}",
                                c.callee.dotted(),
                                if want == 1 { "" } else { "s" }
                            ),
                            "wrong number of arguments",
                        )
                        .with_help(help),
                    );
                    return None;
                }
                let slice = self.slice(&c.args[0].value, g.env, Some(window_ms));
                if ratio {
                    return Some(ir::Budgeting::RatioTimeslices { slice_ms: slice? });
                }
                let target = match self.value(&c.args[1].value, Ty::Percent, g.env) {
                    Some(Val::Pct(x)) if x > 0.0 => Some(x),
                    Some(_) => {
                        self.diags.push(error::out_of_range(
                            "slo::budgeting::target",
                            c.args[1].value.span,
                            "a slice target of 0% makes every slice good".into(),
                            "must be above 0%",
                            "use the share of good events a slice needs, e.g. 95%",
                        ));
                        None
                    }
                    None => None,
                };
                Some(ir::Budgeting::Timeslices { slice_ms: slice?, target: target? })
            }
            _ => {
                let name = match &v.kind {
                    ValueKind::Path(p) => Some(p.dotted()),
                    ValueKind::Call(c) => Some(c.callee.dotted()),
                    _ => None,
                };
                let mut d = Diagnostic::error(
                    "slo::budgeting::unknown",
                    v.span,
                    "unknown budgeting method",
                    "not a budgeting method",
                );
                // The right name in the wrong form gets told the form.
                let form = match (name.as_deref(), &v.kind) {
                    (Some("timeslices"), ValueKind::Path(_)) => {
                        Some("`timeslices` takes a slice and a target: `timeslices(1m, 95%)`".to_string())
                    }
                    (Some("ratio_timeslices"), ValueKind::Path(_)) => {
                        Some("`ratio_timeslices` takes a slice: `ratio_timeslices(5m)`".to_string())
                    }
                    (Some("occurrences"), ValueKind::Call(_)) => {
                        Some("`occurrences` takes no arguments: write `occurrences`".to_string())
                    }
                    _ => None,
                };
                d = match form.or_else(|| {
                    name.and_then(|n| error::suggest(&n, ["occurrences", "timeslices", "ratio_timeslices"]))
                }) {
                    Some(s) => d.with_help(s),
                    None => d.with_help(help),
                };
                self.diags.push(d);
                None
            }
        }
    }

    // ------------------------------------------------------------ SLIs

    fn sli(&mut self, s: &ast::SliBlock, env: &Env, window_ms: u64) -> Option<ir::Sli> {
        const KINDS: [&str; 5] = ["events", "latency", "gauge", "timeslices", "composite"];
        let kind = s.kind.name.as_str();
        if !KINDS.contains(&kind) {
            let mut d = Diagnostic::error(
                "slo::sli::unknown_kind",
                s.kind.span,
                format!("unknown SLI kind `{kind}`"),
                "not an SLI kind",
            );
            d = match error::suggest(kind, KINDS) {
                Some(h) => d.with_help(h),
                None => d.with_help("SLI kinds: `events`, `latency`, `gauge`, `timeslices`, `composite`"),
            };
            self.diags.push(d);
            return None;
        }
        if let Some(arg) = &s.arg {
            if kind != "timeslices" {
                self.diags.push(
                    Diagnostic::error(
                        "slo::sli::argument",
                        arg.span,
                        format!("`sli {kind}` takes no slice length"),
                        "unexpected duration",
                    )
                    .with_help("only `sli timeslices 1m { … }` has a slice length"),
                );
                return None;
            }
        }
        let fields: &[&str] = match kind {
            "events" => &["good", "bad", "total"],
            "latency" => &["histogram", "below"],
            "gauge" => &["series"],
            "timeslices" => &["good when"],
            _ => &["combine", "of"],
        };
        let context = format!("`sli {kind}`");
        let mut f = Fields::default();
        self.collect(&s.body, env, fields, &context, &mut f);
        let sel = |cx: &mut Self, key: &str| -> Option<Option<ir::Selector>> {
            match f.get(key) {
                None => Some(None),
                Some(g) => match cx.value(g.value()?, Ty::Selector, g.env) {
                    Some(Val::Selector(s)) => Some(Some(s)),
                    _ => None,
                },
            }
        };
        match kind {
            "events" => {
                let good = sel(self, "good");
                let bad = sel(self, "bad");
                let total = sel(self, "total");
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
                            &context,
                            "bad = http_requests_total{code=~\"5..\"}",
                        ));
                        return None;
                    }
                };
                let Some(total) = total? else {
                    self.diags.push(error::missing_field(
                        s.kind.span,
                        "total",
                        &context,
                        "total = http_requests_total{job=\"api\"}",
                    ));
                    return None;
                };
                Some(ir::Sli::Events { numerator, total })
            }
            "latency" => {
                let h = sel(self, "histogram");
                let below = match f.get("below") {
                    Some(g) => match self.value(g.value()?, Ty::Latency, g.env) {
                        Some(Val::Dur(ms)) => Some(ms as f64 / 1000.0),
                        _ => None,
                    },
                    None => {
                        self.diags.push(error::missing_field(s.kind.span, "below", &context, "below = 500ms"));
                        None
                    }
                };
                let Some(histogram) = h? else {
                    self.diags.push(error::missing_field(
                        s.kind.span,
                        "histogram",
                        &context,
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
                                .with_help(format!(
                                    "write `{base}`: slo reads `{base}_bucket` and `{base}_count` itself"
                                )),
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
            "gauge" => match sel(self, "series")? {
                Some(series) => Some(ir::Sli::Gauge { series }),
                None => {
                    self.diags.push(error::missing_field(
                        s.kind.span,
                        "series",
                        &context,
                        "series = probe_success{job=\"blackbox\"}",
                    ));
                    None
                }
            },
            "timeslices" => {
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
                        &context,
                        "good when rate(http_requests_total{job=\"api\"}) >= 100/s",
                    ));
                    return None;
                };
                let good = self.slice_cond(cond, cenv);
                Some(ir::Sli::Timeslices { slice_ms: slice?, good: good? })
            }
            _ => self.composite(s, &f),
        }
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

    fn composite(&mut self, s: &ast::SliBlock, f: &Fields) -> Option<ir::Sli> {
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

pub const RESERVED_LABELS: &[&str] =
    &["slo", "service", "severity", "alertname", "receiver", "le", "objective", "window"];

pub fn empty_range(span: Span) -> Diagnostic {
    Diagnostic::error(
        "slo::cond::empty_range",
        span,
        "this range is empty",
        "the lower bound is not below the upper bound",
    )
    .with_help("write the smaller bound first: `x between 10% and 30%`")
}
