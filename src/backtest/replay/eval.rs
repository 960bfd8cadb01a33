//! Step-by-step rule evaluation: the part of Prometheus's rule manager and
//! PromQL engine the compiled rules need, over the precomputed leaves and
//! the series the rules themselves record.

use super::agg;
use super::alert::AlertState;
use super::leaves::{LabelSet, Labels, LeafOut, LOOKBACK_MS};
use super::plan::{AggOp, BinOp, Card, Grouping, InstFn, Node, Sel};
use super::range::{eval_slice, is_absent, Prefix, RangeFn};
use super::times::Times;
use crate::promql::model::{AlertSpec, Series};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: Labels,
    pub v: f64,
}

#[derive(Debug, Clone)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
}

/// One series a recording rule writes.
#[derive(Debug)]
pub struct RecSeries {
    /// Which recorded series of the model this is (its `__name__`).
    pub series: Series,
    pub labels: Labels,
    pub ts: Times,
    pub v: Vec<f64>,
    /// Every staleness marker written, in time order.
    pub stale_marks: Vec<i64>,
}

impl RecSeries {}

/// Series count when a selector was last resolved, and its matches.
type Resolved = (usize, std::rc::Rc<Vec<usize>>);

/// Everything the rules have recorded so far.
#[derive(Debug, Default)]
pub struct Store {
    pub series: Vec<RecSeries>,
    /// While evaluating, per series: its timestamps as a slice (windows
    /// are read as slices) and, for names range functions read, running
    /// sums. Empty in a store of finished series.
    raw: Vec<Raw>,
    by_name: HashMap<String, Vec<usize>>,
    index: HashMap<Labels, usize>,
    /// Names read by range functions: these keep prefix sums.
    summed: HashSet<String>,
    /// Per selector (by address; plans outlive the store): the series count
    /// when last resolved and the matching series.
    resolved: RefCell<HashMap<usize, Resolved>>,
    /// Per range selector (by address), per matching series in the order of
    /// `resolved`: where its window started at the last evaluation. Windows
    /// only move forward, so finding the next start is a short walk instead
    /// of a binary search over the whole recorded history (whose cache
    /// misses grew with the number of SLOs).
    starts: RefCell<HashMap<usize, Vec<usize>>>,
}

#[derive(Debug, Default)]
struct Raw {
    ts: Vec<i64>,
    prefix: Option<Prefix>,
}

fn name_of(labels: &[(String, String)]) -> &str {
    labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v)
}

impl RecSeries {
    /// Only the last sample (and no staleness marker before it).
    pub(crate) fn keep_last(&mut self) {
        if let (Some(t), Some(&v)) = (self.ts.last(), self.v.last()) {
            self.ts = Times::from_sorted([t]);
            self.v = vec![v];
            self.stale_marks.retain(|&m| m > t);
        }
    }

    /// A series recorded elsewhere (by the columnar engine, or a
    /// distributed worker).
    pub(crate) fn new(series: Series, labels: Labels, ts: Times, v: Vec<f64>, stale_marks: Vec<i64>) -> RecSeries {
        RecSeries { series, labels, ts, v, stale_marks }
    }
}

/// Where a series was first written: at step `k`, by the rule at `step` of
/// the group `run`-th in evaluation order, `seq`-th among those that rule
/// created at that step (or in its block's store).
pub type Born = (usize, usize, usize, usize);

impl Store {
    pub fn new(summed: std::collections::HashSet<String>) -> Store {
        Store { summed: summed.into_iter().collect(), ..Default::default() }
    }

    /// A store of `series` recorded elsewhere, in this order.
    pub fn from_series(summed: std::collections::HashSet<String>, series: Vec<RecSeries>) -> Store {
        let mut store = Store::new(summed);
        for (i, s) in series.iter().enumerate() {
            store.by_name.entry(name_of(&s.labels).to_string()).or_default().push(i);
            store.index.insert(s.labels.clone(), i);
        }
        store.series = series;
        store
    }

    /// The recorded series, in their order of creation.
    pub fn into_series(self) -> Vec<RecSeries> {
        self.series
    }

    fn push_to(&mut self, i: usize, t: i64, v: f64) {
        let (s, raw) = (&mut self.series[i], &mut self.raw[i]);
        s.ts.push(t);
        s.v.push(v);
        raw.ts.push(t);
        if let Some(p) = &mut raw.prefix {
            p.push(v);
        }
    }

