//! `slo data pull`: the raw samples the SLOs' selectors read, fetched from
//! a Prometheus-compatible server into one Parquet file in the native
//! layout.
//!
//! **What.** The backtester's own plan of the compiled rules
//! ([`crate::backtest::raw_reads`]) gives every raw selector and the
//! lead-in the longest range (plus the 5m lookback) needs before the first
//! evaluation; the pull covers `from − lead .. to`, the very rows a
//! backtest of `from .. to` scans. A selector whose series another selector
//! of the same metric also reads (`m{job="api", code=~"5.."}` under
//! `m{job="api"}`) is not fetched twice; series that two selectors share are
//! kept once.
//!
//! **How.** Raw samples with their real timestamps come from the
//! remote-read API where the server has it ([`super::remote`]: streamed
//! XOR chunks, or samples), else from instant queries of a range vector,
//! `GET /api/v1/query?query=<sel>[<chunk>]&time=<end>`, which every
//! Prometheus-compatible API answers (Prometheus 2.x and 3.x, Thanos
//! Query, Mimir, VictoriaMetrics) — never `query_range`, which resamples
//! onto its own steps. In `auto` mode the first request decides. The range
//! is cut into `--chunk` pieces, each asked for as `(start, end]`
//! (Prometheus 2 also returns a sample at `start`, and remote read whole
//! chunks: what is outside the piece is dropped). A piece the server finds
//! too large (422 "too many samples", a query timeout, remote read's
//! sample limit, a body past 256 MiB) is split in two, down to one
//! second. The label columns are known before any sample:
//! `/api/v1/labels?match[]=<sel>` per selector.
//!
//! **Native histograms** come through as well: from the query API's
//! `histograms` (bucket boundaries, see [`super::native`]), from remote
//! read's `Histogram` messages. Streamed chunks of a native histogram are
//! not XOR chunks and are not decoded here: an answer with one makes the
//! pull ask for that piece, and every later one, as samples. A
//! custom-bucket histogram is refused (`slo::import::histogram_layout`).
//!
//! **Memory.** Metrics are fetched one at a time, in name order; a metric's
//! series are sorted, deduplicated and written before the next is fetched,
//! so the process holds one metric's samples (24 bytes each) plus one
//! response (or streamed frame) at a time.
//!
//! **Output.** Written through [`LongWriter`] (atomic, 0644): the same
//! server data gives the same bytes. The file always has the `h_*`
//! native-histogram columns (null on float rows): whether a metric has
//! histogram samples is known only once it is fetched, after the first
//! rows are written.
//!
use super::http::{Client, Reply, Settings, Traffic};
use super::import::{finish, Problems, Store};
use crate::backtest::plan::Sel;
use crate::error::Error;
use crate::layout::writer::LongWriter;
use promql_parser::label::MatchOp;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The smallest piece a chunk is split into.
const MIN_CHUNK_MS: i64 = 1000;

#[derive(Debug, Clone)]
pub struct Options {
    /// First evaluation the data is for, and the lead-in before it.
    pub from_ms: i64,
    pub lead_ms: i64,
    /// Last sample time (inclusive).
    pub to_ms: i64,
    pub chunk_ms: i64,
    /// Read NaN values as staleness markers.
    pub nan_as_stale: bool,
    pub progress: bool,
    pub api: Api,
}

/// What a pull did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// The selectors fetched (after dropping covered ones).
    pub selectors: Vec<String>,
    /// Selectors that matched no series in the range.
    pub unmatched: Vec<String>,
    pub series: usize,
    pub samples: u64,
    pub stale_markers: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Start of the pulled range (`from − lead`).
    pub lo_ms: i64,
    pub traffic: Traffic,
    /// Chunks split because the server found them too large.
    pub splits: u64,
    /// Native-histogram samples written (among `samples`).
    pub native_histograms: u64,
    /// Warnings the server attached to its answers (each once).
    pub server_warnings: Vec<String>,
    /// The APIs that answered.
    pub api: Vec<&'static str>,
    pub seconds: f64,
}

