//! Turns a replay into decisions: incidents (from a file, or derived from
//! the budget the data consumed), alert quality against them, what-if
//! sweeps over objectives and alert presets, and a compliance report per
//! calendar month or week. docs/semantics.md §7 has the maths.
//!
//! Everything here reads the series the compiled rules recorded — the
//! per-bucket events (`slo:sli_events_{bad,total}:increase<Δ>`), the window
//! error ratios (`slo:sli_error:ratio_rate<W>`) and the period error ratio —
//! so a sweep costs no second pass over the data: the error ratios do not
//! depend on the objective, and an alert tier is a comparison of two of
//! them against `factor × (1 − objective)`, replayed here with the same
//! pending / `for` / `keep_firing_for` state machine as the rule engine.

use super::alert::Instance;
use super::eval::RecSeries;
use super::range::Grid;
use super::Backtest;
use crate::ir;
use crate::promql::model::{AlertSpec, Events, Series};
use crate::units::{fmt_ts, Duration};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Alerts with one of these severities are pages; all others are tickets.
pub(crate) fn is_page(severity: &str) -> bool {
    matches!(severity, "page" | "critical")
}

/// Two runs of burning buckets closer than this are one incident.
pub(crate) const MERGE_GAP_MS: i64 = 15 * 60_000;
const WEEK_MS: f64 = 7.0 * 86_400_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodUnit {
    Week,
    Month,
}

/// An alert preset to sweep: a named alert policy instantiated per SLO
/// (index-aligned with `Program::slos`); `None` means each SLO's own alerts.
#[derive(Debug, Clone)]
pub struct Preset {
    pub name: String,
    pub alerts: Option<Vec<Vec<ir::Alert>>>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Incidents from `--incidents`; when `None`, derived from the data.
    pub incidents: Option<(String, Vec<Incident>)>,
    /// Derived incidents: the least share of the window's budget a period
    /// must consume to count.
    pub incident_share: f64,
    /// Sweep objectives (empty: the SLO's own only).
    pub objectives: Vec<f64>,
    /// Sweep presets (empty: the SLO's own alerts only).
    pub presets: Vec<Preset>,
    /// A recommended objective keeps at least this share of its budget at
    /// every evaluation with a full window of data.
    pub margin: f64,
    pub period: PeriodUnit,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            incidents: None,
            incident_share: 0.02,
            objectives: Vec::new(),
            presets: Vec::new(),
            margin: 0.25,
            period: PeriodUnit::Month,
        }
    }
}

impl Settings {
    pub(crate) fn sweeping(&self) -> bool {
        !self.objectives.is_empty() || !self.presets.is_empty()
    }
}

/// An incident: a span of time, optionally tied to a service, an SLO and
/// (derived incidents) a group of a grouped SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub start_ms: i64,
    pub end_ms: i64,
    pub title: String,
    pub service: Option<String>,
    pub slo: Option<String>,
    /// The group of a grouped SLO it was derived for (empty: every group).
    pub labels: BTreeMap<String, String>,
    pub derived: bool,
}

/// A time as YAML or CSV gives it: RFC 3339 text or unix seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TimeText {
    Text(String),
    Int(i64),
    Float(f64),
}

