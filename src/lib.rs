//! slo: a typed language for Service Level Objectives.
//!
//! ```text
//!  .slo text ──syntax::parse──▶ ast::File ──sema::check──▶ ir::Program
//!                                   │
//!                                   └──fmt::format──▶ canonical .slo text
//! ```
//!
//! [`driver`] is the I/O edge: it reads files and resolves imports (stdlib
//! modules come from [`stdlib`], embedded in the binary), then hands parsed
//! files to [`sema::check`]. Diagnostics ([`diag`]) carry spans into the
//! [`source::SourceMap`] and are rendered only at the edge.

pub mod alertmanager;
pub mod backtest;
pub mod diag;
pub mod doc;
pub mod driver;
pub mod error;
pub mod fmt;
pub mod goregex;
pub mod grafana;
pub mod input;
pub mod interop;
pub mod ir;
pub mod layout;
pub mod lsp;
pub mod memory;
pub mod metrics;
pub mod names;
pub mod outdir;
pub mod output;
pub mod promql;
pub mod sema;
pub mod source;
pub mod stdlib;
pub mod syntax;
pub mod synth;
pub mod term;
pub mod units;
pub mod yamlin;
