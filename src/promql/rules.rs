//! Lowering one SLO to Prometheus rules.
//!
//! ## The series every SLO records
//!
//! With `E` the evaluation interval (1m by default), `B` the bucket (five
//! intervals, or the slice of a slice-based SLO) and `T` the SLO window:
//!
//! | series | meaning |
//! |---|---|
//! | `slo:sli_events_bad:increaseB`, `slo:sli_events_total:increaseB` | bad and valid events of the last bucket, written once per bucket |
//! | `slo:sli_error:ratio_rateW` | error ratio over every window `W` an alert or condition reads |
//! | `slo:period_error:ratio` | Σbad / Σvalid over `T` |
//! | `slo:objective:ratio`, `slo:error_budget:ratio` | the target and `1 − target` |
//! | `slo:error_budget_remaining:ratio` | `1 − period error ratio / budget` |
//! | `slo:burn_rate:current`, `slo:burn_rate:period` | error ratio over 1h (or `T` if shorter) and over `T`, divided by the budget |
//! | `slo:info` | 1, with the SLO's objective, window, SLI kind and budgeting as labels |
//!
//! ## Why the period ratio is exact and cheap
//!
//! Buckets are aligned: the bucket series are written only at the one
//! evaluation per bucket whose time falls in the first interval after a
//! bucket boundary (`time() % B < E`), and hold the events of `(t−B, t]`.
//! Consecutive buckets are disjoint and cover time, so
//! `sum_over_time(bad[T]) / sum_over_time(total[T])` is Σbad / Σvalid over
//! the window — every event weighs the same, however uneven the traffic
//! (Sloth averages short-window *ratios* instead, which weighs a quiet
//! hour like a busy one: its issues #332, #354, #526). The sums read one
//! pre-aggregated sample per bucket per group (8,064 for 28 days at 5m)
//! instead of every raw sample of every series (Pyrra's 28-day `increase`,
//! pyrra #1440). A bucket of five intervals holds several samples even
//! with Prometheus's default 1m scrape. Window ratios up to 6h read the raw
//! counters with `rate`, as multiwindow alerts usually do; longer ones
//! reuse the bucket sums. The only approximation is Prometheus's own:
//! `increase` extrapolates to the edges of each bucket, which is exact for
//! steady counters. An events numerator with no series at all counts as
//! zero (an error counter not yet created has no errors; a success counter
//! not yet created has no successes). A latency bucket never does: a
//! histogram exposes every bucket from its first observation, so a missing
//! `le` is a threshold that is not a bucket boundary, and the SLI is
//! absent rather than "every request slow".

use super::expr::{agg, le_regex, num, ratio_or_zero, selector, with_suffix};
use super::model::{AlertSpec, Events, Series, SlicePart};
use super::{Options, OutputError, Part};
use crate::ir::{self, AlertCondition, SloQuantity};
use crate::ir::{current_window, guard_window};
use crate::syntax::strings::quote;
use crate::units::Duration;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// The label a burn-rate tier's alert carries with its long window
/// (`long_window="1h"`): Alertmanager's inhibition rules compare it to let
/// a firing fast tier silence the slower tiers of the same SLO and group
/// only (see [`crate::alertmanager`]). Thresholds and budget-policy alerts
/// do not carry it.
pub const LONG_WINDOW_LABEL: &str = "long_window";

/// The burn-rate tiers of `slo` written as one alert: among the tiers that
/// `join` joins (those of policies with `join_tiers = true`, or all under
/// `--join-tiers`), groups of two or more indices into `slo.alerts`, in
/// source order, of tiers alike in everything but their windows and burn
/// rates (alert name, severity, labels, annotations, `for`,
/// `keep_firing_for`). A tier alike with no other stays an alert of its
/// own, `long_window` included.
pub fn joined_tiers(slo: &ir::Slo, join: super::Join) -> Vec<Vec<usize>> {
    let mut groups: Vec<(&ir::Alert, Vec<usize>)> = Vec::new();
    for (i, a) in slo.alerts.iter().enumerate() {
        if !matches!(a.condition, AlertCondition::BurnRate { .. }) || !join.joins(a) {
            continue;
        }
        let alike = |b: &ir::Alert| {
            (&a.name, &a.severity, &a.labels, &a.annotations, a.for_, a.keep_firing_for)
                == (&b.name, &b.severity, &b.labels, &b.annotations, b.for_, b.keep_firing_for)
        };
        match groups.iter_mut().find(|(b, _)| alike(b)) {
            Some((_, g)) => g.push(i),
            None => groups.push((a, vec![i])),
        }
    }
    groups.into_iter().map(|(_, g)| g).filter(|g| g.len() > 1).collect()
}

/// Longest window read from raw series with `rate`; longer windows sum the
/// per-interval increases.
pub(crate) const RAW_MAX: Duration = Duration::from_ms(6 * 3_600_000);

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    pub name: String,
    pub interval: String,
    /// vmalert: the group's datasource type (`prometheus`), so a vmalert
    /// whose default type is another (`-rule.defaultRuleType`) still runs
    /// the expressions as PromQL/MetricsQL.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub datasource_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_response_strategy: Option<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Rule {
    Record(RecordRule),
    Alert(AlertRule),
}