    fn append(&mut self, series: Series, labels: Labels, t: i64, v: f64) -> usize {
        let i = match self.index.get(&labels) {
            Some(&i) => i,
            None => {
                let i = self.series.len();
                let name = name_of(&labels).to_string();
                let prefix = self.summed.contains(&name).then(Prefix::new);
                self.by_name.entry(name).or_default().push(i);
                self.index.insert(labels.clone(), i);
                self.series.push(RecSeries { series, labels, ts: Times::default(), v: vec![], stale_marks: vec![] });
                self.raw.push(Raw { ts: vec![], prefix });
                i
            }
        };
        self.push_to(i, t, v);
        i
    }

    /// Indices of the series matching `sel`, resolved once and then only
    /// for new series (appended: a series keeps its position).
    fn resolve(&self, sel: &Sel) -> std::rc::Rc<Vec<usize>> {
        let key = sel as *const Sel as usize;
        let mut cache = self.resolved.borrow_mut();
        let entry = cache.entry(key).or_insert((0, Default::default()));
        if entry.0 < self.series.len() {
            let ids: &[usize] = sel.metric().and_then(|n| self.by_name.get(n)).map_or(&[], |v| v.as_slice());
            let from = ids.partition_point(|&i| i < entry.0);
            let new: Vec<usize> =
                ids[from..].iter().copied().filter(|&i| sel.matches(&self.series[i].labels)).collect();
            if !new.is_empty() {
                std::rc::Rc::make_mut(&mut entry.1).extend(new);
            }
            entry.0 = self.series.len();
        }
        entry.1.clone()
    }

    /// Series matching `sel`.
    fn candidates<'a>(&'a self, sel: &'a Sel) -> impl Iterator<Item = (&'a RecSeries, &'a Raw)> + 'a {
        let ids = self.resolve(sel);
        (0..ids.len()).map(move |j| (&self.series[ids[j]], &self.raw[ids[j]]))
    }

    /// What an instant query for every recorded series returns at any past
    /// time `t`: the latest sample within the lookback, unless a staleness
    /// marker followed it.
    pub fn query_all(&self, t: i64) -> Vec<(Labels, f64)> {
        let mut out = Vec::new();
        for s in &self.series {
            let hi = s.ts.partition_point(|x| x <= t);
            if hi == 0 || s.ts.get(hi - 1) <= t - LOOKBACK_MS {
                continue;
            }
            let lt = s.ts.get(hi - 1);
            let m = s.stale_marks.partition_point(|&x| x <= t);
            if m > 0 && s.stale_marks[m - 1] > lt {
                continue;
            }
            out.push((s.labels.clone(), s.v[hi - 1]));
        }
        out
    }

    fn instant(&self, sel: &Sel, t: i64) -> Vec<Sample> {
        let mut out = Vec::new();
        for (s, raw) in self.candidates(sel) {
            let ts = &raw.ts;
            // Reads are at the current evaluation: the latest sample is usually it.
            let hi = if ts.last().is_some_and(|&l| l <= t) { ts.len() } else { ts.partition_point(|&x| x <= t) };
            if hi == 0 {
                continue;
            }
            let lt = ts[hi - 1];
            // Markers are written at evaluation times, never after `t`.
            let stale = s.stale_marks.last().is_some_and(|&m| m > lt);
            if lt <= t - LOOKBACK_MS || stale {
                continue;
            }
            out.push(Sample { labels: s.labels.clone(), v: s.v[hi - 1] });
        }
        out
    }

