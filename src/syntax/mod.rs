//! Syntax: `.slo` text → [`ast::File`].
//!
//! pest does the parsing (grammar in `grammar/slo.pest`) and is confined to
//! [`parser`]; nothing downstream sees a pest type. The file is cut into
//! top-level chunks at every outermost closing brace and each chunk is
//! parsed on its own, so pest's memory is bounded by one declaration and
//! each broken declaration reports its own syntax error (pest stops at the
//! first error of what it parses). Bad string escapes are all reported.
//!
//! Before pest runs, a cheap scan rejects nesting deeper than
//! [`MAX_DEPTH`] so that no input can exhaust the stack of the recursive
//! descent, and [`comments`] recovers the `//` comments the grammar skips,
//! for the formatter.

pub mod ast;
pub mod comments;
pub mod error;
mod parser;
pub mod strings;

use crate::diag::Diagnostic;
use crate::source::{SourceId, Span};

/// The language's keywords (not valid as names: the language server's
/// rename and tokens, the importers' generated names).
pub const KEYWORDS: &[&str] = &[
    "import",
    "service",
    "slo",
    "for",
    "template",
    "alerts",
    "policy",
    "sli",
    "tier",
    "threshold",
    "when",
    "good",
    "as",
    "over",
    "calendar",
    "in",
    "of",
    "budget",
    "between",
    "and",
    "severity",
    "std",
    "true",
    "false",
];

/// Deepest nesting of `{`, `[` and `(` accepted.
pub(crate) const MAX_DEPTH: usize = 48;

/// Parses one file. On a syntax error returns the diagnostics (one per
/// broken top-level declaration, and every bad string escape).
pub fn parse(source: SourceId, text: &str) -> Result<ast::File, Vec<Diagnostic>> {
    if let Some(off) = comments::too_deep(text, MAX_DEPTH) {
        return Err(vec![error::too_deep(Span::new(source, off, off + 1), MAX_DEPTH)]);
    }
    parser::parse_file(source, text)
}
