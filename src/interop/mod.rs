//! Interoperability: `slo import sloth|openslo` and `slo export openslo`.
//!
//! Importers read YAML into `serde_yaml_ng::Value`s, translate what the
//! language can express into .slo text (formatted by [`crate::fmt`]), and
//! report everything else as a diagnostic anchored at the YAML key it came
//! from — nothing is dropped silently. Each SLO of the input is a [`Unit`],
//! translated whole or skipped with an error at its name while the rest is
//! kept; [`finish`] checks what an import would write and drops the SLOs
//! whose .slo would not check, so whatever is written checks.

pub mod openslo;
pub mod sloth;

use crate::diag::Diagnostic;
use crate::ir;
use crate::source::{Origin, Source, SourceId, SourceMap, Span};
use crate::syntax::strings::quote;
use serde_yaml_ng::Value;

/// The result of an import: .slo files (one per service, each SLO a
/// [`Unit`] that is written or skipped as a whole) and diagnostics.
pub struct Imported {
    pub files: Vec<Translated>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// SLOs of the input skipped outside any file (their document or
    /// service did not translate); errors say why.
    pub skipped: usize,
}

impl Imported {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }

    /// Every file with all its units, formatted (an `Err` is an importer bug).
    pub fn texts(&self) -> Vec<(String, Result<String, String>)> {
        self.files.iter().map(|f| (f.name.clone(), f.text(&vec![true; f.units.len()]))).collect()
    }
}

/// One SLO of the input and the .slo declarations translated from it:
/// they are written, or skipped, together.
pub struct Unit {
    /// The SLO's name in the input, and the span of its YAML key.
    pub name: String,
    pub at: Span,
    /// Its declarations (.slo text, not yet formatted): its SLOs and the
    /// alert policies only it calls.
    pub text: String,
    /// What `text` declares, as `slo <name>` or `alerts <name>`: a check
    /// error inside one of them is this SLO's.
    pub decls: Vec<String>,
    /// The shared declarations (keys of [`Translated::shared`]) it calls.
    pub uses: Vec<String>,
}

/// One .slo file of an import: a service and its SLOs.
pub struct Translated {
    /// `<service>.slo`
    pub name: String,
    /// The service's YAML key in the input.
    pub at: Span,
    /// The header comment and the service declaration.
    pub head: String,
    /// Declarations several units may call (OpenSLO alert policies), as
    /// (`alerts <name>`, text): written when a kept unit uses them.
    pub shared: Vec<(String, String)>,
    pub units: Vec<Unit>,
    /// SLOs of this service the importer skipped (errors say why).
    pub skipped: usize,
}

impl Translated {
    pub fn new(name: String, at: Span, head: String) -> Translated {
        Translated { name, at, head, shared: Vec::new(), units: Vec::new(), skipped: 0 }
    }

    /// The file's .slo text with the units `keep` says, formatted; an
    /// `Err` (the text does not parse) is an importer bug.
    pub fn text(&self, keep: &[bool]) -> Result<String, String> {
        let kept: Vec<&Unit> = self.units.iter().zip(keep).filter(|(_, k)| **k).map(|(u, _)| u).collect();
        let mut t = self.head.clone();
        for (key, text) in &self.shared {
            if kept.iter().any(|u| u.uses.contains(key)) {
                t.push_str(text);
            }
        }
        for u in kept {
            t.push_str(&u.text);
        }
        formatted(&t)
    }
}

