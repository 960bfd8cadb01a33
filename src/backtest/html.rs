//! `--format html`: one self-contained HTML file (no scripts, no network)
//! with, per SLO, charts drawn by plotters' SVG backend — the SLI against
//! the objective, the budget burn-down, burn rates per window with the
//! alert thresholds, and bands for alert firing, budget-policy actions and
//! incidents — followed by the summary, alert-quality, incident, sweep and
//! compliance tables of the JSON report.

use super::analysis::{self, Signals};
use super::range::Grid;
use super::report::{self, human_secs, pct, Report, SloReport};
use super::Backtest;
use crate::ir;
use crate::units::{fmt_factor, fmt_pct};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 230;
/// Points kept per line: min and max per pixel column keep spikes visible.
const COLUMNS: usize = 550;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Reduces a dense series to at most 2 × COLUMNS points (the min and max
/// of each column, in time order), splitting at gaps.
fn thin(ts: impl Fn(usize) -> f64, v: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let n = v.len();
    let per = n.div_ceil(COLUMNS).max(1);
    let mut segs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let mut k = 0;
    while k < n {
        let hi = (k + per).min(n);
        let mut lo_pt: Option<(usize, f64)> = None;
        let mut hi_pt: Option<(usize, f64)> = None;
        for (i, x) in v[k..hi].iter().enumerate().filter(|(_, x)| x.is_finite()) {
            if lo_pt.is_none_or(|(_, m)| *x < m) {
                lo_pt = Some((k + i, *x));
            }
            if hi_pt.is_none_or(|(_, m)| *x > m) {
                hi_pt = Some((k + i, *x));
            }
        }
        match (lo_pt, hi_pt) {
            (Some(a), Some(b)) => {
                let seg = segs.last_mut().expect("one segment");
                let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
                seg.push((ts(first.0), first.1));
                if second.0 != first.0 {
                    seg.push((ts(second.0), second.1));
                }
            }
            _ => {
                if !segs.last().expect("one segment").is_empty() {
                    segs.push(Vec::new());
                }
            }
        }
        k = hi;
    }
    segs.retain(|s| !s.is_empty());
    segs
}

fn time_label(x: &f64, span_ms: f64) -> String {
    match jiff::Timestamp::from_millisecond(*x as i64) {
        Ok(t) if span_ms > 3.0 * 86_400_000.0 => t.strftime("%m-%d").to_string(),
        Ok(t) => t.strftime("%m-%d %H:%M").to_string(),
        Err(_) => String::new(),
    }
}

type Draw<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// One chart as an SVG string, or the reason it could not be drawn.
fn svg(height: u32, f: impl FnOnce(&Draw) -> Result<(), String>) -> String {
    let mut buf = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err).and_then(|_| f(&root)).and_then(|_| root.present().map_err(err))
    };
    match result {
        Ok(()) => buf,
        Err(e) => format!("<p class=\"err\">chart not drawn: {}</p>", esc(&e)),
    }
}

struct Line {
    name: String,
    color: RGBColor,
    segs: Vec<Vec<(f64, f64)>>,
}

/// A time chart of lines plus horizontal reference lines.
fn line_chart(
    title: &str,
    x: (f64, f64),
    y: (f64, f64),
    log: bool,
    lines: &[Line],
    refs: &[(String, f64, RGBColor)],
    y_fmt: &dyn Fn(&f64) -> String,
) -> String {
    svg(HEIGHT, |root| {
        let span = x.1 - x.0;
        let mut b = ChartBuilder::on(root);
        b.caption(title, ("sans-serif", 15)).margin(6).x_label_area_size(24).y_label_area_size(70);
        macro_rules! body {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_labels(10)
                    .y_labels(6)
                    .x_label_formatter(&|v| time_label(v, span))
                    .y_label_formatter(y_fmt)
                    .light_line_style(RGBColor(235, 235, 235))
                    .draw()
                    .map_err(err)?;
                for (name, v, c) in refs {
                    let c = *c;
                    chart
                        .draw_series(std::iter::once(PathElement::new(vec![(x.0, *v), (x.1, *v)], c.stroke_width(1))))
                        .map_err(err)?
                        .label(name.clone())
                        .legend(move |(px, py)| PathElement::new(vec![(px, py), (px + 16, py)], c.stroke_width(1)));
                }
                for l in lines {
                    let c = l.color;
                    for (i, seg) in l.segs.iter().enumerate() {
                        let s =
                            chart.draw_series(LineSeries::new(seg.iter().copied(), c.stroke_width(1))).map_err(err)?;
                        if i == 0 {
                            s.label(l.name.clone()).legend(move |(px, py)| {
                                PathElement::new(vec![(px, py), (px + 16, py)], c.stroke_width(2))
                            });
                        }
                    }
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(200, 200, 200))
                    .label_font(("sans-serif", 11))
                    .draw()
                    .map_err(err)?;
            }};
        }
        if log {
            body!(b.build_cartesian_2d(x.0..x.1, (y.0..y.1).log_scale()).map_err(err)?);
        } else {
            body!(b.build_cartesian_2d(x.0..x.1, y.0..y.1).map_err(err)?);
        }
        Ok(())
    })
}

