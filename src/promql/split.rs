//! Multi-cluster splits: each cluster's Prometheus records what only it can
//! see, and one global ruler (Thanos Ruler, the Mimir ruler) turns the
//! clusters' records into the SLO's ratios, budget and alerts.
//!
//! `slo compile --split local` writes the **local part**, `--split global`
//! the **global part**; each run writes one part into its own `--out`
//! directory (they are deployed to different servers). Both are cut from
//! the same rule groups ([`super::rules`]):
//!
//! - every read of a raw series in the whole group — the bucket series'
//!   `increase`s, the `rate`s of the window ratios up to 6h (and of every
//!   window under timeslice budgeting, and of the slice), the traffic
//!   guards' `increase` — becomes a read of a *local series*
//!   `slo:window_bad:increaseW` / `slo:window_total:increaseW` summed over
//!   the clusters: `sum by (<group_by>) (slo:window_bad:increase5m{service=…, slo=…})`.
//!   A ratio `rate(bad)/rate(total)` becomes `Σ increase(bad) / Σ increase(total)`:
//!   the same number (both rates divide by the same range), up to rounding.
//! - the local part records exactly those windows, from the raw series,
//!   at every evaluation, `sum by (<group_by>, <cluster label>)`: the
//!   cluster label is usually absent from a cluster's own raw series (it is
//!   an `external_label`, added when the series leave the cluster: remote
//!   write, the Thanos sidecar, federation), and kept when the raw data
//!   does carry it (a Mimir ruler per cluster over remote-written data).
//! - the global part is the whole group with those reads: the aligned
//!   bucket series, ratios, period, budget, burn rates, `slo:info`, alerts,
//!   budget-policy actions, calendar accumulators and composites. Its sums
//!   are by the SLO's `group_by` alone, so the SLO is one across clusters,
//!   and per cluster exactly when it groups `by (cluster)`; every `on(…)`
//!   matches those same labels, never the cluster label.
//!
//! **Across servers.** What each kind of expression means when its inputs
//! come from other servers:
//!
//! - the bucket series' alignment (`time() % B < E`) is evaluated by the
//!   global ruler on its own clock, so each bucket is written once, as
//!   before; its value is the clusters' last local window sums, which were
//!   evaluated up to one interval (plus the shipping delay) earlier, so a
//!   bucket covers the `B` before the clusters' last evaluation. Buckets
//!   stay disjoint and cover time; set the ruler's query offset (Prometheus
//!   `rule_query_offset`, Thanos Ruler `--query.offset`… where available)
//!   to at least the delay with which local series arrive.
//! - the calendar accumulators and the period id read the global part's
//!   own series (`last_over_time(…[fresh])` of a bucket written in the same
//!   evaluation), never a local one, so they mean what they mean unsplit.
//! - the `or 0 * total` (grouped by cluster here) that makes a missing
//!   error counter count as no errors is evaluated per cluster: a cluster
//!   with traffic and no error series contributes 0 errors; the global sum
//!   over clusters is the sum over the union.
//! - a cluster whose local series stop arriving drops out of the sums after
//!   the lookback (5m), or at once where its Prometheus wrote staleness
//!   markers: the SLO is then the remaining clusters' SLO (as it would be
//!   with its raw series missing unsplit).
//! - nothing in either part uses `absent` or a series-count comparison;
//!   `count_over_time` (gauge SLIs) counts one series' samples, and the
//!   `count` of an `avg` slice condition counts a cluster's own series,
//!   which the global part sums: both are local.
//!
//! **Timeslices SLIs.** A slice condition's quantity over the union of
//! the clusters' raw series is computed exactly from per-cluster parts
//! over the slice, `slo:window_slice<i>_<what>:<how><slice>` (condition
//! `i` of the `good when` list; [`super::model::SlicePart`]):
//!
//! | quantity | local part, per cluster | global part |
//! |---|---|---|
//! | `rate(s)`, `increase(s)` | `sum(rate(s[S]))`, `sum(increase(s[S]))` | their sum |
//! | `ratio(n, d)` | `sum(increase(n[S]))`, `sum(increase(d[S]))` | Σn / Σd |
//! | `avg(s)` | `sum(avg_over_time(s[S]))`, `count(avg_over_time(s[S]))` | Σsum / Σcount |
//! | `min(s)`, `max(s)` | `min(min_over_time(s[S]))`, `max(max_over_time(s[S]))` | the min of the minima, the max of the maxima |
//! | `quantile(q, h)` | `sum by (le) (rate(h_bucket[S]))` | `histogram_quantile(q, sum by (le) (…))` over the clusters' bucket rates |
//!
//! (each also by the SLO's `group_by`, and the cluster label locally).
//! The global part compares the quantities with the thresholds and
//! counts the slices as unsplit; the counting of series in `avg` is a
//! cluster's own (`count` of its series, never of the clusters).
//!
//! **What cannot be split** ([`unsplittable`]): an SLO whose own `labels`
//! set the cluster label (every cluster's local series would carry the
//! same value and could not be told apart); a selector matching on the
//! cluster label (a cluster's Prometheus does not have it: it is an
//! external label).

