//! Every name in the project and what it denotes: one pass over the ASTs
//! that records each occurrence (definition, reference, or a local alias)
//! of a template, alert or budget policy, template parameter, service, SLO
//! or imported module. Go to definition, find references, rename, hover
//! and semantic tokens all read this one table.
//!
//! Names resolve as the checker resolves them: through the module's
//! namespace ([`crate::sema::scope`], the same tables `slo check` builds),
//! and the global catalogue of services and SLOs.

use crate::sema::scope::{self, Scope};
use crate::sema::Module;
use crate::source::{SourceId, Span};
use crate::syntax::ast;
use std::collections::{HashMap, HashSet};

/// What a name denotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A template, alert policy or reusable budget policy: (module, item).
    Decl {
        module: usize,
        item: usize,
    },
    /// A parameter of such a declaration.
    Param {
        module: usize,
        item: usize,
        name: String,
    },
    Service(String),
    /// (service, SLO)
    Slo(String, String),
    /// An imported module (a file or a stdlib module).
    Module(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Def,
    Ref,
    /// A local name for it (`import … .{pyrra as fast}`, `import std.alerting`
    /// → `alerting`): it points there but is not renamed with it.
    Alias,
}

#[derive(Debug, Clone)]
pub struct Occ {
    pub span: Span,
    pub target: Target,
    pub role: Role,
}

#[derive(Debug, Default)]
pub struct Index {
    pub occs: Vec<Occ>,
    /// Occurrences of each source, by start.
    by_source: HashMap<SourceId, Vec<usize>>,
    /// First definition of each service and SLO.
    defs: HashMap<Target, Span>,
}

impl Index {
    pub fn build(modules: &[Module]) -> (Index, Vec<Scope>) {
        let mut sink = crate::diag::Diagnostics::default();
        let scopes = scope::build(modules, &mut sink);
        let mut services = HashSet::new();
        let mut slos = HashSet::new();
        for m in modules {
            for item in &m.file.items {
                match item {
                    ast::Item::Service(s) => {
                        services.insert(s.name.name.clone());
                    }
                    ast::Item::Slo(s) => {
                        slos.insert((s.service.name.clone(), s.name.name.clone()));
                    }
                    _ => {}
                }
            }
        }
        let mut w =
            Walker { modules, scopes: &scopes, services: &services, slos: &slos, out: vec![], mi: 0, params: None };
        for (mi, m) in modules.iter().enumerate() {
            w.mi = mi;
            w.module(m);
        }
        let mut index = Index { occs: w.out, ..Index::default() };
        for (i, o) in index.occs.iter().enumerate() {
            index.by_source.entry(o.span.source).or_default().push(i);
            if o.role == Role::Def {
                index.defs.entry(o.target.clone()).or_insert(o.span);
            }
        }
        for v in index.by_source.values_mut() {
            v.sort_by_key(|&i| (index.occs[i].span.start, index.occs[i].span.end));
        }
        (index, scopes)
    }

    /// The innermost occurrence at byte `offset` of `source` (its end included, for a cursor just after a name).
    pub fn at(&self, source: SourceId, offset: usize) -> Option<&Occ> {
        let ids = self.by_source.get(&source)?;
        ids.iter()
            .map(|&i| &self.occs[i])
            .filter(|o| o.span.start as usize <= offset && offset <= o.span.end as usize)
            .min_by_key(|o| o.span.end - o.span.start)
    }

    /// Occurrences in one source, in order.
    pub fn in_source(&self, source: SourceId) -> impl Iterator<Item = &Occ> {
        self.by_source.get(&source).into_iter().flatten().map(|&i| &self.occs[i])
    }

    /// Where `t` is defined.
    pub fn definition(&self, modules: &[Module], t: &Target) -> Option<Span> {
        match t {
            Target::Module(m) => modules.get(*m).map(|m| Span::new(m.source, 0, 0)),
            _ => self.defs.get(t).copied(),
        }
    }

    /// Every occurrence of `t`.
    pub fn references<'a>(&'a self, t: &'a Target) -> impl Iterator<Item = &'a Occ> + 'a {
        self.occs.iter().filter(move |o| &o.target == t)
    }
}

/// The name `t` is declared under.
pub fn name_of(modules: &[Module], t: &Target) -> Option<String> {
    match t {
        Target::Decl { module, item } => {
            modules.get(*module)?.file.items.get(*item).and_then(scope::decl_of).map(|(n, _)| n.name.clone())
        }
        Target::Param { name, .. } => Some(name.clone()),
        Target::Service(s) => Some(s.clone()),
        Target::Slo(_, n) => Some(n.clone()),
        Target::Module(m) => modules.get(*m).map(|m| m.name.clone()),
    }
}