/// One row of a band chart: its name, colour and intervals (x from, x to).
type BandRow = (String, RGBColor, Vec<(f64, f64)>);

/// Rows of intervals on the time axis (alerts, policy actions, incidents).
fn band_chart(title: &str, x: (f64, f64), rows: &[BandRow]) -> String {
    let height = 60 + 22 * rows.len().max(1) as u32;
    svg(height, |root| {
        let span = x.1 - x.0;
        let n = rows.len().max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 15))
            .margin(6)
            .x_label_area_size(24)
            .y_label_area_size(70)
            .build_cartesian_2d(x.0..x.1, 0.0..n)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(0)
            .disable_y_mesh()
            .x_label_formatter(&|v| time_label(v, span))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        for (i, (name, c, spans)) in rows.iter().enumerate() {
            let y = n - i as f64 - 1.0;
            let c = *c;
            chart
                .draw_series(spans.iter().map(|&(a, b)| {
                    // At least 2 px wide, so a one-step firing shows.
                    let b = b.max(a + span / WIDTH as f64 * 2.0);
                    Rectangle::new([(a, y + 0.2), (b, y + 0.8)], c.filled())
                }))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    name.clone(),
                    (x.0 + span * 0.005, y + 0.95),
                    ("sans-serif", 11).into_font().color(&RGBColor(60, 60, 60)),
                )))
                .map_err(err)?;
        }
        if rows.is_empty() {
            chart
                .draw_series(std::iter::once(Text::new(
                    "no alert fired, no policy action, no incident",
                    (x.0 + span * 0.01, 0.6),
                    ("sans-serif", 12).into_font(),
                )))
                .map_err(err)?;
        }
        Ok(())
    })
}

fn parse_ts(s: &str) -> Option<f64> {
    crate::units::parse_time(s).map(|t| t as f64)
}

