//! What a distributed replay's tasks are given: the compiled rule groups
//! (every group of the program, so each task plans exactly what the
//! coordinator planned), the grids, the range to scan, the data paths and
//! which groups each task replays. It travels inside the plan, serialised
//! by [`super::exec::ReplayCodec`] as JSON.

use super::super::range::Grid;
use crate::promql::model::{AlertSpec, Series};
use crate::promql::rules::{AlertRule, Group, RecordRule, Rule};
use crate::units::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of what a job and a task's output mean: raised whenever
/// either changes, so a coordinator and a worker of different builds fail
/// with a message that says so. Jobs before it was sent are 0.
pub const PROTOCOL: u32 = 2;

/// One replay job: the whole program's rules and where each task's part is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// The coordinator's [`PROTOCOL`].
    #[serde(default)]
    pub protocol: u32,
    /// Every rule group of the program, in order.
    pub groups: Vec<WireGroup>,
    /// Per group, its schedule class (index into `class_grids`).
    pub class: Vec<usize>,
    /// Per schedule class, its grid: (from, step, len).
    pub class_grids: Vec<(i64, i64, usize)>,
    /// Per group, the grid it is evaluated on.
    pub group_grids: Vec<(i64, i64, usize)>,
    /// Per step of the whole program (in plan order), its place in the
    /// evaluation order (see `backtest::eval_keys`).
    pub keys: Vec<(usize, usize)>,
    /// Ranges in which nothing is evaluated.
    pub downtime: Vec<(i64, i64)>,
    /// The scanned range of sample times, `[lo, hi]`.
    pub lo: i64,
    pub hi: i64,
    /// The Parquet files or directories, read by path on the workers.
    pub data: Vec<String>,
    /// The query engine's memory limit on a worker, in bytes.
    pub memory_limit: usize,
    /// What a task's leaves may hold at once, in bytes (see
    /// `backtest::waves`): the coordinator's budget. 0: the worker's own.
    #[serde(default)]
    pub leaf_budget: usize,
    /// Evaluate step by step only (`--stepwise`).
    #[serde(default)]
    pub stepwise: bool,
    /// Send back only the recorded series the report reads (no
    /// `--timeline`): the rest never leaves the worker.
    #[serde(default)]
    pub report_only: bool,
    /// Per task, the groups (indices into `groups`, ascending) it replays:
    /// whole independent blocks.
    pub tasks: Vec<Vec<usize>>,
}

/// A rule group as the replay reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WireGroup {
    pub name: String,
    pub interval: String,
    pub rules: Vec<WireRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum WireRule {
    Record {
        /// The recorded series, by its name ([`Series::parse`] reads it back).
        series: String,
        expr: String,
        labels: BTreeMap<String, String>,
    },
    Alert {
        name: String,
        expr: String,
        for_ms: Option<u64>,
        keep_firing_for_ms: Option<u64>,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        /// [`AlertSpec::Alert`]: `(index, None)`; [`AlertSpec::Action`]:
        /// `(rule, Some(action))`.
        spec: (usize, Option<usize>),
    },
}

impl WireGroup {
    pub fn from_group(g: &Group) -> WireGroup {
        let rules = g
            .rules
            .iter()
            .map(|r| match r {
                Rule::Record(r) => {
                    WireRule::Record { series: r.record.name(), expr: r.expr.clone(), labels: r.labels.clone() }
                }
                Rule::Alert(a) => WireRule::Alert {
                    name: a.alert.clone(),
                    expr: a.expr.clone(),
                    for_ms: a.for_.map(|d| d.ms()),
                    keep_firing_for_ms: a.keep_firing_for.map(|d| d.ms()),
                    labels: a.labels.clone(),
                    annotations: a.annotations.clone(),
                    spec: match a.spec {
                        AlertSpec::Alert { index } => (index, None),
                        AlertSpec::Action { rule, action } => (rule, Some(action)),
                    },
                },
            })
            .collect();
        WireGroup { name: g.name.clone(), interval: g.interval.clone(), rules }
    }