impl Rule {
    pub fn expr(&self) -> &str {
        match self {
            Rule::Record(r) => &r.expr,
            Rule::Alert(a) => &a.expr,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordRule {
    /// The recorded series, printed by its `Display`.
    #[serde(serialize_with = "crate::promql::model::serialize_series")]
    pub record: Series,
    pub expr: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<Duration>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Which alert or policy action of the SLO this is (not written out).
    #[serde(skip)]
    pub spec: AlertSpec,
}

/// Makes user text literal inside a Go template (alert labels and
/// annotations are templates): `{{` can no longer open an action.
pub fn template_literal(s: &str) -> String {
    s.replace("{{", "{{ \"{{\" }}")
}

/// The error ratio over `window`.
fn ratio(window: Duration) -> Series {
    Series::ErrorRatio { window }
}

/// Most terms a k-of-n composite's error ratio is spelled out with; larger
/// ones record the Poisson-binomial recurrence (see `Lower::k_of_n`).
pub(crate) const K_OF_N_MAX_TERMS: u128 = 32;

/// Terms of the spelled-out k-of-n sum: the subsets of fewer than `k` of
/// `n` components, Σ_{m<k} C(n, m) (saturating).
pub(crate) fn k_of_n_terms(n: usize, k: usize) -> u128 {
    let mut c: u128 = 1;
    let mut total: u128 = 0;
    for m in 0..k.min(n + 1) {
        total = total.saturating_add(c);
        c = c.saturating_mul((n - m) as u128) / (m as u128 + 1);
    }
    total
}

/// Per SLO (service, name), the windows it must record ratios for: its
/// own, and those of composites that read it.
pub(crate) type Needs = BTreeMap<(String, String), BTreeSet<Duration>>;

/// What the rules of one SLO need to know of the rest of the program.
pub(crate) struct Plan {
    /// The windows each SLO records (its own and those composites read).
    pub(crate) windows: Needs,
    /// `(service, alert name)` of the alert names that alerts of two or
    /// more SLOs of a service use (see [`shared_alert_names`]).
    pub(crate) shared_names: BTreeSet<(String, String)>,
}

/// The alert names (tiers, thresholds and budget-policy actions) that
/// alerts of more than one SLO of the same service carry, by service.
///
/// An alert's `service` and `slo` labels come with the vector it fires on:
/// every alert expression compares this SLO's own recorded series, which
/// carry both, and `>`/`and` keep the left side's labels. Setting them
/// again in the rule's `labels:` changes no `ALERTS` series and no
/// notification, and costs promtool and Prometheus a template parse and
/// expansion each per alert. So the rules leave them out, except `slo` on
/// an alert whose name another SLO of the same service (the same rule
/// file) also uses: there it keeps the rules' label sets apart, which
/// promtool's duplicate-rules lint compares (by name and labels, not by
/// expression).
pub(crate) fn shared_alert_names(program: &ir::Program) -> BTreeSet<(String, String)> {
    let mut first: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    let mut shared = BTreeSet::new();
    for slo in &program.slos {
        let names = slo.alerts.iter().map(|a| &a.name).chain(slo.policy_rules.iter().map(|p| &p.name));
        for name in names {
            let owner = first.entry((slo.service.as_str(), name.as_str())).or_insert(slo.name.as_str());
            if *owner != slo.name {
                shared.insert((slo.service.clone(), name.clone()));
            }
        }
    }
    shared
}

/// Windows an SLO's own alerts, conditions and burn rates read.
pub(crate) fn own_windows(slo: &ir::Slo) -> BTreeSet<Duration> {
    let mut w = BTreeSet::new();
    w.insert(current_window(slo));
    // A composite's period combines its components' ratios over its own
    // window (not over theirs), so they must record that window too.
    if let ir::Sli::Composite { .. } = slo.sli {
        w.insert(slo.window.nominal());
    }
    for a in &slo.alerts {
        w.extend(a.windows());
    }
    for p in &slo.policy_rules {
        w.extend(p.condition.windows());
    }
    w
}

/// Lowers one SLO to its rule group.
pub(crate) struct SloRules<'a> {
    slo: &'a ir::Slo,
    program: &'a ir::Program,
    opts: &'a Options,
    plan: &'a Plan,
    /// Under a split: the windows the global rules read local series of.
    reads: RefCell<BTreeSet<Duration>>,
    /// Under a split: the slices the global rules read a timeslices SLI's
    /// local slice series over.
    slice_reads: RefCell<BTreeSet<Duration>>,
}

impl<'a> SloRules<'a> {
    pub(crate) fn new(slo: &'a ir::Slo, program: &'a ir::Program, opts: &'a Options, plan: &'a Plan) -> Self {
        SloRules { slo, program, opts, plan, reads: RefCell::default(), slice_reads: RefCell::default() }
    }

    /// Whether raw series are read through a split's local series (both
    /// parts build the global rules: the local part is what they read).
    fn split(&self) -> bool {
        self.opts.split.is_some()
    }

    /// Under a split, `events` over `w` summed over the clusters from the
    /// local series (kept apart by group, and by cluster only when the SLO
    /// groups by it).
    fn local_sum(&self, events: Events, w: Duration) -> String {
        self.reads.borrow_mut().insert(w);
        self.sum(&self.own(Series::WindowEvents { events, window: w }))
    }

    /// (bad, valid) events over `w` straight from the raw series, summed by
    /// `by`; `None` for SLIs without events of their own. A numerator with
    /// no series at all counts as 0 (see [`Self::interval_events`]).
    fn window_events(&self, w: Duration, by: &[String]) -> Option<(String, String)> {
        let inc = |s: &ir::Selector| agg("sum", by, &format!("increase({}[{w}])", selector(s, &[])));
        Some(match &self.slo.sli {
            ir::Sli::Events { numerator, total } => {
                let t = inc(total);
                let bad = match numerator {
                    ir::EventsNumerator::Bad(b) => format!("({} or 0 * {t})", inc(b)),
                    ir::EventsNumerator::Good(g) => format!("{t} - ({} or 0 * {t})", inc(g)),
                };
                (bad, t)
            }
            ir::Sli::Latency { histogram, below_seconds, kind: ir::HistogramKind::Native } => {
                // A bucket without observations has a count of 0 and a
                // fraction of NaN: the `>= 0` drops the NaN so the bucket
                // counts 0 bad events, not NaN (which would poison every
                // period sum it enters).
                let h = agg("sum", by, &format!("increase({}[{w}])", selector(histogram, &[])));
                let t = format!("histogram_count({h})");
                let f = format!("histogram_fraction(0, {}, {h})", num(*below_seconds));
                (format!("{t} * (1 - ({f} >= 0)) or {t}"), t)
            }
            ir::Sli::Latency { histogram, below_seconds, kind: ir::HistogramKind::Classic } => {
                let t = inc(&with_suffix(histogram, "_count"));
                // No `or 0` here: a histogram exposes all its buckets from
                // its first observation, so a missing bucket is a threshold
                // that is not a bucket boundary (unknown, never "all slow").
                let good = agg("sum", by, &format!("increase({}[{w}])", self.bucket(histogram, *below_seconds)));
                (format!("{t} - {good}"), t)
            }
            ir::Sli::Gauge { series } => {
                let count = agg("sum", by, &format!("count_over_time({}[{w}])", selector(series, &[])));
                let good = agg("sum", by, &format!("sum_over_time({}[{w}])", selector(series, &[])));
                (format!("{count} - {good}"), count)
            }
            ir::Sli::Timeslices { .. } | ir::Sli::Composite { .. } => return None,
        })
    }

    fn budget(&self) -> f64 {
        self.slo.budget()
    }

    /// Labels every recorded series of this SLO carries.
    fn base_labels(&self) -> BTreeMap<String, String> {
        let mut l: BTreeMap<String, String> = self.slo.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (k, v) in crate::names::series_identity(&self.slo.service, &self.slo.name) {
            l.insert(k.into(), v.to_string());
        }
        l
    }

    /// `{service="api", slo="availability"}` for reading this SLO's series.
    fn own(&self, series: Series) -> String {
        Self::of(self.slo, series)
    }

    fn of(slo: &ir::Slo, series: Series) -> String {
        format!("{series}{{service={}, slo={}}}", quote(&slo.service), quote(&slo.name))
    }

    fn e(&self) -> String {
        self.opts.eval_interval.to_string()
    }

    fn by(&self) -> &[String] {
        &self.slo.group_by
    }

    fn sum(&self, inner: &str) -> String {
        agg("sum", self.by(), inner)
    }

    fn aligned(&self, slice: Duration) -> String {
        format!(
            "on() (vector(time()) % {} < {})",
            num(slice.ms() as f64 / 1000.0),
            num(self.opts.eval_interval.ms() as f64 / 1000.0)
        )
    }

    /// Length of the buckets the interval series count events in: one
    /// slice for slice-based SLOs, else five evaluation intervals (5m by
    /// default), so that even 1m scrapes put several samples in each.
    pub(crate) fn bucket_len(&self) -> Duration {
        self.slo.slice().unwrap_or(self.opts.eval_interval * 5)
    }

    /// `slo:sli_events_bad:increase5m` and the like, for this SLO.
    fn inc(&self, events: Events) -> Series {
        Series::Bucket { events, bucket: self.bucket_len() }
    }

    /// (bad, valid) events of one bucket, recorded once per bucket: at the
    /// one evaluation whose time falls in the first interval after a bucket
    /// boundary, so buckets are disjoint and none is skipped (with
    /// timeslice budgeting: bad slices and slices). A numerator with no
    /// series at all counts as 0, not as "no data": an SLO whose error
    /// counter does not exist yet has no errors, and one whose success
    /// counter does not exist has no successes.
    fn interval_events(&self) -> Option<(String, String)> {
        let bucket = self.bucket_len();
        let aligned = self.aligned(bucket);
        let w = bucket;
        match (&self.slo.budgeting, &self.slo.sli) {
            (_, ir::Sli::Timeslices { .. } | ir::Sli::Composite { .. }) | (ir::Budgeting::Occurrences, _) => {}
            (
                ir::Budgeting::Timeslices { slice, target },
                ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. },
            ) => {
                // A slice without traffic is neither good nor bad.
                let ratio = self.raw_ratio(*slice)?;
                let good = format!("(1 - ({ratio}) >= bool {}) and (({ratio}) >= 0)", num(*target));
                return Some((format!("1 - ({good}) and {aligned}"), format!("({good}) * 0 + 1 and {aligned}")));
            }
            (
                ir::Budgeting::RatioTimeslices { slice },
                ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. },
            ) => {
                let ratio = format!("({}) >= 0", self.raw_ratio(*slice)?);
                return Some((format!("({ratio}) and {aligned}"), format!("({ratio}) * 0 + 1 and {aligned}")));
            }
        }
        let (bad, total) = match &self.slo.sli {
            ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. } if self.split() => {
                (self.local_sum(Events::Bad, w), self.local_sum(Events::Total, w))
            }
            ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. } => {
                self.window_events(w, self.by())?
            }
            ir::Sli::Timeslices { slice, good } => {
                let indicator = self.slice_good(*slice, good);
                return Some((
                    format!("1 - ({indicator}) and {aligned}"),
                    format!("({indicator}) * 0 + 1 and {aligned}"),
                ));
            }
            ir::Sli::Composite { .. } => return None,
        };
        Some((format!("({bad}) and {aligned}"), format!("({total}) and {aligned}")))
    }

    fn bucket(&self, histogram: &ir::Selector, below: f64) -> String {
        selector(&with_suffix(histogram, "_bucket"), &[("le", "=~", le_regex(below))])
    }

    /// 1 for a good slice, 0 for a bad one.
    fn slice_good(&self, w: Duration, c: &ir::SliceCond) -> String {
        if self.split() {
            self.slice_reads.borrow_mut().insert(w);
        }
        let parts: Vec<String> = c
            .all
            .iter()
            .enumerate()
            .map(|(i, cmp)| {
                let q = if self.split() { self.slice_global(i, &cmp.lhs, w) } else { self.slice_raw(&cmp.lhs, w) };
                format!("({q}) {} bool {}", cmp.op.as_str(), num(cmp.rhs))
            })
            .collect();
        parts.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" * ")
    }

    /// A slice condition's quantity over `w`, straight from raw series.
    fn slice_raw(&self, q: &ir::SliceQuantity, w: Duration) -> String {
        let by = self.by();
        let over = |f: &str, s: &ir::Selector| format!("{f}({}[{w}])", selector(s, &[]));
        match q {
            ir::SliceQuantity::Rate(s) => agg("sum", by, &over("rate", s)),
            ir::SliceQuantity::Increase(s) => agg("sum", by, &over("increase", s)),
            ir::SliceQuantity::Avg(s) => agg("avg", by, &over("avg_over_time", s)),
            ir::SliceQuantity::Min(s) => agg("min", by, &over("min_over_time", s)),
            ir::SliceQuantity::Max(s) => agg("max", by, &over("max_over_time", s)),
            ir::SliceQuantity::Ratio { numerator, denominator } => {
                format!(
                    "{} / {}",
                    agg("sum", by, &over("increase", numerator)),
                    agg("sum", by, &over("increase", denominator))
                )
            }
            ir::SliceQuantity::Quantile { q, histogram } => {
                let mut le_by: Vec<String> = by.to_vec();
                le_by.push("le".into());
                format!(
                    "histogram_quantile({}, {})",
                    num(*q),
                    agg("sum", &le_by, &over("rate", &with_suffix(histogram, "_bucket")))
                )
            }
        }
    }

    /// The local parts of condition `i`'s quantity `q` (see
    /// [`SlicePart`]), each with its expression over the cluster's raw
    /// series summed (or min'd, max'd, counted) by `by`.
    fn slice_parts(&self, q: &ir::SliceQuantity, w: Duration, by: &[String]) -> Vec<(SlicePart, String)> {
        let over = |f: &str, s: &ir::Selector| format!("{f}({}[{w}])", selector(s, &[]));
        match q {
            ir::SliceQuantity::Rate(s) => vec![(SlicePart::Rate, agg("sum", by, &over("rate", s)))],
            ir::SliceQuantity::Increase(s) => vec![(SlicePart::Increase, agg("sum", by, &over("increase", s)))],
            ir::SliceQuantity::Avg(s) => vec![
                (SlicePart::AvgSum, agg("sum", by, &over("avg_over_time", s))),
                (SlicePart::AvgCount, agg("count", by, &over("avg_over_time", s))),
            ],
            ir::SliceQuantity::Min(s) => vec![(SlicePart::Min, agg("min", by, &over("min_over_time", s)))],
            ir::SliceQuantity::Max(s) => vec![(SlicePart::Max, agg("max", by, &over("max_over_time", s)))],
            ir::SliceQuantity::Ratio { numerator, denominator } => vec![
                (SlicePart::Numerator, agg("sum", by, &over("increase", numerator))),
                (SlicePart::Denominator, agg("sum", by, &over("increase", denominator))),
            ],
            ir::SliceQuantity::Quantile { histogram, .. } => {
                let mut le_by = by.to_vec();
                le_by.push("le".into());
                vec![(SlicePart::Buckets, agg("sum", &le_by, &over("rate", &with_suffix(histogram, "_bucket"))))]
            }
        }
    }

    /// Under a split, condition `i`'s quantity over `w` from the clusters'
    /// local slice series: sums of sums, the min of the minima, the max of
    /// the maxima, Σsum / Σcount for `avg`, and the quantile of the
    /// clusters' summed bucket rates — what the raw quantity over the
    /// union of the clusters' series is.
    fn slice_global(&self, i: usize, q: &ir::SliceQuantity, w: Duration) -> String {
        let by = self.by();
        let part = |part: SlicePart| self.own(Series::SliceLocal { cond: i, part, window: w });
        let sum = |p: SlicePart| agg("sum", by, &part(p));
        match q {
            ir::SliceQuantity::Rate(_) => sum(SlicePart::Rate),
            ir::SliceQuantity::Increase(_) => sum(SlicePart::Increase),
            ir::SliceQuantity::Avg(_) => format!("{} / {}", sum(SlicePart::AvgSum), sum(SlicePart::AvgCount)),
            ir::SliceQuantity::Min(_) => agg("min", by, &part(SlicePart::Min)),
            ir::SliceQuantity::Max(_) => agg("max", by, &part(SlicePart::Max)),
            ir::SliceQuantity::Ratio { .. } => {
                format!("{} / {}", sum(SlicePart::Numerator), sum(SlicePart::Denominator))
            }
            ir::SliceQuantity::Quantile { q, .. } => {
                let mut le_by: Vec<String> = by.to_vec();
                le_by.push("le".into());
                format!("histogram_quantile({}, {})", num(*q), agg("sum", &le_by, &part(SlicePart::Buckets)))
            }
        }
    }

    /// Error ratio over `w` straight from raw series (windows ≤ 6h).
    fn raw_ratio(&self, w: Duration) -> Option<String> {
        if self.split() {
            // Σbad / Σvalid over every cluster: the SLO's one ratio.
            return match &self.slo.sli {
                ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. } => {
                    Some(format!("{} / {}", self.local_sum(Events::Bad, w), self.local_sum(Events::Total, w)))
                }
                ir::Sli::Timeslices { .. } | ir::Sli::Composite { .. } => None,
            };
        }
        Some(match &self.slo.sli {
            // A numerator without series counts as 0 (see interval_events).
            ir::Sli::Events { numerator: ir::EventsNumerator::Bad(b), total } => {
                let t = self.sum(&format!("rate({}[{w}])", selector(total, &[])));
                ratio_or_zero(&self.sum(&format!("rate({}[{w}])", selector(b, &[]))), &t, self.by())
            }
            ir::Sli::Events { numerator: ir::EventsNumerator::Good(g), total } => {
                let t = self.sum(&format!("rate({}[{w}])", selector(total, &[])));
                format!("1 - {}", ratio_or_zero(&self.sum(&format!("rate({}[{w}])", selector(g, &[]))), &t, self.by()))
            }
            ir::Sli::Latency { histogram, below_seconds, kind: ir::HistogramKind::Native } => format!(
                "1 - histogram_fraction(0, {}, {})",
                num(*below_seconds),
                self.sum(&format!("rate({}[{w}])", selector(histogram, &[])))
            ),
            ir::Sli::Latency { histogram, below_seconds, kind: ir::HistogramKind::Classic } => {
                let t = self.sum(&format!("rate({}[{w}])", selector(&with_suffix(histogram, "_count"), &[])));
                format!("1 - {} / {t}", self.sum(&format!("rate({}[{w}])", self.bucket(histogram, *below_seconds))))
            }
            ir::Sli::Gauge { series } => format!(
                "1 - {} / {}",
                self.sum(&format!("sum_over_time({}[{w}])", selector(series, &[]))),
                self.sum(&format!("count_over_time({}[{w}])", selector(series, &[])))
            ),
            ir::Sli::Timeslices { .. } | ir::Sli::Composite { .. } => return None,
        })
    }

    /// Error ratio over `w` from the per-interval sums.
    fn summed_ratio(&self, w: Duration) -> String {
        format!(
            "sum_over_time({}[{w}]) / sum_over_time({}[{w}])",
            self.own(self.inc(Events::Bad)),
            self.own(self.inc(Events::Total))
        )
    }

    /// Error ratio over `w` of a composite, from its components' error
    /// ratios over `w` (each component is a single ungrouped series), plus
    /// the rules it needs recorded first (the k-of-n recurrence).
    fn composite_ratio(&self, combine: &ir::Combine, components: &[ir::SloRef], w: Duration) -> (Vec<Rule>, String) {
        let comps: Vec<String> = components
            .iter()
            .filter_map(|c| self.program.slo(&c.service, &c.name))
            .map(|c| format!("sum({})", Self::of(c, ratio(w))))
            .collect();
        match combine {
            ir::Combine::Serial => {
                (vec![], format!("1 - {}", comps.iter().map(|c| format!("(1 - {c})")).collect::<Vec<_>>().join(" * ")))
            }
            ir::Combine::Weighted(ws) => (
                vec![],
                comps.iter().zip(ws).map(|(c, w)| format!("{} * {c}", num(*w))).collect::<Vec<_>>().join(" + "),
            ),
            ir::Combine::KOfN(k) => self.k_of_n(*k as usize, &comps, w),
        }
    }

    /// P(fewer than `k` of the components good), components independent,
    /// component `i` bad with probability `comps[i]` (its error ratio).
    ///
    /// Spelled out as a sum over the subsets of good components smaller
    /// than `k` while that sum has at most [`K_OF_N_MAX_TERMS`] terms (the
    /// usual 2-of-3 or 3-of-5). Beyond that the sum has exponentially many
    /// terms (184,756 products of 22 factors for 11 of 22), so the
    /// Poisson-binomial recurrence is recorded instead, one rule per
    /// (components seen `j`, good among them `m < k`):
    /// `P(j, m) = P(j−1, m)·e_j + P(j−1, m−1)·(1 − e_j)`, at most
    /// `n·k` rules of constant size, each reading the two it depends on.
    fn k_of_n(&self, k: usize, comps: &[String], w: Duration) -> (Vec<Rule>, String) {
        let n = comps.len();
        if k_of_n_terms(n, k) <= K_OF_N_MAX_TERMS {
            // Every set of fewer than k good components, as sorted indices,
            // in the order of their bit masks (component i is bit i).
            let mut subsets: Vec<Vec<usize>> = vec![vec![]];
            let mut frontier = subsets.clone();
            for _ in 1..k {
                let mut next = Vec::new();
                for s in &frontier {
                    for i in s.last().map_or(0, |i| i + 1)..n {
                        let mut t = s.clone();
                        t.push(i);
                        next.push(t);
                    }
                }
                subsets.extend(next.iter().cloned());
                frontier = next;
            }
            subsets.sort_by(|a, b| a.iter().rev().cmp(b.iter().rev()));
            let terms: Vec<String> = subsets
                .iter()
                .map(|good| {
                    (0..n)
                        .map(|i| if good.contains(&i) { format!("(1 - {})", comps[i]) } else { comps[i].clone() })
                        .collect::<Vec<_>>()
                        .join(" * ")
                })
                .collect();
            return (vec![], terms.join(" + "));
        }
        let name = |j: usize, m: usize| Series::KOfN { components: j, good: m, window: w };
        // P(1, 0) = e_1 and P(1, 1) = 1 − e_1; then one step per component,
        // each reading the previous step's recorded series (the first
        // step's are short enough to inline).
        let mut exprs: Vec<String> = vec![comps[0].clone(), format!("(1 - {})", comps[0])];
        exprs.truncate(k);
        let mut rules = Vec::new();
        for (j, e) in comps.iter().enumerate().skip(1) {
            let prev: Vec<String> = if j == 1 {
                exprs
            } else {
                let mut read = Vec::new();
                for (m, expr) in exprs.into_iter().enumerate() {
                    let record = name(j, m);
                    rules.push(self.record(record, expr, &[]));
                    read.push(format!("sum({})", self.own(record)));
                }
                read
            };
            exprs = (0..(j + 2).min(k))
                .map(|m| {
                    let stay = prev.get(m).map(|p| format!("{p} * {e}"));
                    let up = m.checked_sub(1).and_then(|m1| prev.get(m1)).map(|p| format!("{p} * (1 - {e})"));
                    stay.into_iter().chain(up).collect::<Vec<_>>().join(" + ")
                })
                .collect();
        }
        (rules, exprs.iter().map(|c| format!("({c})")).collect::<Vec<_>>().join(" + "))
    }

    fn record(&self, series: Series, expr: String, extra: &[(&str, String)]) -> Rule {
        let mut labels = self.base_labels();
        for (k, v) in extra {
            labels.insert(k.to_string(), v.clone());
        }
        Rule::Record(RecordRule { record: series, expr, labels })
    }

    /// The SLO's group: all its rules, in dependency order — or, under a
    /// split, the part asked for.
    pub fn group(&self) -> Result<Group, OutputError> {
        let whole = self.whole()?;
        match &self.opts.split {
            None | Some(super::Split { part: Part::Global, .. }) => Ok(whole),
            Some(super::Split { part: Part::Local, cluster_label }) => {
                Ok(Group { rules: self.local(cluster_label), ..whole })
            }
        }
    }

    /// A split's local rules: the events of every window the global rules
    /// read, from the raw series of the cluster the rules run in, summed by
    /// the SLO's grouping labels and the cluster label (which each
    /// cluster's series get from its `external_labels` when they leave it,
    /// or already carry when every cluster's raw data is in one place).
    fn local(&self, cluster_label: &str) -> Vec<Rule> {
        let mut by = self.by().to_vec();
        if !by.iter().any(|l| l == cluster_label) {
            by.push(cluster_label.to_string());
        }
        let mut rules = Vec::new();
        for &window in self.reads.borrow().iter() {
            if let Some((bad, total)) = self.window_events(window, &by) {
                rules.push(self.record(Series::WindowEvents { events: Events::Bad, window }, bad, &[]));
                rules.push(self.record(Series::WindowEvents { events: Events::Total, window }, total, &[]));
            }
        }
        if let ir::Sli::Timeslices { good, .. } = &self.slo.sli {
            for &window in self.slice_reads.borrow().iter() {
                for (cond, cmp) in good.all.iter().enumerate() {
                    for (part, expr) in self.slice_parts(&cmp.lhs, window, &by) {
                        rules.push(self.record(Series::SliceLocal { cond, part, window }, expr, &[]));
                    }
                }
            }
        }
        rules
    }

    /// Every rule of the SLO, in dependency order (under a split, the
    /// global part: raw reads go through the local series).
    fn whole(&self) -> Result<Group, OutputError> {
        let slo = self.slo;
        if let Some(e) = unsupported(slo) {
            return Err(e);
        }
        let t = slo.window.nominal();
        let e = self.e();
        let mut rules = Vec::new();
        let key = (slo.service.clone(), slo.name.clone());
        let windows: BTreeSet<Duration> = self.plan.windows.get(&key).cloned().unwrap_or_default();
        let composite = match &slo.sli {
            ir::Sli::Composite { combine, components } => Some((combine, components)),
            ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. } | ir::Sli::Timeslices { .. } => {
                None
            }
        };
        // Per-interval events.
        if let Some((bad, total)) = self.interval_events() {
            rules.push(self.record(self.inc(Events::Bad), bad, &[]));
            rules.push(self.record(self.inc(Events::Total), total, &[]));
        }
        // Window ratios.
        for &w in &windows {
            let expr = match composite {
                Some((c, comps)) => {
                    let (steps, expr) = self.composite_ratio(c, comps, w);
                    rules.extend(steps);
                    expr
                }
                // With timeslice budgeting the interval series count
                // slices, so alert windows read the raw events at any length.
                None => match (w <= RAW_MAX || slo.budgeting != ir::Budgeting::Occurrences)
                    .then(|| self.raw_ratio(w))
                    .flatten()
                {
                    Some(raw) => raw,
                    None => self.summed_ratio(w),
                },
            };
            rules.push(self.record(ratio(w), expr, &[]));
        }
        // The period.
        let mut trailing = None;
        let period = match (composite, &slo.window) {
            (Some((c, comps)), _) => {
                let (steps, expr) = self.composite_ratio(c, comps, t);
                rules.extend(steps);
                expr
            }
            (None, ir::Window::Rolling { .. }) => self.summed_ratio(t),
            (None, ir::Window::Calendar { unit, tz }) => {
                let (acc, id) = self.calendar(*unit, tz);
                rules.extend(acc);
                trailing = Some(id);
                // The sums are recorded once per bucket (and marked stale in
                // between): read their latest value.
                format!(
                    "last_over_time({}[1d]) / last_over_time({}[1d])",
                    self.own(Series::CalendarSum(Events::Bad)),
                    self.own(Series::CalendarSum(Events::Total))
                )
            }
        };
        let b = num(self.budget());
        rules.push(self.record(Series::PeriodErrorRatio, period, &[]));
        rules.push(self.record(Series::Objective, format!("vector({})", num(slo.objective)), &[]));
        rules.push(self.record(Series::ErrorBudget, format!("vector({b})"), &[]));
        rules.push(self.record(
            Series::BudgetRemaining,
            format!("1 - {} / {b}", self.own(Series::PeriodErrorRatio)),
            &[],
        ));
        rules.push(self.record(
            Series::BurnRateCurrent,
            format!("{} / {b}", self.own(ratio(current_window(slo)))),
            &[],
        ));
        rules.push(self.record(Series::BurnRatePeriod, format!("{} / {b}", self.own(Series::PeriodErrorRatio)), &[]));
        let (sli_kind, budgeting) = describe(slo);
        rules.push(self.record(
            Series::Info,
            "vector(1)".into(),
            &[
                ("objective", num(slo.objective)),
                ("window", t.to_string()),
                ("sli", sli_kind.into()),
                ("budgeting", budgeting),
            ],
        ));
        // Alerts: one per tier, or one per set of joined tiers that differ
        // only in their windows and burn rates.
        let joined = joined_tiers(slo, self.opts.join);
        for (index, a) in slo.alerts.iter().enumerate() {
            match joined.iter().find(|g| g.contains(&index)) {
                Some(g) if g[0] == index => rules.push(Rule::Alert(self.joined(index, &g[1..])?)),
                Some(_) => {}
                None => rules.push(Rule::Alert(self.alert(a, AlertSpec::Alert { index })?)),
            }
        }
        for (rule, p) in slo.policy_rules.iter().enumerate() {
            rules.extend(self.policy(rule, p)?);
        }
        Ok(Group {
            name: crate::names::rule_group(&slo.service, &slo.name),
            interval: e,
            datasource_type: self.opts.target.victoriametrics().then_some("prometheus"),
            partial_response_strategy: self.opts.partial_response.clone(),
            rules: {
                let mut sorted = super::order::topological(rules);
                // The period id must be recorded after the accumulators read
                // its previous value, so it goes last, outside the sort.
                sorted.extend(trailing);
                sorted
            },
        })
    }

    /// Calendar windows: running sums of the bucket series that restart
    /// when the calendar period changes.
    ///
    /// PromQL ranges have fixed lengths, so "since the first of the month"
    /// cannot be a range. Instead `slo:calendar_bad:sum` adds this
    /// interval's bad events to its own previous value, unless the period
    /// changed since that value was recorded: `slo:calendar_period:id`
    /// (recorded last in the group, so the accumulators read the id of the
    /// previous evaluation) holds the month, week or quarter number of the
    /// last evaluation, in the SLO's time zone. The zone's UTC offsets,
    /// daylight-saving changes included, are spelled out as steps in time
    /// from 2020 to 2040 (from the IANA database slo is built with).
    /// Each sum carries its last value forward for up to a day, so gaps in
    /// the data or in evaluation shorter than that do not restart it; a
    /// bucket counts in the period of its last second. Consequences: sums
    /// start when the rules are first deployed (unless `slo backfill`
    /// wrote their history), events of
    /// buckets Prometheus did not evaluate are missed, and a bucket that
    /// straddles a boundary (when the group's evaluation offset is not a
    /// multiple of the bucket) counts wholly in the new period.
    fn calendar(&self, unit: ir::CalendarUnit, tz: &str) -> (Vec<Rule>, Rule) {
        // A bucket recorded at t holds the events of (t − bucket, t]: it
        // belongs to the period of its last second.
        let now = period_id(unit, &local_seconds(tz, "time() - 1"));
        let same = format!("last_over_time({}[1d]) == on() {now}", self.own(Series::CalendarPeriodId));
        // The bucket of this evaluation only: a range shorter than the
        // interval holds the sample the bucket rule has just written and
        // nothing older. (An instant selector would also find an older
        // bucket through the 5m lookback wherever no staleness marker ends
        // it — after a server restart, or over backfilled history — and
        // add it again at every evaluation until the next bucket.)
        let fresh = Duration::from_ms((self.opts.eval_interval.ms() / 2).max(1));
        let mut rules = Vec::new();
        for which in [Events::Bad, Events::Total] {
            let acc = Series::CalendarSum(which);
            let inc = format!("last_over_time({}[{fresh}])", self.own(self.inc(which)));
            rules.push(self.record(
                acc,
                format!("{inc} + ((last_over_time({}[1d]) and on() ({same})) or {inc} * 0)", self.own(acc)),
                &[],
            ));
        }
        let id = format!("{now} and {}", self.aligned(self.bucket_len()));
        (rules, self.record(Series::CalendarPeriodId, id, &[]))
    }

    /// An SLO quantity as PromQL over this SLO's recorded series.
    fn quantity(&self, q: &SloQuantity) -> Result<String, OutputError> {
        let b = num(self.budget());
        Ok(match q {
            SloQuantity::Sli { window } => format!("(1 - {})", self.own(ratio(*window))),
            SloQuantity::ErrorRatio { window } => self.own(ratio(*window)),
            SloQuantity::BurnRate { window } => format!("({} / {b})", self.own(ratio(*window))),
            SloQuantity::BudgetRemaining => self.own(Series::BudgetRemaining),
            SloQuantity::BudgetConsumed => format!("(1 - {})", self.own(Series::BudgetRemaining)),
            SloQuantity::IncidentShare => {
                // In PromQL an incident is approximated by the last day:
                // the budget share spent in it. The backtester finds
                // incidents exactly.
                format!(
                    "(sum_over_time({}[1d]) / ({b} * sum_over_time({}[{}])))",
                    self.own(self.inc(Events::Bad)),
                    self.own(self.inc(Events::Total)),
                    self.slo.window.nominal()
                )
            }
        })
    }

    fn cond(&self, c: &ir::SloCond) -> Result<String, OutputError> {
        let parts: Result<Vec<String>, OutputError> = c
            .all
            .iter()
            .map(|cmp| Ok(format!("{} {} {}", self.quantity(&cmp.lhs)?, cmp.op.as_str(), num(cmp.rhs))))
            .collect();
        Ok(parts?.join(" and "))
    }

    /// Valid events over `w`, for minimum-traffic guards.
    fn events_in(&self, wd: Duration) -> String {
        let raw = match &self.slo.sli {
            ir::Sli::Events { .. } | ir::Sli::Latency { .. } | ir::Sli::Gauge { .. } if self.split() => {
                return self.local_sum(Events::Total, wd);
            }
            ir::Sli::Events { total, .. } => Some(format!("increase({}[{wd}])", selector(total, &[]))),
            ir::Sli::Latency { histogram, kind: ir::HistogramKind::Native, .. } => {
                return format!(
                    "histogram_count({})",
                    self.sum(&format!("increase({}[{wd}])", selector(histogram, &[])))
                );
            }
            ir::Sli::Latency { histogram, kind: ir::HistogramKind::Classic, .. } => {
                Some(format!("increase({}[{wd}])", selector(&with_suffix(histogram, "_count"), &[])))
            }
            ir::Sli::Gauge { series } => Some(format!("count_over_time({}[{wd}])", selector(series, &[]))),
            ir::Sli::Timeslices { .. } | ir::Sli::Composite { .. } => None,
        };
        match raw {
            Some(r) => self.sum(&r),
            None => format!("sum_over_time({}[{wd}])", self.own(self.inc(Events::Total))),
        }
    }

    fn on_groups(&self) -> String {
        format!("on({})", self.by().join(", "))
    }

    /// The labels of alert `name`: its own and its severity. `service` and
    /// `slo` come with the series it fires on; `slo` is repeated only where
    /// another SLO of the service has an alert of that name (see
    /// [`shared_alert_names`]).
    fn alert_labels(&self, name: &str, severity: &str, labels: &ir::Labels) -> BTreeMap<String, String> {
        let mut l: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.clone(), template_literal(v))).collect();
        l.insert("severity".into(), severity.to_string());
        if self.plan.shared_names.contains(&(self.slo.service.clone(), name.to_string())) {
            l.insert("slo".into(), template_literal(&self.slo.name));
        }
        l
    }

    fn annotations(&self, own: &ir::Labels, summary: String, description: String) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        a.insert("summary".to_string(), summary);
        a.insert("description".to_string(), description);
        if let Some(rb) = &self.slo.runbook {
            a.insert("runbook_url".to_string(), template_literal(rb));
        }
        // The SLO's annotations (a dashboard link…), then the rule's own.
        for (k, v) in self.slo.annotations.iter().chain(own.iter()) {
            a.insert(k.clone(), template_literal(v));
        }
        // An annotation set to "" is left out, as an empty label is: that
        // is how a policy drops the generated `description` (each
        // annotation is a template Prometheus parses, for every alert).
        a.retain(|_, v| !v.is_empty());
        a
    }

    fn who(&self) -> String {
        let groups: String = self.by().iter().map(|g| format!(" {g}={{{{ $labels.{g} }}}}")).collect();
        format!("{}/{}{}", template_literal(&self.slo.service), template_literal(&self.slo.name), groups)
    }

    fn objective_text(&self) -> String {
        format!("objective {} over {}", crate::units::fmt_pct(self.slo.objective), self.slo.window.nominal())
    }

    /// One alert for the tiers `first` and `rest` (indices into the SLO's
    /// alerts, a group of [`joined_tiers`]): their conditions joined with `or`, so it fires
    /// while any of them holds, as Sloth's page and ticket alerts do. It
    /// has no `long_window` label (it has several windows); `$value` is
    /// the long-window error ratio of the first tier that holds.
    fn joined(&self, first: usize, rest: &[usize]) -> Result<AlertRule, OutputError> {
        let b = self.budget();
        let (mut exprs, mut rates, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
        let mut rule = self.alert(&self.slo.alerts[first], AlertSpec::Alert { index: first })?;
        for &index in std::iter::once(&first).chain(rest) {
            let a = &self.slo.alerts[index];
            let expr = if index == first { rule.expr.clone() } else { self.alert(a, AlertSpec::Alert { index })?.expr };
            exprs.push(format!("({expr})"));
            if let AlertCondition::BurnRate { long, short, factor, budget_share } = &a.condition {
                let f = crate::units::fmt_factor(*factor);
                rates.push(format!("{f} ({long} / {short})"));
                pairs.push(format!(
                    "above {} over {long} and {short} ({f} the budget: {} of it gone in {long})",
                    crate::units::fmt_pct(factor * b),
                    crate::units::fmt_pct(*budget_share),
                ));
            }
        }
        let a = &self.slo.alerts[first];
        rule.expr = exprs.join(" or ");
        rule.labels.remove(LONG_WINDOW_LABEL);
        rule.annotations = self.annotations(
            &a.annotations,
            format!("{}: error budget burning at over {}", self.who(), rates.join(" or ")),
            format!(
                "The error ratio over the long window of the first of these that holds is {{{{ $value | humanizePercentage }}}}: {}; for the {}.{}",
                pairs.join(", or "),
                self.objective_text(),
                self.slo.description.as_deref().map(|d| format!(" SLO: {}", template_literal(d))).unwrap_or_default()
            ),
        );
        Ok(rule)
    }

    fn alert(&self, a: &ir::Alert, spec: AlertSpec) -> Result<AlertRule, OutputError> {
        let b = self.budget();
        let (expr, summary, description) = match &a.condition {
            AlertCondition::BurnRate { long, short, factor, budget_share } => {
                let threshold = num(factor * b);
                let mut expr =
                    format!("{} > {threshold} and {} > {threshold}", self.own(ratio(*long)), self.own(ratio(*short)));
                if let Some(n) = a.min_events {
                    let w = guard_window(self.slo, a);
                    expr = format!("{expr} and {} ({} >= {})", self.on_groups(), self.events_in(w), num(n));
                }
                let f = crate::units::fmt_factor(*factor);
                (
                    expr,
                    format!("{}: error budget burning at over {f} ({} / {})", self.who(), long, short),
                    format!(
                        "The error ratio over {} is {{{{ $value | humanizePercentage }}}}, above {} ({f} the budget of the {}); at this rate {} of the budget is gone in {}.{}",
                        long,
                        crate::units::fmt_pct(factor * b),
                        self.objective_text(),
                        crate::units::fmt_pct(*budget_share),
                        long,
                        self.slo.description.as_deref().map(|d| format!(" SLO: {}", template_literal(d))).unwrap_or_default()
                    ),
                )
            }
            AlertCondition::Threshold(c) => {
                let mut expr = self.cond(c)?;
                if let Some(n) = a.min_events {
                    let w = guard_window(self.slo, a);
                    expr = format!("{expr} and {} ({} >= {})", self.on_groups(), self.events_in(w), num(n));
                }
                (
                    expr,
                    format!("{}: {}", self.who(), a.name),
                    format!(
                        "{} holds (value {{{{ $value | humanize }}}}); {}.{}",
                        cond_text(c),
                        self.objective_text(),
                        self.slo
                            .description
                            .as_deref()
                            .map(|d| format!(" SLO: {}", template_literal(d)))
                            .unwrap_or_default()
                    ),
                )
            }
        };
        Ok(AlertRule {
            alert: a.name.clone(),
            expr,
            for_: (a.for_ > Duration::default()).then_some(a.for_),
            keep_firing_for: (a.keep_firing_for > Duration::default()).then_some(a.keep_firing_for),
            labels: {
                let mut l = self.alert_labels(&a.name, &a.severity, &a.labels);
                if let AlertCondition::BurnRate { long, .. } = &a.condition {
                    l.insert(LONG_WINDOW_LABEL.into(), long.to_string());
                }
                l
            },
            annotations: self.annotations(&a.annotations, summary, description),
            spec,
        })
    }

    /// One alert per action of a budget-policy rule, its labels carrying
    /// the action (`action="freeze"`) and its target.
    fn policy(&self, rule: usize, p: &ir::PolicyRule) -> Result<Vec<Rule>, OutputError> {
        let expr = self.cond(&p.condition)?;
        let mut out = Vec::new();
        for (index, action) in p.actions.iter().enumerate() {
            let mut labels = self.alert_labels(&p.name, &p.severity, &p.labels);
            labels.insert("action".into(), action.kind.as_str().into());
            labels.insert("policy".into(), template_literal(&p.policy));
            if let Some(t) = &action.target {
                let key = match action.kind {
                    ir::ActionKind::Notify | ir::ActionKind::Page | ir::ActionKind::Ticket => "receiver",
                    _ => "action_target",
                };
                labels.insert(key.into(), template_literal(t));
            }
            let what = match (&action.kind, &action.target) {
                (ir::ActionKind::Freeze, Some(t)) => format!("freeze {}", template_literal(t)),
                (k, Some(t)) => format!("{} {}", k.as_str(), template_literal(t)),
                (k, None) => k.as_str().to_string(),
            };
            out.push(Rule::Alert(AlertRule {
                alert: p.name.clone(),
                expr: expr.clone(),
                for_: None,
                keep_firing_for: None,
                labels,
                annotations: self.annotations(
                    &p.annotations,
                    format!("{}: budget policy {} says {what}", self.who(), template_literal(&p.policy)),
                    format!(
                        "{} holds (value {{{{ $value | humanize }}}}); {}.",
                        cond_text(&p.condition),
                        self.objective_text()
                    ),
                ),
                spec: AlertSpec::Action { rule, action: index },
            }));
        }
        Ok(out)
    }
}