/// Diagnostics about one input file, with spans found by key.
pub struct Input<'a> {
    pub id: SourceId,
    pub text: &'a str,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Input<'a> {
    pub fn new(sources: &mut SourceMap, name: &str, text: &'a str) -> Input<'a> {
        let id = sources.add(Source::new(name, text.to_string(), Origin::User));
        Input { id, text, diags: Vec::new() }
    }

    /// The span of `key:` (the first after byte `from`), or of the whole
    /// line at `from` when the key is not found.
    pub fn key(&self, from: usize, key: &str) -> Span {
        let t = self.text;
        let from = floor(t, from);
        if !key.is_empty() {
            let mut at = from;
            while let Some(p) = t[at..].find(key) {
                let s = at + p;
                let e = s + key.len();
                let before_ok = s == 0 || !t.as_bytes()[s - 1].is_ascii_alphanumeric() && t.as_bytes()[s - 1] != b'_';
                let rest = t[e..].trim_start_matches(['"', '\'']);
                if before_ok && rest.trim_start_matches(' ').starts_with(':') {
                    return Span::new(self.id, s, e);
                }
                at = e;
            }
        }
        let line_end = t[from..].find('\n').map_or(t.len(), |p| from + p);
        Span::new(self.id, from, line_end)
    }

    /// Where `name: <value>` (a list item's identifying key) starts.
    pub(crate) fn anchor(&self, from: usize, key: &str, value: &str) -> usize {
        let t = self.text;
        let from = floor(t, from);
        if value.is_empty() {
            return from;
        }
        let mut at = from;
        while let Some(p) = t[at..].find(value) {
            let s = at + p;
            let line_start = t[..s].rfind('\n').map_or(0, |n| n + 1);
            if t[line_start..s].contains(key) {
                return line_start;
            }
            at = s + value.len();
        }
        from
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>, label: &str, help: impl Into<String>) {
        self.diags.push(Diagnostic::error("slo::interop::untranslatable", span, message, label).with_help(help));
    }

    pub fn warn(&mut self, span: Span, message: impl Into<String>, label: &str, help: impl Into<String>) {
        self.diags.push(Diagnostic::warning("slo::interop::changed", span, message, label).with_help(help));
    }

    pub fn invalid(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.diags.push(Diagnostic::error("slo::interop::invalid", span, message, "here").with_help(help));
    }

    /// How many errors were reported so far: an SLO whose translation
    /// added one is skipped.
    pub fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// The SLO `name` (its YAML key at `span`) is skipped; the errors
    /// before this one say why, and the file's other SLOs are kept.
    pub fn skipped(&mut self, span: Span, name: &str) {
        self.diags.push(
            Diagnostic::error(
                "slo::interop::untranslatable",
                span,
                format!("SLO `{name}` is not imported: it does not translate (errors above)"),
                "skipped",
            )
            .with_help("fix what the errors above point at, or write this SLO by hand; the other SLOs are imported"),
        );
    }
}

/// A .slo identifier from a name (`requests-availability` →
/// `requests_availability`), and whether it had to change.
pub(crate) fn ident(name: &str) -> (String, bool) {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    let changed = s != name;
    (s, changed)
}

/// The largest char boundary at or before `i` (within the text).
fn floor(t: &str, i: usize) -> usize {
    let mut i = i.min(t.len());
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// An alert name: ASCII letters, digits and `_`, case kept.
pub(crate) fn alert_ident(name: &str) -> String {
    let mut s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'A');
    }
    s
}

/// A .slo string literal.
pub(crate) fn lit(s: &str) -> String {
    quote(s)
}

/// `{ k: "v", … }` (keys quoted when they are not identifiers).
pub(crate) fn map_lit(m: &[(String, String)]) -> String {
    let items: Vec<String> = m
        .iter()
        .map(|(k, v)| {
            let key = if ident(k).1 { lit(k) } else { k.clone() };
            format!("{key}: {}", lit(v))
        })
        .collect();
    format!("{{ {} }}", items.join(", "))
}

/// A percentage literal: 0.999 → `99.9%`.
pub(crate) fn pct(ratio: f64) -> String {
    let s = format!("{:.6}", ratio * 100.0);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// A duration literal in the largest unit that divides it.
pub(crate) fn dur(ms: u64) -> String {
    crate::units::fmt_duration(ms)
}

/// String pairs of a YAML mapping (non-string scalars are stringified).
pub(crate) fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Mapping(m)) = v else { return Vec::new() };
    let mut out: Vec<(String, String)> = m
        .iter()
        .filter_map(|(k, v)| {
            let k = scalar(k)?;
            let v = scalar(v)?;
            Some((k, v))
        })
        .collect();
    out.sort();
    out
}

pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    match v {
        Value::Mapping(m) => m.get(key),
        _ => None,
    }
}

pub(crate) fn get_str(v: &Value, key: &str) -> Option<String> {
    get(v, key).and_then(scalar)
}