    /// The group back, as far as the replay reads it (a target's
    /// datasource type and partial-response strategy are not part of it).
    pub fn to_group(&self) -> Result<Group, String> {
        let rules = self
            .rules
            .iter()
            .map(|r| match r {
                WireRule::Record { series, expr, labels } => {
                    let record = Series::parse(series)
                        .ok_or_else(|| format!("group `{}`: `{series}` is not a series slo records", self.name))?;
                    Ok(Rule::Record(RecordRule { record, expr: expr.clone(), labels: labels.clone() }))
                }
                WireRule::Alert { name, expr, for_ms, keep_firing_for_ms, labels, annotations, spec } => {
                    Ok(Rule::Alert(AlertRule {
                        alert: name.clone(),
                        expr: expr.clone(),
                        for_: for_ms.map(Duration::from_ms),
                        keep_firing_for: keep_firing_for_ms.map(Duration::from_ms),
                        labels: labels.clone(),
                        annotations: annotations.clone(),
                        spec: match *spec {
                            (index, None) => AlertSpec::Alert { index },
                            (rule, Some(action)) => AlertSpec::Action { rule, action },
                        },
                    }))
                }
            })
            .collect::<Result<_, String>>()?;
        Ok(Group {
            name: self.name.clone(),
            interval: self.interval.clone(),
            datasource_type: None,
            partial_response_strategy: None,
            rules,
        })
    }
}

pub(crate) fn grid(g: (i64, i64, usize)) -> Grid {
    Grid { from: g.0, step: g.1, len: g.2 }
}

pub(crate) fn wire_grid(g: &Grid) -> (i64, i64, usize) {
    (g.from, g.step, g.len)
}

/// Splits the groups into `tasks` parts of whole blocks (`block_of[g]`:
/// group `g`'s independent block), the largest blocks first, each to the
/// part with the fewest rules so far (ties: the lower part). Deterministic;
/// parts may be empty when there are fewer blocks than tasks.
pub(crate) fn assign(block_of: &[usize], rules_per_group: &[usize], tasks: usize) -> Vec<Vec<usize>> {
    let blocks = block_of.iter().copied().max().map_or(0, |b| b + 1);
    let mut weight = vec![0usize; blocks];
    for (g, &b) in block_of.iter().enumerate() {
        weight[b] += rules_per_group.get(g).copied().unwrap_or(0);
    }
    let mut order: Vec<usize> = (0..blocks).collect();
    order.sort_by_key(|&b| (std::cmp::Reverse(weight[b]), b));
    let tasks = tasks.max(1);
    let mut load = vec![0usize; tasks];
    let mut task_of_block = vec![0usize; blocks];
    for b in order {
        let t = (0..tasks).min_by_key(|&t| (load[t], t)).unwrap_or(0);
        load[t] += weight[b];
        task_of_block[b] = t;
    }
    let mut parts = vec![Vec::new(); tasks];
    for (g, &b) in block_of.iter().enumerate() {
        parts[task_of_block[b]].push(g);
    }
    parts
}

/// Per group, the index of its first step among the whole program's:
/// steps are planned group by group, a step per rule, so a rule's step is
/// its group's first plus its place in the group.
pub(crate) fn first_steps(groups: &[WireGroup]) -> Vec<usize> {
    let mut first = Vec::with_capacity(groups.len());
    let mut n = 0;
    for g in groups {
        first.push(n);
        n += g.rules.len();
    }
    first
}

#[cfg(test)]
mod tests {
    use super::assign;

    #[test]
    fn blocks_stay_whole_and_spread_by_rules() {
        // Groups 0 and 2 are one block (a composite over an SLO).
        let parts = assign(&[0, 1, 0, 2], &[5, 4, 3, 1], 2);
        assert_eq!(parts, vec![vec![0, 2], vec![1, 3]]);
        // More tasks than blocks: the rest are empty.
        let parts = assign(&[0, 0], &[1, 1], 3);
        assert_eq!(parts, vec![vec![0, 1], vec![], vec![]]);
    }
}
