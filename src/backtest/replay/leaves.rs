//! Raw-data leaves: each series is read once, as it streams past, and its
//! contribution to every leaf it matches is folded into that leaf's output
//! for every step. Only the aggregated output is kept, never the samples.

use super::agg;
use super::native::{self, HistSamples, SumAcc};
use super::plan::{Grouping, HistFn, LeafKind, LeafSpec};
use super::range::{is_absent, Grid, RangeFn, Samples, ABSENT};
use crate::layout::histogram::NativeHistogram;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// A label set, sorted by name.
pub(crate) type LabelSet = Vec<(String, String)>;
pub type Labels = Arc<LabelSet>;

/// Prometheus's instant-selector lookback (v3: `ts > t − 5m`).
pub(crate) const LOOKBACK_MS: i64 = 300_000;

struct Acc {
    sum: Vec<f64>,
    comp: Vec<f64>,
    n: Vec<u32>,
}

/// One finished leaf: its output series and their values per step.
#[derive(Debug, Default)]
pub struct LeafOut {
    pub series: Vec<(Labels, Vec<f64>)>,
    /// How many raw series the leaf's selector matched.
    pub matched: u64,
    /// The `le` of series that matched all but the selector's `le`
    /// matchers (at most [`MISSED_BUCKETS_KEPT`]): the buckets that exist.
    pub missed_buckets: BTreeSet<String>,
    /// Labels of a `by (…)` grouping that no matched series has: every
    /// group collapses into one with that label empty.
    pub absent_grouping: Vec<String>,
    /// Label names the matched series have (at most [`LABELS_KEPT`]), to
    /// suggest the one a grouping label misspells.
    pub labels_seen: BTreeSet<String>,
}

/// How many label names a grouped leaf keeps for suggestions.
pub(crate) const LABELS_KEPT: usize = 256;

/// What an accumulator holds per step: sum, compensation and count.
pub(crate) const ACC_BYTES: usize = 20;

/// What a native-histogram leaf's accumulator holds per step, beyond its
/// buckets.
pub(crate) const HIST_ACC_BYTES: usize = std::mem::size_of::<SumAcc>();

/// How many missed bucket boundaries a leaf keeps for its warning.
pub(crate) const MISSED_BUCKETS_KEPT: usize = 64;

/// The memory a scan's leaves may take, shared by the scan's workers (see
/// [`crate::backtest::waves`]). A leaf asks it for each accumulator it
/// adds ([`Gate::take`]); past the budget, leaves are *deferred*: their
/// values are dropped and no longer computed (their output series are
/// still counted, and their errors and selector facts still found), to
/// be computed by a later scan. The leaves of the latest schedule class
/// are deferred first, so that the first classes' blocks complete; on one
/// grid, the leaf asking is. Which leaves are deferred depends on the
/// workers' timing; what the run records does not.
#[derive(Debug)]
pub struct Gate {
    budget: usize,
    used: AtomicUsize,
    /// Per leaf: the bytes its accumulators hold, over every worker.
    held: Vec<AtomicUsize>,
    deferred: Vec<AtomicBool>,
    /// Per leaf, its schedule class.
    class: Vec<usize>,
    /// Serializes the choice of what to defer.
    choosing: Mutex<()>,
    /// How many times leaves were deferred: a worker seeing it change drops
    /// the values it holds of them, whichever series it is fed next.
    epoch: AtomicUsize,
}

impl Gate {
    pub fn new(specs: &[LeafSpec], budget: usize) -> Gate {
        Gate {
            budget,
            used: AtomicUsize::new(0),
            held: specs.iter().map(|_| AtomicUsize::new(0)).collect(),
            deferred: specs.iter().map(|_| AtomicBool::new(false)).collect(),
            class: specs.iter().map(|s| s.phase).collect(),
            choosing: Mutex::new(()),
            epoch: AtomicUsize::new(0),
        }
    }

    /// Starts over (a scan that read its rows again, sorted).
    fn reset(&self) {
        self.used.store(0, Relaxed);
        self.held.iter().for_each(|h| h.store(0, Relaxed));
        self.deferred.iter().for_each(|d| d.store(false, Relaxed));
    }

    pub fn deferred(&self, i: usize) -> bool {
        self.deferred[i].load(Relaxed)
    }

