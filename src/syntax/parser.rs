//! pest pairs → AST, one function per grammar rule. The only module that
//! names pest types; its errors become [`Diagnostic`]s right here.

use super::ast::*;
use super::error;
use super::strings;
use crate::diag::Diagnostic;
use crate::source::{SourceId, Span};
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/slo.pest"]
struct SloParser;

type P<'i> = Pair<'i, Rule>;

struct Cx<'t> {
    src: SourceId,
    errors: Vec<Diagnostic>,
    text: &'t str,
    /// (start, end) of every `//` comment, sorted by end.
    comments: &'t [(usize, usize)],
    /// Offset of the chunk being converted in the file.
    base: usize,
}

pub(crate) fn parse_file(src: SourceId, text: &str) -> Result<File, Vec<Diagnostic>> {
    // Bound pest's work on pathological input (deep backtracking).
    pest::set_call_limit(std::num::NonZeroUsize::new(50_000_000));
    let comments: Vec<(usize, usize)> = super::comments::comments(text).into_iter().map(|c| (c.start, c.end)).collect();
    // Each top-level chunk is parsed on its own: pest's token queue then
    // never holds more than one declaration (a 10,000-SLO file parses in a
    // fraction of the memory), and a syntax error in one declaration does
    // not hide those in the next. Large files are parsed by several
    // threads, each taking a contiguous run of chunks.
    let chunks = super::comments::top_level_chunks(text);
    let threads = if text.len() < PARALLEL_BYTES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
    };
    let per = chunks.len().div_ceil(threads).max(1);
    let parts: Vec<(Vec<Item>, Vec<Diagnostic>)> = if threads == 1 {
        vec![parse_chunks(src, text, &comments, &chunks)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> =
                chunks.chunks(per).map(|group| scope.spawn(|| parse_chunks(src, text, &comments, group))).collect();
            handles.into_iter().map(|h| h.join().expect("parser thread")).collect()
        })
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (i, e) in parts {
        items.extend(i);
        errors.extend(e);
    }
    if errors.is_empty() {
        Ok(File { items, span: Span::new(src, 0, text.len()) })
    } else {
        Err(errors)
    }
}

/// Files smaller than this are parsed on the calling thread.
const PARALLEL_BYTES: usize = 256 * 1024;

fn parse_chunks(
    src: SourceId,
    text: &str,
    comments: &[(usize, usize)],
    chunks: &[(usize, usize)],
) -> (Vec<Item>, Vec<Diagnostic>) {
    let mut cx = Cx { src, errors: Vec::new(), text, comments, base: 0 };
    let mut items = Vec::new();
    for &(start, end) in chunks {
        let chunk = &text[start..end];
        cx.base = start;
        match SloParser::parse(Rule::file, chunk) {
            Ok(mut pairs) => {
                let file = pairs.next().expect("file rule");
                items.extend(file.into_inner().filter(|p| p.as_rule() != Rule::EOI).map(|p| cx.item(p)));
            }
            Err(_) => {
                // Recording every parse attempt (which punctuation was
                // tried) makes parsing several times slower, so it is
                // switched on only to explain a failure. The switch is
                // process-wide and never switched off again, so concurrent
                // failing parses all see it.
                pest::set_error_detail(true);
                let Err(e) = SloParser::parse(Rule::file, chunk) else {
                    unreachable!("the input failed to parse a moment ago")
                };
                let mut d = convert_error(src, chunk, e);
                d.span.start += start as u32;
                d.span.end += start as u32;
                cx.errors.push(d);
            }
        }
    }
    (items, cx.errors)
}