/// What this backend cannot express for an SLO, if anything.
pub fn unsupported(slo: &ir::Slo) -> Option<OutputError> {
    let composite = matches!(slo.sli, ir::Sli::Composite { .. });
    let incident = slo
        .alerts
        .iter()
        .filter_map(|a| match &a.condition {
            AlertCondition::Threshold(c) => Some(c),
            _ => None,
        })
        .chain(slo.policy_rules.iter().map(|p| &p.condition))
        .any(|c| c.all.iter().any(|x| x.lhs == SloQuantity::IncidentShare));
    let err = |what: String| {
        Some(OutputError::Unsupported { slo: format!("{}.{}", slo.service, slo.name), what, span: slo.span })
    };
    if composite && incident {
        return err("`incident_share` needs the SLO's own event counts; a composite has none".into());
    }
    if let ir::Sli::Timeslices { .. } = slo.sli {
        if slo.alerts.iter().any(|a| a.min_events.is_some()) {
            return err(
                "`min_events` counts events, and a timeslices SLI has slices, not events: drop the guard".into()
            );
        }
    }
    None
}

/// Whether the evaluation interval can judge every slice of the SLO.
pub(crate) fn slices_fit(slo: &ir::Slo, eval_interval: Duration) -> Option<OutputError> {
    let slice = slo.slice()?;
    (slice.ms() % eval_interval.ms() != 0).then(|| OutputError::Unsupported {
        slo: format!("{}.{}", slo.service, slo.name),
        what: format!(
            "its {} slices are not a whole number of {} evaluation intervals, so some slices would never be judged; use an --eval-interval that divides the slice",
            slice,
            eval_interval
        ),
        span: slo.span,
    })
}