    /// Asks for `bytes` more for leaf `i`: false when it is deferred (now
    /// or before), and the caller must drop what it holds of it.
    fn take(&self, i: usize, bytes: usize) -> bool {
        if self.deferred(i) {
            return false;
        }
        self.held[i].fetch_add(bytes, Relaxed);
        if self.used.fetch_add(bytes, Relaxed) + bytes <= self.budget {
            return true;
        }
        let _one = self.choosing.lock().unwrap_or_else(|e| e.into_inner());
        while self.used.load(Relaxed) > self.budget && !self.deferred(i) {
            // The latest class after leaf i's with a leaf still computed;
            // else leaf i itself.
            let later = (0..self.class.len())
                .filter(|&j| self.class[j] > self.class[i] && !self.deferred(j))
                .map(|j| self.class[j])
                .max();
            match later {
                Some(c) => (0..self.class.len()).filter(|&j| self.class[j] == c).for_each(|j| self.defer(j)),
                None => self.defer(i),
            }
        }
        !self.deferred(i)
    }

    fn defer(&self, j: usize) {
        if !self.deferred[j].swap(true, Relaxed) {
            self.used.fetch_sub(self.held[j].swap(0, Relaxed), Relaxed);
            self.epoch.fetch_add(1, Relaxed);
        }
    }
}

pub struct Leaves {
    pub specs: Vec<LeafSpec>,
    /// Per schedule class ([`LeafSpec::phase`]), the steps it is computed at.
    grids: Vec<Grid>,
    accs: Vec<HashMap<Vec<(String, String)>, Acc>>,
    matched: Vec<u64>,
    /// Per leaf, see [`LeafOut::missed_buckets`].
    pub missed_buckets: Vec<BTreeSet<String>>,
    /// Per grouped leaf, the label names its matched series have.
    labels_seen: Vec<BTreeSet<String>>,
    scratch: Vec<f64>,
    /// Per native-histogram leaf ([`LeafKind::Hist`]), its groups' sums
    /// per step (or each series' histograms, without `sum`).
    hist_accs: Vec<HashMap<LabelSet, Vec<SumAcc>>>,
    /// Per leaf, the native-histogram leaf whose sums it reads: itself, or
    /// the first leaf with the same selector, grouping and range function
    /// (`histogram_count` and `histogram_fraction` of one sum share it).
    hist_src: Vec<usize>,
    /// Per float leaf, the first leaf computing the same function of a
    /// series on the same grid (itself when none before it does): leaves
    /// whose selectors both match a series share that series' values.
    twin: Vec<usize>,
    /// Whether a later leaf is this one's twin (its values are kept while
    /// a series is fed).
    shared: Vec<bool>,
    /// The first series with native-histogram samples that a float leaf
    /// reads, and how many such samples float leaves met.
    pub histograms_as_floats: Option<(Vec<(String, String)>, u64)>,
    /// Problems Prometheus reports as evaluation errors.
    pub errors: Vec<String>,
    /// The budget the leaves share with the scan's other workers (none:
    /// every leaf is computed).
    gate: Option<Arc<Gate>>,
    /// Per leaf, whether this worker has dropped its values (it is
    /// deferred).
    dropped: Vec<bool>,
    /// The gate's epoch when this worker last dropped deferred leaves.
    epoch: usize,
}

impl Leaves {
    /// Leaves computed on one grid, whatever their schedule class.
    pub fn new(specs: Vec<LeafSpec>, grid: Grid) -> Leaves {
        let classes = specs.iter().map(|s| s.phase + 1).max().unwrap_or(1);
        Leaves::phased(specs, vec![grid; classes])
    }

    /// Leaves each computed on the grid of its schedule class.
    pub fn phased(specs: Vec<LeafSpec>, grids: Vec<Grid>) -> Leaves {
        let n = specs.len();
        let longest = grids.iter().map(|g| g.len).max().unwrap_or(0);
        debug_assert!(specs.iter().all(|s| s.phase < grids.len()));
        let hist_src = hist_sources(&specs);
        let twin = twins(&specs);
        let mut shared = vec![false; n];
        for (i, &j) in twin.iter().enumerate() {
            shared[j] |= j != i;
        }
        Leaves {
            twin,
            shared,
            specs,
            grids,
            accs: (0..n).map(|_| HashMap::new()).collect(),
            matched: vec![0; n],
            missed_buckets: vec![BTreeSet::new(); n],
            labels_seen: vec![BTreeSet::new(); n],
            scratch: Vec::with_capacity(longest),
            hist_accs: (0..n).map(|_| HashMap::new()).collect(),
            hist_src,
            histograms_as_floats: None,
            errors: Vec::new(),
            gate: None,
            dropped: vec![false; n],
            epoch: 0,
        }
    }

