//! Columnar rule evaluation: each rule of a block of rule groups over every
//! step at once, a vector being a list of series with one value (or
//! [`ABSENT`]) per step, instead of one instant vector per step.
//!
//! It computes exactly what the step-by-step engine ([`super::eval`])
//! computes — the same kernels in the same order on the same values — and
//! takes only the blocks where evaluating rule after rule is provably the
//! same as evaluating step after step:
//!
//! - every group of the block runs on one grid, with no downtime, so a
//!   series a rule records is, to a later rule's instant selector, its
//!   value at that step or nothing (a staleness marker follows its last
//!   sample at the next evaluation);
//! - a rule reads only series that rules before it (in evaluation order)
//!   record, so they are complete when it runs;
//! - the series of a vector are listed in an order that, filtered to the
//!   series present at a step, is that step's instant vector in the
//!   step-by-step engine (which fixes sums' addition order and the order
//!   recorded series are created in);
//! - no step can fail (duplicate matches, label-set collisions, scalars
//!   where vectors belong): such failures are counted per evaluation, which
//!   only the step-by-step engine reproduces.
//!
//! Anything else returns [`Fallback`] before the block's state is touched,
//! and the block runs step by step. `slo backtest --stepwise` forces that
//! for every block: the tests compare both on every differential scenario.

use super::agg;
use super::alert::{AlertHistory, Instance};
use super::eval::{
    arith, civil, compare, date_part, drop_name, histogram_quantile, matched_labels, parse_le, sides, signature, Born,
    RecSeries, Step,
};
use super::leaves::{LabelSet, Labels, LeafOut};
use super::plan::{AggOp, BinOp, Card, Grouping, InstFn, Node, Sel};
use super::range::{eval_slice, is_absent, Grid, Prefix, RangeFn, ABSENT};
use super::times::Times;
use crate::promql::model::Series;
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a block cannot be evaluated column by column (it then runs step by
/// step).
#[derive(Debug)]
pub struct Fallback(pub &'static str);

type C<T> = Result<T, Fallback>;

/// One series of a vector: its labels and its value at every step.
struct Col<'a> {
    labels: Labels,
    v: Cow<'a, [f64]>,
}

enum Sc {
    Const(f64),
    Steps(Vec<f64>),
}

impl Sc {
    fn at(&self, k: usize) -> f64 {
        match self {
            Sc::Const(x) => *x,
            Sc::Steps(v) => v[k],
        }
    }
}

enum Val<'a> {
    Scalar(Sc),
    Vector(Vec<Col<'a>>),
}

/// A series a rule of the block records.
struct Written {
    series: Series,
    labels: Labels,
    v: Vec<f64>,
    born: Born,
    /// Its samples (times, values) and their running sums, made by the
    /// first range function that reads it and shared by the others.
    samples: std::cell::OnceCell<(Vec<i64>, Vec<f64>, Prefix)>,
}

/// The block's recorded series, and per metric name their indices in
/// creation order.
#[derive(Default)]
struct Store {
    cols: Vec<Written>,
    by_name: HashMap<String, Vec<usize>>,
    index: HashMap<Labels, usize>,
}

impl Store {
    /// Series matching `sel`, in the order the step-by-step store would
    /// hold them (creation order).
    fn matching(&self, sel: &Sel) -> Vec<&Written> {
        let mut out: Vec<&Written> = sel
            .metric()
            .and_then(|n| self.by_name.get(n))
            .into_iter()
            .flatten()
            .map(|&i| &self.cols[i])
            .filter(|w| sel.matches(&w.labels))
            .collect();
        out.sort_by_key(|w| w.born);
        out
    }
}

struct Cx<'a> {
    leaves: &'a [LeafOut],
    store: &'a Store,
    grid: Grid,
}

fn present(x: f64) -> bool {
    !is_absent(x)
}