/// A PromQL vector selector as an SLI selector.
pub(crate) fn selector_of(vs: &promql_parser::parser::VectorSelector) -> Result<ir::Selector, String> {
    use promql_parser::label::MatchOp;
    if vs.offset.is_some() || vs.at.is_some() {
        return Err("`offset` and `@` have no counterpart in an SLI selector".into());
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err("`or` inside a selector has no counterpart in an SLI selector".into());
    }
    let mut metric = vs.name.clone();
    let mut matchers = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == "__name__" && matches!(m.op, MatchOp::Equal) {
            if metric.is_none() {
                metric = Some(m.value.clone());
            }
            continue;
        }
        let op = match m.op {
            MatchOp::Equal => ir::MatchOp::Eq,
            MatchOp::NotEqual => ir::MatchOp::Ne,
            MatchOp::Re(_) => ir::MatchOp::Re,
            MatchOp::NotRe(_) => ir::MatchOp::NotRe,
        };
        // Parsed from `goregex::protect_promql` text: take the pattern back.
        let restored = match op {
            ir::MatchOp::Re | ir::MatchOp::NotRe => crate::goregex::protected_pattern(&m.value),
            ir::MatchOp::Eq | ir::MatchOp::Ne => None,
        };
        let value = restored.unwrap_or_else(|| m.value.clone());
        matchers.push(ir::Matcher { label: m.name.clone(), op, value });
    }
    if metric.is_none() {
        return Err("the selector names no metric".into());
    }
    Ok(ir::Selector { metric, matchers })
}

/// The counter selector of `sum(rate(SEL[w]))` (or `increase`), the shape
/// an events SLI compiles to; anything else cannot be an SLI selector.
pub fn summed_rate_selector(query: &str) -> Result<String, String> {
    match summed_rate_grouped(query)? {
        (s, by) if by.is_empty() => Ok(s),
        _ => Err("`sum by (…)` splits the SLI into groups: use group_by in the .slo by hand".into()),
    }
}

/// [`summed_rate_selector`] that also takes `sum by (l, …)`: the selector
/// and the grouping labels (empty without `by`), which are the SLO's
/// `group_by`. `sum without (…)` has no counterpart.
pub(crate) fn summed_rate_grouped(query: &str) -> Result<(String, Vec<String>), String> {
    // Regexes are Go's: promql-parser must not compile them with Rust's rules.
    let e = crate::goregex::parse_promql(query).map_err(|e| format!("not valid PromQL: {e}"))?;
    let by = match strip(&e) {
        promql_parser::parser::Expr::Aggregate(a) => match &a.modifier {
            None => vec![],
            Some(promql_parser::parser::LabelModifier::Include(l)) => l.labels.clone(),
            Some(promql_parser::parser::LabelModifier::Exclude(_)) => {
                return Err(
                    "`sum without (…)` has no counterpart in .slo: group by the labels you keep (`sum by`)".into()
                )
            }
        },
        _ => vec![],
    };
    summed_rate(&e, true).map(|s| (crate::promql::expr::selector(&s, &[]), by))
}

pub(crate) fn strip(e: &promql_parser::parser::Expr) -> &promql_parser::parser::Expr {
    match e {
        promql_parser::parser::Expr::Paren(p) => strip(&p.expr),
        e => e,
    }
}

/// The selector of `sum(rate(SEL[w]))` (or `increase`; with `grouped`,
/// also `sum by (…)`, whose labels the caller reads).
fn summed_rate(e: &promql_parser::parser::Expr, grouped: bool) -> Result<ir::Selector, String> {
    use promql_parser::parser::Expr;
    let Expr::Aggregate(a) = strip(e) else {
        return Err("expected `sum(rate(<selector>[…]))`".into());
    };
    if a.op.to_string() != "sum" {
        return Err(format!("expected `sum(…)`, found `{}(…)`", a.op));
    }
    if a.modifier.is_some() && !grouped {
        return Err("`sum by/without (…)` splits the SLI into groups: use group_by in the .slo by hand".into());
    }
    let Expr::Call(c) = strip(&a.expr) else {
        return Err("expected `rate(<selector>[…])` inside `sum`".into());
    };
    if c.func.name != "rate" && c.func.name != "increase" {
        return Err(format!("expected `rate` or `increase`, found `{}`", c.func.name));
    }
    let Some(Expr::MatrixSelector(ms)) = c.args.args.first().map(|b| strip(b)) else {
        return Err("expected a range selector inside `rate`".into());
    };
    selector_of(&ms.vs)
}

