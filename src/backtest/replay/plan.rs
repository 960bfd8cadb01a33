//! Lowering the compiled rules' PromQL into an evaluation plan.
//!
//! The rules are the very text `slo compile` writes, parsed with
//! `promql-parser`. Every subexpression that reads raw metrics — a range
//! function over a selector, or an instant selector, optionally under one
//! aggregation — becomes a *leaf*, computed for every step in one streaming
//! pass over the data (see [`super::leaves`]). Everything else is evaluated
//! step by step, in rule order, as Prometheus's rule manager does.

use super::range::RangeFn;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token;
use promql_parser::parser::{self as pp, Expr, LabelModifier, VectorMatchCardinality};
use std::collections::{BTreeSet, HashMap};

/// An instant-vector selector: metric name plus matchers.
#[derive(Debug, Clone)]
pub struct Sel {
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
}

impl Sel {
    /// The series' `le` when it matches everything but this selector's
    /// `le` matchers: a bucket of the histogram the selector reads, just
    /// not the one it asks for (a latency threshold that is not a bucket
    /// boundary).
    pub(crate) fn missed_bucket<'l>(&self, labels: &'l [(String, String)]) -> Option<&'l str> {
        let le = labels.iter().find(|(k, _)| k == "le").map(|(_, v)| v.as_str())?;
        if !self.matchers.iter().any(|m| m.name == "le") {
            return None;
        }
        let get = |k: &str| labels.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str());
        if self.name.as_ref().is_some_and(|n| get("__name__") != n) {
            return None;
        }
        let (on_le, others): (Vec<&Matcher>, Vec<&Matcher>) = self.matchers.iter().partition(|m| m.name == "le");
        (others.iter().all(|m| m.is_match(get(&m.name))) && !on_le.iter().all(|m| m.is_match(le))).then_some(le)
    }

    /// The selector as PromQL (`name{label="value", …}`), for messages.
    pub fn text(&self) -> String {
        let ms: Vec<String> = self.matchers.iter().map(|m| m.to_string()).collect();
        format!("{}{{{}}}", self.name.as_deref().unwrap_or(""), ms.join(", "))
    }

    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| labels.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str());
        if let Some(n) = &self.name {
            if get("__name__") != n {
                return false;
            }
        }
        self.matchers.iter().all(|m| m.is_match(get(&m.name)))
    }

    /// Label equalities every matching series has (for pushdown), with the
    /// metric name first when known.
    pub(crate) fn equalities(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        if let Some(n) = &self.name {
            out.push(("__name__".into(), n.clone()));
        }
        for m in &self.matchers {
            if matches!(m.op, MatchOp::Equal) && !m.value.is_empty() {
                out.push((m.name.clone(), m.value.clone()));
            }
        }
        out
    }

    pub fn metric(&self) -> Option<&str> {
        self.name.as_deref().or_else(|| {
            self.matchers
                .iter()
                .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
                .map(|m| m.value.as_str())
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grouping {
    By(Vec<String>),
    Without(Vec<String>),
}

impl Grouping {
    /// The output labels of an aggregation for one input series.
    pub fn key(&self, labels: &[(String, String)]) -> Vec<(String, String)> {
        match self {
            Grouping::By(by) => labels.iter().filter(|(k, _)| by.iter().any(|b| b == k)).cloned().collect(),
            Grouping::Without(w) => {
                labels.iter().filter(|(k, _)| k != "__name__" && !w.iter().any(|b| b == k)).cloned().collect()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub(crate) fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le)
    }
    pub(crate) fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstFn {
    Vector,
    Time,
    Floor,
    Ceil,
    Abs,
    Month,
    Year,
    DayOfMonth,
    DayOfWeek,
    Hour,
    Minute,
    Scalar,
    ClampMin,
    ClampMax,
    HistogramQuantile,
}

#[derive(Debug, Clone)]
pub enum Card {
    OneToOne,
    ManyToOne(Vec<String>),
    OneToMany(Vec<String>),
    ManyToMany,
}

#[derive(Debug, Clone)]
pub enum Node {
    Num(f64),
    /// A raw-data leaf, by index.
    Leaf(usize),
    /// An instant selector over series the rules record.
    RecInstant(Sel),
    /// A range function over series the rules record.
    RecRange(RangeFn, Sel, i64),
    Agg {
        op: AggOp,
        grouping: Grouping,
        expr: Box<Node>,
    },
    Bin {
        op: BinOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        ret_bool: bool,
        /// `Some((true, l))` for `on(l)`, `Some((false, l))` for `ignoring(l)`.
        matching: Option<(bool, Vec<String>)>,
        card: Card,
    },
    Neg(Box<Node>),
    Call(InstFn, Vec<Node>),
}

impl Node {
    /// The nodes directly under this one, in order.
    pub fn children(&self) -> Vec<&Node> {
        match self {
            Node::Agg { expr, .. } | Node::Neg(expr) => vec![expr],
            Node::Bin { lhs, rhs, .. } => vec![lhs, rhs],
            Node::Call(_, args) => args.iter().collect(),
            Node::Num(_) | Node::Leaf(_) | Node::RecInstant(_) | Node::RecRange(..) => Vec::new(),
        }
    }

    /// Calls `f` on this node and on every node under it, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Node)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }
}

#[derive(Debug, Clone)]
pub enum LeafKind {
    Instant,
    Range(RangeFn, i64),
    /// A function of native histograms over `rate` or `increase` of a
    /// range (see [`super::native`]): a float per output series and step.
    Hist {
        f: HistFn,
        rate: bool,
        range: i64,
    },
}

impl LeafKind {
    /// How far back from a step the leaf reads.
    pub fn lookbehind(&self) -> i64 {
        match *self {
            LeafKind::Range(_, r) | LeafKind::Hist { range: r, .. } => r,
            LeafKind::Instant => super::leaves::LOOKBACK_MS,
        }
    }
}

/// What a native-histogram leaf makes of each (summed) histogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HistFn {
    /// `histogram_count`
    Count,
    /// `histogram_fraction(lower, upper, …)`
    Fraction(f64, f64),
}

/// A subexpression over raw metrics, computed for every step at once.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    pub sel: Sel,
    pub kind: LeafKind,
    pub agg: Option<(AggOp, Grouping)>,
    /// The PromQL text, for messages.
    pub text: String,
    /// Which evaluation grid it is computed on: the index of its rule
    /// groups' schedule class (0 unless groups are evaluated at their own
    /// offsets, see [`Planner::phase`]).
    pub phase: usize,
}

/// Lowers rule expressions, sharing identical leaves across rules.
pub struct Planner {
    /// Metric names some recording rule writes: selectors of these read the
    /// rules' output, not the data.
    pub recorded: BTreeSet<String>,
    pub leaves: Vec<LeafSpec>,
    /// The schedule class of the group whose rules are being lowered: a
    /// leaf is shared only between groups evaluated on the same grid.
    pub phase: usize,
    by_text: HashMap<(usize, String), usize>,
}

fn dur_ms(d: &std::time::Duration) -> i64 {
    d.as_millis() as i64
}

fn labels_of(l: &LabelModifier) -> (bool, Vec<String>) {
    match l {
        LabelModifier::Include(ls) => (true, ls.labels.clone()),
        LabelModifier::Exclude(ls) => (false, ls.labels.clone()),
    }
}

fn sel_of(vs: &pp::VectorSelector) -> Result<Sel, String> {
    if vs.offset.is_some() || vs.at.is_some() {
        return Err("`offset` and `@` are not supported by the backtester".into());
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err("`or` inside a selector is not supported by the backtester".into());
    }
    let mut name = vs.name.clone();
    let mut matchers = Vec::new();
    for m in &vs.matchers.matchers {
        let m = &go_regex(m)?;
        if m.name == "__name__" && matches!(m.op, MatchOp::Equal) && name.is_none() {
            name = Some(m.value.clone());
        } else if !(m.name == "__name__" && Some(&m.value) == name.as_ref() && matches!(m.op, MatchOp::Equal)) {
            matchers.push(m.clone());
        }
    }
    Ok(Sel { name, matchers })
}

/// A matcher of [`crate::goregex::protect_promql`]'s text with its
/// pattern restored and matched as Prometheus matches it (Go's dialect,
/// fully anchored).
fn go_regex(m: &Matcher) -> Result<Matcher, String> {
    let negated = match m.op {
        MatchOp::Re(_) => false,
        MatchOp::NotRe(_) => true,
        _ => return Ok(m.clone()),
    };
    let Some(pattern) = crate::goregex::protected_pattern(&m.value) else {
        return Ok(m.clone());
    };
    let re = crate::goregex::Matcher::new(&pattern)?.into_regex();
    let op = if negated { MatchOp::NotRe(re) } else { MatchOp::Re(re) };
    Ok(Matcher::new(op, &m.name, &pattern))
}

/// `e` without enclosing parentheses.
fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        e => e,
    }
}

impl Planner {
    pub fn new(recorded: BTreeSet<String>) -> Planner {
        Planner { recorded, leaves: Vec::new(), phase: 0, by_text: HashMap::new() }
    }

    fn is_recorded(&self, sel: &Sel) -> bool {
        sel.metric().is_some_and(|n| self.recorded.contains(n) || n == "ALERTS")
    }

    fn leaf(&mut self, mut spec: LeafSpec) -> Node {
        spec.text = crate::goregex::restore_promql(&spec.text);
        spec.phase = self.phase;
        let key = (self.phase, spec.text.clone());
        if let Some(&i) = self.by_text.get(&key) {
            return Node::Leaf(i);
        }
        let i = self.leaves.len();
        self.by_text.insert(key, i);
        self.leaves.push(spec);
        Node::Leaf(i)
    }

    pub fn parse(&mut self, text: &str) -> Result<Node, String> {
        let e = crate::goregex::parse_promql(text)?;
        self.lower(&e)
    }

    /// A raw leaf under `e`, if `e` is one: `f(sel[r])` or `sel` over raw data.
    fn raw_leaf(&self, e: &Expr) -> Result<Option<(Sel, LeafKind)>, String> {
        match e {
            Expr::Paren(p) => self.raw_leaf(&p.expr),
            Expr::VectorSelector(vs) => {
                let sel = sel_of(vs)?;
                Ok((!self.is_recorded(&sel)).then_some((sel, LeafKind::Instant)))
            }
            Expr::Call(c) => {
                let Some(f) = RangeFn::from_name(c.func.name) else { return Ok(None) };
                let Some(Expr::MatrixSelector(ms)) = c.args.args.first().map(|b| &**b) else { return Ok(None) };
                let sel = sel_of(&ms.vs)?;
                Ok((!self.is_recorded(&sel)).then_some((sel, LeafKind::Range(f, dur_ms(&ms.range)))))
            }
            _ => Ok(None),
        }
    }

    /// `histogram_count(H)` or `histogram_fraction(lo, hi, H)` with `H`
    /// `rate`/`increase` of raw native histograms, optionally under `sum`:
    /// the histograms never leave the leaf, which gives floats.
    fn histogram_leaf(&mut self, e: &Expr, c: &pp::Call) -> Result<Node, String> {
        let unsupported = || {
            format!(
                "`{}` is supported by the backtester over `rate` or `increase` of raw native histograms, \
                 optionally under `sum`",
                c.func.name
            )
        };
        let args: Vec<&Expr> = c.args.args.iter().map(|a| &**a).collect();
        let (f, h) = match (c.func.name, args.as_slice()) {
            ("histogram_count", [h]) => (HistFn::Count, *h),
            ("histogram_fraction", [lo, hi, h]) => match (strip(lo), strip(hi)) {
                (Expr::NumberLiteral(lo), Expr::NumberLiteral(hi)) => (HistFn::Fraction(lo.val, hi.val), *h),
                _ => return Err(format!("`{}` needs number literals as bounds in the backtester", c.func.name)),
            },
            _ => return Err(unsupported()),
        };
        let (inner, agg) = match strip(h) {
            Expr::Aggregate(a) if a.op.id() == token::T_SUM && a.param.is_none() => {
                let grouping = match &a.modifier {
                    None => Grouping::By(vec![]),
                    Some(m) => match labels_of(m) {
                        (true, l) => Grouping::By(l),
                        (false, l) => Grouping::Without(l),
                    },
                };
                (&*a.expr, Some((AggOp::Sum, grouping)))
            }
            other => (other, None),
        };
        let Some((sel, LeafKind::Range(rf @ (RangeFn::Rate | RangeFn::Increase), range))) = self.raw_leaf(inner)?
        else {
            return Err(unsupported());
        };
        let kind = LeafKind::Hist { f, rate: rf == RangeFn::Rate, range };
        Ok(self.leaf(LeafSpec { sel, kind, agg, text: e.to_string(), phase: 0 }))
    }

    fn lower(&mut self, e: &Expr) -> Result<Node, String> {
        Ok(match e {
            Expr::Paren(p) => self.lower(&p.expr)?,
            Expr::NumberLiteral(n) => Node::Num(n.val),
            Expr::Unary(u) => Node::Neg(Box::new(self.lower(&u.expr)?)),
            Expr::VectorSelector(vs) => {
                if let Some((sel, kind)) = self.raw_leaf(e)? {
                    self.leaf(LeafSpec { sel, kind, agg: None, text: e.to_string(), phase: 0 })
                } else {
                    Node::RecInstant(sel_of(vs)?)
                }
            }
            Expr::Aggregate(a) => {
                let op = match a.op.id() {
                    token::T_SUM => AggOp::Sum,
                    token::T_AVG => AggOp::Avg,
                    token::T_COUNT => AggOp::Count,
                    token::T_MIN => AggOp::Min,
                    token::T_MAX => AggOp::Max,
                    token::T_GROUP => AggOp::Group,
                    _ => return Err(format!("the aggregation `{}` is not supported by the backtester", a.op)),
                };
                let grouping = match &a.modifier {
                    None => Grouping::By(vec![]),
                    Some(m) => match labels_of(m) {
                        (true, l) => Grouping::By(l),
                        (false, l) => Grouping::Without(l),
                    },
                };
                if let Some((sel, kind)) = self.raw_leaf(&a.expr)? {
                    self.leaf(LeafSpec { sel, kind, agg: Some((op, grouping)), text: e.to_string(), phase: 0 })
                } else {
                    Node::Agg { op, grouping, expr: Box::new(self.lower(&a.expr)?) }
                }
            }
            Expr::Binary(b) => {
                let op = match b.op.id() {
                    token::T_ADD => BinOp::Add,
                    token::T_SUB => BinOp::Sub,
                    token::T_MUL => BinOp::Mul,
                    token::T_DIV => BinOp::Div,
                    token::T_MOD => BinOp::Mod,
                    token::T_POW => BinOp::Pow,
                    token::T_EQLC => BinOp::Eq,
                    token::T_NEQ => BinOp::Ne,
                    token::T_GTR => BinOp::Gt,
                    token::T_LSS => BinOp::Lt,
                    token::T_GTE => BinOp::Ge,
                    token::T_LTE => BinOp::Le,
                    token::T_LAND => BinOp::And,
                    token::T_LOR => BinOp::Or,
                    token::T_LUNLESS => BinOp::Unless,
                    _ => return Err(format!("the operator `{}` is not supported by the backtester", b.op)),
                };
                let (ret_bool, matching, card) = match &b.modifier {
                    None => (false, None, if op.is_set() { Card::ManyToMany } else { Card::OneToOne }),
                    Some(m) => {
                        let card = match &m.card {
                            VectorMatchCardinality::OneToOne => Card::OneToOne,
                            VectorMatchCardinality::ManyToMany => Card::ManyToMany,
                            VectorMatchCardinality::ManyToOne(l) => Card::ManyToOne(l.labels.clone()),
                            VectorMatchCardinality::OneToMany(l) => Card::OneToMany(l.labels.clone()),
                        };
                        let card = if op.is_set() { Card::ManyToMany } else { card };
                        (m.return_bool, m.matching.as_ref().map(labels_of), card)
                    }
                };
                Node::Bin {
                    op,
                    lhs: Box::new(self.lower(&b.lhs)?),
                    rhs: Box::new(self.lower(&b.rhs)?),
                    ret_bool,
                    matching,
                    card,
                }
            }
            Expr::Call(c) if matches!(c.func.name, "histogram_count" | "histogram_fraction") => {
                return self.histogram_leaf(e, c);
            }
            Expr::Call(c) => {
                if let Some((sel, kind)) = self.raw_leaf(e)? {
                    return Ok(self.leaf(LeafSpec { sel, kind, agg: None, text: e.to_string(), phase: 0 }));
                }
                if let Some(f) = RangeFn::from_name(c.func.name) {
                    let Some(Expr::MatrixSelector(ms)) = c.args.args.first().map(|b| &**b) else {
                        return Err(format!("`{}` needs a range selector", c.func.name));
                    };
                    return Ok(Node::RecRange(f, sel_of(&ms.vs)?, dur_ms(&ms.range)));
                }
                let f = match c.func.name {
                    "vector" => InstFn::Vector,
                    "time" => InstFn::Time,
                    "floor" => InstFn::Floor,
                    "ceil" => InstFn::Ceil,
                    "abs" => InstFn::Abs,
                    "month" => InstFn::Month,
                    "year" => InstFn::Year,
                    "day_of_month" => InstFn::DayOfMonth,
                    "day_of_week" => InstFn::DayOfWeek,
                    "hour" => InstFn::Hour,
                    "minute" => InstFn::Minute,
                    "scalar" => InstFn::Scalar,
                    "clamp_min" => InstFn::ClampMin,
                    "clamp_max" => InstFn::ClampMax,
                    "histogram_quantile" => InstFn::HistogramQuantile,
                    other => return Err(format!("the function `{other}` is not supported by the backtester")),
                };
                let args = c.args.args.iter().map(|a| self.lower(a)).collect::<Result<Vec<_>, _>>()?;
                Node::Call(f, args)
            }
            Expr::MatrixSelector(_) => return Err("a range vector cannot be evaluated on its own".into()),
            Expr::Subquery(_) => return Err("subqueries are not supported by the backtester".into()),
            Expr::StringLiteral(_) => return Err("string literals are not supported by the backtester".into()),
            Expr::Extension(_) => return Err("unsupported expression".into()),
        })
    }
}
