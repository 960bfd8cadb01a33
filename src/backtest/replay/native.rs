//! Native histograms in the replay: the arithmetic of Prometheus 3.5's
//! `FloatHistogram` the compiled rules reach (`rate`/`increase` over a
//! window, `sum`, `histogram_count`, `histogram_fraction`), on
//! [`NativeHistogram`]s with absolute bucket indices.
//!
//! What has to match (model/histogram/float_histogram.go,
//! promql/functions.go and promql/quantile.go of Prometheus 3.5):
//!
//! - Adding or subtracting reconciles the zero buckets first (the wider
//!   threshold wins, widened further past any populated bucket it cuts),
//!   then brings both to the coarser schema (merging `2^Δ` buckets into
//!   one), then adds bucket by bucket, ignoring the other side's buckets
//!   inside the zero bucket (they are in its zero count already).
//! - A counter reset between two samples is any count going down, a finer
//!   schema, a narrower zero bucket, or a populated bucket going missing —
//!   from the samples alone (the layout keeps no reset hints, so every
//!   sample is read as Prometheus reads a chunk's first one).
//! - `rate` over a window: the last sample at the window's lowest schema,
//!   minus the first (or nothing, when the second sample is a reset), plus
//!   the sample before each later reset; empty buckets dropped; scaled like
//!   a float `rate` but without the float's clamp at the counter's zero
//!   point. A window mixing float and histogram samples has no result.
//! - `histogram_fraction` interpolates exponentially inside exponential
//!   buckets and linearly in the zero bucket (from 0 when there are only
//!   positive buckets), and is NaN when the count is 0.

use super::range::Grid;
use crate::layout::histogram::NativeHistogram as H;

/// `2^exp · frac` (Go's `math.Ldexp`, without its subnormal rounding).
fn ldexp(frac: f64, exp: i32) -> f64 {
    let half = exp / 2;
    frac * 2f64.powi(half) * 2f64.powi(exp - half)
}

/// The upper bound of bucket `idx` at `schema` (`getBoundExponential`):
/// `2^(idx / 2^schema)`, the last finite bucket ending at `f64::MAX`.
pub(crate) fn bound(idx: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = i64::from(idx) << (-schema);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp.clamp(-2000, 2000) as i32);
    }
    let frac_idx = idx & ((1 << schema) - 1);
    let frac = (f64::from(frac_idx) / f64::from(1 << schema)).exp2() / 2.0;
    let exp = (idx >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// Buckets at `from` merged into `to ≤ from` (`reduceResolution`): bucket
/// `i` goes to `((i − 1) >> (from − to)) + 1`, counts summed in order.
fn reduce(buckets: &[(i32, f64)], from: i32, to: i32) -> Vec<(i32, f64)> {
    if from == to {
        return buckets.to_vec();
    }
    let mut out: Vec<(i32, f64)> = Vec::with_capacity(buckets.len());
    for &(i, c) in buckets {
        let t = ((i - 1) >> (from - to)) + 1;
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 += c,
            _ => out.push((t, c)),
        }
    }
    out
}

/// A copy of `h` at the coarser `schema` (`CopyToSchema`).
fn to_schema(h: &H, schema: i32) -> H {
    let mut out = h.clone();
    if schema < h.schema {
        out.positive = reduce(&h.positive, h.schema, schema);
        out.negative = reduce(&h.negative, h.schema, schema);
        out.schema = schema;
    }
    out
}

/// Drops empty buckets (`Compact(0)`).
fn compact(h: &mut H) {
    h.positive.retain(|b| b.1 != 0.0);
    h.negative.retain(|b| b.1 != 0.0);
}

/// What `h`'s zero count would be with the zero bucket widened to `larger`
/// (≥ its threshold), and the threshold it really ends at: moved out to the
/// edge of a populated bucket it would cut (`zeroCountForLargerThreshold`).
fn zero_count_for(h: &H, mut larger: f64) -> (f64, f64) {
    if larger == h.zero_threshold {
        return (h.zero_count, larger);
    }
    loop {
        let mut count = h.zero_count;
        if let Some(upper) = fold_below(&h.positive, h.schema, larger, &mut count) {
            larger = upper;
        }
        // A negative bucket cut anew widens the threshold past positive
        // buckets already folded: start over.
        match fold_below(&h.negative, h.schema, larger, &mut count) {
            Some(upper) => larger = upper,
            None => return (count, larger),
        }
    }
}

