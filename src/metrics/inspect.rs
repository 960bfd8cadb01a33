//! `slo data inspect`: what a Parquet dataset holds, before a backtest
//! trusts it — metrics with their series and sample counts, the time
//! range, the resolution, gaps and staleness markers.
//!
//! The files are read series by series with the backtest's own reader
//! ([`crate::layout::reader::each_series`]), so what is shown is exactly
//! what a backtest would see (same schema checks, same duplicate rules).
//!
//! Definitions: a series' *spacing* is the time between consecutive
//! samples (staleness markers count as samples here: they are scrape
//! times); its *resolution* is the median spacing (the lower middle value).
//! A *gap* is a spacing longer than twice the series' resolution.

use crate::layout::reader::{each_series, DataError, Series, SeriesSink, Source};
use serde::Serialize;
use std::collections::BTreeMap;

/// Gaps listed in the report (the longest first).
const LARGEST_GAPS: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub files: Vec<String>,
    pub series: u64,
    pub samples: u64,
    pub stale_markers: u64,
    pub nan_values: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub resolution: Resolution,
    pub gaps: Gaps,
    pub metrics: Vec<Metric>,
    /// When every sample (and staleness marker) sits on one grid of at least
    /// 5s: resampled data, e.g. `query_range` output (`slo::data::resampled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<GridFinding>,
    /// Native-histogram samples (not among `samples`, and not in the table
    /// of float samples below).
    #[serde(skip_serializing_if = "is_zero")]
    pub histogram_samples: u64,
    /// With `--slo`: every selector the SLOs read and the series it matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selectors: Option<Vec<crate::backtest::SelectorFinding>>,
    /// With `--slo`: selectors matching nothing, thresholds that are not a
    /// bucket, grouping labels no series has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<crate::backtest::Problem>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridFinding {
    pub step_ms: i64,
    pub offset_ms: i64,
}

