//! Hover: what the name or value under the cursor means, with the values
//! the checker resolved (read from the checked `ir::Program`, never
//! recomputed from the text):
//!
//! - an SLO: objective, its budget in minutes over the window, the SLI's
//!   compiled selectors, its alerts, the series its rules record;
//! - an `objective`: the budget in minutes over the window;
//! - an alert tier (in a policy, or the policy named in an SLO's `alerts`):
//!   its factor and the budget share it spends, how long it takes to fire
//!   at 100% errors and at its threshold, and how many such firings a month
//!   the budget pays for at the SLO's objective;
//! - a template, alert or budget policy: its parameters, types, defaults
//!   and doc comment; a parameter: its type and default;
//! - a service, an imported module, a selector's compiled PromQL.

use super::index::{params_of, Target};
use super::nav::locate;
use super::project::Analysis;
use crate::ir;
use crate::source::Span;
use crate::syntax::ast;
use crate::units::{fmt_duration, fmt_factor, fmt_pct};
use lsp_types as lt;
use std::fmt::Write;

pub fn hover(a: &Analysis, uri: &lt::Url, pos: lt::Position) -> Option<lt::Hover> {
    let (id, off) = locate(a, uri, pos)?;
    let m = a.module(id)?;
    let item = m.file.items.iter().find(|i| i.span().range().contains(&off) || i.span().end as usize == off);
    let slo = match item {
        Some(ast::Item::Slo(s)) => a.program.slo(&s.service.name, &s.name.name),
        _ => None,
    };
    let (text, span) = if let Some(o) = a.index.at(id, off) {
        (target(a, &o.target, slo)?, o.span)
    } else {
        contextual(a, item?, slo, off)?
    };
    Some(lt::Hover {
        contents: lt::HoverContents::Markup(lt::MarkupContent { kind: lt::MarkupKind::Markdown, value: text }),
        range: Some(a.range(span)),
    })
}

/// A duration in milliseconds, rounded to the second past a minute.
fn dur(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "never".into();
    }
    let ms = if ms >= 1000.0 { (ms / 1000.0).round() * 1000.0 } else { ms.round() };
    fmt_duration(ms as u64)
}

fn minutes(ms: f64) -> String {
    let m = ms / 60_000.0;
    if m >= 100.0 {
        format!("{m:.0} minutes")
    } else {
        format!("{m:.1} minutes")
    }
}

fn window(w: &ir::Window) -> String {
    match w {
        ir::Window::Rolling { length } => length.to_string(),
        ir::Window::Calendar { unit, tz } => format!("calendar {unit:?} in {tz}").to_lowercase(),
    }
}

/// The error budget of an SLO, in words.
fn budget_line(s: &ir::Slo) -> String {
    let w = s.window.nominal().ms() as f64;
    format!(
        "objective **{}** over {}: error budget {} = **{}** of bad time (or that share of events) per {}",
        fmt_pct(s.objective),
        window(&s.window),
        fmt_pct(s.budget()),
        minutes(s.budget() * w),
        s.window.nominal(),
    )
}

const MONTH_MS: f64 = 30.0 * 86_400_000.0;

/// A table of alerts with what each costs and how fast it fires.
fn alerts_table(s: &ir::Slo, alerts: &[&ir::Alert]) -> String {
    let mut out = String::new();
    let b = s.budget();
    let w = s.window.nominal().ms() as f64;
    for al in alerts {
        let fr = al.for_.ms() as f64;
        match &al.condition {
            ir::AlertCondition::BurnRate { long: long_d, short: short_d, factor, budget_share } => {
                let long = long_d.ms() as f64;
                let threshold = factor * b;
                let at_full = if threshold < 1.0 { dur(threshold * long + fr) } else { "never".into() };
                let pages = if *budget_share > 0.0 { MONTH_MS / w / budget_share } else { f64::INFINITY };
                let _ = writeln!(
                    out,
                    "- **{}** ({}, `{}` / `{}`): burn **{}**, spends **{}** of the budget over {}; \
                     at 100% errors fires after **{}**; at its threshold ({} errors) after **{}**; \
                     at {} the budget pays for **{:.1}** such firings a month",
                    al.name,
                    al.severity,
                    long_d,
                    short_d,
                    fmt_factor(*factor),
                    fmt_pct(*budget_share),
                    long_d,
                    at_full,
                    fmt_pct(threshold.min(1.0)),
                    dur(long + fr),
                    fmt_pct(s.objective),
                    pages,
                );
            }
            ir::AlertCondition::Threshold(c) => {
                let _ = writeln!(out, "- **{}** ({}): when {}, for {}", al.name, al.severity, cond(c), dur(fr));
            }
        }
    }
    out
}