impl TimeText {
    fn text(&self) -> String {
        match self {
            TimeText::Text(s) => s.clone(),
            TimeText::Int(i) => i.to_string(),
            TimeText::Float(f) => f.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentRow {
    start: TimeText,
    end: TimeText,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    slo: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IncidentDoc {
    List(Vec<IncidentRow>),
    Wrapped { incidents: Vec<IncidentRow> },
}

/// Reads an incidents file: CSV with a header (`start,end,service,slo,title`;
/// only start and end are required) or YAML (a list of such maps, or a map
/// with an `incidents` list). Times are RFC 3339 or unix seconds. The file
/// is read like every input ([`crate::input::read`]: a regular file within
/// the size cap) and YAML passes [`crate::yamlin`]'s limits.
pub fn load_incidents(path: &Path, program: &ir::Program) -> Result<Vec<Incident>, crate::error::Error> {
    use crate::error::Error;
    let shown = path.display();
    let bytes = crate::input::read_named("--incidents: ", path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::new(format!(
            "--incidents: {shown} is not UTF-8 (first invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let rows: Vec<IncidentRow> = if is_csv {
        let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for (i, rec) in r.deserialize::<IncidentRow>().enumerate() {
            rows.push(rec.map_err(|e| Error::new(format!("--incidents: {shown}, record {}: {e}", i + 1)))?);
        }
        rows
    } else {
        match crate::yamlin::from_str::<IncidentDoc>(&text) {
            Ok(IncidentDoc::List(v) | IncidentDoc::Wrapped { incidents: v }) => v,
            Err(crate::yamlin::Error::Refused(r)) => {
                return Err(Error::coded(r.code, format!("--incidents: {shown}: {r}"), r.help));
            }
            Err(crate::yamlin::Error::Yaml(e)) => {
                return Err(Error::new(format!(
                    "--incidents: {shown} is not a list of incidents (start, end, service, slo, title): {e}"
                )))
            }
        }
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
        let n = i + 1;
        let (start, end) = (r.start.text(), r.end.text());
        let (Some(start_ms), Some(end_ms)) = (crate::units::parse_time(&start), crate::units::parse_time(&end)) else {
            errors.push(format!("incident {n}: start and end must be RFC 3339 or unix seconds"));
            continue;
        };
        if end_ms <= start_ms {
            errors.push(format!("incident {n}: ends ({end}) before it starts ({start})"));
            continue;
        }
        let blank = |s: Option<String>| s.filter(|s| !s.is_empty());
        let (service, slo) = (blank(r.service.clone()), blank(r.slo.clone()));
        if let Some(unknown) = unknown_target(program, service.as_deref(), slo.as_deref()) {
            errors.push(format!("incident {n}: {unknown}"));
            continue;
        }
        out.push(Incident {
            start_ms,
            end_ms,
            title: blank(r.title).unwrap_or_else(|| format!("incident {n}")),
            service,
            slo,
            labels: BTreeMap::new(),
            derived: false,
        });
    }
    if !errors.is_empty() {
        return Err(Error::coded(
            "slo::backtest::incidents",
            format!("--incidents: {shown}: {}", errors.join("; ")),
            "each row needs an RFC 3339 or unix-second start before its end, and a service/slo the checked sources declare",
        ));
    }
    out.sort_by_key(|i| (i.start_ms, i.end_ms));
    Ok(out)
}

/// Why an incident's `service`/`slo` names nothing in the program, if they
/// don't: such an incident would silently match no SLO. A service that is
/// not ours applies to none of our SLOs and is fine, unless it is within
/// two edits of one of ours (a typo); an SLO name must always exist.
fn unknown_target(program: &ir::Program, service: Option<&str>, slo: Option<&str>) -> Option<String> {
    if let Some(sv) = service {
        if !program.services.iter().any(|s| s.name == sv) {
            // A shared incident log names other teams' services: those rows
            // simply do not apply. A name within two edits of one of ours
            // is a typo, and an error.
            let near = program.services.iter().find(|s| strsim::damerau_levenshtein(&s.name, sv) <= 2)?;
            return Some(format!("no service `{sv}` in the checked sources (did you mean `{}`?)", near.name));
        }
    }
    let slo = slo?;
    let candidates: Vec<String> = program
        .slos
        .iter()
        .filter(|s| service.is_none_or(|sv| s.service == sv))
        .map(|s| format!("{}.{}", s.service, s.name))
        .take(12)
        .collect();
    if program.slos.iter().any(|s| s.name == slo && service.is_none_or(|sv| s.service == sv)) {
        return None;
    }
    Some(match service {
        Some(sv) => format!("service `{sv}` has no SLO `{slo}` (its SLOs: {})", candidates.join(", ")),
        None => format!("no SLO `{slo}` in the checked sources (SLOs: {})", candidates.join(", ")),
    })
}

/// The recorded series of one group of one SLO.
pub(crate) struct Signals<'a> {
    pub labels: BTreeMap<String, String>,
    /// (bucket end, bad, valid) per bucket, in time order.
    pub buckets: Vec<(i64, f64, f64)>,
    /// Whether `buckets` count events. A composite has no events: its
    /// buckets are its error ratio over disjoint windows of its shortest
    /// recorded ratio (bad = the ratio, valid = 1 per bucket), so its
    /// incidents and compliance weigh time, as its SLI does.
    pub events: bool,
    pub bucket_ms: i64,
    /// Error ratio per window.
    pub ratios: BTreeMap<Duration, &'a RecSeries>,
    pub period: Option<&'a RecSeries>,
}

impl Signals<'_> {
    /// (Σbad, Σvalid) of the buckets of the period [p, next): a bucket
    /// belongs to the period of its last millisecond, as in the compiled
    /// calendar rules.
    fn sums(&self, p: i64, next: i64) -> (f64, f64) {
        let (mut bad, mut valid) = (0.0, 0.0);
        for &(t, b, v) in &self.buckets {
            let last = t - 1;
            if last >= p && last < next && b.is_finite() && v.is_finite() {
                bad += b;
                valid += v;
            }
        }
        (bad, valid)
    }
}

pub fn label<'a>(s: &'a RecSeries, k: &str) -> Option<&'a str> {
    s.labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Labels identifying a group of a grouped SLO.
pub(crate) fn group_key(labels: &[(String, String)], slo: &ir::Slo) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| k != "__name__" && k != "service" && k != "slo" && slo.labels.get(k).is_none())
        .filter(|(k, _)| slo.group_by.iter().any(|g| g == k))
        .cloned()
        .collect()
}

/// The series of every group of `slo`, by group labels.
pub(crate) fn signals<'a>(bt: &'a Backtest, slo: &ir::Slo) -> BTreeMap<BTreeMap<String, String>, Signals<'a>> {
    let mut out: BTreeMap<BTreeMap<String, String>, Signals<'a>> = BTreeMap::new();
    let mut bad: BTreeMap<BTreeMap<String, String>, &RecSeries> = BTreeMap::new();
    let mut total: BTreeMap<BTreeMap<String, String>, &RecSeries> = BTreeMap::new();
    let mut bucket_ms = 0;
    for s in bt.slo_series(&slo.service, &slo.name) {
        let key = group_key(&s.labels, slo);
        // Only the series that carry a group's figures make a group: the
        // constant ones (`slo:objective:ratio`, `slo:info`, …) carry no group labels.
        let entry = |out: &mut BTreeMap<BTreeMap<String, String>, Signals<'a>>| {
            out.entry(key.clone()).or_insert_with(|| Signals {
                labels: key.clone(),
                buckets: Vec::new(),
                events: true,
                bucket_ms: 0,
                ratios: BTreeMap::new(),
                period: None,
            });
        };
        match s.series {
            Series::ErrorRatio { window } => {
                entry(&mut out);
                out.get_mut(&key).expect("just made").ratios.insert(window, s);
            }
            Series::PeriodErrorRatio => {
                entry(&mut out);
                out.get_mut(&key).expect("just made").period = Some(s);
            }
            Series::Bucket { events, bucket } => {
                entry(&mut out);
                match events {
                    Events::Bad => bad.insert(key, s),
                    Events::Total => total.insert(key, s),
                };
                bucket_ms = bucket.ms();
            }
            _ => {}
        }
    }
    for (key, sig) in out.iter_mut() {
        if let (Some(b), Some(t)) = (bad.get(key), total.get(key)) {
            sig.bucket_ms = bucket_ms as i64;
            let mut bad = b.ts.iter().zip(&b.v).peekable();
            for (ts, tv) in t.ts.iter().zip(&t.v) {
                while bad.next_if(|(bt, _)| *bt < ts).is_some() {}
                let bv = match bad.peek() {
                    Some((bt, bv)) if *bt == ts => **bv,
                    _ => 0.0,
                };
                sig.buckets.push((ts, bv, *tv));
            }
        } else if let (ir::Sli::Composite { .. }, Some((&w, s))) = (&slo.sli, sig.ratios.iter().next()) {
            // Disjoint windows of the shortest ratio, ending on its multiples.
            let w = w.ms() as i64;
            sig.events = false;
            sig.bucket_ms = w;
            sig.buckets =
                s.ts.iter()
                    .zip(&s.v)
                    .filter(|(t, v)| w > 0 && *t % w == 0 && v.is_finite())
                    .map(|(t, v)| (t, *v, 1.0))
                    .collect();
        }
    }
    out
}

