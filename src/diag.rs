//! Diagnostics shared by every stage.
//!
//! Each pass owns an `error.rs` with one constructor per problem it can
//! report; every constructor returns a [`Diagnostic`] with a stable,
//! namespaced code (`slo::type::mismatch`), a primary span whose label says
//! what is wrong *there*, help that says how to fix it, and optional
//! secondary labels (`related`). The core only collects them; rendering
//! (human via miette, JSON, GitHub annotations) happens at the edge with the
//! [`SourceMap`] attached. Every renderer meant for a terminal (human and
//! GitHub) passes user text through [`crate::term`]: messages, labels, help
//! and file names escaped, source snippets with control characters
//! replaced by visible ones of the same byte length (spans stay valid).

use crate::source::{SourceMap, Span};
use crate::term;
use miette::{LabeledSpan, NamedSource};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in the user's input.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    /// Secondary sites, e.g. the first definition of a duplicate.
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            related: Vec::new(),
        }
    }
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, span, message, label) }
    }
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub(crate) fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Diagnostics of a run, in a stable order (file, position, code).
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(ds);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn errors(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }
    pub fn warnings(&self) -> usize {
        self.0.len() - self.errors()
    }
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            (a.span.source, a.span.start, a.span.end, a.code, &a.message).cmp(&(
                b.span.source,
                b.span.start,
                b.span.end,
                b.code,
                &b.message,
            ))
        });
        self.0.dedup();
        self
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

// ------------------------------------------------------------------ rendering

/// A diagnostic with its sources attached, ready for miette's renderer.
/// Labels in other files than the primary one become related reports.
pub(crate) struct Rendered<'a> {
    diag: &'a Diagnostic,
    src: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered<'a>>,
    related_diags: Vec<Diagnostic>,
}

impl<'a> Rendered<'a> {
    pub fn new(diag: &'a Diagnostic, sources: &SourceMap) -> Rendered<'a> {
        let file = sources.get(diag.span.source);
        let mut labels = vec![LabeledSpan::new_primary_with_span(Some(diag.label.clone()), diag.span.range())];
        let mut related_diags = Vec::new();
        for (span, text) in &diag.related {
            if span.source == diag.span.source {
                labels.push(LabeledSpan::new_with_span(Some(text.clone()), span.range()));
            } else {
                related_diags.push(Diagnostic {
                    code: diag.code,
                    severity: diag.severity,
                    message: format!("see {}", sources.get(span.source).name),
                    span: *span,
                    label: text.clone(),
                    help: None,
                    related: Vec::new(),
                });
            }
        }
        Rendered {
            diag,
            src: NamedSource::new(term::sanitize(&file.name), term::same_len(&file.text).into_owned()),
            labels,
            related: Vec::new(),
            related_diags,
        }
    }
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diag, f)
    }
}
impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}
impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
        }
    }
}

/// Renders every diagnostic for a terminal (or, with `color = false`, for
/// snapshots) followed by a one-line summary.
pub fn render_human(diags: &Diagnostics, sources: &SourceMap, color: bool, width: usize) -> String {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false);
    let mut out = String::new();
    // Rendering re-reads the file for every report; past a screenful,
    // nobody reads them one by one anyway.
    let shown = diags.0.len().min(HUMAN_LIMIT);
    for d in diags.0[..shown].iter() {
        let d = &sanitized(d);
        let mut r = Rendered::new(d, sources);
        let extra: Vec<Diagnostic> = std::mem::take(&mut r.related_diags).iter().map(sanitized).collect();
        // Related reports borrow their diagnostic; keep them alive for the render.
        let extra_rendered: Vec<Rendered<'_>> = extra.iter().map(|e| Rendered::new(e, sources)).collect();
        r.related = extra_rendered;
        let _ = handler.render_report(&mut out, &r);
        out.push('\n');
    }
    if diags.0.len() > shown {
        out.push_str(&format!("… and {} more (all of them with --format json)\n", diags.0.len() - shown));
    }
    out
}

/// `d` with its message, label, help and related labels made safe for a
/// terminal.
fn sanitized(d: &Diagnostic) -> Diagnostic {
    let t = |s: &str| term::sanitize(s).into_owned();
    Diagnostic {
        message: t(&d.message),
        label: t(&d.label),
        help: d.help.as_deref().map(t),
        related: d.related.iter().map(|(s, l)| (*s, t(l))).collect(),
        ..d.clone()
    }
}

/// Reports rendered in full by [`render_human`].
pub(crate) const HUMAN_LIMIT: usize = 200;

/// One line per diagnostic, as JSON objects in an array (stable field order).
pub fn render_json(diags: &Diagnostics, sources: &SourceMap) -> String {
    #[derive(Serialize)]
    struct J<'a> {
        file: &'a str,
        line: usize,
        column: usize,
        end_line: usize,
        end_column: usize,
        code: &'a str,
        severity: Severity,
        message: &'a str,
        label: &'a str,
        help: Option<&'a str>,
    }
    let items: Vec<J> = diags
        .iter()
        .map(|d| {
            let f = sources.get(d.span.source);
            let (line, column) = f.line_col(d.span.start as usize);
            let (end_line, end_column) = f.line_col(d.span.end as usize);
            J {
                file: &f.name,
                line,
                column,
                end_line,
                end_column,
                code: d.code,
                severity: d.severity,
                message: &d.message,
                label: &d.label,
                help: d.help.as_deref(),
            }
        })
        .collect();
    let mut s = term::json_safe(&serde_json::to_string_pretty(&items).expect("diagnostics serialize")).into_owned();
    s.push('\n');
    s
}

/// GitHub Actions workflow commands (`::error file=…,line=…::message`).
pub fn render_github(diags: &Diagnostics, sources: &SourceMap) -> String {
    fn esc_data(s: &str) -> String {
        term::sanitize(s).replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
    }
    fn esc_prop(s: &str) -> String {
        esc_data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for d in diags.iter() {
        let f = sources.get(d.span.source);
        let (line, col) = f.line_col(d.span.start as usize);
        let (end_line, end_col) = f.line_col(d.span.end as usize);
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut msg = format!("{}: {}", d.message, d.label);
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        out.push_str(&format!(
            "::{kind} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            esc_prop(&f.name),
            esc_prop(d.code),
            esc_data(&msg)
        ));
    }
    out
}

/// `error: 2 errors, 1 warning` style summary line.
pub fn summary(diags: &Diagnostics) -> String {
    fn plural(n: usize, w: &str) -> String {
        format!("{n} {w}{}", if n == 1 { "" } else { "s" })
    }
    format!("{}, {}", plural(diags.errors(), "error"), plural(diags.warnings(), "warning"))
}
