//! The recorded series of the compiled rules, as a type.
//!
//! Every series name the Prometheus backend records (`slo:sli_error:ratio_rate5m`,
//! `slo:period_error:ratio`, …) is a [`Series`], and [`Series::name`] (also
//! its `Display`) is the one place such a name is printed. The rules carry
//! the type ([`super::rules::RecordRule::record`]), the backtester's store
//! carries it on every recorded series it holds, and the analysis, the
//! report and the Grafana dashboards key series by it: a window is a number
//! of milliseconds carried by the variant, never a suffix cut off a string
//! and parsed again. Nothing reads a name back but the tests (which prove
//! the printing one-to-one) and the distributed backtest's wire format
//! ([`Series::parse`]). What each series means is explained in
//! [`super::rules`].

use crate::units::Duration;
use std::fmt;

/// Which events a bucket series or a calendar accumulator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Events {
    /// Bad events (or bad slices).
    Bad,
    /// Valid events (or slices).
    Total,
}

impl Events {
    fn as_str(self) -> &'static str {
        match self {
            Events::Bad => "bad",
            Events::Total => "total",
        }
    }

    fn parse(s: &str) -> Option<Events> {
        match s {
            "bad" => Some(Events::Bad),
            "total" => Some(Events::Total),
            _ => None,
        }
    }
}

/// What a split's local slice series holds, per cluster, over a slice: the
/// parts from which the global part computes a timeslice condition's
/// quantity exactly (see [`super::split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlicePart {
    /// `sum(rate(…))`.
    Rate,
    /// `sum(increase(…))`.
    Increase,
    /// A ratio's `sum(increase(numerator))`.
    Numerator,
    /// A ratio's `sum(increase(denominator))`.
    Denominator,
    /// `sum(avg_over_time(…))`: an `avg`'s numerator.
    AvgSum,
    /// `count(avg_over_time(…))`: an `avg`'s denominator.
    AvgCount,
    /// `min(min_over_time(…))`.
    Min,
    /// `max(max_over_time(…))`.
    Max,
    /// `sum by (le) (rate(…_bucket))`: a quantile's buckets.
    Buckets,
}

impl SlicePart {
    pub(crate) const ALL: [SlicePart; 9] = [
        SlicePart::Rate,
        SlicePart::Increase,
        SlicePart::Numerator,
        SlicePart::Denominator,
        SlicePart::AvgSum,
        SlicePart::AvgCount,
        SlicePart::Min,
        SlicePart::Max,
        SlicePart::Buckets,
    ];

    /// (what, how): `slo:window_slice0_<what>:<how><window>`.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            SlicePart::Rate => ("rate", "sum"),
            SlicePart::Increase => ("increase", "sum"),
            SlicePart::Numerator => ("numerator", "increase"),
            SlicePart::Denominator => ("denominator", "increase"),
            SlicePart::AvgSum => ("avg", "sum"),
            SlicePart::AvgCount => ("avg", "count"),
            SlicePart::Min => ("min", "min"),
            SlicePart::Max => ("max", "max"),
            SlicePart::Buckets => ("bucket", "rate"),
        }
    }
}

/// One recorded series of an SLO's rule group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Series {
    /// `slo:sli_events_bad:increase5m`, `slo:sli_events_total:increase5m`:
    /// the events of the last bucket of `bucket`.
    Bucket { events: Events, bucket: Duration },
    /// `slo:window_bad:increase1h`, `slo:window_total:increase1h`: a
    /// multi-cluster split's local series, the events of one cluster over
    /// the last `window`, recorded at every evaluation (the global part
    /// sums them over the clusters).
    WindowEvents { events: Events, window: Duration },
    /// `slo:window_slice0_avg:sum1m`, `slo:window_slice0_avg:count1m`, …: a
    /// multi-cluster split's local series for a timeslices SLI, one
    /// `part` of condition `cond`'s quantity over the slice `window`, per
    /// cluster (the global part combines the clusters' parts).
    SliceLocal { cond: usize, part: SlicePart, window: Duration },
    /// `slo:sli_error:ratio_rate1h`: the error ratio over `window`.
    ErrorRatio { window: Duration },
    /// `slo:k_of_n_p3_1:ratio_rate1h`: a step of a large k-of-n composite's
    /// recurrence over `window`, P(`good` of the first `components`
    /// components good).
    KOfN { components: usize, good: usize, window: Duration },
    /// `slo:period_error:ratio`: the error ratio over the SLO window.
    PeriodErrorRatio,
    /// `slo:objective:ratio`.
    Objective,
    /// `slo:error_budget:ratio`: `1 − objective`.
    ErrorBudget,
    /// `slo:error_budget_remaining:ratio`.
    BudgetRemaining,
    /// `slo:burn_rate:current`.
    BurnRateCurrent,
    /// `slo:burn_rate:period`.
    BurnRatePeriod,
    /// `slo:info`.
    Info,
    /// `slo:calendar_bad:sum`, `slo:calendar_total:sum`: a calendar
    /// window's running sums.
    CalendarSum(Events),
    /// `slo:calendar_period:id`: the calendar period of the last evaluation.
    CalendarPeriodId,
}