/// Whether a selector over recorded series may match what a recording
/// rule writes: its metric name, and no matcher refusing a label the rule
/// sets itself (labels it passes through from its input may be anything).
pub(crate) fn may_match(sel: &Sel, name: &str, labels: &[(String, String)]) -> bool {
    sel.metric() == Some(name)
        && sel.matchers.iter().all(|m| {
            let v = if m.name == "__name__" {
                Some(name)
            } else {
                labels.iter().find(|(k, _)| *k == m.name).map(|(_, v)| v.as_str())
            };
            v.is_none_or(|v| m.is_match(v))
        })
}

/// Evaluates a block's rules (`(run position, step index, rule)`, in
/// evaluation order) over every step of `grid`. On success the rules'
/// alert histories are filled in and the recorded series returned with
/// where each was first written; on [`Fallback`] nothing was touched.
pub(crate) fn run(
    rules: &mut [(usize, usize, &mut (usize, Step))],
    leaves: &[LeafOut],
    grid: Grid,
) -> Result<Vec<(RecSeries, Born)>, Fallback> {
    check_order(rules)?;
    let mut store = Store::default();
    let mut histories: Vec<(usize, BTreeMap<LabelSet, AlertHistory>)> = Vec::new();
    for (pos, (run, i, rule)) in rules.iter().enumerate() {
        let cx = Cx { leaves, store: &store, grid };
        match &rule.1 {
            Step::Record { series, name, labels, node, .. } => {
                let Val::Vector(cols) = cx.eval(node)? else {
                    return Err(Fallback("a recording rule returns a scalar"));
                };
                // Series of the result that get the same labels are one
                // recorded series (written by whichever is present).
                let merged = merge_by(cols, |l| super::eval::recorded_labels(l, name, labels))?;
                for (l, v, first, p) in merged {
                    let w = Written {
                        series: *series,
                        labels: Arc::new(l),
                        v,
                        born: (first, *run, *i, p),
                        samples: Default::default(),
                    };
                    if store.index.contains_key(&w.labels) {
                        return Err(Fallback("two series of a rule, or two rules, record the same labels"));
                    }
                    let at = store.cols.len();
                    store.index.insert(w.labels.clone(), at);
                    let name = w.labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str());
                    store.by_name.entry(name.to_string()).or_default().push(at);
                    store.cols.push(w);
                }
            }
            Step::Alert { name, labels, node, for_ms, keep_ms, .. } => {
                let Val::Vector(cols) = cx.eval(node)? else {
                    return Err(Fallback("an alerting rule returns a scalar"));
                };
                let merged = merge_by(cols, |l| super::alert::instance_labels(l, labels, name))?;
                let history =
                    merged.into_iter().map(|(l, v, _, _)| (l, instance_history(&v, grid, *for_ms, *keep_ms))).collect();
                histories.push((pos, history));
            }
        }
    }
    for (pos, h) in histories {
        if let Step::Alert { state, .. } = &mut rules[pos].2 .1 {
            state.history = h;
        }
    }
    let mut out: Vec<(RecSeries, Born)> = store
        .cols
        .into_iter()
        .map(|w| {
            let (mut ts, mut v, mut stale) = (Times::default(), Vec::new(), Vec::new());
            for (k, &x) in w.v.iter().enumerate() {
                if present(x) {
                    ts.push(grid.at(k));
                    v.push(x);
                } else if k > 0 && present(w.v[k - 1]) {
                    stale.push(grid.at(k));
                }
            }
            (RecSeries::new(w.series, w.labels, ts, v, stale), w.born)
        })
        .collect();
    out.sort_by_key(|(_, b)| *b);
    Ok(out)
}

/// A merged series: its key, values, first step with a value, and the
/// position there.
type Merged = (LabelSet, Vec<f64>, usize, usize);

