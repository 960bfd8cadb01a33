//! Values and their types: evaluating an AST value against the type its
//! position requires. Units are normalised here (percent → ratio, durations
//! → ms, rates → per second, latencies → seconds).

use super::error;
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast::{self, ValueKind};
use crate::units::{fmt_pct, percent_parts, PERCENT_PRECISION};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Number,
    Percent,
    Ratio,
    Factor,
    Duration,
    Latency,
    Rate,
    Bool,
    Selector,
    Labels,
    Alerts,
    Policy,
}

impl Ty {
    pub(crate) const NAMES: [(&'static str, Ty); 13] = [
        ("string", Ty::String),
        ("number", Ty::Number),
        ("percent", Ty::Percent),
        ("ratio", Ty::Ratio),
        ("factor", Ty::Factor),
        ("duration", Ty::Duration),
        ("latency", Ty::Latency),
        ("rate", Ty::Rate),
        ("bool", Ty::Bool),
        ("selector", Ty::Selector),
        ("labels", Ty::Labels),
        ("alerts", Ty::Alerts),
        ("policy", Ty::Policy),
    ];

    pub(crate) fn from_name(n: &str) -> Option<Ty> {
        Ty::NAMES.iter().find(|(k, _)| *k == n).map(|(_, t)| *t)
    }

    /// "a percent", for messages.
    pub(crate) fn article(self) -> &'static str {
        match self {
            Ty::String => "a string",
            Ty::Number => "a number",
            Ty::Percent => "a percent (like `99.9%`)",
            Ty::Ratio => "a ratio between 0 and 1",
            Ty::Factor => "a burn factor (like `14.4x`)",
            Ty::Duration => "a duration (like `5m`)",
            Ty::Latency => "a latency (like `500ms`)",
            Ty::Rate => "a rate (like `100/s`)",
            Ty::Bool => "`true` or `false`",
            Ty::Selector => "a metric selector (like `http_requests_total{job=\"api\"}`)",
            Ty::Labels => "a label map (like `{ team: \"sre\" }`)",
            Ty::Alerts => "an alert policy (like `google_28d()`)",
            Ty::Policy => "a budget policy (like `workbook()`)",
        }
    }

    /// Whether a value of type `self` may stand where `want` is expected.
    pub fn fits(self, want: Ty) -> bool {
        self == want || matches!((self, want), (Ty::Duration, Ty::Latency) | (Ty::Latency, Ty::Duration))
    }
}

/// An evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Num(f64),
    /// A percent, as a ratio (99.9% → 0.999).
    Pct(f64),
    Factor(f64),
    /// Milliseconds.
    Dur(u64),
    /// Per second.
    Rate(f64),
    Bool(bool),
    Selector(ir::Selector),
    Labels(ir::Labels),
    /// Instances of alert or budget policies (a list may hold several).
    Insts(Vec<Inst>),
}

/// A call to an alert policy or budget policy, with bound arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inst {
    pub decl: super::scope::DeclRef,
    /// Shared: every environment built from the instance points at it.
    pub args: std::rc::Rc<HashMap<String, Bound>>,
    pub span: Span,
}

/// A parameter binding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bound {
    pub val: Val,
    pub ty: Ty,
}

/// What names mean while evaluating: the module and bound parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    pub module: usize,
    pub params: std::rc::Rc<HashMap<String, Bound>>,
}

/// Describes what kind of literal a value is, for "found …" messages.
pub fn found(v: &ast::Value) -> &'static str {
    match &v.kind {
        ValueKind::Number(_) => "a number",
        ValueKind::Percent(_) => "a percent",
        ValueKind::Factor(_) => "a burn factor",
        ValueKind::Duration(_) => "a duration",
        ValueKind::Rate(_) => "a rate",
        ValueKind::String(_) => "a string",
        ValueKind::Bool(_) => "a boolean",
        ValueKind::List(_) => "a list",
        ValueKind::Map(_) => "a map",
        ValueKind::Call(_) => "a call",
        ValueKind::Selector(_) => "a selector",
        ValueKind::Path(_) => "a name",
        ValueKind::Over(..) => "an objective (`… over …`)",
        ValueKind::OfBudget(_) => "a budget share (`… of budget`)",
        ValueKind::Pair(..) => "a window pair (`… / …`)",
    }
}

