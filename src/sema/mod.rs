//! The checker: parsed modules → typed [`ir::Program`] plus diagnostics.
//!
//! How it works. The driver hands over every module of a compilation (the
//! user's files, every file they import, the stdlib modules they name), each
//! with its imports already mapped to module indices. Checking then runs in
//! passes, each collecting diagnostics and carrying on, so one run reports
//! every problem a user could fix in the same edit:
//!
//! 1. [`scope`] builds each module's namespace (its own templates, alert
//!    policies and budget policies, plus imported names and module aliases),
//!    reporting duplicates, unknown imported names and import cycles (found
//!    with petgraph; the message spells the cycle out).
//! 2. The global catalogue: services and SLOs, which are shared by the whole
//!    compilation, are collected with duplicate detection.
//! 3. [`slo`] lowers each SLO: it expands a template instance by binding and
//!    type-checking arguments, overlays the instance's own fields, and then
//!    evaluates every field against the type it must have ([`eval`]).
//!    Values are typed *by the position they stand in*: `99.9%` is a
//!    percent, and is an error where a factor is wanted. An invalid value
//!    is reported and the field is treated as absent, so its dependants are
//!    not reported again.
//! 4. [`alerts`] instantiates alert and budget policies for each SLO: burn
//!    factors given as a budget share are resolved against the SLO's window,
//!    and windows are checked against it.
//! 5. [`graph`] checks the composite SLO graph for cycles, and [`lint`]
//!    reports definitions that are legal but surely a mistake.
//! 6. [`names`] asks the backends' naming functions for every file and
//!    object name and reports names that collide on deploy or that a
//!    target cannot take.
//!
//! The result is an IR with every default applied and no field left to be
//! filled later; on any error the IR is still returned (for `debug ir`) but
//! backends must not run.

pub mod alerts;
pub mod error;
pub mod eval;
pub mod graph;
pub mod lint;
pub mod names;
pub mod scope;
pub mod scrape;
pub mod slo;

use crate::diag::Diagnostics;
use crate::ir;
use crate::source::{SourceId, SourceMap};
use crate::syntax::ast;

/// The names each kind of block takes, as the checker accepts them: for
/// tools that offer them (the language server's completion).
pub(crate) mod vocabulary {
    pub(crate) use super::alerts::{
        BUDGET_FIELDS, POLICY_FIELDS as ALERT_POLICY_FIELDS, THRESHOLD_FIELDS, TIER_FIELDS,
    };
    pub(crate) use super::slo::{SERVICE_FIELDS, SLO_FIELDS};

    /// The parameter types (`string`, `percent`, …).
    pub(crate) fn param_types() -> Vec<&'static str> {
        super::eval::Ty::NAMES.iter().map(|(n, _)| *n).collect()
    }

    /// Every SLI kind (`events`, …) with the fields its block takes.
    pub(crate) fn sli_kinds() -> Vec<(&'static str, &'static [&'static str])> {
        super::slo::sli::kinds().collect()
    }
}

/// A parsed module with its imports resolved to module indices.
#[derive(Debug, Clone)]
pub struct Module {
    pub source: SourceId,
    /// `std.alerting` for stdlib modules, the display path for files.
    pub name: String,
    pub file: ast::File,
    /// For each `import` item of `file`, in order: the imported module, or
    /// `None` when the driver could not load it (already reported).
    pub imports: Vec<Option<usize>>,
    /// Whether the user asked for this file (as opposed to it being imported).
    pub root: bool,
}

/// Checks a whole compilation.
pub fn check(sources: &SourceMap, modules: &[Module]) -> (ir::Program, Diagnostics) {
    let mut diags = Diagnostics::default();
    let scopes = scope::build(modules, &mut diags);
    graph::import_cycles(modules, &mut diags);
    let catalogue = scope::Catalogue::build(modules, &mut diags);
    let mut cx = slo::Cx::new(sources, modules, &scopes, &catalogue, &mut diags);
    let program = cx.lower_program();
    cx.check_unused();
    graph::composite_cycles(&program, &catalogue, &mut diags);
    lint::program(&program, &mut diags);
    names::check(&program, &mut diags);
    scrape::check(&program, &mut diags);
    (program, diags.sorted())
}

/// Instantiates the alert policy `name`, every parameter at its default,
/// for each SLO as if it said `alerts = name()` — the alert presets a
/// backtest sweep compares. The policy is looked up in the user's files
/// first, then in the loaded stdlib modules.
pub fn preset_alerts(
    sources: &SourceMap,
    modules: &[Module],
    name: &str,
    slos: &[ir::Slo],
) -> Result<Vec<Vec<ir::Alert>>, String> {
    let mut diags = Diagnostics::default();
    let scopes = scope::build(modules, &mut diags);
    let catalogue = scope::Catalogue::build(modules, &mut diags);
    let user = |m: &Module| sources.get(m.source).origin == crate::source::Origin::User;
    let mut found = None;
    let mut known = std::collections::BTreeSet::new();
    for pass_user in [true, false] {
        for (mi, m) in modules.iter().enumerate() {
            if user(m) != pass_user {
                continue;
            }
            for item in &m.file.items {
                if let ast::Item::Alerts(a) = item {
                    known.insert(a.name.name.clone());
                    if a.name.name == name && found.is_none() {
                        found = Some((mi, a));
                    }
                }
            }
        }
    }
    let Some((mi, decl)) = found else {
        let known: Vec<String> = known.into_iter().collect();
        return Err(format!(
            "no alert policy named `{name}` in these files or the stdlib modules they import (known: {}); \
             import it (e.g. `import std.alerting.{{{name}}}`) or define it",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        ));
    };
    if let Some(p) = decl.params.as_deref().unwrap_or(&[]).iter().find(|p| p.default.is_none()) {
        return Err(format!(
            "alert policy `{name}` has a parameter without a default (`{}`): a sweep can only use policies callable as `{name}()`",
            p.name.name
        ));
    }
    let mut cx = slo::Cx::new(sources, modules, &scopes, &catalogue, &mut diags);
    let path = ast::Path { parts: vec![decl.name.clone()], span: decl.name.span };
    let call = ast::Call { callee: path, args: vec![], span: decl.name.span };
    let env = eval::Env { module: mi, ..eval::Env::default() };
    let Some(inst) = cx.instantiate(&call, scope::DeclKind::Alerts, &env) else {
        return Err(format!("alert policy `{name}` cannot be instantiated"));
    };
    let out = slos
        .iter()
        .map(|s| {
            let ctx = slo::SloCtx { objective: s.objective, window_ms: s.window.nominal().ms(), span: decl.name.span };
            cx.alerts_for(&ctx, &inst)
        })
        .collect();
    if let Some(e) = diags.0.iter().find(|d| d.severity == crate::diag::Severity::Error) {
        return Err(format!("alert policy `{name}`: {}", e.message));
    }
    Ok(out)
}
