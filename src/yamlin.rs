//! YAML in, bounded: every YAML document slo reads (Sloth and OpenSLO
//! specs, `--incidents` files) passes [`guard`] before serde_yaml_ng
//! builds anything from it.
//!
//! serde_yaml_ng has no limit knobs. An alias (`*a`) is expanded every time
//! it is used, so nine levels of nine aliases ("billion laughs") make a
//! 1 KB file into 10⁹ nodes; and libyaml's scanner spends time linear in the
//! flow depth on every token, so `[[[[…` 100,000 deep takes quadratic time
//! before a single value exists. [`guard`] runs libyaml's event parser (the
//! one serde_yaml_ng uses, so it sees the same document) and stops at the
//! first event past a limit: nesting deeper than [`MAX_DEPTH`], or a
//! document whose aliases expand it past [`MAX_NODES`] nodes or
//! [`MAX_SCALAR_BYTES`] bytes of scalars. It stops early, so a hostile
//! input costs at most a few thousand tokens per nesting level it is
//! allowed. On a syntax error it stops and lets the real parse report it
//! (which stops at the same place).

use serde::de::DeserializeOwned;
use std::collections::HashMap;
// The name says what the crate is: raw libyaml, used only inside `Events`.
use unsafe_libyaml as unsafe_libyaml_sys;

/// The deepest nesting of sequences and mappings accepted. Real specs
/// nest less than 15 deep; the .slo parser stops at 48.
pub(crate) const MAX_DEPTH: usize = 64;
/// The most nodes one document may have once its aliases are expanded.
pub(crate) const MAX_NODES: u64 = 1_000_000;
/// The most scalar bytes one document may have once its aliases are expanded.
pub(crate) const MAX_SCALAR_BYTES: u64 = 64 << 20;

pub(crate) const TOO_DEEP: &str = "slo::input::yaml_too_deep";
pub(crate) const ALIASES: &str = "slo::input::yaml_aliases";

/// A document past a limit: where (byte offset in the text given to
/// [`guard`]) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub code: &'static str,
    pub offset: usize,
    pub message: String,
    pub label: &'static str,
    pub help: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

/// libyaml's event parser over one string, freed on drop.
struct Events<'a> {
    parser: Box<unsafe_libyaml_sys::yaml_parser_t>,
    _input: &'a [u8],
}

/// What [`guard`] needs of one event.
enum Ev {
    Start,
    End,
    Open { anchor: Option<Vec<u8>> },
    Close,
    Scalar { anchor: Option<Vec<u8>>, len: u64 },
    Alias(Vec<u8>),
}

