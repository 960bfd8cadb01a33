//! `slo data`: metric data in and out of the native Parquet layout.
//!
//! - [`import`] reads Prometheus HTTP API JSON (`query_range` / range-vector
//!   `query` results, and instant vectors), OpenMetrics and Prometheus text
//!   exposition with timestamps, and `promtool tsdb dump` output (native
//!   histograms from API JSON, through [`native`]); it collects every
//!   series, sorts and deduplicates the samples, reports
//!   conflicting duplicates, and writes one Parquet file.
//! - [`inspect`] summarises Parquet data: metrics, series, time range,
//!   resolution, gaps and staleness markers.
//! - [`export`] writes Parquet data back out as OpenMetrics text (what
//!   `promtool tsdb create-blocks-from openmetrics` backfills).
//!
//! Problems in the inputs are [`Problem`]s with a file, a line (or, in
//! JSON, a path to the value) and a stable code; they are rendered here
//! rather than through the `.slo` source map, because input files can be
//! gigabytes long and only the offending line is worth keeping.

pub mod backfill;
pub mod export;
pub mod http;
pub mod import;
pub mod inspect;
mod native;
mod promapi;
pub mod pull;
mod remote;
mod text;

use serde::Serialize;

/// One problem in an input file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub severity: crate::diag::Severity,
    pub file: String,
    /// 1-based; 0 when the problem is not on one line (JSON values are
    /// located by `path` instead, whole-file problems by neither).
    pub line: usize,
    /// 1-based byte column within the line; 0 when unknown.
    pub column: usize,
    /// Where in a JSON document, e.g. `data.result[2].values[17]`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The offending line (truncated) and the caret's character column in
    /// it, for the human rendering.
    #[serde(skip)]
    pub excerpt: Option<(String, usize)>,
}

impl Problem {
    pub fn error(code: &'static str, file: &str, message: impl Into<String>) -> Problem {
        Problem {
            code,
            severity: crate::diag::Severity::Error,
            file: file.to_string(),
            line: 0,
            column: 0,
            path: String::new(),
            message: message.into(),
            help: None,
            excerpt: None,
        }
    }
    pub fn warning(code: &'static str, file: &str, message: impl Into<String>) -> Problem {
        Problem { severity: crate::diag::Severity::Warning, ..Problem::error(code, file, message) }
    }
    /// Locates the problem at `column` (0-based byte offset) of `line`.
    pub fn at(mut self, line: usize, text: &str, column: usize) -> Problem {
        self.line = line;
        let column = column.min(text.len());
        self.column = text[..floor_char(text, column)].chars().count() + 1;
        // Keep at most ~100 characters around the column.
        let start = floor_char(text, column.saturating_sub(60));
        let end = floor_char(text, (column + 60).min(text.len()));
        let mut shown = String::new();
        if start > 0 {
            shown.push('…');
        }
        shown.push_str(&text[start..end]);
        if end < text.len() {
            shown.push('…');
        }
        let caret = text[start..floor_char(text, column)].chars().count() + (start > 0) as usize;
        self.excerpt = Some((shown, caret));
        self
    }
    pub(crate) fn at_path(mut self, path: impl Into<String>) -> Problem {
        self.path = path.into();
        self
    }
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == crate::diag::Severity::Error
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `error[code]: message` with the file position, the line and a caret.
pub fn render(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        let sev = if p.is_error() { "error" } else { "warning" };
        out.push_str(&format!("{sev}[{}]: {}\n", p.code, p.message));
        let mut at = format!("  --> {}", p.file);
        if p.line > 0 {
            at.push_str(&format!(":{}:{}", p.line, p.column));
        }
        if !p.path.is_empty() {
            at.push_str(&format!(" at {}", p.path));
        }
        out.push_str(&at);
        out.push('\n');
        if let Some((shown, caret)) = &p.excerpt {
            let num = p.line.to_string();
            let pad = " ".repeat(num.len());
            let shown: String = shown.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            out.push_str(&format!("{pad} |\n{num} | {shown}\n{pad} | {}^\n", " ".repeat(*caret)));
        }
        if let Some(h) = &p.help {
            out.push_str(&format!("  help: {h}\n"));
        }
    }
    out
}

/// Whether every timestamp of a dataset sits on one grid: the greatest
/// common divisor of every timestamp's distance to the first. Raw scrapes
/// never do (each target has its own offset, and every scrape a few
/// milliseconds of jitter); `query_range` output always does, at its step.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grid {
    origin: Option<i64>,
    step: u64,
    samples: u64,
}

/// The shortest step [`Grid::resampled`] reports: coarser timestamps
/// (whole seconds) are common in raw data written by other tools.
const GRID_MIN_STEP_MS: u64 = 5_000;