/// The parameters of a declaration item.
pub fn params_of(item: &ast::Item) -> &[ast::Param] {
    match item {
        ast::Item::Template(t) => &t.params,
        ast::Item::Alerts(a) => a.params.as_deref().unwrap_or(&[]),
        ast::Item::Policy(p) => p.params.as_deref().unwrap_or(&[]),
        _ => &[],
    }
}

struct Walker<'a> {
    modules: &'a [Module],
    scopes: &'a [Scope],
    services: &'a HashSet<String>,
    slos: &'a HashSet<(String, String)>,
    out: Vec<Occ>,
    mi: usize,
    /// The declaration whose body is being walked: (item, its parameters).
    params: Option<(usize, &'a [ast::Param])>,
}

impl<'a> Walker<'a> {
    fn push(&mut self, span: Span, target: Target, role: Role) {
        self.out.push(Occ { span, target, role });
    }

    /// A reference by `ident`: an alias when it spells another name than the target's own.
    fn reference(&mut self, ident: &ast::Ident, target: Target) {
        let role = match name_of(self.modules, &target) {
            Some(n) if n != ident.name => Role::Alias,
            _ => Role::Ref,
        };
        self.push(ident.span, target, role);
    }

    fn module(&mut self, m: &'a Module) {
        let mut import_no = 0;
        for (ii, item) in m.file.items.iter().enumerate() {
            self.params = None;
            match item {
                ast::Item::Import(imp) => {
                    let target = m.imports.get(import_no).copied().flatten();
                    import_no += 1;
                    self.import(imp, target);
                }
                ast::Item::Service(s) => {
                    self.push(s.name.span, Target::Service(s.name.name.clone()), Role::Def);
                    self.block(&s.body);
                }
                ast::Item::Slo(s) => {
                    self.push(s.name.span, Target::Slo(s.service.name.clone(), s.name.name.clone()), Role::Def);
                    if self.services.contains(&s.service.name) {
                        self.push(s.service.span, Target::Service(s.service.name.clone()), Role::Ref);
                    }
                    match &s.body {
                        ast::SloBody::Block(b) => self.block(b),
                        ast::SloBody::Instance { call, overrides } => {
                            self.call(call);
                            if let Some(b) = overrides {
                                self.block(b);
                            }
                        }
                    }
                }
                ast::Item::Template(_) | ast::Item::Alerts(_) | ast::Item::Policy(_) => {
                    let ps = params_of(item);
                    if let Some((name, _)) = scope::decl_of(item) {
                        self.push(name.span, Target::Decl { module: self.mi, item: ii }, Role::Def);
                    }
                    for p in ps {
                        let t = Target::Param { module: self.mi, item: ii, name: p.name.name.clone() };
                        self.push(p.name.span, t, Role::Def);
                        if let Some(d) = &p.default {
                            self.value(d);
                        }
                    }
                    if let ast::Item::Policy(p) = item {
                        if let Some(t) = &p.target {
                            self.slo_path(t);
                        }
                    }
                    self.params = Some((ii, ps));
                    let body = match item {
                        ast::Item::Template(t) => &t.body,
                        ast::Item::Alerts(a) => &a.body,
                        ast::Item::Policy(p) => &p.body,
                        _ => unreachable!("matched above"),
                    };
                    self.block(body);
                }
            }
        }
    }

    fn import(&mut self, imp: &ast::Import, target: Option<usize>) {
        let Some(t) = target else { return };
        let span = match &imp.source {
            ast::ImportSource::Std(_, span) => *span,
            ast::ImportSource::File(s) => s.span,
        };
        self.push(span, Target::Module(t), Role::Ref);
        if let Some(names) = &imp.names {
            for n in names {
                if let Some((r, _)) = self.scopes[t].exports.get(&n.name.name) {
                    let target = Target::Decl { module: r.module, item: r.item };
                    self.push(n.name.span, target.clone(), Role::Ref);
                    if let Some(a) = &n.alias {
                        self.push(a.span, target, Role::Alias);
                    }
                }
            }
        }
        if let Some(a) = &imp.alias {
            self.push(a.span, Target::Module(t), Role::Alias);
        }
    }

    /// `svc` or `svc.slo` (policy targets, composite components).
    fn slo_path(&mut self, p: &ast::Path) {
        match p.parts.as_slice() {
            [svc] if self.services.contains(&svc.name) => {
                self.push(svc.span, Target::Service(svc.name.clone()), Role::Ref);
            }
            [svc, slo] => {
                if self.services.contains(&svc.name) {
                    self.push(svc.span, Target::Service(svc.name.clone()), Role::Ref);
                }
                if self.slos.contains(&(svc.name.clone(), slo.name.clone())) {
                    self.push(slo.span, Target::Slo(svc.name.clone(), slo.name.clone()), Role::Ref);
                }
            }
            _ => {}
        }
    }