impl<'a> Events<'a> {
    fn new(input: &'a [u8]) -> Events<'a> {
        // SAFETY: the parser is initialised in place on the heap (it must
        // not move once initialised) and reads `input`, which outlives it
        // through `_input`'s lifetime.
        unsafe {
            let mut parser: Box<std::mem::MaybeUninit<unsafe_libyaml_sys::yaml_parser_t>> =
                Box::new(std::mem::MaybeUninit::uninit());
            let p = parser.as_mut_ptr();
            if unsafe_libyaml_sys::yaml_parser_initialize(p).fail {
                panic!("libyaml: out of memory");
            }
            unsafe_libyaml_sys::yaml_parser_set_encoding(p, unsafe_libyaml_sys::YAML_UTF8_ENCODING);
            unsafe_libyaml_sys::yaml_parser_set_input_string(p, input.as_ptr(), input.len() as u64);
            Events { parser: Box::from_raw(Box::into_raw(parser).cast()), _input: input }
        }
    }

    /// The next event and its start offset; `None` at a syntax error.
    fn next(&mut self) -> Option<(Ev, usize)> {
        // SAFETY: the event is written by yaml_parser_parse on success,
        // read according to its type, and freed before returning.
        unsafe {
            let mut event = std::mem::MaybeUninit::<unsafe_libyaml_sys::yaml_event_t>::uninit();
            let e = event.as_mut_ptr();
            if unsafe_libyaml_sys::yaml_parser_parse(&mut *self.parser, e).fail {
                return None;
            }
            let anchor = |a: *const u8| (!a.is_null()).then(|| std::ffi::CStr::from_ptr(a.cast()).to_bytes().to_vec());
            let ev = match (*e).type_ {
                unsafe_libyaml_sys::YAML_STREAM_START_EVENT | unsafe_libyaml_sys::YAML_DOCUMENT_START_EVENT => {
                    Ev::Start
                }
                unsafe_libyaml_sys::YAML_STREAM_END_EVENT | unsafe_libyaml_sys::YAML_DOCUMENT_END_EVENT => Ev::End,
                unsafe_libyaml_sys::YAML_ALIAS_EVENT => Ev::Alias(anchor((*e).data.alias.anchor).unwrap_or_default()),
                unsafe_libyaml_sys::YAML_SCALAR_EVENT => {
                    Ev::Scalar { anchor: anchor((*e).data.scalar.anchor), len: (*e).data.scalar.length }
                }
                unsafe_libyaml_sys::YAML_SEQUENCE_START_EVENT => {
                    Ev::Open { anchor: anchor((*e).data.sequence_start.anchor) }
                }
                unsafe_libyaml_sys::YAML_MAPPING_START_EVENT => {
                    Ev::Open { anchor: anchor((*e).data.mapping_start.anchor) }
                }
                unsafe_libyaml_sys::YAML_SEQUENCE_END_EVENT | unsafe_libyaml_sys::YAML_MAPPING_END_EVENT => Ev::Close,
                _ => Ev::End,
            };
            let at = (*e).start_mark.index as usize;
            let stream_end = (*e).type_ == unsafe_libyaml_sys::YAML_STREAM_END_EVENT;
            unsafe_libyaml_sys::yaml_event_delete(e);
            if stream_end {
                return None;
            }
            Some((ev, at))
        }
    }
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, deleted once.
        unsafe { unsafe_libyaml_sys::yaml_parser_delete(&mut *self.parser) }
    }
}

/// Expanded size: nodes and scalar bytes.
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: u64,
    bytes: u64,
}

/// Checks `text` (one or more YAML documents) against the limits, without
/// building any value. Syntax errors are not this function's business: it
/// stops at the first one and accepts what it saw.
pub fn guard(text: &str) -> Result<(), Refused> {
    let mut events = Events::new(text.as_bytes());
    // Per open collection: its anchor and the document's size when it opened.
    let mut open: Vec<(Option<Vec<u8>>, Size)> = Vec::new();
    let mut anchors: HashMap<Vec<u8>, Size> = HashMap::new();
    let mut total = Size::default();
    let over = |total: &Size| total.nodes > MAX_NODES || total.bytes > MAX_SCALAR_BYTES;
    let refuse_aliases = |offset: usize, total: &Size| Refused {
        code: ALIASES,
        offset,
        message: format!(
            "the YAML's aliases expand it past {} (more than {} nodes or {} of text)",
            if total.nodes > MAX_NODES { "the node limit" } else { "the size limit" },
            MAX_NODES,
            crate::input::size(MAX_SCALAR_BYTES)
        ),
        label: "this alias takes the document past the limit",
        help: "write the repeated parts out, or use fewer nested aliases (`*name`)".into(),
    };
    while let Some((ev, at)) = events.next() {
        match ev {
            Ev::Start => {}
            Ev::End => {
                // A new document: anchors do not carry over.
                anchors.clear();
                open.clear();
                total = Size::default();
            }
            Ev::Open { anchor } => {
                if open.len() >= MAX_DEPTH {
                    return Err(Refused {
                        code: TOO_DEEP,
                        offset: at,
                        message: format!("the YAML nests deeper than {MAX_DEPTH} levels"),
                        label: "this collection is too deep",
                        help: format!("specs nest a few levels deep; flatten this structure below {MAX_DEPTH} levels"),
                    });
                }
                open.push((anchor, total));
                total.nodes += 1;
                if over(&total) {
                    return Err(refuse_aliases(at, &total));
                }
            }
            Ev::Close => {
                if let Some((Some(a), before)) = open.pop() {
                    let size = Size { nodes: total.nodes - before.nodes, bytes: total.bytes - before.bytes };
                    anchors.insert(a, size);
                }
            }
            Ev::Scalar { anchor, len } => {
                total.nodes += 1;
                total.bytes += len;
                if let Some(a) = anchor {
                    anchors.insert(a, Size { nodes: 1, bytes: len });
                }
                if over(&total) {
                    return Err(refuse_aliases(at, &total));
                }
            }
            Ev::Alias(a) => {
                if open.iter().any(|(o, _)| o.as_deref() == Some(a.as_slice())) {
                    return Err(Refused {
                        code: ALIASES,
                        offset: at,
                        message: format!(
                            "the alias `*{}` refers to a node that contains it",
                            String::from_utf8_lossy(&a)
                        ),
                        label: "this alias makes the document infinite",
                        help: "an alias may only repeat a node that is complete where it is used".into(),
                    });
                }
                // An unknown alias is left to the parser, which reports it.
                let Some(size) = anchors.get(&a) else { return Ok(()) };
                total.nodes = total.nodes.saturating_add(size.nodes);
                total.bytes = total.bytes.saturating_add(size.bytes);
                if over(&total) {
                    return Err(refuse_aliases(at, &total));
                }
            }
        }
    }
    Ok(())
}

