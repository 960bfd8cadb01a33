//! `slo data`: metric data in and out of the native Parquet layout.
//!
//! - [`import`] reads Prometheus HTTP API JSON (`query_range` / range-vector
//!   `query` results, and instant vectors), OpenMetrics and Prometheus text
//!   exposition with timestamps, and `promtool tsdb dump` output; it
//!   collects every series, sorts and deduplicates the samples, reports
//!   conflicting duplicates, and writes one Parquet file.
//! - [`inspect`] summarises Parquet data: metrics, series, time range,
//!   resolution, gaps and staleness markers.
//! - [`export`] writes Parquet data back out as OpenMetrics text (what
//!   `promtool tsdb create-blocks-from openmetrics` backfills).
//!
//! Problems in the inputs are [`Problem`]s with a file, a line (or, in
//! JSON, a path to the value) and a stable code; they are rendered here
//! rather than through the `.slo` source map, because input files can be
//! gigabytes long and only the offending line is worth keeping.

pub mod export;
pub mod import;
pub mod inspect;
mod promapi;
mod text;

use serde::Serialize;

/// One problem in an input file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub severity: crate::diag::Severity,
    pub file: String,
    /// 1-based; 0 when the problem is not on one line (JSON values are
    /// located by `path` instead, whole-file problems by neither).
    pub line: usize,
    /// 1-based byte column within the line; 0 when unknown.
    pub column: usize,
    /// Where in a JSON document, e.g. `data.result[2].values[17]`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The offending line (truncated) and the caret's character column in
    /// it, for the human rendering.
    #[serde(skip)]
    pub excerpt: Option<(String, usize)>,
}

impl Problem {
    pub fn error(code: &'static str, file: &str, message: impl Into<String>) -> Problem {
        Problem {
            code,
            severity: crate::diag::Severity::Error,
            file: file.to_string(),
            line: 0,
            column: 0,
            path: String::new(),
            message: message.into(),
            help: None,
            excerpt: None,
        }
    }
    pub fn warning(code: &'static str, file: &str, message: impl Into<String>) -> Problem {
        Problem { severity: crate::diag::Severity::Warning, ..Problem::error(code, file, message) }
    }
    /// Locates the problem at `column` (0-based byte offset) of `line`.
    pub fn at(mut self, line: usize, text: &str, column: usize) -> Problem {
        self.line = line;
        let column = column.min(text.len());
        self.column = text[..floor_char(text, column)].chars().count() + 1;
        // Keep at most ~100 characters around the column.
        let start = floor_char(text, column.saturating_sub(60));
        let end = floor_char(text, (column + 60).min(text.len()));
        let mut shown = String::new();
        if start > 0 {
            shown.push('…');
        }
        shown.push_str(&text[start..end]);
        if end < text.len() {
            shown.push('…');
        }
        let caret = text[start..floor_char(text, column)].chars().count() + (start > 0) as usize;
        self.excerpt = Some((shown, caret));
        self
    }
    pub(crate) fn at_path(mut self, path: impl Into<String>) -> Problem {
        self.path = path.into();
        self
    }
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == crate::diag::Severity::Error
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `error[code]: message` with the file position, the line and a caret.
pub fn render(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        let sev = if p.is_error() { "error" } else { "warning" };
        out.push_str(&format!("{sev}[{}]: {}\n", p.code, p.message));
        let mut at = format!("  --> {}", p.file);
        if p.line > 0 {
            at.push_str(&format!(":{}:{}", p.line, p.column));
        }
        if !p.path.is_empty() {
            at.push_str(&format!(" at {}", p.path));
        }
        out.push_str(&at);
        out.push('\n');
        if let Some((shown, caret)) = &p.excerpt {
            let num = p.line.to_string();
            let pad = " ".repeat(num.len());
            let shown: String = shown.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            out.push_str(&format!("{pad} |\n{num} | {shown}\n{pad} | {}^\n", " ".repeat(*caret)));
        }
        if let Some(h) = &p.help {
            out.push_str(&format!("  help: {h}\n"));
        }
    }
    out
}

/// A span in milliseconds as `1h2m3.5s`-style text.
pub use crate::units::fmt_span as fmt_duration;
/// Millisecond timestamps as RFC 3339.
pub use crate::units::fmt_ts as fmt_ms;

/// Characters of a name or value shown in messages at most.
const SHOWN: usize = 200;

/// `s` cut to [`SHOWN`] characters (with `…`), for messages: a 16 KiB
/// label value is named, not printed.
pub fn short(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(SHOWN) {
        Some((i, _)) => format!("{}…", &s[..i]).into(),
        None => s.into(),
    }
}

/// `name{a="b", …}` for messages, labels in the order given (long names
/// and values cut short).
pub(crate) fn series_text(labels: &[(String, String)]) -> String {
    let name = labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str());
    let name = short(name);
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .map(|(k, v)| format!("{}={}", short(k), crate::syntax::strings::quote(&short(v))))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}