/// The series of a result grouped by `key` of their labels, in order of
/// first appearance, each group's values merged: (key, values, first step
/// with a value, the position of the series present there). Series never
/// present are left out. Two series of a group present at one step are an
/// evaluation failure at that step: [`Fallback`].
fn merge_by(cols: Vec<Col>, key: impl Fn(&LabelSet) -> LabelSet) -> C<Vec<Merged>> {
    let mut index: HashMap<LabelSet, usize> = HashMap::default();
    let mut groups: Vec<Merged> = Vec::new();
    for (p, c) in cols.into_iter().enumerate() {
        let Some(first) = c.v.iter().position(|&x| present(x)) else { continue };
        let l = key(&c.labels);
        match index.get(&l) {
            None => {
                index.insert(l.clone(), groups.len());
                groups.push((l, c.v.into_owned(), first, p));
            }
            Some(&g) => {
                let into = &mut groups[g];
                for (a, &b) in into.1.iter_mut().zip(c.v.iter()) {
                    if present(b) {
                        if present(*a) {
                            return Err(Fallback("two series of a result get the same labels at one step"));
                        }
                        *a = b;
                    }
                }
                if first < into.2 {
                    (into.2, into.3) = (first, p);
                }
            }
        }
    }
    Ok(groups)
}

/// Whether at most one of `cols` has a value at every step.
fn exclusive(cols: &[&[f64]]) -> bool {
    let len = cols.first().map_or(0, |c| c.len());
    (0..len).all(|k| cols.iter().filter(|c| present(c[k])).count() <= 1)
}

/// One alert instance over the steps its series is returned at (the
/// transitions of [`Instance`], as `AlertState::step` makes them).
fn instance_history(v: &[f64], grid: Grid, for_ms: i64, keep_ms: i64) -> AlertHistory {
    let mut h = AlertHistory::default();
    let mut inst: Option<Instance> = None;
    for (k, &x) in v.iter().enumerate() {
        let t = grid.at(k);
        let returned = present(x);
        if returned && inst.is_none() {
            inst = Some(Instance::new(t));
        }
        let Some(a) = &mut inst else { continue };
        if !a.step(t, returned, for_ms, keep_ms) {
            inst = None;
            continue;
        }
        if a.firing() {
            h.firing.push(t);
        } else {
            h.pending.push(t);
        }
    }
    h
}