/// The month, week or quarter an instant falls in, as a PromQL vector of
/// `local` (seconds since the epoch, shifted to local time).
fn period_id(unit: ir::CalendarUnit, local: &str) -> String {
    match unit {
        ir::CalendarUnit::Month => format!("month(vector({local}))"),
        // Weeks start on Monday; 1970-01-05 was one.
        ir::CalendarUnit::Week => format!("floor(vector(({local} + 259200) / 604800))"),
        ir::CalendarUnit::Quarter => format!("floor((month(vector({local})) - 1) / 3)"),
    }
}

/// First and last instants whose UTC offsets are spelled out.
const TZ_FROM: i64 = 1_577_836_800; // 2020-01-01T00:00:00Z
const TZ_UNTIL: i64 = 2_208_988_800; // 2040-01-01T00:00:00Z

/// `at` (a PromQL scalar of UTC seconds) shifted by the zone's UTC offset
/// at that instant: the offset in 2020 plus a step at every transition.
pub(crate) fn local_seconds(tz: &str, at: &str) -> String {
    let Ok(zone) = jiff::tz::TimeZone::get(tz) else { return at.to_string() };
    let from = jiff::Timestamp::from_second(TZ_FROM).expect("valid instant");
    let mut offset = zone.to_offset(from).seconds() as i64;
    let mut out = if offset == 0 { at.to_string() } else { format!("{at} + {offset}") };
    for t in zone.following(from) {
        let ts = t.timestamp().as_second();
        if ts >= TZ_UNTIL {
            break;
        }
        let next = t.offset().seconds() as i64;
        if next != offset {
            out.push_str(&format!(" + ({at} >= bool {ts}) * {}", next - offset));
            offset = next;
        }
    }
    format!("({out})")
}

