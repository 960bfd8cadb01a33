//! The embedded replay in waves, so that the leaves a run holds do not grow
//! with the number of SLOs.
//!
//! Every leaf holds a value per step of its schedule class's grid for each
//! of its output series. Groups evaluated at different phases (a server's
//! schedule: `--rule-dir`, `--offsets-from-server`) cannot share leaves, so
//! a catalogue at many phases holds many copies of the same leaves: 170
//! SLOs at 170 phases held 2 GiB of them at once.
//!
//! So the blocks of rule groups (see [`super::independent_blocks`]) are
//! replayed in waves, each wave one scan that computes only the leaves its
//! blocks read, then those blocks' evaluation, then the leaves dropped:
//!
//! - the first scan computes every leaf within a budget ([`budget`]),
//!   which the scan's workers share through a
//!   [`Gate`](super::leaves::Gate): past it, the leaves of the latest
//!   schedule class are deferred — their values dropped and no longer
//!   computed, their output series still counted, their errors and
//!   selector facts still found — then, on one grid, the leaf asking.
//!   When everything fits, that is the whole run: one scan, as before;
//! - the blocks reading only leaves it computed are the first wave; the
//!   others, in order of their first class, are packed into waves whose
//!   leaves the counts put within the budget ([`leaf_bytes`]); a block
//!   whose leaves alone exceed it is a wave of its own.
//!
//! A wave's scan reads only the rows its leaves select, and each later
//! wave costs one more read of those rows; the leaves' computation itself
//! is the same as in one wave. The recorded series and alert histories are
//! those of a run in one wave: blocks read nothing of each other's, and
//! the merge orders the series by where they were born.

use super::data::{self, DataError, Source, Stats};
use super::eval::{RecSeries, Step, Store};
use super::leaves::{Gate, LeafOut, Leaves, ACC_BYTES, HIST_ACC_BYTES};
use super::plan::{LeafKind, LeafSpec, Node};
use super::range::Grid;
use super::{evaluate_blocks, Born, Evaluated, Switches};
use crate::layout::reader::guarded;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Per block, the leaves its rules read, each once, in order.
fn leaves_of_blocks(steps: &[(usize, Step)], block_of: &[usize], blocks: usize) -> Vec<Vec<usize>> {
    let mut sets: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); blocks];
    for (g, s) in steps {
        let (Step::Record { node, .. } | Step::Alert { node, .. }) = s;
        node.walk(&mut |n| {
            if let Node::Leaf(i) = n {
                sets[block_of[*g]].insert(*i);
            }
        });
    }
    sets.into_iter().map(|s| s.into_iter().collect()).collect()
}

/// The most a wave's leaves may hold (the first scan's, by its gate; a
/// later wave's, by the estimate [`leaf_bytes`] of the counts): a quarter
/// of the run's memory limit, and at most 512 MiB. Beyond that, another
/// read of the rows costs less than the memory: the ×10 catalogue at 170
/// phases took 14.8 s in 7 waves at 512 MiB, 15.0 s in 3 at 1 GiB.
pub fn budget(limit: usize) -> usize {
    (limit / 4).clamp(1 << 20, 512 << 20)
}

/// What leaf `spec` holds at its peak, with `series` output series over
/// `steps` steps: while the scan runs, each of its `workers` folds into
/// accumulators of its own (an aggregated leaf's groups in every worker,
/// a plain leaf's series in one), merged at the end into the leaf's values.
pub fn leaf_bytes(spec: &LeafSpec, series: usize, steps: usize, workers: usize) -> usize {
    // An accumulator per step: sum, compensation and count; a native
    // histogram's sum, with room for its buckets.
    let acc = match spec.kind {
        LeafKind::Hist { .. } => HIST_ACC_BYTES + 128,
        _ => ACC_BYTES,
    };
    let copies = if spec.agg.is_some() { workers } else { 1 };
    series.saturating_mul(steps).saturating_mul(acc * copies + 8)
}

/// How the blocks are replayed: each block's wave, and how many waves.
#[derive(Debug, Clone, PartialEq)]
pub struct Waves {
    pub wave_of_block: Vec<usize>,
    pub waves: usize,
}

/// Packs the blocks not in the first wave into waves after it, in order
/// of their first class then of their number, each wave's leaves at most
/// `budget` bytes by `cost` (a block over it alone is a wave of its own).
pub fn pack(first: &[bool], reads: &[Vec<usize>], block_class: &[usize], cost: &[usize], budget: usize) -> Waves {
    let mut order: Vec<usize> = (0..first.len()).filter(|&b| !first[b]).collect();
    order.sort_by_key(|&b| (block_class[b], b));
    let mut wave_of_block = vec![0; first.len()];
    let mut waves = 1;
    let mut held: HashSet<usize> = HashSet::new();
    let mut bytes = 0usize;
    for b in order {
        let extra: usize = reads[b].iter().filter(|i| !held.contains(i)).map(|&i| cost[i]).sum();
        if waves == 1 || (bytes > 0 && bytes.saturating_add(extra) > budget) {
            waves += 1;
            held.clear();
            bytes = 0;
        }
        bytes = bytes.saturating_add(reads[b].iter().filter(|&&i| held.insert(i)).map(|&i| cost[i]).sum::<usize>());
        wave_of_block[b] = waves - 1;
    }
    Waves { wave_of_block, waves }
}