pub(crate) fn num(lit: &ast::Lit, strip: &str, diags: &mut Diagnostics) -> Option<f64> {
    let t = lit.text.strip_suffix(strip).unwrap_or(&lit.text);
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        _ => {
            diags.push(crate::syntax::error::bad_number(lit.span, &lit.text));
            None
        }
    }
}

/// Parses `1h30m`, `500ms`, `28d` to milliseconds (PromQL units).
pub fn duration_ms(lit: &ast::Lit, diags: &mut Diagnostics) -> Option<u64> {
    match crate::units::duration_ms(&lit.text) {
        Ok(ms) => Some(ms),
        Err(_) => {
            diags.push(crate::syntax::error::bad_number(lit.span, &lit.text));
            None
        }
    }
}

pub(crate) fn rate_per_sec(lit: &ast::Lit, diags: &mut Diagnostics) -> Option<f64> {
    let (n, unit) = lit.text.split_once('/')?;
    let v: f64 = match n.parse::<f64>() {
        Ok(v) if v.is_finite() => v,
        _ => {
            diags.push(crate::syntax::error::bad_number(lit.span, &lit.text));
            return None;
        }
    };
    let per = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => 3600.0,
    };
    Some(v / per)
}

pub(crate) fn valid_label_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// The evaluator: needs the diagnostics sink and the environment.
pub(crate) struct Eval<'a> {
    pub diags: &'a mut Diagnostics,
    pub env: &'a Env,
}