fn charts_for(
    out: &mut String,
    g: Grid,
    slo: &ir::Slo,
    report: &SloReport,
    labels: &BTreeMap<String, String>,
    sig: &Signals,
) {
    let x = (g.from as f64, g.to() as f64);
    let at = |k: usize| g.at(k) as f64;
    let budget = slo.budget();
    let period = sig.period.map(|s| analysis::dense(s, g)).unwrap_or_else(|| vec![f64::NAN; g.len]);
    let sli: Vec<f64> = period.iter().map(|e| (1.0 - e) * 100.0).collect();
    let remaining: Vec<f64> = period.iter().map(|e| (1.0 - e / budget) * 100.0).collect();
    let finite = |v: &[f64]| -> Option<(f64, f64)> {
        v.iter()
            .filter(|x| x.is_finite())
            .fold(None, |m: Option<(f64, f64)>, &x| Some(m.map_or((x, x), |(a, b)| (a.min(x), b.max(x)))))
    };
    let obj = slo.objective * 100.0;
    // 1. SLI against the objective.
    let (lo, hi) = finite(&sli).unwrap_or((obj, 100.0));
    let lo = lo.min(obj);
    let pad = ((hi.max(obj) - lo) * 0.08).max(1e-4);
    out.push_str(&line_chart(
        "SLI over the window vs objective",
        x,
        (lo - pad, (hi.max(obj) + pad).min(100.0 + pad)),
        false,
        &[Line { name: "SLI".into(), color: PALETTE[0], segs: thin(at, &sli) }],
        &[(format!("objective {}", fmt_pct(slo.objective)), obj, PALETTE[3])],
        &|y| format!("{y:.3}%"),
    ));
    // 2. Budget burn-down.
    let (lo, hi) = finite(&remaining).unwrap_or((0.0, 100.0));
    let (lo, hi) = (lo.min(0.0), hi.max(100.0));
    out.push_str(&line_chart(
        "Error budget remaining",
        x,
        (lo - 5.0, hi + 5.0),
        false,
        &[Line { name: "budget remaining".into(), color: PALETTE[2], segs: thin(at, &remaining) }],
        &[("exhausted".into(), 0.0, PALETTE[3])],
        &|y| format!("{y:.0}%"),
    ));
    // 3. Burn rates per window, with the tiers' thresholds.
    let mut lines = Vec::new();
    let mut top: f64 = 1.0;
    for (i, (w, s)) in sig.ratios.iter().enumerate() {
        let v: Vec<f64> =
            analysis::dense(s, g).iter().map(|e| if e.is_nan() { *e } else { (e / budget).max(0.01) }).collect();
        if let Some((_, m)) = finite(&v) {
            top = top.max(m);
        }
        lines.push(Line { name: w.to_string(), color: PALETTE[i % PALETTE.len()], segs: thin(at, &v) });
    }
    let mut refs: Vec<(String, f64, RGBColor)> = Vec::new();
    for a in &slo.alerts {
        if let ir::AlertCondition::BurnRate { factor, long, .. } = &a.condition {
            if !refs.iter().any(|r| (r.1 - factor).abs() < 1e-9) {
                refs.push((format!("{} {} ({})", a.name, fmt_factor(*factor), long), *factor, RGBColor(120, 120, 120)));
                top = top.max(*factor);
            }
        }
    }
    out.push_str(&line_chart(
        "Burn rate per window (log scale) and tier thresholds",
        x,
        (0.01, top * 2.0),
        true,
        &lines,
        &refs,
        &|y| fmt_factor(*y),
    ));
    // 4. Bands: alerts, policy actions, incidents.
    let mut rows: Vec<BandRow> = Vec::new();
    let end_x = x.1 + g.step as f64;
    let span = |i: &super::report::Interval| -> Option<(f64, f64)> {
        Some((parse_ts(&i.start)?, i.end.as_deref().and_then(parse_ts).unwrap_or(end_x)))
    };
    let same_group = |l: &BTreeMap<String, String>| labels.iter().all(|(k, v)| l.get(k) == Some(v));
    for a in report.alerts.iter().filter(|a| !a.is_action() && same_group(&a.labels)) {
        let sev = a.labels.get("severity").map_or("", |s| s.as_str());
        let c = if analysis::is_page(sev) { RGBColor(214, 39, 40) } else { RGBColor(255, 127, 14) };
        rows.push((format!("{} ({sev})", a.alert), c, a.firing.iter().filter_map(span).collect()));
    }
    for p in &report.policies {
        let name =
            format!("{}: {}{}", p.policy, p.action, p.target.as_deref().map(|t| format!(" {t}")).unwrap_or_default());
        rows.push((name, RGBColor(148, 103, 189), p.intervals.iter().filter_map(span).collect()));
    }
    let inc: Vec<(f64, f64)> = report
        .incidents
        .iter()
        .filter(|i| i.labels.is_empty() || i.labels == *labels)
        .filter_map(|i| Some((parse_ts(&i.start)?, parse_ts(&i.end)?)))
        .collect();
    if !inc.is_empty() {
        rows.push(("incidents".into(), RGBColor(90, 90, 90), inc));
    }
    out.push_str(&band_chart("Alerts firing, budget-policy actions and incidents", x, &rows));
}

fn opt_secs(x: Option<f64>) -> String {
    x.map_or("–".into(), human_secs)
}

fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    out.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", esc(&c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The verdict and its CSS class.
fn verdict(met: Option<bool>) -> (&'static str, &'static str) {
    let v = report::verdict(met);
    (
        v,
        match met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "nodata",
        },
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1180px}\
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-top:1px solid #ddd;padding-top:16px}\
h3{font-size:14px;margin:14px 0 4px}table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}\
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f4f4f4}\
td:first-child,th:first-child{text-align:left}.met{color:#1a7f37;font-weight:bold}\
.missed{color:#c62828;font-weight:bold}.nodata{color:#9a6700;font-weight:bold}.err{color:#c62828}\
.chart{margin:4px 0}p.note{font-size:12px;color:#555}";

/// The section of `program.slos[i]`, whose report is `s`: verdicts,
/// charts (from the SLO's own series in `bt`: the whole replay's, or its
/// block's as the block finishes, [`super::Options::html`]) and tables.
pub(crate) fn section(bt: &Backtest, program: &ir::Program, i: usize, s: &SloReport) -> String {
    let slo = &program.slos[i];
    let mut o = String::new();
    let _ =
        writeln!(o, "<h2 id=\"{}\">{}/{}</h2>", esc(&format!("{}-{}", s.service, s.slo)), esc(&s.service), esc(&s.slo));
    let sigs = analysis::signals(bt, slo);
    for g in &s.groups {
        let (v, class) = verdict(g.met);
        let _ = writeln!(
            o,
            "<p><span class=\"{class}\">{v}</span> {}: SLI {} vs objective {} over {}{}; budget remaining {} (lowest {}).</p>",
            esc(&report::who(s, &g.labels)),
            esc(&pct(g.sli)),
            esc(&fmt_pct(s.objective)),
            esc(&s.window),
            if s.full_window { String::new() } else { format!(" (only {} of data)", esc(&s.history)) },
            esc(&pct(g.budget_remaining)),
            esc(&pct(g.budget_remaining_min)),
        );
        if let Some(sig) = sigs.get(&g.labels) {
            o.push_str("<div class=\"chart\">");
            charts_for(&mut o, bt.group_grids[i], slo, s, &g.labels, sig);
            o.push_str("</div>\n");
        }
    }
    if !s.alert_quality.is_empty() {
        o.push_str("<h3>Alert quality</h3>");
        table(&mut o, &report::QUALITY_HEAD, s.alert_quality.iter().map(report::quality_cells).collect());
    }
    if !s.incidents.is_empty() {
        let _ = write!(o, "<h3>Incidents ({})</h3>", s.incidents.len());
        let rows = s
            .incidents
            .iter()
            .map(|i| {
                vec![
                    i.start.clone(),
                    i.end.clone(),
                    human_secs(i.duration_seconds),
                    i.title.clone(),
                    pct(i.budget_spent),
                    i.detected_by.clone().unwrap_or_else(|| "not detected".into()),
                    opt_secs(i.detection_seconds),
                ]
            })
            .collect();
        table(&mut o, &["start", "end", "duration", "title", "budget spent", "first alert", "detected after"], rows);
    }
    if !s.sweep.is_empty() {
        o.push_str("<h3>What-if sweep</h3>");
        table(&mut o, &report::SWEEP_HEAD, s.sweep.iter().map(report::sweep_cells).collect());
        if let Some(rec) = &s.recommendation {
            let _ = write!(
                o,
                "<p class=\"note\">Recommendation: {}{} — {}.</p>",
                esc(&rec.objective.map_or("none".into(), fmt_pct)),
                rec.alerts.as_deref().map(|a| format!(" with alerts {}", esc(a))).unwrap_or_default(),
                esc(&rec.reason)
            );
        }
    }
    if !s.compliance.is_empty() {
        o.push_str("<h3>Compliance</h3>");
        table(&mut o, &report::COMPLIANCE_HEAD, s.compliance.iter().map(report::compliance_cells).collect());
    }
    o
}

/// The whole report as one HTML document.
pub fn render(bt: &Backtest, program: &ir::Program, r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>slo backtest {} .. {}</title><style>{STYLE}</style></head><body>\n",
        esc(&r.from),
        esc(&r.to)
    );
    let _ = writeln!(
        o,
        "<h1>SLO backtest</h1><p>{} .. {} every {} ({} evaluations); {} series, {} samples; incidents: {}.</p>",
        esc(&r.from),
        esc(&r.to),
        esc(&r.step),
        r.evaluations,
        r.data.series,
        r.data.samples,
        esc(&r.analysis.incidents)
    );
    // Summary.
    o.push_str("<h2 id=\"summary\">Summary</h2>");
    let rows = r.slos.iter().flat_map(|s| s.groups.iter().map(move |g| report::summary_cells(s, g))).collect();
    table(&mut o, &report::SUMMARY_HEAD, rows);

    for (i, s) in r.slos.iter().enumerate() {
        match bt.slo_reports.get(i).and_then(|b| b.as_ref()?.html.as_ref()) {
            Some(done) => o.push_str(done),
            None => o.push_str(&section(bt, program, i, s)),
        }
    }
    o.push_str("</body></html>\n");
    o
}