/// Share of the window's budget each bucket consumed: its bad events over
/// the window's budget in events, B × the valid events a window holds at
/// the data's mean traffic per bucket. (With even traffic this is the
/// bucket's burn rate times its share of the window; a quiet bucket with
/// one failure out of one consumes one event's worth, not a full burn.)
fn bucket_shares(sig: &Signals, budget: f64, window_ms: f64) -> Vec<(i64, f64)> {
    let (mut sum, mut n) = (0.0, 0usize);
    for &(_, _, valid) in &sig.buckets {
        if valid.is_finite() && valid > 0.0 {
            sum += valid;
            n += 1;
        }
    }
    let per_window = if n > 0 && sig.bucket_ms > 0 { sum / n as f64 * window_ms / sig.bucket_ms as f64 } else { 0.0 };
    sig.buckets
        .iter()
        .map(|&(t, bad, _)| {
            let share = if per_window > 0.0 && bad.is_finite() { bad.max(0.0) / (budget * per_window) } else { 0.0 };
            (t, share)
        })
        .collect()
}

/// [`bucket_shares`] of every group.
fn group_shares(
    sigs: &BTreeMap<BTreeMap<String, String>, Signals>,
    budget: f64,
    window_ms: f64,
) -> BTreeMap<BTreeMap<String, String>, Vec<(i64, f64)>> {
    sigs.iter().map(|(k, s)| (k.clone(), bucket_shares(s, budget, window_ms))).collect()
}

/// Per bucket: burning faster than the budget accrues (error ratio > B).
fn burning(sig: &Signals, budget: f64) -> Vec<bool> {
    sig.buckets.iter().map(|&(_, bad, valid)| valid > 0.0 && bad.is_finite() && bad / valid > budget).collect()
}

/// Budget share consumed by the buckets ending in (a, b].
fn consumed(shares: &[(i64, f64)], a: i64, b: i64) -> f64 {
    let lo = shares.partition_point(|(t, _)| *t <= a);
    let hi = shares.partition_point(|(t, _)| *t <= b);
    shares[lo..hi].iter().map(|(_, s)| s).sum()
}

/// Incidents derived from the data: maximal runs of buckets burning the
/// budget faster than it accrues (burn rate > 1), runs closer than
/// [`MERGE_GAP_MS`] merged, that consumed at least `min_share` of the
/// window's budget.
pub(crate) fn derive_incidents(sig: &Signals, slo: &ir::Slo, budget: f64, min_share: f64) -> Vec<Incident> {
    let window_ms = slo.window.nominal().ms() as f64;
    let shares = bucket_shares(sig, budget, window_ms);
    let hot = burning(sig, budget);
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for (&(t, _), &h) in shares.iter().zip(&hot) {
        if !h {
            continue;
        }
        match runs.last_mut() {
            Some(r) if t - sig.bucket_ms - r.1 <= MERGE_GAP_MS => r.1 = t,
            _ => runs.push((t - sig.bucket_ms, t)),
        }
    }
    runs.into_iter()
        .filter_map(|(a, b)| {
            let share = consumed(&shares, a, b);
            (share >= min_share).then(|| Incident {
                start_ms: a,
                end_ms: b,
                title: format!("consumed {} of the budget", crate::units::fmt_pct(share)),
                service: Some(slo.service.clone()),
                slo: Some(slo.name.clone()),
                labels: sig.labels.clone(),
                derived: true,
            })
        })
        .collect()
}

/// Maximal runs of evaluations (start, exclusive end) in `ts` (sorted, on
/// the grid): consecutive timestamps one step apart form one interval.
pub fn intervals(ts: &[i64], step: i64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &t in ts {
        match out.last_mut() {
            Some(r) if r.1 == t => r.1 = t + step,
            _ => out.push((t, t + step)),
        }
    }
    out
}

/// Replays one alert over per-step conditions with the rule engine's state
/// machine: pending from the first true evaluation, firing once it has
/// held `for_ms`, kept firing `keep_ms` after the condition clears.
/// Returns firing intervals (exclusive ends).
pub fn fire(len: usize, g: Grid, for_ms: i64, keep_ms: i64, cond: impl Fn(usize) -> bool) -> Vec<(i64, i64)> {
    let mut active: Option<Instance> = None;
    let mut ts = Vec::new();
    for k in 0..len {
        let t = g.at(k);
        let returned = cond(k);
        if returned && active.is_none() {
            active = Some(Instance::new(t));
        }
        if let Some(a) = &mut active {
            if !a.step(t, returned, for_ms, keep_ms) {
                active = None;
            }
        }
        if active.as_ref().is_some_and(Instance::firing) {
            ts.push(t);
        }
    }
    intervals(&ts, g.step)
}

/// Values of a recorded series on the grid (NaN where it has no sample).
pub fn dense(s: &RecSeries, g: Grid) -> Vec<f64> {
    let mut out = vec![f64::NAN; g.len];
    for (t, v) in s.ts.iter().zip(&s.v) {
        let k = (t - g.from) / g.step;
        if (t - g.from) % g.step == 0 && (0..g.len as i64).contains(&k) {
            out[k as usize] = *v;
        }
    }
    out
}

/// A figure summarised over incidents: median (nearest rank), p90, max.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

pub(crate) fn spread(mut xs: Vec<f64>) -> Option<Spread> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let rank = |p: f64| xs[((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1];
    Some(Spread { median: rank(0.5), p90: rank(0.9), max: *xs.last().expect("non-empty") })
}

/// One alert's firings, with the group they fired for.
#[derive(Debug, Clone)]
pub struct Firing {
    pub labels: BTreeMap<String, String>,
    pub start: i64,
    /// Exclusive end; past the range's end when still firing.
    pub end: i64,
}

/// Alert quality of a set of firings against incidents.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Quality {
    pub fired: usize,
    pub per_week: f64,
    pub firing_seconds: f64,
    /// Firings that overlapped an incident (or the `grace` after it).
    pub true_alerts: usize,
    /// true_alerts / fired.
    pub precision: Option<f64>,
    pub incidents: usize,
    pub detected: usize,
    /// detected / incidents.
    pub recall: Option<f64>,
    /// Incident start → first matching firing, in seconds.
    pub detection_seconds: Option<Spread>,
    /// Incident end → matching alerts resolved, in seconds (incidents whose
    /// alert still fired at the end of the range are left out).
    pub reset_seconds: Option<Spread>,
    /// Share of the window's budget consumed between incident start and detection.
    pub budget_before_detection: Option<Spread>,
}