    fn range(&self, f: RangeFn, sel: &Sel, r: i64, t: i64) -> Vec<Sample> {
        let ids = self.resolve(sel);
        let mut starts = self.starts.borrow_mut();
        let starts = starts.entry(sel as *const Sel as usize).or_default();
        starts.resize(ids.len(), 0);
        let mut out = Vec::new();
        for (&i, start) in ids.iter().zip(starts.iter_mut()) {
            let (s, raw) = (&self.series[i], &self.raw[i]);
            let ts = &raw.ts;
            let hi = if ts.last().is_some_and(|&l| l <= t) { ts.len() } else { ts.partition_point(|&x| x <= t) };
            // The first sample after `t - r`: from the last start onwards,
            // unless time went back (then search the whole prefix).
            let cut = t - r;
            let mut lo = (*start).min(hi);
            if lo > 0 && ts[lo - 1] > cut {
                lo = ts[..hi].partition_point(|&x| x <= cut);
            } else {
                while lo < hi && ts[lo] <= cut {
                    lo += 1;
                }
            }
            *start = lo;
            if hi == lo {
                continue;
            }
            let owned;
            let prefix = match &raw.prefix {
                Some(p) => p,
                None => {
                    owned = Prefix::from_values(&s.v[lo..hi]);
                    // Re-base the window on the fresh prefix.
                    let v = eval_slice(f, &ts[lo..hi], &s.v[lo..hi], &owned, 0, hi - lo, t, r);
                    if is_absent(v) {
                        continue;
                    }
                    out.push(Sample {
                        labels: if f.keeps_name() { s.labels.clone() } else { drop_name(&s.labels) },
                        v,
                    });
                    continue;
                }
            };
            let v = eval_slice(f, ts, &s.v, prefix, lo, hi, t, r);
            // `rate`/`increase` of a single sample: nothing, as in Prometheus.
            if is_absent(v) {
                continue;
            }
            out.push(Sample { labels: if f.keeps_name() { s.labels.clone() } else { drop_name(&s.labels) }, v });
        }
        out
    }
}

fn drop_name_unless(labels: &Labels, keep: bool) -> Labels {
    if keep || !labels.iter().any(|(k, _)| k == "__name__") {
        labels.clone()
    } else {
        Arc::new(labels.iter().filter(|(k, _)| k != "__name__").cloned().collect())
    }
}

thread_local! {
    /// Name-less copies of label sets the store holds (so `x / 0.005` does
    /// not rebuild the same labels at every step). Keyed by the Arc's
    /// address; the entry keeps the original alive, so addresses stay unique.
    static NAMELESS: RefCell<HashMap<usize, (Labels, Labels)>> = RefCell::new(HashMap::default());
}

pub(super) fn drop_name(labels: &Labels) -> Labels {
    if !labels.iter().any(|(k, _)| k == "__name__") {
        return labels.clone();
    }
    // Only label sets shared with the store are worth remembering.
    if Arc::strong_count(labels) < 2 {
        return drop_name_unless(labels, false);
    }
    let key = Arc::as_ptr(labels) as usize;
    NAMELESS.with(|m| {
        let mut m = m.borrow_mut();
        m.entry(key).or_insert_with(|| (labels.clone(), drop_name_unless(labels, false))).1.clone()
    })
}

/// Evaluation context at one step.
pub(crate) struct Cx<'a> {
    pub leaves: &'a [LeafOut],
    pub store: &'a Store,
    pub k: usize,
    pub t: i64,
}

type R<T> = Result<T, String>;

/// The matching signature of a label set, hashed as Prometheus does
/// (`signatureFunc`: a 64-bit hash of the labels that take part).
pub(super) fn signature(labels: &[(String, String)], matching: &Option<(bool, Vec<String>)>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    let mut n = 0u32;
    for (k, v) in labels {
        let take = match matching {
            Some((true, on)) => on.iter().any(|o| o == k),
            Some((false, ign)) => k != "__name__" && !ign.iter().any(|o| o == k),
            None => k != "__name__",
        };
        if take {
            k.hash(&mut h);
            v.hash(&mut h);
            n += 1;
        }
    }
    n.hash(&mut h);
    h.finish()
}

pub(super) fn arith(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        // Go's math.Mod: the sign of the dividend, like Rust's `%`.
        BinOp::Mod => a % b,
        BinOp::Pow => a.powf(b),
        _ => unreachable!("not an arithmetic operator"),
    }
}

pub(super) fn compare(op: BinOp, a: f64, b: f64) -> bool {
    match op {
        BinOp::Eq => a == b,
        BinOp::Ne => a != b,
        BinOp::Gt => a > b,
        BinOp::Lt => a < b,
        BinOp::Ge => a >= b,
        BinOp::Le => a <= b,
        _ => unreachable!("not a comparison"),
    }
}