    /// These leaves under a budget shared with others under the same gate.
    pub fn gated(mut self, gate: Option<Arc<Gate>>) -> Leaves {
        self.gate = gate;
        self
    }

    /// The gate these leaves share, if any.
    pub fn gate(&self) -> Option<Arc<Gate>> {
        self.gate.clone()
    }

    /// Starts the gate over, for a scan that reads its rows again.
    pub fn reset_gate(&self) {
        if let Some(g) = &self.gate {
            g.reset();
        }
    }

    /// Per leaf, whether its values were computed: neither it nor the
    /// native-histogram leaf whose sums it reads ([`Leaves::hist_src`])
    /// was deferred.
    pub fn complete(&self) -> Vec<bool> {
        (0..self.specs.len()).map(|i| !self.is_deferred(i) && !self.is_deferred(self.hist_src[i])).collect()
    }

    fn is_deferred(&self, i: usize) -> bool {
        self.gate.as_ref().is_some_and(|g| g.deferred(i))
    }

    /// Drops the values of leaf `i` if it is deferred, keeping its output
    /// series' labels (they are counted). Returns whether it is.
    fn drop_if_deferred(&mut self, i: usize) -> bool {
        if !self.is_deferred(i) {
            return false;
        }
        if !self.dropped[i] {
            self.dropped[i] = true;
            for acc in self.accs[i].values_mut() {
                *acc = Acc { sum: Vec::new(), comp: Vec::new(), n: Vec::new() };
            }
            for acc in self.hist_accs[i].values_mut() {
                *acc = Vec::new();
            }
        }
        true
    }

    /// Asks the gate for `bytes` more for leaf `i` (see [`Gate::take`]);
    /// false when the leaf is deferred, its values then dropped.
    fn take(&mut self, i: usize, bytes: usize) -> bool {
        match &self.gate {
            Some(g) if !g.take(i, bytes) => {
                self.drop_if_deferred(i);
                false
            }
            _ => true,
        }
    }

    pub fn grids(&self) -> Vec<Grid> {
        self.grids.clone()
    }

    /// Notes the buckets of histograms a leaf's `le` matcher misses (see
    /// [`LeafOut::missed_buckets`]).
    pub(crate) fn note_missed_buckets(&self, labels: &[(String, String)], into: &mut [BTreeSet<String>]) {
        for (spec, set) in self.specs.iter().zip(into.iter_mut()) {
            if let Some(le) = spec.sel.missed_bucket(labels) {
                if set.len() < MISSED_BUCKETS_KEPT {
                    set.insert(le.to_string());
                }
            }
        }
    }

    /// Whether any leaf reads this series.
    pub fn wants(&self, labels: &[(String, String)]) -> bool {
        self.specs.iter().any(|s| s.sel.matches(labels))
    }