/// A selector as PromQL, every matcher (the name too) in `{…}` with Go's
/// string quoting, as the server parses it.
pub fn selector_text(sel: &Sel) -> String {
    let q = crate::syntax::strings::quote;
    let mut parts = Vec::new();
    if let Some(n) = &sel.name {
        parts.push(format!("__name__={}", q(n)));
    }
    for m in &sel.matchers {
        let op = match m.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Re(_) => "=~",
            MatchOp::NotRe(_) => "!~",
        };
        parts.push(format!("{}{op}{}", m.name, q(&m.value)));
    }
    format!("{{{}}}", parts.join(", "))
}

/// The selectors to fetch, grouped by metric name (`None`: selectors
/// without a fixed name, which are then all fetched as one group): a
/// selector is left out when another of the same metric matches a subset
/// of its matchers (it reads every series the first does).
fn groups(sels: &[Sel]) -> BTreeMap<Option<String>, Vec<(String, Sel)>> {
    let matcher_set = |s: &Sel| -> BTreeSet<String> {
        selector_text(&Sel { name: None, matchers: s.matchers.clone() })
            .trim_matches(['{', '}'])
            .split(", ")
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut uniq: BTreeMap<String, &Sel> = BTreeMap::new();
    for s in sels {
        uniq.entry(selector_text(s)).or_insert(s);
    }
    let list: Vec<(&String, &Sel, BTreeSet<String>)> = uniq.iter().map(|(t, s)| (t, *s, matcher_set(s))).collect();
    let unnamed = list.iter().any(|(_, s, _)| s.metric().is_none());
    let mut out: BTreeMap<Option<String>, Vec<(String, Sel)>> = BTreeMap::new();
    for (i, (text, sel, ms)) in list.iter().enumerate() {
        let covered = list.iter().enumerate().any(|(j, (_, other, oms))| {
            j != i && other.metric().is_some() && other.metric() == sel.metric() && oms.is_subset(ms) && oms != ms
        });
        if covered {
            continue;
        }
        let key = if unnamed { None } else { sel.metric().map(str::to_string) };
        out.entry(key).or_default().push(((*text).clone(), (*sel).clone()));
    }
    out
}

/// Unix seconds as the API takes them (`1767225600.5`).
fn api_time(ms: i64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

/// The pieces of `(lo − 1, hi]` of at most `chunk` each, in time order.
fn chunks(lo: i64, hi: i64, chunk: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut start = lo - 1;
    while start < hi {
        let end = (start + chunk).min(hi);
        out.push((start, end));
        start = end;
    }
    out
}

struct Puller<'a> {
    client: Client,
    opts: &'a Options,
    names: &'a [String],
    splits: u64,
    tally: Tally,
    bar: indicatif::ProgressBar,
    /// Remote read: not tried yet (`None`), in use, or not (query API).
    remote: Option<bool>,
    /// The APIs that answered.
    api: BTreeSet<&'static str>,
    /// Remote read asks for samples, not streamed chunks (after an answer
    /// with native-histogram chunks).
    samples_only: bool,
}

/// What a remote-read request came to.
enum Remote {
    Done(u64),
    TooMuch,
    Unsupported,
}

/// Which API to read samples through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Remote read where the server offers it, else the query API.
    Auto,
    RemoteRead,
    /// Remote read asking for samples only, not streamed chunks (tests).
    RemoteReadSamples,
    Query,
}

/// One API response to an instant query of a range vector.
#[derive(serde::Deserialize)]
struct Response {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(serde::Deserialize)]
struct Series {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    histograms: Vec<(f64, serde_json::Value)>,
}

fn bad_response(what: &str, why: impl std::fmt::Display) -> Error {
    Error::coded(
        "slo::pull::response",
        format!("{what}: the server's answer is not a Prometheus API response of the expected shape: {why}"),
        "check that --url points at a Prometheus-compatible API (Prometheus, Thanos Query, Mimir's …/prometheus, VictoriaMetrics)",
    )
}