fn applies(i: &Incident, labels: &BTreeMap<String, String>) -> bool {
    i.labels.is_empty() || i.labels == *labels
}

/// A firing matches an incident of its group when it overlaps
/// [start, end + grace).
fn matches(f: &Firing, i: &Incident, grace_ms: i64) -> bool {
    applies(i, &f.labels) && f.start < i.end_ms + grace_ms && f.end > i.start_ms
}

/// Precision, recall, detection and reset of `firings` against
/// `incidents`. A firing matches an incident when it overlaps
/// [start, end + grace): a burn-rate alert still sees an incident for its
/// long window after it ends. `shares` gives the budget consumed per group.
pub fn quality(
    firings: &[Firing],
    incidents: &[Incident],
    grace_ms: i64,
    weeks: f64,
    shares: &BTreeMap<BTreeMap<String, String>, Vec<(i64, f64)>>,
    range_end: i64,
) -> Quality {
    let matches =
        |f: &Firing, i: &Incident| applies(i, &f.labels) && f.start < i.end_ms + grace_ms && f.end > i.start_ms;
    let true_alerts = firings.iter().filter(|f| incidents.iter().any(|i| matches(f, i))).count();
    let (mut det, mut reset, mut before) = (Vec::new(), Vec::new(), Vec::new());
    let mut detected = 0;
    for i in incidents {
        let hits: Vec<&Firing> = firings.iter().filter(|f| matches(f, i)).collect();
        let Some(first) = hits.iter().min_by_key(|f| f.start) else { continue };
        detected += 1;
        let at = first.start.max(i.start_ms);
        det.push((at - i.start_ms) as f64 / 1000.0);
        if let Some(s) = shares.get(&first.labels) {
            before.push(consumed(s, i.start_ms, at));
        }
        // Reset: the firings under way before the incident ended (a later
        // firing within the grace may belong to a later incident).
        let last_end = hits.iter().filter(|f| f.start < i.end_ms).map(|f| f.end).max();
        if let Some(last_end) = last_end.filter(|e| *e <= range_end) {
            reset.push((last_end - i.end_ms).max(0) as f64 / 1000.0);
        }
    }
    let fired = firings.len();
    Quality {
        fired,
        per_week: if weeks > 0.0 { fired as f64 / weeks } else { 0.0 },
        firing_seconds: firings.iter().fold(0.0, |s, f| s + (f.end - f.start) as f64 / 1000.0),
        true_alerts,
        precision: (fired > 0).then(|| true_alerts as f64 / fired as f64),
        incidents: incidents.len(),
        detected,
        recall: (!incidents.is_empty()).then(|| detected as f64 / incidents.len() as f64),
        detection_seconds: spread(det),
        reset_seconds: spread(reset),
        budget_before_detection: spread(before),
    }
}

/// The key of `alerts[i]` in [`SweepRow::fired`]: its name, or where alerts
/// share a name (as imported Sloth alerts do), the name with its severity
/// and labels, which tell them apart.
fn fired_key(alerts: &[ir::Alert], i: usize) -> String {
    let a = &alerts[i];
    if alerts.iter().filter(|b| b.name == a.name).count() < 2 {
        return a.name.clone();
    }
    let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{}{{severity={:?}, {}}}", a.name, a.severity, labels.join(", "))
}

/// How long after an incident an alert may still see it: its longest window.
pub(crate) fn grace_ms(a: &ir::Alert) -> i64 {
    a.long_window().map_or(0, |w| w.ms() as i64)
}

/// Replays `alert` natively for one group at `objective` from the recorded
/// error ratios. `Err` names what the native replay cannot evaluate.
pub(crate) fn replay_alert(
    a: &ir::Alert,
    slo: &ir::Slo,
    sig: &Signals,
    dense_cache: &mut BTreeMap<Duration, Vec<f64>>,
    period: &[f64],
    objective: f64,
    g: Grid,
) -> Result<Vec<(i64, i64)>, String> {
    // The numbers as the compiled rules print them (12 significant digits).
    let printed = |x: f64| crate::units::promql_number(x).parse::<f64>().unwrap_or(x);
    let budget = printed(1.0 - objective);
    let mut need = a.windows();
    need.sort();
    need.dedup();
    for w in &need {
        if !dense_cache.contains_key(w) {
            let s = sig.ratios.get(w).ok_or_else(|| format!("no error ratio over {w} was recorded"))?;
            dense_cache.insert(*w, dense(s, g));
        }
    }
    // The low-traffic guard: valid events over the long window, summed from buckets.
    let guard: Option<Vec<bool>> = match a.min_events {
        None => None,
        Some(n) => {
            let w = crate::ir::guard_window(slo, a).ms() as i64;
            if sig.buckets.is_empty() || !sig.events {
                return Err("`min_events` needs the per-bucket event series".into());
            }
            let mut ok = vec![false; g.len];
            let (mut lo, mut hi, mut sum) = (0usize, 0usize, 0.0);
            for (k, slot) in ok.iter_mut().enumerate() {
                let t = g.at(k);
                while hi < sig.buckets.len() && sig.buckets[hi].0 <= t {
                    sum += sig.buckets[hi].2;
                    hi += 1;
                }
                while lo < hi && sig.buckets[lo].0 <= t - w {
                    sum -= sig.buckets[lo].2;
                    lo += 1;
                }
                *slot = sum >= n;
            }
            Some(ok)
        }
    };
    let guard_ok = |k: usize| guard.as_ref().is_none_or(|g| g[k]);
    let for_ms = a.for_.ms() as i64;
    let keep = a.keep_firing_for.ms() as i64;
    match &a.condition {
        ir::AlertCondition::BurnRate { long, short, factor, .. } => {
            let thr = printed(factor * (1.0 - objective));
            let (l, s) = (&dense_cache[long], &dense_cache[short]);
            Ok(fire(g.len, g, for_ms, keep, |k| l[k] > thr && s[k] > thr && guard_ok(k)))
        }
        ir::AlertCondition::Threshold(c) => {
            let mut cols: Vec<(Vec<f64>, ir::CmpOp, f64)> = Vec::new();
            for cmp in &c.all {
                let v: Vec<f64> = match cmp.lhs {
                    ir::SloQuantity::Sli { window } => dense_cache[&window].iter().map(|e| 1.0 - e).collect(),
                    ir::SloQuantity::ErrorRatio { window } => dense_cache[&window].clone(),
                    ir::SloQuantity::BurnRate { window } => dense_cache[&window].iter().map(|e| e / budget).collect(),
                    ir::SloQuantity::BudgetRemaining => period.iter().map(|e| 1.0 - e / budget).collect(),
                    ir::SloQuantity::BudgetConsumed => period.iter().map(|e| e / budget).collect(),
                    ir::SloQuantity::IncidentShare => {
                        return Err("conditions on the current incident's share are not replayed in sweeps".into())
                    }
                };
                cols.push((v, cmp.op, cmp.rhs));
            }
            Ok(fire(g.len, g, for_ms, keep, |k| {
                guard_ok(k) && cols.iter().all(|(v, op, rhs)| v[k].is_finite() && op.holds(v[k], *rhs))
            }))
        }
    }
}

