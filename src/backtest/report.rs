//! The per-SLO summary of a replay, read from the series the rules recorded.
//!
//! The JSON form (`--format json`) is versioned by its `schema` field and
//! documented in README.md; fields are only ever added.

use super::analysis::{self, period_start};
use super::eval::RecSeries;
use super::Backtest;
use crate::ir;
use crate::promql::model::{AlertSpec, Events, Series};
use crate::units::fmt_ts;
use crate::units::{fmt_duration, fmt_pct};
use serde::Serialize;
use std::collections::BTreeMap;

pub(crate) const SCHEMA: &str = "slo.backtest/v2";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub from: String,
    pub to: String,
    pub step: String,
    pub evaluations: usize,
    pub data: super::data::Stats,
    /// How incidents, sweeps and compliance periods were set up.
    pub analysis: AnalysisInfo,
    pub slos: Vec<SloReport>,
    /// Budget-policy actions summed per service (over its SLOs).
    pub services: Vec<ServiceReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnalysisInfo {
    /// `derived` (from the budget the data consumed) or `file:<path>`.
    pub incidents: String,
    /// Derived incidents consume at least this share of the window's budget.
    pub incident_budget_share: f64,
    /// Swept objectives and alert presets (empty when not sweeping).
    pub objectives: Vec<f64>,
    pub presets: Vec<String>,
    pub margin: f64,
    pub compliance_period: analysis::PeriodUnit,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub policies: Vec<PolicySummary>,
}

