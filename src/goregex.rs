//! Go's regular-expression dialect, as Prometheus runs it.
//!
//! Prometheus compiles every `=~`/`!~` matcher with Go's `regexp/syntax`
//! (Perl flags plus `DotNL`) and anchors it as `^(?s:` + pattern + `)$`.
//! No Rust crate parses that dialect exactly: Rust's `regex` accepts things
//! Go rejects (`a**`, `(?x)`, `\<`, `a{,3}` as a repetition) and reads
//! some accepted patterns differently (class set operations `[0-9--4]`,
//! Unicode `\d`, `\s`, `\w`, `\b`; script extensions for `\p{Greek}`).
//!
//! So this module parses a pattern with Go's rules — same acceptance, same
//! error codes and messages (`invalid nested repetition operator: `**``) —
//! into a small tree, then prints that tree as a Rust `regex` pattern whose
//! every construct carries its own semantics explicitly (hex-escaped
//! literals, explicit `(?i:…)`, `(?s:.)`, ASCII classes, `\p{sc=…}`), so no
//! ambient Rust flag can change its meaning. [`Matcher`] is the result,
//! anchored at both ends as Prometheus anchors it.
//!
//! It sits on the ground floor: the checker (`sema`), the backtester and
//! the synthetic-data generator all use it; it depends on none of them.
//! Not modelled: Go's limits on the compiled size (`expression too large`,
//! more than 3.3 M instructions) and on runes held by classes; Unicode
//! tables follow the `regex` crate's Unicode version, not Go's.

use std::fmt;

/// A pattern Go's `regexp/syntax` rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Go's error code text, e.g. `invalid nested repetition operator`.
    pub code: &'static str,
    /// The offending part of the pattern, as Go reports it.
    pub expr: String,
    /// Byte offset in the pattern where the problem starts.
    pub offset: usize,
}

impl fmt::Display for Error {
    /// Go's own message: ``error parsing regexp: CODE: `EXPR` ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error parsing regexp: {}: `{}`", self.code, self.expr)
    }
}

const INVALID_CHAR_RANGE: &str = "invalid character class range";
const INVALID_ESCAPE: &str = "invalid escape sequence";
const INVALID_NAMED_CAPTURE: &str = "invalid named capture";
const INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
const INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
const INVALID_REPEAT_SIZE: &str = "invalid repeat count";
const MISSING_BRACKET: &str = "missing closing ]";
const MISSING_PAREN: &str = "missing closing )";
const MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
const TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
const UNEXPECTED_PAREN: &str = "unexpected )";
const NESTING_DEPTH: &str = "expression nests too deeply";

/// Go's limit on one repetition count and on the product of nested ones.
const MAX_REPEAT: u32 = 1000;
/// Go's limit on the height of the parse tree.
const MAX_HEIGHT: usize = 1000;

/// Parse-time flags, as Go tracks them (Prometheus starts with `s` on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flags {
    fold: bool,
    multi_line: bool,
    dot_nl: bool,
    non_greedy: bool,
}

/// One item of a bracketed class.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Code points, as Go's runes: a surrogate is a valid bound.
    Range(u32, u32),
    /// A named group: Perl (`\d`), POSIX (`[:alpha:]`) or Unicode (`\pL`),
    /// already resolved to Rust class text, and whether it is negated.
    Group(String, bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Empty,
    Literal(u32, bool),
    Class { items: Vec<Item>, negated: bool, fold: bool },
    AnyChar(bool),
    BeginLine(bool),
    EndLine(bool),
    WordBoundary(bool),
    Capture(Box<Node>),
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
    Repeat { sub: Box<Node>, min: u32, max: Option<u32>, op_repeat: bool },
}

/// A parsed Go pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    root: Node,
}

/// Parses `pattern` exactly as Prometheus does (`syntax.Parse(v, Perl|DotNL)`).
pub fn parse(pattern: &str) -> Result<Regex, Error> {
    let root = Parser::new(pattern).parse()?;
    // Prometheus parses the pattern, then compiles it again wrapped as
    // `^(?s:…)$`: a concatenation around it, one level more unless the
    // pattern is itself a concatenation (Go flattens those).
    let wrapped = height(&root) + usize::from(!matches!(root, Node::Concat(_)));
    if wrapped > MAX_HEIGHT {
        return Err(Error { code: NESTING_DEPTH, expr: format!("^(?s:{pattern})$"), offset: 0 });
    }
    Ok(Regex { root })
}

/// Only the verdict: `Ok` when Prometheus accepts the pattern.
pub fn validate(pattern: &str) -> Result<(), Error> {
    parse(pattern).map(|_| ())
}