// ---------------------------------------------------------------------
// Report sections

#[derive(Debug, Serialize, Clone)]
pub struct IncidentReport {
    pub start: String,
    pub end: String,
    pub duration_seconds: f64,
    pub title: String,
    /// `file` or `derived`.
    pub source: &'static str,
    pub labels: BTreeMap<String, String>,
    /// Share of the window's budget the SLO consumed during it.
    pub budget_spent: Option<f64>,
    /// The first alert that matched it, and after how long.
    pub detected_by: Option<String>,
    pub detection_seconds: Option<f64>,
}

#[derive(Debug, Serialize, Clone)]
pub struct AlertQuality {
    pub policy: String,
    /// The tier (alert name), or `*` for all the policy's tiers together.
    pub alert: String,
    pub severity: String,
    #[serde(flatten)]
    pub quality: Quality,
}

#[derive(Debug, Serialize, Clone)]
pub struct SweepRow {
    pub objective: f64,
    /// The alert preset (`own`: the SLO's own alerts).
    pub alerts: String,
    pub labels: BTreeMap<String, String>,
    pub sli: Option<f64>,
    pub met: Option<bool>,
    /// Share of the evaluations with a full window behind them at which
    /// the SLI met the objective.
    pub attainment: Option<f64>,
    pub budget_remaining: Option<f64>,
    pub budget_remaining_min: Option<f64>,
    pub pages_per_week: f64,
    pub tickets_per_week: f64,
    pub incidents: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub detection_median_seconds: Option<f64>,
    /// Per alert of the preset: firings and seconds firing, by alert
    /// name (with its severity and labels when another alert has the name).
    pub fired: BTreeMap<String, Fired>,
    /// Alerts of the preset the native replay could not evaluate.
    pub skipped: Vec<String>,
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Fired {
    pub count: usize,
    pub seconds: f64,
}

#[derive(Debug, Serialize, Clone)]
pub struct Recommendation {
    /// The highest swept objective that held with the margin, if any.
    pub objective: Option<f64>,
    /// At that objective, the preset with the best recall, then precision,
    /// then the fewest pages.
    pub alerts: Option<String>,
    /// Whether the budget figures had a full SLO window of data behind them.
    pub full_window: bool,
    pub reason: String,
}

#[derive(Debug, Serialize, Clone)]
pub struct CompliancePeriod {
    pub period: String,
    pub start: String,
    pub end: String,
    pub labels: BTreeMap<String, String>,
    /// Share of the period the replayed range covers.
    pub coverage: f64,
    /// 1 − bad/valid over the period's buckets.
    pub attainment: Option<f64>,
    pub met: Option<bool>,
    /// bad / (budget × valid): share of the period's budget consumed.
    pub budget_consumed: Option<f64>,
    pub valid_events: f64,
    pub bad_events: f64,
    pub incidents: usize,
    pub pages: usize,
    pub tickets: usize,
}

/// All analysis sections of one SLO.
#[derive(Debug, Default)]
pub(crate) struct SloAnalysis {
    pub incidents: Vec<IncidentReport>,
    pub alert_quality: Vec<AlertQuality>,
    pub sweep: Vec<SweepRow>,
    pub recommendation: Option<Recommendation>,
    pub compliance: Vec<CompliancePeriod>,
}

/// The firings of the SLO's replayed (compiled) alerts, per alert (index
/// into `slo.alerts`), without budget-policy actions.
fn replayed_firings(bt: &Backtest, slo_index: usize, slo: &ir::Slo) -> Vec<Vec<Firing>> {
    let mut out: Vec<Vec<Firing>> = vec![Vec::new(); slo.alerts.len()];
    for run in bt.slo_alerts(slo_index) {
        let AlertSpec::Alert { index } = run.spec else { continue };
        let Some(e) = out.get_mut(index) else { continue };
        for (labels, h) in &run.history {
            let key = group_key(labels, slo);
            for (start, end) in intervals(&h.firing, bt.grid.step) {
                e.push(Firing { labels: key.clone(), start, end });
            }
        }
    }
    out
}

fn weeks(g: Grid) -> f64 {
    g.len as f64 * g.step as f64 / WEEK_MS
}

/// Incidents that apply to `slo` at `objective`.
fn incidents_for(
    settings: &Settings,
    slo: &ir::Slo,
    sigs: &BTreeMap<BTreeMap<String, String>, Signals>,
    objective: f64,
) -> Vec<Incident> {
    match &settings.incidents {
        Some((_, list)) => list
            .iter()
            .filter(|i| {
                i.service.as_ref().is_none_or(|s| *s == slo.service) && i.slo.as_ref().is_none_or(|s| *s == slo.name)
            })
            .cloned()
            .collect(),
        None => {
            let mut v: Vec<Incident> = sigs
                .values()
                .flat_map(|s| derive_incidents(s, slo, 1.0 - objective, settings.incident_share))
                .collect();
            v.sort_by_key(|i| (i.start_ms, i.end_ms));
            v
        }
    }
}

pub(crate) fn analyse(bt: &Backtest, slo_index: usize, program: &ir::Program, settings: &Settings) -> SloAnalysis {
    let slo = &program.slos[slo_index];
    let g = bt.group_grids[slo_index];
    let sigs = signals(bt, slo);
    let window_ms = slo.window.nominal().ms() as f64;
    let budget = slo.budget();
    let shares = group_shares(&sigs, budget, window_ms);
    let incidents = incidents_for(settings, slo, &sigs, slo.objective);
    let mut out = SloAnalysis::default();

    // Alert quality of the replayed alerts, per tier and per policy.
    let fired = replayed_firings(bt, slo_index, slo);
    let mut by_policy: BTreeMap<String, (Vec<Firing>, i64)> = BTreeMap::new();
    for (a, f) in slo.alerts.iter().zip(&fired) {
        let f = f.clone();
        let q = quality(&f, &incidents, grace_ms(a), weeks(g), &shares, g.to());
        out.alert_quality.push(AlertQuality {
            policy: a.policy.clone(),
            alert: a.name.clone(),
            severity: a.severity.clone(),
            quality: q,
        });
        let e = by_policy.entry(a.policy.clone()).or_default();
        e.0.extend(f);
        e.1 = e.1.max(grace_ms(a));
    }
    let tiers = |p: &str| slo.alerts.iter().filter(|a| a.policy == p).count();
    for (policy, (f, grace)) in by_policy {
        if tiers(&policy) < 2 {
            continue;
        }
        let q = quality(&f, &incidents, grace, weeks(g), &shares, g.to());
        out.alert_quality.push(AlertQuality { policy, alert: "*".into(), severity: "any".into(), quality: q });
    }

    // Incidents, with the first replayed alert that matched each.
    for i in &incidents {
        let spent: Option<f64> = if i.labels.is_empty() {
            let v: Vec<f64> = shares.values().map(|s| consumed(s, i.start_ms, i.end_ms)).collect();
            (!sigs.values().all(|s| s.buckets.is_empty())).then(|| v.into_iter().fold(0.0, f64::max))
        } else {
            shares.get(&i.labels).filter(|s| !s.is_empty()).map(|s| consumed(s, i.start_ms, i.end_ms))
        };
        let mut first: Option<(i64, &str)> = None;
        for (a, fs) in slo.alerts.iter().zip(&fired) {
            for f in fs {
                if matches(f, i, grace_ms(a)) {
                    let at = f.start.max(i.start_ms);
                    if first.is_none_or(|(t, _)| at < t) {
                        first = Some((at, &a.name));
                    }
                }
            }
        }
        out.incidents.push(IncidentReport {
            start: fmt_ts(i.start_ms),
            end: fmt_ts(i.end_ms),
            duration_seconds: (i.end_ms - i.start_ms) as f64 / 1000.0,
            title: i.title.clone(),
            source: if i.derived { "derived" } else { "file" },
            labels: i.labels.clone(),
            budget_spent: spent,
            detected_by: first.map(|f| f.1.to_string()),
            detection_seconds: first.map(|f| (f.0 - i.start_ms) as f64 / 1000.0),
        });
    }

    if settings.sweeping() {
        sweep(bt, slo_index, program, settings, &sigs, &mut out);
    }
    out.compliance = compliance(bt, g, program, slo, settings, &sigs, &fired, &incidents);
    out
}

fn sweep(
    bt: &Backtest,
    slo_index: usize,
    program: &ir::Program,
    settings: &Settings,
    sigs: &BTreeMap<BTreeMap<String, String>, Signals>,
    out: &mut SloAnalysis,
) {
    let slo = &program.slos[slo_index];
    let g = bt.group_grids[slo_index];
    let window_ms = slo.window.nominal().ms() as f64;
    let mut objectives = settings.objectives.clone();
    if objectives.is_empty() {
        objectives.push(slo.objective);
    }
    let own = Preset { name: "own".into(), alerts: None };
    let presets: Vec<&Preset> =
        if settings.presets.is_empty() { vec![&own] } else { settings.presets.iter().collect() };
    let full_from = bt.data_start_ms + slo.window.nominal().ms() as i64;
    let first_full = if full_from <= g.to() { ((full_from - g.from).max(0) + g.step - 1) / g.step } else { 0 } as usize;
    // Per group, once: the period ratio on the grid, and the error ratios
    // the alerts read (filled as they are asked for; neither depends on the
    // objective or the preset).
    let periods: Vec<Vec<f64>> =
        sigs.values().map(|sig| sig.period.map(|s| dense(s, g)).unwrap_or_else(|| vec![f64::NAN; g.len])).collect();
    let mut caches: Vec<BTreeMap<Duration, Vec<f64>>> = vec![BTreeMap::new(); sigs.len()];
    for &objective in &objectives {
        let budget = 1.0 - objective;
        let incidents = incidents_for(settings, slo, sigs, objective);
        let shares = group_shares(sigs, budget, window_ms);
        // Attainment and budget at this objective, per group (the same for every preset).
        let budgets: Vec<(Option<f64>, Option<f64>)> = periods
            .iter()
            .map(|period| {
                let (mut held, mut seen, mut min) = (0usize, 0usize, None::<f64>);
                for e in period[first_full.min(g.len)..].iter().filter(|e| e.is_finite()) {
                    seen += 1;
                    if 1.0 - e >= objective {
                        held += 1;
                    }
                    let r = 1.0 - e / budget;
                    min = Some(min.map_or(r, |m| m.min(r)));
                }
                ((seen > 0).then(|| held as f64 / seen as f64), min)
            })
            .collect();
        for p in &presets {
            let alerts: &[ir::Alert] = match &p.alerts {
                None => &slo.alerts,
                Some(v) => &v[slo_index],
            };
            for (gi, (labels, sig)) in sigs.iter().enumerate() {
                let period = &periods[gi];
                let mut skipped = Vec::new();
                let mut firings = Vec::new();
                let (mut pages, mut tickets) = (0usize, 0usize);
                let mut grace = 0;
                let mut fired = BTreeMap::new();
                for (ai, a) in alerts.iter().enumerate() {
                    match replay_alert(a, slo, sig, &mut caches[gi], period, objective, g) {
                        Ok(iv) => {
                            let seconds = iv.iter().fold(0.0, |s, (a, b)| s + (b - a) as f64 / 1000.0);
                            fired.insert(fired_key(alerts, ai), Fired { count: iv.len(), seconds });
                            if is_page(&a.severity) {
                                pages += iv.len();
                            } else {
                                tickets += iv.len();
                            }
                            grace = grace.max(grace_ms(a));
                            firings.extend(iv.into_iter().map(|(start, end)| Firing {
                                labels: labels.clone(),
                                start,
                                end,
                            }));
                        }
                        Err(why) => skipped.push(format!("{}: {why}", a.name)),
                    }
                }
                let q = quality(&firings, &incidents, grace, weeks(g), &shares, g.to());
                let end = period.last().copied().filter(|e| e.is_finite());
                let (attainment, min) = budgets[gi];
                out.sweep.push(SweepRow {
                    objective,
                    alerts: p.name.clone(),
                    labels: labels.clone(),
                    sli: end.map(|e| 1.0 - e),
                    met: end.map(|e| 1.0 - e >= objective),
                    attainment,
                    budget_remaining: end.map(|e| 1.0 - e / budget),
                    budget_remaining_min: min,
                    pages_per_week: pages as f64 / weeks(g).max(f64::MIN_POSITIVE),
                    tickets_per_week: tickets as f64 / weeks(g).max(f64::MIN_POSITIVE),
                    incidents: incidents.iter().filter(|i| applies(i, labels)).count(),
                    precision: q.precision,
                    recall: q.recall,
                    detection_median_seconds: q.detection_seconds.map(|s| s.median),
                    fired,
                    skipped,
                });
            }
        }
    }
    out.recommendation = Some(recommend(&out.sweep, settings.margin, full_from <= g.to()));
}

fn recommend(rows: &[SweepRow], margin: f64, full: bool) -> Recommendation {
    let mut objectives: Vec<f64> = rows.iter().map(|r| r.objective).collect();
    objectives.sort_by(|a, b| b.total_cmp(a));
    objectives.dedup();
    let pct = crate::units::fmt_pct;
    let over = if full {
        "at every evaluation with a full window of data behind it"
    } else {
        "at any evaluation (less than a full window of data: every evaluation counts)"
    };
    for o in &objectives {
        let at: Vec<&SweepRow> = rows.iter().filter(|r| r.objective == *o).collect();
        let held = at.iter().all(|r| r.budget_remaining_min.is_some_and(|m| m >= margin));
        if !held {
            continue;
        }
        // Per preset, the worst group; presets the replay could not evaluate
        // in full are not candidates, and a figure without incidents or
        // firings ranks below any measured one.
        let mut presets: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
        let mut partial: Vec<&str> = Vec::new();
        for r in &at {
            if !r.skipped.is_empty() {
                partial.push(&r.alerts);
            }
            let e = presets.entry(&r.alerts).or_insert((2.0, 2.0, 0.0));
            e.0 = e.0.min(r.recall.unwrap_or(-1.0));
            e.1 = e.1.min(r.precision.unwrap_or(-1.0));
            e.2 += r.pages_per_week;
        }
        let best = presets
            .iter()
            .filter(|(k, _)| !partial.contains(k))
            .max_by(|a, b| {
                (a.1 .0, a.1 .1, -a.1 .2)
                    .partial_cmp(&(b.1 .0, b.1 .1, -b.1 .2))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| b.0.cmp(a.0))
            })
            .map(|(k, _)| k.to_string());
        let lowest = at.iter().filter_map(|r| r.budget_remaining_min).fold(f64::INFINITY, f64::min);
        return Recommendation {
            objective: Some(*o),
            alerts: best,
            full_window: full,
            reason: format!(
                "the highest objective whose budget never fell below {} of itself {over} (lowest: {})",
                pct(margin),
                pct(lowest)
            ),
        };
    }
    Recommendation {
        objective: None,
        alerts: None,
        full_window: full,
        reason: format!("no swept objective kept {} of its budget {over}", pct(margin)),
    }
}