/// One action of a budget policy: when it was in force.
#[derive(Debug, Serialize, Clone)]
pub struct PolicyReport {
    pub policy: String,
    pub action: String,
    /// Receiver or action target (`deploys`, `pagerduty`, …), if any.
    pub target: Option<String>,
    /// The alert that carries the action.
    pub alert: String,
    pub intervals: Vec<Interval>,
    pub times: usize,
    pub total_seconds: f64,
    /// The part of `total_seconds` with a full SLO window of data behind it
    /// (earlier, the budget is computed over less history than its window).
    pub full_window_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicySummary {
    pub policy: String,
    pub action: String,
    pub target: Option<String>,
    /// Summed over the service's SLOs (overlaps count twice).
    pub times: usize,
    pub total_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SloReport {
    pub service: String,
    pub slo: String,
    pub objective: f64,
    pub window: String,
    pub budgeting: String,
    /// Whether a full window of data precedes the end of the range; when
    /// not, the period figures cover only `history` and say so.
    pub full_window: bool,
    pub history: String,
    /// First evaluation with a full window of data behind it, if any.
    pub full_window_from: Option<String>,
    /// One entry per label set the SLO is evaluated for (one unless grouped).
    pub groups: Vec<GroupReport>,
    pub alerts: Vec<AlertReport>,
    /// Budget-policy actions (alerts carrying `policy` and `action` labels).
    pub policies: Vec<PolicyReport>,
    /// Incidents from `--incidents`, or derived from the data.
    pub incidents: Vec<analysis::IncidentReport>,
    /// Per alert (tier), and per policy over all its tiers (`alert: "*"`).
    pub alert_quality: Vec<analysis::AlertQuality>,
    /// One row per swept objective × alert preset × group.
    pub sweep: Vec<analysis::SweepRow>,
    pub recommendation: Option<analysis::Recommendation>,
    /// One row per calendar period × group.
    pub compliance: Vec<analysis::CompliancePeriod>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub labels: BTreeMap<String, String>,
    /// SLI over the window at the end of the range (1 − period error ratio).
    pub sli: Option<f64>,
    pub met: Option<bool>,
    pub budget_remaining: Option<f64>,
    /// Lowest budget remaining over the evaluations with a full window
    /// behind them (all evaluations when there are none).
    pub budget_remaining_min: Option<f64>,
    pub budget_remaining_min_at: Option<String>,
    /// First evaluation at which the budget was gone.
    pub budget_exhausted_at: Option<String>,
    /// At the end, the current burn rate (`slo:burn_rate:current`) would
    /// use up the remaining budget in this many seconds (R·T / b).
    pub time_to_exhaustion_seconds: Option<f64>,
    pub burn_rates: Vec<BurnReport>,
    /// Calendar windows: the SLI over exactly the current calendar period,
    /// summed from the per-bucket events (the compiled `slo:period_error`
    /// for calendar windows runs on accumulators that restart per period
    /// and skip longer gaps, so it can only approximate this).
    pub sli_exact: Option<f64>,
    /// Slice-based SLIs and budgeting: slices in the window, and those with
    /// data (a slice without samples counts as neither good nor bad in the
    /// compiled rules).
    pub slices_expected: Option<u64>,
    pub slices_with_data: Option<u64>,
}

impl GroupReport {
    fn empty(labels: BTreeMap<String, String>) -> GroupReport {
        GroupReport {
            labels,
            sli: None,
            met: None,
            budget_remaining: None,
            budget_remaining_min: None,
            budget_remaining_min_at: None,
            budget_exhausted_at: None,
            time_to_exhaustion_seconds: None,
            burn_rates: Vec::new(),
            sli_exact: None,
            slices_expected: None,
            slices_with_data: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BurnReport {
    pub window: String,
    pub worst: f64,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertReport {
    /// Which alert or policy action of the SLO it is (not in the JSON).
    #[serde(skip)]
    pub spec: AlertSpec,
    pub alert: String,
    pub labels: BTreeMap<String, String>,
    pub firing: Vec<Interval>,
    pub firing_seconds: f64,
    pub pending_evaluations: usize,
}

impl AlertReport {
    /// Whether it is a budget-policy action rather than an alert.
    pub fn is_action(&self) -> bool {
        matches!(self.spec, AlertSpec::Action { .. })
    }
}

#[derive(Debug, Serialize, Clone)]
pub struct Interval {
    pub start: String,
    /// Exclusive end: the first evaluation at which it no longer fired
    /// (`null` if it was still firing at the end of the range).
    pub end: Option<String>,
}

fn window_text(w: &ir::Window) -> String {
    match w {
        ir::Window::Rolling { length } => length.to_string(),
        ir::Window::Calendar { unit, tz } => format!("calendar {} ({tz})", format!("{unit:?}").to_lowercase()),
    }
}

/// How much of a recorded series of some kind the report and the analysis
/// read ([`reads`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every sample.
    All,
    /// The sample at the last evaluation only.
    Last,
    /// Nothing: kept only for `--timeline` and `slo backfill`.
    Nothing,
}

/// How much of a recorded series of this kind the report or the analysis
/// reads.
pub fn reads(series: Series) -> Keep {
    match series {
        Series::Bucket { .. } | Series::ErrorRatio { .. } | Series::PeriodErrorRatio | Series::BudgetRemaining => {
            Keep::All
        }
        // Read as the current burn at the range's end (time to exhaustion).
        Series::BurnRateCurrent => Keep::Last,
        _ => Keep::Nothing,
    }
}

/// Drops from a block's recorded series what the report and the analysis
/// do not read ([`reads`]).
pub(crate) fn keep_what_it_reads<B>(series: &mut Vec<(RecSeries, B)>) {
    series.retain(|(s, _)| reads(s.series) != Keep::Nothing);
    for (s, _) in series.iter_mut().filter(|(s, _)| reads(s.series) == Keep::Last) {
        s.keep_last();
    }
}

fn group_key(s: &RecSeries, slo: &ir::Slo) -> BTreeMap<String, String> {
    analysis::group_key(&s.labels, slo)
}

pub fn build(bt: &Backtest, program: &ir::Program, settings: &analysis::Settings) -> Report {
    // Each SLO's report as its block built it (`Options::reports`), else
    // from the whole replay's series.
    let slos: Vec<SloReport> = (0..program.slos.len())
        .map(|i| match bt.slo_reports.get(i) {
            Some(Some(b)) => b.report.clone(),
            _ => slo_report(bt, program, settings, i),
        })
        .collect();
    assemble(bt, settings, slos)
}

/// The report of `program.slos[slo_index]`, from the series and alert
/// histories of `bt` labelled with it (all of a replay's, or one block's).
pub(crate) fn slo_report(
    bt: &Backtest,
    program: &ir::Program,
    settings: &analysis::Settings,
    slo_index: usize,
) -> SloReport {
    let slo = &program.slos[slo_index];
    let g = bt.group_grids[slo_index];
    // This SLO's recorded series, by kind.
    let mine: Vec<(Series, &RecSeries)> = bt.slo_series(&slo.service, &slo.name).map(|s| (s.series, s)).collect();
    let window_ms = slo.window.nominal().ms() as i64;
    let history = (g.to() - bt.data_start_ms).max(0);
    let full_from = bt.data_start_ms + window_ms;
    // A calendar window needs data from the start of its current period.
    let full_window = match &slo.window {
        ir::Window::Calendar { unit, tz } => period_start(*unit, tz, g.to()).is_some_and(|p| p >= bt.data_start_ms),
        ir::Window::Rolling { .. } => history >= window_ms,
    };
    let mut groups: BTreeMap<BTreeMap<String, String>, GroupReport> = BTreeMap::new();
    let by_name = |series: Series| mine.iter().filter(move |(k, _)| *k == series).map(|(_, s)| *s);
    let last_value =
        |s: &RecSeries| -> Option<f64> { (s.ts.last() == Some(g.to())).then(|| *s.v.last().expect("non-empty")) };
    for s in by_name(Series::PeriodErrorRatio) {
        let key = group_key(s, slo);
        let sli = last_value(s).map(|e| 1.0 - e).filter(|x| x.is_finite());
        groups
            .insert(key.clone(), GroupReport { sli, met: sli.map(|x| x >= slo.objective), ..GroupReport::empty(key) });
    }
    // Exact period figures from the bucket series.
    let buckets: Vec<(Events, &RecSeries)> = mine
        .iter()
        .filter_map(|(k, s)| match k {
            Series::Bucket { events, .. } => Some((*events, *s)),
            _ => None,
        })
        .collect();
    let start = match &slo.window {
        ir::Window::Calendar { unit, tz } => period_start(*unit, tz, g.to()),
        ir::Window::Rolling { length } => Some(g.to() - length.ms() as i64),
    };
    let slice = slo.slice();
    if let Some(start) = start {
        let window_sum = |s: &RecSeries| -> (f64, u64) {
            let lo = s.ts.partition_point(|t| t <= start);
            let hi = s.ts.partition_point(|t| t <= g.to());
            (s.v[lo..hi].iter().filter(|v| v.is_finite()).fold(0.0, |a, b| a + b), (hi - lo) as u64)
        };
        for gr in groups.values_mut() {
            let of = |which: Events| {
                buckets.iter().find(|(e, s)| *e == which && group_key(s, slo) == gr.labels).map(|(_, s)| *s)
            };
            if let (Some(bad), Some(total)) = (of(Events::Bad), of(Events::Total)) {
                let ((b, _), (t, n)) = (window_sum(bad), window_sum(total));
                if matches!(slo.window, ir::Window::Calendar { .. }) && t > 0.0 {
                    gr.sli_exact = Some(1.0 - b / t);
                }
                if let Some(slice) = slice {
                    gr.slices_expected = Some(((g.to() - start).max(0) as u64) / slice.ms());
                    gr.slices_with_data = Some(n);
                }
            }
        }
    }
    for s in by_name(Series::BudgetRemaining) {
        let Some(gr) = groups.get_mut(&group_key(s, slo)) else { continue };
        gr.budget_remaining = last_value(s).filter(|x| x.is_finite());
        let from_idx = if full_window { s.ts.partition_point(|t| t < full_from) } else { 0 };
        let mut min: Option<(f64, i64)> = None;
        for (t, v) in s.ts.iter().skip(from_idx).zip(&s.v[from_idx..]) {
            if v.is_finite() && min.is_none_or(|(m, _)| *v < m) {
                min = Some((*v, t));
            }
        }
        gr.budget_remaining_min = min.map(|m| m.0);
        gr.budget_remaining_min_at = min.map(|m| fmt_ts(m.1));
        gr.budget_exhausted_at =
            s.ts.iter().skip(from_idx).zip(&s.v[from_idx..]).find(|(_, v)| **v <= 0.0).map(|(t, _)| fmt_ts(t));
    }
    for s in by_name(Series::BurnRateCurrent) {
        let Some(gr) = groups.get_mut(&group_key(s, slo)) else { continue };
        if let (Some(b), Some(r)) = (last_value(s), gr.budget_remaining) {
            gr.time_to_exhaustion_seconds =
                (b > 0.0 && r > 0.0 && b.is_finite()).then(|| r * window_ms as f64 / 1000.0 / b);
        }
    }
    let budget = slo.budget();
    let mut windows: Vec<(u64, &RecSeries)> = mine
        .iter()
        .filter_map(|(k, s)| match k {
            Series::ErrorRatio { window } => Some((window.ms(), *s)),
            _ => None,
        })
        .collect();
    windows.sort_by_key(|(w, _)| *w);
    for (w, s) in windows {
        let Some(gr) = groups.get_mut(&group_key(s, slo)) else { continue };
        let mut worst: Option<(f64, i64)> = None;
        for (t, v) in s.ts.iter().zip(&s.v) {
            if v.is_finite() && worst.is_none_or(|(m, _)| *v > m) {
                worst = Some((*v, t));
            }
        }
        if let Some((v, t)) = worst {
            gr.burn_rates.push(BurnReport { window: fmt_duration(w), worst: v / budget, at: fmt_ts(t) });
        }
    }
    if groups.is_empty() {
        // The rules never produced a period ratio: say so rather than skip the SLO.
        groups.insert(BTreeMap::new(), GroupReport::empty(BTreeMap::new()));
    }
    let mut alerts = Vec::new();
    let mut policies = Vec::new();
    for run in bt.slo_alerts(slo_index) {
        // A budget-policy action: its rule and action, from the IR.
        let action = match run.spec {
            AlertSpec::Action { rule, action } => {
                slo.policy_rules.get(rule).and_then(|p| Some((p, p.actions.get(action)?)))
            }
            AlertSpec::Alert { .. } => None,
        };
        for (labels, h) in &run.history {
            let firing = analysis::intervals(&h.firing, g.step);
            let secs: f64 = firing.iter().fold(0.0, |s, (a, b)| s + (b - a) as f64 / 1000.0);
            if let Some((rule, action)) = action {
                // The action's own target, else the rule's route.
                let target = action.target.clone().or_else(|| rule.labels.get("receiver").cloned());
                let full: f64 = firing.iter().fold(0.0, |s, &(a, b)| s + (b - a.max(full_from).min(b)) as f64 / 1000.0);
                policies.push(PolicyReport {
                    policy: rule.policy.clone(),
                    action: action.kind.as_str().into(),
                    target,
                    alert: run.name.clone(),
                    intervals: firing
                        .iter()
                        .map(|&(a, b)| Interval { start: fmt_ts(a), end: (b <= g.to()).then(|| fmt_ts(b)) })
                        .collect(),
                    times: firing.len(),
                    total_seconds: secs,
                    full_window_seconds: full,
                });
            }
            alerts.push(AlertReport {
                spec: run.spec,
                alert: run.name.clone(),
                labels: labels.iter().cloned().collect(),
                firing: firing
                    .into_iter()
                    .map(|(a, b)| Interval { start: fmt_ts(a), end: (b <= g.to()).then(|| fmt_ts(b)) })
                    .collect(),
                firing_seconds: secs,
                pending_evaluations: h.pending.len(),
            });
        }
    }
    let an = analysis::analyse(bt, slo_index, program, settings);
    SloReport {
        service: slo.service.clone(),
        slo: slo.name.clone(),
        objective: slo.objective,
        window: window_text(&slo.window),
        budgeting: slo.budgeting.to_string(),
        full_window,
        history: fmt_duration(history as u64),
        full_window_from: (full_from <= g.to()).then(|| fmt_ts(full_from)),
        groups: groups.into_values().collect(),
        alerts,
        policies,
        incidents: an.incidents,
        alert_quality: an.alert_quality,
        sweep: an.sweep,
        recommendation: an.recommendation,
        compliance: an.compliance,
    }
}

/// The whole report around the SLOs' own.
fn assemble(bt: &Backtest, settings: &analysis::Settings, slos: Vec<SloReport>) -> Report {
    // Per service, per (policy, action, target): (how often, for how long).
    type Actions = BTreeMap<(String, String, Option<String>), (usize, f64)>;
    let mut services: BTreeMap<String, Actions> = BTreeMap::new();
    for s in &slos {
        let svc = services.entry(s.service.clone()).or_default();
        for p in &s.policies {
            let e = svc.entry((p.policy.clone(), p.action.clone(), p.target.clone())).or_default();
            e.0 += p.times;
            e.1 += p.total_seconds;
        }
    }
    let services = services
        .into_iter()
        .map(|(service, m)| ServiceReport {
            service,
            policies: m
                .into_iter()
                .map(|((policy, action, target), (times, total_seconds))| PolicySummary {
                    policy,
                    action,
                    target,
                    times,
                    total_seconds,
                })
                .collect(),
        })
        .collect();
    Report {
        schema: SCHEMA,
        from: fmt_ts(bt.grid.from),
        to: fmt_ts(bt.grid.to()),
        step: fmt_duration(bt.grid.step as u64),
        evaluations: bt.grid.len,
        data: bt.stats.clone(),
        analysis: AnalysisInfo {
            incidents: match &settings.incidents {
                Some((path, _)) => format!("file:{path}"),
                None => "derived".into(),
            },
            incident_budget_share: settings.incident_share,
            objectives: settings.objectives.clone(),
            presets: settings.presets.iter().map(|p| p.name.clone()).collect(),
            margin: settings.margin,
            compliance_period: settings.period,
        },
        slos,
        services,
    }
}

pub(crate) fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), fmt_pct)
}

pub(crate) fn human_secs(s: f64) -> String {
    let ms = (s * 1000.0).round();
    if ms >= 60_000.0 {
        fmt_duration(((ms / 60_000.0).round() * 60_000.0) as u64)
    } else {
        format!("{:.0}s", s)
    }
}

/// `service/slo`, with the group's labels for a grouped SLO.
pub fn who(s: &SloReport, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        format!("{}/{}", s.service, s.slo)
    } else {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}/{}{{{}}}", s.service, s.slo, l.join(","))
    }
}

