//! Alert policies and budget policies, instantiated for one SLO.
//!
//! A tier's burn factor may be written directly (`14.4x`) or as the share
//! of the budget it stands for (`2% of budget`), which depends on the SLO's
//! window T: b* = share × T / long window (docs/semantics.md §7). Both forms end
//! up in the IR as a factor *and* the share it spends over the long window.

use super::error;
use super::eval::{self, Env, Inst, Ty, Val};
use super::slo::{Cx, Fields, Got, SloCtx};
use crate::diag::Diagnostic;
use crate::ir;
use crate::syntax::ast::{self, Entry, ValueKind};
use crate::units::Duration;

use crate::ir::SEVERITIES;
pub(crate) const POLICY_FIELDS: &[&str] = &["min_events", "labels", "annotations", "alert_prefix", "join_tiers"];
pub(crate) const TIER_FIELDS: &[&str] =
    &["windows", "burn", "severity", "alert", "for", "keep_firing_for", "route", "labels", "annotations", "min_events"];
pub(crate) const THRESHOLD_FIELDS: &[&str] =
    &["when", "severity", "alert", "for", "keep_firing_for", "route", "labels", "annotations", "min_events"];
pub(crate) const BUDGET_FIELDS: &[&str] = &["labels", "annotations"];

impl Cx<'_> {
    fn labels_of(&mut self, g: Option<&Got>) -> Option<ir::Labels> {
        let Some(g) = g else { return Some(Default::default()) };
        match self.value(g.value()?, Ty::Labels, g.env) {
            Some(Val::Labels(l)) => Some(l),
            _ => None,
        }
    }

    fn duration_of(&mut self, g: Option<&Got>) -> Option<u64> {
        let Some(g) = g else { return Some(0) };
        match self.value(g.value()?, Ty::Duration, g.env) {
            Some(Val::Dur(ms)) => Some(ms),
            _ => None,
        }
    }

    /// `name` as a severity; `fixable` when `span` is the name itself (so a
    /// did-you-mean may replace it), not a value that evaluated to it.
    fn severity(&mut self, name: &str, span: crate::source::Span, fixable: bool) -> Option<String> {
        if SEVERITIES.contains(&name) {
            return Some(name.to_string());
        }
        let mut d =
            Diagnostic::error("slo::alert::severity", span, format!("unknown severity `{name}`"), "not a severity");
        if !error::did_you_mean(&mut d, name, SEVERITIES) {
            d = d.with_help("severities are `page`, `ticket`, `critical`, `warning` and `info`");
        }
        if !fixable {
            d.fixes.clear();
        }
        self.diags.push(d);
        None
    }

    fn min_events(&mut self, g: Option<&Got>) -> Option<Option<f64>> {
        let Some(g) = g else { return Some(None) };
        match self.value(g.value()?, Ty::Number, g.env) {
            Some(Val::Num(n)) if n > 0.0 => Some(Some(n)),
            Some(Val::Num(0.0)) => Some(None),
            Some(_) => {
                self.diags.push(error::out_of_range(
                    "slo::alert::min_events",
                    g.span(),
                    "a minimum event count cannot be negative".into(),
                    "negative",
                    "give the number of events the long window must see, e.g. 100",
                ));
                None
            }
            None => None,
        }
    }

    /// `alert_prefix = "X"`: the start of every alert name of the policy
    /// (`X` + the tier's name), so one policy serves SLOs whose alerts are
    /// named after them. It must keep the alert name an identifier.
    fn alert_prefix(&mut self, g: Option<&Got>) -> Option<String> {
        let Some(g) = g else { return Some(String::new()) };
        let Some(Val::Str(p)) = self.value(g.value()?, Ty::String, g.env) else { return None };
        let ok =
            p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !p.starts_with(|c: char| c.is_ascii_digit());
        if !ok {
            self.diags.push(
                Diagnostic::error(
                    "slo::alert::prefix",
                    g.span(),
                    format!("alert prefix `{p}` would make alert names that are not identifiers"),
                    "letters, digits and `_` only",
                )
                .with_help("an alert prefix starts with a letter or `_` and holds ASCII letters, digits and `_`, e.g. `CheckoutAvailability`"),
            );
            return None;
        }
        Some(p)
    }

    /// `join_tiers = true`: the policy's burn-rate tiers alike but for their
    /// windows and burn rates fire as one alert (Sloth's shape). `None`:
    /// not a boolean (reported).
    fn join_tiers(&mut self, g: Option<&Got>) -> Option<bool> {
        let Some(g) = g else { return Some(false) };
        match self.value(g.value()?, Ty::Bool, g.env) {
            Some(Val::Bool(b)) => Some(b),
            _ => None,
        }
    }

    /// `alert = "X"` on a tier or threshold: its whole alert name, instead
    /// of the policy's `alert_prefix` and the rule's name. Tiers of one
    /// SLO may share a name when their labels tell them apart (Sloth names
    /// a page and a ticket alert alike). `Some(None)`: not given.
    fn alert_name(&mut self, g: Option<&Got>) -> Option<Option<String>> {
        let Some(g) = g else { return Some(None) };
        let Some(Val::Str(n)) = self.value(g.value()?, Ty::String, g.env) else { return None };
        let ok = n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.diags.push(
                Diagnostic::error(
                    "slo::alert::name",
                    g.span(),
                    format!("alert name `{n}` is not an identifier"),
                    "letters, digits and `_` only",
                )
                .with_help("an alert name starts with a letter or `_` and holds ASCII letters, digits and `_`, e.g. `CheckoutHighErrorRate`"),
            );
            return None;
        }
        Some(Some(n))
    }

    /// The alerts one alert-policy instance yields for one SLO.
    pub(crate) fn alerts_for(&mut self, slo: &SloCtx, inst: &Inst) -> Vec<ir::Alert> {
        let ast::Item::Alerts(decl) = &self.modules[inst.decl.module].file.items[inst.decl.item] else { return vec![] };
        let env = Env { module: inst.decl.module, params: inst.args.clone() };
        let context = format!("alert policy `{}`", decl.name.name);
        let mut top = Fields::default();
        // Tiers and thresholds are not fields: the loop below takes them.
        self.collect_skipping(&decl.body, &env, POLICY_FIELDS, &context, &mut top, |e| matches!(e, Entry::Rule(_)));
        let policy_labels = self.labels_of(top.get("labels")).unwrap_or_default();
        let policy_annotations = self.labels_of(top.get("annotations")).unwrap_or_default();
        let policy_min = self.min_events(top.get("min_events")).unwrap_or(None);
        let prefix = self.alert_prefix(top.get("alert_prefix"));
        let join_tiers = self.join_tiers(top.get("join_tiers"));
        let mut out = Vec::new();
        let mut rules = 0;
        for e in &decl.body.entries {
            let Entry::Rule(r) = e else { continue };
            rules += 1;
            let allowed = if r.kind == ast::RuleKind::Tier { TIER_FIELDS } else { THRESHOLD_FIELDS };
            let what = if r.kind == ast::RuleKind::Tier { "tier" } else { "threshold" };
            let mut f = Fields::default();
            self.collect(&r.body, &env, allowed, &format!("{what} `{}`", r.name.name), &mut f);
            let condition = match r.kind {
                ast::RuleKind::Tier => self.tier(slo, r, &f),
                ast::RuleKind::Threshold => match f.get("when") {
                    Some(Got { entry: Entry::When(w), env }) => {
                        if !w.actions.is_empty() || w.severity.is_some() || w.name.is_some() {
                            self.diags.push(error::misplaced(
                                w.span,
                                "actions, `severity` or `as`",
                                "a threshold's `when`",
                                "set `severity = …` as a field of the threshold; actions belong to budget policies",
                            ));
                        }
                        self.slo_cond(&w.cond, env, slo, false).map(ir::AlertCondition::Threshold)
                    }
                    _ => {
                        self.diags.push(error::missing_field(
                            r.name.span,
                            "when",
                            &format!("threshold `{}`", r.name.name),
                            "when sli(5m) < 95%",
                        ));
                        None
                    }
                },
            };
            let severity = match f.get("severity") {
                Some(g) => match g.value().map(|v| &v.kind) {
                    Some(ValueKind::Path(p)) if p.parts.len() == 1 && !g.env.params.contains_key(&p.parts[0].name) => {
                        self.severity(&p.parts[0].name, p.span, true)
                    }
                    Some(_) => match self.value(g.value().unwrap(), Ty::String, g.env) {
                        Some(Val::Str(s)) => self.severity(&s, g.span(), false),
                        _ => None,
                    },
                    None => None,
                },
                None => Some(if r.kind == ast::RuleKind::Tier { "page".to_string() } else { "warning".to_string() }),
            };
            let for_ms = self.duration_of(f.get("for"));
            let keep = self.duration_of(f.get("keep_firing_for"));
            let mut labels = policy_labels.clone();
            let own = self.labels_of(f.get("labels"));
            let route = match f.get("route") {
                Some(g) => match self.value(g.value().unwrap(), Ty::String, g.env) {
                    Some(Val::Str(s)) if s.is_empty() => {
                        self.diags.push(empty_receiver(g.span(), "`route`"));
                        None
                    }
                    Some(Val::Str(s)) => Some(Some(s)),
                    _ => None,
                },
                None => Some(None),
            };
            let mut annotations = policy_annotations.clone();
            let own_ann = self.labels_of(f.get("annotations"));
            let min = self.min_events(f.get("min_events"));
            let own_name = self.alert_name(f.get("alert"));
            let (
                Some(condition),
                Some(severity),
                Some(for_ms),
                Some(keep),
                Some(own),
                Some(route),
                Some(own_ann),
                Some(min),
            ) = (condition, severity, for_ms, keep, own, route, own_ann, min)
            else {
                continue;
            };
            labels.extend(own);
            self.reserved_labels(&labels, f.get("labels").map_or(r.name.span, |g| g.span()));
            if let Some(r) = route {
                labels.insert("receiver".into(), r);
            }
            annotations.extend(own_ann);
            let Some(prefix) = &prefix else { continue };
            let Some(own_name) = own_name else { continue };
            let Some(join_tiers) = join_tiers else { continue };
            out.push(ir::Alert {
                name: own_name.unwrap_or_else(|| format!("{prefix}{}", r.name.name)),
                policy: decl.name.name.clone(),
                condition,
                severity,
                for_: Duration::from_ms(for_ms),
                keep_firing_for: Duration::from_ms(keep),
                labels,
                annotations,
                min_events: min.or(policy_min),
                join_tiers,
            });
        }
        if rules == 0 {
            self.diags.push(
                Diagnostic::warning(
                    "slo::lint::empty_policy",
                    decl.name.span,
                    format!("alert policy `{}` defines no alerts", decl.name.name),
                    "no `tier` or `threshold` inside",
                )
                .with_help("add `tier Name { windows = 1h / 5m  burn = 14.4x }` or a `threshold`"),
            );
        }
        out
    }

    fn tier(&mut self, slo: &SloCtx, r: &ast::RuleBlock, f: &Fields) -> Option<ir::AlertCondition> {
        let ctx = format!("tier `{}`", r.name.name);
        let (Some(wg), Some(bg)) = (f.get("windows"), f.get("burn")) else {
            let missing =
                if f.contains_key("windows") { ("burn", "burn = 14.4x") } else { ("windows", "windows = 1h / 5m") };
            self.diags.push(error::missing_field(r.name.span, missing.0, &ctx, missing.1));
            return None;
        };
        let wv = wg.value()?;
        let ValueKind::Pair(long_v, short_v) = &wv.kind else {
            self.diags.push(error::mismatch(wv.span, "a long and a short window (`1h / 5m`)", eval::found(wv), None));
            return None;
        };
        let long = match self.value(long_v, Ty::Duration, wg.env) {
            Some(Val::Dur(ms)) => Some(ms),
            _ => None,
        };
        let short = match self.value(short_v, Ty::Duration, wg.env) {
            Some(Val::Dur(ms)) => Some(ms),
            _ => None,
        };
        let (long, short) = (long?, short?);
        let mut ok = true;
        if short >= long {
            self.diags.push(
                Diagnostic::error(
                    "slo::window::short_not_shorter",
                    wv.span,
                    format!(
                        "the short window {} is not shorter than the long window {}",
                        crate::units::fmt_duration(short),
                        crate::units::fmt_duration(long)
                    ),
                    "short window must be shorter",
                )
                .with_help("write the long window first; the Workbook uses short = long / 12, e.g. `1h / 5m`"),
            );
            ok = false;
        }
        if short < 60_000 {
            self.diags.push(error::out_of_range(
                "slo::window::too_short",
                short_v.span,
                format!("an alert window of {} is too short to compute a rate", crate::units::fmt_duration(short)),
                "shorter than 1m",
                "use 1m or more so each window holds several scrapes",
            ));
            ok = false;
        }
        if long > slo.window_ms {
            self.diags.push(
                Diagnostic::error("slo::window::alert_exceeds_slo", long_v.span, format!("the alert window {} is longer than the SLO window {}", crate::units::fmt_duration(long), crate::units::fmt_duration(slo.window_ms)), "longer than the SLO window")
                    .with_related(slo.span, "SLO defined here")
                    .with_help("an alert cannot look further back than the budget it protects; use a shorter window or a preset for this SLO window"),
            );
            ok = false;
        }
        let bv = bg.value()?;
        let (factor, share) = match &bv.kind {
            ValueKind::OfBudget(inner) => match self.value(inner, Ty::Percent, bg.env) {
                Some(Val::Pct(p)) if p > 0.0 => (p * slo.window_ms as f64 / long as f64, p),
                Some(_) => {
                    self.diags.push(error::out_of_range(
                        "slo::alert::burn",
                        bv.span,
                        "a tier must spend more than 0% of the budget".into(),
                        "0% of budget",
                        "use the share of budget worth this alert, e.g. `2% of budget`",
                    ));
                    return None;
                }
                None => return None,
            },
            _ => match self.value(bv, Ty::Factor, bg.env) {
                Some(Val::Factor(x)) => (x, x * long as f64 / slo.window_ms as f64),
                _ => return None,
            },
        };
        if !ok {
            return None;
        }
        let budget = 1.0 - slo.objective;
        if factor * budget >= 1.0 {
            self.diags.push(
                Diagnostic::warning(
                    "slo::lint::tier_never_fires",
                    bv.span,
                    format!(
                        "tier `{}` can never fire: burn rate {} needs an error ratio of {}",
                        r.name.name,
                        crate::units::fmt_factor(factor),
                        crate::units::fmt_pct(factor * budget)
                    ),
                    "unreachable threshold",
                )
                .with_related(
                    slo.span,
                    format!(
                        "objective {} allows at most {}",
                        crate::units::fmt_pct(slo.objective),
                        crate::units::fmt_factor(1.0 / budget)
                    ),
                )
                .with_help(format!(
                    "even 100% errors burn at only {}; lower the factor below that",
                    crate::units::fmt_factor(1.0 / budget)
                )),
            );
        } else if share >= 1.0 {
            self.diags.push(
                Diagnostic::warning("slo::lint::tier_after_budget", bv.span, format!("tier `{}` fires only after {} of the budget is spent", r.name.name, crate::units::fmt_pct(share)), "the budget is gone before this fires")
                    .with_help("at this factor the long window spends the whole budget before the alert can fire; lower the factor or shorten the long window"),
            );
        }
        Some(ir::AlertCondition::BurnRate {
            long: Duration::from_ms(long),
            short: Duration::from_ms(short),
            factor,
            budget_share: share,
        })
    }

    /// A condition over SLO quantities (thresholds and budget policies).
    pub(crate) fn slo_cond(&mut self, c: &ast::Cond, env: &Env, slo: &SloCtx, policy: bool) -> Option<ir::SloCond> {
        let mut all = Vec::new();
        let mut ok = true;
        for term in &c.terms {
            let lhs = match term {
                ast::Comparison::Compare { lhs, .. } | ast::Comparison::Between { lhs, .. } => lhs,
            };
            let Some((q, ty)) = self.slo_quantity(lhs, env, slo, policy) else {
                ok = false;
                continue;
            };
            let rhs = |cx: &mut Self, v: &ast::Value| -> Option<f64> {
                if let ValueKind::Path(p) = &v.kind {
                    if p.dotted() == "objective" && !env.params.contains_key("objective") {
                        if matches!(q, ir::SloQuantity::Sli { .. }) {
                            return Some(slo.objective);
                        }
                        cx.diags.push(error::mismatch(
                            v.span,
                            ty.article(),
                            "the objective",
                            Some("`objective` compares only with `sli(…)`".into()),
                        ));
                        return None;
                    }
                }
                match cx.value(v, ty, env)? {
                    Val::Pct(x) | Val::Factor(x) => Some(x),
                    _ => None,
                }
            };
            match self.term(term, rhs) {
                Some(cmps) => all.extend(cmps.into_iter().map(|(op, rhs)| ir::SloCmp { lhs: q.clone(), op, rhs })),
                None => ok = false,
            }
        }
        ok.then_some(ir::SloCond { all })
    }

    fn slo_quantity(&mut self, v: &ast::Value, env: &Env, slo: &SloCtx, policy: bool) -> Option<(ir::SloQuantity, Ty)> {
        let mut names = vec!["sli", "error_ratio", "burn_rate", "budget_remaining", "budget_consumed"];
        if policy {
            names.push("incident_share");
        }
        let bad = |cx: &mut Self, name: Option<String>| {
            let mut d = Diagnostic::error(
                "slo::cond::quantity",
                v.span,
                "a condition must start with an SLO quantity",
                "not an SLO quantity",
            );
            d = match name.as_deref().and_then(|n| error::suggest(n, names.iter().copied())) {
                Some(h) => d.with_help(h),
                None if name.as_deref() == Some("incident_share") => {
                    d.with_help("`incident_share` is known only in budget policies")
                }
                None => d.with_help(format!(
                    "use one of {}",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                )),
            };
            cx.diags.push(d);
            None
        };
        match &v.kind {
            ValueKind::Call(c) if matches!(c.callee.dotted().as_str(), "sli" | "error_ratio" | "burn_rate") => {
                let name = c.callee.dotted();
                if c.args.len() != 1 {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::cond::args",
                            c.span,
                            format!("`{name}` takes one window"),
                            "wrong number of arguments",
                        )
                        .with_help(format!("write `{name}(1h)`")),
                    );
                    return None;
                }
                let Some(Val::Dur(ms)) = self.value(&c.args[0].value, Ty::Duration, env) else { return None };
                if ms < 60_000 {
                    self.diags.push(error::out_of_range(
                        "slo::window::too_short",
                        c.args[0].value.span,
                        format!("a window of {} is too short to compute a rate", crate::units::fmt_duration(ms)),
                        "shorter than 1m",
                        "use 1m or more",
                    ));
                    return None;
                }
                if ms > slo.window_ms {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::window::alert_exceeds_slo",
                            c.args[0].value.span,
                            format!(
                                "the window {} is longer than the SLO window {}",
                                crate::units::fmt_duration(ms),
                                crate::units::fmt_duration(slo.window_ms)
                            ),
                            "longer than the SLO window",
                        )
                        .with_related(slo.span, "SLO defined here")
                        .with_help("use a window no longer than the SLO's"),
                    );
                    return None;
                }
                Some(match name.as_str() {
                    "sli" => (ir::SloQuantity::Sli { window: Duration::from_ms(ms) }, Ty::Percent),
                    "error_ratio" => (ir::SloQuantity::ErrorRatio { window: Duration::from_ms(ms) }, Ty::Percent),
                    _ => (ir::SloQuantity::BurnRate { window: Duration::from_ms(ms) }, Ty::Factor),
                })
            }
            ValueKind::Path(p) => match p.dotted().as_str() {
                "budget_remaining" => Some((ir::SloQuantity::BudgetRemaining, Ty::Percent)),
                "budget_consumed" => Some((ir::SloQuantity::BudgetConsumed, Ty::Percent)),
                "incident_share" if policy => Some((ir::SloQuantity::IncidentShare, Ty::Percent)),
                "sli" | "error_ratio" | "burn_rate" => {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::cond::args",
                            v.span,
                            format!("`{}` needs a window", p.dotted()),
                            "no window",
                        )
                        .with_help(format!("write `{}(1h)`", p.dotted())),
                    );
                    None
                }
                other => bad(self, Some(other.to_string())),
            },
            ValueKind::Call(c)
                if matches!(c.callee.dotted().as_str(), "budget_remaining" | "budget_consumed" | "incident_share") =>
            {
                self.diags.push(
                    Diagnostic::error(
                        "slo::cond::args",
                        c.span,
                        format!("`{}` takes no window", c.callee.dotted()),
                        "no parentheses here",
                    )
                    .with_help(format!("it is measured over the SLO's window: write `{}`", c.callee.dotted())),
                );
                None
            }
            ValueKind::Call(c) => bad(self, Some(c.callee.dotted())),
            _ => bad(self, None),
        }
    }

    /// The rules one budget-policy instance yields for one SLO.
    pub(crate) fn policy_for(&mut self, slo: &SloCtx, inst: &Inst) -> Vec<ir::PolicyRule> {
        let ast::Item::Policy(decl) = &self.modules[inst.decl.module].file.items[inst.decl.item] else { return vec![] };
        let env = Env { module: inst.decl.module, params: inst.args.clone() };
        let context = format!("budget policy `{}`", decl.name.name);
        let mut top = Fields::default();
        self.collect_skipping(&decl.body, &env, BUDGET_FIELDS, &context, &mut top, |e| matches!(e, Entry::When(_)));
        let labels = self.labels_of(top.get("labels")).unwrap_or_default();
        if let Some(g) = top.get("labels") {
            self.reserved_labels(&labels, g.span());
            self.policy_labels(&labels, g.span(), None);
        }
        let annotations = self.labels_of(top.get("annotations")).unwrap_or_default();
        let mut out = Vec::new();
        let camel: String = decl
            .name
            .name
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect();
        let mut i = 0;
        for e in &decl.body.entries {
            let Entry::When(w) = e else { continue };
            i += 1;
            let cond = self.slo_cond(&w.cond, &env, slo, true);
            if w.actions.is_empty() {
                self.diags.push(
                    Diagnostic::error(
                        "slo::policy::no_action",
                        w.span,
                        "a budget-policy rule needs an action",
                        "nothing happens when this holds",
                    )
                    .with_help("add `=> freeze \"deploys\"`, `=> notify \"slack-sre\"`, `=> page \"pagerduty\"`…"),
                );
                continue;
            }
            let mut actions = Vec::new();
            let mut ok = true;
            for a in &w.actions {
                match self.action(a, &env) {
                    Some(x) => actions.push(x),
                    None => ok = false,
                }
            }
            let severity = match &w.severity {
                Some(s) => self.severity(&s.name, s.span, true),
                None => Some(
                    if actions.iter().any(|a| a.kind == ir::ActionKind::Page) { "critical" } else { "warning" }
                        .to_string(),
                ),
            };
            let (Some(condition), Some(severity), true) = (cond, severity, ok) else { continue };
            let name = w.name.as_ref().map(|n| n.name.clone()).unwrap_or_else(|| format!("{camel}{i}"));
            out.push(ir::PolicyRule {
                name,
                policy: decl.name.name.clone(),
                condition,
                actions,
                severity,
                labels: labels.clone(),
                annotations: annotations.clone(),
            });
        }
        out
    }

    fn action(&mut self, a: &ast::Action, env: &Env) -> Option<ir::PolicyAction> {
        let names: Vec<&str> = ir::ActionKind::ALL.iter().map(|(n, _)| *n).collect();
        let Some((_, kind)) = ir::ActionKind::ALL.iter().find(|(n, _)| *n == a.kind.name) else {
            let mut d = Diagnostic::error(
                "slo::policy::action",
                a.kind.span,
                format!("unknown action `{}`", a.kind.name),
                "not an action",
            );
            if !error::did_you_mean(&mut d, &a.kind.name, names.iter().copied()) {
                d = d.with_help("actions are `freeze`, `review`, `notify`, `page`, `ticket` and `postmortem`");
            }
            self.diags.push(d);
            return None;
        };
        let target = match &a.arg {
            Some(v) => match self.value(v, Ty::String, env) {
                Some(Val::Str(s)) => Some(s),
                _ => return None,
            },
            None => None,
        };
        let needs = matches!(kind, ir::ActionKind::Notify | ir::ActionKind::Page | ir::ActionKind::Ticket);
        let takes = needs || *kind == ir::ActionKind::Freeze;
        if needs && target.as_deref() == Some("") {
            self.diags.push(empty_receiver(a.arg.as_ref().map_or(a.span, |v| v.span), &format!("`{}`", a.kind.name)));
            return None;
        }
        if needs && target.is_none() {
            self.diags.push(
                Diagnostic::error(
                    "slo::policy::action_target",
                    a.span,
                    format!("`{}` needs a receiver", a.kind.name),
                    "who should be told?",
                )
                .with_help(format!("write `{} \"slack-sre\"`", a.kind.name)),
            );
            return None;
        }
        if !takes && target.is_some() {
            self.diags.push(
                Diagnostic::error(
                    "slo::policy::action_target",
                    a.span,
                    format!("`{}` takes no argument", a.kind.name),
                    "unexpected argument",
                )
                .with_help(format!("write just `{}`", a.kind.name)),
            );
            return None;
        }
        Some(ir::PolicyAction {
            kind: *kind,
            target: target.or_else(|| (*kind == ir::ActionKind::Freeze).then(|| "releases".to_string())),
        })
    }
}

/// A receiver named by the empty string: Prometheus drops a label whose
/// value is empty, so the alert would carry no `receiver` at all, and
/// Alertmanager refuses a receiver without a name.
fn empty_receiver(span: crate::source::Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        "slo::alert::receiver",
        span,
        format!("{what} names the empty receiver"),
        "an empty receiver name",
    )
    .with_help(
        "name an Alertmanager receiver, e.g. \"slack-sre\": an empty label value is no label to Prometheus, and Alertmanager rejects a receiver without a name",
    )
}