impl Puller<'_> {
    /// Label names of the series `sel` matches in the range.
    fn label_names(&mut self, sel: &str, lo: i64, hi: i64) -> Result<Vec<String>, Error> {
        let (start, end) = (api_time(lo), api_time(hi));
        let params = [("match[]", sel), ("start", start.as_str()), ("end", end.as_str())];
        let what = format!("labels of {sel}");
        let body = match self.client.get("/api/v1/labels", &params)? {
            Reply::Ok(b) => b,
            Reply::TooMuch(m) => return Err(bad_response(&what, m)),
        };
        #[derive(serde::Deserialize)]
        struct Labels {
            status: String,
            #[serde(default)]
            data: Vec<String>,
        }
        let l: Labels = serde_json::from_slice(&body).map_err(|e| bad_response(&what, e))?;
        if l.status != "success" {
            return Err(bad_response(&what, format!("status `{}`", super::short(&l.status))));
        }
        Ok(l.data)
    }

    /// The samples of `sel` in `(start, end]` into `store`, splitting the
    /// piece while the server finds it too large, through remote read or
    /// the query API. Returns the series seen.
    fn fetch(&mut self, (sel, parsed): (&str, &Sel), start: i64, end: i64, store: &mut Store) -> Result<u64, Error> {
        if self.remote != Some(false) {
            match self.remote_read(parsed, start, end, store)? {
                Remote::Done(n) => return Ok(n),
                Remote::TooMuch if end - start > MIN_CHUNK_MS => {
                    self.splits += 1;
                    let mid = start + (end - start) / 2;
                    return Ok(
                        self.fetch((sel, parsed), start, mid, store)? + self.fetch((sel, parsed), mid, end, store)?
                    );
                }
                Remote::TooMuch => {
                    return Err(Error::coded(
                        "slo::pull::too_many_samples",
                        format!("{sel}: even one second of it is too much for the server's remote read"),
                        "raise the server's limit (Prometheus --storage.remote.read-sample-limit), or use --api query",
                    ))
                }
                Remote::Unsupported => self.remote = Some(false),
            }
        }
        self.query(sel, start, end, store)
    }

    /// One piece through `/api/v1/read`. In `auto` mode the first answer
    /// decides: a server without remote read (404, 405, 406, 415, 501, or
    /// a 400 that is not about a limit) is asked through the query API
    /// from then on.
    fn remote_read(&mut self, sel: &Sel, start: i64, end: i64, store: &mut Store) -> Result<Remote, Error> {
        let samples_only = self.opts.api == Api::RemoteReadSamples || self.samples_only;
        let body = super::remote::request(start + 1, end, matchers(sel), samples_only);
        let headers = [
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Read-Version", "0.1.0"),
        ];
        let what = format!(
            "remote read of {} from {} to {}",
            selector_text(sel),
            crate::units::fmt_ts(start + 1),
            crate::units::fmt_ts(end)
        );
        let (ct, reader) = match self.client.post("/api/v1/read", &body, &headers)? {
            Ok(r) => r,
            Err(r) if r.status == 400 && r.message.contains("limit") => return Ok(Remote::TooMuch),
            Err(r) if self.remote.is_none() && matches!(r.status, 400 | 404 | 405 | 406 | 415 | 501) => {
                return Ok(Remote::Unsupported)
            }
            Err(r) => return Err(r.error()),
        };
        let streamed = ct.starts_with("application/x-streamed-protobuf");
        if !streamed && !ct.starts_with("application/x-protobuf") {
            if self.remote.is_none() {
                return Ok(Remote::Unsupported);
            }
            return Err(bad_response(&what, format!("content type `{}`", super::short(&ct))));
        }
        self.remote = Some(true);
        self.api.insert(if streamed { "remote read (streamed chunks)" } else { "remote read (samples)" });
        let (names, tally) = (self.names, &mut self.tally);
        let mut seen = 0u64;
        let mut failed = None;
        let mut body = super::remote::Counted { inner: reader, bytes: 0 };
        let mut chunks_of_histograms = false;
        let asked_samples = samples_only;
        let read = super::remote::read(&mut body, streamed, &mut |series| {
            if series.histogram_chunks > 0 {
                if asked_samples {
                    return Err("native-histogram chunks in the answer to a request for samples".into());
                }
                // Histogram chunks are not decoded here: ask for samples.
                chunks_of_histograms = true;
                return Err(String::new());
            }
            let text = super::series_text(&series.labels);
            let id = match intern(&what, series.labels, names, store) {
                Ok(id) => id,
                Err(e) => {
                    failed = Some(e);
                    return Err(String::new());
                }
            };
            seen += 1;
            for (t, v) in series.samples {
                if t > start && t <= end {
                    store.push(id, t, v, 0, 0);
                    tally.fetched += 1;
                }
            }
            for (t, h) in series.histograms {
                let h = match h {
                    Ok(h) => h,
                    Err((code, m)) => {
                        failed = Some(Error::coded(code, format!("{what}: {text}: {m}"), super::native::LAYOUT_HELP));
                        return Err(String::new());
                    }
                };
                if t > start && t <= end {
                    store.push_histogram(id, t, super::native::Hist::known(h), 0, 0);
                    tally.fetched += 1;
                }
            }
            Ok(())
        });
        self.client.traffic.bytes += body.bytes;
        if chunks_of_histograms {
            // The streamed chunks of a native histogram are in another
            // encoding than XOR: this piece, and every later one, is asked
            // for as samples, which carry histograms as messages. (Series
            // already stored from this answer come again: exact duplicates.)
            self.samples_only = true;
            return self.remote_read(sel, start, end, store);
        }
        read.map_err(|e| failed.take().unwrap_or_else(|| bad_response(&what, e)))?;
        Ok(Remote::Done(seen))
    }

    /// One piece through `/api/v1/query` (an instant query of a range vector).
    fn query(&mut self, sel: &str, start: i64, end: i64, store: &mut Store) -> Result<u64, Error> {
        self.api.insert("query API");
        let query = format!("{sel}[{}ms]", end - start);
        let time = api_time(end);
        let reply = self.client.get("/api/v1/query", &[("query", query.as_str()), ("time", time.as_str())])?;
        let body = match reply {
            Reply::Ok(b) => b,
            Reply::TooMuch(_) if end - start > MIN_CHUNK_MS => {
                self.splits += 1;
                let mid = start + (end - start) / 2;
                return Ok(self.query(sel, start, mid, store)? + self.query(sel, mid, end, store)?);
            }
            Reply::TooMuch(why) => {
                return Err(Error::coded(
                    "slo::pull::too_many_samples",
                    format!("{sel}: even one second of it is too much for the server: {}", super::short(&why)),
                    "the selector matches too many series for the server's limits (Prometheus --query.max-samples, Mimir/Thanos query limits): raise the limit",
                ))
            }
        };
        let what = format!("{query} at {}", crate::units::fmt_ts(end));
        parse_matrix(&body, &what, (start, end), self.names, store, &mut self.tally)
    }
}