pub fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "MET",
        Some(false) => "MISSED",
        None => "NO DATA",
    }
}

fn secs(x: Option<f64>) -> String {
    x.map_or("–".into(), human_secs)
}

// The rows of the report's tables, shared by the terminal and the HTML
// report: each `*_HEAD` names the cells its `*_cells` function returns.

pub(crate) const SUMMARY_HEAD: [&str; 8] =
    ["SLO", "objective", "window", "SLI", "budget left", "lowest", "alerts fired", "verdict"];

pub(crate) fn summary_cells(s: &SloReport, g: &GroupReport) -> Vec<String> {
    let fired: usize = s.alerts.iter().filter(|a| !a.is_action()).map(|a| a.firing.len()).sum();
    vec![
        who(s, &g.labels),
        fmt_pct(s.objective),
        format!("{}{}", s.window, if s.full_window { "" } else { " (partial)" }),
        pct(g.sli),
        pct(g.budget_remaining),
        pct(g.budget_remaining_min),
        fired.to_string(),
        verdict(g.met).into(),
    ]
}

pub(crate) const QUALITY_HEAD: [&str; 12] = [
    "policy / alert",
    "severity",
    "rate",
    "true/fired",
    "precision",
    "detected",
    "recall",
    "detect p50",
    "detect p90",
    "detect max",
    "reset p50",
    "budget before",
];

