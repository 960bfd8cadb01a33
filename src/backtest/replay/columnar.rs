//! Columnar rule evaluation: each rule of a block of rule groups over every
//! step at once, a vector being a list of series with one value (or
//! [`ABSENT`]) per step, instead of one instant vector per step.
//!
//! It computes exactly what the step-by-step engine ([`super::eval`])
//! computes — the same kernels in the same order on the same values — and
//! takes only the blocks where evaluating rule after rule is provably the
//! same as evaluating step after step:
//!
//! - the block's groups run at one interval, their phases within one step
//!   of each other, so the `k`-th evaluations of all of them come before
//!   every `k+1`-th, in the order of their phase (as [`super::super::eval_keys`]
//!   orders them), and evaluation order is time order;
//! - then a rule reading a series another rule records sees, at its `k`-th
//!   evaluation, the writer's `k`-th value if the writer runs before it,
//!   else its `k-1`-th — or, under downtime, the writer's last evaluation
//!   before that — if that is within the lookback, and nothing otherwise
//!   (a staleness marker follows a series' last sample at the writer's
//!   next evaluation). Steps the server did not evaluate (`--downtime`)
//!   record nothing and do not step the alerts;
//! - rules are computed so that every rule comes after the rules whose
//!   series it may read; rules reading each other's in a cycle cannot be.
//!   A rule reading its own series (a recurrence: calendar windows'
//!   running sums) has the parts that do not read them computed over every
//!   step, then the rest step by step, each step reading what the rule
//!   recorded before ([`Cx::recurrence`]);
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
use super::leaves::{LabelSet, Labels, LeafOut, LOOKBACK_MS};
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
    /// Its value at every step of its group's grid ([`ABSENT`] where it
    /// has none, and at every step not evaluated).
    v: Vec<f64>,
    born: Born,
    /// The group of the rule that records it, and that rule's position in
    /// evaluation order.
    group: usize,
    pos: usize,
    /// Its samples (steps, times, values) and their running sums, made by
    /// the first range function that reads it and shared by the others.
    samples: std::cell::OnceCell<Samples>,
}

type Samples = (Vec<usize>, Vec<i64>, Vec<f64>, Prefix);

/// When a group is evaluated: its grid and, under downtime, which of its
/// steps the server evaluated.
struct Sched {
    grid: Grid,
    live: Option<Vec<bool>>,
}

impl Sched {
    fn new(grid: Grid, downtime: &[(i64, i64)]) -> Sched {
        Sched { grid, live: grid.evaluated(downtime) }
    }

    fn live(&self, k: usize) -> bool {
        self.live.as_ref().is_none_or(|l| l[k])
    }

    /// `cols` with nothing at the steps not evaluated (a rule's result
    /// there is not recorded, nor seen by its alert).
    fn mask(&self, cols: &mut [Col]) {
        let Some(live) = &self.live else { return };
        for c in cols {
            if live.iter().zip(c.v.iter()).any(|(&l, &x)| !l && present(x)) {
                for (x, &l) in c.v.to_mut().iter_mut().zip(live) {
                    if !l {
                        *x = ABSENT;
                    }
                }
            }
        }
    }
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
    /// Per group of the block, when it runs.
    scheds: &'a HashMap<usize, Sched>,
    /// The rule evaluated: its group's schedule and its position in
    /// evaluation order.
    sched: &'a Sched,
    pos: usize,
    /// Evaluating one step of a recurrence ([`Cx::recurrence`]).
    window: Option<Window<'a>>,
}

/// One step `at` of a rule reading its own series: the parts of its
/// expression that do not read them, evaluated over every step (by node
/// address), the nodes that read them, the series it recorded at the
/// steps before, and its last evaluation before.
struct Window<'a> {
    pre: &'a HashMap<usize, Val<'a>>,
    selfs: &'a std::collections::HashSet<usize>,
    own: &'a [Own],
    at: usize,
    prev: Option<usize>,
}

/// A series a recurrence records, as it grows step by step.
struct Own {
    labels: Labels,
    v: Vec<f64>,
    ts: Vec<i64>,
    vals: Vec<f64>,
    prefix: Prefix,
    first: usize,
    p: usize,
}