/// The latency SLI hidden in an events pair, the most common way Sloth
/// specs spell one: errors `sum(rate(H_count[w])) - sum(rate(H_bucket{le="X"}[w]))`
/// over `sum(rate(H_count[w]))` (same matchers) are the requests of `H`
/// slower than X. Gives the histogram (without suffix) and X in ms.
pub(crate) fn latency_from_events(bad: &str, total: &str) -> Option<(ir::Selector, u64)> {
    use promql_parser::parser::Expr;
    let e = crate::goregex::parse_promql(bad).ok()?;
    let Expr::Binary(b) = strip(&e) else { return None };
    if b.op.to_string() != "-" || b.modifier.is_some() {
        return None;
    }
    let count = summed_rate(&b.lhs, false).ok()?;
    let bucket = summed_rate(&b.rhs, false).ok()?;
    let total = summed_rate(&crate::goregex::parse_promql(total).ok()?, false).ok()?;
    let base = count.metric.as_deref()?.strip_suffix("_count")?;
    if bucket.metric.as_deref()? != format!("{base}_bucket") || total != count {
        return None;
    }
    let (le, rest): (Vec<&ir::Matcher>, Vec<&ir::Matcher>) = bucket.matchers.iter().partition(|m| m.label == "le");
    let [le] = le.as_slice() else { return None };
    let same = |a: &[&ir::Matcher], b: &[ir::Matcher]| a.len() == b.len() && a.iter().all(|m| b.contains(m));
    if le.op != ir::MatchOp::Eq || !same(&rest, &count.matchers) {
        return None;
    }
    let seconds: f64 = le.value.trim().parse().ok()?;
    let ms = (seconds * 1000.0).round();
    if !(1.0..1e12).contains(&ms) || (ms / 1000.0 - seconds).abs() > 1e-9 {
        return None;
    }
    Some((ir::Selector { metric: Some(base.to_string()), matchers: count.matchers }, ms as u64))
}

/// Formats generated .slo text with `slo fmt`'s rules; on a parse failure
/// (a bug in the importer) returns the raw text with the reason.
pub fn formatted(text: &str) -> Result<String, String> {
    crate::fmt::format_source(text).map_err(|ds| {
        ds.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ") + "\n--- generated text ---\n" + text
    })
}

pub(crate) const UNCHECKED: &str = "slo::interop::unchecked";

/// What an import writes: the files, and what to show after the
/// importers' own diagnostics.
pub struct Finished {
    /// (file name, formatted .slo text): each passes `slo check`, together.
    pub files: Vec<(String, String)>,
    /// Check errors on the generated text, then the SLOs and files they
    /// dropped (on the inputs), each with its own sources.
    pub reports: Vec<(Vec<Diagnostic>, SourceMap)>,
    /// SLOs in the inputs, and how many of them are written.
    pub slos: usize,
    pub imported: usize,
    /// Everything translated and checked, no error anywhere: exit 0.
    pub complete: bool,
}

impl Finished {
    /// `imported 9 of 10 SLOs; skipped 1 (errors above)`.
    pub fn summary(&self) -> String {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        let head = format!("imported {} of {} SLO{}", self.imported, self.slos, s(self.slos));
        match (self.complete, self.slos - self.imported) {
            (true, _) => head,
            (false, 0) => format!("{head}; errors above"),
            (false, n) => format!("{head}; skipped {n} (errors above)"),
        }
    }
}