impl Regex {
    /// The equivalent pattern for Rust's `regex` crate, anchored at both
    /// ends as Prometheus anchors it.
    pub(crate) fn to_rust(&self) -> String {
        let mut out = String::from(r"\A(?:");
        write_node(&self.root, &mut out);
        out.push_str(r")\z");
        out
    }
}

/// A compiled, fully anchored Go pattern: `is_match` answers what
/// Prometheus's `=~` answers.
#[derive(Debug, Clone)]
pub struct Matcher {
    re: regex::Regex,
}

impl Matcher {
    pub fn new(pattern: &str) -> Result<Matcher, String> {
        let rust = parse(pattern).map_err(|e| e.to_string())?.to_rust();
        regex::RegexBuilder::new(&rust)
            .size_limit(256 << 20)
            // Go allows 1000 levels; each may print as one group here.
            .nest_limit(4 * MAX_HEIGHT as u32)
            .dfa_size_limit(64 << 20)
            .build()
            .map(|re| Matcher { re })
            .map_err(|e| format!("regex `{pattern}` cannot be evaluated here: {e}"))
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// The compiled Rust regex (already anchored: match it as a whole).
    pub(crate) fn into_regex(self) -> regex::Regex {
        self.re
    }
}

/// Whether the pattern matches the empty string (as Prometheus decides
/// whether a selector can match every series). `None` if it is invalid.
pub(crate) fn matches_empty(pattern: &str) -> Option<bool> {
    Matcher::new(pattern).ok().map(|m| m.is_match(""))
}

// PromQL text whose regexes must reach Go's rules: promql-parser compiles
// every `=~` value with Rust's dialect while parsing, so it would reject
// (`\Q…\E`, octal) or misread Go patterns. Callers parse the protected
// text and take each matcher's pattern back with `protected_pattern`.

/// Prefix of the stand-in [`protect_promql`] gives each regex literal.
const GO_REGEX: &str = "__slo_goregex_";

/// Replaces every `=~`/`!~` value in PromQL `text` by a stand-in that any
/// regex engine accepts (the pattern hex-encoded), so promql-parser, which
/// compiles regexes with Rust's dialect, never rejects or misreads a Go
/// pattern; [`protected_pattern`] gives the pattern back.
pub(crate) fn protect_promql(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut regex_next = false;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            let mut j = i + 1;
            while j < b.len() && b[j] != c {
                j += if b[j] == b'\\' && c != b'`' { 2 } else { 1 };
            }
            let end = (j + 1).min(b.len());
            let lit = &text[i..end];
            match (regex_next, crate::syntax::strings::unescape(lit)) {
                (true, Ok(pattern)) => {
                    out.push('"');
                    out.push_str(GO_REGEX);
                    for byte in pattern.bytes() {
                        out.push_str(&format!("{byte:02x}"));
                    }
                    out.push('"');
                }
                _ => out.push_str(lit),
            }
            regex_next = false;
            i = end;
            continue;
        }
        if c == b'#' {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        if (c == b'=' || c == b'!') && b.get(i + 1) == Some(&b'~') {
            regex_next = true;
            out.push_str(&text[i..i + 2]);
            i += 2;
            continue;
        }
        if !c.is_ascii_whitespace() {
            regex_next = false;
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Undoes [`protect_promql`] in printed PromQL, for messages.
pub(crate) fn restore_promql(text: &str) -> String {
    let stand_in = format!("\"{GO_REGEX}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&stand_in) {
        let hex_start = i + stand_in.len();
        let len = rest[hex_start..].find('"').unwrap_or(rest.len() - hex_start);
        let end = (hex_start + len + 1).min(rest.len());
        match decode_hex(&rest[hex_start..hex_start + len]) {
            Some(pattern) => {
                out.push_str(&rest[..i]);
                out.push_str(&crate::syntax::strings::quote(&pattern));
            }
            // Not ours: a value that merely looks like a stand-in.
            None => out.push_str(&rest[..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn decode_hex(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> =
        (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)).collect::<Result<_, _>>().ok()?;
    String::from_utf8(bytes).ok()
}

/// Parses PromQL with promql-parser, its regex literals protected (see
/// [`protect_promql`]); an error is reported on the text as written.
pub(crate) fn parse_promql(text: &str) -> Result<promql_parser::parser::Expr, String> {
    promql_parser::parser::parse(&protect_promql(text))
        .map_err(|protected| promql_parser::parser::parse(text).err().unwrap_or(protected))
}

/// The pattern behind a [`protect_promql`] stand-in (a parsed matcher's
/// value), or `None` for any other value.
pub(crate) fn protected_pattern(value: &str) -> Option<String> {
    value.strip_prefix(GO_REGEX).and_then(decode_hex)
}

struct Frame {
    alts: Vec<Node>,
    cur: Vec<Node>,
    /// Flags when the group opened, restored at its `)`.
    saved: Flags,
    capture: bool,
}

struct Parser<'a> {
    whole: &'a str,
    pos: usize,
    flags: Flags,
    frames: Vec<Frame>,
}

fn err(code: &'static str, expr: &str, offset: usize) -> Error {
    Error { code, expr: expr.to_string(), offset }
}

impl<'a> Parser<'a> {
    fn new(whole: &'a str) -> Self {
        let flags = Flags { fold: false, multi_line: false, dot_nl: true, non_greedy: false };
        Parser {
            whole,
            pos: 0,
            flags,
            frames: vec![Frame { alts: Vec::new(), cur: Vec::new(), saved: flags, capture: false }],
        }
    }

    fn rest(&self) -> &'a str {
        &self.whole[self.pos..]
    }

    fn push(&mut self, n: Node) {
        self.frames.last_mut().expect("a frame").cur.push(n);
    }

    fn parse(mut self) -> Result<Node, Error> {
        // The text of the last repetition operator through the end of the
        // pattern, when the previous token was one (Go's `lastRepeat`).
        let mut last_repeat: Option<usize> = None;
        while self.pos < self.whole.len() {
            let start = self.pos;
            let t = self.rest();
            let c = t.chars().next().expect("non-empty");
            let mut repeat = None;
            match c {
                '(' => {
                    if t.starts_with("(?") {
                        self.perl_flags()?;
                    } else {
                        self.open(true);
                        self.pos += 1;
                    }
                }
                '|' => {
                    let f = self.frames.last_mut().expect("a frame");
                    let cur = std::mem::take(&mut f.cur);
                    f.alts.push(concat(cur));
                    self.pos += 1;
                }
                ')' => {
                    if self.frames.len() < 2 {
                        return Err(err(UNEXPECTED_PAREN, self.whole, start));
                    }
                    let f = self.frames.pop().expect("a frame");
                    self.flags = f.saved;
                    let capture = f.capture;
                    let n = finish(f);
                    let n = if capture { Node::Capture(Box::new(n)) } else { n };
                    self.check_height(&n)?;
                    self.push(n);
                    self.pos += 1;
                }
                '^' => {
                    self.push(Node::BeginLine(self.flags.multi_line));
                    self.pos += 1;
                }
                '$' => {
                    self.push(Node::EndLine(self.flags.multi_line));
                    self.pos += 1;
                }
                '.' => {
                    self.push(Node::AnyChar(self.flags.dot_nl));
                    self.pos += 1;
                }
                '[' => self.class()?,
                '*' | '+' | '?' => {
                    let (min, max) = match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        _ => (0, Some(1)),
                    };
                    self.pos += 1;
                    self.repeat(min, max, false, start, last_repeat)?;
                    repeat = Some(start);
                }
                '{' => match parse_repeat(t) {
                    None => {
                        self.push(Node::Literal('{' as u32, self.flags.fold));
                        self.pos += 1;
                    }
                    Some((min, max, len)) => {
                        self.pos += len;
                        let lim = MAX_REPEAT as i64;
                        if min < 0 || min > lim || max > lim || (max >= 0 && min > max) {
                            return Err(err(INVALID_REPEAT_SIZE, &self.whole[start..self.pos], start));
                        }
                        let max = (max >= 0).then_some(max as u32);
                        self.repeat(min as u32, max, true, start, last_repeat)?;
                        repeat = Some(start);
                    }
                },
                '\\' => self.escape()?,
                _ => {
                    self.push(Node::Literal(c as u32, self.flags.fold));
                    self.pos += c.len_utf8();
                }
            }
            last_repeat = repeat;
        }
        if self.frames.len() != 1 {
            return Err(err(MISSING_PAREN, self.whole, self.whole.len()));
        }
        let root = finish(self.frames.pop().expect("a frame"));
        self.check_height(&root)?;
        Ok(root)
    }

    /// Go's limit on the tree's height, checked on every node built from
    /// others, so no deeper tree ever exists (nor recursion over it).
    fn check_height(&self, n: &Node) -> Result<(), Error> {
        if height(n) > MAX_HEIGHT {
            return Err(err(NESTING_DEPTH, self.whole, 0));
        }
        Ok(())
    }

    fn open(&mut self, capture: bool) {
        self.frames.push(Frame { alts: Vec::new(), cur: Vec::new(), saved: self.flags, capture });
    }

    /// A repetition operator whose text is `whole[start..self.pos]`.
    fn repeat(
        &mut self,
        min: u32,
        max: Option<u32>,
        op_repeat: bool,
        start: usize,
        last_repeat: Option<usize>,
    ) -> Result<(), Error> {
        if self.rest().starts_with('?') {
            self.pos += 1; // non-greedy: irrelevant to whether a string matches
        }
        if let Some(prev) = last_repeat {
            return Err(err(INVALID_REPEAT_OP, &self.whole[prev..self.pos], prev));
        }
        let f = self.frames.last_mut().expect("a frame");
        let Some(sub) = f.cur.pop() else {
            return Err(err(MISSING_REPEAT_ARGUMENT, &self.whole[start..self.pos], start));
        };
        let re = Node::Repeat { sub: Box::new(sub), min, max, op_repeat };
        if height(&re) > MAX_HEIGHT {
            return Err(err(NESTING_DEPTH, self.whole, 0));
        }
        if op_repeat && (min >= 2 || max.is_some_and(|m| m >= 2)) && !repeat_is_valid(&re, MAX_REPEAT) {
            return Err(err(INVALID_REPEAT_SIZE, &self.whole[start..self.pos], start));
        }
        f.cur.push(re);
        Ok(())
    }

    /// `(?flags)`, `(?flags:`, `(?P<name>`, `(?<name>`.
    fn perl_flags(&mut self) -> Result<(), Error> {
        let start = self.pos;
        let t = self.rest();
        let b = t.as_bytes();
        let with_p = b.len() > 4 && b[2] == b'P' && b[3] == b'<';
        let with_name = b.len() > 3 && b[2] == b'<';
        if with_p || with_name {
            let name_start = if with_p { 4 } else { 3 };
            let Some(end) = t.find('>') else {
                return Err(err(INVALID_NAMED_CAPTURE, t, start));
            };
            let name = &t[name_start..end];
            if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                return Err(err(INVALID_NAMED_CAPTURE, &t[..end + 1], start));
            }
            self.open(true);
            self.pos += end + 1;
            return Ok(());
        }
        let mut flags = self.flags;
        let mut negate = false;
        let mut saw = false;
        let mut i = 2;
        for c in t[2..].chars() {
            i += c.len_utf8();
            let on = !negate;
            match c {
                'i' => flags.fold = on,
                'm' => flags.multi_line = on,
                's' => flags.dot_nl = on,
                'U' => flags.non_greedy = on,
                '-' => {
                    if negate {
                        break;
                    }
                    negate = true;
                    saw = false;
                    continue;
                }
                ':' | ')' => {
                    if negate && !saw {
                        break;
                    }
                    if c == ':' {
                        self.open(false);
                    }
                    self.flags = flags;
                    self.pos += i;
                    return Ok(());
                }
                _ => break,
            }
            saw = true;
        }
        Err(err(INVALID_PERL_OP, &t[..i], start))
    }

    /// A backslash outside a class.
    fn escape(&mut self) -> Result<(), Error> {
        let start = self.pos;
        let t = self.rest();
        let next = t[1..].chars().next();
        match next {
            Some('A') => {
                self.push(Node::BeginLine(false));
                self.pos += 2;
                return Ok(());
            }
            Some('z') => {
                self.push(Node::EndLine(false));
                self.pos += 2;
                return Ok(());
            }
            Some('b') | Some('B') => {
                self.push(Node::WordBoundary(next == Some('b')));
                self.pos += 2;
                return Ok(());
            }
            Some('C') => return Err(err(INVALID_ESCAPE, &t[..2], start)),
            Some('Q') => {
                let lit = &t[2..];
                let (lit, used) = match lit.find(r"\E") {
                    Some(i) => (&lit[..i], 2 + i + 2),
                    None => (lit, t.len()),
                };
                for c in lit.chars() {
                    self.push(Node::Literal(c as u32, self.flags.fold));
                }
                self.pos += used;
                return Ok(());
            }
            Some('p') | Some('P') => {
                let (item, len) = unicode_class(t, start)?;
                self.push(Node::Class { items: vec![item], negated: false, fold: self.flags.fold });
                self.pos += len;
                return Ok(());
            }
            _ => {}
        }
        if let Some(item) = perl_class(t) {
            self.push(Node::Class { items: vec![item], negated: false, fold: self.flags.fold });
            self.pos += 2;
            return Ok(());
        }
        let (c, len) = parse_escape(t, start)?;
        self.push(Node::Literal(c, self.flags.fold));
        self.pos += len;
        Ok(())
    }

    /// A bracketed class starting at `[`.
    fn class(&mut self) -> Result<(), Error> {
        let start = self.pos;
        let s = self.rest();
        let mut p = 1;
        let mut negated = false;
        if s[p..].starts_with('^') {
            negated = true;
            p += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let t = &s[p..];
            if t.starts_with(']') && !first {
                break;
            }
            first = false;
            if t.len() > 2 && t.starts_with("[:") {
                if let Some(i) = t[2..].find(":]") {
                    let name = &t[..i + 4];
                    let Some(item) = posix_class(name) else {
                        return Err(err(INVALID_CHAR_RANGE, name, start + p));
                    };
                    items.push(item);
                    p += name.len();
                    continue;
                }
            }
            if t.starts_with("\\p") || t.starts_with("\\P") {
                let (item, len) = unicode_class(t, start + p)?;
                items.push(item);
                p += len;
                continue;
            }
            if let Some(item) = perl_class(t) {
                items.push(item);
                p += 2;
                continue;
            }
            let rng = p;
            let (lo, len) = class_char(s, p, start)?;
            p += len;
            let mut hi = lo;
            let t = &s[p..];
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                p += 1;
                let (h, len) = class_char(s, p, start)?;
                p += len;
                hi = h;
                if hi < lo {
                    return Err(err(INVALID_CHAR_RANGE, &s[rng..p], start + rng));
                }
            }
            items.push(Item::Range(lo, hi));
        }
        self.push(Node::Class { items, negated, fold: self.flags.fold });
        self.pos += p + 1;
        Ok(())
    }
}

/// One character of a class at `s[p..]` (`s` starts at the class's `[`).
fn class_char(s: &str, p: usize, class_start: usize) -> Result<(u32, usize), Error> {
    let t = &s[p..];
    match t.chars().next() {
        None => Err(err(MISSING_BRACKET, s, class_start)),
        Some('\\') => parse_escape(t, class_start + p),
        Some(c) => Ok((c as u32, c.len_utf8())),
    }
}

/// A single-character escape at the start of `t` (which starts with `\`).
fn parse_escape(t: &str, offset: usize) -> Result<(u32, usize), Error> {
    let mut it = t[1..].char_indices();
    let Some((_, c)) = it.next() else {
        return Err(err(TRAILING_BACKSLASH, "", offset));
    };
    let after = 1 + c.len_utf8();
    let bad = |end: usize| Err(err(INVALID_ESCAPE, &t[..end.min(t.len())], offset));
    let b = t.as_bytes();
    match c {
        '1'..='7' | '0' => {
            if c != '0' && !b.get(after).is_some_and(|d| (b'0'..=b'7').contains(d)) {
                return bad(after);
            }
            let mut r = c as u32 - '0' as u32;
            let mut end = after;
            for _ in 1..3 {
                match b.get(end) {
                    Some(d @ b'0'..=b'7') => {
                        r = r * 8 + (d - b'0') as u32;
                        end += 1;
                    }
                    _ => break,
                }
            }
            Ok((r, end))
        }
        'x' => {
            let rest = &t[after..];
            let mut cs = rest.char_indices();
            let Some((_, c1)) = cs.next() else {
                return bad(after);
            };
            if c1 == '{' {
                let mut r: u32 = 0;
                for (digits, (i, c)) in cs.enumerate() {
                    if c == '}' {
                        if digits == 0 {
                            return bad(after + i + 1);
                        }
                        return Ok((r, after + i + 1));
                    }
                    let Some(v) = c.to_digit(16) else {
                        return bad(after + i + c.len_utf8());
                    };
                    r = r * 16 + v;
                    if r > 0x10FFFF {
                        return bad(after + i + 1);
                    }
                }
                return bad(t.len());
            }
            let Some((i2, c2)) = cs.next() else {
                return bad(t.len());
            };
            match (c1.to_digit(16), c2.to_digit(16)) {
                (Some(x), Some(y)) => Ok((x * 16 + y, after + i2 + c2.len_utf8())),
                _ => bad(after + i2 + c2.len_utf8()),
            }
        }
        'a' => Ok((0x07, after)),
        'f' => Ok((0x0C, after)),
        'n' => Ok((0x0A, after)),
        'r' => Ok((0x0D, after)),
        't' => Ok((0x09, after)),
        'v' => Ok((0x0B, after)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c as u32, after)),
        _ => bad(after),
    }
}

/// `{min}`, `{min,}`, `{min,max}` at the start of `t`, with Go's
/// conventions: `(min, max, len)`, `max == -1` when unbounded, `min == -1`
/// when a number is too big; `None` when `t` is not a repetition (then `{`
/// is a literal).
fn parse_repeat(t: &str) -> Option<(i64, i64, usize)> {
    let b = t.as_bytes();
    let int = |p: &mut usize| -> Option<i64> {
        let s = *p;
        if !b.get(s).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        if b[s] == b'0' && b.get(s + 1).is_some_and(u8::is_ascii_digit) {
            return None; // no leading zeros
        }
        while b.get(*p).is_some_and(u8::is_ascii_digit) {
            *p += 1;
        }
        // Go gives up (too big) once the value reaches 1e8.
        let digits = &t[s..*p];
        Some(if digits.len() > 9 { -1 } else { digits.parse::<i64>().ok().filter(|&n| n <= 100_000_000).unwrap_or(-1) })
    };
    let mut p = 1;
    let mut min = int(&mut p)?;
    let max = match b.get(p)? {
        b',' => {
            p += 1;
            if *b.get(p)? == b'}' {
                -1
            } else {
                let m = int(&mut p)?;
                if m < 0 {
                    min = -1;
                }
                m
            }
        }
        _ => min,
    };
    if *b.get(p)? != b'}' {
        return None;
    }
    Some((min, max, p + 1))
}

fn repeat_is_valid(re: &Node, mut n: u32) -> bool {
    if let Node::Repeat { min, max, op_repeat: true, .. } = re {
        let m = match max {
            Some(0) => return true,
            Some(m) => *m,
            None => *min,
        };
        if m > n {
            return false;
        }
        n = n.checked_div(m).unwrap_or(n);
    }
    children(re).iter().all(|c| repeat_is_valid(c, n))
}

fn children(n: &Node) -> Vec<&Node> {
    match n {
        Node::Capture(s) | Node::Repeat { sub: s, .. } => vec![s],
        Node::Concat(v) | Node::Alternate(v) => v.iter().collect(),
        _ => Vec::new(),
    }
}

fn height(n: &Node) -> usize {
    1 + children(n).into_iter().map(height).max().unwrap_or(0)
}

fn concat(mut v: Vec<Node>) -> Node {
    match v.len() {
        0 => Node::Empty,
        1 => v.pop().expect("one"),
        _ => Node::Concat(v),
    }
}

fn finish(mut f: Frame) -> Node {
    if f.alts.is_empty() {
        return concat(f.cur);
    }
    let last = concat(std::mem::take(&mut f.cur));
    f.alts.push(last);
    Node::Alternate(f.alts)
}

/// `\d \D \s \S \w \W` at the start of `t` (Go's are ASCII-only).
fn perl_class(t: &str) -> Option<Item> {
    let mut cs = t.chars();
    if cs.next() != Some('\\') {
        return None;
    }
    let (set, neg) = match cs.next()? {
        'd' => ("0-9", false),
        'D' => ("0-9", true),
        's' => (r"\t\n\x0C\r\x20", false),
        'S' => (r"\t\n\x0C\r\x20", true),
        'w' => ("0-9A-Za-z_", false),
        'W' => ("0-9A-Za-z_", true),
        _ => return None,
    };
    Some(Item::Group(set.to_string(), neg))
}

/// `[:name:]` or `[:^name:]` (the whole text); Go's POSIX classes are ASCII.
fn posix_class(name: &str) -> Option<Item> {
    let inner = &name[2..name.len() - 2];
    let (inner, neg) = match inner.strip_prefix('^') {
        Some(n) => (n, true),
        None => (inner, false),
    };
    let set = match inner {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => r"\x00-\x7F",
        "blank" => r"\t\x20",
        "cntrl" => r"\x00-\x1F\x7F",
        "digit" => "0-9",
        "graph" => r"\x21-\x7E",
        "lower" => "a-z",
        "print" => r"\x20-\x7E",
        "punct" => r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E",
        "space" => r"\t\n\x0B\x0C\r\x20",
        "upper" => "A-Z",
        "word" => "0-9A-Za-z_",
        "xdigit" => "0-9A-Fa-f",
        _ => return None,
    };
    Some(Item::Group(set.to_string(), neg))
}

/// Go's general categories (exact names; `LC` and `Cn` included).
const CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Cn", "Co", "Cs", "L", "LC", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl",
    "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
];

