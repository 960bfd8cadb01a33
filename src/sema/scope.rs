//! Namespaces: what a name means in each module, and the global catalogue
//! of services and SLOs.

use super::error;
use super::Module;
use crate::diag::Diagnostics;
use crate::source::Span;
use crate::syntax::ast;
use std::collections::{BTreeMap, HashMap};

/// A template, alert policy or budget policy: (module index, item index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclRef {
    pub module: usize,
    pub item: usize,
    pub kind: DeclKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    Template,
    Alerts,
    Policy,
}

impl DeclKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            DeclKind::Template => "an SLO template",
            DeclKind::Alerts => "an alert policy",
            DeclKind::Policy => "a budget policy",
        }
    }
}

#[derive(Debug, Default)]
pub struct Scope {
    /// Names usable unqualified: local declarations and `.{…}` imports.
    pub names: HashMap<String, DeclRef>,
    /// `import std.alerting` → `alerting`; `import "x.slo" as x` → `x`.
    pub aliases: HashMap<String, usize>,
    /// The module's own declarations (what others may import).
    pub exports: BTreeMap<String, (DeclRef, Span)>,
}

pub(crate) fn decl_of(item: &ast::Item) -> Option<(&ast::Ident, DeclKind)> {
    match item {
        ast::Item::Template(t) => Some((&t.name, DeclKind::Template)),
        ast::Item::Alerts(a) => Some((&a.name, DeclKind::Alerts)),
        // `policy x for target` attaches itself; it is not a reusable name.
        ast::Item::Policy(p) if p.target.is_none() => Some((&p.name, DeclKind::Policy)),
        _ => None,
    }
}

pub fn build(modules: &[Module], diags: &mut Diagnostics) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = modules.iter().map(|_| Scope::default()).collect();
    // Exports first, so imports can see every module's declarations.
    for (mi, m) in modules.iter().enumerate() {
        for (ii, item) in m.file.items.iter().enumerate() {
            if let Some((name, kind)) = decl_of(item) {
                let r = DeclRef { module: mi, item: ii, kind };
                if let Some((_, first)) = scopes[mi].exports.get(&name.name) {
                    diags.push(error::duplicate(name.span, "declaration", &name.name, *first));
                    continue;
                }
                scopes[mi].exports.insert(name.name.clone(), (r, name.span));
                scopes[mi].names.insert(name.name.clone(), r);
            }
        }
    }
    for (mi, m) in modules.iter().enumerate() {
        let mut bound: HashMap<String, Span> = scopes[mi].exports.iter().map(|(k, (_, s))| (k.clone(), *s)).collect();
        let imports = m.file.items.iter().filter_map(|i| match i {
            ast::Item::Import(imp) => Some(imp),
            _ => None,
        });
        for (imp, target) in imports.zip(&m.imports) {
            let Some(target) = *target else { continue };
            let module_name = &modules[target].name;
            if let Some(names) = &imp.names {
                for n in names {
                    let local = n.alias.as_ref().unwrap_or(&n.name);
                    match scopes[target].exports.get(&n.name.name) {
                        Some((r, _)) => {
                            if let Some(first) = bound.get(&local.name) {
                                diags.push(error::duplicate(local.span, "name", &local.name, *first));
                                continue;
                            }
                            bound.insert(local.name.clone(), local.span);
                            let r = *r;
                            scopes[mi].names.insert(local.name.clone(), r);
                        }
                        None => {
                            let cands: Vec<&str> = scopes[target].exports.keys().map(String::as_str).collect();
                            diags.push(error::unknown_import_name(n.name.span, &n.name.name, module_name, &cands));
                        }
                    }
                }
            }
            // A module alias: explicit `as`, or the last segment of a std path
            // when no brace list is given.
            let alias = match (&imp.alias, &imp.source, &imp.names) {
                (Some(a), _, _) => Some(a.clone()),
                (None, ast::ImportSource::Std(parts, _), None) => parts.last().cloned(),
                _ => None,
            };
            if let Some(a) = alias {
                if let Some(first) = bound.get(&a.name) {
                    diags.push(error::duplicate(a.span, "name", &a.name, *first));
                    continue;
                }
                bound.insert(a.name.clone(), a.span);
                scopes[mi].aliases.insert(a.name, target);
            }
        }
    }
    scopes
}

