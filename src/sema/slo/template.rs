//! Instantiation of templates, alert policies and budget policies: the
//! callee resolved to a declaration of the expected kind, call arguments
//! bound to parameters (named or positional, defaults evaluated once each,
//! a default that needs itself reported), every argument type-checked in
//! the caller's environment. It may assume the scopes are built (names
//! resolve through [`scope::resolve`]); it knows nothing of the SLO an
//! instance serves, except [`Cx::point_at_use`], which moves a stdlib
//! declaration's problems onto the user's call.

use super::Cx;
use crate::diag::Diagnostic;
use crate::sema::error;
use crate::sema::eval::{Bound, Env, Inst, Ty, Val};
use crate::sema::scope::{self, DeclKind, DeclRef};
use crate::source::Span;
use crate::syntax::ast;
use std::collections::HashMap;

impl Cx<'_> {
    /// Resolves and binds a call to a template, alert policy or budget policy.
    pub(crate) fn instantiate(&mut self, call: &ast::Call, kind: DeclKind, env: &Env) -> Option<Inst> {
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
                            let mut d = Diagnostic::error(
                                "slo::template::unknown_arg",
                                n.span,
                                format!("`{}` has no parameter `{}`", call.callee.dotted(), n.name),
                                "unknown parameter",
                            );
                            if !error::did_you_mean(&mut d, &n.name, names.iter().copied()) {
                                d = if names.is_empty() {
                                    d.with_help("it takes no parameters")
                                } else {
                                    d.with_help(format!(
                                        "its parameters are {}",
                                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                                    ))
                                };
                            }
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
    pub(super) fn point_at_use(&mut self, since: usize, use_site: Span) {
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
}
