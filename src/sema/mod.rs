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
//!
//! The result is an IR with every default applied and no field left to be
//! filled later; on any error the IR is still returned (for `debug ir`) but
//! backends must not run.

pub mod alerts;
pub mod error;
pub mod eval;
pub mod graph;
pub mod lint;
pub mod scope;
pub mod slo;

use crate::diag::Diagnostics;
use crate::ir;
use crate::source::{SourceId, SourceMap};
use crate::syntax::ast;

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
    let mut cx = slo::Cx {
        sources,
        modules,
        scopes: &scopes,
        catalogue: &catalogue,
        diags: &mut diags,
        used: Default::default(),
        defaults: Default::default(),
    };
    let program = cx.lower_program();
    cx.check_unused();
    graph::composite_cycles(&program, &catalogue, &mut diags);
    lint::program(&program, &mut diags);
    (program, diags.sorted())
}