/// The blocks of a run and the leaves each reads (see the module's text).
pub struct Plan {
    pub block_of: Vec<usize>,
    pub reads: Vec<Vec<usize>>,
    pub block_class: Vec<usize>,
}

impl Plan {
    pub fn new(steps: &[(usize, Step)], groups: usize, class: &[usize]) -> Plan {
        let block_of = super::independent_blocks(steps, groups);
        let blocks = block_of.iter().copied().max().map_or(0, |b| b + 1);
        let reads = leaves_of_blocks(steps, &block_of, blocks);
        let mut block_class = vec![usize::MAX; blocks];
        for (g, &b) in block_of.iter().enumerate() {
            block_class[b] = block_class[b].min(class.get(g).copied().unwrap_or(0));
        }
        Plan { block_of, reads, block_class }
    }

    /// The waves after the first scan, whose leaves `outs` are those
    /// `complete` says it computed (the others' series only counted): the
    /// blocks reading only those are the first wave, the rest are packed
    /// within `budget`. Drops from `outs` what the first wave does not read.
    pub fn waves(&self, scans: &Scans, outs: &mut [LeafOut], complete: &[bool], budget: usize) -> Waves {
        let (specs, grids) = (scans.specs, scans.grids);
        let first: Vec<bool> = self.reads.iter().map(|r| r.iter().all(|&i| complete[i])).collect();
        let workers = super::data::leaf_workers();
        let cost: Vec<usize> = specs
            .iter()
            .zip(outs.iter())
            .map(|(s, o)| leaf_bytes(s, o.series.len(), grids.get(s.phase).map_or(0, |g| g.len), workers))
            .collect();
        let mut read = vec![false; specs.len()];
        for (b, r) in self.reads.iter().enumerate() {
            if first[b] {
                r.iter().for_each(|&i| read[i] = true);
            }
        }
        for (o, &r) in outs.iter_mut().zip(&read) {
            if !r {
                o.series = Vec::new();
            }
        }
        pack(&first, &self.reads, &self.block_class, &cost, budget)
    }

    /// The leaves wave `w` computes.
    pub fn wave_leaves(&self, waves: &Waves, w: usize) -> Vec<usize> {
        let set: BTreeSet<usize> = (0..self.reads.len())
            .filter(|&b| waves.wave_of_block[b] == w)
            .flat_map(|b| self.reads[b].iter().copied())
            .collect();
        set.into_iter().collect()
    }
}

/// What the first scan leaves: the data's statistics, the leaves' errors,
/// every leaf's outputs — the values of those the first wave reads, the
/// selector facts and series counts of all — and the waves.
pub struct First {
    pub stats: Stats,
    pub errors: Vec<String>,
    pub outs: Vec<LeafOut>,
    pub waves: Waves,
}

/// What a run's scans read: the data, the leaves (each on its class's grid
/// in `grids`) and the range of sample times `[lo, hi]`.
pub struct Scans<'a> {
    pub src: &'a Source,
    pub specs: &'a [LeafSpec],
    pub grids: &'a [Grid],
    pub range: (i64, i64),
    pub rt: &'a tokio::runtime::Runtime,
}

impl Scans<'_> {
    /// The first scan: every leaf within `budget` (see the module's text),
    /// and the waves `plan`'s blocks take after it.
    pub fn first(
        &self,
        plan: &Plan,
        budget: usize,
        progress: &indicatif::ProgressBar,
    ) -> Result<First, Vec<DataError>> {
        let gate = std::sync::Arc::new(Gate::new(self.specs, budget));
        let mut lv = Leaves::phased(self.specs.to_vec(), self.grids.to_vec()).gated(Some(gate));
        let stats = self.scan(&mut lv, progress)?;
        let errors = std::mem::take(&mut lv.errors);
        let complete = lv.complete();
        let mut outs = lv.finish();
        let waves = plan.waves(self, &mut outs, &complete, budget);
        Ok(First { stats, errors, outs, waves })
    }

    /// Wave `w`'s scan (`w` > 0): its leaves, each in its place among all
    /// of `specs` (the others empty).
    pub fn wave(
        &self,
        plan: &Plan,
        waves: &Waves,
        w: usize,
        progress: &indicatif::ProgressBar,
    ) -> Result<Vec<LeafOut>, Vec<DataError>> {
        let idx = plan.wave_leaves(waves, w);
        let mut lv = Leaves::phased(idx.iter().map(|&i| self.specs[i].clone()).collect(), self.grids.to_vec());
        self.scan(&mut lv, progress)?;
        let mut full: Vec<LeafOut> = (0..self.specs.len()).map(|_| LeafOut::default()).collect();
        for (i, o) in idx.into_iter().zip(lv.finish()) {
            full[i] = o;
        }
        Ok(full)
    }

    fn scan(&self, lv: &mut Leaves, progress: &indicatif::ProgressBar) -> Result<Stats, Vec<DataError>> {
        let (lo, hi) = self.range;
        guarded(&self.src.paths, || data::scan(self.src, lv, lo, hi, self.rt, progress))
    }
}