/// What the responses held besides samples.
#[derive(Default)]
struct Tally {
    /// Samples received (duplicates included).
    fetched: u64,
    native_histograms: u64,
    /// Warnings the server attached to its answers.
    server_warnings: BTreeSet<String>,
}

/// One response to `sel[range]` at `end`: the samples in `(start, end]`
/// into `store`, every series' labels among `names`. Returns the series in
/// it. Any body at all gives samples or a coded error, never a panic.
fn parse_matrix(
    body: &[u8],
    what: &str,
    (start, end): (i64, i64),
    names: &[String],
    store: &mut Store,
    tally: &mut Tally,
) -> Result<u64, Error> {
    let resp: Response = serde_json::from_slice(body).map_err(|e| bad_response(what, e))?;
    if resp.status != "success" {
        return Err(bad_response(what, format!("status `{}`", super::short(&resp.status))));
    }
    tally.server_warnings.extend(resp.warnings.into_iter().take(10));
    let Some(data) = resp.data else { return Err(bad_response(what, "no `data`")) };
    if data.result_type != "matrix" {
        return Err(bad_response(
            what,
            format!("result type `{}` where a range vector gives `matrix`", super::short(&data.result_type)),
        ));
    }
    let mut seen = 0;
    let millis = |t: f64| {
        let ms = (t * 1000.0).round();
        if !ms.is_finite() || ms.abs() > super::import::MAX_ABS_MS as f64 {
            return Err(bad_response(what, format!("`{t}` is not a timestamp")));
        }
        Ok(ms as i64)
    };
    for s in data.result {
        // The series as text, for a refused histogram.
        let text = if s.histograms.is_empty() {
            String::new()
        } else {
            super::series_text(&s.metric.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>())
        };
        let id = intern(what, s.metric.into_iter().collect(), names, store)?;
        seen += 1;
        for (t, h) in s.histograms {
            let ms = millis(t)?;
            if ms <= start || ms > end {
                continue;
            }
            let h = super::native::from_api(&h).map_err(|(code, m)| {
                if code == "slo::import::histogram_layout" {
                    Error::coded(code, format!("{what}: {text}: {m}"), super::native::LAYOUT_HELP)
                } else {
                    bad_response(what, m)
                }
            })?;
            store.push_histogram(id, ms, h, 0, 0);
            tally.fetched += 1;
        }
        for (t, v) in s.values {
            let ms = millis(t)?;
            // Prometheus 2 selects [start, end]; the sample at `start`
            // belongs to the previous piece.
            if ms <= start || ms > end {
                continue;
            }
            let Some(v) = super::import::parse_value(&v) else {
                return Err(bad_response(what, format!("`{}` is not a sample value", super::short(&v))));
            };
            store.push(id, ms, v, 0, 0);
            tally.fetched += 1;
        }
    }
    Ok(seen)
}

