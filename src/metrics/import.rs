//! `slo data import`: metric samples from text or JSON into one Parquet file
//! in the native layout.
//!
//! Each input is read by the parser for its format (given, or detected from
//! its first bytes and its last line); every sample goes into a [`Store`]
//! keyed by its sorted label set. At the end the series are ordered by
//! name, then labels, each series' samples by time; exact duplicates (same
//! series, time and value bits) are dropped, and two different values at
//! one time are an error naming both places. Nothing is written unless
//! every input was clean, so a file that exists is a complete import.
//!
//! Memory follows the input's size: a series keeps its own labels (never a
//! row of every label name), and the Parquet writer fills label columns a
//! bounded batch at a time. The caps below, like Prometheus's scrape
//! limits (`label_limit`, `label_name_length_limit`,
//! `label_value_length_limit`), turn a pathological input into an error
//! at its line instead of a file nothing can read: the native layout has
//! one column per label name, so the distinct names are capped too.

use super::native::Hist;
use super::Problem;
use crate::layout::histogram::NativeHistogram;
use crate::layout::schema::{H_COLUMNS, NAME_ALIAS, STALE, STALE_NAN_BITS, TIMESTAMP, VALUE};
use crate::layout::writer::LongWriter;
use rustc_hash::FxHashMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Prometheus HTTP API JSON: `matrix` (`query_range`, or `query` of a
    /// range vector) and `vector` results.
    PromApi,
    /// OpenMetrics text: timestamps in seconds (float), ends with `# EOF`.
    OpenMetrics,
    /// Prometheus text exposition: timestamps in integer milliseconds.
    PromText,
    /// `promtool tsdb dump`: `{__name__="x", a="b"} value ms` lines.
    TsdbDump,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::PromApi => "prom-api",
            Format::OpenMetrics => "openmetrics",
            Format::PromText => "prom-text",
            Format::TsdbDump => "tsdb-dump",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: detect per file.
    pub format: Option<Format>,
    /// The time of text samples that carry none (else they are errors).
    pub default_time_ms: Option<i64>,
    /// NaN values are staleness markers (`promtool tsdb dump` prints markers as NaN).
    pub nan_as_stale: bool,
    /// Problems listed at most (all are counted).
    pub max_problems: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { format: None, default_time_ms: None, nan_as_stale: false, max_problems: 100 }
    }
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub files: Vec<(String, Format)>,
    pub series: usize,
    /// Samples written, native-histogram samples included.
    pub samples: u64,
    pub stale_markers: u64,
    /// Native-histogram samples written.
    pub native_histograms: u64,
    pub duplicates_dropped: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Warnings (the import went ahead).
    pub warnings: Vec<Problem>,
}

/// Why nothing was written: the problems (at most `max_problems`), how many
/// errors there were in all, and the exit code (1 bad input, 2 I/O).
#[derive(Debug, Clone)]
pub struct Failure {
    pub problems: Vec<Problem>,
    pub errors: usize,
    pub exit: u8,
}

/// Collects problems up to a cap, counting all of them.
pub(super) struct Problems {
    pub list: Vec<Problem>,
    pub errors: usize,
    pub warnings: usize,
    cap: usize,
}

impl Problems {
    pub(super) fn new(cap: usize) -> Problems {
        Problems { list: Vec::new(), errors: 0, warnings: 0, cap: cap.max(1) }
    }
    pub fn push(&mut self, p: Problem) {
        if p.is_error() {
            self.errors += 1;
        } else {
            self.warnings += 1;
        }
        if self.list.len() < self.cap {
            self.list.push(p);
        }
    }
}

/// One sample: time, value bits (staleness markers are Prometheus's
/// staleness NaN), and where it came from (file index << 40 | line). A
/// native-histogram sample has [`HISTOGRAM`] set in `at` and the index of
/// its histogram (in [`Store`]'s list) in `bits`: a float sample stays 24
/// bytes.
#[derive(Clone, Copy)]
pub(super) struct Sample {
    pub ts: i64,
    pub bits: u64,
    at: u64,
}