    /// Folds one complete series (sorted float samples without staleness
    /// markers, the markers' timestamps, and its native-histogram samples)
    /// into every leaf it matches.
    pub fn feed(
        &mut self,
        labels: &[(String, String)],
        samples: &mut Samples,
        stale: &[i64],
        hist: &[(i64, NativeHistogram)],
    ) {
        // Leaves deferred since this worker last looked: their values go
        // now, not when a series of theirs next comes (it may not).
        if let Some(e) = self.gate.as_ref().map(|g| g.epoch.load(Relaxed)).filter(|&e| e != self.epoch) {
            self.epoch = e;
            for i in 0..self.specs.len() {
                self.drop_if_deferred(i);
            }
        }
        let mut hist_samples: Option<HistSamples> = None;
        // This series' values of the leaves other leaves share (see `twin`).
        let mut kept: Vec<(usize, Vec<f64>)> = Vec::new();
        for i in 0..self.specs.len() {
            if !self.specs[i].sel.matches(labels) {
                continue;
            }
            self.matched[i] += 1;
            if let LeafKind::Hist { rate, range, .. } = self.specs[i].kind {
                if self.hist_src[i] != i {
                    continue;
                }
                let key = self.output_key(i, labels, false);
                let len = self.grids[self.specs[i].phase].len;
                match self.admit(i, self.hist_accs[i].contains_key(&key), len * HIST_ACC_BYTES) {
                    Admit::Repeated => {}
                    Admit::Count => {
                        self.hist_accs[i].entry(key).or_default();
                    }
                    Admit::Compute => {
                        let hs = hist_samples.get_or_insert_with(|| HistSamples::new(hist));
                        let points = native::rate_steps(&samples.ts, hs, &self.grids[self.specs[i].phase], range, rate);
                        self.fold_hist(i, key, points);
                    }
                }
                continue;
            }
            if !hist.is_empty() {
                // A float leaf over histogram samples: Prometheus would mix
                // histograms into float arithmetic; refused after the scan.
                let seen = self.histograms_as_floats.get_or_insert_with(|| (labels.to_vec(), 0));
                seen.1 += hist.len() as u64;
            }
            let len = self.grids[self.specs[i].phase].len;
            let keeps_name = match self.specs[i].kind {
                LeafKind::Range(f, _) => f.keeps_name(),
                _ => true,
            };
            let key = self.output_key(i, labels, keeps_name);
            match self.admit(i, self.accs[i].contains_key(&key), len * ACC_BYTES) {
                Admit::Repeated => continue,
                Admit::Count => {
                    self.accs[i].entry(key).or_insert_with(|| Acc { sum: Vec::new(), comp: Vec::new(), n: Vec::new() });
                    continue;
                }
                Admit::Compute => {}
            }
            let mut vals = std::mem::take(&mut self.scratch);
            let grid = &self.grids[self.specs[i].phase];
            vals.resize(grid.len, 0.0);
            let twin = self.twin[i];
            match kept.iter().find(|(j, _)| *j == twin) {
                Some((_, v)) => vals.copy_from_slice(v),
                None => {
                    match self.specs[i].kind {
                        LeafKind::Range(f, r) => samples.eval(f, r, grid, &mut vals),
                        LeafKind::Instant => instant(&samples.ts, &samples.v, stale, grid, &mut vals),
                        LeafKind::Hist { .. } => unreachable!("native-histogram leaves are folded above"),
                    }
                    if self.shared[twin] {
                        kept.push((twin, vals.clone()));
                    }
                }
            }
            let spec = &self.specs[i];
            let acc_map = &mut self.accs[i];
            match &spec.agg {
                None => {
                    let n = vals.iter().map(|&x| u32::from(!is_absent(x))).collect();
                    acc_map.insert(key, Acc { sum: vals.clone(), comp: vec![0.0; vals.len()], n });
                }
                Some((op, _)) => {
                    let acc = acc_map.entry(key).or_insert_with(|| Acc {
                        sum: vec![0.0; len],
                        comp: vec![0.0; len],
                        n: vec![0; len],
                    });
                    for (k, &x) in vals.iter().enumerate() {
                        if is_absent(x) {
                            continue;
                        }
                        agg::fold(*op, &mut acc.sum[k], &mut acc.comp[k], &mut acc.n[k], x);
                    }
                }
            }
            self.scratch = vals;
        }
    }

    /// The output series of leaf `i` that a series with `labels` feeds:
    /// its group under an aggregation (whose label names are noted), else
    /// its labels, without the name unless `keeps_name`.
    fn output_key(&mut self, i: usize, labels: &[(String, String)], keeps_name: bool) -> LabelSet {
        match &self.specs[i].agg {
            Some((_, grouping)) => {
                note_labels(&mut self.labels_seen[i], labels);
                grouping.key(labels)
            }
            None => labels.iter().filter(|(k, _)| keeps_name || k != "__name__").cloned().collect(),
        }
    }

    /// What leaf `i` does with a series feeding output series it already
    /// has (`known`) or not: a second series with the same labels without
    /// aggregation is an error; a deferred leaf, or one the gate refuses
    /// `bytes` for a new output series, only counts it; else it computes.
    fn admit(&mut self, i: usize, known: bool, bytes: usize) -> Admit {
        if known && self.specs[i].agg.is_none() {
            self.errors.push(same_labels(&self.specs[i].text));
            return Admit::Repeated;
        }
        if self.drop_if_deferred(i) || (!known && !self.take(i, bytes)) {
            return Admit::Count;
        }
        Admit::Compute
    }