/// The invariant of every import: what it writes passes `slo check`.
/// The translated files are checked together, in memory, as `slo check`
/// would check them in the output directory. An error inside an SLO's
/// declarations (or an alert policy only SLOs call) drops those SLOs, each
/// with a `slo::interop::unchecked` error at its YAML key, and the rest is
/// checked again; an error that belongs to no SLO (the service, …) drops
/// its whole file, and one in no file all of them. A file whose every SLO
/// was dropped is not written. `Err` when two inputs translate to the
/// same file.
pub fn finish(imports: Vec<Imported>) -> Result<Finished, String> {
    struct File {
        input: usize,
        t: Translated,
        keep: Vec<bool>,
        alive: bool,
    }
    let mut errors = imports.iter().any(Imported::has_errors);
    let mut slos = 0;
    let mut files: Vec<File> = Vec::new();
    let mut inputs: Vec<(Vec<Diagnostic>, SourceMap)> = Vec::new();
    for (i, imp) in imports.into_iter().enumerate() {
        slos += imp.skipped;
        for t in imp.files {
            slos += t.skipped + t.units.len();
            if files.iter().any(|f| f.t.name == t.name) {
                return Err(format!(
                    "two inputs define the service of `{}`: import them into separate directories, or merge the specs into one file",
                    t.name
                ));
            }
            files.push(File { input: i, keep: vec![true; t.units.len()], alive: true, t });
        }
        inputs.push((Vec::new(), imp.sources));
    }
    let mut reports = Vec::new();
    let written = loop {
        // The text of every file still written; a file whose text does not
        // parse (an importer bug) loses the units that do not parse alone.
        let mut texts: Vec<(usize, String, String)> = Vec::new();
        for (i, f) in files.iter_mut().enumerate() {
            let had_units = !f.t.units.is_empty() || f.t.skipped > 0;
            if !f.alive || had_units && !f.keep.contains(&true) {
                continue;
            }
            let text = match f.t.text(&f.keep) {
                Ok(t) => Ok(t),
                Err(why) => {
                    for k in 0..f.keep.len() {
                        let only: Vec<bool> = (0..f.keep.len()).map(|j| j == k).collect();
                        if f.keep[k] && f.t.text(&only).is_err() {
                            f.keep[k] = false;
                            let u = &f.t.units[k];
                            inputs[f.input].0.push(
                                Diagnostic::error(
                                    "slo::interop::invalid",
                                    u.at,
                                    format!("internal error: the .slo generated for SLO `{}` does not parse", u.name),
                                    "not imported",
                                )
                                .with_help(format!("please report this: {why}")),
                            );
                        }
                    }
                    f.t.text(&f.keep)
                }
            };
            match text {
                Ok(t) if !had_units || f.keep.contains(&true) => texts.push((i, f.t.name.clone(), t)),
                Ok(_) => {}
                Err(why) => {
                    f.alive = false;
                    inputs[f.input].0.push(
                        Diagnostic::error(
                            "slo::interop::invalid",
                            f.t.at,
                            format!("internal error: the generated {} does not parse", f.t.name),
                            "not imported",
                        )
                        .with_help(format!("please report this: {why}")),
                    );
                }
            }
            errors |= !f.alive || f.keep.contains(&false);
        }
        if texts.is_empty() {
            break texts;
        }
        let named: Vec<(&str, &str)> = texts.iter().map(|(_, n, t)| (n.as_str(), t.as_str())).collect();
        let loaded = crate::driver::load_strs(&named);
        let (_, diags) = crate::driver::check(&loaded);
        let errs: Vec<Diagnostic> = diags.0.into_iter().filter(Diagnostic::is_error).collect();
        if errs.is_empty() {
            break texts;
        }
        errors = true;
        // Which file, and which of its declarations, each error is in.
        let mut drop: Vec<(usize, usize)> = Vec::new(); // (file, unit)
        let mut fail: Vec<usize> = Vec::new(); // files
        for d in &errs {
            let module = loaded.modules.iter().find(|m| m.source == d.span.source && m.root);
            let file = module.and_then(|m| texts.iter().find(|(_, n, _)| *n == m.name).map(|(i, _, _)| (*i, m)));
            let Some((fi, m)) = file else {
                fail.extend(texts.iter().map(|(i, _, _)| *i));
                continue;
            };
            let key = m.file.items.iter().find(|it| it.span().start <= d.span.start && d.span.end <= it.span().end);
            let key = match key {
                Some(crate::syntax::ast::Item::Slo(s)) => Some(format!("slo {}", s.name.name)),
                Some(crate::syntax::ast::Item::Alerts(a)) => Some(format!("alerts {}", a.name.name)),
                _ => None,
            };
            let f = &files[fi];
            let owners: Vec<usize> = key
                .map(|k| {
                    (0..f.t.units.len())
                        .filter(|&u| f.keep[u] && (f.t.units[u].decls.contains(&k) || f.t.units[u].uses.contains(&k)))
                        .collect()
                })
                .unwrap_or_default();
            if owners.is_empty() {
                fail.push(fi);
            }
            drop.extend(owners.into_iter().map(|u| (fi, u)));
        }
        reports.push((errs, loaded.sources));
        drop.sort();
        drop.dedup();
        fail.sort();
        fail.dedup();
        if fail.is_empty() && drop.is_empty() {
            // Cannot happen (every error is placed); never loop.
            break Vec::new();
        }
        for (fi, u) in drop {
            let f = &mut files[fi];
            if f.keep[u] && !fail.contains(&fi) {
                f.keep[u] = false;
                let u = &f.t.units[u];
                inputs[f.input].0.push(
                    Diagnostic::error(
                        UNCHECKED,
                        u.at,
                        format!(
                            "SLO `{}` is not imported: the .slo translated from it does not pass `slo check` (errors above)",
                            u.name
                        ),
                        "not imported",
                    )
                    .with_help("rename or remove what the errors point at in the input (the generated names and labels come from it); the other SLOs are imported"),
                );
            }
        }
        for fi in fail {
            let f = &mut files[fi];
            f.alive = false;
            inputs[f.input].0.push(
                Diagnostic::error(
                    UNCHECKED,
                    f.t.at,
                    format!(
                        "{} is not written: the .slo translated for this service does not pass `slo check` (errors above)",
                        f.t.name
                    ),
                    "not imported",
                )
                .with_help("rename or remove what the errors point at in the input (the generated names and labels come from it)"),
            );
        }
    };
    let imported = written.iter().map(|(i, _, _)| files[*i].keep.iter().filter(|k| **k).count()).sum();
    reports.extend(inputs.into_iter().filter(|(d, _)| !d.is_empty()));
    Ok(Finished {
        files: written.into_iter().map(|(_, n, t)| (n, t)).collect(),
        reports,
        slos,
        imported,
        complete: !errors && imported == slos,
    })
}

