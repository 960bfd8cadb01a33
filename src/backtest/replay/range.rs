//! Range functions (`rate`, `increase`, `*_over_time`) with Prometheus 3
//! semantics, evaluated for one series at every step of a grid in one
//! forward pass (two monotone cursors), so a series' samples are read once
//! per window however many steps there are.
//!
//! Range selection is left-open: `x[r]` at `t` takes samples with
//! `t − r < ts ≤ t` (Prometheus ≥ 3.0, docs/semantics.md §2). Staleness markers
//! never reach these functions: the loader keeps them apart.

/// A step without output. A NaN payload no arithmetic produces, so a real
/// NaN result (a NaN sample, 0/0) stays distinguishable from "no sample".
pub(crate) const ABSENT: f64 = f64::from_bits(0x7ff8_0000_5105_ab5e);

pub(crate) fn is_absent(x: f64) -> bool {
    x.to_bits() == ABSENT.to_bits()
}

/// The evaluation grid: `from + k·step` for `k < len`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub from: i64,
    pub step: i64,
    pub len: usize,
}

impl Grid {
    pub fn at(&self, k: usize) -> i64 {
        self.from + k as i64 * self.step
    }
    pub fn to(&self) -> i64 {
        self.at(self.len.saturating_sub(1))
    }