const RATIO_RATE: &str = "ratio_rate";

/// Serialises a series as its name (for rule structs that derive `Serialize`).
pub(crate) fn serialize_series<S: serde::Serializer>(series: &Series, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(series)
}

impl Series {
    /// The recorded series name.
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The series a recorded name denotes; `None` for any other name
    /// (including a window not spelled the way [`Series::name`] spells it).
    /// The distributed backtest's wire format carries a rule's series by
    /// its name (`backtest::distributed::job`); the tests prove the
    /// printing one-to-one.
    pub(crate) fn parse(name: &str) -> Option<Series> {
        let rest = name.strip_prefix("slo:")?;
        if rest == "info" {
            return Some(Series::Info);
        }
        let (kind, suffix) = rest.split_once(':')?;
        let window = |s: &str| -> Option<Duration> { s.strip_prefix(RATIO_RATE)?.parse().ok() };
        let series = match (kind, suffix) {
            ("sli_error", s) => Series::ErrorRatio { window: window(s)? },
            ("period_error", "ratio") => Series::PeriodErrorRatio,
            ("objective", "ratio") => Series::Objective,
            ("error_budget", "ratio") => Series::ErrorBudget,
            ("error_budget_remaining", "ratio") => Series::BudgetRemaining,
            ("burn_rate", "current") => Series::BurnRateCurrent,
            ("burn_rate", "period") => Series::BurnRatePeriod,
            ("calendar_period", "id") => Series::CalendarPeriodId,
            (k, s) => {
                if let Some(rest) = k.strip_prefix("window_slice") {
                    let (cond, what) = rest.split_once('_')?;
                    let part = SlicePart::ALL.into_iter().find(|p| {
                        let (w, h) = p.names();
                        w == what && s.starts_with(h)
                    })?;
                    let how = part.names().1;
                    Series::SliceLocal { cond: cond.parse().ok()?, part, window: s.strip_prefix(how)?.parse().ok()? }
                } else if let Some(which) = k.strip_prefix("window_") {
                    Series::WindowEvents {
                        events: Events::parse(which)?,
                        window: s.strip_prefix("increase")?.parse().ok()?,
                    }
                } else if let Some(which) = k.strip_prefix("sli_events_") {
                    Series::Bucket { events: Events::parse(which)?, bucket: s.strip_prefix("increase")?.parse().ok()? }
                } else if let Some(which) = k.strip_prefix("calendar_") {
                    if s != "sum" {
                        return None;
                    }
                    Series::CalendarSum(Events::parse(which)?)
                } else if let Some(jm) = k.strip_prefix("k_of_n_p") {
                    let (j, m) = jm.split_once('_')?;
                    Series::KOfN { components: j.parse().ok()?, good: m.parse().ok()?, window: window(s)? }
                } else {
                    return None;
                }
            }
        };
        // Only the spelling `name` prints: `ratio_rate60m` is not a series.
        (series.name() == name).then_some(series)
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Series::Bucket { events, bucket } => write!(f, "slo:sli_events_{}:increase{bucket}", events.as_str()),
            Series::WindowEvents { events, window } => write!(f, "slo:window_{}:increase{window}", events.as_str()),
            Series::SliceLocal { cond, part, window } => {
                let (what, how) = part.names();
                write!(f, "slo:window_slice{cond}_{what}:{how}{window}")
            }
            Series::ErrorRatio { window } => write!(f, "slo:sli_error:{RATIO_RATE}{window}"),
            Series::KOfN { components, good, window } => {
                write!(f, "slo:k_of_n_p{components}_{good}:{RATIO_RATE}{window}")
            }
            Series::PeriodErrorRatio => f.write_str("slo:period_error:ratio"),
            Series::Objective => f.write_str("slo:objective:ratio"),
            Series::ErrorBudget => f.write_str("slo:error_budget:ratio"),
            Series::BudgetRemaining => f.write_str("slo:error_budget_remaining:ratio"),
            Series::BurnRateCurrent => f.write_str("slo:burn_rate:current"),
            Series::BurnRatePeriod => f.write_str("slo:burn_rate:period"),
            Series::Info => f.write_str("slo:info"),
            Series::CalendarSum(events) => write!(f, "slo:calendar_{}:sum", events.as_str()),
            Series::CalendarPeriodId => f.write_str("slo:calendar_period:id"),
        }
    }
}