/// Civil UTC date-time of a unix time in seconds (for `month()` etc.).
pub(super) fn civil(secs: f64) -> Option<jiff::civil::DateTime> {
    if !secs.is_finite() {
        return None;
    }
    let ts = jiff::Timestamp::from_second(secs.floor() as i64).ok()?;
    Some(jiff::tz::TimeZone::UTC.to_datetime(ts))
}

pub(super) fn histogram_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal bounds, then make counts monotonic.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for (le, c) in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == le => last.1 += c,
            _ => merged.push((le, c)),
        }
    }
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.1 < max {
            b.1 = max;
        } else {
            max = b.1;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let total = merged[merged.len() - 1].1;
    if total == 0.0 || total.is_nan() {
        return f64::NAN;
    }
    let mut rank = q * total;
    let last = merged.len() - 1;
    let b = merged[..last].partition_point(|x| x.1 < rank);
    if b == last {
        return merged[last - 1].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

impl Cx<'_> {
    pub fn eval(&self, n: &Node) -> R<Value> {
        Ok(match n {
            Node::Num(x) => Value::Scalar(*x),
            Node::Leaf(i) => {
                let leaf = &self.leaves[*i];
                Value::Vector(
                    leaf.series
                        .iter()
                        .filter(|(_, vals)| !is_absent(vals[self.k]))
                        .map(|(l, vals)| Sample { labels: l.clone(), v: vals[self.k] })
                        .collect(),
                )
            }
            Node::RecInstant(sel) => Value::Vector(self.store.instant(sel, self.t)),
            Node::RecRange(f, sel, r) => Value::Vector(self.store.range(*f, sel, *r, self.t)),
            Node::Neg(e) => match self.eval(e)? {
                Value::Scalar(x) => Value::Scalar(-x),
                Value::Vector(v) => {
                    Value::Vector(v.into_iter().map(|s| Sample { labels: drop_name(&s.labels), v: -s.v }).collect())
                }
            },
            Node::Agg { op, grouping, expr } => Value::Vector(aggregate(*op, grouping, self.vector(expr)?)),
            Node::Call(f, args) => self.call(*f, args)?,
            Node::Bin { op, lhs, rhs, ret_bool, matching, card } => {
                let (l, r) = (self.eval(lhs)?, self.eval(rhs)?);
                binary(*op, l, r, *ret_bool, matching, card)?
            }
        })
    }

    fn vector(&self, n: &Node) -> R<Vec<Sample>> {
        match self.eval(n)? {
            Value::Vector(v) => Ok(v),
            Value::Scalar(_) => Err("expected an instant vector, got a scalar".into()),
        }
    }

    fn scalar(&self, n: &Node) -> R<f64> {
        match self.eval(n)? {
            Value::Scalar(x) => Ok(x),
            Value::Vector(_) => Err("expected a scalar, got an instant vector".into()),
        }
    }

    fn call(&self, f: InstFn, args: &[Node]) -> R<Value> {
        let map = |g: &dyn Fn(f64) -> f64| -> R<Value> {
            Ok(Value::Vector(
                self.vector(&args[0])?
                    .into_iter()
                    .map(|s| Sample { labels: drop_name(&s.labels), v: g(s.v) })
                    .collect(),
            ))
        };
        let date = |g: &dyn Fn(jiff::civil::DateTime) -> f64| -> R<Value> {
            let input = match args.first() {
                Some(a) => self.vector(a)?,
                None => vec![Sample { labels: Arc::new(vec![]), v: self.t as f64 / 1000.0 }],
            };
            Ok(Value::Vector(
                input
                    .into_iter()
                    .map(|s| Sample { labels: drop_name(&s.labels), v: civil(s.v).map_or(f64::NAN, g) })
                    .collect(),
            ))
        };
        match f {
            InstFn::Time => Ok(Value::Scalar(self.t as f64 / 1000.0)),
            InstFn::Vector => Ok(Value::Vector(vec![Sample { labels: Arc::new(vec![]), v: self.scalar(&args[0])? }])),
            InstFn::Scalar => {
                let v = self.vector(&args[0])?;
                Ok(Value::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }))
            }
            InstFn::Floor => map(&f64::floor),
            InstFn::Ceil => map(&f64::ceil),
            InstFn::Abs => map(&f64::abs),
            InstFn::ClampMin => {
                let m = self.scalar(&args[1])?;
                map(&|x| if x.is_nan() { x } else { x.max(m) })
            }
            InstFn::ClampMax => {
                let m = self.scalar(&args[1])?;
                map(&|x| if x.is_nan() { x } else { x.min(m) })
            }
            InstFn::Month | InstFn::Year | InstFn::DayOfMonth | InstFn::DayOfWeek | InstFn::Hour | InstFn::Minute => {
                date(&|d| date_part(f, d))
            }
            InstFn::HistogramQuantile => {
                let q = self.scalar(&args[0])?;
                let mut groups: BTreeMap<LabelSet, Vec<(f64, f64)>> = BTreeMap::new();
                for s in self.vector(&args[1])? {
                    let Some(le) = s.labels.iter().find(|(k, _)| k == "le").and_then(|(_, v)| parse_le(v)) else {
                        continue;
                    };
                    let key = s.labels.iter().filter(|(k, _)| k != "__name__" && k != "le").cloned().collect();
                    groups.entry(key).or_default().push((le, s.v));
                }
                Ok(Value::Vector(
                    groups
                        .into_iter()
                        .map(|(k, b)| Sample { labels: Arc::new(k), v: histogram_quantile(q, b) })
                        .collect(),
                ))
            }
        }
    }
}