impl Eval<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn mismatch(&mut self, v: &ast::Value, want: Ty) -> Option<Val> {
        let help = match (&v.kind, want) {
            (ValueKind::Number(l), Ty::Percent) => Some(format!(
                "percentages carry a `%`: write `{}%`",
                l.text
                    .parse::<f64>()
                    .map(|x| if x <= 1.0 { fmt_pct(x).trim_end_matches('%').to_string() } else { l.text.clone() })
                    .unwrap_or_else(|_| l.text.clone())
            )),
            (ValueKind::Number(l), Ty::Factor) => Some(format!("burn factors carry an `x`: write `{}x`", l.text)),
            (ValueKind::Number(l), Ty::Duration | Ty::Latency) => {
                Some(format!("give a unit: `{}s`, `{}m`, `{}ms`…", l.text, l.text, l.text))
            }
            (ValueKind::Percent(l), Ty::Ratio | Ty::Number) => {
                Some(format!("this position takes a plain number; `{}` is {}", l.text, Ty::Percent.article()))
            }
            (ValueKind::Percent(_), Ty::Factor) => Some(
                "a burn factor is written `14.4x`; to give a share of the budget write `2% of budget` in `burn`".into(),
            ),
            (ValueKind::Duration(l), Ty::Rate) => {
                Some(format!("a rate is a count per time unit, e.g. `100/s`; `{}` is a duration", l.text))
            }
            (ValueKind::Over(..), _) => Some("`over` belongs only in `objective = 99.9% over 28d`".into()),
            _ => None,
        };
        let mut d = error::mismatch(v.span, want.article(), found(v), help);
        // The unit the position wants, when the number can only have meant one spelling.
        let fix = match (&v.kind, want) {
            (ValueKind::Number(l), Ty::Percent) => {
                l.text.parse::<f64>().ok().map(|x| if x <= 1.0 { fmt_pct(x) } else { format!("{}%", l.text) })
            }
            (ValueKind::Number(l), Ty::Factor) => Some(format!("{}x", l.text)),
            _ => None,
        };
        if let Some(text) = fix {
            d = d.with_fix(format!("write `{text}`"), v.span, text);
        }
        self.push(d);
        None
    }

    /// Evaluates `v` as a value of type `want`.
    pub fn value(&mut self, v: &ast::Value, want: Ty) -> Option<Val> {
        match (&v.kind, want) {
            (ValueKind::Number(l), Ty::Number) => num(l, "", self.diags).map(Val::Num),
            (ValueKind::Number(l), Ty::Ratio) => {
                let x = num(l, "", self.diags)?;
                if !(0.0..=1.0).contains(&x) {
                    self.push(error::out_of_range(
                        "slo::value::ratio_range",
                        v.span,
                        format!("ratio {x} is not between 0 and 1"),
                        "outside [0, 1]",
                        "a ratio is a fraction; for a percentage write `99.9%`",
                    ));
                    return None;
                }
                Some(Val::Num(x))
            }
            (ValueKind::Percent(l), Ty::Percent) => {
                let x = num(l, "%", self.diags)?;
                let parts = percent_parts(l.text.trim_end_matches('%'));
                let above = parts.is_some_and(|p| p.vs_100 == std::cmp::Ordering::Greater);
                if !(0.0..=100.0).contains(&x) || above {
                    self.push(error::out_of_range(
                        "slo::value::percent_range",
                        v.span,
                        format!("{} is not between 0% and 100%", l.text),
                        "outside 0%–100%",
                        "percentages here are shares of a whole",
                    ));
                    return None;
                }
                // Exact decimal: "99.9e-2" parses to the double nearest 0.999,
                // where 99.9 / 100 would not.
                let Some(parts) = parts else { return Some(Val::Pct(x / 100.0)) };
                if !parts.precise() {
                    self.push(error::out_of_range(
                        PERCENT_PRECISION,
                        v.span,
                        format!(
                            "{} is below 100% by {:e}%, closer than a 64-bit float can hold",
                            l.text,
                            parts.complement * 100.0
                        ),
                        "its complement would be rounded",
                        "its share of the whole (e.g. an error budget) would be off by more than 1% or be 0; \
                         use at most 14 nines, e.g. 99.999999999999%",
                    ));
                    return None;
                }
                Some(Val::Pct(parts.ratio))
            }
            (ValueKind::Factor(l), Ty::Factor) => {
                let x = num(l, "x", self.diags)?;
                if x <= 0.0 {
                    self.push(error::out_of_range(
                        "slo::value::factor_range",
                        v.span,
                        format!("burn factor {} is not positive", l.text),
                        "must be above 0x",
                        "a burn factor of 1x spends the budget exactly over the SLO window; use a positive factor",
                    ));
                    return None;
                }
                Some(Val::Factor(x))
            }
            (ValueKind::Duration(l), Ty::Duration | Ty::Latency) => {
                let ms = duration_ms(l, self.diags)?;
                if want == Ty::Latency && ms == 0 {
                    self.push(error::out_of_range(
                        "slo::value::latency_range",
                        v.span,
                        "a latency threshold of 0 can never be met".into(),
                        "zero latency",
                        "use the histogram bucket boundary the SLO is about, e.g. `500ms`",
                    ));
                    return None;
                }
                Some(Val::Dur(ms))
            }
            (ValueKind::Rate(l), Ty::Rate) => rate_per_sec(l, self.diags).map(Val::Rate),
            (ValueKind::String(s), Ty::String) => Some(Val::Str(s.value.clone())),
            (ValueKind::Bool(b), Ty::Bool) => Some(Val::Bool(*b)),
            (ValueKind::Selector(s), Ty::Selector) => self.selector(s).map(Val::Selector),
            (ValueKind::Map(entries), Ty::Selector) if entries.is_empty() => {
                self.push(
                    Diagnostic::error(
                        "slo::selector::empty",
                        v.span,
                        "this selector matches every series",
                        "no metric name and no matcher",
                    )
                    .with_help("name the metric: `http_requests_total{job=\"api\"}`"),
                );
                None
            }
            (ValueKind::Map(entries), Ty::Labels) => self.labels(entries, "label").map(Val::Labels),
            (ValueKind::Path(p), _) if p.parts.len() == 1 && self.env.params.contains_key(&p.parts[0].name) => {
                let b = &self.env.params[&p.parts[0].name];
                if b.ty.fits(want) {
                    Some(b.val.clone())
                } else {
                    self.push(error::mismatch(
                        v.span,
                        want.article(),
                        b.ty.article(),
                        Some(format!("parameter `{}` is declared as {}", p.parts[0].name, b.ty.article())),
                    ));
                    None
                }
            }
            (ValueKind::Path(p), Ty::Selector) if p.parts.len() == 1 => {
                let sel =
                    ast::Selector { metric: Some(p.parts[0].clone()), matchers: vec![], braces: false, span: p.span };
                self.selector(&sel).map(Val::Selector)
            }
            (ValueKind::Path(p), _) => {
                let mut cands: Vec<&str> = self.env.params.keys().map(String::as_str).collect();
                cands.sort();
                let what = if self.env.params.is_empty() { "name" } else { "parameter" };
                let mut d = error::unknown_name(p.span, &p.dotted(), what, &cands);
                if cands.is_empty() {
                    d = d.with_help(format!(
                        "{} is expected here; a bare name can only refer to a template parameter",
                        want.article()
                    ));
                }
                self.push(d);
                None
            }
            _ => self.mismatch(v, want),
        }
    }

    /// A `{ key: "value" }` map of label names to strings.
    pub fn labels(&mut self, entries: &[ast::MapEntry], what: &str) -> Option<ir::Labels> {
        let mut out = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut ok = true;
        for e in entries {
            let (name, span) = match &e.key {
                ast::MapKey::Path(p) => (p.dotted(), p.span),
                ast::MapKey::String(s) => (s.value.clone(), s.span),
            };
            if !valid_label_name(&name) {
                self.push(
                    Diagnostic::error(
                        "slo::label::invalid_name",
                        span,
                        format!("`{name}` is not a valid {what} name"),
                        "invalid name",
                    )
                    .with_help("label names match [a-zA-Z_][a-zA-Z0-9_]*"),
                );
                ok = false;
                continue;
            }
            if name.starts_with("__") {
                self.push(
                    Diagnostic::error(
                        "slo::label::reserved",
                        span,
                        format!("`{name}` is reserved for Prometheus"),
                        "reserved name",
                    )
                    .with_help("names starting with `__` are internal to Prometheus; pick another name"),
                );
                ok = false;
                continue;
            }
            if let Some(first) = seen.get(&name) {
                self.push(error::duplicate(span, "key", &name, *first));
                ok = false;
                continue;
            }
            seen.insert(name.clone(), span);
            match self.value(&e.value, Ty::String) {
                Some(Val::Str(s)) => out.push((name, s)),
                _ => ok = false,
            }
        }
        ok.then(|| out.into_iter().collect())
    }

    /// Resolves a selector: parameters substituted, regexes validated.
    pub fn selector(&mut self, s: &ast::Selector) -> Option<ir::Selector> {
        let mut ok = true;
        let metric = s.metric.as_ref().map(|m| match self.env.params.get(&m.name) {
            Some(Bound { val: Val::Str(v), .. }) => v.clone(),
            _ => m.name.clone(),
        });
        if let Some(m) = &metric {
            let valid = !m.is_empty()
                && m.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            if !valid {
                self.push(
                    Diagnostic::error(
                        "slo::selector::metric_name",
                        s.span,
                        format!("`{m}` is not a valid metric name"),
                        "invalid metric name",
                    )
                    .with_help("metric names match [a-zA-Z_:][a-zA-Z0-9_:]*"),
                );
                ok = false;
            }
        }
        let mut matchers = Vec::new();
        for m in &s.matchers {
            if !valid_label_name(&m.label.name) {
                self.push(
                    Diagnostic::error(
                        "slo::label::invalid_name",
                        m.label.span,
                        format!("`{}` is not a valid label name", m.label.name),
                        "invalid name",
                    )
                    .with_help("label names match [a-zA-Z_][a-zA-Z0-9_]*"),
                );
                ok = false;
                continue;
            }
            let value = match &m.value {
                ast::MatcherValue::String(st) => st.value.clone(),
                ast::MatcherValue::Param(p) => match self.env.params.get(&p.name) {
                    Some(Bound { val: Val::Str(v), .. }) => v.clone(),
                    Some(b) => {
                        self.push(error::mismatch(
                            p.span,
                            Ty::String.article(),
                            b.ty.article(),
                            Some(format!(
                                "a matcher value must be a string; parameter `{}` is {}",
                                p.name,
                                b.ty.article()
                            )),
                        ));
                        ok = false;
                        continue;
                    }
                    None => {
                        let mut cands: Vec<&str> = self.env.params.keys().map(String::as_str).collect();
                        cands.sort();
                        let mut d = error::unknown_name(p.span, &p.name, "parameter", &cands);
                        if self.env.params.is_empty() {
                            d = d.with_help(format!(
                                "matcher values are quoted strings: `{}=\"{}\"`",
                                m.label.name, p.name
                            ));
                        }
                        self.push(d);
                        ok = false;
                        continue;
                    }
                },
            };
            let op = match m.op {
                ast::MatchOp::Eq => ir::MatchOp::Eq,
                ast::MatchOp::Ne => ir::MatchOp::Ne,
                ast::MatchOp::Re => ir::MatchOp::Re,
                ast::MatchOp::NotRe => ir::MatchOp::NotRe,
            };
            if matches!(op, ir::MatchOp::Re | ir::MatchOp::NotRe) {
                if let Err(e) = go_regex(&value) {
                    let span = match &m.value {
                        ast::MatcherValue::String(st) => regex_error_span(st, &e),
                        ast::MatcherValue::Param(p) => p.span,
                    };
                    self.push(
                        Diagnostic::error("slo::selector::regex", span, "invalid regular expression", regex_label(&e))
                            .with_help("Prometheus compiles matchers with Go's RE2 syntax, fully anchored (no backreferences, lookaround or `(?x)`, no nested repetition like `a**`, repeat counts up to 1000); in a \"…\" string a backslash must be doubled, or use a `raw` string"),
                    );
                    ok = false;
                    continue;
                }
            }
            matchers.push(ir::Matcher { label: m.label.name.clone(), op, value });
        }
        if !ok {
            return None;
        }
        let sel = ir::Selector { metric, matchers };
        // Prometheus: a selector needs at least one matcher that does not
        // match the empty string (the metric name counts).
        let nonempty = sel.metric.is_some() || sel.matchers.iter().any(|m| !matches_empty(m));
        if !nonempty {
            self.push(
                Diagnostic::error(
                    "slo::selector::empty",
                    s.span,
                    "this selector matches every series",
                    "no metric name and no non-empty matcher",
                )
                .with_help(
                    "name the metric (`http_requests_total{…}`) or add a matcher that cannot match the empty string",
                ),
            );
            return None;
        }
        // Two different equality matchers on one label can never match.
        for (i, a) in sel.matchers.iter().enumerate() {
            for b in &sel.matchers[i + 1..] {
                if a.label == b.label && a.op == ir::MatchOp::Eq && b.op == ir::MatchOp::Eq && a.value != b.value {
                    self.push(
                        Diagnostic::error(
                            "slo::selector::contradiction",
                            s.span,
                            format!("`{}` cannot equal both \"{}\" and \"{}\"", a.label, a.value, b.value),
                            "this selector can never match",
                        )
                        .with_help(format!(
                            "to accept either value write `{}=~\"{}|{}\"`",
                            a.label,
                            regex_syntax::escape(&a.value),
                            regex_syntax::escape(&b.value)
                        )),
                    );
                    return None;
                }
            }
        }
        if let (Some(m), Some(n)) = (&sel.metric, sel.matchers.iter().find(|m| m.label == "__name__")) {
            self.push(
                Diagnostic::error(
                    "slo::selector::contradiction",
                    s.span,
                    format!("metric `{m}` is also matched by `__name__`"),
                    "two metric names",
                )
                .with_help(format!("drop the `__name__{}…` matcher or the metric name", ir_op(n.op))),
            );
            return None;
        }
        Some(sel)
    }
}