/// Start of the period after the one starting at `start`.
fn next_period(unit: PeriodUnit, tz: &str, start: i64) -> Option<i64> {
    let zone = jiff::tz::TimeZone::get(tz).ok()?;
    let dt = zone.to_datetime(jiff::Timestamp::from_millisecond(start).ok()?);
    let span = match unit {
        PeriodUnit::Week => jiff::Span::new().weeks(1),
        PeriodUnit::Month => jiff::Span::new().months(1),
    };
    Some(zone.to_timestamp(dt.checked_add(span).ok()?).ok()?.as_millisecond())
}

fn period_name(unit: PeriodUnit, tz: &str, start: i64) -> String {
    let Ok(zone) = jiff::tz::TimeZone::get(tz) else { return fmt_ts(start) };
    let Ok(ts) = jiff::Timestamp::from_millisecond(start) else { return fmt_ts(start) };
    let d = zone.to_datetime(ts).date();
    match unit {
        PeriodUnit::Month => format!("{:04}-{:02}", d.year(), d.month()),
        PeriodUnit::Week => {
            let w = d.iso_week_date();
            format!("{:04}-W{:02}", w.year(), w.week())
        }
    }
}

/// Error ratio of `slo` over the buckets ending in (p, next]: Σbad / Σvalid
/// of its events, or for a composite its components' ratios combined as
/// its SLI combines them (as the period ratio of its rules does), so the
/// compliance table agrees with the summary. `None` without data.
fn period_error(bt: &Backtest, program: &ir::Program, slo: &ir::Slo, p: i64, next: i64) -> Option<f64> {
    if let ir::Sli::Composite { combine, components } = &slo.sli {
        let es: Option<Vec<f64>> = components
            .iter()
            .map(|c| program.slo(&c.service, &c.name).and_then(|c| period_error(bt, program, c, p, next)))
            .collect();
        return Some(combine.error_ratio(&es?));
    }
    let sigs = signals(bt, slo);
    let (bad, valid) = sigs.values().next()?.sums(p, next);
    (valid > 0.0).then(|| bad / valid)
}