/// Go's script names (Unicode 17, exact spelling).
const SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Beria_Erfe",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Garay",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Gurung_Khema",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Kirat_Rai",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Ol_Onal",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "Sidetic",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Sunuwar",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Tai_Yo",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Todhri",
    "Tolong_Siki",
    "Toto",
    "Tulu_Tigalari",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

/// `\pN`, `\p{Name}`, `\P{^Name}` at the start of `t`: the item and its length.
fn unicode_class(t: &str, offset: usize) -> Result<(Item, usize), Error> {
    let mut neg = t.as_bytes()[1] == b'P';
    let (seq_len, mut name) = match t[2..].chars().next() {
        None => (2, ""),
        Some('{') => match t.find('}') {
            Some(end) => (end + 1, &t[3..end]),
            None => return Err(err(INVALID_CHAR_RANGE, t, offset)),
        },
        Some(c) => (2 + c.len_utf8(), &t[2..2 + c.len_utf8()]),
    };
    if let Some(n) = name.strip_prefix('^') {
        neg = !neg;
        name = n;
    }
    let class = if name == "Any" {
        r"\x00-\x{10FFFF}".to_string()
    } else if name == "Cs" {
        // Surrogates: never in a (UTF-8) label value.
        String::new()
    } else if CATEGORIES.contains(&name) {
        format!(r"\p{{gc={name}}}")
    } else if SCRIPTS.contains(&name) {
        format!(r"\p{{sc={name}}}")
    } else {
        return Err(err(INVALID_CHAR_RANGE, &t[..seq_len], offset));
    };
    Ok((Item::Group(class, neg), seq_len))
}