fn describe(rule: &Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::import_decl
        | Rule::service_decl
        | Rule::slo_decl
        | Rule::template_decl
        | Rule::alerts_decl
        | Rule::policy_decl => "a declaration",
        Rule::ident | Rule::qualified | Rule::path | Rule::metric_name => "a name",
        Rule::field => "a field (`name = value`)",
        Rule::sli_block => "`sli`",
        Rule::rule_block | Rule::rule_kind | Rule::kw_tier | Rule::kw_threshold => "`tier` or `threshold`",
        Rule::when_rule | Rule::kw_when => "`when`",
        Rule::good_when | Rule::kw_good => "`good when`",
        Rule::value
        | Rule::number
        | Rule::percent
        | Rule::factor
        | Rule::duration
        | Rule::rate
        | Rule::boolean
        | Rule::list
        | Rule::map
        | Rule::call
        | Rule::selector
        | Rule::string => "a value",
        Rule::calendar | Rule::kw_calendar => "`calendar`",
        Rule::block => "`{`",
        Rule::params => "`(`",
        Rule::policy_target | Rule::kw_for => "`for`",
        Rule::param => "a parameter (`name: type`)",
        Rule::slo_instance => "`=` or `{`",
        Rule::matchers => "`{`",
        Rule::matcher => "a label matcher (`label=\"value\"`)",
        Rule::match_op => "`=`, `!=`, `=~` or `!~`",
        Rule::map_entry => "a map entry (`key: value`)",
        Rule::arg => "an argument",
        Rule::cmp_op | Rule::compare => "a comparison (`<`, `<=`, `>`, `>=`, `==`, `!=`)",
        Rule::between | Rule::kw_between => "`between`",
        Rule::kw_and => "`and`",
        Rule::comparison | Rule::cond => "a condition",
        Rule::action => "an action",
        Rule::kw_severity => "`severity`",
        Rule::kw_as => "`as`",
        Rule::import_source | Rule::std_path | Rule::kw_std => "`std.<module>` or a \"path\"",
        Rule::import_list | Rule::import_name => "`.{names}`",
        Rule::import_alias => "`as`",
        Rule::kw_in => "`in`",
        _ => return None,
    })
}

fn convert_error(src: SourceId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(describe).map(str::to_string).collect()
        }
        pest::error::ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    // Literal punctuation the parser tried (`,` `]` `}` `=` …) is not a rule;
    // pest records it in its parse attempts.
    let wants_value = expected.iter().any(|e| e == "a value" || e == "a name");
    if let Some(attempts) = e.parse_attempts() {
        for t in attempts.expected_tokens() {
            let token = t.to_string();
            let opener = matches!(token.as_str(), "{" | "[" | "(" | ":");
            if [",", "]", "}", ")", "{", "[", "(", "=", "=>", "/", ":"].contains(&token.as_str())
                && !(opener && wants_value)
            {
                expected.push(format!("`{token}`"));
            }
        }
    }
    expected.sort();
    expected.dedup();
    // "a declaration" and tokens like `}` together read badly; keep order stable.
    let rest = &text[pos.min(text.len())..];
    let (found, len) = match rest.chars().next() {
        None => ("end of file".to_string(), 0),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let w: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
            (format!("`{w}`"), w.len())
        }
        Some('\n') | Some('\r') => ("end of line".to_string(), 1),
        Some(c) => (format!("`{}`", c.escape_debug()), c.len_utf8()),
    };
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant {
        if positives.is_empty() && expected.is_empty() {
            expected.push("the end of the file or a declaration".into());
        }
    }
    if expected.iter().any(|e| e.contains("call limit")) || e.to_string().contains("call limit") {
        return error::too_large(Span::new(src, 0, text.len().min(1)));
    }
    let mut d = error::unexpected(Span::new(src, pos, pos + len), &found, &expected);
    // Common slips get a specific hint.
    let after = rest.get(len..).unwrap_or("").trim_start();
    if rest.starts_with(['"', '\'', '`']) {
        let line_rest = rest.lines().next().unwrap_or("");
        let q = &line_rest[..1];
        if !line_rest[1..].contains(q) {
            d.message = "unterminated string".into();
            d.label = "this string is never closed".into();
            d.help = Some(format!("close it with {q} on the same line (strings cannot span lines)"));
        }
    } else if after.starts_with(':') && !after.starts_with("::") && expected.iter().any(|e| e.contains("`=`")) {
        d.help = Some(format!("fields are written `name = value`: replace the `:` after {found} with `=`"));
    } else if found == "`,`" && expected.iter().any(|e| e.contains("field") || e == "`}`") {
        d.help = Some("entries in a block need no separator: remove the `,`".into());
    }
    d
}

