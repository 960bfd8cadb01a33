//! The alert state machine — pending, firing after `for`, held by
//! `keep_firing_for` — following Prometheus's `rules/alerting.go`. The rule
//! engine ([`super::eval`]) steps every instance an alerting rule returns
//! through [`Instance`]; the what-if sweep ([`crate::backtest::analysis::fire`])
//! replays a variant's alert through the same transitions.

use super::eval::Sample;
use super::leaves::Labels;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pending/firing state of one alert instance.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    active_at: i64,
    firing: bool,
    /// When the expression stopped returning it while `keep_firing_for` holds it.
    keep_since: Option<i64>,
}

impl Instance {
    /// An instance the expression returned for the first time at `t`: pending.
    pub(crate) fn new(t: i64) -> Instance {
        Instance { active_at: t, firing: false, keep_since: None }
    }

    pub(crate) fn firing(&self) -> bool {
        self.firing
    }

    /// One evaluation at `t`, `returned` saying whether the expression
    /// returned the instance. Firing once it has been active `for_ms`;
    /// when no longer returned, a firing instance is held `keep_ms`.
    /// Returns false when the instance is resolved (to be dropped).
    pub(crate) fn step(&mut self, t: i64, returned: bool, for_ms: i64, keep_ms: i64) -> bool {
        if returned {
            self.keep_since = None;
            if !self.firing && t - self.active_at >= for_ms {
                self.firing = true;
            }
            return true;
        }
        // No longer returned by the expression.
        self.firing && keep_ms > 0 && t - *self.keep_since.get_or_insert(t) < keep_ms
    }
}

/// One alerting rule's instances over time.
#[derive(Debug, Default)]
pub struct AlertState {
    /// Active instances, with the last evaluation that returned them.
    active: BTreeMap<Vec<(String, String)>, (Instance, i64)>,
    /// Per label set: closed and open intervals (start, end) of pending and firing.
    pub history: BTreeMap<Vec<(String, String)>, AlertHistory>,
    /// The previous evaluation's samples, position by position: the labels
    /// they came with and the instance labels built from them (an alert
    /// usually returns the same series at every evaluation, so its labels
    /// are not rebuilt, nor its instance's label strings cloned, each time).
    last: Vec<(Labels, Vec<(String, String)>)>,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct AlertHistory {
    /// Evaluation timestamps at which the instance was pending.
    pub pending: Vec<i64>,
    /// Evaluation timestamps at which it was firing.
    pub firing: Vec<i64>,
}

/// An instance's labels: the sample's without `__name__`, the rule's
/// labels over them, and `alertname`, sorted.
pub(crate) fn instance_labels(
    sample: &[(String, String)],
    rule_labels: &[(String, String)],
    name: &str,
) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = sample.iter().filter(|(k, _)| k != "__name__").cloned().collect();
    for (k, v) in rule_labels {
        labels.retain(|(x, _)| x != k);
        labels.push((k.clone(), v.clone()));
    }
    labels.retain(|(x, _)| x != "alertname");
    labels.push(("alertname".into(), name.into()));
    labels.sort();
    labels
}

impl AlertState {
    /// One evaluation, following `rules/alerting.go`'s `Eval`.
    pub fn step(
        &mut self,
        t: i64,
        result: Vec<Sample>,
        rule_labels: &[(String, String)],
        name: &str,
        for_ms: i64,
        keep_ms: i64,
    ) {
        let mut last = std::mem::take(&mut self.last);
        let mut now = Vec::with_capacity(result.len());
        for (pos, s) in result.into_iter().enumerate() {
            let labels = match last.get_mut(pos) {
                Some((prev, labels)) if Arc::ptr_eq(prev, &s.labels) || **prev == *s.labels => std::mem::take(labels),
                _ => instance_labels(&s.labels, rule_labels, name),
            };
            match self.active.get_mut(&labels) {
                Some((_, returned)) => *returned = t,
                None => {
                    self.active.insert(labels.clone(), (Instance::new(t), t));
                }
            }
            now.push((s.labels, labels));
        }
        last.clear();
        self.last = now;
        self.active.retain(|_, (a, returned)| a.step(t, *returned == t, for_ms, keep_ms));
        for (labels, (a, _)) in &self.active {
            if !self.history.contains_key(labels) {
                self.history.insert(labels.clone(), AlertHistory::default());
            }
            let Some(h) = self.history.get_mut(labels) else { continue };
            if a.firing() {
                h.firing.push(t);
            } else {
                h.pending.push(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_go_pending_then_firing_then_resolve() {
        let mut st = AlertState::default();
        let hit = || vec![Sample { labels: Arc::new(vec![("__name__".into(), "x".into())]), v: 1.0 }];
        st.step(0, hit(), &[], "A", 120_000, 0);
        st.step(60_000, hit(), &[], "A", 120_000, 0);
        st.step(120_000, hit(), &[], "A", 120_000, 0);
        st.step(180_000, vec![], &[], "A", 120_000, 0);
        let h = &st.history[&vec![("alertname".to_string(), "A".to_string())]];
        assert_eq!(h.pending, vec![0, 60_000]);
        assert_eq!(h.firing, vec![120_000]);
    }

    #[test]
    fn keep_firing_for_holds_a_resolved_alert() {
        let mut st = AlertState::default();
        let hit = || vec![Sample { labels: Arc::new(vec![]), v: 1.0 }];
        st.step(0, hit(), &[], "A", 0, 120_000);
        st.step(60_000, vec![], &[], "A", 0, 120_000);
        st.step(120_000, vec![], &[], "A", 0, 120_000);
        st.step(180_000, vec![], &[], "A", 0, 120_000);
        let h = &st.history[&vec![("alertname".to_string(), "A".to_string())]];
        assert_eq!(h.firing, vec![0, 60_000, 120_000]);
    }
}