pub(crate) fn quality_cells(a: &analysis::AlertQuality) -> Vec<String> {
    let q = &a.quality;
    let d = |f: fn(&analysis::Spread) -> f64| secs(q.detection_seconds.as_ref().map(f));
    vec![
        format!("{} / {}", a.policy, a.alert),
        a.severity.clone(),
        format!("{:.2}/week", q.per_week),
        format!("{}/{}", q.true_alerts, q.fired),
        pct(q.precision),
        format!("{}/{}", q.detected, q.incidents),
        pct(q.recall),
        d(|s| s.median),
        d(|s| s.p90),
        d(|s| s.max),
        secs(q.reset_seconds.as_ref().map(|d| d.median)),
        pct(q.budget_before_detection.as_ref().map(|d| d.median)),
    ]
}

pub(crate) const SWEEP_HEAD: [&str; 13] = [
    "objective",
    "alerts",
    "SLI",
    "verdict",
    "time met",
    "budget left",
    "lowest",
    "pages",
    "tickets",
    "incidents",
    "precision",
    "recall",
    "detect p50",
];

pub(crate) fn sweep_cells(w: &analysis::SweepRow) -> Vec<String> {
    vec![
        fmt_pct(w.objective),
        w.alerts.clone(),
        pct(w.sli),
        verdict(w.met).into(),
        pct(w.attainment),
        pct(w.budget_remaining),
        pct(w.budget_remaining_min),
        format!("{:.2}/week", w.pages_per_week),
        format!("{:.2}/week", w.tickets_per_week),
        w.incidents.to_string(),
        pct(w.precision),
        pct(w.recall),
        secs(w.detection_median_seconds),
    ]
}