fn cond(c: &ir::SloCond) -> String {
    c.all
        .iter()
        .map(|x| {
            let (q, pct) = match x.lhs {
                ir::SloQuantity::Sli { window } => (format!("sli({window})"), true),
                ir::SloQuantity::ErrorRatio { window } => (format!("error_ratio({window})"), true),
                ir::SloQuantity::BurnRate { window } => (format!("burn_rate({window})"), false),
                ir::SloQuantity::BudgetRemaining => ("budget_remaining".into(), true),
                ir::SloQuantity::BudgetConsumed => ("budget_consumed".into(), true),
                ir::SloQuantity::IncidentShare => ("incident_share".into(), true),
            };
            let rhs = if pct { fmt_pct(x.rhs) } else { fmt_factor(x.rhs) };
            format!("{q} {} {rhs}", x.op.as_str())
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn selector(s: &ir::Selector) -> String {
    crate::promql::expr::selector(s, &[])
}

fn sli_lines(s: &ir::Slo) -> String {
    match &s.sli {
        ir::Sli::Events { numerator, total } => {
            let (w, n) = match numerator {
                ir::EventsNumerator::Good(n) => ("good", n),
                ir::EventsNumerator::Bad(n) => ("bad", n),
            };
            format!("SLI events: {w} `{}` / total `{}`", selector(n), selector(total))
        }
        ir::Sli::Latency { histogram, below_seconds, kind: ir::HistogramKind::Native } => format!(
            "SLI latency: native histogram `{}` below {}s (`histogram_fraction(0, {}, …)` of `histogram_count`)",
            selector(histogram),
            below_seconds,
            below_seconds
        ),
        ir::Sli::Latency { histogram, below_seconds, kind: ir::HistogramKind::Classic } => {
            let name = histogram.metric.clone().unwrap_or_default();
            format!(
                "SLI latency: `{}` below {}s (`{name}_bucket{{le=\"{}\"}}` / `{name}_count`)",
                selector(histogram),
                below_seconds,
                below_seconds
            )
        }
        ir::Sli::Gauge { series } => format!("SLI gauge: `{}`", selector(series)),
        ir::Sli::Timeslices { slice, good } => {
            let sels: Vec<String> = s.sli.selectors().iter().map(|x| format!("`{}`", selector(x))).collect();
            format!("SLI timeslices of {}: {} conditions over {}", slice, good.all.len(), sels.join(", "))
        }
        ir::Sli::Composite { combine, components } => {
            let c: Vec<String> = components.iter().map(|r| format!("`{}.{}`", r.service, r.name)).collect();
            let how = match combine {
                ir::Combine::Serial => "serial".to_string(),
                ir::Combine::Weighted(_) => "weighted".to_string(),
                ir::Combine::KOfN(k) => format!("{k} of {}", components.len()),
            };
            format!("SLI composite ({how}) of {}", c.join(", "))
        }
    }
}

/// The series the SLO's rules record (when its rules can be built).
fn recorded(a: &Analysis, s: &ir::Slo) -> Option<Vec<String>> {
    let i = a.program.slos.iter().position(|x| std::ptr::eq(x, s))?;
    crate::promql::rules::unsupported(s).is_none().then_some(())?;
    let group = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let opts = crate::promql::Options::default();
        crate::promql::group_of(&a.program, i, &opts)
    }))
    .ok()??
    .ok()?;
    let mut names: Vec<String> = group
        .rules
        .iter()
        .filter_map(|r| match r {
            crate::promql::rules::Rule::Record(r) => Some(r.record.name()),
            crate::promql::rules::Rule::Alert(_) => None,
        })
        .collect();
    names.dedup();
    Some(names)
}