#[allow(clippy::too_many_arguments)] // reason: the per-SLO context analyse() already holds
fn compliance(
    bt: &Backtest,
    g: Grid,
    program: &ir::Program,
    slo: &ir::Slo,
    settings: &Settings,
    sigs: &BTreeMap<BTreeMap<String, String>, Signals>,
    fired: &[Vec<Firing>],
    incidents: &[Incident],
) -> Vec<CompliancePeriod> {
    let unit = settings.period;
    let tz = match &slo.window {
        ir::Window::Calendar { tz, .. } => tz.as_str(),
        ir::Window::Rolling { .. } => "UTC",
    };
    let cal = match unit {
        PeriodUnit::Week => ir::CalendarUnit::Week,
        PeriodUnit::Month => ir::CalendarUnit::Month,
    };
    let end = g.to() + g.step;
    let Some(mut p) = period_start(cal, tz, g.from) else { return Vec::new() };
    let mut out = Vec::new();
    while p < end {
        let Some(next) = next_period(unit, tz, p) else { break };
        let covered = (next.min(end) - p.max(g.from)).max(0) as f64 / (next - p) as f64;
        for (labels, sig) in sigs {
            let (bad, valid) = sig.sums(p, next);
            let error = match sig.events {
                true => (!sig.buckets.is_empty() && valid > 0.0).then(|| bad / valid),
                false => period_error(bt, program, slo, p, next),
            };
            let attainment = error.map(|e| 1.0 - e);
            let (mut pages, mut tickets) = (0, 0);
            for (a, fs) in slo.alerts.iter().zip(fired) {
                for _ in fs.iter().filter(|f| f.labels == *labels && f.start >= p && f.start < next) {
                    if is_page(&a.severity) {
                        pages += 1;
                    } else {
                        tickets += 1;
                    }
                }
            }
            out.push(CompliancePeriod {
                period: period_name(unit, tz, p),
                start: fmt_ts(p),
                end: fmt_ts(next),
                labels: labels.clone(),
                coverage: covered,
                attainment,
                met: attainment.map(|a| a >= slo.objective),
                budget_consumed: error.map(|e| e / slo.budget()),
                // A composite's buckets are ratios, not events.
                valid_events: if sig.events { valid } else { f64::NAN },
                bad_events: if sig.events { bad } else { f64::NAN },
                incidents: incidents.iter().filter(|i| applies(i, labels) && i.start_ms < next && i.end_ms > p).count(),
                pages,
                tickets,
            });
        }
        p = next;
    }
    out
}

