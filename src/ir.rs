//! The typed, resolved program: what every backend lowers.
//!
//! Produced by [`crate::sema::check`]. Templates are expanded, names are
//! resolved, units are normalised (ratios in [0, 1], durations as
//! [`Duration`]s, rates per second, latencies in seconds), alert tiers carry
//! their computed burn factor for their SLO's window, and every default is
//! applied. Nothing here is optional because it is "not computed yet": an
//! `Option` means the user may leave it out.
//!
//! Spans are kept for backends' own diagnostics but not serialized, so two
//! programs that mean the same serialize the same (`fmt` then `check` gives
//! the same IR).

use crate::source::Span;
use crate::units::{serialize_ms, Duration};
use serde::Serialize;
/// A label set: names to values, kept sorted by name. A sorted vector, not
/// a `BTreeMap`: alerts carry a few labels each, and a B-tree node costs
/// half a kilobyte even for one entry (10,000 SLOs have ~100,000 of them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn new() -> Labels {
        Labels::default()
    }
    fn find(&self, k: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(k))
    }
    /// Sets `k` to `v`, returning the old value.
    pub fn insert(&mut self, k: String, v: String) -> Option<String> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }
    /// Sets `k` unless it is set already.
    pub fn insert_if_absent(&mut self, k: &str, v: impl FnOnce() -> String) {
        if let Err(i) = self.find(k) {
            self.0.insert(i, (k.to_string(), v()));
        }
    }
    pub fn get(&self, k: &str) -> Option<&String> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, k: &str) -> bool {
        self.find(k).is_ok()
    }
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<(String, String)> for Labels {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for Labels {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(String, String)> for Labels {
    /// Sorts once (a later pair wins over an earlier one of the same name).
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Labels {
        let mut v: Vec<(String, String)> = iter.into_iter().collect();
        v.reverse();
        v.sort_by(|a, b| a.0.cmp(&b.0)); // stable: the last given comes first
        v.dedup_by(|b, a| a.0 == b.0);
        Labels(v)
    }
}

/// Serializes as a JSON object, in name order.
impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Program {
    /// Sorted by name.
    pub services: Vec<Service>,
    /// Sorted by (service, name).
    pub slos: Vec<Slo>,
}

impl Program {
    /// The SLO `service.name` (binary search: `slos` is sorted).
    pub fn slo(&self, service: &str, name: &str) -> Option<&Slo> {
        self.slos
            .binary_search_by(|s| (s.service.as_str(), s.name.as_str()).cmp(&(service, name)))
            .ok()
            .map(|i| &self.slos[i])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    pub owner: Option<String>,
    pub runbook: Option<String>,
    pub description: Option<String>,
    pub labels: Labels,
    /// How often Prometheus scrapes the service's targets (`scrape_interval`,
    /// default [`DEFAULT_SCRAPE_INTERVAL`]): a `rate` range must hold two
    /// samples.
    #[serde(rename = "scrape_interval_ms", serialize_with = "serialize_ms")]
    pub scrape_interval: Duration,
    #[serde(skip)]
    pub span: Span,
}

/// The scrape interval a service has unless it says otherwise: 30s, the
/// default of kube-prometheus-stack's ServiceMonitors (Prometheus's own
/// global default is 1m; a service scraped that slowly says so).
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_ms(30_000);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slo {
    pub service: String,
    pub name: String,
    pub description: Option<String>,
    /// The service's labels overlaid with the SLO's own.
    pub labels: Labels,
    pub annotations: Labels,
    /// The SLO's runbook, else the service's.
    pub runbook: Option<String>,
    /// Objective as a ratio in (0, 1), e.g. 0.999.
    pub objective: f64,
    pub window: Window,
    pub budgeting: Budgeting,
    pub sli: Sli,
    /// Labels the SLO is evaluated separately for, each with its own budget.
    pub group_by: Vec<String>,
    pub alerts: Vec<Alert>,
    pub policy_rules: Vec<PolicyRule>,
    /// The template it was instantiated from, if any.
    pub template: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

impl Slo {
    /// Error budget as a ratio: 1 − objective.
    pub fn budget(&self) -> f64 {
        1.0 - self.objective
    }

    /// The length of its slices: a timeslice SLI's, else timeslice
    /// budgeting's; `None` when it counts events.
    pub fn slice(&self) -> Option<Duration> {
        match (&self.sli, &self.budgeting) {
            (Sli::Timeslices { slice, .. }, _) => Some(*slice),
            (_, Budgeting::Timeslices { slice, .. } | Budgeting::RatioTimeslices { slice }) => Some(*slice),
            (
                Sli::Events { .. } | Sli::Latency { .. } | Sli::Gauge { .. } | Sli::Composite { .. },
                Budgeting::Occurrences,
            ) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Window {
    Rolling {
        #[serde(rename = "ms", serialize_with = "serialize_ms")]
        length: Duration,
    },
    Calendar {
        unit: CalendarUnit,
        tz: String,
    },
}

impl Window {
    /// Length used for budget arithmetic: the rolling length, or the
    /// nominal length of a calendar period (7d, 30d, 91d).
    pub fn nominal(&self) -> Duration {
        const DAY: u64 = 86_400_000;
        match self {
            Window::Rolling { length } => *length,
            Window::Calendar { unit: CalendarUnit::Week, .. } => Duration::from_ms(7 * DAY),
            Window::Calendar { unit: CalendarUnit::Month, .. } => Duration::from_ms(30 * DAY),
            Window::Calendar { unit: CalendarUnit::Quarter, .. } => Duration::from_ms(91 * DAY),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CalendarUnit {
    Week,
    Month,
    Quarter,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Budgeting {
    Occurrences,
    /// A slice is good iff its ratio reaches `target`; SLI = good slices / slices.
    Timeslices {
        #[serde(rename = "slice_ms", serialize_with = "serialize_ms")]
        slice: Duration,
        target: f64,
    },
    /// SLI = mean of the slices' ratios.
    RatioTimeslices {
        #[serde(rename = "slice_ms", serialize_with = "serialize_ms")]
        slice: Duration,
    },
}

impl std::fmt::Display for Budgeting {
    /// As the source writes it: `occurrences`, `timeslices(1m, 95%)`,
    /// `ratio_timeslices(5m)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budgeting::Occurrences => f.write_str("occurrences"),
            Budgeting::Timeslices { slice, target } => {
                write!(f, "timeslices({slice}, {})", crate::units::fmt_pct(*target))
            }
            Budgeting::RatioTimeslices { slice } => write!(f, "ratio_timeslices({slice})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Sli {
    /// Σgood/Σtotal over counters; `bad` selectors are kept as they are
    /// (good = total − bad).
    Events {
        numerator: EventsNumerator,
        total: Selector,
    },
    /// Requests faster than `below_seconds` from a histogram. Classic:
    /// good = `<histogram>_bucket{le=below}`, total = `<histogram>_count`;
    /// native: good = `histogram_fraction(0, below, h) * histogram_count(h)`,
    /// total = `histogram_count(h)`.
    Latency {
        histogram: Selector,
        below_seconds: f64,
        #[serde(skip_serializing_if = "HistogramKind::is_classic")]
        kind: HistogramKind,
    },
    /// A 0/1 gauge such as `up` or `probe_success`: its average is the SLI.
    Gauge {
        series: Selector,
    },
    /// good slices / slices, a slice being good when `good` holds.
    Timeslices {
        #[serde(rename = "slice_ms", serialize_with = "serialize_ms")]
        slice: Duration,
        good: SliceCond,
    },
    Composite {
        combine: Combine,
        components: Vec<SloRef>,
    },
}

/// How a latency SLI's histogram is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HistogramKind {
    /// `_bucket{le}` counters and `_count`, one series per bucket.
    Classic,
    /// One series of native (sparse, exponential-bucket) histogram samples
    /// (`native = true`); Prometheus 3, or 2.40+ with the feature flag.
    Native,
}

impl HistogramKind {
    pub fn is_classic(&self) -> bool {
        *self == HistogramKind::Classic
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum EventsNumerator {
    Good(Selector),
    Bad(Selector),
}

impl Sli {
    /// Every selector the SLI reads.
    pub fn selectors(&self) -> Vec<&Selector> {
        match self {
            Sli::Events { numerator: EventsNumerator::Good(n) | EventsNumerator::Bad(n), total } => {
                vec![n, total]
            }
            Sli::Latency { histogram, .. } => vec![histogram],
            Sli::Gauge { series } => vec![series],
            Sli::Timeslices { good, .. } => good
                .all
                .iter()
                .flat_map(|c| match &c.lhs {
                    SliceQuantity::Rate(s)
                    | SliceQuantity::Increase(s)
                    | SliceQuantity::Avg(s)
                    | SliceQuantity::Min(s)
                    | SliceQuantity::Max(s) => vec![s],
                    SliceQuantity::Quantile { histogram, .. } => vec![histogram],
                    SliceQuantity::Ratio { numerator, denominator } => vec![numerator, denominator],
                })
                .collect(),
            Sli::Composite { .. } => vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Combine {
    /// Product of the components' SLIs.
    Serial,
    /// Weighted mean of the components' error ratios; weights sum to 1.
    Weighted(Vec<f64>),
    /// Good when at least k of the n components are good (n at most
    /// [`Combine::K_OF_N_MAX_COMPONENTS`]).
    KOfN(u32),
}

impl Combine {
    /// The composite's error ratio from its components' (independent)
    /// error ratios, in their order: what the compiled rules compute in
    /// PromQL (`promql::rules`), for figures computed outside the rules.
    pub fn error_ratio(&self, es: &[f64]) -> f64 {
        match self {
            Combine::Serial => 1.0 - es.iter().map(|e| 1.0 - e).product::<f64>(),
            Combine::Weighted(ws) => es.iter().zip(ws).map(|(e, w)| e * w).sum(),
            Combine::KOfN(k) => {
                // P(fewer than k good): the Poisson-binomial distribution
                // of the number of good components.
                let mut dist = vec![1.0];
                for e in es {
                    let mut next = vec![0.0; dist.len() + 1];
                    for (m, q) in dist.iter().enumerate() {
                        next[m] += q * e;
                        next[m + 1] += q * (1.0 - e);
                    }
                    dist = next;
                }
                dist.iter().take(*k as usize).sum()
            }
        }
    }

    /// Most components a k-of-n composite may have: its rules grow as n·k
    /// (the recurrence in `promql::rules`), about 3,000 at 32 of 16.
    pub const K_OF_N_MAX_COMPONENTS: usize = 32;
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SloRef {
    pub service: String,
    pub name: String,
}

/// Comparisons that must all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceCond {
    pub all: Vec<SliceCmp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceCmp {
    pub lhs: SliceQuantity,
    pub op: CmpOp,
    /// In the quantity's SI unit (per second, seconds, ratio, number).
    pub rhs: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SliceQuantity {
    /// sum(rate(sel[slice])), per second.
    Rate(Selector),
    /// sum(increase(sel[slice])).
    Increase(Selector),
    /// histogram_quantile(q, sum by (le) (rate(histogram_bucket[slice]))), seconds.
    Quantile {
        q: f64,
        histogram: Selector,
    },
    /// sum(increase(num)) / sum(increase(den)), ratio.
    Ratio {
        numerator: Selector,
        denominator: Selector,
    },
    Avg(Selector),
    Min(Selector),
    Max(Selector),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// `lhs op rhs`, as PromQL's filtering comparison decides it.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// A PromQL instant-vector selector with unescaped matcher values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selector {
    pub metric: Option<String>,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchOp {
    Eq,
    Ne,
    Re,
    NotRe,
}

impl Matcher {
    /// The regex as Prometheus runs it: anchored at both ends.
    pub fn anchored_regex(&self) -> Option<String> {
        matches!(self.op, MatchOp::Re | MatchOp::NotRe).then(|| format!("^(?s:{})$", self.value))
    }
}

/// The severities an alert may have.
pub const SEVERITIES: [&str; 5] = ["page", "ticket", "critical", "warning", "info"];

/// One alerting rule of one SLO, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The alert name (`alertname` label).
    pub name: String,
    /// The alert policy it came from.
    pub policy: String,
    pub condition: AlertCondition,
    pub severity: String,
    #[serde(rename = "for_ms", serialize_with = "serialize_ms")]
    pub for_: Duration,
    #[serde(rename = "keep_firing_for_ms", serialize_with = "serialize_ms")]
    pub keep_firing_for: Duration,
    /// Routing and user labels (severity, slo and service are added by backends).
    pub labels: Labels,
    /// The policy's and the rule's own annotations. Backends add
    /// `runbook_url` from [`Slo::runbook`] unless one is set here.
    pub annotations: Labels,
    /// Minimum events in the long window before the alert may fire.
    pub min_events: Option<f64>,
    /// Its policy says `join_tiers = true`: a burn-rate tier alike but for
    /// its windows and burn rate to other tiers of the SLO fires with them
    /// as one alert (see [`crate::promql::rules::joined_tiers`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub join_tiers: bool,
}

impl Alert {
    /// The windows its condition reads: a tier's long and short window, a
    /// threshold's windowed quantities.
    pub fn windows(&self) -> Vec<Duration> {
        match &self.condition {
            AlertCondition::BurnRate { long, short, .. } => vec![*long, *short],
            AlertCondition::Threshold(c) => c.windows().collect(),
        }
    }

    /// Its longest window, if it reads any.
    pub fn long_window(&self) -> Option<Duration> {
        self.windows().into_iter().max()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AlertCondition {
    /// Multiwindow burn-rate tier: fire when the burn rate over both windows
    /// exceeds `factor`. `budget_share` is the share of the budget spent at
    /// that rate over the long window (factor × long / SLO window).
    BurnRate {
        #[serde(rename = "long_ms", serialize_with = "serialize_ms")]
        long: Duration,
        #[serde(rename = "short_ms", serialize_with = "serialize_ms")]
        short: Duration,
        factor: f64,
        budget_share: f64,
    },
    /// A condition on SLO quantities.
    Threshold(SloCond),
}

/// Comparisons on SLO quantities that must all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloCond {
    pub all: Vec<SloCmp>,
}

impl SloCond {
    /// The windows its quantities read (SLI, error ratio and burn rate over a window).
    pub fn windows(&self) -> impl Iterator<Item = Duration> + '_ {
        self.all.iter().filter_map(|x| match x.lhs {
            SloQuantity::Sli { window } | SloQuantity::ErrorRatio { window } | SloQuantity::BurnRate { window } => {
                Some(window)
            }
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloCmp {
    pub lhs: SloQuantity,
    pub op: CmpOp,
    /// A ratio for SLI, error ratio, budget and share quantities; a factor
    /// for burn rates.
    pub rhs: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SloQuantity {
    Sli {
        #[serde(rename = "window_ms", serialize_with = "serialize_ms")]
        window: Duration,
    },
    ErrorRatio {
        #[serde(rename = "window_ms", serialize_with = "serialize_ms")]
        window: Duration,
    },
    BurnRate {
        #[serde(rename = "window_ms", serialize_with = "serialize_ms")]
        window: Duration,
    },
    BudgetRemaining,
    BudgetConsumed,
    /// Share of the window's budget spent by the current incident.
    IncidentShare,
}

/// One rule of an error-budget policy, for one SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRule {
    pub name: String,
    pub policy: String,
    pub condition: SloCond,
    pub actions: Vec<PolicyAction>,
    pub severity: String,
    pub labels: Labels,
    pub annotations: Labels,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyAction {
    pub kind: ActionKind,
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Freeze,
    Review,
    Notify,
    Page,
    Ticket,
    Postmortem,
}

impl ActionKind {
    pub const ALL: [(&'static str, ActionKind); 6] = [
        ("freeze", ActionKind::Freeze),
        ("review", ActionKind::Review),
        ("notify", ActionKind::Notify),
        ("page", ActionKind::Page),
        ("ticket", ActionKind::Ticket),
        ("postmortem", ActionKind::Postmortem),
    ];
    pub fn as_str(self) -> &'static str {
        ActionKind::ALL.iter().find(|(_, k)| *k == self).map(|(n, _)| *n).unwrap_or("?")
    }
}

/// The window an alert's `min_events` guard counts valid events over: its
/// longest window, else the current window (`slo:burn_rate:current`).
pub fn guard_window(slo: &Slo, a: &Alert) -> Duration {
    a.long_window().unwrap_or_else(|| current_window(slo))
}

/// The window of `slo:burn_rate:current`: 1h, or the SLO window if shorter.
pub fn current_window(slo: &Slo) -> Duration {
    Duration::from_ms(3_600_000).min(slo.window.nominal())
}