fn describe_slo(a: &Analysis, s: &ir::Slo) -> String {
    let mut out = format!("**slo** `{}.{}`", s.service, s.name);
    if let Some(t) = &s.template {
        let _ = write!(out, " (from template `{t}`)");
    }
    out.push_str("\n\n");
    if let Some(d) = &s.description {
        let _ = writeln!(out, "{d}\n");
    }
    let _ = writeln!(out, "{}\n", budget_line(s));
    let _ = writeln!(out, "{}\n", sli_lines(s));
    if !s.group_by.is_empty() {
        let _ = writeln!(out, "grouped by {} (a budget per group)\n", s.group_by.join(", "));
    }
    if !s.alerts.is_empty() {
        let _ = writeln!(out, "alerts:\n{}", alerts_table(s, &s.alerts.iter().collect::<Vec<_>>()));
    }
    if !s.policy_rules.is_empty() {
        let rules: Vec<String> = s
            .policy_rules
            .iter()
            .map(|r| {
                let acts: Vec<&str> = r.actions.iter().map(|x| x.kind.as_str()).collect();
                format!("- **{}** (`{}`): when {} ⇒ {}", r.name, r.policy, cond(&r.condition), acts.join(", "))
            })
            .collect();
        let _ = writeln!(out, "budget policy:\n{}\n", rules.join("\n"));
    }
    if let Some(series) = recorded(a, s) {
        let list: Vec<String> = series.iter().map(|n| format!("`{n}`")).collect();
        let _ = writeln!(out, "records: {}", list.join(", "));
    }
    out
}

/// The `//` comment lines right above a declaration.
fn doc_comment(a: &Analysis, span: Span) -> String {
    let lines = crate::syntax::comments::doc_lines(a.text(span.source), span.start as usize);
    lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n")
}

fn param_text(a: &Analysis, p: &ast::Param) -> String {
    let src = a.text(p.span.source);
    let mut s = format!("{}: {}", p.name.name, p.ty.name);
    if let Some(d) = &p.default {
        let _ = write!(s, " = {}", src.get(d.span.range()).unwrap_or("…"));
    }
    s
}

fn target(a: &Analysis, t: &Target, slo: Option<&ir::Slo>) -> Option<String> {
    let modules = &a.loaded.modules;
    match t {
        Target::Decl { module, item } => {
            let m = modules.get(*module)?;
            let it = m.file.items.get(*item)?;
            let (kw, name, span) = match it {
                ast::Item::Template(t) => ("template", &t.name.name, t.span),
                ast::Item::Alerts(x) => ("alerts", &x.name.name, x.span),
                ast::Item::Policy(p) => ("policy", &p.name.name, p.span),
                _ => return None,
            };
            let ps: Vec<String> = params_of(it).iter().map(|p| param_text(a, p)).collect();
            let mut out = format!("```slo\n{kw} {name}({})\n```\n", ps.join(", "));
            let _ = writeln!(out, "from `{}`\n", m.name);
            let doc = doc_comment(a, span);
            if !doc.is_empty() {
                let _ = writeln!(out, "{doc}\n");
            }
            if let ast::Item::Alerts(x) = it {
                for e in &x.body.entries {
                    if let ast::Entry::Rule(r) = e {
                        let body = a.text(r.span.source).get(r.body.span.range()).unwrap_or("");
                        let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
                        let _ = writeln!(
                            out,
                            "- {} `{}` {flat}",
                            if r.kind == ast::RuleKind::Tier { "tier" } else { "threshold" },
                            r.name.name
                        );
                    }
                }
                if let Some(s) = slo {
                    let mine: Vec<&ir::Alert> = s.alerts.iter().filter(|al| &al.policy == name).collect();
                    if !mine.is_empty() {
                        let _ = writeln!(out, "\nfor `{}.{}`:\n{}", s.service, s.name, alerts_table(s, &mine));
                    }
                }
            }
            Some(out)
        }
        Target::Param { module, item, name } => {
            let it = modules.get(*module)?.file.items.get(*item)?;
            let p = params_of(it).iter().find(|p| &p.name.name == name)?;
            let owner = scope_name(it);
            Some(format!("```slo\n{}\n```\nparameter of `{owner}`", param_text(a, p)))
        }
        Target::Service(n) => {
            let s = a.program.services.iter().find(|s| &s.name == n)?;
            let count = a.program.slos.iter().filter(|x| &x.service == n).count();
            let mut out = format!("**service** `{n}` — {count} SLOs\n\n");
            if let Some(d) = &s.description {
                let _ = writeln!(out, "{d}\n");
            }
            if let Some(o) = &s.owner {
                let _ = writeln!(out, "owner: {o}\n");
            }
            if let Some(r) = &s.runbook {
                let _ = writeln!(out, "runbook: {r}\n");
            }
            if !s.labels.is_empty() {
                let l: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                let _ = writeln!(out, "labels: {}\n", l.join(", "));
            }
            let _ = writeln!(out, "scrape interval: {}", s.scrape_interval);
            Some(out)
        }
        Target::Slo(svc, n) => Some(describe_slo(a, a.program.slo(svc, n)?)),
        Target::Module(mi) => {
            let m = modules.get(*mi)?;
            let scope = a.scopes.get(*mi)?;
            let names: Vec<String> = scope.exports.keys().map(|k| format!("`{k}`")).collect();
            Some(format!("**module** `{}`\n\ndeclares {}", m.name, names.join(", ")))
        }
    }
}