pub(crate) const COMPLIANCE_HEAD: [&str; 8] =
    ["period", "covered", "attainment", "verdict", "budget used", "incidents", "pages", "tickets"];

pub(crate) fn compliance_cells(c: &analysis::CompliancePeriod) -> Vec<String> {
    vec![
        c.period.clone(),
        fmt_pct(c.coverage),
        pct(c.attainment),
        verdict(c.met).into(),
        pct(c.budget_consumed),
        c.incidents.to_string(),
        c.pages.to_string(),
        c.tickets.to_string(),
    ]
}

/// One aligned row per SLO (and group): the summary above the details.
fn summary(r: &Report, color: bool) -> String {
    use comfy_table::{presets, Cell, CellAlignment, Color, Table};
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    if !color {
        t.force_no_tty();
    }
    t.set_header(SUMMARY_HEAD.to_vec());
    for s in &r.slos {
        for g in &s.groups {
            let mut cells: Vec<Cell> =
                summary_cells(s, g).iter().map(|c| Cell::new(crate::term::sanitize(c))).collect();
            if color {
                let c = match g.met {
                    Some(true) => Color::Green,
                    Some(false) => Color::Red,
                    None => Color::Yellow,
                };
                let v = cells.pop().expect("a verdict cell").fg(c);
                cells.push(v);
            }
            t.add_row(cells);
        }
    }
    for i in [1, 3, 4, 5, 6] {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t.to_string()
}

/// The terminal report: a summary table, then the details per SLO.
/// `color` only when writing to a terminal.
pub fn table(r: &Report, color: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "backtest {} .. {} every {} ({} evaluations)", r.from, r.to, r.step, r.evaluations);
    let _ = writeln!(
        out,
        "data: {} series, {} samples{}{}\n",
        r.data.series,
        r.data.samples,
        if r.data.histogram_samples > 0 {
            format!(" and {} native-histogram samples", r.data.histogram_samples)
        } else {
            String::new()
        },
        if r.data.sorted_by_engine { " (sorted by the engine: files not ordered by series, time)" } else { "" }
    );
    let _ = writeln!(out, "{}\n", summary(r, color));
    // Names, labels and file names are user text: escaped for the terminal.
    let mut body = String::new();
    for s in &r.slos {
        for g in &s.groups {
            let who = who(s, &g.labels);
            let verdict = verdict(g.met);
            let why = if g.met.is_none() {
                " (the rules recorded no SLI: does every window hold two samples of each series?)"
            } else {
                ""
            };
            let _ = writeln!(
                body,
                "{verdict:<7} {who}: SLI {} vs objective {} over {}{}{why}",
                pct(g.sli),
                fmt_pct(s.objective),
                s.window,
                if s.full_window { String::new() } else { format!(" (only {} of data: partial window)", s.history) }
            );
            let _ = writeln!(
                body,
                "        budget remaining {} (lowest {}{}){}",
                pct(g.budget_remaining),
                pct(g.budget_remaining_min),
                g.budget_remaining_min_at.as_deref().map(|t| format!(" at {t}")).unwrap_or_default(),
                match (&g.budget_exhausted_at, g.time_to_exhaustion_seconds) {
                    (Some(t), _) => format!(", exhausted at {t}"),
                    (None, Some(s)) => format!(", exhausted in {} at the current burn rate", human_secs(s)),
                    _ => String::new(),
                }
            );
            if let Some(x) = g.sli_exact {
                let _ = writeln!(
                    out,
                    "        exact over the calendar period so far: SLI {} (the compiled accumulators: {})",
                    fmt_pct(x),
                    pct(g.sli)
                );
            }
            if let (Some(e), Some(w)) = (g.slices_expected, g.slices_with_data) {
                if w < e {
                    let _ = writeln!(
                        out,
                        "        slices: {w} of {e} in the window had data (the others count as neither good nor bad)"
                    );
                }
            }
            if !g.burn_rates.is_empty() {
                let b: Vec<String> = g.burn_rates.iter().map(|b| format!("{} {:.2}x", b.window, b.worst)).collect();
                let _ = writeln!(body, "        worst burn rate: {}", b.join(", "));
            }
        }
        for p in &s.policies {
            if p.times == 0 {
                continue;
            }
            let _ = writeln!(
                body,
                "        policy {}: {}{} in force {} time(s), {} in all ({} with a full window behind it)",
                p.policy,
                p.action,
                p.target.as_deref().map(|t| format!(" {t}")).unwrap_or_default(),
                p.times,
                human_secs(p.total_seconds),
                human_secs(p.full_window_seconds)
            );
        }
        for a in &s.alerts {
            if a.firing.is_empty() || a.is_action() {
                continue;
            }
            let _ = writeln!(
                body,
                "        alert {} ({}): fired {} time(s), {} in all",
                a.alert,
                a.labels.get("severity").map_or("-", |s| s.as_str()),
                a.firing.len(),
                human_secs(a.firing_seconds)
            );
            for i in a.firing.iter().take(5) {
                let _ = writeln!(body, "          {} .. {}", i.start, i.end.as_deref().unwrap_or("(still firing)"));
            }
            if a.firing.len() > 5 {
                let _ = writeln!(body, "          … {} more", a.firing.len() - 5);
            }
        }
        if !s.incidents.is_empty() {
            let detected = s.incidents.iter().filter(|i| i.detected_by.is_some()).count();
            let _ = writeln!(body, "        incidents: {} ({} detected by an alert)", s.incidents.len(), detected);
        }
        if let Some(rec) = &s.recommendation {
            let _ = writeln!(
                body,
                "        sweep recommends: {}{} ({})",
                rec.objective.map_or("no objective".into(), fmt_pct),
                rec.alerts.as_deref().map(|a| format!(" with alerts {a}")).unwrap_or_default(),
                rec.reason
            );
        }
    }
    out.push_str(&crate::term::sanitize(&body));
    out.push_str(&analysis_tables(r, color));
    out
}