/// Series' resolutions (median spacings), summarised over the series with
/// at least two samples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Resolution {
    pub median_ms: Option<i64>,
    pub min_ms: Option<i64>,
    pub max_ms: Option<i64>,
    /// Series with fewer than two samples (no spacing).
    pub single_sample_series: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Gaps {
    pub count: u64,
    pub series_with_gaps: u64,
    /// The longest gaps, longest first (ties: by series, then time).
    pub largest: Vec<Gap>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Gap {
    pub series: String,
    /// The last sample before the gap and the first after it.
    pub from: String,
    pub to: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub duration_ms: i64,
    /// The series' resolution, for scale.
    pub resolution_ms: i64,
    /// The gap opens with a staleness marker (a failed scrape, a target gone).
    pub after_stale_marker: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Metric {
    pub name: String,
    pub series: u64,
    pub samples: u64,
    pub stale_markers: u64,
    /// Median of the series' resolutions.
    pub resolution_ms: Option<i64>,
    pub gaps: u64,
}

/// Per series, what the report needs.
struct One {
    name: String,
    samples: u64,
    stale: u64,
    nan: u64,
    first: Option<i64>,
    last: Option<i64>,
    resolution: Option<i64>,
    gaps: Vec<Gap>,
    gap_count: u64,
    grid: super::Grid,
}

fn lower_median(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    let k = (v.len() - 1) / 2;
    Some(*v.select_nth_unstable(k).1)
}

fn summarise((key, ts, v, stale): Series) -> One {
    let name = key.iter().find(|(k, _)| k == "__name__").map_or(String::new(), |(_, v)| v.clone());
    // Sample and marker times, merged (both are sorted).
    let mut times: Vec<(i64, bool)> = Vec::with_capacity(ts.len() + stale.len());
    let (mut i, mut j) = (0, 0);
    while i < ts.len() || j < stale.len() {
        if j >= stale.len() || (i < ts.len() && ts[i] <= stale[j]) {
            times.push((ts[i], false));
            i += 1;
        } else {
            times.push((stale[j], true));
            j += 1;
        }
    }
    let mut grid = super::Grid::default();
    for t in &times {
        grid.add(t.0);
    }
    let mut spacing: Vec<i64> = times.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let resolution = lower_median(&mut spacing);
    let mut gaps = Vec::new();
    let mut gap_count = 0;
    if let Some(r) = resolution {
        let series = super::series_text(&key);
        for w in times.windows(2) {
            let d = w[1].0 - w[0].0;
            if d > 2 * r {
                gap_count += 1;
                gaps.push(Gap {
                    series: series.clone(),
                    from: crate::units::fmt_ts(w[0].0),
                    to: crate::units::fmt_ts(w[1].0),
                    from_ms: w[0].0,
                    to_ms: w[1].0,
                    duration_ms: d,
                    resolution_ms: r,
                    after_stale_marker: w[0].1,
                });
            }
        }
        gaps.sort_by(|a, b| b.duration_ms.cmp(&a.duration_ms).then(a.from_ms.cmp(&b.from_ms)));
        gaps.truncate(LARGEST_GAPS);
    }
    One {
        name,
        samples: ts.len() as u64,
        stale: stale.len() as u64,
        nan: v.iter().filter(|x| x.is_nan()).count() as u64,
        first: times.first().map(|t| t.0),
        last: times.last().map(|t| t.0),
        resolution,
        gaps,
        gap_count,
        grid,
    }
}

/// Folds each series into the report as it is read, so that memory grows
/// with the number of metrics (and 8 bytes per series for the medians),
/// not with the series' labels.
struct Tally {
    r: Report,
    metrics: BTreeMap<String, (Metric, Vec<i64>)>,
    resolutions: Vec<i64>,
    gaps: Vec<Gap>,
    grid: super::Grid,
}

impl Tally {
    fn new(files: Vec<String>) -> Tally {
        Tally {
            r: Report {
                files,
                series: 0,
                samples: 0,
                stale_markers: 0,
                nan_values: 0,
                first: None,
                last: None,
                first_ms: None,
                last_ms: None,
                resolution: Resolution::default(),
                gaps: Gaps::default(),
                metrics: Vec::new(),
                grid: None,
                histogram_samples: 0,
                selectors: None,
                problems: None,
            },
            metrics: BTreeMap::new(),
            resolutions: Vec::new(),
            gaps: Vec::new(),
            grid: super::Grid::default(),
        }
    }

    fn add(&mut self, one: One) {
        self.grid.merge(&one.grid);
        let r = &mut self.r;
        r.series += 1;
        r.samples += one.samples;
        r.stale_markers += one.stale;
        r.nan_values += one.nan;
        if let Some(f) = one.first {
            r.first_ms = Some(r.first_ms.map_or(f, |x: i64| x.min(f)));
        }
        if let Some(l) = one.last {
            r.last_ms = Some(r.last_ms.map_or(l, |x: i64| x.max(l)));
        }
        if !self.metrics.contains_key(&one.name) {
            let m = Metric { name: one.name.clone(), ..Default::default() };
            self.metrics.insert(one.name.clone(), (m, Vec::new()));
        }
        let Some((m, res)) = self.metrics.get_mut(&one.name) else { return };
        m.series += 1;
        m.samples += one.samples;
        m.stale_markers += one.stale;
        m.gaps += one.gap_count;
        match one.resolution {
            Some(x) => {
                res.push(x);
                self.resolutions.push(x);
            }
            None => r.resolution.single_sample_series += 1,
        }
        r.gaps.count += one.gap_count;
        if one.gap_count > 0 {
            r.gaps.series_with_gaps += 1;
        }
        self.gaps.extend(one.gaps);
        if self.gaps.len() > 4 * LARGEST_GAPS {
            sort_gaps(&mut self.gaps);
            self.gaps.truncate(LARGEST_GAPS);
        }
    }

    fn report(self) -> Report {
        let Tally { mut r, metrics, mut resolutions, mut gaps, grid } = self;
        r.grid = grid.resampled().map(|(step_ms, offset_ms)| GridFinding { step_ms, offset_ms });
        sort_gaps(&mut gaps);
        gaps.truncate(LARGEST_GAPS);
        r.gaps.largest = gaps;
        r.resolution.min_ms = resolutions.iter().min().copied();
        r.resolution.max_ms = resolutions.iter().max().copied();
        r.resolution.median_ms = lower_median(&mut resolutions);
        r.first = r.first_ms.map(crate::units::fmt_ts);
        r.last = r.last_ms.map(crate::units::fmt_ts);
        r.metrics = metrics
            .into_values()
            .map(|(mut m, mut res)| {
                m.resolution_ms = lower_median(&mut res);
                m
            })
            .collect();
        r
    }
}

impl SeriesSink for Tally {
    fn series(&mut self, s: Series) {
        self.add(summarise(s));
    }
    fn restart(&mut self) {
        *self = Tally::new(std::mem::take(&mut self.r.files));
    }
}

/// Reads the data and builds the report; with a program, also what the
/// selectors of its SLOs find in the data.
pub fn run(src: &Source, program: Option<&crate::ir::Program>) -> Result<Report, Vec<DataError>> {
    crate::memory::phase("reading the data");
    let rt = crate::layout::reader::runtime().map_err(|e| vec![e])?;
    let mut sink = Tally::new(src.paths.iter().map(|p| p.display().to_string()).collect());
    let stats = crate::layout::reader::guarded(&src.paths, || each_series(src, &rt, &mut sink))?;
    let mut report = sink.report();
    report.histogram_samples = stats.histogram_samples;
    if let Some(program) = program {
        crate::memory::phase("matching the SLOs' selectors");
        let (selectors, problems) = crate::backtest::inspect_selectors(program, src, &rt)?;
        report.selectors = Some(selectors);
        report.problems = Some(problems);
    }
    Ok(report)
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn sort_gaps(g: &mut [Gap]) {
    g.sort_by(|a, b| {
        b.duration_ms.cmp(&a.duration_ms).then_with(|| a.series.cmp(&b.series)).then(a.from_ms.cmp(&b.from_ms))
    });
}

fn opt_dur(ms: Option<i64>) -> String {
    ms.map_or("-".into(), crate::units::fmt_span)
}

/// The report as plain text.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} series, {} samples, {} staleness markers, {} NaN values in {} metrics\n",
        r.series,
        r.samples,
        r.stale_markers,
        r.nan_values,
        r.metrics.len()
    ));
    if r.histogram_samples > 0 {
        out.push_str(&format!(
            "native-histogram samples: {} (not counted below, which shows float samples)\n",
            r.histogram_samples
        ));
    }
    match (r.first_ms, r.last_ms) {
        (Some(f), Some(l)) => out.push_str(&format!(
            "range: {} .. {} ({})\n",
            crate::units::fmt_ts(f),
            crate::units::fmt_ts(l),
            crate::units::fmt_span(l - f)
        )),
        _ => out.push_str("range: no samples\n"),
    }
    out.push_str(&format!(
        "resolution: median {} (series range {} .. {}){}\n",
        opt_dur(r.resolution.median_ms),
        opt_dur(r.resolution.min_ms),
        opt_dur(r.resolution.max_ms),
        if r.resolution.single_sample_series > 0 {
            format!(", {} series with a single sample", r.resolution.single_sample_series)
        } else {
            String::new()
        }
    ));
    out.push_str(&format!(
        "gaps (spacing > 2x the series' resolution): {} in {} series\n",
        r.gaps.count, r.gaps.series_with_gaps
    ));
    for g in &r.gaps.largest {
        out.push_str(&format!(
            "  {}  {} .. {} ({}{})\n",
            g.series,
            g.from,
            g.to,
            crate::units::fmt_span(g.duration_ms),
            if g.after_stale_marker { ", after a staleness marker" } else { "" }
        ));
    }
    let w = r.metrics.iter().map(|m| m.name.len()).max().unwrap_or(0).max(6);
    out.push_str(&format!(
        "\n{:<w$}  {:>8}  {:>12}  {:>6}  {:>10}  {:>6}\n",
        "metric", "series", "samples", "stale", "resolution", "gaps"
    ));
    for m in &r.metrics {
        out.push_str(&format!(
            "{:<w$}  {:>8}  {:>12}  {:>6}  {:>10}  {:>6}\n",
            m.name,
            m.series,
            m.samples,
            m.stale_markers,
            opt_dur(m.resolution_ms),
            m.gaps
        ));
    }
    if let Some(selectors) = &r.selectors {
        out.push_str(&format!("\n{:>8}  selector the SLOs read\n", "series"));
        for f in selectors {
            out.push_str(&format!("{:>8}  {}\n", f.matched_series, f.selector));
        }
        let problems = r.problems.as_deref().unwrap_or_default();
        if problems.is_empty() {
            out.push_str("every selector matches series of the data\n");
        } else {
            out.push_str(&format!("{} problem(s), shown as warnings above\n", problems.len()));
        }
    }
    out
}