/// [`super::evaluate`] wave by wave: `leaves_of(w)` gives wave `w`'s leaf
/// outputs (every leaf's place kept, the others empty), then the wave's
/// blocks are evaluated over them and they are dropped. `keys[j]` is step
/// `j`'s place in the whole program's order ([`super::eval_keys`]). The
/// steps keep their order; the series are merged as one evaluation's
/// would be. The evaluation errors come with how often each happened.
#[allow(clippy::too_many_arguments)] // reason: evaluate's inputs, plus the waves and the leaves of each
pub fn evaluate<E>(
    steps: &mut Vec<(usize, Step)>,
    keys: &[(usize, usize)],
    plan: &Plan,
    waves: &Waves,
    mut leaves_of: impl FnMut(usize) -> Result<Vec<LeafOut>, E>,
    grids: &[Grid],
    downtime: &[(i64, i64)],
    summed: HashSet<String>,
    switches: &Switches,
    progress: &indicatif::ProgressBar,
) -> Result<(Store, BTreeMap<String, usize>, Evaluated), E> {
    let mut parts: Vec<Vec<(usize, (usize, Step))>> = (0..waves.waves).map(|_| Vec::new()).collect();
    for (i, s) in std::mem::take(steps).into_iter().enumerate() {
        parts[waves.wave_of_block[plan.block_of[s.0]]].push((i, s));
    }
    let mut back: Vec<Option<(usize, Step)>> = (0..keys.len()).map(|_| None).collect();
    let mut series: Vec<(Born, RecSeries)> = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut how = Evaluated::default();
    let mut failed = None;
    for (w, part) in parts.into_iter().enumerate() {
        let (idx, mut sub): (Vec<usize>, Vec<(usize, Step)>) = part.into_iter().unzip();
        if failed.is_none() {
            match leaves_of(w) {
                Ok(outs) => {
                    let sub_keys: Vec<(usize, usize)> = idx.iter().map(|&i| keys[i]).collect();
                    let (s, e, h) =
                        evaluate_blocks(&mut sub, &sub_keys, &outs, grids, downtime, &summed, switches, progress);
                    series.extend(s);
                    for (e, n) in e {
                        *errors.entry(e).or_default() += n;
                    }
                    how.add(h);
                }
                Err(e) => failed = Some(e),
            }
        }
        for (i, s) in idx.into_iter().zip(sub) {
            back[i] = Some(s);
        }
    }
    *steps = back.into_iter().flatten().collect();
    if let Some(e) = failed {
        return Err(e);
    }
    let merge = std::time::Instant::now();
    let store = super::merged(series, summed);
    how.merge = merge.elapsed();
    Ok((store, errors, how))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_pack_blocks_by_class_within_the_budget() {
        // Blocks 0 and 3 have a class-0 group: the first wave. The others,
        // by first class: 4 (class 1), 1 (class 2), 2 (class 2), 5 (class 3).
        let first = vec![true, false, false, true, false, false];
        let block_class = vec![0, 2, 2, 0, 1, 3];
        // Leaves: 0..2 class 0; block 1 and 2 share leaf 4; block 5 is over
        // the budget alone.
        let reads = vec![vec![0], vec![3, 4], vec![4, 5], vec![1, 2], vec![6], vec![7]];
        let cost = vec![10, 10, 10, 40, 30, 20, 50, 500];
        let w = pack(&first, &reads, &block_class, &cost, 100);
        // Wave 1: block 4 (50), then block 1 (+70 > 100: a new wave);
        // wave 2: block 1 (70), block 2 shares leaf 4 (+20 = 90); wave 3:
        // block 5 alone.
        assert_eq!(w, Waves { wave_of_block: vec![0, 2, 2, 0, 1, 3], waves: 4 });
        // A budget everything fits in: one wave after the first.
        let w = pack(&first, &reads, &block_class, &cost, 10_000);
        assert_eq!(w, Waves { wave_of_block: vec![0, 1, 1, 0, 1, 1], waves: 2 });
        // Every block in the first wave: one wave.
        let w = pack(&[true; 6], &reads, &block_class, &cost, 1);
        assert_eq!(w, Waves { wave_of_block: vec![0; 6], waves: 1 });
    }

    #[test]
    fn the_budget_is_a_quarter_of_the_limit_within_bounds() {
        assert_eq!(budget(16 << 20), 4 << 20);
        assert_eq!(budget(1 << 30), 256 << 20);
        assert_eq!(budget(12 << 30), 512 << 20);
        assert_eq!(budget(0), 1 << 20);
    }
}