fn hex(c: u32, out: &mut String) {
    match char::from_u32(c) {
        Some(ch) if ch.is_ascii_alphanumeric() => out.push(ch),
        _ => out.push_str(&format!(r"\x{{{c:X}}}")),
    }
}

/// Surrogates are code points Go's classes may hold but no label value
/// (valid UTF-8) contains; Rust cannot spell them.
const SURROGATES: (u32, u32) = (0xD800, 0xDFFF);

/// A class range without its surrogates, as Rust ranges.
fn write_range(lo: u32, hi: u32, out: &mut String) {
    let mut one = |lo: u32, hi: u32| {
        hex(lo, out);
        if hi != lo {
            out.push('-');
            hex(hi, out);
        }
    };
    let (s_lo, s_hi) = SURROGATES;
    if hi < s_lo || lo > s_hi {
        one(lo, hi);
        return;
    }
    if lo < s_lo {
        one(lo, s_lo - 1);
    }
    if hi > s_hi {
        one(s_hi + 1, hi);
    }
}

/// A negated class is written as a difference from every code point:
/// `regex-syntax` 0.8 negates `[^\x{0}-\x{D7FF}\x{E000}-\x{10FFFF}]` into
/// a class that matches U+E000, while the difference is exact.
const ALL_MINUS: &str = r"[\x00-\x{10FFFF}--[";

