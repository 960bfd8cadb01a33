//! `slo data export`: Parquet data in the native layout as OpenMetrics text,
//! the input of `promtool tsdb create-blocks-from openmetrics` (backfilling
//! a Prometheus) and of `slo data import`.
//!
//! One line per sample, series by series in time order:
//! `name{label="value",…} value seconds.millis`, values in Rust's shortest
//! round-trip form (so every float comes back bit for bit, `NaN`, `+Inf`
//! and `-Inf` spelled as Prometheus spells them), timestamps with exactly
//! three decimals (exact milliseconds). No `# TYPE` lines: every series
//! keeps its full name (`_total`, `_bucket`) and Prometheus stores it as
//! written. OpenMetrics cannot tell a staleness marker from a NaN value, so
//! markers are written as `NaN`; `slo data import --nan-as-stale` turns
//! them back into markers.

use crate::layout::reader::{each_series, DataError, Series, SeriesSink, Source};
use std::io::{Seek, Write};
use std::path::Path;

/// What an export wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub series: u64,
    pub samples: u64,
    pub stale_markers: u64,
}

fn legacy_name(s: &str, metric: bool) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || (metric && b[0] == b':'))
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || (metric && c == b':'))
}

/// A label value inside double quotes, as the text exposition format and
/// Alertmanager's matchers spell it: `\`, `"` and newlines escaped.
pub(crate) fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `name{a="b",c="d"}`; names that are not legacy identifiers are quoted
/// (`{"my.metric","my.label"="x"}`, Prometheus 3's spelling).
pub(crate) fn series_line_prefix(labels: &[(String, String)]) -> String {
    let name = labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str());
    let mut out = String::new();
    let mut items: Vec<String> = Vec::new();
    if legacy_name(name, true) {
        out.push_str(name);
    } else {
        let mut q = String::from("\"");
        escape(name, &mut q);
        q.push('"');
        items.push(q);
    }
    for (k, v) in labels.iter().filter(|(k, _)| k != "__name__") {
        let mut item = String::new();
        if legacy_name(k, false) {
            item.push_str(k);
        } else {
            item.push('"');
            escape(k, &mut item);
            item.push('"');
        }
        item.push_str("=\"");
        escape(v, &mut item);
        item.push('"');
        items.push(item);
    }
    if !items.is_empty() {
        out.push('{');
        out.push_str(&items.join(","));
        out.push('}');
    }
    out
}

/// A float as Go's `strconv.ParseFloat` reads it back exactly.
pub(crate) fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Milliseconds as seconds with three decimals.
pub(crate) fn seconds_text(ms: i64) -> String {
    let a = ms.unsigned_abs();
    format!("{}{}.{:03}", if ms < 0 { "-" } else { "" }, a / 1000, a % 1000)
}

struct Lines<W: Write + Seek> {
    out: W,
    written: Written,
    error: Option<std::io::Error>,
}

impl<W: Write + Seek> Lines<W> {
    fn series_inner(&mut self, (key, ts, v, stale): Series) -> std::io::Result<()> {
        let prefix = series_line_prefix(&key);
        let (mut i, mut j) = (0, 0);
        let mut line = String::new();
        while i < ts.len() || j < stale.len() {
            line.clear();
            line.push_str(&prefix);
            line.push(' ');
            if j >= stale.len() || (i < ts.len() && ts[i] < stale[j]) {
                line.push_str(&value_text(v[i]));
                line.push(' ');
                line.push_str(&seconds_text(ts[i]));
                i += 1;
            } else {
                line.push_str("NaN ");
                line.push_str(&seconds_text(stale[j]));
                j += 1;
                self.written.stale_markers += 1;
            }
            line.push('\n');
            self.out.write_all(line.as_bytes())?;
            self.written.samples += 1;
        }
        self.written.series += 1;
        Ok(())
    }
}

impl<W: Write + Seek> SeriesSink for Lines<W> {
    fn series(&mut self, s: Series) {
        if self.error.is_none() {
            if let Err(e) = self.series_inner(s) {
                self.error = Some(e);
            }
        }
    }
    fn restart(&mut self) {
        self.written = Written::default();
        if let Err(e) = self.out.rewind() {
            self.error.get_or_insert(e);
        }
    }
}

/// Why an export failed: the data (as the backtest reports it) or writing.
pub enum Failure {
    Data(Vec<DataError>),
    Write(crate::error::Error),
}

/// Writes the data as OpenMetrics to `out` (atomically, 0644).
pub fn run(src: &Source, out: &Path) -> Result<Written, Failure> {
    crate::memory::phase("exporting the data");
    let rt = crate::layout::reader::runtime().map_err(|e| Failure::Data(vec![e]))?;
    let werr = |e: std::io::Error| Failure::Write(crate::error::Error::write(out, e));
    let tmp = crate::output::TempFile::beside(out).map_err(werr)?;
    let file = tmp.reopen().map_err(werr)?;
    let mut lines =
        Lines { out: std::io::BufWriter::with_capacity(1 << 20, file), written: Written::default(), error: None };
    let stats =
        crate::layout::reader::guarded(&src.paths, || each_series(src, &rt, &mut lines)).map_err(Failure::Data)?;
    // OpenMetrics text has no native histograms: refuse rather than drop them
    // (the temporary file goes away with `tmp`).
    if let Some(series) = stats.histogram_example {
        return Err(Failure::Data(vec![DataError::Histograms { series, samples: stats.histogram_samples }]));
    }
    if let Some(e) = lines.error.take() {
        return Err(werr(e));
    }
    lines.out.write_all(b"# EOF\n").map_err(werr)?;
    let mut file = lines.out.into_inner().map_err(|e| werr(e.into_error()))?;
    // A restart may have left longer text behind the end.
    let end = file.stream_position().map_err(werr)?;
    file.set_len(end).map_err(werr)?;
    file.sync_all().map_err(werr)?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(out).map_err(werr)?;
    Ok(lines.written)
}
