//! `--timeline`: every series the rules recorded, at every evaluation, plus
//! Prometheus's `ALERTS` series, in the native long layout — so the file is
//! valid `--data` for another run, and comparable sample by sample with
//! what Prometheus would have stored.

use super::leaves::LabelSet;
use super::times::Times;
use crate::backtest::Backtest;
use crate::layout::writer::LongWriter;
use crate::output::{self, TempFile};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

type Row<'a> = (Vec<(String, String)>, Ts<'a>, Option<&'a [f64]>);

/// A row's timestamps: a recorded series' runs (expanded one series at a
/// time, as it is written) or an alert's list.
enum Ts<'a> {
    Runs(&'a super::times::Times),
    Slice(&'a [i64]),
}

/// Writes the timeline atomically: a failed write leaves `path` untouched.
/// A replay that spilled its blocks as they finished
/// ([`crate::backtest::Options::timeline`]) has its spill merged.
pub fn write(bt: &mut Backtest, path: &Path) -> Result<u64, crate::error::Error> {
    match bt.timeline.take() {
        Some(spill) => spill.finish(path),
        None => write_rows(bt, path, None),
    }
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

/// Owned rows of the `ALERTS` series (value 1: no values) and, with
/// `for_state`, of `ALERTS_FOR_STATE`, of every alert instance of `bt`, in
/// the order the timeline takes them before sorting.
type OwnedRow = (LabelSet, Vec<i64>, Option<Vec<f64>>);

fn alert_rows(bt: &Backtest, for_state: Option<i64>) -> Vec<OwnedRow> {
    let mut alert_ts: Vec<OwnedRow> = Vec::new();
    let mut for_rows: Vec<OwnedRow> = Vec::new();
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
                    for_rows.push((l, ts, Some(v)));
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
                alert_ts.push((l, ts.clone(), None));
            }
        }
    }
    alert_ts.extend(for_rows);
    alert_ts
}

/// Every row of `bt` — its recorded series, then `alerts` (from
/// [`alert_rows`]) — sorted by labels (stably: rows with equal labels keep
/// that order).
fn sorted_rows<'a>(bt: &'a Backtest, alerts: &'a [OwnedRow]) -> Vec<Row<'a>> {
    let mut rows: Vec<Row<'_>> = Vec::new();
    for s in &bt.store.series {
        rows.push((s.labels.to_vec(), Ts::Runs(&s.ts), Some(&s.v)));
    }
    for (l, ts, v) in alerts {
        rows.push((l.clone(), Ts::Slice(ts), v.as_deref()));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// Writes one row; `ones` is scratch for the `ALERTS` rows' values.
fn put(
    w: &mut LongWriter,
    labels: &[(String, String)],
    ts: &[i64],
    v: Option<&[f64]>,
    ones: &mut Vec<f64>,
) -> Result<(), crate::error::Error> {
    let v = match v {
        Some(v) => v,
        None => {
            ones.resize(ts.len(), 1.0);
            &ones[..ts.len()]
        }
    };
    w.series(labels, ts, v, &[])
}

fn label_names<'a>(labels: impl Iterator<Item = &'a LabelSet>) -> BTreeSet<String> {
    labels.flat_map(|l| l.iter().map(|(k, _)| k.clone())).filter(|k| k != "__name__").collect()
}

fn write_rows(bt: &Backtest, path: &Path, for_state: Option<i64>) -> Result<u64, crate::error::Error> {
    let alerts = alert_rows(bt, for_state);
    let rows = sorted_rows(bt, &alerts);
    let names = label_names(rows.iter().map(|r| &r.0));
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
        put(&mut w, labels, ts, *v, &mut ones)?;
    }
    w.finish(path)
}

/// `--timeline` written as the blocks of rule groups finish, so that a run
/// never holds every recorded series at once ([`crate::backtest::Options::timeline`]):
/// each block's rows, sorted by labels, are appended to one temporary
/// spill file beside the output (removed on drop, on a signal and by the
/// next run's sweep); [`Spill::finish`] merges the blocks' sorted runs into
/// the Parquet file, in the same order [`write`] writes them, so the file
/// is byte-identical. Holds one block's rows while it is spilled, and a
/// small buffer and one row's labels and times per block while merging.
pub struct Spill {
    inner: Mutex<SpillState>,
}

struct SpillState {
    tmp: TempFile,
    /// Bytes written so far.
    len: u64,
    /// Per block (by its key), its section of the file: (offset, length).
    sections: BTreeMap<usize, (u64, u64)>,
    names: BTreeSet<String>,
    /// The first write that failed: reported by [`Spill::finish`].
    failed: Option<String>,
}