/// Every selector over recorded series reads only what rules before it
/// record: then evaluating rule after rule sees what step after step would.
fn check_order(rules: &[(usize, usize, &mut (usize, Step))]) -> C<()> {
    type Writers<'a> = HashMap<&'a str, Vec<(usize, &'a [(String, String)])>>;
    let mut writers: Writers = HashMap::default();
    for (pos, (_, _, rule)) in rules.iter().enumerate() {
        if let Step::Record { name, labels, .. } = &rule.1 {
            writers.entry(name.as_str()).or_default().push((pos, labels.as_slice()));
        }
    }
    for (pos, (_, _, rule)) in rules.iter().enumerate() {
        let (Step::Record { node, .. } | Step::Alert { node, .. }) = &rule.1;
        let mut late = false;
        crate::backtest::each_recorded(node, &mut |sel, _| {
            let Some(name) = sel.metric() else { return };
            for &(w, labels) in writers.get(name).into_iter().flatten() {
                if w >= pos && may_match(sel, name, labels) {
                    late = true;
                }
            }
        });
        if late {
            return Err(Fallback("a rule reads a series recorded by itself or a later rule"));
        }
    }
    Ok(())
}

impl<'a> Cx<'a> {
    fn len(&self) -> usize {
        self.grid.len
    }

    fn eval(&self, n: &'a Node) -> C<Val<'a>> {
        Ok(match n {
            Node::Num(x) => Val::Scalar(Sc::Const(*x)),
            Node::Leaf(i) => Val::Vector(
                self.leaves[*i]
                    .series
                    .iter()
                    .map(|(l, v)| Col { labels: l.clone(), v: Cow::Borrowed(v.as_slice()) })
                    .collect(),
            ),
            // Same grid, written before: a recorded series read at a step
            // is its value there or nothing (see the module's notes).
            Node::RecInstant(sel) => Val::Vector(
                self.store
                    .matching(sel)
                    .into_iter()
                    .map(|w| Col { labels: w.labels.clone(), v: Cow::Borrowed(w.v.as_slice()) })
                    .collect(),
            ),
            Node::RecRange(f, sel, r) => Val::Vector(
                self.store
                    .matching(sel)
                    .into_iter()
                    .map(|w| Col {
                        labels: if f.keeps_name() { w.labels.clone() } else { drop_name(&w.labels) },
                        v: Cow::Owned(self.range(*f, w, *r)),
                    })
                    .collect(),
            ),
            Node::Neg(e) => match self.eval(e)? {
                Val::Scalar(s) => Val::Scalar(map_sc(s, |x| -x)),
                Val::Vector(v) => Val::Vector(map_cols(v, |x| -x)),
            },
            Node::Agg { op, grouping, expr } => Val::Vector(self.aggregate(*op, grouping, self.vector(expr)?)?),
            Node::Call(f, args) => self.call(*f, args)?,
            Node::Bin { op, lhs, rhs, ret_bool, matching, card } => {
                let (l, r) = (self.eval(lhs)?, self.eval(rhs)?);
                self.binary(*op, l, r, *ret_bool, matching, card)?
            }
        })
    }

    fn vector(&self, n: &'a Node) -> C<Vec<Col<'a>>> {
        match self.eval(n)? {
            Val::Vector(v) => Ok(v),
            Val::Scalar(_) => Err(Fallback("a scalar where an instant vector belongs")),
        }
    }

    fn scalar(&self, n: &'a Node) -> C<Sc> {
        match self.eval(n)? {
            Val::Scalar(s) => Ok(s),
            Val::Vector(_) => Err(Fallback("an instant vector where a scalar belongs")),
        }
    }

    /// A range function over a recorded series at every step: the samples
    /// it has at or before each step, windowed and computed by the kernel
    /// the step-by-step engine uses ([`eval_slice`]) over the same prefix.
    fn range(&self, f: RangeFn, w: &Written, r: i64) -> Vec<f64> {
        let (ts, v, prefix) = w.samples.get_or_init(|| {
            let n = w.v.iter().filter(|&&x| present(x)).count();
            let (mut ts, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for (k, &x) in w.v.iter().enumerate() {
                if present(x) {
                    ts.push(self.grid.at(k));
                    v.push(x);
                }
            }
            let prefix = Prefix::from_values(&v);
            (ts, v, prefix)
        });
        let (mut lo, mut hi) = (0, 0);
        (0..self.len())
            .map(|k| {
                let t = self.grid.at(k);
                while hi < ts.len() && ts[hi] <= t {
                    hi += 1;
                }
                while lo < hi && ts[lo] <= t - r {
                    lo += 1;
                }
                if lo == hi {
                    ABSENT
                } else {
                    eval_slice(f, ts, v, prefix, lo, hi, t, r)
                }
            })
            .collect()
    }

    fn aggregate(&self, op: AggOp, grouping: &Grouping, input: Vec<Col<'a>>) -> C<Vec<Col<'a>>> {
        let mut index: HashMap<LabelSet, usize> = HashMap::default();
        let mut groups: Vec<(LabelSet, Vec<usize>)> = Vec::new();
        for (j, c) in input.iter().enumerate() {
            let key = grouping.key(&c.labels);
            match index.get(&key) {
                Some(&g) => groups[g].1.push(j),
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key, vec![j]));
                }
            }
        }
        // A step lists its groups in the order of their first present
        // input: that must be the order of `groups` at every step.
        if groups.len() > 1 {
            for k in 0..self.len() {
                let mut last = None;
                for (_, members) in &groups {
                    if let Some(&f) = members.iter().find(|&&j| present(input[j].v[k])) {
                        if last.is_some_and(|l| f < l) {
                            return Err(Fallback("an aggregation's groups change order between steps"));
                        }
                        last = Some(f);
                    }
                }
            }
        }
        Ok(groups
            .into_iter()
            .map(|(key, members)| {
                let v = (0..self.len())
                    .map(|k| {
                        let (mut value, mut comp, mut n) = (0.0, 0.0, 0u32);
                        for &j in &members {
                            let x = input[j].v[k];
                            if present(x) {
                                agg::fold(op, &mut value, &mut comp, &mut n, x);
                            }
                        }
                        if n == 0 {
                            ABSENT
                        } else {
                            agg::finish(op, value, comp, n)
                        }
                    })
                    .collect();
                Col { labels: Arc::new(key), v: Cow::Owned(v) }
            })
            .collect())
    }

    fn call(&self, f: InstFn, args: &'a [Node]) -> C<Val<'a>> {
        let map = |g: &dyn Fn(f64) -> f64| -> C<Val<'a>> { Ok(Val::Vector(map_cols(self.vector(&args[0])?, g))) };
        let date = |g: &dyn Fn(jiff::civil::DateTime) -> f64| -> C<Val<'a>> {
            let input = match args.first() {
                Some(a) => self.vector(a)?,
                None => vec![Col {
                    labels: Arc::new(vec![]),
                    v: Cow::Owned((0..self.len()).map(|k| self.grid.at(k) as f64 / 1000.0).collect()),
                }],
            };
            Ok(Val::Vector(map_cols(input, |x| civil(x).map_or(f64::NAN, g))))
        };
        match f {
            InstFn::Time => {
                Ok(Val::Scalar(Sc::Steps((0..self.len()).map(|k| self.grid.at(k) as f64 / 1000.0).collect())))
            }
            InstFn::Vector => {
                let s = self.scalar(&args[0])?;
                let v = (0..self.len()).map(|k| s.at(k)).collect();
                Ok(Val::Vector(vec![Col { labels: Arc::new(vec![]), v: Cow::Owned(v) }]))
            }
            InstFn::Scalar => {
                let v = self.vector(&args[0])?;
                Ok(Val::Scalar(Sc::Steps(
                    (0..self.len())
                        .map(|k| {
                            let mut it = v.iter().filter(|c| present(c.v[k]));
                            match (it.next(), it.next()) {
                                (Some(c), None) => c.v[k],
                                _ => f64::NAN,
                            }
                        })
                        .collect(),
                )))
            }
            InstFn::Floor => map(&f64::floor),
            InstFn::Ceil => map(&f64::ceil),
            InstFn::Abs => map(&f64::abs),
            InstFn::ClampMin | InstFn::ClampMax => {
                let m = self.scalar(&args[1])?;
                let v = self.vector(&args[0])?;
                let min = f == InstFn::ClampMin;
                Ok(Val::Vector(
                    v.into_iter()
                        .map(|c| {
                            let out = (0..self.len())
                                .map(|k| {
                                    let (x, m) = (c.v[k], m.at(k));
                                    if !present(x) || x.is_nan() {
                                        x
                                    } else if min {
                                        x.max(m)
                                    } else {
                                        x.min(m)
                                    }
                                })
                                .collect();
                            Col { labels: drop_name(&c.labels), v: Cow::Owned(out) }
                        })
                        .collect(),
                ))
            }
            InstFn::Month | InstFn::Year | InstFn::DayOfMonth | InstFn::DayOfWeek | InstFn::Hour | InstFn::Minute => {
                date(&|d| date_part(f, d))
            }
            InstFn::HistogramQuantile => {
                let q = self.scalar(&args[0])?;
                let input = self.vector(&args[1])?;
                let mut groups: BTreeMap<LabelSet, Vec<(f64, usize)>> = BTreeMap::new();
                for (j, c) in input.iter().enumerate() {
                    let Some(le) = c.labels.iter().find(|(k, _)| k == "le").and_then(|(_, v)| parse_le(v)) else {
                        continue;
                    };
                    let key = c.labels.iter().filter(|(k, _)| k != "__name__" && k != "le").cloned().collect();
                    groups.entry(key).or_default().push((le, j));
                }
                Ok(Val::Vector(
                    groups
                        .into_iter()
                        .map(|(key, members)| {
                            let v = (0..self.len())
                                .map(|k| {
                                    let b: Vec<(f64, f64)> = members
                                        .iter()
                                        .filter(|(_, j)| present(input[*j].v[k]))
                                        .map(|&(le, j)| (le, input[j].v[k]))
                                        .collect();
                                    if b.is_empty() {
                                        ABSENT
                                    } else {
                                        histogram_quantile(q.at(k), b)
                                    }
                                })
                                .collect();
                            Col { labels: Arc::new(key), v: Cow::Owned(v) }
                        })
                        .collect(),
                ))
            }
        }
    }

    fn binary(
        &self,
        op: BinOp,
        l: Val<'a>,
        r: Val<'a>,
        ret_bool: bool,
        matching: &Option<(bool, Vec<String>)>,
        card: &Card,
    ) -> C<Val<'a>> {
        let elem = |a: f64, b: f64| -> f64 {
            if op.is_comparison() {
                let keep = compare(op, a, b);
                if ret_bool {
                    if keep {
                        1.0
                    } else {
                        0.0
                    }
                } else if keep {
                    a
                } else {
                    ABSENT
                }
            } else {
                arith(op, a, b)
            }
        };
        let drops_name = !op.is_comparison() || ret_bool;
        let relabel = |labels: Labels| if drops_name { drop_name(&labels) } else { labels };
        let len = self.len();
        Ok(match (l, r) {
            (Val::Scalar(a), Val::Scalar(b)) => {
                let f = |x: f64, y: f64| {
                    if op.is_comparison() {
                        if compare(op, x, y) {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        arith(op, x, y)
                    }
                };
                match (a, b) {
                    (Sc::Const(x), Sc::Const(y)) => Val::Scalar(Sc::Const(f(x, y))),
                    (a, b) => Val::Scalar(Sc::Steps((0..len).map(|k| f(a.at(k), b.at(k))).collect())),
                }
            }
            (Val::Vector(v), Val::Scalar(b)) => Val::Vector(
                v.into_iter()
                    .map(|c| {
                        let out = (0..len).map(|k| if present(c.v[k]) { elem(c.v[k], b.at(k)) } else { ABSENT });
                        Col { v: Cow::Owned(out.collect()), labels: relabel(c.labels) }
                    })
                    .collect(),
            ),
            (Val::Scalar(a), Val::Vector(v)) => Val::Vector(
                v.into_iter()
                    .map(|c| {
                        let out = (0..len).map(|k| {
                            let x = c.v[k];
                            if !present(x) {
                                return ABSENT;
                            }
                            let y = elem(a.at(k), x);
                            // A comparison keeps the vector's value even on the right.
                            if op.is_comparison() && !ret_bool && present(y) {
                                x
                            } else {
                                y
                            }
                        });
                        Col { v: Cow::Owned(out.collect()), labels: relabel(c.labels) }
                    })
                    .collect(),
            ),
            (Val::Vector(lv), Val::Vector(rv)) => match op {
                BinOp::And | BinOp::Unless => {
                    let keep_matched = op == BinOp::And;
                    let by_sig = by_signature(&rv, matching);
                    Val::Vector(
                        lv.into_iter()
                            .map(|c| {
                                let others = by_sig.get(&signature(&c.labels, matching));
                                let out = (0..len).map(|k| {
                                    let matched = others.is_some_and(|o| o.iter().any(|&j| present(rv[j].v[k])));
                                    if present(c.v[k]) && matched == keep_matched {
                                        c.v[k]
                                    } else {
                                        ABSENT
                                    }
                                });
                                Col { v: Cow::Owned(out.collect()), labels: c.labels }
                            })
                            .collect(),
                    )
                }
                BinOp::Or => {
                    let by_sig = by_signature(&lv, matching);
                    let rhs: Vec<Col> = rv
                        .into_iter()
                        .map(|c| {
                            let others = by_sig.get(&signature(&c.labels, matching));
                            let out = (0..len).map(|k| {
                                let shadowed = others.is_some_and(|o| o.iter().any(|&j| present(lv[j].v[k])));
                                if shadowed {
                                    ABSENT
                                } else {
                                    c.v[k]
                                }
                            });
                            Col { v: Cow::Owned(out.collect()), labels: c.labels }
                        })
                        .collect();
                    let mut out = lv;
                    out.extend(rhs);
                    Val::Vector(out)
                }
                _ => {
                    let (one, many, swapped, include, one_to_one) = sides(card, lv, rv);
                    // Several series of the one side with a signature: fine
                    // while only one has a value at each step (`a or b`).
                    let by_sig = by_signature(&one, matching);
                    for m in by_sig.values().filter(|m| m.len() > 1) {
                        let vs: Vec<&[f64]> = m.iter().map(|&j| &*one[j].v).collect();
                        if !include.is_empty() || !exclusive(&vs) {
                            return Err(Fallback("matching labels not unique on one side"));
                        }
                    }
                    let sigs: Vec<u64> = many.iter().map(|c| signature(&c.labels, matching)).collect();
                    if one_to_one {
                        let mut groups: HashMap<u64, Vec<&[f64]>> = HashMap::default();
                        for (c, sig) in many.iter().zip(&sigs).filter(|(_, s)| by_sig.contains_key(s)) {
                            groups.entry(*sig).or_default().push(&c.v);
                        }
                        if groups.values().any(|g| g.len() > 1 && !exclusive(g)) {
                            return Err(Fallback("duplicate series for a match group"));
                        }
                    }
                    let mut out = Vec::new();
                    for (c, sig) in many.into_iter().zip(sigs) {
                        let Some(os) = by_sig.get(&sig) else { continue };
                        let v = (0..len).map(|k| {
                            let x = c.v[k];
                            let y = os.iter().map(|&j| one[j].v[k]).find(|&y| present(y)).unwrap_or(ABSENT);
                            if !present(x) || !present(y) {
                                return ABSENT;
                            }
                            if swapped {
                                elem(y, x)
                            } else {
                                elem(x, y)
                            }
                        });
                        let v: Vec<f64> = v.collect();
                        let labels =
                            matched_labels(&c.labels, &one[os[0]].labels, drops_name, one_to_one, matching, &include);
                        out.push(Col { labels, v: Cow::Owned(v) });
                    }
                    Val::Vector(out)
                }
            },
        })
    }
}

fn by_signature(cols: &[Col], matching: &Option<(bool, Vec<String>)>) -> HashMap<u64, Vec<usize>> {
    let mut m: HashMap<u64, Vec<usize>> = HashMap::default();
    for (j, c) in cols.iter().enumerate() {
        m.entry(signature(&c.labels, matching)).or_default().push(j);
    }
    m
}

fn map_sc(s: Sc, f: impl Fn(f64) -> f64) -> Sc {
    match s {
        Sc::Const(x) => Sc::Const(f(x)),
        Sc::Steps(v) => Sc::Steps(v.into_iter().map(f).collect()),
    }
}

/// `f` of every present value, the name dropped (arithmetic and functions).
fn map_cols<'a>(cols: Vec<Col<'a>>, f: impl Fn(f64) -> f64) -> Vec<Col<'a>> {
    cols.into_iter()
        .map(|c| Col {
            labels: drop_name(&c.labels),
            v: Cow::Owned(c.v.iter().map(|&x| if present(x) { f(x) } else { ABSENT }).collect()),
        })
        .collect()
}