    /// Folds one series' `rate`/`increase` points into native-histogram
    /// leaf `i`: into its group's sums, or as its own output series.
    fn fold_hist(&mut self, i: usize, key: LabelSet, points: Vec<native::Point>) {
        let accs = &mut self.hist_accs[i];
        match &self.specs[i].agg {
            Some(_) => {
                let acc = accs.entry(key).or_insert_with(|| vec![SumAcc::default(); points.len()]);
                for (a, p) in acc.iter_mut().zip(points) {
                    a.fold(p);
                }
            }
            None => {
                let acc = points
                    .into_iter()
                    .map(|p| {
                        let mut a = SumAcc::default();
                        a.fold(p);
                        a
                    })
                    .collect();
                accs.insert(key, acc);
            }
        }
    }

    /// Folds another accumulator over the same leaves and grid into this
    /// one (the per-worker halves of a parallel scan, merged in a fixed
    /// order so results stay deterministic).
    pub fn merge(&mut self, mut other: Leaves) {
        for i in 0..self.specs.len() {
            self.drop_if_deferred(i);
            other.drop_if_deferred(i);
        }
        for (mine, theirs) in self.labels_seen.iter_mut().zip(other.labels_seen) {
            for l in theirs {
                if mine.len() < LABELS_KEPT {
                    mine.insert(l);
                }
            }
        }
        match (&mut self.histograms_as_floats, other.histograms_as_floats) {
            (Some(mine), Some(theirs)) => mine.1 += theirs.1,
            (mine @ None, theirs) => *mine = theirs,
            _ => {}
        }
        for (i, accs) in other.hist_accs.into_iter().enumerate() {
            for (key, acc) in accs {
                let Some(mine) = self.hist_accs[i].get_mut(&key) else {
                    self.hist_accs[i].insert(key, acc);
                    continue;
                };
                if self.specs[i].agg.is_none() {
                    self.errors.push(same_labels(&self.specs[i].text));
                    continue;
                }
                for (m, t) in mine.iter_mut().zip(acc) {
                    m.merge(t);
                }
            }
        }
        for (i, accs) in other.accs.into_iter().enumerate() {
            self.matched[i] += other.matched[i];
            let op = self.specs[i].agg.as_ref().map(|(op, _)| *op);
            for (key, acc) in accs {
                let Some(mine) = self.accs[i].get_mut(&key) else {
                    self.accs[i].insert(key, acc);
                    continue;
                };
                let Some(op) = op else {
                    self.errors.push(same_labels(&self.specs[i].text));
                    continue;
                };
                for k in 0..acc.n.len() {
                    agg::merge(
                        op,
                        &mut mine.sum[k],
                        &mut mine.comp[k],
                        &mut mine.n[k],
                        (acc.sum[k], acc.comp[k], acc.n[k]),
                    );
                }
            }
        }
        self.errors.extend(other.errors);
    }