/// Services and SLOs of the whole compilation.
#[derive(Debug, Default)]
pub(crate) struct Catalogue {
    /// name → (module, item)
    pub services: BTreeMap<String, (usize, usize)>,
    /// (service, slo) → (module, item)
    pub slos: BTreeMap<(String, String), (usize, usize)>,
}

impl Catalogue {
    pub fn build(modules: &[Module], diags: &mut Diagnostics) -> Catalogue {
        let mut c = Catalogue::default();
        let mut spans: HashMap<String, Span> = HashMap::new();
        for (mi, m) in modules.iter().enumerate() {
            for (ii, item) in m.file.items.iter().enumerate() {
                if let ast::Item::Service(s) = item {
                    if let Some(first) = spans.get(&s.name.name) {
                        diags.push(error::duplicate(s.name.span, "service", &s.name.name, *first));
                        continue;
                    }
                    spans.insert(s.name.name.clone(), s.name.span);
                    c.services.insert(s.name.name.clone(), (mi, ii));
                }
            }
        }
        let mut slo_spans: HashMap<(String, String), Span> = HashMap::new();
        for (mi, m) in modules.iter().enumerate() {
            for (ii, item) in m.file.items.iter().enumerate() {
                if let ast::Item::Slo(s) = item {
                    let key = (s.service.name.clone(), s.name.name.clone());
                    if let Some(first) = slo_spans.get(&key) {
                        let full = format!("{}.{}", key.0, key.1);
                        diags.push(error::duplicate(s.name.span, "SLO", &full, *first));
                        continue;
                    }
                    slo_spans.insert(key.clone(), s.name.span);
                    c.slos.insert(key, (mi, ii));
                }
            }
        }
        c
    }

    pub(crate) fn slo_names(&self) -> Vec<String> {
        self.slos.keys().map(|(s, n)| format!("{s}.{n}")).collect()
    }
}

/// Adds `import` to `file`: after its last import, else at its top.
fn import_fix(file: &ast::File, import: &str) -> crate::diag::Fix {
    let last = file.items.iter().filter(|i| matches!(i, ast::Item::Import(_))).map(|i| i.span().end).max();
    let (at, text) = match last {
        Some(end) => (end as usize, format!("\n{import}")),
        None => (0, format!("{import}\n\n")),
    };
    crate::diag::Fix { title: format!("add `{import}`"), edits: vec![(Span::new(file.span.source, at, at), text)] }
}

/// Resolves a (possibly qualified) declaration name as seen from `module`.
pub fn resolve(
    modules: &[Module],
    scopes: &[Scope],
    module: usize,
    path: &ast::Path,
    diags: &mut Diagnostics,
) -> Option<DeclRef> {
    let scope = &scopes[module];
    match path.parts.as_slice() {
        [name] => match scope.names.get(&name.name) {
            Some(r) => Some(*r),
            None => {
                let mut cands: Vec<&str> = scope.names.keys().map(String::as_str).collect();
                cands.sort();
                let mut d = error::unknown_name(name.span, &name.name, "declaration", &cands);
                if let Some(m) = crate::stdlib::module_declaring(&name.name) {
                    let import = format!("import std.{m}.{{{}}}", name.name);
                    d = d.with_help(format!("`{}` is in the stdlib: add `{import}`", name.name));
                    d.fixes = vec![import_fix(&modules[module].file, &import)];
                }
                diags.push(d);
                None
            }
        },
        [alias, name] => {
            let Some(&target) = scope.aliases.get(&alias.name) else {
                let cands: Vec<&str> = scope.aliases.keys().map(String::as_str).collect();
                diags.push(error::unknown_name(alias.span, &alias.name, "imported module", &cands));
                return None;
            };
            match scopes[target].exports.get(&name.name) {
                Some((r, _)) => Some(*r),
                None => {
                    let cands: Vec<&str> = scopes[target].exports.keys().map(String::as_str).collect();
                    diags.push(error::unknown_import_name(name.span, &name.name, &modules[target].name, &cands));
                    None
                }
            }
        }
        _ => {
            diags.push(error::unknown_name(path.span, &path.dotted(), "declaration", &[]));
            None
        }
    }
}