fn scope_name(it: &ast::Item) -> String {
    match it {
        ast::Item::Template(t) => t.name.name.clone(),
        ast::Item::Alerts(x) => x.name.name.clone(),
        ast::Item::Policy(p) => p.name.name.clone(),
        _ => String::new(),
    }
}

/// The selector under `off` in `v`, if any.
fn selector_in(v: &ast::Value, off: usize) -> Option<&ast::Selector> {
    if !(v.span.start as usize <= off && off <= v.span.end as usize) {
        return None;
    }
    match &v.kind {
        ast::ValueKind::Selector(s) => Some(s),
        ast::ValueKind::List(vs) => vs.iter().find_map(|v| selector_in(v, off)),
        ast::ValueKind::Map(es) => es.iter().find_map(|e| selector_in(&e.value, off)),
        ast::ValueKind::Call(c) => c.args.iter().find_map(|x| selector_in(&x.value, off)),
        ast::ValueKind::Over(x, _) | ast::ValueKind::OfBudget(x) => selector_in(x, off),
        ast::ValueKind::Pair(x, y) => selector_in(x, off).or_else(|| selector_in(y, off)),
        _ => None,
    }
}

fn cond_values(c: &ast::Cond) -> Vec<&ast::Value> {
    c.terms
        .iter()
        .flat_map(|t| match t {
            ast::Comparison::Compare { lhs, rhs, .. } => vec![lhs, rhs],
            ast::Comparison::Between { lhs, low, high, .. } => vec![lhs, low, high],
        })
        .collect()
}