/// Why [`from_str`] failed.
#[derive(Debug)]
pub enum Error {
    Refused(Refused),
    Yaml(serde_yaml_ng::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Refused(r) => r.fmt(f),
            Error::Yaml(e) => e.fmt(f),
        }
    }
}

/// [`guard`], then serde_yaml_ng: the only way slo deserializes YAML text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    guard(text).map_err(Error::Refused)?;
    serde_yaml_ng::from_str(text).map_err(Error::Yaml)
}

/// [`guard`], then one document into a value.
pub fn value(text: &str) -> Result<serde_yaml_ng::Value, Error> {
    use serde::Deserialize;
    guard(text).map_err(Error::Refused)?;
    serde_yaml_ng::Value::deserialize(serde_yaml_ng::Deserializer::from_str(text)).map_err(Error::Yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laughs(levels: usize, width: usize) -> String {
        let mut s = String::from("a0: &a0 [lol]\n");
        for i in 1..=levels {
            let refs: Vec<String> = (0..width).map(|_| format!("*a{}", i - 1)).collect();
            s.push_str(&format!("a{i}: &a{i} [{}]\n", refs.join(", ")));
        }
        s
    }

    #[test]
    fn ordinary_documents_pass() {
        guard("a: 1\nb: [1, 2, {c: d}]\nlabels: &l {x: y}\nmore: *l\n---\nz: *l2\n").unwrap();
        guard("a: [").unwrap(); // a syntax error is the parser's to report
        guard(&laughs(3, 9)).unwrap();
        let v: serde_yaml_ng::Value = from_str("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(v["b"][1], serde_yaml_ng::Value::from(2));
    }

    #[test]
    fn alias_bombs_are_refused_early() {
        let t = std::time::Instant::now();
        let r = guard(&laughs(9, 9)).unwrap_err();
        assert_eq!(r.code, ALIASES);
        assert!(t.elapsed().as_secs() < 2);
        let r = guard("a: &a [1, 2]\nb: &b [*b]\n").unwrap_err();
        assert_eq!(r.code, ALIASES);
        let big = "x".repeat(1 << 20);
        let mut s = format!("a: &a {big}\nb: [");
        s.push_str(&vec!["*a"; 100].join(", "));
        s.push_str("]\n");
        assert_eq!(guard(&s).unwrap_err().code, ALIASES);
    }

    #[test]
    fn deep_nesting_is_refused_in_linear_time() {
        let t = std::time::Instant::now();
        let deep = "[".repeat(200_000);
        let r = guard(&deep).unwrap_err();
        assert_eq!((r.code, r.offset), (TOO_DEEP, MAX_DEPTH));
        let deep = "a:\n".to_string() + &(1..200).map(|i| format!("{}b:\n", " ".repeat(i))).collect::<String>();
        assert_eq!(guard(&deep).unwrap_err().code, TOO_DEEP);
        assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
        guard(&format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH))).unwrap();
    }
}