    pub fn finish(mut self) -> Vec<LeafOut> {
        let n = self.specs.len();
        // Native-histogram leaves: each shared sum gives every leaf that
        // reads it its floats, step by step.
        let mut hist_out: Vec<Vec<(Labels, Vec<f64>)>> = (0..n).map(|_| Vec::new()).collect();
        let mut readers: Vec<Vec<(usize, HistFn)>> = (0..n).map(|_| Vec::new()).collect();
        for (i, spec) in self.specs.iter().enumerate() {
            if let LeafKind::Hist { f, .. } = spec.kind {
                readers[self.hist_src[i]].push((i, f));
            }
        }
        for (accs, readers) in std::mem::take(&mut self.hist_accs).into_iter().zip(&readers) {
            for (labels, acc) in accs {
                let labels = Arc::new(labels);
                let mut vals: Vec<Vec<f64>> = readers.iter().map(|_| Vec::with_capacity(acc.len())).collect();
                for a in acc {
                    let h = a.finish();
                    for ((_, f), v) in readers.iter().zip(vals.iter_mut()) {
                        v.push(h.as_ref().map_or(ABSENT, |h| hist_value(*f, h)));
                    }
                }
                for ((i, _), v) in readers.iter().zip(vals) {
                    hist_out[*i].push((labels.clone(), v));
                }
            }
        }
        for i in 0..n {
            let j = self.hist_src[i];
            if j != i {
                self.labels_seen[i] = self.labels_seen[j].clone();
            }
        }
        let mut out = Vec::with_capacity(n);
        let missed = self.missed_buckets.into_iter().zip(self.labels_seen);
        for (((i, (spec, accs)), matched), (missed_buckets, labels_seen)) in
            self.specs.iter().zip(self.accs).enumerate().zip(self.matched).zip(missed)
        {
            let absent_grouping = match &spec.agg {
                Some((_, Grouping::By(by))) if matched > 0 && labels_seen.len() < LABELS_KEPT => {
                    by.iter().filter(|b| !labels_seen.contains(*b)).cloned().collect()
                }
                _ => Vec::new(),
            };
            let op = spec.agg.as_ref().map(|(op, _)| *op);
            if let LeafKind::Hist { .. } = spec.kind {
                let mut series = std::mem::take(&mut hist_out[i]);
                series.sort_by(|a, b| a.0.cmp(&b.0));
                out.push(LeafOut { series, matched, missed_buckets, absent_grouping, labels_seen });
                continue;
            }
            let mut series: Vec<(Labels, Vec<f64>)> = accs
                .into_iter()
                .map(|(labels, acc)| {
                    let vals = (0..acc.n.len())
                        .map(|k| {
                            if acc.n[k] == 0 {
                                return ABSENT;
                            }
                            match op {
                                None => acc.sum[k],
                                Some(op) => agg::finish(op, acc.sum[k], acc.comp[k], acc.n[k]),
                            }
                        })
                        .collect();
                    (Arc::new(labels), vals)
                })
                .collect();
            series.sort_by(|a, b| a.0.cmp(&b.0));
            out.push(LeafOut { series, matched, missed_buckets, absent_grouping, labels_seen });
        }
        out
    }
}

/// See [`Leaves::admit`].
enum Admit {
    Repeated,
    Count,
    Compute,
}

/// Prometheus's error when a function without aggregation gives two
/// series the same labels.
fn same_labels(text: &str) -> String {
    format!("`{text}`: two series have the same labels once the metric name is dropped")
}

/// Notes the label names of a series a grouped leaf reads (at most
/// [`LABELS_KEPT`]).
fn note_labels(seen: &mut BTreeSet<String>, labels: &[(String, String)]) {
    for (k, _) in labels {
        if seen.len() < LABELS_KEPT && k != "__name__" && !seen.contains(k) {
            seen.insert(k.clone());
        }
    }
}

/// What a native-histogram leaf makes of one step's histogram.
fn hist_value(f: HistFn, h: &NativeHistogram) -> f64 {
    match f {
        HistFn::Count => h.count,
        HistFn::Fraction(lo, hi) => native::fraction(lo, hi, h),
    }
}

/// Per float leaf, the first leaf with the same function, range and grid
/// (see [`Leaves::twin`]); native-histogram leaves are their own.
fn twins(specs: &[LeafSpec]) -> Vec<usize> {
    // (range function and range, or none for an instant selector; grid)
    let mut first: HashMap<(Option<(RangeFn, i64)>, usize), usize> = HashMap::new();
    (0..specs.len())
        .map(|i| match specs[i].kind {
            LeafKind::Instant => *first.entry((None, specs[i].phase)).or_insert(i),
            LeafKind::Range(f, r) => *first.entry((Some((f, r)), specs[i].phase)).or_insert(i),
            LeafKind::Hist { .. } => i,
        })
        .collect()
}

/// Per leaf, the leaf whose native-histogram sums it reads (see
/// [`Leaves::hist_src`]).
fn hist_sources(specs: &[LeafSpec]) -> Vec<usize> {
    let mut first: HashMap<(String, String, bool, i64, usize), usize> = HashMap::new();
    (0..specs.len())
        .map(|i| match specs[i].kind {
            LeafKind::Hist { rate, range, .. } => {
                let key = (specs[i].sel.text(), format!("{:?}", specs[i].agg), rate, range, specs[i].phase);
                *first.entry(key).or_insert(i)
            }
            _ => i,
        })
        .collect()
}