/// What the cursor is on inside an item, when it is no name: a field
/// (`objective`), a selector, a tier.
fn contextual(a: &Analysis, item: &ast::Item, slo: Option<&ir::Slo>, off: usize) -> Option<(String, Span)> {
    let inside = |s: Span| s.start as usize <= off && off <= s.end as usize;
    let mut blocks: Vec<&ast::Block> = Vec::new();
    match item {
        ast::Item::Slo(s) => match &s.body {
            ast::SloBody::Block(b) => blocks.push(b),
            ast::SloBody::Instance { call, overrides } => {
                if let Some(sel) = call.args.iter().find_map(|x| selector_in(&x.value, off)) {
                    return Some((selector_hover(sel), sel.span));
                }
                blocks.extend(overrides);
            }
        },
        ast::Item::Service(s) => blocks.push(&s.body),
        ast::Item::Template(t) => blocks.push(&t.body),
        ast::Item::Alerts(x) => blocks.push(&x.body),
        ast::Item::Policy(p) => blocks.push(&p.body),
        ast::Item::Import(_) => return None,
    }
    // The tier (of an alert policy) the cursor is in, if any.
    let mut tier: Option<&ast::Ident> = None;
    while let Some(b) = blocks.pop() {
        for e in &b.entries {
            if !inside(e.span()) {
                continue;
            }
            match e {
                ast::Entry::Field(f) => {
                    if let Some(sel) = selector_in(&f.value, off) {
                        return Some((selector_hover(sel), sel.span));
                    }
                    if f.name.name == "objective" {
                        return Some((budget_line(slo?), f.span));
                    }
                    if let (Some(t), ast::Item::Alerts(x)) = (tier, item) {
                        if matches!(f.name.name.as_str(), "burn" | "windows" | "for") {
                            return Some((tier_hover(a, &x.name.name, &t.name), f.span));
                        }
                    }
                    return None;
                }
                ast::Entry::Rule(r) if inside(r.name.span) => {
                    let ast::Item::Alerts(x) = item else { return None };
                    return Some((tier_hover(a, &x.name.name, &r.name.name), r.name.span));
                }
                ast::Entry::Rule(r) => {
                    if r.kind == ast::RuleKind::Tier {
                        tier = Some(&r.name);
                    }
                    blocks.push(&r.body);
                }
                ast::Entry::GoodWhen(c, _) => {
                    let sel = cond_values(c).into_iter().find_map(|v| selector_in(v, off))?;
                    return Some((selector_hover(sel), sel.span));
                }
                ast::Entry::When(w) => {
                    let sel = cond_values(&w.cond).into_iter().find_map(|v| selector_in(v, off))?;
                    return Some((selector_hover(sel), sel.span));
                }
                _ => {
                    if let Some(inner) = e.block() {
                        blocks.push(inner);
                    }
                }
            }
        }
    }
    None
}

/// The PromQL a selector compiles to (a template parameter shown as `<param>`).
fn selector_hover(s: &ast::Selector) -> String {
    let ir_sel = ir::Selector {
        metric: s.metric.as_ref().map(|m| m.name.clone()),
        matchers: s
            .matchers
            .iter()
            .map(|m| ir::Matcher {
                label: m.label.name.clone(),
                op: match m.op {
                    ast::MatchOp::Eq => ir::MatchOp::Eq,
                    ast::MatchOp::Ne => ir::MatchOp::Ne,
                    ast::MatchOp::Re => ir::MatchOp::Re,
                    ast::MatchOp::NotRe => ir::MatchOp::NotRe,
                },
                value: match &m.value {
                    ast::MatcherValue::String(v) => v.value.clone(),
                    ast::MatcherValue::Param(p) => format!("<{}>", p.name),
                },
            })
            .collect(),
    };
    let mut out = format!("compiles to\n```promql\n{}\n```", selector(&ir_sel));
    if s.matchers.iter().any(|m| matches!(m.op, ast::MatchOp::Re | ast::MatchOp::NotRe)) {
        out.push_str("\nregexes are Go RE2, fully anchored as Prometheus anchors them: `^(?s:…)$`");
    }
    out
}

/// A tier of an alert policy, for every SLO that uses it (the first few).
fn tier_hover(a: &Analysis, policy: &str, tier: &str) -> String {
    let mut out = format!("**tier** `{tier}` of `{policy}`\n\n");
    let mut n = 0;
    for s in &a.program.slos {
        let mine: Vec<&ir::Alert> = s.alerts.iter().filter(|al| al.policy == policy && al.name == tier).collect();
        if mine.is_empty() {
            continue;
        }
        n += 1;
        if n <= 5 {
            let _ =
                write!(out, "for `{}.{}` ({}):\n{}\n", s.service, s.name, fmt_pct(s.objective), alerts_table(s, &mine));
        }
    }
    match n {
        0 => out.push_str("no SLO uses this policy yet: its factor depends on the SLO's window"),
        1..=5 => {}
        _ => {
            let _ = write!(out, "… and {} more SLOs", n - 5);
        }
    }
    out
}