    /// Which steps a server evaluates, down in the ranges `[from, to)` of
    /// `downtime`; `None` when it evaluates every one. One pass over the
    /// steps and the ranges (sorted), however many ranges there are.
    pub fn evaluated(&self, downtime: &[(i64, i64)]) -> Option<Vec<bool>> {
        let mut down: Vec<(i64, i64)> = downtime.iter().copied().filter(|(a, b)| a < b).collect();
        down.sort_unstable();
        let mut live = vec![true; self.len];
        let mut next = 0;
        // The latest end among the ranges started at or before the step.
        let mut until = i64::MIN;
        for (k, l) in live.iter_mut().enumerate() {
            let t = self.at(k);
            while next < down.len() && down[next].0 <= t {
                until = until.max(down[next].1);
                next += 1;
            }
            *l = t >= until;
        }
        live.contains(&false).then_some(live)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeFn {
    Rate,
    Increase,
    SumOverTime,
    CountOverTime,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    LastOverTime,
}

impl RangeFn {
    pub(crate) fn from_name(name: &str) -> Option<RangeFn> {
        Some(match name {
            "rate" => RangeFn::Rate,
            "increase" => RangeFn::Increase,
            "sum_over_time" => RangeFn::SumOverTime,
            "count_over_time" => RangeFn::CountOverTime,
            "avg_over_time" => RangeFn::AvgOverTime,
            "min_over_time" => RangeFn::MinOverTime,
            "max_over_time" => RangeFn::MaxOverTime,
            "last_over_time" => RangeFn::LastOverTime,
            _ => return None,
        })
    }

    /// Prometheus drops the metric name from every range function's output
    /// except `last_over_time`'s.
    pub(crate) fn keeps_name(self) -> bool {
        self == RangeFn::LastOverTime
    }
}

/// Exact running sums: a double-double prefix of the finite values plus
/// counts of NaN, +Inf and −Inf, so any window's sum is as exact as
/// Prometheus's compensated sum and a NaN poisons only the windows it is in.
#[derive(Debug, Default, Clone)]
pub(crate) struct Prefix {
    hi: Vec<f64>,
    lo: Vec<f64>,
    nan: Vec<u32>,
    pinf: Vec<u32>,
    ninf: Vec<u32>,
}

fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

impl Prefix {
    pub fn new() -> Prefix {
        Prefix { hi: vec![0.0], lo: vec![0.0], nan: vec![0], pinf: vec![0], ninf: vec![0] }
    }

    pub fn push(&mut self, x: f64) {
        let (mut h, mut l) = (*self.hi.last().unwrap(), *self.lo.last().unwrap());
        let (mut n, mut p, mut m) = (*self.nan.last().unwrap(), *self.pinf.last().unwrap(), *self.ninf.last().unwrap());
        if x.is_nan() {
            n += 1;
        } else if x == f64::INFINITY {
            p += 1;
        } else if x == f64::NEG_INFINITY {
            m += 1;
        } else {
            let (s, e) = two_sum(h, x);
            let (s2, e2) = two_sum(s, l + e);
            h = s2;
            l = e2;
        }
        self.hi.push(h);
        self.lo.push(l);
        self.nan.push(n);
        self.pinf.push(p);
        self.ninf.push(m);
    }

    pub(crate) fn from_values(v: &[f64]) -> Prefix {
        let mut p = Prefix::new();
        for &x in v {
            p.push(x);
        }
        p
    }

    /// Sum of values `[a, b)`.
    pub fn sum(&self, a: usize, b: usize) -> f64 {
        let nan = self.nan[b] - self.nan[a];
        let pinf = self.pinf[b] - self.pinf[a];
        let ninf = self.ninf[b] - self.ninf[a];
        if nan > 0 || (pinf > 0 && ninf > 0) {
            return f64::NAN;
        }
        if pinf > 0 {
            return f64::INFINITY;
        }
        if ninf > 0 {
            return f64::NEG_INFINITY;
        }
        (self.hi[b] - self.hi[a]) + (self.lo[b] - self.lo[a])
    }
}

/// One series' samples, sorted by time, without staleness markers, with the
/// prefix arrays the range functions need.
#[derive(Debug, Default)]
pub struct Samples {
    pub ts: Vec<i64>,
    pub v: Vec<f64>,
    prefix: Option<Prefix>,
    /// `resets[i]` = Σ over j ≤ i of the value before a counter reset at j.
    resets: Option<Vec<f64>>,
}

impl Samples {
    pub fn new(ts: Vec<i64>, v: Vec<f64>) -> Samples {
        Samples { ts, v, prefix: None, resets: None }
    }

    fn prefix(&mut self) -> &Prefix {
        if self.prefix.is_none() {
            self.prefix = Some(Prefix::from_values(&self.v));
        }
        self.prefix.as_ref().unwrap()
    }

    fn resets(&mut self) -> &[f64] {
        if self.resets.is_none() {
            let mut r = Vec::with_capacity(self.v.len());
            let mut acc = 0.0;
            for i in 0..self.v.len() {
                if i > 0 && self.v[i] < self.v[i - 1] {
                    acc += self.v[i - 1];
                }
                r.push(acc);
            }
            self.resets = Some(r);
        }
        self.resets.as_ref().unwrap()
    }

    /// `f(x[range])` at every step of `grid` into `out` (ABSENT where
    /// Prometheus returns nothing).
    pub fn eval(&mut self, f: RangeFn, range: i64, grid: &Grid, out: &mut [f64]) {
        debug_assert_eq!(out.len(), grid.len);
        if matches!(f, RangeFn::Rate | RangeFn::Increase) {
            self.resets();
            return self.eval_counter(f == RangeFn::Rate, range, grid, out);
        }
        match f {
            RangeFn::SumOverTime | RangeFn::AvgOverTime => {
                self.prefix();
            }
            _ => {}
        }
        let (ts, v) = (&self.ts, &self.v);
        let (mut lo, mut hi) = (0usize, 0usize);
        // Sliding min/max: a monotone deque of indices.
        let mut deque: std::collections::VecDeque<usize> = Default::default();
        for (k, o) in out.iter_mut().enumerate() {
            let t = grid.at(k);
            let start = t - range;
            let hi_before = hi;
            while hi < ts.len() && ts[hi] <= t {
                hi += 1;
            }
            while lo < hi && ts[lo] <= start {
                lo += 1;
            }
            if matches!(f, RangeFn::MinOverTime | RangeFn::MaxOverTime) {
                for i in hi_before..hi {
                    let better = |a: f64, b: f64| {
                        if f == RangeFn::MinOverTime {
                            a <= b
                        } else {
                            a >= b
                        }
                    };
                    // Prometheus: a NaN is replaced by any later number, and
                    // kept only when every value is NaN.
                    while let Some(&j) = deque.back() {
                        if v[j].is_nan() || better(v[i], v[j]) {
                            deque.pop_back();
                        } else {
                            break;
                        }
                    }
                    deque.push_back(i);
                }
                while let Some(&j) = deque.front() {
                    if j < lo {
                        deque.pop_front();
                    } else {
                        break;
                    }
                }
            }
            let window =
                Window { ts, v, lo, hi, prefix: self.prefix.as_ref(), resets: None, extreme: deque.front().copied() };
            *o = window.apply(f, t, range);
        }
    }
}

impl Samples {
    /// `rate`/`increase` at every step, in a loop of its own: the hot path
    /// of a backtest, without the other functions' per-step branches.
    fn eval_counter(&self, is_rate: bool, range: i64, grid: &Grid, out: &mut [f64]) {
        let (ts, v) = (&self.ts[..], &self.v[..]);
        let r = self.resets.as_deref().unwrap_or(&[]);
        let (mut lo, mut hi) = (0usize, 0usize);
        let mut t = grid.from;
        for o in out.iter_mut() {
            while hi < ts.len() && ts[hi] <= t {
                hi += 1;
            }
            while lo < hi && ts[lo] <= t - range {
                lo += 1;
            }
            let window = Window { ts, v, lo, hi, prefix: None, resets: Some(r), extreme: None };
            *o = window.counter(t, range, is_rate);
            t += grid.step;
        }
    }
}

/// Prometheus 3's `extrapolatedRate` for a counter (promql/functions.go),
/// given the window's first and last samples, the sample count and the sum
/// of values before each counter reset inside the window.
#[allow(clippy::too_many_arguments)]
pub(crate) fn extrapolated(
    first_t: i64,
    first_v: f64,
    last_t: i64,
    last_v: f64,
    n: usize,
    correction: f64,
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_rate: bool,
) -> f64 {
    let mut result = last_v - first_v;
    result += correction;
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = sampled / (n - 1) as f64;
    let threshold = avg * 1.1;
    let mut interval = sampled;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if result > 0.0 && first_v >= 0.0 {
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    interval += to_start;
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    interval += to_end;
    let mut factor = interval / sampled;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    result * factor
}

/// `f` over the samples `[lo, hi)` of a slice (used for recorded series,
/// whose windows are read at one step at a time).
#[allow(clippy::too_many_arguments)]
pub(crate) fn eval_slice(
    f: RangeFn,
    ts: &[i64],
    v: &[f64],
    prefix: &Prefix,
    lo: usize,
    hi: usize,
    t: i64,
    range: i64,
) -> f64 {
    Window { ts, v, lo, hi, prefix: Some(prefix), resets: None, extreme: None }.apply(f, t, range)
}

/// The samples `[lo, hi)` a range selection at `t` takes from one series,
/// and the one kernel per range function over them. The streaming pass
/// ([`Samples::eval`]) brings running aids — the counter-reset prefix and
/// the min/max deque's front — that a one-off slice read
/// ([`eval_slice`]) computes by folding the window instead.
struct Window<'a> {
    ts: &'a [i64],
    v: &'a [f64],
    lo: usize,
    hi: usize,
    /// Needed by `sum_over_time` and `avg_over_time`.
    prefix: Option<&'a Prefix>,
    /// `Samples::resets`, when the pass keeps them.
    resets: Option<&'a [f64]>,
    /// Front of the sliding min/max deque, when the pass keeps one.
    extreme: Option<usize>,
}

impl Window<'_> {
    /// `f` at `t` (ABSENT where Prometheus returns nothing).
    #[inline]
    fn apply(&self, f: RangeFn, t: i64, range: i64) -> f64 {
        let n = self.hi - self.lo;
        if n == 0 {
            return ABSENT;
        }
        match f {
            RangeFn::CountOverTime => n as f64,
            RangeFn::SumOverTime => self.sum(),
            RangeFn::AvgOverTime => self.sum() / n as f64,
            RangeFn::LastOverTime => self.v[self.hi - 1],
            RangeFn::MinOverTime => self.extreme(|a, b| a < b),
            RangeFn::MaxOverTime => self.extreme(|a, b| a > b),
            RangeFn::Rate | RangeFn::Increase => self.counter(t, range, f == RangeFn::Rate),
        }
    }

    fn sum(&self) -> f64 {
        self.prefix.expect("a prefix for sums").sum(self.lo, self.hi)
    }

    /// `rate` / `increase`: at least two samples, extrapolated.
    #[inline]
    fn counter(&self, t: i64, range: i64, is_rate: bool) -> f64 {
        let (ts, v, lo, hi) = (self.ts, self.v, self.lo, self.hi);
        if hi - lo < 2 {
            return ABSENT;
        }
        let correction = match self.resets {
            Some(r) => r[hi - 1] - r[lo],
            None => {
                let mut correction = 0.0;
                for i in lo + 1..hi {
                    if v[i] < v[i - 1] {
                        correction += v[i - 1];
                    }
                }
                correction
            }
        };
        extrapolated(ts[lo], v[lo], ts[hi - 1], v[hi - 1], hi - lo, correction, t - range, t, range, is_rate)
    }

    /// `min_over_time` / `max_over_time` (`better` is `<` or `>`):
    /// Prometheus replaces a NaN by any later number and keeps it only
    /// when every value is NaN.
    fn extreme(&self, better: impl Fn(f64, f64) -> bool) -> f64 {
        let v = &self.v[self.lo..self.hi];
        match self.extreme {
            // Only NaNs left in front: any number in the window wins.
            Some(j) if self.v[j].is_nan() => v.iter().copied().find(|x| !x.is_nan()).unwrap_or(f64::NAN),
            Some(j) => self.v[j],
            None => {
                let mut acc = v[0];
                for &x in &v[1..] {
                    if better(x, acc) || acc.is_nan() {
                        acc = x;
                    }
                }
                acc
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_evaluated_are_those_outside_every_downtime() {
        use rand::{RngExt, SeedableRng};
        let grid = Grid { from: 1_000, step: 60_000, len: 500 };
        let naive = |d: &[(i64, i64)]| -> Vec<bool> {
            (0..grid.len).map(|k| !d.iter().any(|&(a, b)| a <= grid.at(k) && grid.at(k) < b)).collect()
        };
        assert_eq!(grid.evaluated(&[]), None);
        assert_eq!(grid.evaluated(&[(0, 1_000)]), None, "the end is not in the range");
        assert_eq!(grid.evaluated(&[(61_000, 61_000)]), None, "an empty range");
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let mut next = |n: i64| rng.random_range(0..n);
        for _ in 0..200 {
            // Unsorted, overlapping, nested, touching, and ranges that end
            // before they start (nothing), some beyond the grid.
            let d: Vec<(i64, i64)> = (0..next(6))
                .map(|_| {
                    let a = next(32_000_000) - 1_000_000;
                    (a, a + next(3_000_000) - 200_000)
                })
                .collect();
            let want = naive(&d);
            let got = grid.evaluated(&d).unwrap_or_else(|| vec![true; grid.len]);
            assert_eq!(got, want, "{d:?}");
        }
    }

    fn grid_at(t: i64) -> Grid {
        Grid { from: t, step: 60_000, len: 1 }
    }

    /// docs/semantics.md §3: `c='45+60x10'` at a 1m interval, `rate(c[5m])` at
    /// 150 s is 0.6 on Prometheus ≥ 2.51 (the zero clamp after the threshold).
    #[test]
    fn rate_matches_reference_example() {
        let ts: Vec<i64> = (0..=10).map(|i| i * 60_000).collect();
        let v: Vec<f64> = (0..=10).map(|i| 45.0 + 60.0 * i as f64).collect();
        let mut s = Samples::new(ts, v);
        let mut out = [0.0];
        s.eval(RangeFn::Rate, 300_000, &Grid { from: 150_000, step: 60_000, len: 1 }, &mut out);
        assert!((out[0] - 0.6).abs() < 1e-12, "{}", out[0]);
    }

    #[test]
    fn counter_reset_adds_previous_value() {
        let ts = vec![0, 15_000, 30_000, 45_000, 60_000];
        let v = vec![10.0, 20.0, 5.0, 15.0, 25.0];
        let mut s = Samples::new(ts, v);
        let mut out = [0.0];
        s.eval(RangeFn::Increase, 60_000, &grid_at(60_000), &mut out);
        // Samples in (0, 60s]: 20, 5, 15, 25: raw 5 + reset 20 = 25 over 45 s,
        // extrapolated to the start by 15 s (≤ 1.1 × avg) → 25 × 60/45.
        assert!((out[0] - 25.0 * 60.0 / 45.0).abs() < 1e-9, "{}", out[0]);
    }

    #[test]
    fn sums_with_nan_poison_only_their_windows() {
        let ts = vec![0, 60_000, 120_000, 180_000];
        let v = vec![1.0, f64::NAN, 2.0, 3.0];
        let mut s = Samples::new(ts, v);
        let g = Grid { from: 60_000, step: 60_000, len: 3 };
        let mut out = [0.0; 3];
        s.eval(RangeFn::SumOverTime, 60_000, &g, &mut out);
        assert!(out[0].is_nan() && !is_absent(out[0]));
        assert_eq!(&out[1..], &[2.0, 3.0]);
    }

    #[test]
    fn min_max_and_absent() {
        let ts = vec![0, 60_000, 120_000];
        let v = vec![5.0, 1.0, 3.0];
        let mut s = Samples::new(ts, v);
        let g = Grid { from: 0, step: 60_000, len: 5 };
        let mut out = [0.0; 5];
        s.eval(RangeFn::MinOverTime, 120_000, &g, &mut out);
        assert_eq!(&out[..4], &[5.0, 1.0, 1.0, 3.0]);
        assert!(is_absent(out[4]));
        s.eval(RangeFn::MaxOverTime, 120_000, &g, &mut out);
        assert_eq!(&out[..4], &[5.0, 5.0, 3.0, 3.0]);
    }
}