/// Adds to `count` the buckets of one side (by absolute value) that start
/// below `larger`; the upper bound of a populated bucket `larger` cuts.
fn fold_below(side: &[(i32, f64)], schema: i32, larger: f64, count: &mut f64) -> Option<f64> {
    for &(i, c) in side {
        if bound(i - 1, schema) >= larger {
            break;
        }
        *count += c;
        let upper = bound(i, schema);
        if upper > larger {
            return (c != 0.0).then_some(upper);
        }
    }
    None
}

/// Removes the buckets inside the (widened) zero bucket, whose counts the
/// zero count already holds (`trimBucketsInZeroBucket`, then `Compact(0)`).
fn trim_zero_bucket(h: &mut H) {
    let (schema, zt) = (h.schema, h.zero_threshold);
    for side in [&mut h.positive, &mut h.negative] {
        for b in side.iter_mut() {
            if bound(b.0 - 1, schema) >= zt {
                break;
            }
            b.1 = 0.0;
        }
    }
    compact(h);
}

/// Widens the zero buckets of `h` and `other` to one threshold
/// (`reconcileZeroBuckets`): changes `h`, and returns the zero count
/// `other` has at that threshold.
fn reconcile_zero(h: &mut H, other: &H) -> f64 {
    let (mut ozc, mut ozt) = (other.zero_count, other.zero_threshold);
    while ozt != h.zero_threshold {
        if h.zero_threshold > ozt {
            (ozc, ozt) = zero_count_for(other, h.zero_threshold);
        }
        if ozt > h.zero_threshold {
            (h.zero_count, h.zero_threshold) = zero_count_for(h, ozt);
            trim_zero_bucket(h);
        }
    }
    ozc
}

/// Adds (or subtracts) `b`'s buckets into `a`, both at `schema`, skipping
/// `b`'s buckets that end within the zero bucket (`addBuckets`).
fn add_buckets(schema: i32, threshold: f64, negate: bool, a: &mut Vec<(i32, f64)>, b: &[(i32, f64)]) {
    let mut below = true;
    let mut at = 0usize;
    for &(i, c) in b {
        if below && bound(i, schema) <= threshold {
            continue;
        }
        below = false;
        let c = if negate { -c } else { c };
        while at < a.len() && a[at].0 < i {
            at += 1;
        }
        if at < a.len() && a[at].0 == i {
            a[at].1 += c;
        } else {
            a.insert(at, (i, c));
        }
    }
}

/// `h += other` (or `h −= other`), as `FloatHistogram.Add`/`Sub`.
pub(crate) fn add(h: &mut H, other: &H, negate: bool) {
    let ozc = reconcile_zero(h, other);
    if negate {
        h.zero_count -= ozc;
        h.count -= other.count;
        h.sum -= other.sum;
    } else {
        h.zero_count += ozc;
        h.count += other.count;
        h.sum += other.sum;
    }
    let (op, on);
    let (pos, neg) = if other.schema < h.schema {
        h.positive = reduce(&h.positive, h.schema, other.schema);
        h.negative = reduce(&h.negative, h.schema, other.schema);
        h.schema = other.schema;
        (&other.positive, &other.negative)
    } else if other.schema > h.schema {
        op = reduce(&other.positive, other.schema, h.schema);
        on = reduce(&other.negative, other.schema, h.schema);
        (&op, &on)
    } else {
        (&other.positive, &other.negative)
    };
    add_buckets(h.schema, h.zero_threshold, negate, &mut h.positive, pos);
    add_buckets(h.schema, h.zero_threshold, negate, &mut h.negative, neg);
}

/// The buckets of one side at `schema` (≤ the histogram's), without those
/// ending at or below `start` (`floatBucketIterator`'s start value).
fn side_from(b: &[(i32, f64)], from: i32, schema: i32, start: f64) -> Vec<(i32, f64)> {
    let r = reduce(b, from, schema);
    let skip = if start == 0.0 { 0 } else { r.iter().take_while(|&&(i, _)| bound(i, schema) <= start).count() };
    r[skip..].to_vec()
}

