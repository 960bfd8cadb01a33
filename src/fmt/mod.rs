//! `slo fmt`: the canonical layout of a `.slo` file.
//!
//! Printed from the AST, so layout is decided here and not by the input;
//! literals keep their spelling (`99.90%` stays `99.90%`, strings keep their
//! quotes and escapes). Comments, which the grammar skips, are recovered by
//! [`crate::syntax::comments`] and woven back in by position: a comment
//! before a declaration or entry stays before it, one at the end of a line
//! stays at the end of that line, and one inside a value moves to just
//! before its entry. Single blank lines between entries are kept. The
//! output parses to the same AST modulo spans (tested over every example),
//! and formatting is idempotent.

use crate::syntax::ast::*;
use crate::syntax::comments::{comments, Comment};

const WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Formats a parsed file. `text` is the file's source (for comments and
/// blank lines).
pub fn format(text: &str, file: &File) -> String {
    let mut p = Printer { text, comments: comments(text), next: 0, out: String::new(), last_end: 0 };
    let mut prev_import = false;
    for (i, item) in file.items.iter().enumerate() {
        let is_import = matches!(item, Item::Import(_));
        let start = item.span().start as usize;
        if i > 0 {
            // Imports stay together unless the source separated them.
            let blank = !(prev_import && is_import) || p.blank_between(p.last_end, p.first_pos(start));
            if blank {
                p.out.push('\n');
            }
        }
        let before = p.next;
        p.leading(start, 0, i == 0);
        if p.next > before && p.blank_between(p.last_end, start) {
            p.out.push('\n');
        }
        // Comments inside a declaration's head (call arguments, import
        // lists) move above it.
        p.leading(header_end(item), 0, true);
        p.item(item);
        let next = file.items.get(i + 1).map_or(usize::MAX, |n| n.span().start as usize);
        p.trailing(item.span().end as usize, next);
        p.out.push('\n');
        p.last_end = item.span().end as usize;
        prev_import = is_import;
    }
    // Comments after the last item.
    if p.next < p.comments.len() {
        if !file.items.is_empty() {
            p.out.push('\n');
        }
        p.leading(usize::MAX, 0, file.items.is_empty());
    }
    p.out
}

/// Where a declaration's head ends: its block's `{`, or its end.
fn header_end(item: &Item) -> usize {
    let block = match item {
        Item::Service(s) => Some(&s.body),
        Item::Slo(s) => match &s.body {
            SloBody::Block(b) => Some(b),
            SloBody::Instance { overrides, .. } => overrides.as_ref(),
        },
        Item::Template(t) => Some(&t.body),
        Item::Alerts(a) => Some(&a.body),
        Item::Policy(p) => Some(&p.body),
        Item::Import(_) => None,
    };
    block.map_or(item.span().end as usize, |b| b.span.start as usize)
}

struct Printer<'a> {
    text: &'a str,
    comments: Vec<Comment>,
    next: usize,
    out: String,
    /// Source offset of the last printed node or comment.
    last_end: usize,
}