impl Spill {
    /// A spill for the timeline at `path`, beside it.
    pub fn new(path: &Path) -> Result<Spill, crate::error::Error> {
        let dir = output::parent_dir(path);
        std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::write(path, e))?;
        let tmp = TempFile::beside(path).map_err(|e| crate::error::Error::write(path, e))?;
        let state = SpillState { tmp, len: 0, sections: BTreeMap::new(), names: BTreeSet::new(), failed: None };
        Ok(Spill { inner: Mutex::new(state) })
    }

    /// Spills the rows of one block, replayed as `part` (its series and
    /// alert histories); `key` orders the blocks (rows with equal labels in
    /// two blocks keep this order).
    pub fn add(&self, key: usize, part: &Backtest) {
        let alerts = alert_rows(part, None);
        let rows = sorted_rows(part, &alerts);
        let names = label_names(rows.iter().map(|r| &r.0));
        let mut bytes = Vec::new();
        for (labels, ts, v) in &rows {
            let owned;
            let ts = match ts {
                Ts::Runs(t) => *t,
                Ts::Slice(s) => {
                    owned = Times::from_sorted(s.iter().copied());
                    &owned
                }
            };
            encode(&mut bytes, labels, ts, *v);
        }
        let mut st = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if st.failed.is_some() {
            return;
        }
        let at = st.len;
        match st.tmp.file().write_all(&bytes) {
            Ok(()) => {
                st.len += bytes.len() as u64;
                st.sections.insert(key, (at, bytes.len() as u64));
                st.names.extend(names);
            }
            Err(e) => {
                st.failed = Some(format!("cannot write the timeline's spill file {}: {e}", st.tmp.path().display()))
            }
        }
    }

    /// Merges the spilled blocks into the timeline at `path` (atomically);
    /// returns the samples written.
    pub fn finish(self, path: &Path) -> Result<u64, crate::error::Error> {
        let st = self.inner.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = st.failed {
            return Err(crate::error::Error::new(e));
        }
        let spill_error =
            |e: String| crate::error::Error::new(format!("cannot read back the timeline's spill file: {e}"));
        let file = st.tmp.reopen().map_err(|e| spill_error(e.to_string()))?;
        let mut readers: Vec<Section> = st
            .sections
            .values()
            .map(|&(at, len)| Section { file: &file, pos: at, end: at + len, buf: Vec::new(), used: 0 })
            .collect();
        // Each block's next row: its labels in the heap, smallest (then
        // block) first; its times and value flag beside, by block. A row's
        // values are read only when it is written.
        let mut heap = std::collections::BinaryHeap::new();
        let mut next: Vec<(Times, bool)> = Vec::with_capacity(readers.len());
        for (i, r) in readers.iter_mut().enumerate() {
            next.push(match r.header().map_err(spill_error)? {
                Some((labels, ts, valued)) => {
                    heap.push(std::cmp::Reverse((labels, i)));
                    (ts, valued)
                }
                None => (Times::default(), false),
            });
        }
        let mut w = LongWriter::create(path, st.names.into_iter().collect(), false, 3)?;
        let mut ones = Vec::new();
        while let Some(std::cmp::Reverse((labels, i))) = heap.pop() {
            let (ts, valued) = std::mem::take(&mut next[i]);
            let v = if valued { Some(readers[i].values(ts.len()).map_err(spill_error)?) } else { None };
            put(&mut w, &labels, &ts.to_vec(), v.as_deref(), &mut ones)?;
            if let Some((labels, ts, valued)) = readers[i].header().map_err(spill_error)? {
                heap.push(std::cmp::Reverse((labels, i)));
                next[i] = (ts, valued);
            }
        }
        w.finish(path)
    }
}

/// A spilled row's header: labels, times, whether values follow (else
/// they are all 1, an `ALERTS` row).
type Header = (LabelSet, Times, bool);

fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A row in the spill's own format (little-endian): label count, then each
/// name and value (length, bytes); run count, then each run's start,
/// stride and count; a value flag, then the values' bits.
fn encode(out: &mut Vec<u8>, labels: &[(String, String)], ts: &Times, v: Option<&[f64]>) {
    put_u64(out, labels.len() as u64);
    for (k, x) in labels {
        put_str(out, k);
        put_str(out, x);
    }
    put_u64(out, ts.runs().len() as u64);
    for (start, stride, count) in ts.runs() {
        put_u64(out, start as u64);
        put_u64(out, stride as u64);
        put_u64(out, count as u64);
    }
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            for x in v {
                put_u64(out, x.to_bits());
            }
        }
    }
}

/// One block's section of the spill file, read row by row.
struct Section<'a> {
    file: &'a std::fs::File,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    used: usize,
}

impl Section<'_> {
    /// The next `n` bytes of the section.
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        use std::os::unix::fs::FileExt;
        if self.buf.len() - self.used < n {
            let left = (self.end - self.pos) as usize;
            let want = n - (self.buf.len() - self.used);
            if want > left {
                return Err("a block's section ends inside a row".into());
            }
            self.buf.drain(..self.used);
            self.used = 0;
            let get = want.max((64 << 10).min(left));
            let at = self.buf.len();
            self.buf.resize(at + get, 0);
            self.file.read_exact_at(&mut self.buf[at..], self.pos).map_err(|e| e.to_string())?;
            self.pos += get as u64;
        }
        self.used += n;
        Ok(&self.buf[self.used - n..self.used])
    }

    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| "short read")?))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|e| e.to_string())?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|e| e.to_string())
    }

    /// The next row's header, leaving its values (if any) to [`Section::values`].
    fn header(&mut self) -> Result<Option<Header>, String> {
        if self.pos == self.end && self.used == self.buf.len() {
            return Ok(None);
        }
        let n = self.u64()?;
        let mut labels = Vec::new();
        for _ in 0..n {
            labels.push((self.string()?, self.string()?));
        }
        let n = self.u64()?;
        let mut runs = Vec::new();
        for _ in 0..n {
            runs.push((self.u64()? as i64, self.u64()? as i64, self.u64()? as usize));
        }
        let ts = Times::from_runs(runs).ok_or("times out of order")?;
        let valued = self.take(1)?[0] != 0;
        Ok(Some((labels, ts, valued)))
    }

    /// The `n` values after a header.
    fn values(&mut self, n: usize) -> Result<Vec<f64>, String> {
        (0..n).map(|_| self.u64().map(f64::from_bits)).collect()
    }
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