/// The flag of a native-histogram sample in [`Sample::at`].
const HISTOGRAM: u64 = 1 << 63;

impl Sample {
    /// The index of its histogram, for a native-histogram sample.
    pub(super) fn histogram(&self) -> Option<usize> {
        (self.at & HISTOGRAM != 0).then_some(self.bits as usize)
    }
}

/// Every series read so far and its samples.
pub(super) struct Store {
    /// Canonical (sorted) label set → series.
    ids: FxHashMap<Vec<(String, String)>, u32>,
    /// The text spelling of a series in a text format → series: the fast
    /// path for the next sample of a series, without parsing its labels.
    raw: FxHashMap<Box<str>, u32>,
    keys: Vec<Vec<(String, String)>>,
    samples: Vec<Vec<Sample>>,
    /// Native-histogram samples, by [`Sample::histogram`].
    hists: Vec<Hist>,
    /// Every label name seen (the Parquet columns), at most [`MAX_LABEL_NAMES`].
    names: rustc_hash::FxHashSet<String>,
    nan_as_stale: bool,
}

/// Labels of one series at most, `__name__` included (Prometheus's `label_limit`).
pub(crate) const MAX_LABELS_PER_SERIES: usize = 128;
/// Bytes of a label name at most (Prometheus's `label_name_length_limit`).
pub(crate) const MAX_LABEL_NAME_BYTES: usize = 1024;
/// Bytes of a label value (or metric name) at most (`label_value_length_limit`).
pub(crate) const MAX_LABEL_VALUE_BYTES: usize = 16 * 1024;
/// Bytes of one series' label values (metric name included) at most:
/// every row of the layout repeats them, and readers decode thousands of
/// rows at a time.
pub(crate) const MAX_LABEL_SET_BYTES: usize = 32 * 1024;
/// Distinct label names of an import at most: each is a column of the
/// Parquet file, and every reader of it handles every column of every row.
pub(crate) const MAX_LABEL_NAMES: usize = crate::layout::schema::MAX_LABEL_COLUMNS;