/// Whether a sample written at `tw` is within the lookback of a read at
/// `t` (else an instant selector finds nothing).
fn within_lookback(tw: i64, t: i64) -> bool {
    tw > t - LOOKBACK_MS
}

fn addr(n: &Node) -> usize {
    n as *const Node as usize
}

/// `v` at step `k` only.
fn slice<'b>(v: &'b Val<'_>, k: usize) -> Val<'b> {
    match v {
        Val::Scalar(Sc::Const(x)) => Val::Scalar(Sc::Const(*x)),
        Val::Scalar(Sc::Steps(s)) => Val::Scalar(Sc::Steps(vec![s[k]])),
        Val::Vector(cols) => Val::Vector(
            cols.iter().map(|c| Col { labels: c.labels.clone(), v: Cow::Borrowed(&c.v[k..k + 1]) }).collect(),
        ),
    }
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
/// evaluation order) over every step of their groups' `grids` (indexed by
/// group), none evaluated in `downtime`. On success the rules' alert
/// histories are filled in and the recorded series returned with where
/// each was first written; on [`Fallback`] nothing was touched.
pub(crate) fn run(
    rules: &mut [(usize, usize, &mut (usize, Step))],
    leaves: &[LeafOut],
    grids: &[Grid],
    downtime: &[(i64, i64)],
) -> Result<Vec<(RecSeries, Born)>, Fallback> {
    let mut scheds: HashMap<usize, Sched> = HashMap::default();
    for (_, _, rule) in rules.iter() {
        scheds.entry(rule.0).or_insert_with(|| Sched::new(grids[rule.0], downtime));
    }
    // One interval, phases within one step: the k-th evaluations of all
    // groups come before any (k+1)-th, and in time order.
    let step = scheds.values().next().map_or(1, |s| s.grid.step);
    let froms = scheds.values().map(|s| s.grid.from);
    let (lo, hi) = (froms.clone().min().unwrap_or(0), froms.max().unwrap_or(0));
    if scheds.values().any(|s| s.grid.step != step) || hi - lo >= step {
        return Err(Fallback("the block's groups run at different intervals"));
    }
    let (order, recurrent) = order(rules)?;
    let mut store = Store::default();
    let mut histories: Vec<(usize, BTreeMap<LabelSet, AlertHistory>)> = Vec::new();
    for pos in order {
        let (run, i, rule) = &rules[pos];
        let sched = &scheds[&rule.0];
        let cx = Cx { leaves, store: &store, scheds: &scheds, sched, pos, window: None };
        match &rule.1 {
            Step::Record { series, name, labels, node, .. } => {
                let merged = if recurrent[pos] {
                    cx.recurrence(node, name, labels)?
                } else {
                    let Val::Vector(mut cols) = cx.eval(node)? else {
                        return Err(Fallback("a recording rule returns a scalar"));
                    };
                    sched.mask(&mut cols);
                    // Series of the result that get the same labels are one
                    // recorded series (written by whichever is present).
                    merge_by(cols, |l| super::eval::recorded_labels(l, name, labels))?
                };
                for (l, v, first, p) in merged {
                    let w = Written {
                        series: *series,
                        labels: Arc::new(l),
                        v,
                        born: (first, *run, *i, p),
                        group: rule.0,
                        pos,
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
                let Val::Vector(mut cols) = cx.eval(node)? else {
                    return Err(Fallback("an alerting rule returns a scalar"));
                };
                sched.mask(&mut cols);
                let merged = merge_by(cols, |l| super::alert::instance_labels(l, labels, name))?;
                let history = merged
                    .into_iter()
                    .map(|(l, v, _, _)| (l, instance_history(&v, sched, *for_ms, *keep_ms)))
                    .collect();
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
            let sched = &scheds[&w.group];
            let (mut ts, mut v, mut stale) = (Times::default(), Vec::new(), Vec::new());
            // Whether the series was written at the previous evaluation: a
            // staleness marker follows it at the next one that does not.
            let mut was = false;
            for (k, &x) in w.v.iter().enumerate() {
                if !sched.live(k) {
                    continue;
                }
                if present(x) {
                    ts.push(sched.grid.at(k));
                    v.push(x);
                } else if was {
                    stale.push(sched.grid.at(k));
                }
                was = present(x);
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

/// One alert instance over the evaluated steps, its series returned at
/// those where it has a value (the transitions of [`Instance`], as
/// `AlertState::step` makes them).
fn instance_history(v: &[f64], sched: &Sched, for_ms: i64, keep_ms: i64) -> AlertHistory {
    let mut h = AlertHistory::default();
    let mut inst: Option<Instance> = None;
    for (k, &x) in v.iter().enumerate() {
        if !sched.live(k) {
            continue;
        }
        let t = sched.grid.at(k);
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

/// The order to compute the block's rules in (positions in evaluation
/// order): each after every rule whose series it may read — a rule
/// earlier in evaluation order is read at the same step, a later one at
/// the step before — and otherwise in evaluation order. Also, per rule,
/// whether it reads its own series (a recurrence over steps, see
/// [`Cx::recurrence`]).
fn order(rules: &[(usize, usize, &mut (usize, Step))]) -> C<(Vec<usize>, Vec<bool>)> {
    type Writers<'a> = HashMap<&'a str, Vec<(usize, &'a [(String, String)])>>;
    let mut writers: Writers = HashMap::default();
    for (pos, (_, _, rule)) in rules.iter().enumerate() {
        if let Step::Record { name, labels, .. } = &rule.1 {
            writers.entry(name.as_str()).or_default().push((pos, labels.as_slice()));
        }
    }
    let mut needs = vec![0usize; rules.len()];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); rules.len()];
    let mut recurrent = vec![false; rules.len()];
    for (pos, (_, _, rule)) in rules.iter().enumerate() {
        let (Step::Record { node, .. } | Step::Alert { node, .. }) = &rule.1;
        let mut reads = std::collections::BTreeSet::new();
        let mut mixed = false;
        crate::backtest::each_recorded(node, &mut |sel, _| {
            let Some(name) = sel.metric() else { return };
            let ws: Vec<usize> =
                writers.get(name).into_iter().flatten().filter(|(_, l)| may_match(sel, name, l)).map(|w| w.0).collect();
            mixed |= ws.contains(&pos) && ws.len() > 1;
            reads.extend(ws);
        });
        if mixed {
            return Err(Fallback("a selector reads a rule's own series and another rule's"));
        }
        recurrent[pos] = reads.remove(&pos);
        needs[pos] = reads.len();
        for w in reads {
            readers[w].push(pos);
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> =
        (0..rules.len()).filter(|&p| needs[p] == 0).map(std::cmp::Reverse).collect();
    let mut out = Vec::with_capacity(rules.len());
    while let Some(std::cmp::Reverse(p)) = ready.pop() {
        out.push(p);
        for &r in &readers[p] {
            needs[r] -= 1;
            if needs[r] == 0 {
                ready.push(std::cmp::Reverse(r));
            }
        }
    }
    if out.len() < rules.len() {
        return Err(Fallback("rules read each other's series in a cycle"));
    }
    Ok((out, recurrent))
}

impl<'a> Cx<'a> {
    fn len(&self) -> usize {
        self.sched.grid.len
    }

    /// The step of `w`'s group last evaluated before this rule's `k`-th
    /// evaluation: the same step if its rule runs before this one, else the
    /// one before; under downtime, the last of those evaluated.
    fn source_step(&self, w: &Written, k: usize) -> Option<usize> {
        let ws = &self.scheds[&w.group];
        let j = if w.pos < self.pos { Some(k) } else { k.checked_sub(1) }?;
        let mut j = j.min(ws.grid.len.checked_sub(1)?);
        while !ws.live(j) {
            j = j.checked_sub(1)?;
        }
        Some(j)
    }

    /// A recorded series as an instant selector reads it at every step:
    /// its latest sample written before, within the lookback and not
    /// followed by a staleness marker — the writer's value at its last
    /// evaluation before, or nothing.
    fn instant(&self, w: &'a Written) -> Cow<'a, [f64]> {
        let ws = &self.scheds[&w.group];
        if w.pos < self.pos && ws.grid == self.sched.grid {
            // Same steps, written first: the value at the step is the read
            // (at steps not evaluated it is not read).
            return Cow::Borrowed(w.v.as_slice());
        }
        let rg = self.sched.grid;
        Cow::Owned(
            (0..rg.len)
                .map(|k| {
                    let Some(j) = self.source_step(w, k).filter(|_| self.sched.live(k)) else { return ABSENT };
                    let (tw, t) = (ws.grid.at(j), rg.at(k));
                    debug_assert!(tw <= t, "a step read before it is written");
                    if within_lookback(tw, t) {
                        w.v[j]
                    } else {
                        ABSENT
                    }
                })
                .collect(),
        )
    }

    fn eval(&self, n: &'a Node) -> C<Val<'a>> {
        if let Some(w) = &self.window {
            if let Some(v) = w.pre.get(&addr(n)) {
                return Ok(slice(v, w.at));
            }
            if w.selfs.contains(&addr(n)) {
                return self.own_read(w, n);
            }
        }
        Ok(match n {
            Node::Num(x) => Val::Scalar(Sc::Const(*x)),
            Node::Leaf(i) => Val::Vector(
                self.leaves[*i]
                    .series
                    .iter()
                    .map(|(l, v)| Col { labels: l.clone(), v: Cow::Borrowed(v.as_slice()) })
                    .collect(),
            ),
            Node::RecInstant(sel) => Val::Vector(
                self.store
                    .matching(sel)
                    .into_iter()
                    .map(|w| Col { labels: w.labels.clone(), v: self.instant(w) })
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
    /// written before the evaluation ([`Cx::source_step`]) and at or before
    /// its time, windowed and computed by the kernel the step-by-step
    /// engine uses ([`eval_slice`]) over the same prefix.
    fn range(&self, f: RangeFn, w: &Written, r: i64) -> Vec<f64> {
        let ws = &self.scheds[&w.group];
        let (js, ts, v, prefix) = w.samples.get_or_init(|| {
            let n = w.v.iter().filter(|&&x| present(x)).count();
            let (mut js, mut ts, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
            for (k, &x) in w.v.iter().enumerate() {
                if present(x) {
                    js.push(k);
                    ts.push(ws.grid.at(k));
                    v.push(x);
                }
            }
            let prefix = Prefix::from_values(&v);
            (js, ts, v, prefix)
        });
        let before = w.pos < self.pos;
        let (mut lo, mut hi) = (0, 0);
        (0..self.len())
            .map(|k| {
                let t = self.sched.grid.at(k);
                // Samples of steps up to this one if the writer runs first,
                // else up to the one before.
                while hi < ts.len() && (js[hi] < k || (before && js[hi] == k)) && ts[hi] <= t {
                    hi += 1;
                }
                while lo < hi && ts[lo] <= t - r {
                    lo += 1;
                }
                if lo == hi || !self.sched.live(k) {
                    ABSENT
                } else {
                    eval_slice(f, ts, v, prefix, lo, hi, t, r)
                }
            })
            .collect()
    }

    /// A rule reading its own series (a running sum, as calendar windows
    /// record): the largest parts of its expression that do not read them
    /// over every step at once, then the rest step by step, each step
    /// reading what the rule recorded at its evaluations before — as the
    /// step engine evaluates it.
    fn recurrence(&self, node: &'a Node, name: &str, labels: &[(String, String)]) -> C<Vec<Merged>> {
        let own = |sel: &Sel| may_match(sel, name, labels);
        let mut pre: HashMap<usize, Val<'a>> = HashMap::default();
        let mut selfs = std::collections::HashSet::new();
        self.split(node, &own, &mut pre, &mut selfs)?;
        let grid = self.sched.grid;
        let mut series: Vec<Own> = Vec::new();
        let mut index: HashMap<LabelSet, usize> = HashMap::default();
        let mut prev = None;
        for k in 0..grid.len {
            if !self.sched.live(k) {
                continue;
            }
            let one = Sched { grid: Grid { from: grid.at(k), step: grid.step, len: 1 }, live: None };
            let window = Window { pre: &pre, selfs: &selfs, own: &series, at: k, prev };
            let cx = Cx { sched: &one, window: Some(window), ..*self };
            let out: Vec<(Labels, f64)> = match cx.eval(node)? {
                Val::Vector(cols) => cols.into_iter().filter(|c| present(c.v[0])).map(|c| (c.labels, c.v[0])).collect(),
                Val::Scalar(_) => return Err(Fallback("a recording rule returns a scalar")),
            };
            for (p, (l, x)) in out.into_iter().enumerate() {
                let key = super::eval::recorded_labels(&l, name, labels);
                let i = match index.get(&key) {
                    Some(&i) => i,
                    None => {
                        index.insert(key.clone(), series.len());
                        series.push(Own {
                            labels: Arc::new(key),
                            v: vec![ABSENT; grid.len],
                            ts: Vec::new(),
                            vals: Vec::new(),
                            prefix: Prefix::new(),
                            first: k,
                            p,
                        });
                        series.len() - 1
                    }
                };
                let o = &mut series[i];
                if present(o.v[k]) {
                    return Err(Fallback("two series of a result get the same labels at one step"));
                }
                o.v[k] = x;
                o.ts.push(grid.at(k));
                o.vals.push(x);
                o.prefix.push(x);
            }
            prev = Some(k);
        }
        Ok(series.into_iter().map(|o| ((*o.labels).clone(), o.v, o.first, o.p)).collect())
    }

    /// Whether `n` reads the rule's own series (`own`); if so, its largest
    /// parts that do not are evaluated over every step into `pre`, and the
    /// nodes that do are listed in `selfs`.
    fn split(
        &self,
        n: &'a Node,
        own: &dyn Fn(&Sel) -> bool,
        pre: &mut HashMap<usize, Val<'a>>,
        selfs: &mut std::collections::HashSet<usize>,
    ) -> C<bool> {
        let children: Vec<&'a Node> = match n {
            Node::RecInstant(sel) | Node::RecRange(_, sel, _) => {
                let reads = own(sel);
                if reads {
                    selfs.insert(addr(n));
                }
                return Ok(reads);
            }
            Node::Num(_) | Node::Leaf(_) => return Ok(false),
            n => n.children(),
        };
        let mut reads = Vec::with_capacity(children.len());
        for c in &children {
            reads.push(self.split(c, own, pre, selfs)?);
        }
        if !reads.contains(&true) {
            return Ok(false);
        }
        for (c, r) in children.into_iter().zip(reads) {
            if !r {
                pre.insert(addr(c), self.eval(c)?);
            }
        }
        Ok(true)
    }

    /// The rule's own series as a selector of it reads them at the
    /// window's step: an instant selector, the value at its last
    /// evaluation before (if present there and within the lookback); a
    /// range function, the samples of its evaluations before.
    fn own_read(&self, w: &Window<'a>, n: &'a Node) -> C<Val<'a>> {
        let t = self.sched.grid.at(0);
        let one = |x: f64| Cow::Owned(vec![x]);
        Ok(Val::Vector(match n {
            Node::RecInstant(sel) => w
                .own
                .iter()
                .filter(|o| sel.matches(&o.labels))
                .filter_map(|o| {
                    let j = w.prev?;
                    let (x, tw) = (o.v[j], t - (w.at - j) as i64 * self.sched.grid.step);
                    (present(x) && within_lookback(tw, t)).then(|| Col { labels: o.labels.clone(), v: one(x) })
                })
                .collect(),
            Node::RecRange(f, sel, r) => w
                .own
                .iter()
                .filter(|o| sel.matches(&o.labels))
                .filter_map(|o| {
                    let lo = o.ts.partition_point(|&x| x <= t - r);
                    let hi = o.ts.len();
                    let x = if lo == hi { ABSENT } else { eval_slice(*f, &o.ts, &o.vals, &o.prefix, lo, hi, t, *r) };
                    let labels = if f.keeps_name() { o.labels.clone() } else { drop_name(&o.labels) };
                    present(x).then(|| Col { labels, v: one(x) })
                })
                .collect(),
            _ => return Err(Fallback("a rule's own series read by an unexpected node")),
        }))
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
                    v: Cow::Owned((0..self.len()).map(|k| self.sched.grid.at(k) as f64 / 1000.0).collect()),
                }],
            };
            Ok(Val::Vector(map_cols(input, |x| civil(x).map_or(f64::NAN, g))))
        };
        match f {
            InstFn::Time => {
                Ok(Val::Scalar(Sc::Steps((0..self.len()).map(|k| self.sched.grid.at(k) as f64 / 1000.0).collect())))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::{collect_ranges, eval_keys, evaluate_blocks, plan_groups, Switches};
    use crate::promql::rules::{Group, RecordRule, Rule};
    use crate::units::Duration;

    fn record(window_min: u64, slo: &str, expr: &str) -> Rule {
        Rule::Record(RecordRule {
            record: Series::ErrorRatio { window: Duration::from_ms(window_min * 60_000) },
            expr: expr.into(),
            labels: [("slo".to_string(), slo.to_string())].into(),
        })
    }

    fn group(name: &str, rules: Vec<Rule>) -> Group {
        Group {
            name: name.into(),
            interval: "1m".into(),
            datasource_type: None,
            partial_response_strategy: None,
            rules,
        }
    }

    /// Everything the groups record over `grids` (one per group), bit for
    /// bit, and how many blocks ran column by column.
    fn replay(groups: &[Group], grids: &[Grid], downtime: &[(i64, i64)], stepwise: bool) -> (String, usize) {
        let (mut steps, _) = plan_groups(groups, &[0, 1]).unwrap();
        let mut summed = std::collections::HashSet::new();
        for (_, s) in &steps {
            let (Step::Record { node, .. } | Step::Alert { node, .. }) = s;
            collect_ranges(node, &mut summed);
        }
        let keys = eval_keys(&steps, grids);
        let switches = Switches { stepwise, report_only: false, finish: None };
        let hidden = indicatif::ProgressBar::hidden();
        let (mut series, errors, how) =
            evaluate_blocks(&mut steps, &keys, &[], grids, downtime, &summed, &switches, &hidden);
        assert!(errors.is_empty(), "{errors:?}");
        series.sort_by_key(|(b, _)| *b);
        let text = series
            .iter()
            .map(|(_, s)| {
                let bits: Vec<u64> = s.v.iter().map(|x| x.to_bits()).collect();
                format!("{:?} {:?} {:?} {:?}\n", s.labels, s.ts, bits, s.stale_marks)
            })
            .collect();
        (text, how.columnar)
    }

    /// A group reading, by instant and range selectors, a series that a
    /// group later in each step's order records (at a later phase, or at
    /// the same phase with a higher index) sees its previous evaluation;
    /// one earlier in the order, its evaluation at that step. The writer's
    /// series comes and goes (staleness markers), some evaluations fall in
    /// downtime, and at 10m steps the previous evaluation is beyond the
    /// lookback (at 5m, exactly at its edge): the columnar engine records
    /// what the step engine does.
    #[test]
    fn reads_across_phases_lags_and_downtime_match_the_step_engine() {
        let groups = [
            group(
                "reader",
                vec![
                    record(60, "instant", r#"slo:sli_error:ratio_rate5m{slo="w"} * 2"#),
                    record(360, "sum", r#"sum_over_time(slo:sli_error:ratio_rate5m{slo="w"}[3m])"#),
                    record(1440, "count", r#"count_over_time(slo:sli_error:ratio_rate5m{slo="w"}[25m])"#),
                ],
            ),
            group("writer", vec![record(5, "w", "vector(time()) % 600 < 400")]),
        ];
        let from = 1_767_225_600_000;
        let (s, m) = (1_000, 60_000);
        // At 5m steps a lagging read at the same phase is exactly the
        // lookback back: outside it.
        for step in [m, 5 * m, 10 * m] {
            for (r, w) in [(10 * s, 40 * s), (0, 0), (40 * s, 10 * s)] {
                let grid = |phase: i64| Grid { from: from + phase, step, len: 200 };
                let grids = [grid(r), grid(w)];
                let downtime = [
                    (from + 7 * step + 20 * s, from + 12 * step + 20 * s),
                    (from + 30 * step, from + 30 * step + 30 * s),
                ];
                for downtime in [&[][..], &downtime[..]] {
                    let what = format!("step {step}, phases {r}/{w}, downtime {downtime:?}");
                    let (columns, n) = replay(&groups, &grids, downtime, false);
                    let (steps, _) = replay(&groups, &grids, downtime, true);
                    assert_eq!(n, 1, "{what}: the block ran step by step");
                    assert!(columns == steps, "{what}: the engines differ\n{columns}\n{steps}");
                    if step == m {
                        assert!(columns.contains(r#""slo", "sum""#), "{what}: the range read nothing\n{columns}");
                    }
                }
            }
        }
    }

    /// A rule reading its own series (a running sum, as calendar windows
    /// record) runs step by step inside the columnar engine, the rest of
    /// its block column by column, and records what the step engine does,
    /// under downtime too; rules reading each other's series in a cycle
    /// (one of them the previous evaluation's) run step by step, and say
    /// why.
    #[test]
    fn recurrences_match_the_step_engine_and_cycles_run_step_by_step() {
        let from = 1_767_225_600_000;
        let grids = [Grid { from, step: 60_000, len: 50 }, Grid { from: from + 5_000, step: 60_000, len: 50 }];
        let cycle = [
            group("a", vec![record(60, "a", r#"slo:sli_error:ratio_rate5m{slo="b"} + 1 or on() vector(1)"#)]),
            group("b", vec![record(5, "b", r#"slo:sli_error:ratio_rate1h{slo="a"} * 2"#)]),
        ];
        let (mut steps, _) = plan_groups(&cycle, &[0, 1]).unwrap();
        let mut rules: Vec<(usize, usize, &mut (usize, Step))> =
            steps.iter_mut().enumerate().map(|(i, s)| (s.0, i, s)).collect();
        let Err(Fallback(reason)) = run(&mut rules, &[], &grids, &[]) else { panic!("a cycle ran column by column") };
        assert!(reason.contains("in a cycle"), "{reason}");
        let (text, n) = replay(&cycle, &grids, &[], false);
        assert_eq!(n, 0);
        assert_eq!(text.matches("count: 50,").count(), 2, "both recorded at every step: {text}");
        // A running sum that restarts every 10 minutes, read by another
        // group by instant and range selectors; and a rule that reads its
        // own series by instant selector, gone every third step.
        let own = [
            group(
                "a",
                vec![
                    record(
                        60,
                        "a",
                        r#"vector(time() % 7) + ((sum(last_over_time(slo:sli_error:ratio_rate1h{slo="a"}[2m])) and on() (vector(time()) % 600 > 0)) or on() vector(0))"#,
                    ),
                    record(
                        360,
                        "a",
                        r#"(slo:sli_error:ratio_rate6h{slo="a"} * 0.5 + 1 or on() vector(1)) and on() (vector(time()) % 180 > 0)"#,
                    ),
                ],
            ),
            group(
                "b",
                vec![record(
                    5,
                    "b",
                    r#"slo:sli_error:ratio_rate1h{slo="a"} * 2 + sum_over_time(slo:sli_error:ratio_rate1h{slo="a"}[4m])"#,
                )],
            ),
        ];
        let downtime = [
            (from + 7 * 60_000 + 20_000, from + 12 * 60_000 + 3_000),
            (from + 30 * 60_000, from + 30 * 60_000 + 30_000),
        ];
        for downtime in [&[][..], &downtime[..]] {
            let (columns, n) = replay(&own, &grids, downtime, false);
            let (steps, _) = replay(&own, &grids, downtime, true);
            assert_eq!(n, 1, "the recurrence ran step by step");
            assert!(columns == steps, "{downtime:?}: the engines differ\n{columns}\n{steps}");
            assert_eq!(columns.matches("Times").count(), 3, "{columns}");
            let every = columns.contains("count: 50,");
            assert!(every == downtime.is_empty(), "the running sum is recorded at every step evaluated: {columns}");
        }
    }
}