/// The field of a date function (`month()`, `hour()`, …) of a civil UTC
/// date-time; NaN for a function that is not one.
pub(super) fn date_part(f: InstFn, d: jiff::civil::DateTime) -> f64 {
    match f {
        InstFn::Month => d.month() as f64,
        InstFn::Year => d.year() as f64,
        InstFn::DayOfMonth => d.day() as f64,
        InstFn::DayOfWeek => d.weekday().to_sunday_zero_offset() as f64,
        InstFn::Hour => d.hour() as f64,
        InstFn::Minute => d.minute() as f64,
        _ => f64::NAN,
    }
}

/// A bucket bound as Prometheus parses it (`+Inf`, `0.5`, `1e3`).
pub(crate) fn parse_le(s: &str) -> Option<f64> {
    match s.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

fn aggregate(op: AggOp, grouping: &Grouping, input: Vec<Sample>) -> Vec<Sample> {
    // (sum, compensation, count) per output group, in first-seen order.
    let mut groups: HashMap<Vec<(String, String)>, usize> = HashMap::default();
    let mut acc: Vec<(LabelSet, f64, f64, u32)> = Vec::new();
    for s in input {
        let key = grouping.key(&s.labels);
        let i = match groups.get(&key) {
            Some(&i) => i,
            None => {
                groups.insert(key.clone(), acc.len());
                acc.push((key, 0.0, 0.0, 0));
                acc.len() - 1
            }
        };
        let a = &mut acc[i];
        agg::fold(op, &mut a.1, &mut a.2, &mut a.3, s.v);
    }
    acc.into_iter().map(|(k, s, c, n)| Sample { labels: Arc::new(k), v: agg::finish(op, s, c, n) }).collect()
}

/// The labels of a vector-matching result: the `many` side's, without the
/// name where the operator drops it, reduced to `on`/`ignoring` for one to
/// one, plus `group_left/right`'s `include` labels from the `one` side
/// (shared, not rebuilt, when they only lose the name).
pub(super) fn matched_labels(
    many: &Labels,
    one: &Labels,
    drops_name: bool,
    one_to_one: bool,
    matching: &Option<(bool, Vec<String>)>,
    include: &[String],
) -> Labels {
    if include.is_empty() && (matching.is_none() || !one_to_one) && many.is_sorted() {
        return if drops_name { drop_name(many) } else { many.clone() };
    }
    let mut labels: LabelSet = many.to_vec();
    if drops_name {
        labels.retain(|(k, _)| k != "__name__");
    }
    if one_to_one {
        match matching {
            Some((true, on)) => labels.retain(|(k, _)| on.iter().any(|o| o == k)),
            Some((false, ign)) => labels.retain(|(k, _)| !ign.iter().any(|o| o == k)),
            None => {}
        }
    }
    for name in include {
        labels.retain(|(k, _)| k != name);
        if let Some(p) = one.iter().find(|(k, _)| k == name) {
            labels.push(p.clone());
        }
    }
    labels.sort();
    Arc::new(labels)
}

/// The two sides of a vector-matching operation by its cardinality: (the
/// `one` side, the `many` side, whether the operands were swapped, the
/// labels `group_left/right` includes, whether it is one to one).
pub(super) fn sides<T>(card: &Card, lv: T, rv: T) -> (T, T, bool, Vec<String>, bool) {
    let one_to_one = matches!(card, Card::OneToOne | Card::ManyToMany);
    match card {
        Card::OneToMany(inc) => (lv, rv, true, inc.clone(), one_to_one),
        Card::ManyToOne(inc) => (rv, lv, false, inc.clone(), one_to_one),
        _ => (rv, lv, false, vec![], one_to_one),
    }
}

fn binary(
    op: BinOp,
    l: Value,
    r: Value,
    ret_bool: bool,
    matching: &Option<(bool, Vec<String>)>,
    card: &Card,
) -> R<Value> {
    let elem = |a: f64, b: f64| -> Option<f64> {
        if op.is_comparison() {
            let keep = compare(op, a, b);
            if ret_bool {
                Some(if keep { 1.0 } else { 0.0 })
            } else {
                keep.then_some(a)
            }
        } else {
            Some(arith(op, a, b))
        }
    };
    let drops_name = !op.is_comparison() || ret_bool;
    Ok(match (l, r) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            if op.is_comparison() {
                Value::Scalar(if compare(op, a, b) { 1.0 } else { 0.0 })
            } else {
                Value::Scalar(arith(op, a, b))
            }
        }
        (Value::Vector(v), Value::Scalar(b)) => Value::Vector(
            v.into_iter()
                .filter_map(|s| {
                    elem(s.v, b)
                        .map(|x| Sample { labels: if drops_name { drop_name(&s.labels) } else { s.labels }, v: x })
                })
                .collect(),
        ),
        (Value::Scalar(a), Value::Vector(v)) => Value::Vector(
            v.into_iter()
                .filter_map(|s| {
                    // A comparison keeps the vector's value even on the right.
                    let x = elem(a, s.v)?;
                    let x = if op.is_comparison() && !ret_bool { s.v } else { x };
                    Some(Sample { labels: if drops_name { drop_name(&s.labels) } else { s.labels }, v: x })
                })
                .collect(),
        ),
        (Value::Vector(lv), Value::Vector(rv)) => match op {
            BinOp::And => {
                let sigs = Signatures::of(&rv, matching);
                Value::Vector(lv.into_iter().filter(|s| sigs.contains(signature(&s.labels, matching))).collect())
            }
            BinOp::Unless => {
                let sigs = Signatures::of(&rv, matching);
                Value::Vector(lv.into_iter().filter(|s| !sigs.contains(signature(&s.labels, matching))).collect())
            }
            BinOp::Or => {
                let sigs = Signatures::of(&lv, matching);
                let mut out = lv;
                out.extend(rv.into_iter().filter(|s| !sigs.contains(signature(&s.labels, matching))));
                Value::Vector(out)
            }
            _ => {
                let (one, many, swapped, include, one_to_one) = sides(card, lv, rv);
                let mut by_sig: HashMap<u64, &Sample> = HashMap::default();
                for s in &one {
                    if by_sig.insert(signature(&s.labels, matching), s).is_some() {
                        return Err(
                            "many-to-many matching not allowed: matching labels must be unique on one side".into()
                        );
                    }
                }
                let mut seen: HashSet<u64> = HashSet::default();
                let mut out = Vec::new();
                for s in &many {
                    let sig = signature(&s.labels, matching);
                    let Some(o) = by_sig.get(&sig) else { continue };
                    if one_to_one && !seen.insert(sig) {
                        return Err(
                            "found duplicate series for the match group: matching labels must be unique on one side"
                                .into(),
                        );
                    }
                    let (a, b) = if swapped { (o.v, s.v) } else { (s.v, o.v) };
                    let Some(x) = elem(a, b) else { continue };
                    let labels = matched_labels(&s.labels, &o.labels, drops_name, one_to_one, matching, &include);
                    out.push(Sample { labels, v: x });
                }
                Value::Vector(out)
            }
        },
    })
}