/// Start of the calendar period (in `tz`) that contains `ms`.
pub(crate) fn period_start(unit: ir::CalendarUnit, tz: &str, ms: i64) -> Option<i64> {
    let zone = jiff::tz::TimeZone::get(tz).ok()?;
    let d = zone.to_datetime(jiff::Timestamp::from_millisecond(ms).ok()?).date();
    let first = match unit {
        ir::CalendarUnit::Week => {
            d.checked_sub(jiff::Span::new().days(d.weekday().to_monday_zero_offset() as i64)).ok()?
        }
        ir::CalendarUnit::Month => d.first_of_month(),
        ir::CalendarUnit::Quarter => jiff::civil::date(d.year(), (d.month() - 1) / 3 * 3 + 1, 1),
    };
    Some(zone.to_timestamp(first.to_datetime(jiff::civil::time(0, 0, 0, 0))).ok()?.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Alerts that share a name (imported Sloth tiers) keep apart in a
    /// sweep's `fired`; a unique name stays the plain key.
    #[test]
    fn sweep_keys_tell_alerts_of_one_name_apart() {
        let alert = |name: &str, window: &str| ir::Alert {
            name: name.into(),
            policy: "p".into(),
            condition: ir::AlertCondition::BurnRate {
                long: Duration::from_ms(3_600_000),
                short: Duration::from_ms(300_000),
                factor: 14.4,
                budget_share: 0.02,
            },
            severity: "page".into(),
            for_: Duration::default(),
            keep_firing_for: Duration::default(),
            labels: [("sloth_window".to_string(), window.to_string())].into_iter().collect(),
            annotations: ir::Labels::new(),
            min_events: None,
            join_tiers: false,
        };
        let alerts = [alert("X", "1h"), alert("X", "6h"), alert("Y", "1h")];
        let keys: Vec<String> = (0..3).map(|i| fired_key(&alerts, i)).collect();
        assert_eq!(
            keys,
            ["X{severity=\"page\", sloth_window=\"1h\"}", "X{severity=\"page\", sloth_window=\"6h\"}", "Y"]
        );
    }

    fn grid(len: usize) -> Grid {
        Grid { from: 0, step: 60_000, len }
    }

    #[test]
    fn the_state_machine_waits_for_and_keeps_firing() {
        // True at steps 2..=6: pending at 2, firing from 4 (for = 2m).
        let f = fire(10, grid(10), 120_000, 0, |k| (2..=6).contains(&k));
        assert_eq!(f, vec![(240_000, 420_000)]);
        // keep_firing_for 2m holds it through steps 7 and 8.
        let f = fire(12, grid(12), 120_000, 120_000, |k| (2..=6).contains(&k));
        assert_eq!(f, vec![(240_000, 540_000)]);
        // A blip shorter than `for` never fires.
        assert!(fire(10, grid(10), 180_000, 0, |k| (2..=3).contains(&k)).is_empty());
    }

    #[test]
    fn spread_uses_nearest_rank() {
        let s = spread(vec![5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert_eq!((s.median, s.p90, s.max), (5.0, 9.0, 10.0));
        assert!(spread(vec![]).is_none());
    }

    #[test]
    fn quality_counts_matches_and_misses() {
        let inc = |a: i64, b: i64| Incident {
            start_ms: a,
            end_ms: b,
            title: String::new(),
            service: None,
            slo: None,
            labels: BTreeMap::new(),
            derived: false,
        };
        let f = |a: i64, b: i64| Firing { labels: BTreeMap::new(), start: a, end: b };
        // Incidents [100s, 200s) and [1000s, 1100s); alerts at 130s (true), 500s (false).
        let q = quality(
            &[f(130_000, 260_000), f(500_000, 560_000)],
            &[inc(100_000, 200_000), inc(1_000_000, 1_100_000)],
            0,
            1.0,
            &BTreeMap::new(),
            10_000_000,
        );
        assert_eq!((q.fired, q.true_alerts, q.detected), (2, 1, 1));
        assert_eq!(q.precision, Some(0.5));
        assert_eq!(q.recall, Some(0.5));
        assert_eq!(q.detection_seconds.unwrap().median, 30.0);
        assert_eq!(q.reset_seconds.unwrap().median, 60.0);
    }
}
