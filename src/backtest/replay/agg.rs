//! The aggregation operators (`sum`, `avg`, `min`, `max`, `count`,
//! `group`) as Prometheus 3 computes them, one group at one step at a time:
//! a running value (the Neumaier-compensated sum, or the extreme so far),
//! its compensation and the number of inputs. Raw-data leaves
//! ([`super::leaves`]) fold every series into it as the series streams past
//! and merge the workers' partials; the rule engine ([`super::eval`])
//! aggregates one step's vector with it.

use super::plan::AggOp;

/// Neumaier's compensated addition, as Prometheus 3 sums (`kahanSumInc`).
#[inline]
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    if t.is_infinite() {
        return (t, 0.0);
    }
    let c = if sum.abs() >= inc.abs() { c + ((sum - t) + inc) } else { c + ((inc - t) + sum) };
    (t, c)
}

pub(crate) fn finish_sum(sum: f64, comp: f64) -> f64 {
    if sum.is_infinite() {
        sum
    } else {
        sum + comp
    }
}

/// Whether `x` takes the place of `min`'s or `max`'s value so far: a NaN
/// is replaced by any later input.
#[inline]
fn replaces(op: AggOp, x: f64, value: f64) -> bool {
    match op {
        AggOp::Min => x < value || value.is_nan(),
        AggOp::Max => x > value || value.is_nan(),
        _ => false,
    }
}

/// Folds one input `x` into a group's aggregate at one step (`value`, its
/// compensation `comp`, `n` inputs so far).
#[inline]
pub(crate) fn fold(op: AggOp, value: &mut f64, comp: &mut f64, n: &mut u32, x: f64) {
    match op {
        AggOp::Sum | AggOp::Avg => (*value, *comp) = kahan_inc(x, *value, *comp),
        AggOp::Min | AggOp::Max => {
            if *n == 0 || replaces(op, x, *value) {
                *value = x;
            }
        }
        AggOp::Count | AggOp::Group => {}
    }
    *n += 1;
}

/// Folds another partial aggregate of the same group and step (`other`:
/// value, compensation, count — a worker's) into this one.
#[inline]
pub(crate) fn merge(op: AggOp, value: &mut f64, comp: &mut f64, n: &mut u32, other: (f64, f64, u32)) {
    let (x, x_comp, x_n) = other;
    if x_n == 0 {
        return;
    }
    if *n == 0 {
        (*value, *comp, *n) = other;
        return;
    }
    match op {
        AggOp::Sum | AggOp::Avg => (*value, *comp) = kahan_inc(x, *value, *comp + x_comp),
        AggOp::Min | AggOp::Max => {
            if replaces(op, x, *value) {
                *value = x;
            }
        }
        AggOp::Count | AggOp::Group => {}
    }
    *n += x_n;
}

/// The aggregate's output from its running value (`n` > 0).
#[inline]
pub(crate) fn finish(op: AggOp, value: f64, comp: f64, n: u32) -> f64 {
    match op {
        AggOp::Sum => finish_sum(value, comp),
        AggOp::Avg => finish_sum(value, comp) / n as f64,
        AggOp::Min | AggOp::Max => value,
        AggOp::Count => n as f64,
        AggOp::Group => 1.0,
    }
}