impl Cx<'_> {
    /// A pair's span without the whitespace and comments pest's implicit
    /// skipping leaves at its end (after an optional part that was absent).
    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        let (start, mut end) = (s.start() + self.base, s.end() + self.base);
        let b = self.text.as_bytes();
        while end > start {
            if b[end - 1].is_ascii_whitespace() {
                end -= 1;
            } else if let Ok(i) = self.comments.binary_search_by(|c| c.1.cmp(&end)) {
                end = self.comments[i].0.max(start);
            } else {
                break;
            }
        }
        Span::new(self.src, start, end)
    }

    fn ident(&self, p: P) -> Ident {
        Ident { name: p.as_str().to_string(), span: self.span(&p) }
    }

    fn path(&self, p: P) -> Path {
        // accepts `qualified` or `path` (which wraps one)
        let p = if p.as_rule() == Rule::path { p.into_inner().next().expect("qualified") } else { p };
        let span = self.span(&p);
        Path { parts: p.into_inner().map(|i| self.ident(i)).collect(), span }
    }

    fn lit(&self, p: &P) -> Lit {
        Lit { text: p.as_str().to_string(), span: self.span(p) }
    }

    fn string(&mut self, p: P) -> StrLit {
        let span = self.span(&p);
        let raw = p.as_str().to_string();
        let value = match strings::unescape(&raw) {
            Ok(v) => v,
            Err(errs) => {
                for e in errs {
                    let s = Span::new(self.src, span.start as usize + e.start, span.start as usize + e.end);
                    self.errors.push(error::bad_escape(s, &e.reason));
                }
                String::new()
            }
        };
        StrLit { raw, value, span }
    }

    fn item(&mut self, p: P) -> Item {
        match p.as_rule() {
            Rule::import_decl => Item::Import(self.import(p)),
            Rule::service_decl => {
                let span = self.span(&p);
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next().unwrap());
                let body = self.block(it.next().unwrap());
                Item::Service(ServiceDecl { name, body, span })
            }
            Rule::slo_decl => {
                let span = self.span(&p);
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next().unwrap());
                it.next(); // for
                let service = self.ident(it.next().unwrap());
                let b = it.next().unwrap();
                let body = if b.as_rule() == Rule::block {
                    SloBody::Block(self.block(b))
                } else {
                    let mut bi = b.into_inner();
                    let call = self.call(bi.next().unwrap());
                    let overrides = bi.next().map(|o| self.block(o));
                    SloBody::Instance { call, overrides }
                };
                Item::Slo(SloDecl { name, service, body, span })
            }
            Rule::template_decl => {
                let span = self.span(&p);
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next().unwrap());
                let params = self.params(it.next().unwrap());
                let body = self.block(it.next().unwrap());
                Item::Template(TemplateDecl { name, params, body, span })
            }
            Rule::alerts_decl => {
                let span = self.span(&p);
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next().unwrap());
                let mut params = None;
                let mut body = None;
                for q in it {
                    match q.as_rule() {
                        Rule::params => params = Some(self.params(q)),
                        _ => body = Some(self.block(q)),
                    }
                }
                Item::Alerts(AlertsDecl { name, params, body: body.unwrap(), span })
            }
            Rule::policy_decl => {
                let span = self.span(&p);
                let mut it = p.into_inner().skip(1);
                let name = self.ident(it.next().unwrap());
                let (mut params, mut target, mut body) = (None, None, None);
                for q in it {
                    match q.as_rule() {
                        Rule::params => params = Some(self.params(q)),
                        Rule::policy_target => target = Some(self.path(q.into_inner().nth(1).unwrap())),
                        _ => body = Some(self.block(q)),
                    }
                }
                Item::Policy(PolicyDecl { name, params, target, body: body.unwrap(), span })
            }
            r => unreachable!("item rule {r:?}"),
        }
    }

    fn import(&mut self, p: P) -> Import {
        let span = self.span(&p);
        let mut it = p.into_inner().skip(1);
        let src = it.next().unwrap().into_inner().next().unwrap();
        let source = match src.as_rule() {
            Rule::std_path => {
                let s = self.span(&src);
                ImportSource::Std(src.into_inner().skip(1).map(|i| self.ident(i)).collect(), s)
            }
            _ => ImportSource::File(self.string(src)),
        };
        let (mut names, mut alias) = (None, None);
        for q in it {
            match q.as_rule() {
                Rule::import_list => {
                    names = Some(
                        q.into_inner()
                            .map(|n| {
                                let span = self.span(&n);
                                let mut ni = n.into_inner();
                                let name = self.ident(ni.next().unwrap());
                                let alias = ni.nth(1).map(|a| self.ident(a));
                                ImportName { name, alias, span }
                            })
                            .collect(),
                    )
                }
                Rule::import_alias => alias = Some(self.ident(q.into_inner().nth(1).unwrap())),
                r => unreachable!("import part {r:?}"),
            }
        }
        Import { source, names, alias, span }
    }

    fn params(&mut self, p: P) -> Vec<Param> {
        p.into_inner()
            .map(|q| {
                let span = self.span(&q);
                let mut it = q.into_inner();
                let name = self.ident(it.next().unwrap());
                let ty = self.ident(it.next().unwrap());
                let default = it.next().map(|v| self.value(v));
                Param { name, ty, default, span }
            })
            .collect()
    }

    fn block(&mut self, p: P) -> Block {
        let span = self.span(&p);
        let entries = p.into_inner().map(|e| self.entry(e)).collect();
        Block { entries, span }
    }

    fn entry(&mut self, p: P) -> Entry {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::field => {
                let mut it = p.into_inner();
                let name = self.ident(it.next().unwrap());
                let value = self.value(it.next().unwrap());
                Entry::Field(Field { name, value, span })
            }
            Rule::sli_block => {
                let mut it = p.into_inner().skip(1);
                let kind = self.ident(it.next().unwrap());
                let mut arg = None;
                let mut body = None;
                for q in it {
                    match q.as_rule() {
                        Rule::duration => arg = Some(self.lit(&q)),
                        _ => body = Some(self.block(q)),
                    }
                }
                Entry::Sli(SliBlock { kind, arg, body: body.unwrap(), span })
            }
            Rule::rule_block => {
                let mut it = p.into_inner();
                let kind = match it.next().unwrap().into_inner().next().unwrap().as_rule() {
                    Rule::kw_tier => RuleKind::Tier,
                    _ => RuleKind::Threshold,
                };
                let name = self.ident(it.next().unwrap());
                let body = self.block(it.next().unwrap());
                Entry::Rule(RuleBlock { kind, name, body, span })
            }
            Rule::good_when => {
                let cond = self.cond(p.into_inner().nth(2).unwrap());
                Entry::GoodWhen(cond, span)
            }
            Rule::when_rule => {
                let mut it = p.into_inner().skip(1);
                let cond = self.cond(it.next().unwrap());
                let (mut actions, mut severity, mut name) = (Vec::new(), None, None);
                let mut next_is = None;
                for q in it {
                    match q.as_rule() {
                        Rule::action => {
                            let span = self.span(&q);
                            let mut ai = q.into_inner();
                            let kind = self.ident(ai.next().unwrap());
                            let arg = ai.next().map(|a| {
                                let span = self.span(&a);
                                let kind = match a.as_rule() {
                                    Rule::string => ValueKind::String(self.string(a)),
                                    _ => ValueKind::Path(self.path(a)),
                                };
                                Value { kind, span }
                            });
                            actions.push(Action { kind, arg, span });
                        }
                        Rule::kw_severity => next_is = Some(Rule::kw_severity),
                        Rule::kw_as => next_is = Some(Rule::kw_as),
                        Rule::ident => match next_is.take() {
                            Some(Rule::kw_severity) => severity = Some(self.ident(q)),
                            _ => name = Some(self.ident(q)),
                        },
                        r => unreachable!("when part {r:?}"),
                    }
                }
                Entry::When(WhenRule { cond, actions, severity, name, span })
            }
            r => unreachable!("entry rule {r:?}"),
        }
    }

    fn cond(&mut self, p: P) -> Cond {
        let span = self.span(&p);
        let terms = p.into_inner().filter(|q| q.as_rule() == Rule::comparison).map(|q| self.comparison(q)).collect();
        Cond { terms, span }
    }

    fn comparison(&mut self, p: P) -> Comparison {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let lhs = self.simple(it.next().unwrap());
        let tail = it.next().unwrap();
        match tail.as_rule() {
            Rule::compare => {
                let mut ti = tail.into_inner();
                let op_pair = ti.next().unwrap();
                let op_span = self.span(&op_pair);
                let op = match op_pair.as_str() {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    ">=" => CmpOp::Ge,
                    "==" => CmpOp::Eq,
                    _ => CmpOp::Ne,
                };
                let rhs = self.simple(ti.next().unwrap());
                Comparison::Compare { lhs, op, op_span, rhs, span }
            }
            _ => {
                let mut ti = tail.into_inner().filter(|q| !matches!(q.as_rule(), Rule::kw_between | Rule::kw_and));
                let low = self.simple(ti.next().unwrap());
                let high = self.simple(ti.next().unwrap());
                Comparison::Between { lhs, low, high, span }
            }
        }
    }

    fn value(&mut self, p: P) -> Value {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let head = self.simple(it.next().unwrap());
        let Some(tail) = it.next() else { return head };
        let kind = match tail.as_rule() {
            Rule::over_tail => {
                let w = tail.into_inner().nth(1).unwrap();
                let window = if w.as_rule() == Rule::calendar {
                    let wspan = self.span(&w);
                    let mut ci = w.into_inner().skip(1);
                    let unit = self.ident(ci.next().unwrap());
                    let tz = ci.nth(1).map(|s| self.string(s));
                    Window::Calendar { unit, tz, span: wspan }
                } else {
                    Window::Value(Box::new(self.simple(w)))
                };
                ValueKind::Over(Box::new(head), Box::new(window))
            }
            Rule::of_budget => ValueKind::OfBudget(Box::new(head)),
            Rule::pair_tail => {
                let second = self.simple(tail.into_inner().next().unwrap());
                ValueKind::Pair(Box::new(head), Box::new(second))
            }
            r => unreachable!("value tail {r:?}"),
        };
        Value { kind, span }
    }

    fn simple(&mut self, p: P) -> Value {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::number => ValueKind::Number(self.lit(&p)),
            Rule::percent => ValueKind::Percent(self.lit(&p)),
            Rule::factor => ValueKind::Factor(self.lit(&p)),
            Rule::duration => ValueKind::Duration(self.lit(&p)),
            Rule::rate => ValueKind::Rate(self.lit(&p)),
            Rule::string => ValueKind::String(self.string(p)),
            Rule::boolean => ValueKind::Bool(p.as_str() == "true"),
            Rule::list => ValueKind::List(p.into_inner().map(|v| self.value(v)).collect()),
            Rule::map => ValueKind::Map(
                p.into_inner()
                    .map(|e| {
                        let span = self.span(&e);
                        let mut ei = e.into_inner();
                        let k = ei.next().unwrap();
                        let key = match k.as_rule() {
                            Rule::string => MapKey::String(self.string(k)),
                            _ => MapKey::Path(self.path(k)),
                        };
                        let value = self.value(ei.next().unwrap());
                        MapEntry { key, value, span }
                    })
                    .collect(),
            ),
            Rule::call => ValueKind::Call(self.call(p)),
            Rule::selector => ValueKind::Selector(self.selector(p)),
            Rule::path => ValueKind::Path(self.path(p)),
            r => unreachable!("simple value {r:?}"),
        };
        Value { kind, span }
    }

    fn call(&mut self, p: P) -> Call {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let callee = self.path(it.next().unwrap());
        let args = it
            .map(|a| {
                let span = self.span(&a);
                let mut ai = a.into_inner();
                let first = ai.next().unwrap();
                if first.as_rule() == Rule::ident {
                    let name = Some(self.ident(first));
                    let value = self.value(ai.next().unwrap());
                    Arg { name, value, span }
                } else {
                    Arg { name: None, value: self.value(first), span }
                }
            })
            .collect();
        Call { callee, args, span }
    }

    fn selector(&mut self, p: P) -> Selector {
        let span = self.span(&p);
        let mut metric = None;
        let mut matchers = Vec::new();
        let mut braces = false;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::metric_name | Rule::recorded_name => metric = Some(self.ident(q)),
                Rule::matchers => {
                    braces = true;
                    for m in q.into_inner() {
                        let mspan = self.span(&m);
                        let mut mi = m.into_inner();
                        let label = self.ident(mi.next().unwrap());
                        let op = match mi.next().unwrap().as_str() {
                            "=" => MatchOp::Eq,
                            "!=" => MatchOp::Ne,
                            "=~" => MatchOp::Re,
                            _ => MatchOp::NotRe,
                        };
                        let v = mi.next().unwrap();
                        let value = match v.as_rule() {
                            Rule::string => MatcherValue::String(self.string(v)),
                            _ => MatcherValue::Param(self.ident(v)),
                        };
                        matchers.push(Matcher { label, op, value, span: mspan });
                    }
                }
                r => unreachable!("selector part {r:?}"),
            }
        }
        Selector { metric, matchers, braces, span }
    }
}
