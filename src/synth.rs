//! `slo synth`: realistic, deterministic metric data in the native Parquet
//! layout, for demos, tests and benchmarks.
//!
//! Traffic follows a daily cycle with noise; each instance's counters reset
//! when it restarts; scrapes fail now and then (a staleness marker, then a
//! gap); latencies are log-normal and land in classic `le` buckets, or in
//! a native histogram's exponential buckets (schema 3) for an SLI with
//! `native = true`; and
//! incidents raise the error ratio (and latency) for a chosen time. The
//! same seed gives byte-identical files.
//!
//! Series come either from SLO sources — every selector the SLIs read is
//! given series that satisfy it, bad events in series that match the
//! numerator, good ones in series that do not — or, without sources, from
//! a generic `http_requests_total{job="api", instance, route, code}`.
//!
//! Sizes are checked before anything is allocated: at most
//! [`MAX_SERIES`] series and [`MAX_SAMPLES`] samples (series × steps);
//! samples are streamed in batches, so memory grows with the series, never
//! with the days.

use crate::error::Error;
use crate::ir::{self, MatchOp, Selector};
use crate::layout::{self, histogram::NativeHistogram, schema::STALE_NAN_BITS, writer::DictBatch};
use datafusion::arrow::datatypes::DataType;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Incident {
    /// Offset from the start of the data.
    pub start_ms: i64,
    pub duration_ms: i64,
    /// Error ratio during the incident (latency also rises).
    pub error_ratio: f64,
    /// Only series with this `job` (or `service`/`cluster`) value, if set.
    pub job: Option<String>,
}

