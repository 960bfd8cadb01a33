//! The untyped syntax tree of one `.slo` file.
//!
//! Produced by [`crate::syntax::parse`], consumed by the checker
//! ([`crate::sema`]) and the formatter ([`crate::fmt`]). It mirrors what the
//! user wrote, including literal spellings (so `fmt` can print `99.90%` back
//! unchanged); every node has a [`Span`]. Nothing here is resolved or typed:
//! that is the IR's job.

use crate::source::Span;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct File {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Item {
    Import(Import),
    Service(ServiceDecl),
    Slo(SloDecl),
    Template(TemplateDecl),
    Alerts(AlertsDecl),
    Policy(PolicyDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Service(i) => i.span,
            Item::Slo(i) => i.span,
            Item::Template(i) => i.span,
            Item::Alerts(i) => i.span,
            Item::Policy(i) => i.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `a.b.c`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    pub parts: Vec<Ident>,
    pub span: Span,
}

impl Path {
    pub fn dotted(&self) -> String {
        self.parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(".")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Import {
    pub source: ImportSource,
    /// `.{a, b as c}`
    pub names: Option<Vec<ImportName>>,
    /// `as alias`
    pub alias: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ImportSource {
    /// `std.alerting` (the `std` itself is not kept)
    Std(Vec<Ident>, Span),
    /// `"./lib/common.slo"`
    File(StrLit),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportName {
    pub name: Ident,
    pub alias: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceDecl {
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloDecl {
    pub name: Ident,
    pub service: Ident,
    pub body: SloBody,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SloBody {
    /// `slo x for api { … }`
    Block(Block),
    /// `slo x for api = template(args) { overrides }`
    Instance { call: Call, overrides: Option<Block> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertsDecl {
    pub name: Ident,
    pub params: Option<Vec<Param>>,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDecl {
    pub name: Ident,
    pub params: Option<Vec<Param>>,
    /// `policy x for api { … }` or `for api.availability`
    pub target: Option<Path>,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: Ident,
    pub ty: Ident,
    pub default: Option<Value>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    pub entries: Vec<Entry>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Entry {
    /// `name = value`
    Field(Field),
    /// `sli events { … }`, `sli timeslices 1m { … }`
    Sli(SliBlock),
    /// `tier Name { … }`, `threshold Name { … }`
    Rule(RuleBlock),
    /// `when cond [=> actions] [severity s] [as Name]`
    When(WhenRule),
    /// `good when cond`
    GoodWhen(Cond, Span),
}

impl Entry {
    pub fn span(&self) -> Span {
        match self {
            Entry::Field(f) => f.span,
            Entry::Sli(s) => s.span,
            Entry::Rule(r) => r.span,
            Entry::When(w) => w.span,
            Entry::GoodWhen(_, s) => *s,
        }
    }
    /// Where the entry's own block starts, for entries that hold one.
    pub fn block(&self) -> Option<&Block> {
        match self {
            Entry::Sli(s) => Some(&s.body),
            Entry::Rule(r) => Some(&r.body),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliBlock {
    pub kind: Ident,
    /// The slice length of `sli timeslices 1m`.
    pub arg: Option<Lit>,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RuleKind {
    Tier,
    Threshold,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleBlock {
    pub kind: RuleKind,
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhenRule {
    pub cond: Cond,
    pub actions: Vec<Action>,
    pub severity: Option<Ident>,
    pub name: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub kind: Ident,
    pub arg: Option<Value>,
    pub span: Span,
}

/// Comparisons joined by `and`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cond {
    pub terms: Vec<Comparison>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Comparison {
    Compare { lhs: Value, op: CmpOp, op_span: Span, rhs: Value, span: Span },
    Between { lhs: Value, low: Value, high: Value, span: Span },
}

impl Comparison {
    pub fn span(&self) -> Span {
        match self {
            Comparison::Compare { span, .. } | Comparison::Between { span, .. } => *span,
        }
    }
}

/// Comparison operators are plain values, the same in every stage.
pub use crate::ir::CmpOp;

/// A literal, with the exact text the user wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lit {
    pub text: String,
    pub span: Span,
}

/// A string literal: the source text (with quotes) and the unescaped value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrLit {
    pub raw: String,
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ValueKind {
    Number(Lit),
    /// `99.9%`
    Percent(Lit),
    /// `14.4x`
    Factor(Lit),
    /// `5m`, `1h30m`, `500ms`
    Duration(Lit),
    /// `100/s`, `20/min`
    Rate(Lit),
    String(StrLit),
    Bool(bool),
    List(Vec<Value>),
    Map(Vec<MapEntry>),
    Call(Call),
    Selector(Selector),
    /// A bare or dotted name: a parameter, an SLO, a builtin, a metric.
    Path(Path),
    /// `99.9% over 28d`
    Over(Box<Value>, Box<Window>),
    /// `2% of budget`
    OfBudget(Box<Value>),
    /// `1h / 5m`
    Pair(Box<Value>, Box<Value>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Window {
    /// `28d` (or a parameter)
    Value(Box<Value>),
    /// `calendar month in "Europe/Berlin"`
    Calendar { unit: Ident, tz: Option<StrLit>, span: Span },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapEntry {
    pub key: MapKey,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MapKey {
    Path(Path),
    String(StrLit),
}

impl MapKey {
    pub fn span(&self) -> Span {
        match self {
            MapKey::Path(p) => p.span,
            MapKey::String(s) => s.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    pub callee: Path,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selector {
    pub metric: Option<Ident>,
    pub matchers: Vec<Matcher>,
    /// `metric{}` or `{…}` (as opposed to a bare recording-rule name).
    pub braces: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matcher {
    pub label: Ident,
    pub op: MatchOp,
    pub value: MatcherValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MatcherValue {
    String(StrLit),
    /// A template parameter holding a string.
    Param(Ident),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchOp {
    Eq,
    Ne,
    Re,
    NotRe,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }
}