/// The matching signatures of one side of a set operation: a short list
/// searched in place (the usual one or few series), else a sorted one.
struct Signatures(Vec<u64>);

impl Signatures {
    fn of(v: &[Sample], matching: &Option<(bool, Vec<String>)>) -> Signatures {
        let mut sigs: Vec<u64> = v.iter().map(|s| signature(&s.labels, matching)).collect();
        if sigs.len() > 8 {
            sigs.sort_unstable();
        }
        Signatures(sigs)
    }

    fn contains(&self, sig: u64) -> bool {
        if self.0.len() > 8 {
            self.0.binary_search(&sig).is_ok()
        } else {
            self.0.contains(&sig)
        }
    }
}

/// One rule ready to run.
pub enum Step {
    Record {
        series: Series,
        /// `series`' name, printed once.
        name: String,
        labels: Vec<(String, String)>,
        node: Node,
        /// Series written at the previous evaluation, with the labels of the
        /// samples that produced them (to skip rebuilding the same labels).
        last: Vec<usize>,
        last_inputs: Vec<Labels>,
    },
    Alert {
        name: String,
        /// Which alert or policy action of its SLO this is.
        spec: AlertSpec,
        labels: Vec<(String, String)>,
        node: Node,
        for_ms: i64,
        keep_ms: i64,
        state: AlertState,
    },
}

