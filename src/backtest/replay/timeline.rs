//! `--timeline`: every series the rules recorded, at every evaluation, plus
//! Prometheus's `ALERTS` series, in the native long layout — so the file is
//! valid `--data` for another run, and comparable sample by sample with
//! what Prometheus would have stored.

use crate::backtest::Backtest;
use crate::layout::writer::LongWriter;
use std::collections::BTreeSet;
use std::path::Path;

type Row<'a> = (Vec<(String, String)>, &'a [i64], Option<&'a [f64]>);

/// Writes the timeline atomically: a failed write leaves `path` untouched.
pub fn write(bt: &Backtest, path: &Path) -> Result<u64, crate::error::Error> {
    // Every series as (labels, timestamps, values); ALERTS have value 1.
    let mut rows: Vec<Row<'_>> = Vec::new();
    for s in &bt.store.series {
        rows.push((s.labels.to_vec(), &s.ts, Some(&s.v)));
    }
    let mut alert_ts: Vec<(super::leaves::LabelSet, Vec<i64>)> = Vec::new();
    for run in &bt.alerts {
        for (labels, h) in &run.history {
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
        rows.push((l.clone(), ts, None));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let names: BTreeSet<String> =
        rows.iter().flat_map(|r| r.0.iter().map(|(k, _)| k.clone())).filter(|k| k != "__name__").collect();
    let mut w = LongWriter::create(path, names.into_iter().collect(), false, 3)?;
    let mut ones = Vec::new();
    for (labels, ts, v) in &rows {
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