impl Printer<'_> {
    /// Whether the source has an empty line between offsets `a` and `b`.
    fn blank_between(&self, a: usize, b: usize) -> bool {
        let s = self.text.get(a.min(b)..b.min(self.text.len())).unwrap_or("");
        let lines: Vec<&str> = s.split('\n').collect();
        // Lines strictly between the first and the last newline-separated piece.
        lines.len() > 2 && lines[1..lines.len() - 1].iter().any(|l| l.trim().is_empty())
    }

    /// Where the next thing at or before `pos` starts (a comment or `pos`).
    fn first_pos(&self, pos: usize) -> usize {
        match self.comments.get(self.next) {
            Some(c) if c.start < pos => c.start,
            _ => pos,
        }
    }

    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.out.push_str(INDENT);
        }
    }

    /// Prints every pending comment that starts before `pos`, each on its
    /// own line, keeping a blank line where the source had one.
    fn leading(&mut self, pos: usize, level: usize, first: bool) {
        let mut first = first;
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            let c = c.clone();
            if !first
                && self.blank_between(self.last_end, c.start)
                && !self.out.ends_with("\n\n")
                && !self.out.ends_with("{\n")
            {
                self.out.push('\n');
            }
            self.indent(level);
            self.out.push_str("//");
            self.out.push_str(&c.text);
            self.out.push('\n');
            self.last_end = c.end;
            self.next += 1;
            first = false;
        }
    }

    /// A comment on the same source line right after `end`, unless another
    /// node (starting at `limit`) stands between them.
    fn trailing(&mut self, end: usize, limit: usize) {
        if let Some(c) = self.comments.get(self.next) {
            let between = self.text.get(end..c.start).unwrap_or("\n");
            if c.start >= end && c.start < limit && !between.contains('\n') {
                self.out.push_str(" //");
                self.out.push_str(&c.text);
                self.last_end = c.end;
                self.next += 1;
            }
        }
    }

    fn col(&self) -> usize {
        self.out.len() - self.out.rfind('\n').map_or(0, |i| i + 1)
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(i) => {
                self.out.push_str("import ");
                match &i.source {
                    ImportSource::Std(parts, _) => {
                        self.out.push_str("std");
                        for p in parts {
                            self.out.push('.');
                            self.out.push_str(&p.name);
                        }
                    }
                    ImportSource::File(s) => self.out.push_str(&s.raw),
                }
                if let Some(names) = &i.names {
                    let list: Vec<String> = names
                        .iter()
                        .map(|n| match &n.alias {
                            Some(a) => format!("{} as {}", n.name.name, a.name),
                            None => n.name.name.clone(),
                        })
                        .collect();
                    self.out.push_str(&format!(".{{{}}}", list.join(", ")));
                }
                if let Some(a) = &i.alias {
                    self.out.push_str(" as ");
                    self.out.push_str(&a.name);
                }
            }
            Item::Service(s) => {
                self.out.push_str(&format!("service {} ", s.name.name));
                self.block(&s.body, 0);
            }
            Item::Slo(s) => {
                self.out.push_str(&format!("slo {} for {} ", s.name.name, s.service.name));
                match &s.body {
                    SloBody::Block(b) => self.block(b, 0),
                    SloBody::Instance { call, overrides } => {
                        self.out.push_str("= ");
                        let c = self.call(call);
                        self.out.push_str(&c);
                        if let Some(b) = overrides {
                            self.out.push(' ');
                            self.block(b, 0);
                        }
                    }
                }
            }
            Item::Template(t) => {
                self.out.push_str(&format!("template {}{} ", t.name.name, self.params(&t.params)));
                self.block(&t.body, 0);
            }
            Item::Alerts(a) => {
                let params = a.params.as_ref().map(|p| self.params(p)).unwrap_or_default();
                self.out.push_str(&format!("alerts {}{} ", a.name.name, params));
                self.block(&a.body, 0);
            }
            Item::Policy(p) => {
                self.out.push_str(&format!("policy {}", p.name.name));
                if let Some(ps) = &p.params {
                    let s = self.params(ps);
                    self.out.push_str(&s);
                }
                if let Some(t) = &p.target {
                    self.out.push_str(&format!(" for {}", t.dotted()));
                }
                self.out.push(' ');
                self.block(&p.body, 0);
            }
        }
    }

    fn params(&self, ps: &[Param]) -> String {
        let list: Vec<String> = ps
            .iter()
            .map(|p| match &p.default {
                Some(d) => format!("{}: {} = {}", p.name.name, p.ty.name, self.value_inline(d)),
                None => format!("{}: {}", p.name.name, p.ty.name),
            })
            .collect();
        format!("({})", list.join(", "))
    }

    fn block(&mut self, b: &Block, level: usize) {
        let inner_comments = self.comments.get(self.next).is_some_and(|c| c.start < b.span.end as usize);
        if b.entries.is_empty() && !inner_comments {
            self.out.push_str("{}");
            self.last_end = b.span.end as usize;
            return;
        }
        self.out.push_str("{\n");
        self.last_end = b.span.start as usize + 1;
        for (i, e) in b.entries.iter().enumerate() {
            let start = e.span().start as usize;
            if i > 0 && self.blank_between(self.last_end, self.first_pos(start)) {
                self.out.push('\n');
            }
            // Comments before the entry, and those inside a plain entry's value.
            let header_end = e.block().map_or(e.span().end as usize, |b| b.span.start as usize);
            let before = self.next;
            self.leading(start, level + 1, true);
            if self.next > before && self.blank_between(self.last_end, start) {
                self.out.push('\n');
            }
            self.leading(header_end, level + 1, true);
            self.indent(level + 1);
            self.entry(e, level + 1);
            let next = b.entries.get(i + 1).map_or(b.span.end as usize, |n| n.span().start as usize);
            self.trailing(e.span().end as usize, next);
            self.out.push('\n');
            self.last_end = e.span().end as usize;
        }
        self.leading(b.span.end as usize, level + 1, false);
        self.indent(level);
        self.out.push('}');
        self.last_end = b.span.end as usize;
    }

    fn entry(&mut self, e: &Entry, level: usize) {
        match e {
            Entry::Field(f) => {
                self.out.push_str(&f.name.name);
                self.out.push_str(" = ");
                self.value(&f.value, level);
            }
            Entry::Sli(s) => {
                self.out.push_str("sli ");
                self.out.push_str(&s.kind.name);
                if let Some(a) = &s.arg {
                    self.out.push(' ');
                    self.out.push_str(&a.text);
                }
                self.out.push(' ');
                self.block(&s.body, level);
            }
            Entry::Rule(r) => {
                self.out.push_str(if r.kind == RuleKind::Tier { "tier " } else { "threshold " });
                self.out.push_str(&r.name.name);
                self.out.push(' ');
                self.block(&r.body, level);
            }
            Entry::When(w) => {
                self.out.push_str("when ");
                let c = self.cond(&w.cond);
                self.out.push_str(&c);
                if !w.actions.is_empty() {
                    let acts: Vec<String> = w
                        .actions
                        .iter()
                        .map(|a| match &a.arg {
                            Some(v) => format!("{} {}", a.kind.name, self.value_inline(v)),
                            None => a.kind.name.clone(),
                        })
                        .collect();
                    self.out.push_str(" => ");
                    self.out.push_str(&acts.join(", "));
                }
                if let Some(s) = &w.severity {
                    self.out.push_str(" severity ");
                    self.out.push_str(&s.name);
                }
                if let Some(n) = &w.name {
                    self.out.push_str(" as ");
                    self.out.push_str(&n.name);
                }
            }
            Entry::GoodWhen(c, _) => {
                self.out.push_str("good when ");
                let c = self.cond(c);
                self.out.push_str(&c);
            }
        }
    }

    fn cond(&self, c: &Cond) -> String {
        c.terms
            .iter()
            .map(|t| match t {
                Comparison::Compare { lhs, op, rhs, .. } => {
                    format!("{} {} {}", self.value_inline(lhs), op.as_str(), self.value_inline(rhs))
                }
                Comparison::Between { lhs, low, high, .. } => format!(
                    "{} between {} and {}",
                    self.value_inline(lhs),
                    self.value_inline(low),
                    self.value_inline(high)
                ),
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// Prints a value at the cursor, breaking lists and maps over lines
    /// when they do not fit.
    fn value(&mut self, v: &Value, level: usize) {
        let inline = self.value_inline(v);
        if self.col() + inline.len() <= WIDTH && !inline.contains('\n') {
            self.out.push_str(&inline);
            return;
        }
        match &v.kind {
            ValueKind::List(items) if !items.is_empty() => {
                self.out.push_str("[\n");
                for it in items {
                    self.indent(level + 1);
                    self.value(it, level + 1);
                    self.out.push_str(",\n");
                }
                self.indent(level);
                self.out.push(']');
            }
            ValueKind::Map(entries) if !entries.is_empty() => {
                self.out.push_str("{\n");
                for e in entries {
                    self.indent(level + 1);
                    self.out.push_str(&self.map_key(&e.key));
                    self.out.push_str(": ");
                    self.value(&e.value, level + 1);
                    self.out.push_str(",\n");
                }
                self.indent(level);
                self.out.push('}');
            }
            _ => self.out.push_str(&inline),
        }
    }

    fn map_key(&self, k: &MapKey) -> String {
        match k {
            MapKey::Path(p) => p.dotted(),
            MapKey::String(s) => s.raw.clone(),
        }
    }

    fn call(&self, c: &Call) -> String {
        let args: Vec<String> = c
            .args
            .iter()
            .map(|a| match &a.name {
                Some(n) => format!("{}: {}", n.name, self.value_inline(&a.value)),
                None => self.value_inline(&a.value),
            })
            .collect();
        format!("{}({})", c.callee.dotted(), args.join(", "))
    }

    fn value_inline(&self, v: &Value) -> String {
        match &v.kind {
            ValueKind::Number(l)
            | ValueKind::Percent(l)
            | ValueKind::Factor(l)
            | ValueKind::Duration(l)
            | ValueKind::Rate(l) => l.text.clone(),
            ValueKind::String(s) => s.raw.clone(),
            ValueKind::Bool(b) => b.to_string(),
            ValueKind::List(items) => {
                format!("[{}]", items.iter().map(|i| self.value_inline(i)).collect::<Vec<_>>().join(", "))
            }
            ValueKind::Map(entries) if entries.is_empty() => "{}".into(),
            ValueKind::Map(entries) => format!(
                "{{ {} }}",
                entries
                    .iter()
                    .map(|e| format!("{}: {}", self.map_key(&e.key), self.value_inline(&e.value)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ValueKind::Call(c) => self.call(c),
            ValueKind::Selector(s) => {
                let mut out = s.metric.as_ref().map(|m| m.name.clone()).unwrap_or_default();
                if s.braces {
                    let ms: Vec<String> = s
                        .matchers
                        .iter()
                        .map(|m| {
                            let v = match &m.value {
                                MatcherValue::String(st) => st.raw.clone(),
                                MatcherValue::Param(p) => p.name.clone(),
                            };
                            format!("{}{}{}", m.label.name, m.op.as_str(), v)
                        })
                        .collect();
                    out.push_str(&format!("{{{}}}", ms.join(", ")));
                }
                out
            }
            ValueKind::Path(p) => p.dotted(),
            ValueKind::Over(t, w) => {
                let w = match &**w {
                    Window::Value(v) => self.value_inline(v),
                    Window::Calendar { unit, tz, .. } => match tz {
                        Some(tz) => format!("calendar {} in {}", unit.name, tz.raw),
                        None => format!("calendar {}", unit.name),
                    },
                };
                format!("{} over {}", self.value_inline(t), w)
            }
            ValueKind::OfBudget(v) => format!("{} of budget", self.value_inline(v)),
            ValueKind::Pair(a, b) => format!("{} / {}", self.value_inline(a), self.value_inline(b)),
        }
    }
}

/// Parses and formats source text in one step.
pub fn format_source(text: &str) -> Result<String, Vec<crate::diag::Diagnostic>> {
    let file = crate::syntax::parse(crate::source::SourceId(0), text)?;
    Ok(format(text, &file))
}