fn ir_op(op: ir::MatchOp) -> &'static str {
    match op {
        ir::MatchOp::Eq => "=",
        ir::MatchOp::Ne => "!=",
        ir::MatchOp::Re => "=~",
        ir::MatchOp::NotRe => "!~",
    }
}

/// Whether a matcher accepts the empty string (as Prometheus decides it).
pub(crate) fn matches_empty(m: &ir::Matcher) -> bool {
    match m.op {
        ir::MatchOp::Eq => m.value.is_empty(),
        ir::MatchOp::Ne => !m.value.is_empty(),
        ir::MatchOp::Re | ir::MatchOp::NotRe => {
            // Exactly as Prometheus decides it: run the matcher on "".
            thread_local! {
                static EMPTY: std::cell::RefCell<HashMap<String, bool>> = Default::default();
            }
            let empty = EMPTY.with(|c| {
                *c.borrow_mut()
                    .entry(m.value.clone())
                    .or_insert_with(|| crate::goregex::matches_empty(&m.value).unwrap_or(false))
            });
            if m.op == ir::MatchOp::Re {
                empty
            } else {
                !empty
            }
        }
    }
}

/// Validates a regex as Prometheus does (Go's `regexp/syntax`, see
/// [`crate::goregex`]); the error is Go's code and the offending part.
pub fn check_re2(re: &str) -> Result<(), String> {
    go_regex(re).map_err(|e| regex_label(&e))
}

