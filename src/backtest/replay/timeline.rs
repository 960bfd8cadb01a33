//! `--timeline`: every series the rules recorded, at every evaluation, plus
//! Prometheus's `ALERTS` series, in the native long layout — so the file is
//! valid `--data` for another run, and comparable sample by sample with
//! what Prometheus would have stored.

use crate::backtest::Backtest;
use crate::layout::writer::LongWriter;
use std::collections::BTreeSet;
use std::path::Path;

type Row<'a> = (Vec<(String, String)>, Ts<'a>, Option<&'a [f64]>);

/// A row's timestamps: a recorded series' runs (expanded one series at a
/// time, as it is written) or an alert's list.
enum Ts<'a> {
    Runs(&'a super::times::Times),
    Slice(&'a [i64]),
}

/// Writes the timeline atomically: a failed write leaves `path` untouched.
pub fn write(bt: &Backtest, path: &Path) -> Result<u64, crate::error::Error> {
    write_rows(bt, path, None)
}

/// The timeline plus `ALERTS_FOR_STATE`, the series a server restores
/// alerts' `for` state from after a restart: at every evaluation an
/// instance is active, its `activeAt` in whole seconds (`query_offset_ms`
/// later than its evaluation time, as the server stamps it). For
/// backfilling a server (`slo backfill`).
pub fn write_with_for_state(bt: &Backtest, path: &Path, query_offset_ms: i64) -> Result<u64, crate::error::Error> {
    write_rows(bt, path, Some(query_offset_ms))
}

/// Splits the evaluation times an alert instance was active at (sorted)
/// into its activations: a gap longer than one step means it resolved.
/// Returns `(active_at, ts)` per activation.
fn activations(ts: &[i64], step: i64) -> Vec<(i64, &[i64])> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=ts.len() {
        if i == ts.len() || ts[i] - ts[i - 1] > step {
            out.push((ts[start], &ts[start..i]));
            start = i;
        }
    }
    out
}

fn write_rows(bt: &Backtest, path: &Path, for_state: Option<i64>) -> Result<u64, crate::error::Error> {
    // Every series as (labels, timestamps, values); ALERTS have value 1.
    let mut rows: Vec<Row<'_>> = Vec::new();
    for s in &bt.store.series {
        rows.push((s.labels.to_vec(), Ts::Runs(&s.ts), Some(&s.v)));
    }
    let mut alert_ts: Vec<(super::leaves::LabelSet, Vec<i64>)> = Vec::new();
    let mut for_rows: Vec<(super::leaves::LabelSet, Vec<i64>, Vec<f64>)> = Vec::new();
    for run in &bt.alerts {
        for (labels, h) in &run.history {
            if let Some(offset) = for_state {
                let mut active: Vec<i64> = h.pending.iter().chain(&h.firing).copied().collect();
                active.sort_unstable();
                let (mut ts, mut v) = (Vec::new(), Vec::new());
                for (at, run_ts) in activations(&active, bt.grid.step) {
                    ts.extend_from_slice(run_ts);
                    v.extend(std::iter::repeat_n((at + offset).div_euclid(1000) as f64, run_ts.len()));
                }
                if !ts.is_empty() {
                    let mut l = labels.clone();
                    l.push(("__name__".into(), "ALERTS_FOR_STATE".into()));
                    l.sort();
                    for_rows.push((l, ts, v));
                }
            }
            for (state, ts) in [("pending", &h.pending), ("firing", &h.firing)] {
                if ts.is_empty() {
                    continue;
                }
                let mut l = labels.clone();
                l.push(("__name__".into(), "ALERTS".into()));
                l.push(("alertstate".into(), state.into()));
                l.sort();
                alert_ts.push((l, ts.clone()));
            }
        }
    }
    for (l, ts) in &alert_ts {
        rows.push((l.clone(), Ts::Slice(ts), None));
    }
    for (l, ts, v) in &for_rows {
        rows.push((l.clone(), Ts::Slice(ts), Some(v)));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let names: BTreeSet<String> =
        rows.iter().flat_map(|r| r.0.iter().map(|(k, _)| k.clone())).filter(|k| k != "__name__").collect();
    let mut w = LongWriter::create(path, names.into_iter().collect(), false, 3)?;
    let mut ones = Vec::new();
    for (labels, ts, v) in &rows {
        let expanded;
        let ts: &[i64] = match ts {
            Ts::Runs(t) => {
                expanded = t.to_vec();
                &expanded
            }
            Ts::Slice(s) => s,
        };
        let v = match v {
            Some(v) => *v,
            None => {
                ones.resize(ts.len(), 1.0);
                &ones[..ts.len()]
            }
        };
        w.series(labels, ts, v, &[])?;
    }
    w.finish(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn activations_split_at_gaps() {
        let ts = [60, 120, 180, 360, 420];
        let a = super::activations(&ts, 60);
        assert_eq!(a, vec![(60, &ts[..3]), (360, &ts[3..])]);
        assert!(super::activations(&[], 60).is_empty());
    }
}