/// Whether a populated bucket of `prev` is missing or smaller in `cur`
/// (`detectReset` over two bucket lists).
fn buckets_reset(cur: &[(i32, f64)], prev: &[(i32, f64)]) -> bool {
    let mut c = cur.iter().peekable();
    for &(pi, pc) in prev {
        while c.peek().is_some_and(|&&(ci, _)| ci < pi) {
            c.next();
        }
        match c.peek() {
            Some(&&(ci, cc)) if ci == pi => {
                if cc < pc {
                    return true;
                }
            }
            _ => {
                if pc != 0.0 {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether `cur` starts anew after `prev` (`DetectReset` with no hint).
pub(crate) fn is_reset(cur: &H, prev: &H) -> bool {
    if cur.count < prev.count || cur.schema > prev.schema || cur.zero_threshold < prev.zero_threshold {
        return true;
    }
    let (pzc, threshold) = zero_count_for(prev, cur.zero_threshold);
    if threshold != cur.zero_threshold || cur.zero_count < pzc {
        return true;
    }
    let zt = cur.zero_threshold;
    buckets_reset(
        &side_from(&cur.positive, cur.schema, cur.schema, zt),
        &side_from(&prev.positive, prev.schema, cur.schema, zt),
    ) || buckets_reset(
        &side_from(&cur.negative, cur.schema, cur.schema, zt),
        &side_from(&prev.negative, prev.schema, cur.schema, zt),
    )
}

/// One series' histogram samples (time order) with, per sample, whether it
/// is a counter reset after the one before.
pub(crate) struct HistSamples<'a> {
    pub ts: Vec<i64>,
    pub h: Vec<&'a H>,
    reset: Vec<bool>,
    /// The samples that are resets, ascending (windows visit only these).
    resets: Vec<usize>,
    /// The samples whose schema differs from the one before, ascending.
    schema_changes: Vec<usize>,
}

impl<'a> HistSamples<'a> {
    pub(crate) fn new(samples: &'a [(i64, H)]) -> HistSamples<'a> {
        let h: Vec<&H> = samples.iter().map(|(_, h)| h).collect();
        let reset: Vec<bool> = (0..h.len()).map(|j| j > 0 && is_reset(h[j], h[j - 1])).collect();
        let resets = (0..h.len()).filter(|&j| reset[j]).collect();
        let schema_changes = (1..h.len()).filter(|&j| h[j].schema != h[j - 1].schema).collect();
        HistSamples { ts: samples.iter().map(|(t, _)| *t).collect(), h, reset, resets, schema_changes }
    }

    /// The entries of a sorted index list within `[from, to]`.
    fn within(list: &[usize], from: usize, to: usize) -> &[usize] {
        let lo = list.partition_point(|&j| j < from);
        let hi = list.partition_point(|&j| j <= to);
        &list[lo..hi]
    }

    /// `rate` (or `increase`) over the samples `[a, b]` (at least two) of
    /// a window `(end − range, end]` (`extrapolatedRate`/`histogramRate`).
    fn rate(&self, a: usize, b: usize, end: i64, range: i64, is_rate: bool) -> H {
        // The first sample is left out when the second is a reset.
        let fresh = self.reset[a + 1];
        let first_kept = if fresh { a + 1 } else { a };
        let min_schema = Self::within(&self.schema_changes, first_kept + 1, b)
            .iter()
            .map(|&j| self.h[j].schema)
            .fold(self.h[first_kept].schema, i32::min);
        let mut h = to_schema(self.h[b], min_schema);
        if !fresh {
            add(&mut h, self.h[a], true);
        }
        if a + 2 <= b {
            for &j in Self::within(&self.resets, a + 2, b) {
                add(&mut h, self.h[j - 1], false);
            }
        }
        compact(&mut h);
        let (first_t, last_t) = (self.ts[a], self.ts[b]);
        let mut to_start = (first_t - (end - range)) as f64 / 1000.0;
        let mut to_end = (end - last_t) as f64 / 1000.0;
        let sampled = (last_t - first_t) as f64 / 1000.0;
        let avg = sampled / (b - a) as f64;
        let threshold = avg * 1.1;
        if to_start >= threshold {
            to_start = avg / 2.0;
        }
        if to_end >= threshold {
            to_end = avg / 2.0;
        }
        let mut factor = (sampled + to_start + to_end) / sampled;
        if is_rate {
            factor /= range as f64 / 1000.0;
        }
        h.zero_count *= factor;
        h.count *= factor;
        h.sum *= factor;
        for b in h.positive.iter_mut().chain(h.negative.iter_mut()) {
            b.1 *= factor;
        }
        h
    }
}

/// What a range function over a histogram series gives at one step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Point {
    None,
    /// The window held float samples only (a float result, which the
    /// histogram functions ignore and which spoils a `sum` of histograms).
    Float,
    Hist(H),
}

/// `rate`/`increase(x[range])` at every step of `grid` for one series with
/// float sample times `fts` and histogram samples `hs`.
pub(crate) fn rate_steps(fts: &[i64], hs: &HistSamples, grid: &Grid, range: i64, is_rate: bool) -> Vec<Point> {
    let (mut flo, mut fhi, mut lo, mut hi) = (0usize, 0usize, 0usize, 0usize);
    let mut out = Vec::with_capacity(grid.len);
    for k in 0..grid.len {
        let t = grid.at(k);
        while hi < hs.ts.len() && hs.ts[hi] <= t {
            hi += 1;
        }
        while lo < hi && hs.ts[lo] <= t - range {
            lo += 1;
        }
        while fhi < fts.len() && fts[fhi] <= t {
            fhi += 1;
        }
        while flo < fhi && fts[flo] <= t - range {
            flo += 1;
        }
        let (nh, nf) = (hi - lo, fhi - flo);
        out.push(match (nh, nf) {
            (0, n) if n >= 2 => Point::Float,
            (n, 0) if n >= 2 => Point::Hist(hs.rate(lo, hi - 1, t, range, is_rate)),
            _ => Point::None,
        });
    }
    out
}

/// One group's `sum` at one step: Prometheus keeps the first histogram
/// and adds the rest in turn; a float among them voids the group.
#[derive(Debug, Clone, Default)]
pub(crate) struct SumAcc {
    pub h: Option<H>,
    pub float: bool,
}

impl SumAcc {
    pub(crate) fn fold(&mut self, p: Point) {
        match p {
            Point::None => {}
            Point::Float => self.float = true,
            Point::Hist(x) => match &mut self.h {
                Some(h) => add(h, &x, false),
                None => self.h = Some(x),
            },
        }
    }

    pub(crate) fn merge(&mut self, other: SumAcc) {
        self.float |= other.float;
        if let Some(x) = other.h {
            match &mut self.h {
                Some(h) => add(h, &x, false),
                None => self.h = Some(x),
            }
        }
    }

    /// The summed histogram, if the group has one.
    pub(crate) fn finish(self) -> Option<H> {
        if self.float {
            return None;
        }
        let mut h = self.h?;
        compact(&mut h);
        Some(h)
    }
}

/// `histogram_fraction(lower, upper, h)` (`HistogramFraction`).
pub(crate) fn fraction(lower: f64, upper: f64, h: &H) -> f64 {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    // Every bucket from the most negative up, as (lower, upper, count, zero bucket).
    let zt = h.zero_threshold;
    let mut all: Vec<(f64, f64, f64, bool)> = Vec::with_capacity(h.positive.len() + h.negative.len() + 1);
    for &(i, c) in h.negative.iter().rev() {
        let (mut lo, mut up) = (-bound(i, h.schema), -bound(i - 1, h.schema));
        if up < 0.0 && up > -zt {
            up = -zt;
        } else if lo > 0.0 && lo < zt {
            lo = zt;
        }
        all.push((lo, up, c, false));
    }
    if h.zero_count > 0.0 {
        all.push((-zt, zt, h.zero_count, true));
    }
    for &(i, c) in &h.positive {
        let (mut lo, mut up) = (bound(i - 1, h.schema), bound(i, h.schema));
        if lo > 0.0 && lo < zt {
            lo = zt;
        } else if up < 0.0 && up > -zt {
            up = -zt;
        }
        all.push((lo, up, c, false));
    }
    let (mut count, mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut seen = 0;
    for &(mut b_lo, mut b_up, c, _) in &all {
        seen += 1;
        count += c;
        let mut zero_bucket = false;
        if b_lo <= 0.0 && b_up >= 0.0 {
            zero_bucket = true;
            if h.negative.is_empty() && !h.positive.is_empty() {
                b_lo = 0.0;
            } else if h.positive.is_empty() && !h.negative.is_empty() {
                b_up = 0.0;
            }
        }
        let linear = |v: f64| rank + c * (v - b_lo) / (b_up - b_lo);
        let exponential = |v: f64| {
            let (ll, lu, lv) = (b_lo.abs().log2(), b_up.abs().log2(), v.abs().log2());
            let f = if v > 0.0 { (lv - ll) / (lu - ll) } else { 1.0 - ((lv - lu) / (ll - lu)) };
            rank + c * f
        };
        if !lower_set && b_lo >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b_lo >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b_lo < lower && b_up > lower {
            lower_rank = if zero_bucket { linear(lower) } else { exponential(lower) };
            lower_set = true;
        }
        if !upper_set && b_lo < upper && b_up > upper {
            upper_rank = if zero_bucket { linear(upper) } else { exponential(upper) };
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += c;
    }
    if h.sum.is_nan() {
        count += all[seen.min(all.len())..].iter().map(|b| b.2).sum::<f64>();
    } else {
        count = h.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / h.count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(schema: i32, count: f64, positive: &[(i32, f64)]) -> H {
        H { positive: positive.to_vec(), count, ..H::empty(schema) }
    }

    #[test]
    fn bounds_match_the_bucket_definition() {
        assert_eq!(bound(0, 0), 1.0);
        assert_eq!(bound(-1, 0), 0.5);
        assert_eq!(bound(1, -2), 16.0);
        assert_eq!(bound(8, 3), 2.0);
        assert!((bound(1, 1) - std::f64::consts::SQRT_2).abs() < 1e-15);
        assert_eq!(bound(256, -2), f64::MAX);
    }

    #[test]
    fn reducing_merges_pairs_of_buckets() {
        // Schema 1 → 0: buckets 1, 2 → 1; 3, 4 → 2; −1, 0 → 0.
        let r = reduce(&[(-1, 1.0), (0, 2.0), (1, 3.0), (2, 4.0), (3, 5.0)], 1, 0);
        assert_eq!(r, vec![(0, 3.0), (1, 7.0), (2, 5.0)]);
    }

    #[test]
    fn a_missing_populated_bucket_or_a_finer_schema_is_a_reset() {
        let prev = hist(0, 4.0, &[(0, 2.0), (1, 2.0)]);
        assert!(!is_reset(&hist(0, 5.0, &[(0, 3.0), (1, 2.0)]), &prev));
        assert!(is_reset(&hist(0, 5.0, &[(0, 5.0)]), &prev));
        assert!(is_reset(&hist(1, 5.0, &[(0, 3.0), (2, 2.0)]), &prev));
        // A coarser schema is not: schema 1's buckets 1, 2 are schema 0's 1.
        let fine = hist(1, 4.0, &[(1, 2.0), (2, 2.0)]);
        assert!(!is_reset(&hist(0, 4.0, &[(1, 4.0)]), &fine));
    }

    #[test]
    fn fraction_interpolates_exponentially() {
        // Schema 0: one in (0.125, 0.25], two in (0.25, 0.5], one in (0.5, 1].
        let h = hist(0, 4.0, &[(-2, 1.0), (-1, 2.0), (0, 1.0)]);
        let want = (1.0 + 2.0 * (0.3f64 / 0.25).log2()) / 4.0;
        assert!((fraction(0.0, 0.3, &h) - want).abs() < 1e-15);
        assert_eq!(fraction(0.0, 1.0, &h), 1.0);
        assert!(fraction(0.0, 0.3, &H::empty(0)).is_nan());
    }

    #[test]
    fn adding_across_schemas_reduces_to_the_coarser() {
        let mut a = hist(1, 2.0, &[(1, 1.0), (2, 1.0)]);
        add(&mut a, &hist(0, 3.0, &[(1, 3.0)]), false);
        assert_eq!((a.schema, a.count, a.positive.clone()), (0, 5.0, vec![(1, 5.0)]));
        add(&mut a, &hist(0, 5.0, &[(1, 5.0)]), true);
        assert_eq!(a.positive, vec![(1, 0.0)]);
    }
}