fn go_regex(re: &str) -> Result<(), crate::goregex::Error> {
    // The same few regexes recur in every SLO of a catalogue.
    thread_local! {
        static SEEN: std::cell::RefCell<HashMap<String, Result<(), crate::goregex::Error>>> = Default::default();
    }
    if let Some(r) = SEEN.with(|c| c.borrow().get(re).cloned()) {
        return r;
    }
    let r = crate::goregex::validate(re);
    SEEN.with(|c| c.borrow_mut().insert(re.to_string(), r.clone()));
    r
}

/// Go's message without its `error parsing regexp:` preamble.
fn regex_label(e: &crate::goregex::Error) -> String {
    format!("{}: `{}`", e.code, e.expr)
}

/// The offending part of the pattern when the literal spells the pattern
/// as is (no escapes), else the whole literal.
fn regex_error_span(st: &ast::StrLit, e: &crate::goregex::Error) -> Span {
    let inner = st.raw.get(1..st.raw.len().saturating_sub(1)).unwrap_or("");
    let fragment = !e.expr.is_empty()
        && e.expr.len() < st.value.len()
        && st.value.get(e.offset..).is_some_and(|r| r.starts_with(&e.expr));
    if inner != st.value || !fragment {
        return st.span;
    }
    let start = st.span.start + 1 + e.offset as u32;
    Span { source: st.span.source, start, end: start + e.expr.len() as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::share_parts;
    use std::cmp::Ordering::*;

    #[test]
    fn percents_are_exact_decimals() {
        let p = percent_parts("99.9").unwrap();
        assert_eq!((p.ratio, p.vs_100), (0.999, Less));
        assert!((p.complement - 0.001).abs() < 1e-18);
        let p = percent_parts("99.99999999999").unwrap();
        assert_eq!(p.complement, 1e-13);
        assert!(p.ratio < 1.0 && p.precise());
        let p = percent_parts("99.99999999999999999").unwrap();
        assert_eq!((p.ratio, p.complement, p.vs_100), (1.0, 1e-19, Less));
        assert!(!p.precise());
        let p = percent_parts("100.000").unwrap();
        assert_eq!((p.complement, p.vs_100), (0.0, Equal));
        assert!(p.precise());
        assert_eq!(percent_parts("100.00000000000000001").unwrap().vs_100, Greater);
        assert_eq!(percent_parts("9.99e1").unwrap().ratio, 0.999);
        assert_eq!(percent_parts("1e2").unwrap().vs_100, Equal);
        assert!(percent_parts("1e9999").is_none());
        assert_eq!(percent_parts("1e300").unwrap().vs_100, Greater);
        assert_eq!(percent_parts("0").unwrap().complement, 1.0);
        assert_eq!(percent_parts("-5").unwrap().vs_100, Less);
        assert_eq!(percent_parts("5").unwrap().complement, 0.95);
        let long = format!("99.{}", "9".repeat(5000));
        assert_eq!(percent_parts(&long).unwrap().vs_100, Less);
        assert_eq!(percent_parts(&format!("0.{}1", "0".repeat(5000))).unwrap().complement, 1.0);
        assert_eq!(share_parts("0.999").unwrap().ratio, 0.999);
        assert_eq!(share_parts(" 99.9% ").unwrap().ratio, 0.999);
        assert_eq!(share_parts("0.99999999999999999999").unwrap().vs_100, Less);
        assert_eq!(share_parts("1").unwrap().vs_100, Equal);
        assert_eq!(share_parts("25e-2").unwrap().ratio, 0.25);
        assert_eq!(fmt_pct(0.9999999999999), "99.99999999999%");
        assert_eq!(fmt_pct(0.999), "99.9%");
        assert_eq!(fmt_pct(1.0), "100%");
        assert!(percent_parts("abc").is_none() && percent_parts(".").is_none());
    }
}