/// An instant selector at every step: the latest sample at or before `t`
/// and after `t − 5m`, unless a staleness marker came after it.
fn instant(ts: &[i64], v: &[f64], stale: &[i64], grid: &Grid, out: &mut [f64]) {
    let (mut hi, mut shi) = (0usize, 0usize);
    for (k, o) in out.iter_mut().enumerate() {
        let t = grid.at(k);
        while hi < ts.len() && ts[hi] <= t {
            hi += 1;
        }
        while shi < stale.len() && stale[shi] <= t {
            shi += 1;
        }
        *o = if hi == 0 || ts[hi - 1] <= t - LOOKBACK_MS || (shi > 0 && stale[shi - 1] > ts[hi - 1]) {
            ABSENT
        } else {
            v[hi - 1]
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::replay::plan::Planner;

    /// Per leaf, its output series: labels and the values' bits.
    type Out = Vec<Vec<(Vec<(String, String)>, Vec<u64>)>>;

    /// The outputs of the leaves of `exprs`, all fed the same three series
    /// (a counter with a reset and a staleness marker, per `code`).
    fn outputs(exprs: &[&str], grid: Grid) -> Out {
        let mut planner = Planner::new(BTreeSet::new());
        for e in exprs {
            planner.parse(e).expect("parses");
        }
        let lv = Leaves::new(planner.leaves.clone(), grid);
        bits(fed(lv).finish())
    }

    /// The leaves fed three series (a counter with a reset and a staleness
    /// marker, per `code`).
    fn fed(mut lv: Leaves) -> Leaves {
        for (code, shift) in [("200", 0i64), ("500", 7), ("503", 13)] {
            let labels = vec![
                ("__name__".to_string(), "m".to_string()),
                ("code".to_string(), code.to_string()),
                ("job".to_string(), "api".to_string()),
            ];
            // A counter with a reset, and a staleness marker.
            let ts: Vec<i64> = (0..400).map(|i| i * 15_000 + shift * 1000).collect();
            let v: Vec<f64> = (0..400).map(|i| if i < 250 { i as f64 * 3.0 } else { (i - 250) as f64 }).collect();
            let mut s = Samples::new(ts, v);
            lv.feed(&labels, &mut s, &[3_000_000 + shift], &[]);
        }
        lv
    }

    fn bits(outs: Vec<LeafOut>) -> Out {
        outs.into_iter()
            .map(|o| {
                o.series
                    .into_iter()
                    .map(|(l, v)| (l.iter().cloned().collect(), v.iter().map(|x| x.to_bits()).collect()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn leaves_sharing_a_series_values_equal_each_leaf_alone() {
        let exprs = [
            r#"sum(rate(m{code=~"5.."}[5m]))"#,
            r#"sum(rate(m[5m]))"#,
            r#"sum by (code) (increase(m[5m]))"#,
            r#"rate(m{code="503"}[5m])"#,
            r#"sum(rate(m[10m]))"#,
            r#"max(m{code=~"5.."})"#,
            r#"sum(m)"#,
        ];
        let grid = Grid { from: 600_000, step: 60_000, len: 90 };
        let together = outputs(&exprs, grid);
        assert_eq!(together.len(), exprs.len());
        for (e, got) in exprs.iter().zip(&together) {
            let alone = outputs(&[e], grid);
            assert_eq!(&alone[0], got, "{e}");
            assert!(!got.is_empty(), "{e} has output");
        }
    }

    /// Past its budget, the gate defers the leaves of the latest class
    /// first, then (within one class) the leaf asking; the leaves it lets
    /// through are exactly those computed without it, and a deferred leaf
    /// still counts its output series, its matches and its errors.
    #[test]
    fn the_gate_defers_the_latest_class_first_and_keeps_the_rest_exact() {
        let grid = Grid { from: 600_000, step: 60_000, len: 90 };
        let exprs = [r#"sum by (code) (rate(m[5m]))"#, r#"rate(m[5m])"#, r#"max(m{code=~"5.."})"#];
        // The same leaves in three classes (phases), on the same grid.
        let mut planner = Planner::new(BTreeSet::new());
        for class in 0..3 {
            planner.phase = class;
            for e in exprs {
                planner.parse(e).expect("parses");
            }
        }
        let specs = planner.leaves.clone();
        // At most what a class's leaves hold: 3 output series each (`max`
        // has one) × 90 steps.
        let per_class = 3 * 3 * 90 * ACC_BYTES;
        let free = bits(fed(Leaves::phased(specs.clone(), vec![grid; 3])).finish());
        for (budget, complete) in [
            (usize::MAX, vec![true; 9]),
            // Two classes fit: the third is deferred.
            (2 * per_class, [vec![true; 6], vec![false; 3]].concat()),
            // Under one class: class 2, then class 1, then class 0's leaves
            // as they ask.
            (per_class / 2, vec![false; 9]),
        ] {
            let gate = Arc::new(Gate::new(&specs, budget));
            let lv = fed(Leaves::phased(specs.clone(), vec![grid; 3]).gated(Some(gate)));
            let (got, errors, matched) = (lv.complete(), lv.errors.clone(), lv.matched.clone());
            if budget == per_class / 2 {
                // Something of class 0 fits, all of classes 1 and 2 went.
                assert!(got[..3].iter().any(|&c| c), "{got:?}");
                assert!(got[3..].iter().all(|&c| !c), "{got:?}");
            } else {
                assert_eq!(got, complete, "budget {budget}");
            }
            assert!(errors.is_empty() && matched.iter().all(|&m| m > 0), "{errors:?} {matched:?}");
            for (i, out) in bits(lv.finish()).into_iter().enumerate() {
                assert_eq!(out.len(), free[i].len(), "leaf {i}: its output series are counted");
                if got[i] {
                    assert_eq!(out, free[i], "leaf {i} computed under the gate");
                } else {
                    assert!(out.iter().all(|(_, v)| v.is_empty()), "leaf {i} deferred keeps no values");
                }
            }
        }
        // A deferred leaf still reports two series with the same labels.
        let mut planner = Planner::new(BTreeSet::new());
        planner.parse(r#"rate(m[5m])"#).expect("parses");
        let specs = planner.leaves.clone();
        let gate = Arc::new(Gate::new(&specs, 0));
        let mut lv = Leaves::phased(specs, vec![grid]).gated(Some(gate));
        let labels = vec![("__name__".to_string(), "m".to_string())];
        for _ in 0..2 {
            lv.feed(&labels, &mut Samples::new(vec![0, 60_000], vec![1.0, 2.0]), &[], &[]);
        }
        assert_eq!(lv.complete(), vec![false]);
        assert_eq!(lv.errors.len(), 1, "{:?}", lv.errors);
    }

    /// A leaf reading another's native-histogram sums is complete only if
    /// that one is: on one grid the gate defers the leaf asking, which is
    /// the one holding the sums, never its readers.
    #[test]
    fn a_reader_of_deferred_histogram_sums_is_not_complete() {
        let grid = Grid { from: 600_000, step: 60_000, len: 30 };
        let mut planner = Planner::new(BTreeSet::new());
        planner.parse("histogram_count(sum(rate(h[5m])))").expect("parses");
        planner.parse("histogram_fraction(0, 1, sum(rate(h[5m])))").expect("parses");
        planner.parse("sum(rate(m[5m]))").expect("parses");
        let specs = planner.leaves.clone();
        assert_eq!(specs.len(), 3);
        let hist: Vec<(i64, NativeHistogram)> = (0..60)
            .map(|k| {
                let n = k as f64;
                let h = NativeHistogram {
                    count: 2.0 * n,
                    sum: n,
                    positive: vec![(0, n), (1, n)],
                    ..NativeHistogram::empty(0)
                };
                (k * 15_000, h)
            })
            .collect();
        let h = vec![("__name__".to_string(), "h".to_string())];
        let m = vec![("__name__".to_string(), "m".to_string())];
        for budget in [0, usize::MAX] {
            let gate = Arc::new(Gate::new(&specs, budget));
            let mut lv = Leaves::phased(specs.clone(), vec![grid]).gated(Some(gate));
            lv.feed(&h, &mut Samples::new(hist.iter().map(|(t, _)| *t).collect(), vec![]), &[], &hist);
            let ts: Vec<i64> = (0..60).map(|k| k * 15_000).collect();
            lv.feed(&m, &mut Samples::new(ts, (0..60).map(f64::from).collect()), &[], &[]);
            let complete = lv.complete();
            let outs = lv.finish();
            if budget == 0 {
                assert_eq!(complete, vec![false; 3], "the sums' reader follows them");
            } else {
                assert_eq!(complete, vec![true; 3]);
                assert!(outs.iter().all(|o| o.series.len() == 1 && o.series[0].1.len() == 30), "{outs:?}");
            }
        }
    }
}