/// Why a label set is refused: a stable code, the message and help.
pub(super) type Refusal = (&'static str, String, String);

/// Label names the native layout uses for its own columns (the `h_*`
/// native-histogram columns are [`H_COLUMNS`]).
const RESERVED: [&str; 4] = [TIMESTAMP, VALUE, STALE, NAME_ALIAS];

impl Store {
    pub(super) fn new(nan_as_stale: bool) -> Store {
        Store {
            ids: FxHashMap::default(),
            raw: FxHashMap::default(),
            keys: Vec::new(),
            samples: Vec::new(),
            hists: Vec::new(),
            names: Default::default(),
            nan_as_stale,
        }
    }

    pub(crate) fn by_raw(&self, raw: &str) -> Option<u32> {
        self.raw.get(raw).copied()
    }

    /// The series of a label set (with `__name__`): empty values are
    /// dropped (absent, as in Prometheus); a missing name, a repeated label,
    /// a reserved label name, a label past the caps or a new label name
    /// past [`MAX_LABEL_NAMES`] is refused.
    pub(crate) fn intern(&mut self, raw: Option<&str>, mut labels: Vec<(String, String)>) -> Result<u32, Refusal> {
        labels.retain(|(_, v)| !v.is_empty());
        check_caps(&labels)?;
        labels.sort();
        for w in labels.windows(2) {
            if w[0].0 == w[1].0 {
                return Err((
                    "slo::import::label",
                    format!("label `{}` appears twice", w[0].0),
                    "a series has one value per label name".into(),
                ));
            }
        }
        if !labels.iter().any(|(k, _)| k == "__name__") {
            return Err((
                "slo::import::no_name",
                "the series has no metric name".into(),
                "backtests read raw metrics by name: give every series a `__name__` (for API results, query the raw selector, e.g. `http_requests_total[1h]`, not an expression)".into(),
            ));
        }
        if let Some((k, _)) =
            labels.iter().find(|(k, _)| RESERVED.contains(&k.as_str()) || H_COLUMNS.contains(&k.as_str()))
        {
            return Err((
                "slo::import::label",
                format!("label `{k}` has the name of a column of the native layout"),
                "`timestamp`, `value`, `stale`, `metric` and the native-histogram columns `h_schema` … `h_negative` are the layout's own columns: rename the label (e.g. with metric_relabel_configs) before importing".into(),
            ));
        }
        let new: Vec<&str> =
            labels.iter().map(|(k, _)| k.as_str()).filter(|k| *k != "__name__" && !self.names.contains(*k)).collect();
        if self.names.len() + new.len() > MAX_LABEL_NAMES {
            return Err((
                "slo::import::too_many_label_names",
                format!(
                    "label `{}` would be label name {} of the import, more than {MAX_LABEL_NAMES}",
                    new[0],
                    self.names.len() + 1
                ),
                "each label name is a column of the Parquet file: drop the labels no SLO reads (e.g. with metric_relabel_configs `labeldrop`), or import fewer metrics".into(),
            ));
        }
        for k in new {
            self.names.insert(k.to_string());
        }
        let id = match self.ids.get(&labels) {
            Some(&id) => id,
            None => {
                let id = self.keys.len() as u32;
                self.ids.insert(labels.clone(), id);
                self.keys.push(labels);
                self.samples.push(Vec::new());
                id
            }
        };
        if let Some(r) = raw {
            self.raw.insert(r.into(), id);
        }
        Ok(id)
    }

    pub fn push(&mut self, id: u32, ts: i64, v: f64, file: usize, line: usize) {
        let bits = if self.nan_as_stale && v.is_nan() { STALE_NAN_BITS } else { v.to_bits() };
        self.samples[id as usize].push(Sample { ts, bits, at: ((file as u64) << 40) | line as u64 });
    }

    /// A native-histogram sample.
    pub(crate) fn push_histogram(&mut self, id: u32, ts: i64, h: Hist, file: usize, line: usize) {
        let bits = self.hists.len() as u64;
        self.hists.push(h);
        self.samples[id as usize].push(Sample { ts, bits, at: HISTOGRAM | ((file as u64) << 40) | line as u64 });
    }
}

/// The per-series caps: how many labels, how long names and values are.
pub(super) fn check_caps(labels: &[(String, String)]) -> Result<(), Refusal> {
    if labels.len() > MAX_LABELS_PER_SERIES {
        return Err(too_many_labels(labels.len()));
    }
    for (k, v) in labels {
        if k.len() > MAX_LABEL_NAME_BYTES {
            return Err((
                "slo::import::label_too_long",
                format!("a label name of {} bytes, more than {MAX_LABEL_NAME_BYTES}", k.len()),
                "Prometheus's `label_name_length_limit` refuses such series too: shorten or drop the label".into(),
            ));
        }
        if v.len() > MAX_LABEL_VALUE_BYTES {
            let what = if k == "__name__" {
                "the metric name".to_string()
            } else {
                format!("label `{}`", crate::metrics::short(k))
            };
            return Err((
                "slo::import::label_too_long",
                format!("{what} has a value of {} bytes, more than {MAX_LABEL_VALUE_BYTES}", v.len()),
                "Prometheus's `label_value_length_limit` refuses such series too: shorten or drop the value".into(),
            ));
        }
    }
    let total: usize = labels.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_LABEL_SET_BYTES {
        return Err((
            "slo::import::label_too_long",
            format!("the series' labels take {total} bytes, more than {MAX_LABEL_SET_BYTES}"),
            "every sample's row repeats its series' labels: drop or shorten the long ones".into(),
        ));
    }
    Ok(())
}

pub(super) fn too_many_labels(n: usize) -> Refusal {
    (
        "slo::import::too_many_labels",
        format!("the series has {n} labels or more, more than {MAX_LABELS_PER_SERIES}"),
        "Prometheus's `label_limit` refuses such series too: drop the labels no SLO reads (metric_relabel_configs `labeldrop`)".into(),
    )
}

/// Smallest and largest timestamps accepted (jiff's range, about ±9999 years... and a margin).
pub(super) const MAX_ABS_MS: i64 = 253_402_300_799_000;

/// A sample value: Go's float syntax as Prometheus writes it (`NaN`,
/// `+Inf`, `-Inf`, `1.5e+06`), which Rust's parser accepts.
pub(super) fn parse_value(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Seconds (`1700000015.5`, `1.7e9`) to milliseconds, rounded to the
/// nearest; exact for up to three decimals.
pub(super) fn seconds_to_ms(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let ms = if !int.is_empty() && int.len() <= 15 && digits(int) && digits(frac) && frac.len() <= 3 {
        let mut f = frac.to_string();
        while f.len() < 3 {
            f.push('0');
        }
        int.parse::<i64>().ok()? * 1000 + f.parse::<i64>().ok()?
    } else {
        let x: f64 = body.parse().ok()?;
        if !x.is_finite() {
            return None;
        }
        (x * 1000.0).round() as i64
    };
    let ms = if neg { -ms } else { ms };
    (ms.abs() <= MAX_ABS_MS).then_some(ms)
}

/// Guesses a file's format from its first bytes (`{` then a JSON key: API
/// JSON; `{` otherwise: tsdb dump) and last line (`# EOF`: OpenMetrics;
/// otherwise Prometheus text).
pub fn detect(path: &Path) -> std::io::Result<Format> {
    let mut f = crate::input::open_io(path)?;
    let mut head = vec![0u8; 4096];
    let n = read_up_to(&mut f, &mut head)?;
    head.truncate(n);
    let text = String::from_utf8_lossy(&head);
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if let Some(rest) = t.strip_prefix('{') {
        let rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('}') {
            return Ok(Format::PromApi);
        }
        if let Some(q) = rest.strip_prefix('"') {
            // A JSON object's first key is followed by `:`.
            let mut esc = false;
            for (i, c) in q.char_indices() {
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == '"' {
                    if q[i + 1..].trim_start().starts_with(':') {
                        return Ok(Format::PromApi);
                    }
                    break;
                }
            }
        }
        return Ok(Format::TsdbDump);
    }
    if t.starts_with('[') {
        return Ok(Format::PromApi);
    }
    // The last non-empty line.
    let len = f.seek(std::io::SeekFrom::End(0))?;
    let back = len.min(256);
    f.seek(std::io::SeekFrom::Start(len - back))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)?;
    let tail = String::from_utf8_lossy(&tail);
    let last = tail.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    Ok(if last == "# EOF" { Format::OpenMetrics } else { Format::PromText })
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Imports `inputs` into one Parquet file at `out`.
pub fn run(inputs: &[PathBuf], opts: &Options, out: &Path) -> Result<Summary, Failure> {
    let mut problems = Problems::new(opts.max_problems);
    let mut store = Store::new(opts.nan_as_stale);
    let mut files = Vec::new();
    let io = |path: &Path, e: std::io::Error| Failure {
        problems: vec![Problem::error("slo::import::io", &path.display().to_string(), format!("cannot read: {e}"))
            .with_help("check the path and its permissions")],
        errors: 1,
        exit: 2,
    };
    for (idx, path) in inputs.iter().enumerate() {
        let name = path.display().to_string();
        if path.is_dir() {
            return Err(io(path, std::io::Error::other("is a directory, not a file")));
        }
        let format = match opts.format {
            Some(f) => f,
            None => detect(path).map_err(|e| io(path, e))?,
        };
        files.push((name.clone(), format));
        let file = crate::input::open_io(path).map_err(|e| io(path, e))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        match format {
            Format::PromApi => {
                let mut bytes = Vec::new();
                reader.read_to_end(&mut bytes).map_err(|e| io(path, e))?;
                super::promapi::read(idx, &name, &bytes, &mut store, &mut problems);
            }
            Format::OpenMetrics | Format::PromText | Format::TsdbDump => {
                let mode = super::text::Mode { format, explicit: opts.format.is_some() };
                super::text::read(idx, &name, &mut reader, mode, opts, &mut store, &mut problems)
                    .map_err(|e| io(path, e))?;
            }
        }
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let mut summary = finish(store, &names, &mut problems);
    if let Some(w) = summary.grid.warning(&names.join(", ")) {
        problems.push(w);
    }
    if problems.errors == 0 && summary.samples == 0 {
        problems.push(
            Problem::error("slo::import::empty", &names.join(", "), "the inputs hold no samples")
                .with_help("check that the files are the metric data you meant, in one of the formats `--from` lists"),
        );
    }
    if problems.errors > 0 {
        return Err(Failure { errors: problems.errors, problems: problems.list, exit: 1 });
    }
    let labels = std::mem::take(&mut summary.labels);
    write(out, &summary, labels).map_err(|e| Failure {
        problems: vec![Problem::error("slo::import::io", &out.display().to_string(), e.message)],
        errors: 1,
        exit: 2,
    })?;
    Ok(Summary {
        files,
        series: summary.series,
        samples: summary.samples,
        stale_markers: summary.stale,
        native_histograms: summary.histograms,
        duplicates_dropped: summary.duplicates,
        first_ms: summary.first_ms,
        last_ms: summary.last_ms,
        warnings: problems.list,
    })
}

/// The store, sorted and deduplicated, ready to write.
pub(super) struct Finished {
    pub series: usize,
    /// Samples kept, native-histogram samples and staleness markers included.
    pub samples: u64,
    pub stale: u64,
    /// Native-histogram samples kept.
    pub histograms: u64,
    pub duplicates: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// The series in output order, and the label columns.
    pub list: Vec<SeriesSamples>,
    pub labels: Vec<String>,
    /// The histograms [`Sample::histogram`] points at.
    pub hists: Vec<NativeHistogram>,
    /// The kept samples' times.
    pub grid: super::Grid,
}

/// A series (its sorted labels) and its samples in time order.
pub(super) type SeriesSamples = (Vec<(String, String)>, Vec<Sample>);

fn location(files: &[String], at: u64) -> String {
    let at = at & !HISTOGRAM;
    let file = files.get((at >> 40) as usize).map_or("?", |s| s.as_str());
    let line = at & ((1 << 40) - 1);
    if line == 0 {
        file.to_string()
    } else {
        format!("{file}:{line}")
    }
}

fn value_text(x: &Sample) -> String {
    if x.histogram().is_some() {
        "a native histogram".into()
    } else if x.bits == STALE_NAN_BITS {
        "a staleness marker".into()
    } else {
        format!("{}", f64::from_bits(x.bits))
    }
}

/// The same histogram, bit for bit.
fn same_histogram(a: &NativeHistogram, b: &NativeHistogram) -> bool {
    let side = |x: &[(i32, f64)], y: &[(i32, f64)]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.0 == q.0 && p.1.to_bits() == q.1.to_bits())
    };
    a.schema == b.schema
        && [a.zero_threshold, a.zero_count, a.count, a.sum]
            .iter()
            .zip([b.zero_threshold, b.zero_count, b.count, b.sum])
            .all(|(x, y)| x.to_bits() == y.to_bits())
        && side(&a.positive, &b.positive)
        && side(&a.negative, &b.negative)
}

pub(super) fn finish(store: Store, files: &[String], problems: &mut Problems) -> Finished {
    let Store { keys, samples, mut hists, .. } = store;
    let mut series: Vec<SeriesSamples> = keys.into_iter().zip(samples).collect();
    // By name, then the other labels.
    let name_of = |k: &[(String, String)]| k.iter().find(|(n, _)| n == "__name__").map(|(_, v)| v.clone());
    series.sort_by_cached_key(|(k, _)| (name_of(k), k.clone()));
    let mut out = Finished {
        series: 0,
        samples: 0,
        stale: 0,
        histograms: 0,
        duplicates: 0,
        first_ms: None,
        last_ms: None,
        list: Vec::new(),
        labels: Vec::new(),
        hists: Vec::new(),
        grid: super::Grid::default(),
    };
    let mut label_names = std::collections::BTreeSet::new();
    for (key, s) in series.iter_mut() {
        s.sort_by_key(|x| x.ts);
        // What a histogram sample did not show, from the series' other samples.
        let order: Vec<usize> = s.iter().filter_map(Sample::histogram).collect();
        if !order.is_empty() {
            let blank = || Hist::known(NativeHistogram::empty(0));
            let mut taken: Vec<Hist> = order.iter().map(|&i| std::mem::replace(&mut hists[i], blank())).collect();
            super::native::fill(&mut taken);
            for (&i, h) in order.iter().zip(taken) {
                hists[i] = h;
            }
        }
        let mut kept: Vec<Sample> = Vec::with_capacity(s.len());
        for &x in s.iter() {
            if let Some(prev) = kept.last().filter(|p| p.ts == x.ts) {
                let same = match (prev.histogram(), x.histogram()) {
                    (None, None) => prev.bits == x.bits,
                    (Some(a), Some(b)) => same_histogram(&hists[a].h, &hists[b].h),
                    _ => false,
                };
                if same {
                    out.duplicates += 1;
                } else {
                    let (file, line) = (((x.at & !HISTOGRAM) >> 40) as usize, (x.at & ((1 << 40) - 1)) as usize);
                    let mut p = Problem::error(
                        "slo::import::conflict",
                        files.get(file).map_or("?", |s| s.as_str()),
                        format!(
                            "{} has two values at {}: {} ({}) and {} here",
                            super::series_text(key),
                            crate::units::fmt_ts(x.ts),
                            value_text(prev),
                            location(files, prev.at),
                            value_text(&x)
                        ),
                    )
                    .with_help("a series has one value per timestamp (Prometheus rejects the second as a `duplicate sample for timestamp`): drop one of the inputs' copies");
                    p.line = line;
                    problems.push(p);
                }
                continue;
            }
            kept.push(x);
        }
        *s = kept;
        if s.is_empty() {
            continue;
        }
        for x in s.iter_mut() {
            out.grid.add(x.ts);
            if let Some(h) = x.histogram() {
                // Renumbered into the output's list, in output order.
                x.bits = out.hists.len() as u64;
                out.hists.push(std::mem::replace(&mut hists[h].h, NativeHistogram::empty(0)));
                out.histograms += 1;
            }
        }
        out.series += 1;
        out.samples += s.len() as u64;
        out.stale += s.iter().filter(|x| x.histogram().is_none() && x.bits == STALE_NAN_BITS).count() as u64;
        let (lo, hi) = (s[0].ts, s[s.len() - 1].ts);
        out.first_ms = Some(out.first_ms.map_or(lo, |f: i64| f.min(lo)));
        out.last_ms = Some(out.last_ms.map_or(hi, |f: i64| f.max(hi)));
        label_names.extend(key.iter().map(|(k, _)| k.clone()).filter(|k| k != "__name__"));
    }
    series.retain(|(_, s)| !s.is_empty());
    out.list = series;
    out.labels = label_names.into_iter().collect();
    out
}

/// Writes one series of a [`Finished`] store: the columns of its samples.
pub(super) fn write_series(
    w: &mut LongWriter,
    key: &[(String, String)],
    samples: &[Sample],
    hists: &[NativeHistogram],
) -> Result<(), crate::error::Error> {
    let ts: Vec<i64> = samples.iter().map(|x| x.ts).collect();
    let v: Vec<f64> =
        samples.iter().map(|x| if x.histogram().is_some() { f64::NAN } else { f64::from_bits(x.bits) }).collect();
    let st: Vec<bool> = samples.iter().map(|x| x.histogram().is_none() && x.bits == STALE_NAN_BITS).collect();
    let h: Vec<Option<&NativeHistogram>> = samples.iter().map(|x| x.histogram().and_then(|i| hists.get(i))).collect();
    w.series_with(key, &ts, &v, &st, &h)
}

fn write(out: &Path, f: &Finished, labels: Vec<String>) -> Result<u64, crate::error::Error> {
    let mut w = LongWriter::create_with(out, labels, true, f.histograms > 0, 6)?;
    for (key, samples) in &f.list {
        write_series(&mut w, key, samples, &f.hists)?;
    }
    w.finish(out)
}