/// The text of an input file, or (not UTF-8) the import's result: a
/// diagnostic at the first byte that is not UTF-8, nothing translated.
pub fn text(name: &str, bytes: Vec<u8>) -> Result<String, Imported> {
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let mut sources = SourceMap::new();
        let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
        // The replacement character is 3 bytes where the bad byte was 1: the span covers it.
        let end = lossy[off..].chars().next().map_or(off, |c| off + c.len_utf8());
        let id = sources.add(Source::new(name, lossy, Origin::User));
        let d = Diagnostic::error(
            NOT_UTF8,
            Span::new(id, off, end),
            "the file is not valid UTF-8",
            "invalid UTF-8 starts here",
        )
        .with_help(format!("YAML specs are UTF-8; the first invalid byte is at offset {off}: save the file as UTF-8"));
        Imported { files: Vec::new(), diagnostics: vec![d], sources, skipped: 0 }
    })
}

pub(crate) const NOT_UTF8: &str = "slo::interop::not_utf8";

/// Splits multi-document YAML and parses each document (each first
/// through [`crate::yamlin`]'s limits).
pub fn documents(input: &mut Input) -> Vec<(usize, Value)> {
    let mut out = Vec::new();
    let mut offset = 0;
    let docs: Vec<&str> = split_docs(input.text);
    for d in docs {
        let start = offset;
        offset += d.len();
        if d.trim().is_empty()
            || d.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
        {
            continue;
        }
        match crate::yamlin::value(d) {
            Ok(v) => out.push((start, v)),
            Err(crate::yamlin::Error::Refused(r)) => {
                // Past a limit: the rest of the file is not read either.
                let at = floor(input.text, start + r.offset);
                let next = input.text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                input.diags.push(
                    Diagnostic::error(r.code, Span::new(input.id, at, next), r.message, r.label).with_help(r.help),
                );
                return out;
            }
            Err(crate::yamlin::Error::Yaml(e)) => {
                let at = floor(input.text, e.location().map_or(start, |l| start + l.index()));
                let next = input.text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                let span = Span::new(input.id, at, next);
                input.invalid(span, format!("not valid YAML: {e}"), "fix the YAML syntax");
            }
        }
    }
    out
}

/// Document boundaries (`---` lines), keeping byte offsets.
fn split_docs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end();
        let marker = l == "---" || l.starts_with("--- ") || l.starts_with("---\t");
        if marker && pos > start {
            out.push(&text[start..pos]);
            start = pos;
        }
        pos += line.len();
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloth_queries_become_selectors() {
        let s = summed_rate_selector(r#"sum(rate(http_requests_total{job="a",code=~"(5..|429)"}[5m]))"#).unwrap();
        assert_eq!(s, r#"http_requests_total{job="a", code=~"(5..|429)"}"#);
        assert!(summed_rate_selector("sum by (x) (rate(a[5m]))").unwrap_err().contains("group_by"));
        assert!(summed_rate_selector("sum(rate(a[5m])) / 2").is_err());
        assert!(summed_rate_selector("avg(rate(a[5m]))").is_err());
    }

    #[test]
    fn names_become_identifiers() {
        assert_eq!(ident("requests-availability"), ("requests_availability".into(), true));
        assert_eq!(ident("api"), ("api".into(), false));
        assert_eq!(ident("9lives"), ("_9lives".into(), true));
        assert_eq!(pct(0.999), "99.9%");
        assert_eq!(pct(0.95), "95%");
    }
}