/// Appends a class's content (inside `[...]`) for one item.
fn write_item(item: &Item, out: &mut String) {
    match item {
        Item::Range(lo, hi) => {
            if (SURROGATES.0..=SURROGATES.1).contains(lo) && (SURROGATES.0..=SURROGATES.1).contains(hi) {
                out.push_str(r"[^\x00-\x{10FFFF}]"); // nothing a label value holds
            } else {
                write_range(*lo, *hi, out);
            }
        }
        Item::Group(set, neg) => {
            if set.is_empty() {
                // An empty set: nothing, or everything when negated.
                out.push_str(if *neg { r"\x00-\x{10FFFF}" } else { r"[^\x00-\x{10FFFF}]" });
            } else if *neg {
                out.push_str(ALL_MINUS);
                out.push_str(set);
                out.push_str("]]");
            } else {
                out.push('[');
                out.push_str(set);
                out.push(']');
            }
        }
    }
}

fn write_node(n: &Node, out: &mut String) {
    match n {
        Node::Empty => out.push_str("(?:)"),
        // Prometheus prints the parsed pattern and compiles that text: a
        // lone surrogate is printed (UTF-8 encoded) as U+FFFD.
        Node::Literal(c, _) if (SURROGATES.0..=SURROGATES.1).contains(c) => hex(0xFFFD, out),
        // A class of one code point is a literal to Go, so the same.
        Node::Class { items, negated: false, .. }
            if items.first().is_some_and(|f| {
                matches!(f, Item::Range(lo, hi) if lo == hi && (SURROGATES.0..=SURROGATES.1).contains(lo))
                    && items.iter().all(|i| i == f)
            }) =>
        {
            hex(0xFFFD, out)
        }
        Node::Literal(c, fold) => {
            if *fold {
                out.push_str("(?i:");
                hex(*c, out);
                out.push(')');
            } else {
                hex(*c, out);
            }
        }
        Node::Class { items, negated, fold } => {
            out.push_str(if *fold { "(?i:" } else { "(?-i:" });
            out.push_str(if *negated { ALL_MINUS } else { "[" });
            for it in items {
                write_item(it, out);
            }
            out.push_str(if *negated { "]])" } else { "])" });
        }
        Node::AnyChar(nl) => out.push_str(if *nl { "(?s:.)" } else { "(?-s:.)" }),
        Node::BeginLine(multi) => out.push_str(if *multi { "(?m:^)" } else { r"\A" }),
        Node::EndLine(multi) => out.push_str(if *multi { "(?m:$)" } else { r"\z" }),
        Node::WordBoundary(b) => out.push_str(if *b { r"(?-u:\b)" } else { r"(?-u:\B)" }),
        Node::Capture(s) => {
            out.push_str("(?:");
            write_node(s, out);
            out.push(')');
        }
        Node::Concat(v) => {
            for s in v {
                write_node(s, out);
            }
        }
        Node::Alternate(v) => {
            out.push_str("(?:");
            for (i, s) in v.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_node(s, out);
            }
            out.push(')');
        }
        Node::Repeat { sub, min, max, .. } => {
            out.push_str("(?:");
            write_node(sub, out);
            out.push(')');
            match (min, max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (m, None) => out.push_str(&format!("{{{m},}}")),
                (m, Some(x)) if m == x => out.push_str(&format!("{{{m}}}")),
                (m, Some(x)) => out.push_str(&format!("{{{m},{x}}}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(p: &str) -> String {
        validate(p).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn go_rejects_what_rust_accepts() {
        assert_eq!(msg("5**"), "error parsing regexp: invalid nested repetition operator: `**`");
        assert_eq!(msg("5++"), "error parsing regexp: invalid nested repetition operator: `++`");
        assert_eq!(msg("5{2}{3}"), "error parsing regexp: invalid nested repetition operator: `{2}{3}`");
        assert_eq!(msg("a{1001}"), "error parsing regexp: invalid repeat count: `{1001}`");
        assert_eq!(msg("5{2,1001}"), "error parsing regexp: invalid repeat count: `{2,1001}`");
        assert_eq!(msg("(?x)a"), "error parsing regexp: invalid or unsupported Perl syntax: `(?x`");
        assert_eq!(msg("5..)|(.*"), "error parsing regexp: unexpected ): `5..)|(.*`");
        assert_eq!(msg("(a{500}){3}"), "error parsing regexp: invalid repeat count: `{3}`");
    }

    #[test]
    fn go_accepts() {
        for p in [
            "5..",
            "a*?",
            "a{2}?",
            "a{,3}",
            "a{",
            r"\Q.*\E",
            r"\x{10FFFF}",
            r"\123",
            "(?P<1x>a)",
            "(?<n>a)",
            "(?)",
            "^*",
            "[0-9--4]..",
            "[0-9&&[^4]]..",
            r"\pN",
            r"\p{Greek}",
            "[[:alpha:]]",
            "a|",
            "()",
            r"\b",
        ] {
            assert_eq!(validate(p), Ok(()), "{p}");
        }
    }

    /// Unicode 17 scripts Go knows and the regex crate (Unicode 16) does
    /// not: valid for `check`, an explicit error for the backtester.
    #[test]
    fn newer_scripts_are_valid_but_not_evaluable() {
        for name in ["Beria_Erfe", "Sidetic", "Tai_Yo", "Tolong_Siki"] {
            let p = format!(r"\p{{{name}}}");
            assert_eq!(validate(&p), Ok(()));
            assert!(Matcher::new(&p).unwrap_err().contains("cannot be evaluated here"));
        }
    }

    /// Random patterns over the dialect's metacharacters: parsing never
    /// panics, and whatever Go accepts the regex crate compiles.
    #[test]
    fn every_accepted_pattern_translates() {
        let alphabet: Vec<char> = r"()[]{}*+?|^$.\-&~:,0129aAkK_pPdDwWsSbBQExzU<>=!i é{}".chars().collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let (mut accepted, mut tried) = (0, 0);
        for _ in 0..30_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (x >> 60) as usize;
            let p: String =
                (0..len).map(|i| alphabet[((x >> (i * 4 % 56)) as usize + i * 7) % alphabet.len()]).collect();
            tried += 1;
            if validate(&p).is_ok() {
                accepted += 1;
                if let Err(e) = Matcher::new(&p) {
                    panic!("`{p}` is valid Go but does not translate: {e}");
                }
            }
        }
        assert!(accepted > tried / 20, "{accepted} of {tried}");
    }

    fn m(p: &str, s: &str) -> bool {
        Matcher::new(p).unwrap().is_match(s)
    }

    #[test]
    fn matching_follows_go() {
        assert!(m("[0-9--4]..", "-00"));
        assert!(m("[0-9--4]..", "400"));
        assert!(m("[0-9&&[^4]]..", "&]xx"));
        assert!(!m("[0-9&&[^4]]..", "500"));
        assert!(m("a{,3}", "a{,3}"));
        assert!(!m("a{,3}", "aa"));
        assert!(m("a.b", "a\nb"));
        assert!(!m("(?-s)a.b", "a\nb"));
        assert!(!m(r"\d", "٣"));
        assert!(m(r"(?i)k", "\u{212A}"));
        assert!(m(r"\Q.*\E", ".*"));
        assert!(!m(r"\Q.*\E", "xx"));
        assert!(m(r"\101", "A"));
        assert!(m("a|", ""));
        assert!(!m("5..", "5000"));
        // `\<` is an escaped `<` in Go, a word start in Rust.
        assert!(m(r"\<5..", "<500"));
        assert!(!m(r"\<5..", "500"));
    }
}