impl Grid {
    pub fn add(&mut self, ts: i64) {
        self.samples += 1;
        match self.origin {
            None => self.origin = Some(ts),
            Some(o) => self.step = gcd(self.step, ts.abs_diff(o)),
        }
    }

    /// The grid of both sets of timestamps.
    pub fn merge(&mut self, other: &Grid) {
        let Some(o) = other.origin else { return };
        let samples = self.samples + other.samples;
        self.add(o);
        self.step = gcd(self.step, other.step);
        self.samples = samples;
    }

    /// `(step, offset)` when at least 10 samples all sit on one grid of
    /// at least 5 s: `offset + k·step`.
    pub fn resampled(&self) -> Option<(i64, i64)> {
        let step = self.step as i64;
        (self.samples >= 10 && self.step >= GRID_MIN_STEP_MS).then(|| (step, self.origin.unwrap_or(0).rem_euclid(step)))
    }

    /// The `slo::data::resampled` warning for `files`, if the grid is one.
    pub fn warning(&self, files: &str) -> Option<Problem> {
        let (step, offset) = self.resampled()?;
        Some(resampled_warning(step, offset, files))
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Every sample of `files` sits on `offset + k·step`.
pub fn resampled_warning(step: i64, offset: i64, files: &str) -> Problem {
    let at = if offset == 0 { String::new() } else { format!(" (offset {})", fmt_duration(offset)) };
    Problem::warning(
                "slo::data::resampled",
                files,
                format!(
                    "every sample sits on one {} grid{at}: this looks like resampled data (`query_range` output), not raw scrapes",
                    fmt_duration(step)
                ),
            )
            .with_help(
                "query_range evaluates at its own steps and loses the scrape times, so rate() and increase() over it differ from what Prometheus computes on the raw samples: pull raw samples with `slo data pull` (or import instant queries of range vectors, `metric[6h]`). Data from `slo synth` sits on its grid by design",
            )
}

/// A span in milliseconds as `1h2m3.5s`-style text.
pub use crate::units::fmt_span as fmt_duration;
/// Millisecond timestamps as RFC 3339.
pub use crate::units::fmt_ts as fmt_ms;

/// Characters of a name or value shown in messages at most.
const SHOWN: usize = 200;

/// `s` cut to [`SHOWN`] characters (with `…`), for messages: a 16 KiB
/// label value is named, not printed.
pub fn short(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(SHOWN) {
        Some((i, _)) => format!("{}…", &s[..i]).into(),
        None => s.into(),
    }
}

/// `name{a="b", …}` for messages, labels in the order given (long names
/// and values cut short).
pub(crate) fn series_text(labels: &[(String, String)]) -> String {
    let name = labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str());
    let name = short(name);
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .map(|(k, v)| format!("{}={}", short(k), crate::syntax::strings::quote(&short(v))))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

/// `n` copies of `seed`, each with three bytes replaced from `alphabet`
/// (a fixed xorshift sequence): inputs for the parsers' no-panic tests.
#[cfg(test)]
pub(crate) fn mutants<'a>(seed: &'a [u8], alphabet: &'a [u8], n: usize) -> impl Iterator<Item = Vec<u8>> + 'a {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n).map(move |_| {
        let mut b = seed.to_vec();
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x % b.len() as u64) as usize;
            b[at] = alphabet[(x >> 32) as usize % alphabet.len()];
        }
        b
    })
}

#[cfg(test)]
mod tests {
    use super::Grid;

    fn grid(ts: &[i64]) -> Grid {
        let mut g = Grid::default();
        ts.iter().for_each(|&t| g.add(t));
        g
    }

    #[test]
    fn a_grid_is_found_only_where_every_sample_sits_on_it() {
        let step: Vec<i64> = (0..20).map(|k| 1_767_225_615_000 + k * 30_000).collect();
        assert_eq!(grid(&step).resampled(), Some((30_000, 15_000)));
        // Scrape jitter of a millisecond: raw data.
        let mut jitter = step.clone();
        jitter[7] += 1;
        assert_eq!(grid(&jitter).resampled(), None);
        // Whole seconds are common in raw data; too few samples prove nothing.
        assert_eq!(grid(&(0..20).map(|k| k * 1000).collect::<Vec<_>>()).resampled(), None);
        assert_eq!(grid(&step[..5]).resampled(), None);
        // Merging two series' grids: the same as one grid of all samples.
        let (mut a, b) = (grid(&step[..10]), grid(&step[10..]));
        a.merge(&b);
        assert_eq!(a.resampled(), Some((30_000, 15_000)));
        let mut c = grid(&step[..10]);
        c.merge(&grid(&jitter[5..]));
        assert_eq!(c.resampled(), None);
        assert!(grid(&step).warning("f.json").is_some_and(|p| p.code == "slo::data::resampled"));
    }
}