/// The series of `labels` in `store`, its labels among the columns.
fn intern(what: &str, labels: Vec<(String, String)>, names: &[String], store: &mut Store) -> Result<u32, Error> {
    if let Some((k, _)) =
        labels.iter().find(|(k, v)| k != "__name__" && !v.is_empty() && names.binary_search(k).is_err())
    {
        return Err(Error::coded(
            "slo::pull::changed",
            format!("{what}: a series has label `{}`, which /api/v1/labels did not list", super::short(k)),
            "the server's series changed during the pull (or it answers the two APIs differently): run it again",
        ));
    }
    let text = super::series_text(&labels);
    store.intern(None, labels).map_err(|(code, m, h)| {
        Error::coded(code, format!("{what}: {}: {m}", text), format!("{h} (the server returned it)"))
    })
}

/// The remote-read matchers of a selector.
fn matchers(sel: &Sel) -> Vec<super::remote::LabelMatcher> {
    let mut out = Vec::new();
    if let Some(n) = &sel.name {
        out.push(super::remote::LabelMatcher { r#type: 0, name: "__name__".into(), value: n.clone() });
    }
    for m in &sel.matchers {
        let t = match m.op {
            MatchOp::Equal => 0,
            MatchOp::NotEqual => 1,
            MatchOp::Re(_) => 2,
            MatchOp::NotRe(_) => 3,
        };
        out.push(super::remote::LabelMatcher { r#type: t, name: m.name.clone(), value: m.value.clone() });
    }
    out
}

/// Pulls every selector of `sels` (see the module doc) into `out`.
pub fn run(settings: &Settings, sels: &[Sel], opts: &Options, out: &Path) -> Result<Summary, Error> {
    let t0 = std::time::Instant::now();
    let client = Client::new(settings)?;
    let lo = opts.from_ms - opts.lead_ms;
    let hi = opts.to_ms;
    if hi < opts.from_ms {
        return Err(Error::coded(
            "slo::pull::range",
            format!("--to {} is before --from {}", crate::units::fmt_ts(hi), crate::units::fmt_ts(opts.from_ms)),
            "give --from before --to",
        ));
    }
    let groups = groups(sels);
    let pieces = chunks(lo, hi, opts.chunk_ms.max(MIN_CHUNK_MS));
    let selectors: Vec<String> = groups.values().flatten().map(|(t, _)| t.clone()).collect();
    let bar = if opts.progress {
        let bar = indicatif::ProgressBar::new((selectors.len() * pieces.len()) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("pull {bar:30} {pos}/{len} requests, {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut names: Vec<String> = Vec::new();
    let mut p = Puller {
        client,
        opts,
        names: &[],
        splits: 0,
        tally: Tally::default(),
        bar,
        remote: match opts.api {
            Api::Auto => None,
            Api::RemoteRead | Api::RemoteReadSamples => Some(true),
            Api::Query => Some(false),
        },
        api: BTreeSet::new(),
        samples_only: false,
    };
    let mut name_set = BTreeSet::new();
    for sel in &selectors {
        name_set.extend(p.label_names(sel, lo, hi)?);
    }
    name_set.remove("__name__");
    if name_set.len() > super::import::MAX_LABEL_NAMES {
        return Err(Error::coded(
            "slo::pull::too_many_label_names",
            format!(
                "the selected series have {} distinct label names, more than {}",
                name_set.len(),
                super::import::MAX_LABEL_NAMES
            ),
            "each label name is a column of the Parquet file: narrow the selectors, or drop labels on the server (metric_relabel_configs)",
        ));
    }
    names.extend(name_set);
    // The `h_*` columns always: whether a later metric has native-histogram
    // samples is known only when it is fetched.
    let mut writer = LongWriter::create_with(out, names.clone(), true, true, 6)?;
    let mut p = Puller { names: &names, ..p };
    let (mut series, mut samples, mut stale) = (0usize, 0u64, 0u64);
    let (mut first, mut last): (Option<i64>, Option<i64>) = (None, None);
    let mut unmatched = Vec::new();
    let source = [client_name(&p.client)];
    for group in groups.values() {
        let mut store = Store::new(p.opts.nan_as_stale);
        for (sel, parsed) in group {
            let mut seen = 0;
            for &(start, end) in &pieces {
                seen += p.fetch((sel, parsed), start, end, &mut store)?;
                p.bar.inc(1);
                p.bar.set_message(format!("{} samples", p.tally.fetched));
            }
            if seen == 0 {
                unmatched.push(sel.clone());
            }
        }
        let mut problems = Problems::new(10);
        let f = finish(store, &source, &mut problems);
        if problems.errors > 0 {
            return Err(Error::coded(
                "slo::pull::conflict",
                format!(
                    "the server returned two different values for one series and time:\n{}",
                    super::render(&problems.list).trim_end()
                ),
                "the server's data changed during the pull (or two replicas disagree, e.g. Thanos without deduplication): run it again",
            ));
        }
        series += f.series;
        samples += f.samples;
        stale += f.stale;
        p.tally.native_histograms += f.histograms;
        first = match (first, f.first_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = last.max(f.last_ms);
        for (key, s) in &f.list {
            super::import::write_series(&mut writer, key, s, &f.hists)?;
        }
    }
    p.bar.finish_and_clear();
    if samples == 0 {
        // The temporary file is removed with the writer.
        return Err(Error::coded(
            "slo::pull::empty",
            format!(
                "the server has no samples of the SLOs' selectors from {} to {}: {}",
                crate::units::fmt_ts(lo),
                crate::units::fmt_ts(hi),
                selectors.join(", ")
            ),
            "check --from/--to (the server's retention), the tenant (X-Scope-OrgID) and that the metric names match",
        ));
    }
    writer.finish(out)?;
    Ok(Summary {
        selectors,
        unmatched,
        series,
        samples,
        stale_markers: stale,
        first_ms: first,
        last_ms: last,
        lo_ms: lo,
        traffic: p.client.traffic,
        splits: p.splits,
        native_histograms: p.tally.native_histograms,
        server_warnings: p.tally.server_warnings.into_iter().collect(),
        api: p.api.into_iter().collect(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

fn client_name(c: &Client) -> String {
    c.base().to_string()
}

/// Each SLO's rule-group phase as the server at `settings.url` evaluates
/// it: the timestamp of the latest `slo:info` sample the deployed rules
/// wrote (`timestamp(slo:info)`), modulo `step_ms`. Query offsets are in it
/// already (the server writes samples at its evaluation time minus the
/// offset). `slos` are `(service, slo)` in group order.
pub fn group_phases(settings: &Settings, slos: &[(String, String)], step_ms: i64) -> Result<Vec<i64>, Error> {
    #[derive(serde::Deserialize)]
    struct QueryReply {
        data: Data,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        result: Vec<Sample>,
    }
    #[derive(serde::Deserialize)]
    struct Sample {
        metric: std::collections::BTreeMap<String, String>,
        value: (f64, String),
    }
    let mut client = Client::new(settings)?;
    let what = "timestamp(slo:info)";
    let body = match client.get("/api/v1/query", &[("query", what)])? {
        Reply::Ok(b) => b,
        Reply::TooMuch(why) => {
            return Err(Error::coded(
                "slo::schedule::server",
                format!("{what}: the server refused: {}", super::short(&why)),
                "give the offsets with --rule-dir instead",
            ))
        }
    };
    let r: QueryReply = serde_json::from_slice(&body).map_err(|e| bad_response(what, e))?;
    let mut at = std::collections::HashMap::new();
    for s in r.data.result {
        let key =
            (s.metric.get("service").cloned().unwrap_or_default(), s.metric.get("slo").cloned().unwrap_or_default());
        let Ok(secs) = s.value.1.parse::<f64>() else { continue };
        at.insert(key, (secs * 1000.0).round() as i64);
    }
    let mut missing = Vec::new();
    let phases = slos
        .iter()
        .map(|k| match at.get(k) {
            Some(t) => t.rem_euclid(step_ms.max(1)),
            None => {
                missing.push(format!("{}/{}", k.0, k.1));
                0
            }
        })
        .collect();
    if !missing.is_empty() {
        let n = missing.len();
        missing.truncate(5);
        return Err(Error::coded(
            "slo::schedule::not_deployed",
            format!(
                "the server has no `slo:info` of {n} SLOs ({}{})",
                missing.join(", "),
                if n > 5 { ", …" } else { "" }
            ),
            "deploy the compiled rules there first (and let them evaluate once), or give the offsets with --rule-dir",
        ));
    }
    Ok(phases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::label::Matcher;

    fn sel(name: &str, ms: &[(&str, &str)]) -> Sel {
        Sel {
            name: Some(name.into()),
            matchers: ms
                .iter()
                .map(|(k, v)| match v.strip_prefix('~') {
                    Some(re) => Matcher::new(MatchOp::Re(regex::Regex::new(re).unwrap()), k, re),
                    None => Matcher::new(MatchOp::Equal, k, v),
                })
                .collect(),
        }
    }

    #[test]
    fn selectors_print_as_promql_with_go_quoting() {
        let s = sel("http_requests_total", &[("job", "a\"pi"), ("code", "~5.."), ("x", "\\d")]);
        assert_eq!(selector_text(&s), r#"{__name__="http_requests_total", job="a\"pi", code=~"5..", x="\\d"}"#);
    }

    #[test]
    fn covered_selectors_are_not_fetched_twice() {
        let total = sel("m", &[("job", "api")]);
        let bad = sel("m", &[("job", "api"), ("code", "~5..")]);
        let other = sel("n", &[("job", "api")]);
        let g = groups(&[bad.clone(), total.clone(), other, bad]);
        assert_eq!(g.len(), 2);
        assert_eq!(
            g[&Some("m".to_string())].iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
            vec![selector_text(&total)]
        );
        // Without a fixed name, everything is one group.
        let g = groups(&[Sel { name: None, matchers: vec![] }, total]);
        assert_eq!(g.len(), 1);
    }

    fn parse(body: &str) -> Result<(u64, u64), Error> {
        let mut store = Store::new(false);
        let mut tally = Tally::default();
        let names = vec!["job".to_string()];
        parse_matrix(body.as_bytes(), "q", (1000, 5000), &names, &mut store, &mut tally)
            .map(|series| (series, tally.fetched))
    }

    #[test]
    fn responses_of_any_shape_are_samples_or_coded_errors() {
        let ok = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"a"},"values":[[1,"1"],[1.5,"NaN"],[2,"+Inf"],[5,"-Inf"],[5.001,"9"]]}]}}"#;
        // (start, end] = (1 s, 5 s]: the sample at 1 s and the one after 5 s are not this piece's.
        assert_eq!(parse(ok).unwrap(), (1, 3));
        let native = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"h"},"histograms":[[2,{"count":"1","sum":"0.75","buckets":[[0,"0.5","1","1"]]}]]}]}}"#;
        assert_eq!(parse(native).unwrap(), (1, 1));
        for (body, code) in [
            ("", "slo::pull::response"),
            ("{", "slo::pull::response"),
            ("[]", "slo::pull::response"),
            ("null", "slo::pull::response"),
            (r#"{"status":"error","errorType":"bad_data","error":"x"}"#, "slo::pull::response"),
            (r#"{"status":"success"}"#, "slo::pull::response"),
            (r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#, "slo::pull::response"),
            (r#"{"status":"success","data":{"resultType":"matrix","result":{}}}"#, "slo::pull::response"),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":1}}]}}"#,
                "slo::pull::response",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":[["2","1"]]}]}}"#,
                "slo::pull::response",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":[[2,"one"]]}]}}"#,
                "slo::pull::response",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":[[1e300,"1"]]}]}}"#,
                "slo::pull::response",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":[[2]]}]}}"#,
                "slo::pull::response",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","other":"1"},"values":[]}]}}"#,
                "slo::pull::changed",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[2,"1"]]}]}}"#,
                "slo::import::no_name",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"h"},"histograms":[[2,{}]]}]}}"#,
                "slo::pull::response",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"h"},"histograms":[[2,{"count":"1","sum":"0.2","buckets":[[0,"0.1","0.25","1"]]}]]}]}}"#,
                "slo::import::histogram_layout",
            ),
        ] {
            match parse(body) {
                Err(e) => assert_eq!(e.code, code, "{body}: {e}"),
                Ok(r) => panic!("{body}: accepted as {r:?}"),
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let alphabet = br#"{}[]":,0123456789.eE+-aNInfstuvmrixcled_ "#;
        let seed = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","job":"a"},"values":[[2,"1"]]}]}}"#;
        for b in crate::metrics::mutants(seed.as_bytes(), alphabet, 3000) {
            let mut store = Store::new(true);
            let _ = parse_matrix(&b, "q", (0, 5000), &["job".into()], &mut store, &mut Tally::default());
        }
    }

    #[test]
    fn chunks_cover_the_range_left_open() {
        assert_eq!(chunks(1000, 5000, 2000), vec![(999, 2999), (2999, 4999), (4999, 5000)]);
        assert_eq!(chunks(1000, 1000, 2000), vec![(999, 1000)]);
        assert_eq!(api_time(1767225600123), "1767225600.123");
        assert_eq!(api_time(-1500), "-1.5");
    }
}