impl Incident {
    /// Parses `OFFSET/DURATION/RATIO[@JOB]`, e.g. `20d/2h/0.05@api`.
    pub fn parse(s: &str) -> Option<Incident> {
        let (spec, job) = match s.split_once('@') {
            Some((a, b)) => (a, Some(b.to_string())),
            None => (s, None),
        };
        let mut it = spec.split('/');
        let start = crate::units::parse_duration(it.next()?)? as i64;
        let dur = crate::units::parse_duration(it.next()?)? as i64;
        let ratio: f64 = it.next()?.trim_end_matches('%').parse().ok()?;
        let ratio = if it.next().is_some() {
            return None;
        } else if spec.ends_with('%') {
            ratio / 100.0
        } else {
            ratio
        };
        (dur > 0 && (0.0..=1.0).contains(&ratio)).then_some(Incident {
            start_ms: start,
            duration_ms: dur,
            error_ratio: ratio,
            job,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub start_ms: i64,
    pub days: f64,
    pub resolution_ms: i64,
    pub seed: u64,
    /// Generic mode: number of series.
    pub series: usize,
    pub incidents: Vec<Incident>,
    /// Requests per second per instance at the daily peak.
    pub peak_rps: f64,
    /// Error ratio outside incidents.
    pub base_error_ratio: f64,
    /// With SLO sources: instances (series per selector).
    pub instances: usize,
}

/// How one series' value evolves.
#[derive(Debug, Clone)]
enum Kind {
    /// Events of the stream: bad ones, good ones, or all of them.
    Counter(Role),
    /// Histogram bucket `le` (count of requests at most this slow).
    Bucket { le: f64 },
    /// Histogram count.
    Count,
    /// A native histogram at this schema (one series; requests in
    /// exponential buckets).
    Native { schema: i32 },
    /// A 0/1 gauge such as `up`.
    Up,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Bad,
    Good,
    Total,
}

#[derive(Debug, Clone)]
struct Spec {
    labels: BTreeMap<String, String>,
    kind: Kind,
    /// Key of the traffic stream the series belongs to (job + instance).
    stream: String,
    /// Median latency in seconds for histograms.
    median_s: f64,
}

/// Per traffic stream, the peak rate (per second, per instance) a
/// throughput timeslice needs: its threshold stays met through the night.
type Needs = BTreeMap<String, f64>;

const GOOD_VALUES: &[&str] = &["200", "ok", "success", "2xx", "other"];
const BAD_VALUES: &[&str] = &["500", "503", "error", "failed", "5xx", "timeout", "true", "1"];

fn matches(op: MatchOp, pat: &str, v: &str) -> bool {
    // As Prometheus matches: Go's dialect, fully anchored.
    let re = || crate::goregex::Matcher::new(pat).ok();
    match op {
        MatchOp::Eq => v == pat,
        MatchOp::Ne => v != pat,
        MatchOp::Re => re().is_some_and(|r| r.is_match(v)),
        MatchOp::NotRe => re().is_some_and(|r| !r.is_match(v)),
    }
}

/// A value satisfying (or, with `negate`, violating) one matcher: the
/// usual status values first, then one made from the pattern itself (so
/// `grpc_code=~"Unknown|Internal"` gets `Unknown`), each checked with the
/// matcher as Prometheus applies it.
fn value_for(m: &ir::Matcher, negate: bool) -> Option<String> {
    if m.op == MatchOp::Eq && !negate {
        return Some(m.value.clone());
    }
    let pool: Vec<&str> = if negate {
        GOOD_VALUES.iter().chain(BAD_VALUES).copied().collect()
    } else {
        BAD_VALUES.iter().chain(GOOD_VALUES).copied().collect()
    };
    if let Some(v) = pool.into_iter().find(|v| matches(m.op, &m.value, v) != negate) {
        return Some(v.to_string());
    }
    let made = match m.op {
        MatchOp::Eq | MatchOp::Ne => vec![format!("{}_other", m.value), "other".into()],
        MatchOp::Re | MatchOp::NotRe => {
            let ex = example(&m.value);
            ex.iter().flat_map(|e| [e.clone(), format!("{e}_other"), format!("other_{e}")]).collect()
        }
    };
    made.into_iter().find(|v| !v.is_empty() && matches(m.op, &m.value, v) != negate)
}

/// A short string the regex `pattern` (Go's dialect) matches in full: the
/// first branch of each alternation, the least repetitions, the first
/// character of each class.
fn example(pattern: &str) -> Option<String> {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn walk(h: &Hir, out: &mut String) -> Option<()> {
        match h.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(l) => out.push_str(std::str::from_utf8(&l.0).ok()?),
            HirKind::Class(Class::Unicode(c)) => out.push(c.ranges().first()?.start()),
            HirKind::Class(Class::Bytes(c)) => out.push(char::from(c.ranges().first()?.start())),
            HirKind::Repetition(r) => {
                for _ in 0..r.min.min(64) {
                    walk(&r.sub, out)?;
                }
            }
            HirKind::Capture(c) => walk(&c.sub, out)?,
            HirKind::Concat(hs) => {
                for h in hs {
                    walk(h, out)?;
                }
            }
            HirKind::Alternation(hs) => walk(hs.first()?, out)?,
        }
        Some(())
    }
    let rust = crate::goregex::parse(pattern).ok()?.to_rust();
    let hir = regex_syntax::ParserBuilder::new().build().parse(&rust).ok()?;
    let mut out = String::new();
    walk(&hir, &mut out)?;
    matches(MatchOp::Re, pattern, &out).then_some(out)
}

fn base_labels(sel: &Selector, extra: Option<(&str, &str)>) -> Option<BTreeMap<String, String>> {
    let mut l = BTreeMap::new();
    l.insert("__name__".to_string(), sel.metric.clone()?);
    for m in &sel.matchers {
        l.insert(m.label.clone(), value_for(m, false)?);
    }
    if let Some((k, v)) = extra {
        l.insert(k.into(), v.into());
    }
    Some(l)
}

/// The value an incident's `@JOB` is compared with: the series' `job`, or
/// its `service` or `cluster` label.
fn job_of(l: &BTreeMap<String, String>) -> String {
    ["job", "service", "cluster"].iter().find_map(|k| l.get(*k)).cloned().unwrap_or_default()
}

fn stream_of(l: &BTreeMap<String, String>) -> String {
    format!("{}/{}", job_of(l), l.get("instance").cloned().unwrap_or_default())
}

const BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The schema of synthetic native histograms: 8 buckets per power of two,
/// about 9% wide (a common client default).
const NATIVE_SCHEMA: i32 = 3;

fn histogram(sel: &Selector, thresholds: &[f64], instance: &str, out: &mut Vec<Spec>) {
    let Some(base) = base_labels(sel, Some(("instance", instance))) else { return };
    let name = base["__name__"].clone();
    let mut les: Vec<f64> = BUCKETS.iter().copied().chain(thresholds.iter().copied()).collect();
    les.sort_by(f64::total_cmp);
    les.dedup();
    les.push(f64::INFINITY);
    let median = thresholds.iter().copied().fold(f64::INFINITY, f64::min).min(1.0) / 4.0;
    for le in les {
        let mut l = base.clone();
        l.insert("__name__".into(), format!("{name}_bucket"));
        l.insert("le".into(), if le.is_infinite() { "+Inf".into() } else { format!("{le}") });
        out.push(Spec { stream: stream_of(&l), labels: l, kind: Kind::Bucket { le }, median_s: median });
    }
    let mut l = base.clone();
    l.insert("__name__".into(), format!("{name}_count"));
    out.push(Spec { stream: stream_of(&l), labels: l, kind: Kind::Count, median_s: median });
}

fn counter_pair(num: &Selector, total: &Selector, num_is_bad: bool, instance: &str, out: &mut Vec<Spec>) {
    let inst = Some(("instance", instance));
    if num.metric == total.metric {
        // Same metric: numerator series match `num`; the others match only `total`.
        let (Some(hit), Some(mut miss)) = (base_labels(num, inst), base_labels(total, inst)) else { return };
        for m in &num.matchers {
            if !total.matchers.contains(m) {
                if let Some(v) = value_for(m, true) {
                    miss.insert(m.label.clone(), v);
                }
            }
        }
        let (hit_role, miss_role) = if num_is_bad { (Role::Bad, Role::Good) } else { (Role::Good, Role::Bad) };
        let stream = stream_of(&hit);
        out.push(Spec { stream: stream.clone(), labels: hit, kind: Kind::Counter(hit_role), median_s: 0.0 });
        out.push(Spec { stream, labels: miss, kind: Kind::Counter(miss_role), median_s: 0.0 });
    } else {
        let (Some(n), Some(t)) = (base_labels(num, inst), base_labels(total, inst)) else { return };
        let stream = stream_of(&t);
        let role = if num_is_bad { Role::Bad } else { Role::Good };
        out.push(Spec { stream: stream.clone(), labels: n, kind: Kind::Counter(role), median_s: 0.0 });
        out.push(Spec { stream, labels: t, kind: Kind::Counter(Role::Total), median_s: 0.0 });
    }
}

/// The series a program's SLIs read, and the peak rates their throughput
/// objectives need.
fn specs_for(program: &ir::Program, instances: usize, needs: &mut Needs) -> Vec<Spec> {
    let mut out = Vec::new();
    for i in 0..instances {
        let inst = format!("{i}");
        for slo in &program.slos {
            match &slo.sli {
                ir::Sli::Events { numerator, total } => match numerator {
                    ir::EventsNumerator::Bad(b) => counter_pair(b, total, true, &inst, &mut out),
                    ir::EventsNumerator::Good(g) => counter_pair(g, total, false, &inst, &mut out),
                },
                ir::Sli::Latency { histogram: h, below_seconds, kind: ir::HistogramKind::Classic } => {
                    histogram(h, &[*below_seconds], &inst, &mut out)
                }
                ir::Sli::Latency { histogram: h, below_seconds, kind: ir::HistogramKind::Native } => {
                    if let Some(l) = base_labels(h, Some(("instance", &inst))) {
                        let median = below_seconds.min(1.0) / 4.0;
                        out.push(Spec {
                            stream: stream_of(&l),
                            labels: l,
                            kind: Kind::Native { schema: NATIVE_SCHEMA },
                            median_s: median,
                        });
                    }
                }
                ir::Sli::Gauge { series } => {
                    if let Some(l) = base_labels(series, Some(("instance", &inst))) {
                        out.push(Spec { stream: stream_of(&l), labels: l, kind: Kind::Up, median_s: 0.0 });
                    }
                }
                ir::Sli::Timeslices { good, .. } => {
                    for c in &good.all {
                        match &c.lhs {
                            ir::SliceQuantity::Rate(s) | ir::SliceQuantity::Increase(s) => {
                                if let Some(l) = base_labels(s, Some(("instance", &inst))) {
                                    if matches!(c.lhs, ir::SliceQuantity::Rate(_))
                                        && matches!(c.op, ir::CmpOp::Ge | ir::CmpOp::Gt)
                                    {
                                        // The trough of the daily cycle is 10% of the peak.
                                        let need = c.rhs * 13.0 / instances as f64;
                                        let e = needs.entry(stream_of(&l)).or_insert(0.0);
                                        *e = e.max(need);
                                    }
                                    out.push(Spec {
                                        stream: stream_of(&l),
                                        labels: l,
                                        kind: Kind::Counter(Role::Total),
                                        median_s: 0.0,
                                    });
                                }
                            }
                            ir::SliceQuantity::Ratio { numerator, denominator } => {
                                counter_pair(numerator, denominator, true, &inst, &mut out)
                            }
                            ir::SliceQuantity::Quantile { histogram: h, .. } => histogram(h, &[c.rhs], &inst, &mut out),
                            ir::SliceQuantity::Avg(s) | ir::SliceQuantity::Min(s) | ir::SliceQuantity::Max(s) => {
                                if let Some(l) = base_labels(s, Some(("instance", &inst))) {
                                    out.push(Spec { stream: stream_of(&l), labels: l, kind: Kind::Up, median_s: 0.0 });
                                }
                            }
                        }
                    }
                }
                ir::Sli::Composite { .. } => {}
            }
        }
    }
    // One series per label set; a total written as good+bad pair stays a pair.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|s| seen.insert(s.labels.clone()));
    out
}

fn generic_specs(series: usize) -> Vec<Spec> {
    let routes = ["/quote", "/lead", "/search", "/checkout", "/profile"];
    let pairs = series.div_ceil(2).max(1);
    let mut out = Vec::new();
    for p in 0..pairs {
        let route = routes[p % routes.len()];
        let instance = format!("api-{}", p / routes.len());
        for (code, role) in [("200", Role::Good), ("500", Role::Bad)] {
            if out.len() == series.max(1) {
                break;
            }
            let mut l = BTreeMap::new();
            l.insert("__name__".to_string(), "http_requests_total".to_string());
            l.insert("job".into(), "api".into());
            l.insert("instance".into(), instance.clone());
            l.insert("route".into(), route.into());
            l.insert("code".into(), code.into());
            out.push(Spec {
                stream: format!("api/{instance}/{route}"),
                labels: l,
                kind: Kind::Counter(role),
                median_s: 0.0,
            });
        }
    }
    out
}

fn hash(s: &str) -> u64 {
    // FNV-1a: stable across runs and platforms (std's hasher is not).
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Series written at most (each costs its label set in memory).
pub(crate) const MAX_SERIES: u64 = 1_000_000;
/// Samples written at most (series × steps): about 10 GB of Parquet.
pub(crate) const MAX_SAMPLES: u64 = 2_000_000_000;

/// Checks the dataset's size before anything is allocated: `series` and
/// `steps` as the options ask (the product in u128, it cannot overflow).
fn check_size(series: u64, steps: u64) -> Result<(), Error> {
    if series > MAX_SERIES {
        return Err(Error::coded(
            "slo::synth::too_large",
            format!("{series} series is more than synth writes ({MAX_SERIES})"),
            "lower --series or --instances (with SLO sources, each instance repeats every selector's series)",
        ));
    }
    if series as u128 * steps as u128 > MAX_SAMPLES as u128 {
        return Err(Error::coded(
            "slo::synth::too_large",
            format!("{series} series × {steps} steps is more samples than synth writes ({MAX_SAMPLES})"),
            "lower --series, --days or --instances, or raise --resolution",
        ));
    }
    Ok(())
}

/// The number of scrape steps in the options' span.
fn steps(opts: &Options) -> u64 {
    let span =
        if opts.days.is_finite() && opts.days > 0.0 { (opts.days * 86_400_000.0).min(i64::MAX as f64) } else { 0.0 };
    (span as i64 / opts.resolution_ms.max(1)).max(1) as u64
}

/// Writes the dataset; returns (series, samples).
pub fn write(program: Option<&ir::Program>, opts: &Options, path: &Path) -> Result<(usize, u64), Error> {
    let mut needs = Needs::new();
    let steps = steps(opts);
    let mut specs = match program {
        Some(p) => {
            // One instance's series, then the size of them all, before building them.
            let one = specs_for(p, 1, &mut Needs::new()).len() as u64;
            check_size(one.saturating_mul(opts.instances.max(1) as u64), steps)?;
            specs_for(p, opts.instances.max(1), &mut needs)
        }
        None => {
            check_size(opts.series.max(1) as u64, steps)?;
            generic_specs(opts.series)
        }
    };
    check_size(specs.len() as u64, steps)?;
    if let Some(p) = program {
        let unsatisfied: BTreeSet<String> = p
            .slos
            .iter()
            .flat_map(|slo| slo.sli.selectors())
            .filter(|sel| base_labels(sel, None).is_none())
            .map(|sel| crate::promql::expr::selector(sel, &[]))
            .collect();
        if !unsatisfied.is_empty() {
            return Err(Error::coded(
                "slo::synth::unsatisfiable",
                format!(
                    "synthetic data cannot satisfy {}",
                    unsatisfied.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                ),
                "every matcher needs a value synth can find (a literal, or a regex with a matching example); \
                 give such selectors a metric name and matchers a series could have",
            ));
        }
    }
    if specs.is_empty() {
        return Err(Error::new("the SLOs read no metric selectors that synthetic data could satisfy"));
    }
    // An incident aimed at a job no series has would change nothing.
    let jobs: BTreeSet<String> = specs.iter().map(|s| job_of(&s.labels)).collect();
    for i in &opts.incidents {
        if let Some(j) = i.job.as_ref().filter(|j| !jobs.contains(*j)) {
            return Err(Error::coded(
                "slo::synth::incident_target",
                format!(
                    "--incident …@{j}: no series has job (or service, cluster) `{j}`; the series' are: {}",
                    jobs.iter().map(|j| format!("`{j}`")).collect::<Vec<_>>().join(", ")
                ),
                "aim the incident at one of those values, or drop @JOB to hit every series",
            ));
        }
    }
    write_specs(&mut specs, &needs, steps, opts, path)
}

fn write_specs(
    specs: &mut [Spec],
    needs: &Needs,
    steps: u64,
    opts: &Options,
    path: &Path,
) -> Result<(usize, u64), Error> {
    specs.sort_by(|a, b| a.labels.cmp(&b.labels));
    let label_names: Vec<String> = {
        let mut s: std::collections::BTreeSet<String> = specs.iter().flat_map(|s| s.labels.keys().cloned()).collect();
        s.remove("__name__");
        s.into_iter().collect()
    };
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let with_histograms = specs.iter().any(|s| matches!(s.kind, Kind::Native { .. }));
    let schema = layout::schema::schema(&label_names, dict, true, with_histograms);
    let props = layout::schema::properties(6)?.set_max_row_group_row_count(Some(1 << 20)).build();
    let mut w = layout::writer::AtomicParquet::create(path, schema.clone(), props)?;
    let dt = opts.resolution_ms as f64 / 1000.0;
    let day = 86_400_000.0;
    let mut total = 0u64;
    let mut batch = DictBatch::new(label_names.len(), with_histograms);
    for spec in specs.iter() {
        // Randomness per traffic stream (shared by its series), then per series.
        let mut stream_rng = rand_pcg::Pcg64::seed_from_u64(opts.seed ^ hash(&spec.stream));
        let mut lat_rng = rand_pcg::Pcg64::seed_from_u64(opts.seed ^ hash(&spec.stream) ^ 0x5a5a);
        let mut rng = rand_pcg::Pcg64::seed_from_u64(opts.seed ^ hash(&format!("{:?}", spec.labels)));
        let phase = (hash(&spec.stream) % 1000) as f64 / 1000.0 * 0.2;
        let job = job_of(&spec.labels);
        let mut value = 0.0f64;
        let mut native = match spec.kind {
            Kind::Native { schema } => Some(NativeHistogram::empty(schema)),
            Kind::Counter(_) | Kind::Bucket { .. } | Kind::Count | Kind::Up => None,
        };
        // Restarts: about one per instance every four days, at stream-shared times.
        let restart_p = dt / (4.0 * 86_400.0);
        let gap_p = dt / (2.0 * 86_400.0);
        let mut gap_left = 0usize;
        let lat = LogNormal::new(spec.median_s.max(1e-3).ln(), 0.6).map_err(|e| Error::new(e.to_string()))?;
        for k in 0..steps as usize {
            let t = opts.start_ms + k as i64 * opts.resolution_ms;
            let off = t - opts.start_ms;
            let diurnal = 0.55 + 0.45 * (2.0 * std::f64::consts::PI * ((off as f64 / day) + phase)).sin();
            let peak = needs.get(&spec.stream).copied().unwrap_or(0.0).max(opts.peak_rps);
            let rps = peak * diurnal * (0.9 + 0.2 * stream_rng.random::<f64>());
            let incident = opts.incidents.iter().find(|i| {
                off >= i.start_ms && off < i.start_ms + i.duration_ms && i.job.as_ref().is_none_or(|j| *j == job)
            });
            let err = incident.map_or(opts.base_error_ratio, |i| i.error_ratio);
            let restart = stream_rng.random::<f64>() < restart_p;
            let gap_start = stream_rng.random::<f64>() < gap_p;
            // Every series of a stream draws the same events: totals add up.
            let n = Poisson::new((rps * dt).max(1e-9)).map(|p| p.sample(&mut stream_rng)).unwrap_or(0.0);
            let bad = Poisson::new((n * err).max(1e-9)).map(|p| p.sample(&mut stream_rng)).unwrap_or(0.0).min(n);
            let inc = match &spec.kind {
                Kind::Counter(Role::Bad) => bad,
                Kind::Counter(Role::Good) => n - bad,
                Kind::Counter(Role::Total) => n,
                Kind::Bucket { le } => {
                    // Share of requests at most `le` seconds; slower during incidents.
                    let slow = if incident.is_some() { 4.0 } else { 1.0 };
                    let mut fast = 0.0;
                    let draws = (n as usize).min(64);
                    for _ in 0..draws {
                        if lat.sample(&mut lat_rng) * slow <= *le {
                            fast += 1.0;
                        }
                    }
                    if draws == 0 {
                        0.0
                    } else {
                        (n * fast / draws as f64).round()
                    }
                }
                Kind::Count => {
                    // Keep the latency stream in step with the buckets' draws.
                    for _ in 0..(n as usize).min(64) {
                        let _: f64 = lat.sample(&mut lat_rng);
                    }
                    n
                }
                Kind::Native { schema } => {
                    if restart {
                        native = Some(NativeHistogram::empty(*schema));
                    }
                    // At most 64 latencies drawn, weighted to add up to n
                    // exactly (integer counts, as a client exposes them).
                    let slow = if incident.is_some() { 4.0 } else { 1.0 };
                    let draws = (n as u64).min(64);
                    if let Some(h) = &mut native {
                        for i in 0..draws {
                            let w = (n as u64 * (i + 1) / draws - n as u64 * i / draws) as f64;
                            h.observe(lat.sample(&mut lat_rng) * slow, w);
                        }
                    }
                    0.0
                }
                Kind::Up => {
                    value = if incident.is_some_and(|i| rng.random::<f64>() < i.error_ratio) { 0.0 } else { 1.0 };
                    0.0
                }
            };
            if !matches!(spec.kind, Kind::Up | Kind::Native { .. }) {
                if restart {
                    value = 0.0;
                }
                value += inc;
            }
            if gap_left > 0 {
                gap_left -= 1;
                continue;
            }
            if gap_start {
                // A failed scrape: Prometheus writes a staleness marker, then nothing.
                batch.push(t, &spec.labels, &label_names, f64::from_bits(STALE_NAN_BITS), true);
                gap_left = 1 + (stream_rng.random::<f64>() * 8.0) as usize;
                total += 1;
                continue;
            }
            match &native {
                Some(h) => batch.push_histogram(t, &spec.labels, &label_names, h)?,
                None => batch.push(t, &spec.labels, &label_names, value, false),
            }
            total += 1;
            if batch.len >= 1 << 16 {
                w.write(&batch.finish(&schema)?)?;
            }
        }
    }
    if batch.len > 0 {
        w.write(&batch.finish(&schema)?)?;
    }
    w.finish(path)?;
    Ok((specs.len(), total))
}