pub(crate) fn cond_text(c: &ir::SloCond) -> String {
    c.all
        .iter()
        .map(|cmp| {
            let (q, pct) = match cmp.lhs {
                SloQuantity::Sli { window } => (format!("SLI over {window}"), true),
                SloQuantity::ErrorRatio { window } => (format!("error ratio over {window}"), true),
                SloQuantity::BurnRate { window } => (format!("burn rate over {window}"), false),
                SloQuantity::BudgetRemaining => ("budget remaining".into(), true),
                SloQuantity::BudgetConsumed => ("budget consumed".into(), true),
                SloQuantity::IncidentShare => ("budget share of the last day".into(), true),
            };
            let v = if pct { crate::units::fmt_pct(cmp.rhs) } else { crate::units::fmt_factor(cmp.rhs) };
            format!("{q} {} {v}", cmp.op.as_str())
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn describe(slo: &ir::Slo) -> (&'static str, String) {
    let kind = match slo.sli {
        ir::Sli::Events { .. } => "events",
        ir::Sli::Latency { .. } => "latency",
        ir::Sli::Gauge { .. } => "gauge",
        ir::Sli::Timeslices { .. } => "timeslices",
        ir::Sli::Composite { .. } => "composite",
    };
    let budgeting = match &slo.budgeting {
        ir::Budgeting::Occurrences => "occurrences".to_string(),
        ir::Budgeting::Timeslices { slice, .. } => format!("timeslices/{slice}"),
        ir::Budgeting::RatioTimeslices { slice } => format!("ratio_timeslices/{slice}"),
    };
    (kind, budgeting)
}

#[cfg(test)]
mod tests {
    use super::k_of_n_terms;

    #[test]
    fn k_of_n_terms_count_the_small_subsets_without_overflow() {
        // 2 of 3: {} and the three singletons.
        assert_eq!(k_of_n_terms(3, 2), 4);
        assert_eq!(k_of_n_terms(3, 3), 7);
        assert_eq!(k_of_n_terms(32, 1), 1);
        // 11 of 22: Σ_{m<11} C(22, m) = (2^22 − C(22, 11)) / 2.
        assert_eq!(k_of_n_terms(22, 11), ((1u128 << 22) - 705_432) / 2);
        assert_eq!(k_of_n_terms(32, 33), (1u128 << 32));
        assert!(k_of_n_terms(200, 100) > 1u128 << 100);
    }
}