    fn param(&self, name: &str) -> Option<Target> {
        let (item, ps) = self.params?;
        ps.iter().any(|p| p.name.name == name).then(|| Target::Param { module: self.mi, item, name: name.to_string() })
    }

    /// A name in value position; the declaration it resolves to, if any.
    fn path(&mut self, p: &ast::Path) -> Option<Target> {
        let scope = &self.scopes[self.mi];
        match p.parts.as_slice() {
            [name] => {
                if let Some(t) = self.param(&name.name) {
                    self.push(name.span, t, Role::Ref);
                    return None;
                }
                let r = scope.names.get(&name.name)?;
                let t = Target::Decl { module: r.module, item: r.item };
                self.reference(name, t.clone());
                Some(t)
            }
            [alias, name] => {
                if let Some(&m) = scope.aliases.get(&alias.name) {
                    self.push(alias.span, Target::Module(m), Role::Alias);
                    let (r, _) = self.scopes[m].exports.get(&name.name)?;
                    let t = Target::Decl { module: r.module, item: r.item };
                    self.reference(name, t.clone());
                    return Some(t);
                }
                self.slo_path(p);
                None
            }
            _ => None,
        }
    }

    fn call(&mut self, c: &ast::Call) {
        let callee = self.path(&c.callee);
        for a in &c.args {
            if let (Some(n), Some(Target::Decl { module, item })) = (&a.name, &callee) {
                let has = self.modules[*module]
                    .file
                    .items
                    .get(*item)
                    .is_some_and(|it| params_of(it).iter().any(|p| p.name.name == n.name));
                if has {
                    let t = Target::Param { module: *module, item: *item, name: n.name.clone() };
                    self.push(n.span, t, Role::Ref);
                }
            }
            self.value(&a.value);
        }
    }

    fn block(&mut self, b: &ast::Block) {
        for e in &b.entries {
            match e {
                ast::Entry::Field(f) => self.value(&f.value),
                ast::Entry::Sli(s) => self.block(&s.body),
                ast::Entry::Rule(r) => self.block(&r.body),
                ast::Entry::When(w) => {
                    self.cond(&w.cond);
                    for a in &w.actions {
                        if let Some(v) = &a.arg {
                            self.value(v);
                        }
                    }
                }
                ast::Entry::GoodWhen(c, _) => self.cond(c),
            }
        }
    }

    fn cond(&mut self, c: &ast::Cond) {
        for t in &c.terms {
            match t {
                ast::Comparison::Compare { lhs, rhs, .. } => {
                    self.value(lhs);
                    self.value(rhs);
                }
                ast::Comparison::Between { lhs, low, high, .. } => {
                    self.value(lhs);
                    self.value(low);
                    self.value(high);
                }
            }
        }
    }

    fn value(&mut self, v: &ast::Value) {
        match &v.kind {
            ast::ValueKind::List(vs) => vs.iter().for_each(|v| self.value(v)),
            ast::ValueKind::Map(es) => {
                for e in es {
                    if let ast::MapKey::Path(p) = &e.key {
                        if p.parts.len() == 2 {
                            self.slo_path(p);
                        }
                    }
                    self.value(&e.value);
                }
            }
            ast::ValueKind::Call(c) => self.call(c),
            ast::ValueKind::Selector(s) => {
                if let Some(m) = &s.metric {
                    if let Some(t) = self.param(&m.name) {
                        self.push(m.span, t, Role::Ref);
                    }
                }
                for m in &s.matchers {
                    if let ast::MatcherValue::Param(id) = &m.value {
                        if let Some(t) = self.param(&id.name) {
                            self.push(id.span, t, Role::Ref);
                        }
                    }
                }
            }
            ast::ValueKind::Path(p) => {
                self.path(p);
            }
            ast::ValueKind::Over(a, w) => {
                self.value(a);
                if let ast::Window::Value(w) = w.as_ref() {
                    self.value(w);
                }
            }
            ast::ValueKind::OfBudget(a) => self.value(a),
            ast::ValueKind::Pair(a, b) => {
                self.value(a);
                self.value(b);
            }
            ast::ValueKind::Number(_)
            | ast::ValueKind::Percent(_)
            | ast::ValueKind::Factor(_)
            | ast::ValueKind::Duration(_)
            | ast::ValueKind::Rate(_)
            | ast::ValueKind::String(_)
            | ast::ValueKind::Bool(_) => {}
        }
    }
}
