//! The line formats: OpenMetrics, Prometheus text exposition, and
//! `promtool tsdb dump` output. They share one sample grammar,
//!
//! ```text
//! name{label="value", …} value [timestamp] [# exemplar]
//! {__name__="name", label="value", …} value timestamp     (tsdb dump)
//! {"utf8.name", "utf8.label"="value"} value timestamp     (Prometheus 3)
//! ```
//!
//! and differ in the timestamp unit: OpenMetrics writes seconds (a float),
//! Prometheus text and the dump integer milliseconds. `# HELP`, `# TYPE`
//! and `# UNIT` lines are checked and otherwise ignored (the sample lines
//! carry the full names, `_total`, `_bucket{le=…}` and all); other `#`
//! lines are comments; OpenMetrics' `# EOF` ends the input.
//!
//! A series' text (`name{…}`) seen before is not parsed again: the store
//! maps spellings to series, which makes the common case a hash lookup.

use super::import::{parse_value, seconds_to_ms, Format, Options, Problems, Store, MAX_ABS_MS};
use super::Problem;
use std::io::BufRead;

#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    pub format: Format,
    /// Given with `--from` (not detected).
    pub explicit: bool,
}

const TYPES: [&str; 9] =
    ["counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown", "untyped"];

fn name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}
fn name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// Reads one file; returns only I/O errors (problems go to `problems`).
pub(super) fn read(
    file: usize,
    name: &str,
    reader: &mut impl BufRead,
    mode: Mode,
    opts: &Options,
    store: &mut Store,
    problems: &mut Problems,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut eof_at: Option<usize> = None;
    let mut after_eof_reported = false;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            buf.pop();
        }
        let line = match std::str::from_utf8(&buf) {
            Ok(l) => l,
            Err(e) => {
                let text = String::from_utf8_lossy(&buf).into_owned();
                let col = e.valid_up_to();
                problems.push(
                    Problem::error("slo::import::encoding", name, "the line is not valid UTF-8")
                        .at(line_no, &text, col)
                        .with_help("metric text is UTF-8: convert the file (e.g. with iconv)"),
                );
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        if eof_at.is_some() {
            if !after_eof_reported {
                after_eof_reported = true;
                problems.push(
                    Problem::error("slo::import::syntax", name, "content after `# EOF`")
                        .at(line_no, line, 0)
                        .with_help("OpenMetrics ends at `# EOF`: remove it or what follows (two files concatenated?)"),
                );
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            if rest.trim() == "EOF" {
                if mode.format == Format::OpenMetrics {
                    eof_at = Some(line_no);
                }
                continue;
            }
            if let Some(p) = meta(rest, mode) {
                problems.push(p.at_line(name, line_no, line));
            }
            continue;
        }
        sample(file, name, line_no, line, mode, opts, store, problems);
    }
    if mode.format == Format::OpenMetrics && mode.explicit && eof_at.is_none() {
        problems.push(
            Problem::warning("slo::import::no_eof", name, "the OpenMetrics input has no `# EOF` line")
                .with_help("OpenMetrics ends with `# EOF`; without it the file may be truncated"),
        );
    }
    Ok(())
}

/// A problem found at a byte column of the current line (filled in later).
struct At {
    code: &'static str,
    column: usize,
    message: String,
    help: Option<String>,
}

impl At {
    fn new(code: &'static str, column: usize, message: impl Into<String>) -> At {
        At { code, column, message: message.into(), help: None }
    }
    fn help(mut self, h: impl Into<String>) -> At {
        self.help = Some(h.into());
        self
    }
    fn at_line(self, file: &str, line_no: usize, line: &str) -> Problem {
        let p = Problem::error(self.code, file, self.message).at(line_no, line, self.column);
        match self.help {
            Some(h) => p.with_help(h),
            None => p,
        }
    }
}

/// Checks `# HELP name …`, `# TYPE name type`, `# UNIT name unit`.
fn meta(rest: &str, mode: Mode) -> Option<At> {
    let body = rest.strip_prefix(' ')?;
    let (kw, after) = body.split_once(' ').unwrap_or((body, ""));
    if !["HELP", "TYPE", "UNIT"].contains(&kw) {
        return None; // a comment
    }
    let base = 2 + kw.len() + 1;
    let (metric, arg) = after.split_once(' ').unwrap_or((after, ""));
    let ok_name = !metric.is_empty()
        && (metric.len() >= 2 && metric.starts_with('"') && metric.ends_with('"')
            || name_start(metric.as_bytes()[0]) && metric.bytes().all(name_char));
    if !ok_name {
        return Some(
            At::new("slo::import::syntax", base, format!("`# {kw}` needs a metric name"))
                .help(format!("write `# {kw} metric_name …`")),
        );
    }
    if kw == "TYPE" {
        let t = arg.trim();
        if !TYPES.contains(&t) {
            return Some(
                At::new("slo::import::syntax", base + metric.len() + 1, format!("unknown metric type `{t}`"))
                    .help(format!("the types are {}", TYPES.join(", "))),
            );
        }
    }
    let _ = mode;
    None
}

/// Parses a quoted string starting at `b[i] == '"'`; returns it unescaped
/// and the index after the closing quote.
fn quoted(line: &str, mut i: usize) -> Result<(String, usize), At> {
    let b = line.as_bytes();
    let start = i;
    i += 1;
    let mut out = String::new();
    let mut run = i;
    while i < b.len() {
        match b[i] {
            b'"' => {
                out.push_str(&line[run..i]);
                return Ok((out, i + 1));
            }
            b'\\' if i + 1 < b.len() => {
                out.push_str(&line[run..i]);
                match b[i + 1] {
                    b'\\' => out.push('\\'),
                    b'"' => out.push('"'),
                    b'n' => out.push('\n'),
                    _ => {
                        // Kept as written, like Prometheus's parser.
                        let c = line[i + 1..].chars().next().unwrap_or('\\');
                        out.push('\\');
                        out.push(c);
                        i += c.len_utf8() - 1;
                    }
                }
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
    Err(At::new("slo::import::syntax", start, "unterminated string").help("close the quoted string with `\"`"))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// The end of the series text (`name{…}`) starting at 0, honouring quotes.
fn series_end(b: &[u8]) -> usize {
    let mut i = 0;
    while i < b.len() && name_char(b[i]) {
        i += 1;
    }
    if i < b.len() && b[i] == b'{' {
        let mut in_str = false;
        while i < b.len() {
            match b[i] {
                b'\\' if in_str => i += 1,
                b'"' => in_str = !in_str,
                b'}' if !in_str => return i + 1,
                _ => {}
            }
            i += 1;
        }
        return b.len();
    }
    i
}

/// The labels of `line[..end]` (with `__name__`).
fn labels(line: &str, end: usize) -> Result<Vec<(String, String)>, At> {
    let b = &line.as_bytes()[..end];
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < b.len() && name_char(b[i]) {
        i += 1;
    }
    if i > 0 {
        if !name_start(b[0]) {
            return Err(At::new("slo::import::syntax", 0, "a metric name cannot start with a digit"));
        }
        out.push(("__name__".into(), line[..i].into()));
    }
    if i == b.len() {
        return Ok(out);
    }
    if b[i] != b'{' {
        return Err(At::new("slo::import::syntax", i, format!("unexpected `{}` in the metric name", char_at(line, i))));
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        if i >= b.len() {
            return Err(
                At::new("slo::import::syntax", i, "the label set is not closed").help("end the labels with `}`")
            );
        }
        if b[i] == b'}' {
            i += 1;
            break;
        }
        let name_at = i;
        if out.len() >= super::import::MAX_LABELS_PER_SERIES {
            // Before the next label is parsed: a line of 200,000 labels stops here.
            let (code, m, h) = super::import::too_many_labels(out.len() + 1);
            return Err(At::new(code, name_at, m).help(h));
        }
        let lname = if b[i] == b'"' {
            let (s, j) = quoted(line, i)?;
            i = skip_ws(b, j);
            if i < b.len() && (b[i] == b',' || b[i] == b'}') {
                // `{"utf8.metric.name", …}`
                if out.iter().any(|(k, _)| k == "__name__") {
                    return Err(At::new("slo::import::label", name_at, "the series has two metric names"));
                }
                out.push(("__name__".into(), s));
                if b[i] == b',' {
                    i += 1;
                }
                continue;
            }
            s
        } else {
            let s = i;
            if !(b[i].is_ascii_alphabetic() || b[i] == b'_') {
                return Err(At::new(
                    "slo::import::syntax",
                    i,
                    format!("expected a label name, found `{}`", char_at(line, i)),
                )
                .help("label names are [a-zA-Z_][a-zA-Z0-9_]* (others must be quoted)"));
            }
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            line[s..i].to_string()
        };
        i = skip_ws(b, i);
        if i >= b.len() || b[i] != b'=' {
            return Err(At::new("slo::import::syntax", i, format!("expected `=` after label `{lname}`")));
        }
        i = skip_ws(b, i + 1);
        if i >= b.len() || b[i] != b'"' {
            return Err(At::new("slo::import::syntax", i, format!("expected a quoted value for label `{lname}`"))
                .help("label values are double-quoted: `code=\"200\"`"));
        }
        let (v, j) = quoted(line, i)?;
        if out.iter().any(|(k, _)| *k == lname) {
            return Err(At::new("slo::import::label", name_at, format!("label `{lname}` appears twice")));
        }
        out.push((lname, v));
        i = skip_ws(b, j);
        if i < b.len() && b[i] == b',' {
            i += 1;
        } else if i < b.len() && b[i] == b'}' {
            i += 1;
            break;
        } else {
            return Err(At::new("slo::import::syntax", i, "expected `,` or `}` after a label value"));
        }
    }
    if i != b.len() {
        return Err(At::new("slo::import::syntax", i, "unexpected text after the labels"));
    }
    Ok(out)
}

fn char_at(line: &str, i: usize) -> char {
    line[super::floor_char(line, i)..].chars().next().unwrap_or(' ')
}

/// One token starting at `i` (up to whitespace): (text, start).
fn token(line: &str, i: usize) -> (&str, usize) {
    let b = line.as_bytes();
    let mut j = i;
    while j < b.len() && b[j] != b' ' && b[j] != b'\t' {
        j += 1;
    }
    (&line[i..j], i)
}

#[allow(clippy::too_many_arguments)]
fn sample(
    file: usize,
    name: &str,
    line_no: usize,
    line: &str,
    mode: Mode,
    opts: &Options,
    store: &mut Store,
    problems: &mut Problems,
) {
    let mut report = |a: At| problems.push(a.at_line(name, line_no, line));
    let b = line.as_bytes();
    let end = series_end(b);
    if end == 0 {
        report(
            At::new("slo::import::syntax", 0, format!("expected a metric name, found `{}`", char_at(line, 0)))
                .help("a sample line is `name{label=\"value\"} value timestamp`"),
        );
        return;
    }
    let raw = &line[..end];
    let id = match store.by_raw(raw) {
        Some(id) => id,
        None => {
            let ls = match labels(line, end) {
                Ok(l) => l,
                Err(a) => return report(a),
            };
            match store.intern(Some(raw), ls) {
                Ok(id) => id,
                Err((code, m, h)) => return report(At::new(code, 0, m).help(h)),
            }
        }
    };
    let mut i = end;
    if i >= b.len() || (b[i] != b' ' && b[i] != b'\t') {
        let a = if i >= b.len() {
            At::new("slo::import::syntax", i, "the sample has no value")
        } else {
            At::new(
                "slo::import::syntax",
                i,
                format!("expected a space before the value, found `{}`", char_at(line, i)),
            )
        };
        return report(a.help("a sample line is `name{label=\"value\"} value timestamp`"));
    }
    i = skip_ws(b, i);
    let (vtok, vat) = token(line, i);
    let Some(v) = parse_value(vtok) else {
        return report(
            At::new("slo::import::value", vat, format!("`{vtok}` is not a number"))
                .help("values are floats: `1.5`, `2e-3`, `NaN`, `+Inf`, `-Inf`"),
        );
    };
    i = skip_ws(b, vat + vtok.len());
    let mut ts: Option<i64> = None;
    if i < b.len() && b[i] != b'#' {
        let (ttok, tat) = token(line, i);
        let parsed = if mode.format == Format::OpenMetrics {
            seconds_to_ms(ttok).ok_or_else(|| {
                At::new("slo::import::timestamp", tat, format!("`{ttok}` is not a timestamp"))
                    .help("OpenMetrics timestamps are unix seconds, e.g. 1700000000.5")
            })
        } else {
            match ttok.parse::<i64>() {
                Ok(ms) if ms.abs() <= MAX_ABS_MS => Ok(ms),
                Ok(_) => Err(At::new("slo::import::timestamp", tat, format!("`{ttok}` is out of range"))),
                Err(_) if seconds_to_ms(ttok).is_some() => Err(At::new(
                    "slo::import::timestamp",
                    tat,
                    format!("`{ttok}` is not an integer number of milliseconds"),
                )
                .help(
                    "Prometheus text and tsdb dumps use integer milliseconds; seconds with a fraction are OpenMetrics: end the file with `# EOF` or pass `--from openmetrics`",
                )),
                Err(_) => Err(At::new("slo::import::timestamp", tat, format!("`{ttok}` is not a timestamp"))
                    .help("timestamps are integer milliseconds since the epoch")),
            }
        };
        match parsed {
            Ok(t) => ts = Some(t),
            Err(a) => return report(a),
        }
        i = skip_ws(b, tat + ttok.len());
    }
    if i < b.len() {
        // OpenMetrics exemplars (` # {…} v [ts]`) are not samples.
        if !(b[i] == b'#' && (i + 1 == b.len() || b[i + 1] == b' ')) {
            return report(
                At::new("slo::import::syntax", i, format!("unexpected `{}` after the sample", token(line, i).0))
                    .help("a sample line is `name{label=\"value\"} value timestamp`"),
            );
        }
    }
    let ts = match ts.or(opts.default_time_ms) {
        Some(t) => t,
        None => {
            return report(
                At::new("slo::import::no_timestamp", b.len(), "the sample has no timestamp")
                    .help("a backtest needs the time of every sample: export with timestamps (e.g. `promtool tsdb dump`), or give them all one time with `--default-time`"),
            );
        }
    };
    store.push(id, ts, v, file, line_no);
}
