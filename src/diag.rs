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

use crate::source::{SourceId, SourceMap, Span};
use crate::term;
use miette::LabeledSpan;
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
    /// Edits that fix the problem, when the checker knows one for sure
    /// enough to offer it (a did-you-mean name, a missing stdlib import,
    /// `0.999` → `99.9%`): the language server's code actions. The help
    /// text says the same in words.
    pub fixes: Vec<Fix>,
}

/// One way to fix a diagnostic: a title and the edits (each a span of the
/// file and its replacement; an empty span inserts).
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<(Span, String)>,
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
            fixes: Vec::new(),
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
    /// Offers replacing `span` with `text` as a fix titled `title`.
    pub(crate) fn with_fix(mut self, title: impl Into<String>, span: Span, text: impl Into<String>) -> Self {
        self.fixes.push(Fix { title: title.into(), edits: vec![(span, text.into())] });
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

/// One source file as the renderer reads it: its text made safe for a
/// terminal (once per file, not once per report) and where its lines
/// start, so a report reads only the lines around its spans. miette's own
/// `[u8]` reader scans from the start of the file for every span, which
/// made rendering quadratic: 20,000 warnings over 100 imported files spent
/// two thirds of `slo import` there.
pub(crate) struct Indexed {
    name: String,
    text: String,
    /// Byte offset of every line's start, lines ending as miette ends them
    /// (`\n`, `\r\n` or a lone `\r`).
    starts: Vec<usize>,
}

impl Indexed {
    fn new(name: &str, text: &str) -> Indexed {
        let text = term::same_len(text).into_owned();
        let b = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\r' if b.get(i + 1) == Some(&b'\n') => {
                    i += 1;
                    starts.push(i + 1);
                }
                b'\r' | b'\n' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        Indexed { name: term::sanitize(name).into_owned(), text, starts }
    }

    /// The line (0-based) byte `at` is on.
    fn line_of(&self, at: usize) -> usize {
        self.starts.partition_point(|&s| s <= at).saturating_sub(1)
    }
}

impl miette::SourceCode for Indexed {
    /// What miette's `[u8]` reader returns for the whole text, computed on
    /// a window of whole lines around the span: one more line before than
    /// the context asks for (so the context is always full inside it) and
    /// two more after (so the reader stops inside it), or up to the file's
    /// ends. Line numbers and offsets are shifted back to the whole file.
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let b = self.text.as_bytes();
        let (off, len) = (span.offset(), span.len());
        if off > b.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        let first = self.line_of(off);
        let last = self.line_of((off + len).saturating_sub(1).max(off));
        let from = first.saturating_sub(before + 1);
        let to = last.saturating_add(after).saturating_add(2);
        let ws = self.starts[from];
        let we = self.starts.get(to).copied().unwrap_or(b.len());
        let inner = <[u8] as miette::SourceCode>::read_span(
            &b[ws..we],
            &miette::SourceSpan::new((off - ws).into(), len),
            before,
            after,
        )?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            miette::SourceSpan::new((inner.span().offset() + ws).into(), inner.span().len()),
            inner.line() + from,
            inner.column(),
            inner.line_count() + from,
        )))
    }
}

/// Each source file indexed once for a batch of reports.
#[derive(Default)]
pub(crate) struct IndexCache(std::collections::HashMap<SourceId, std::rc::Rc<Indexed>>);

impl IndexCache {
    fn get(&mut self, sources: &SourceMap, id: SourceId) -> std::rc::Rc<Indexed> {
        self.0
            .entry(id)
            .or_insert_with(|| {
                let f = sources.get(id);
                std::rc::Rc::new(Indexed::new(&f.name, &f.text))
            })
            .clone()
    }
}

/// A diagnostic with its sources attached, ready for miette's renderer.
/// Labels in other files than the primary one become related reports.
pub(crate) struct Rendered<'a> {
    diag: &'a Diagnostic,
    src: std::rc::Rc<Indexed>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered<'a>>,
    related_diags: Vec<Diagnostic>,
}

impl<'a> Rendered<'a> {
    pub fn new(diag: &'a Diagnostic, sources: &SourceMap, cache: &mut IndexCache) -> Rendered<'a> {
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
                    fixes: Vec::new(),
                });
            }
        }
        Rendered { diag, src: cache.get(sources, diag.span.source), labels, related: Vec::new(), related_diags }
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
        Some(&*self.src)
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
    // Past a screenful, nobody reads them one by one.
    let shown = diags.0.len().min(HUMAN_LIMIT);
    let mut cache = IndexCache::default();
    for d in diags.0[..shown].iter() {
        let d = &sanitized(d);
        let mut r = Rendered::new(d, sources, &mut cache);
        let extra: Vec<Diagnostic> = std::mem::take(&mut r.related_diags).iter().map(sanitized).collect();
        // Related reports borrow their diagnostic; keep them alive for the render.
        let extra_rendered: Vec<Rendered<'_>> = extra.iter().map(|e| Rendered::new(e, sources, &mut cache)).collect();
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

#[cfg(test)]
mod tests {
    use super::Indexed;
    use miette::{SourceCode, SourceSpan, SpanContents};

    fn parts(c: &dyn SpanContents<'_>) -> (Vec<u8>, usize, usize, usize, usize, usize) {
        (c.data().to_vec(), c.span().offset(), c.span().len(), c.line(), c.column(), c.line_count())
    }

    /// The windowed reader returns exactly what miette's reader returns on
    /// the whole text, for every span and context size, whatever the line
    /// endings.
    #[test]
    fn windowed_reads_equal_whole_file_reads() {
        let texts = [
            "a\nbb\nccc\n\ndddd\neeeee\nf\n",
            "one\r\ntwo\r\n\r\nthree\rfour\nfive",
            "",
            "x",
            "\n\n\n",
            "ü😀 line\nsecond ü\n\n  // c\r\nlast",
        ];
        for text in texts {
            let ix = Indexed::new("t", text);
            let b = ix.text.as_bytes();
            for off in 0..=b.len() {
                for len in 0..=(b.len() - off).min(12) {
                    for (before, after) in [(0, 0), (1, 1), (2, 3), (5, 0)] {
                        let span = SourceSpan::new(off.into(), len);
                        let whole = b.read_span(&span, before, after).map(|c| parts(&*c));
                        let window = ix.read_span(&span, before, after).map(|c| parts(&*c));
                        assert_eq!(
                            whole.as_ref().ok(),
                            window.as_ref().ok(),
                            "{text:?} at {off}+{len}, context {before}/{after}"
                        );
                    }
                }
            }
        }
    }
}
