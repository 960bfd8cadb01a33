//! Objectives (`99.9% over 28d`), rolling and calendar windows (with their
//! time zone), budgeting methods (`occurrences`, `timeslices(…)`,
//! `ratio_timeslices(…)`) and slice lengths, which timeslice budgeting and
//! timeslices SLIs share. It assumes nothing about the rest of the SLO.

use super::{Cx, Got, MAX_WINDOW_MS, MIN_WINDOW_MS};
use crate::diag::Diagnostic;
use crate::ir;
use crate::sema::error;
use crate::sema::eval::{self, Env, Ty, Val};
use crate::syntax::ast::{self, ValueKind};
use crate::units::Duration;

impl Cx<'_> {
    pub(super) fn objective(&mut self, g: &Got) -> Option<(f64, ir::Window)> {
        let v = g.value()?;
        let ValueKind::Over(target, window) = &v.kind else {
            let mut d = error::mismatch(v.span, "an objective with a window", eval::found(v), None);
            d.code = "slo::objective::no_window";
            let example = match &v.kind {
                ValueKind::Percent(l) => format!("objective = {} over 28d", l.text),
                _ => "objective = 99.9% over 28d".into(),
            };
            self.diags.push(d.with_help(format!("say over which window: `{example}`")));
            return None;
        };
        let t = match self.value(target, Ty::Percent, g.env) {
            Some(Val::Pct(x)) => Some(x),
            _ => None,
        };
        if let Some(x) = t {
            if x <= 0.0 || x >= 1.0 {
                self.diags.push(error::out_of_range(
                    "slo::objective::range",
                    target.span,
                    format!(
                        "objective {} leaves {}",
                        crate::units::fmt_pct(x),
                        if x >= 1.0 { "no error budget" } else { "no room for success" }
                    ),
                    "must be strictly between 0% and 100%",
                    if x >= 1.0 {
                        "100% allows no failure at all, so every burn rate is infinite; use e.g. 99.99%"
                    } else {
                        "an objective of 0% is always met; use a real target like 99%"
                    },
                ));
                return None;
            }
        }
        let w = self.window(window, g.env);
        Some((t?, w?))
    }

    pub fn window(&mut self, w: &ast::Window, env: &Env) -> Option<ir::Window> {
        match w {
            ast::Window::Value(v) => {
                let Some(Val::Dur(ms)) = self.value(v, Ty::Duration, env) else { return None };
                if !(MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&ms) {
                    self.diags.push(error::out_of_range(
                        "slo::window::range",
                        v.span,
                        format!("an SLO window of {} is out of range", crate::units::fmt_duration(ms)),
                        "must be between 5m and 1y",
                        "SLO windows run from 5m to 1y; 28d or 30d are common",
                    ));
                    return None;
                }
                Some(ir::Window::Rolling { length: Duration::from_ms(ms) })
            }
            ast::Window::Calendar { unit, tz, .. } => {
                let u = match unit.name.as_str() {
                    "week" => Some(ir::CalendarUnit::Week),
                    "month" => Some(ir::CalendarUnit::Month),
                    "quarter" => Some(ir::CalendarUnit::Quarter),
                    other => {
                        let mut d = Diagnostic::error(
                            "slo::window::calendar_unit",
                            unit.span,
                            format!("`{other}` is not a calendar period"),
                            "unknown period",
                        );
                        if !error::did_you_mean(&mut d, other, ["week", "month", "quarter"]) {
                            d = d.with_help(
                                "calendar windows are `week`, `month` or `quarter`; for a year use a rolling `365d`",
                            );
                        }
                        self.diags.push(d);
                        None
                    }
                };
                let tz = match tz {
                    None => Some("UTC".to_string()),
                    Some(s) => {
                        match jiff::tz::TimeZone::get(&s.value) {
                            // The database's own spelling ("europe/berlin" → "Europe/Berlin").
                            Ok(zone) => Some(zone.iana_name().unwrap_or(&s.value).to_string()),
                            Err(_) => {
                                let d = Diagnostic::error(
                                    "slo::window::time_zone",
                                    s.span,
                                    format!("unknown time zone \"{}\"", s.value),
                                    "not in the IANA time zone database",
                                );
                                let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
                                let mut d = d;
                                if error::did_you_mean(&mut d, &s.value, names.iter().map(String::as_str)) {
                                    // The span is the string literal, quotes and all.
                                    for f in &mut d.fixes {
                                        for (_, t) in &mut f.edits {
                                            *t = format!("\"{t}\"");
                                        }
                                    }
                                } else {
                                    d = d.with_help("use an IANA name such as \"Europe/Berlin\" or \"America/New_York\", or \"UTC\"");
                                }
                                self.diags.push(d);
                                None
                            }
                        }
                    }
                };
                Some(ir::Window::Calendar { unit: u?, tz: tz? })
            }
        }
    }

    pub(super) fn slice(&mut self, v: &ast::Value, env: &Env, window_ms: Option<u64>) -> Option<u64> {
        let Some(Val::Dur(ms)) = self.value(v, Ty::Duration, env) else { return None };
        if ms < 60_000 {
            self.diags.push(error::out_of_range(
                "slo::timeslice::too_short",
                v.span,
                format!("a timeslice of {} is shorter than 1m", crate::units::fmt_duration(ms)),
                "too short",
                "a slice needs several scrapes to judge; use 1m or more",
            ));
            return None;
        }
        if let Some(w) = window_ms {
            if w % ms != 0 {
                self.diags.push(error::out_of_range(
                    "slo::timeslice::not_divisor",
                    v.span,
                    format!(
                        "{} slices do not divide the {} window evenly",
                        crate::units::fmt_duration(ms),
                        crate::units::fmt_duration(w)
                    ),
                    "does not divide the window",
                    "pick a slice length that divides the SLO window (1m, 5m, 10m, 1h…)",
                ));
                return None;
            }
        }
        Some(ms)
    }

    pub(super) fn budgeting(&mut self, g: &Got, window_ms: u64) -> Option<ir::Budgeting> {
        let v = g.value()?;
        let help = "write `occurrences`, `timeslices(1m, 95%)` or `ratio_timeslices(5m)`";
        match &v.kind {
            ValueKind::Path(p) if p.dotted() == "occurrences" => Some(ir::Budgeting::Occurrences),
            ValueKind::Call(c) if matches!(c.callee.dotted().as_str(), "timeslices" | "ratio_timeslices") => {
                let ratio = c.callee.dotted() == "ratio_timeslices";
                let want = if ratio { 1 } else { 2 };
                if c.args.len() != want {
                    self.diags.push(
                        Diagnostic::error(
                            "slo::budgeting::args",
                            c.span,
                            format!(
                                "`{}` takes {want} argument{}",
                                c.callee.dotted(),
                                if want == 1 { "" } else { "s" }
                            ),
                            "wrong number of arguments",
                        )
                        .with_help(help),
                    );
                    return None;
                }
                let slice = self.slice(&c.args[0].value, g.env, Some(window_ms));
                if ratio {
                    return Some(ir::Budgeting::RatioTimeslices { slice: Duration::from_ms(slice?) });
                }
                let target = match self.value(&c.args[1].value, Ty::Percent, g.env) {
                    Some(Val::Pct(x)) if x > 0.0 => Some(x),
                    Some(_) => {
                        self.diags.push(error::out_of_range(
                            "slo::budgeting::target",
                            c.args[1].value.span,
                            "a slice target of 0% makes every slice good".into(),
                            "must be above 0%",
                            "use the share of good events a slice needs, e.g. 95%",
                        ));
                        None
                    }
                    None => None,
                };
                Some(ir::Budgeting::Timeslices { slice: Duration::from_ms(slice?), target: target? })
            }
            _ => {
                let name = match &v.kind {
                    ValueKind::Path(p) => Some(p.dotted()),
                    ValueKind::Call(c) => Some(c.callee.dotted()),
                    _ => None,
                };
                let mut d = Diagnostic::error(
                    "slo::budgeting::unknown",
                    v.span,
                    "unknown budgeting method",
                    "not a budgeting method",
                );
                // The right name in the wrong form gets told the form.
                let form = match (name.as_deref(), &v.kind) {
                    (Some("timeslices"), ValueKind::Path(_)) => {
                        Some("`timeslices` takes a slice and a target: `timeslices(1m, 95%)`".to_string())
                    }
                    (Some("ratio_timeslices"), ValueKind::Path(_)) => {
                        Some("`ratio_timeslices` takes a slice: `ratio_timeslices(5m)`".to_string())
                    }
                    (Some("occurrences"), ValueKind::Call(_)) => {
                        Some("`occurrences` takes no arguments: write `occurrences`".to_string())
                    }
                    _ => None,
                };
                d = match form.or_else(|| {
                    name.and_then(|n| error::suggest(&n, ["occurrences", "timeslices", "ratio_timeslices"]))
                }) {
                    Some(s) => d.with_help(s),
                    None => d.with_help(help),
                };
                self.diags.push(d);
                None
            }
        }
    }
}