impl Step {
    /// Evaluates the rule at `cx` and records its output in `store`.
    pub fn run(&mut self, leaves: &[LeafOut], store: &mut Store, k: usize, t: i64) -> R<()> {
        match self {
            Step::Record { series, name, labels, node, last, last_inputs } => {
                let out = Cx { leaves, store, k, t }.eval(node)?;
                let Value::Vector(v) = out else {
                    return Err(format!("recording rule `{name}` returned a scalar"));
                };
                let mut written = Vec::with_capacity(v.len());
                let mut inputs = Vec::with_capacity(v.len());
                let mut seen = HashSet::default();
                for (pos, s) in v.into_iter().enumerate() {
                    if let (Some(&i), Some(prev)) = (last.get(pos), last_inputs.get(pos)) {
                        if Arc::ptr_eq(prev, &s.labels) || **prev == *s.labels {
                            store.push_to(i, t, s.v);
                            written.push(i);
                            inputs.push(s.labels);
                            continue;
                        }
                    }
                    inputs.push(s.labels.clone());
                    let l = Arc::new(recorded_labels(&s.labels, name, labels));
                    if !seen.insert(l.clone()) {
                        return Err(format!(
                            "recording rule `{name}`: vector contains metrics with the same labelset after applying rule labels"
                        ));
                    }
                    written.push(store.append(*series, l, t, s.v));
                }
                // Series written last time but not now get a staleness marker
                // (usually the same series are written at every evaluation).
                *last_inputs = inputs;
                if *last != written {
                    let now: HashSet<usize> = written.iter().copied().collect();
                    for &i in last.iter() {
                        if !now.contains(&i) {
                            store.series[i].stale_marks.push(t);
                        }
                    }
                }
                *last = written;
            }
            Step::Alert { name, labels, node, for_ms, keep_ms, state, .. } => {
                let out = Cx { leaves, store, k, t }.eval(node)?;
                let Value::Vector(v) = out else {
                    return Err(format!("alerting rule `{name}` returned a scalar"));
                };
                state.step(t, v, labels, name, *for_ms, *keep_ms);
            }
        }
        Ok(())
    }
}

/// A recorded sample's labels: the result's without `__name__` or the
/// rule's own labels, then the rule's name and labels, sorted (both
/// engines record with these).
pub(super) fn recorded_labels(sample: &[(String, String)], name: &str, rule_labels: &[(String, String)]) -> LabelSet {
    let mut l: LabelSet =
        sample.iter().filter(|(k, _)| k != "__name__" && !rule_labels.iter().any(|(r, _)| r == k)).cloned().collect();
    l.push(("__name__".into(), name.to_string()));
    l.extend(rule_labels.iter().cloned());
    l.sort();
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_inside_bucket() {
        let b = vec![(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
        assert!((histogram_quantile(0.5, b.clone()) - 0.1).abs() < 1e-12);
        assert!((histogram_quantile(0.7, b.clone()) - 0.3).abs() < 1e-12);
        assert!(histogram_quantile(0.5, vec![(0.1, 1.0)]).is_nan());
    }
}