/// What an alerting rule of an SLO's group stands for, as indices into
/// that SLO's IR ([`crate::ir::Slo`]): the typed condition, thresholds and
/// durations live there, so consumers (the backtest report, the analysis)
/// read them from the IR instead of decoding the rule's labels or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertSpec {
    /// The SLO's `alerts[index]`: a burn-rate tier or a threshold condition.
    Alert { index: usize },
    /// Action `action` of the SLO's `policy_rules[rule]`.
    Action { rule: usize, action: usize },
}

#[cfg(test)]
mod tests {
    use super::{Events, Series, SlicePart};

    fn all() -> Vec<Series> {
        let mut v = Vec::new();
        for ms in [60_000, 300_000, 900_000, 3_600_000, 5_400_000, 86_400_000, 28 * 86_400_000, 500] {
            let d = crate::units::Duration::from_ms(ms);
            for events in [Events::Bad, Events::Total] {
                v.push(Series::Bucket { events, bucket: d });
                v.push(Series::WindowEvents { events, window: d });
            }
            for part in SlicePart::ALL {
                v.push(Series::SliceLocal { cond: 0, part, window: d });
                v.push(Series::SliceLocal { cond: 12, part, window: d });
            }
            v.push(Series::ErrorRatio { window: d });
            v.push(Series::KOfN { components: 3, good: 0, window: d });
            v.push(Series::KOfN { components: 21, good: 10, window: d });
        }
        v.extend([
            Series::PeriodErrorRatio,
            Series::Objective,
            Series::ErrorBudget,
            Series::BudgetRemaining,
            Series::BurnRateCurrent,
            Series::BurnRatePeriod,
            Series::Info,
            Series::CalendarSum(Events::Bad),
            Series::CalendarSum(Events::Total),
            Series::CalendarPeriodId,
        ]);
        v
    }

    #[test]
    fn every_series_reads_back_as_itself() {
        for s in all() {
            assert_eq!(Series::parse(&s.name()), Some(s), "{s}");
        }
    }

    #[test]
    fn other_names_and_other_spellings_are_not_series() {
        for name in [
            "slo:sli_error:ratio_rate60m",
            "slo:sli_error:ratio_rate",
            "slo:sli_events_good:increase5m",
            "slo:window_good:increase5m",
            "slo:window_bad:rate5m",
            "slo:window_slice0_avg:min5m",
            "slo:window_slice_rate:sum5m",
            "slo:window_slicex_rate:sum5m",
            "slo:calendar_bad:ratio",
            "slo:info:x",
            "slo:k_of_n_p3:ratio_rate1h",
            "http_requests_total",
            "slo:period_error:ratio ",
        ] {
            assert_eq!(Series::parse(name), None, "{name}");
        }
    }

    /// Every series the shipped examples compile to is a [`Series`].
    #[test]
    fn every_compiled_example_series_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/snapshots");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("snapshots") {
            let path = entry.expect("entry").path();
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            for line in text.lines() {
                let Some(rest) = line.trim_start().trim_start_matches("- ").strip_prefix("record: ") else { continue };
                let name = rest.trim().trim_matches('"');
                assert!(Series::parse(name).is_some(), "{name} in {}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 100, "only {seen} recorded series found");
    }
}