use super::{OutputError, Part};
use crate::ir;

/// The second line of every file of a part (after [`super::HEADER`]).
pub(crate) fn header(part: Part) -> &'static str {
    match part {
        Part::Local => LOCAL_HEADER,
        Part::Global => GLOBAL_HEADER,
    }
}

pub(crate) const LOCAL_HEADER: &str =
    "# Multi-cluster split, local part (`--split local`): load into every cluster's Prometheus.\n";
pub(crate) const GLOBAL_HEADER: &str =
    "# Multi-cluster split, global part (`--split global`): load into the global ruler.\n";

/// The PrometheusRule name or Mimir namespace of a part: the two parts of
/// a service never overwrite each other when they land in one namespace or
/// tenant.
pub(crate) fn object_name(name: &str, part: Part) -> String {
    format!("{name}-{}", part.as_str())
}

/// Why `label` cannot be the cluster label, if it cannot.
pub fn cluster_label_problem(label: &str) -> Option<String> {
    let mut chars = label.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("a label name is a letter or `_`, then letters, digits and `_`".into());
    }
    if label.starts_with("__") {
        return Some("names starting with `__` are reserved for Prometheus".into());
    }
    if crate::names::series_identity("", "").iter().any(|(k, _)| *k == label) {
        return Some(format!("`{label}` is a label slo sets on every series it records"));
    }
    None
}

/// What keeps an SLO from being split with `cluster_label`, if anything.
pub(crate) fn unsplittable(slo: &ir::Slo, cluster_label: &str) -> Option<OutputError> {
    let err = |code: &'static str, what: String, help: String| {
        Some(OutputError::Unsplittable {
            code,
            slo: format!("{}.{}", slo.service, slo.name),
            what,
            help,
            span: slo.span,
        })
    };
    let selectors = slo.sli.selectors();
    if slo.labels.iter().any(|(k, _)| k == cluster_label) {
        return err(
            "slo::compile::split_label",
            format!("its labels set `{cluster_label}`, the cluster label"),
            format!("every cluster's local series would carry the same `{cluster_label}` and the global rules could not tell them apart: drop `{cluster_label}` from the SLO's labels (each cluster's `external_labels` sets it), or name another label with --cluster-label"),
        );
    }
    if selectors.iter().any(|s| s.matchers.iter().any(|m| m.label == cluster_label)) {
        return err(
            "slo::compile::split_selector",
            format!("a selector matches on `{cluster_label}`, the cluster label"),
            format!("a cluster's Prometheus does not see `{cluster_label}` on its own series (it is an external label), so the local rules would match nothing: drop the matcher and load the local part only into the clusters the SLO is about"),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::cluster_label_problem;

    #[test]
    fn cluster_labels() {
        for ok in ["cluster", "k8s_cluster", "_c", "Region2"] {
            assert_eq!(cluster_label_problem(ok), None, "{ok}");
        }
        for bad in ["", "2x", "a-b", "__name__", "service", "slo", "é"] {
            assert!(cluster_label_problem(bad).is_some(), "{bad}");
        }
    }
}