/// An aligned table; columns from `right_from` on are right-aligned.
fn grid(head: &[&str], rows: Vec<Vec<String>>, right_from: usize, color: bool) -> String {
    use comfy_table::{presets, CellAlignment, Table};
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    if !color {
        t.force_no_tty();
    }
    t.set_header(head.to_vec());
    for r in rows {
        t.add_row(r.iter().map(|c| crate::term::sanitize(c).into_owned()).collect::<Vec<_>>());
    }
    for i in right_from..head.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t.to_string()
}

/// Alert quality, sweep and compliance, each as one table over all SLOs
/// (the rows of [`quality_cells`], [`sweep_cells`] and [`compliance_cells`]
/// after an SLO column).
fn analysis_tables(r: &Report, color: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let section = |out: &mut String, title: String, head: &[&str], rows: Vec<Vec<String>>, right_from: usize| {
        if rows.is_empty() {
            return;
        }
        let mut h = vec!["SLO"];
        h.extend_from_slice(head);
        let _ = writeln!(out, "\n{}:\n{}", crate::term::sanitize(&title), grid(&h, rows, right_from + 1, color));
    };
    let prefixed = |name: String, mut cells: Vec<String>| {
        cells.insert(0, name);
        cells
    };
    let rows = r
        .slos
        .iter()
        .flat_map(|s| s.alert_quality.iter().map(move |a| prefixed(who(s, &BTreeMap::new()), quality_cells(a))))
        .collect();
    let against = if r.analysis.incidents == "derived" {
        format!("derived (periods that consumed ≥ {} of the budget)", fmt_pct(r.analysis.incident_budget_share))
    } else {
        r.analysis.incidents.trim_start_matches("file:").to_string()
    };
    section(&mut out, format!("alert quality against {against} incidents"), &QUALITY_HEAD, rows, 2);
    let rows =
        r.slos.iter().flat_map(|s| s.sweep.iter().map(move |w| prefixed(who(s, &w.labels), sweep_cells(w)))).collect();
    section(
        &mut out,
        format!(
            "what-if sweep (recommendation: the highest objective keeping ≥ {} of its budget)",
            fmt_pct(r.analysis.margin)
        ),
        &SWEEP_HEAD,
        rows,
        2,
    );
    let rows = r
        .slos
        .iter()
        .flat_map(|s| s.compliance.iter().map(move |c| prefixed(who(s, &c.labels), compliance_cells(c))))
        .collect();
    let unit = match r.analysis.compliance_period {
        analysis::PeriodUnit::Week => "week",
        analysis::PeriodUnit::Month => "month",
    };
    section(&mut out, format!("compliance per {unit}"), &COMPLIANCE_HEAD, rows, 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_periods_start_at_local_midnight() {
        // 2026-03-04 (a Wednesday) 12:00 UTC.
        let t = jiff::Timestamp::from_second(1_772_625_600).unwrap().as_millisecond();
        let week = period_start(ir::CalendarUnit::Week, "UTC", t).unwrap();
        assert_eq!(fmt_ts(week), "2026-03-02T00:00:00Z");
        // Tokyo is 9 hours ahead: its Monday starts on Sunday 15:00 UTC.
        let week = period_start(ir::CalendarUnit::Week, "Asia/Tokyo", t).unwrap();
        assert_eq!(fmt_ts(week), "2026-03-01T15:00:00Z");
        let month = period_start(ir::CalendarUnit::Month, "Europe/Berlin", t).unwrap();
        assert_eq!(fmt_ts(month), "2026-02-28T23:00:00Z");
        let q = period_start(ir::CalendarUnit::Quarter, "UTC", t).unwrap();
        assert_eq!(fmt_ts(q), "2026-01-01T00:00:00Z");
    }
}
