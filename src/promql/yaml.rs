//! A YAML writer for the one shape rule files have (and for the OpenSLO
//! export's documents, [`document`]).
//!
//! serde_yaml_ng's emitter (libyaml) took 44% of `slo compile` on 10,000
//! SLOs, for output whose shape is fixed: mappings of known keys, lists of
//! rules, string scalars. This writer emits the same block style directly.
//!
//! Every scalar is a string, and must read back as that string in every
//! YAML reader: go-yaml (Prometheus, Mimir), and YAML 1.1 readers such as
//! PyYAML and most CI tools, which read `yes`, `on`, `NO` as booleans,
//! `2026-01-01` as a date, `12:30:00` as the number 45000, `<<` as a merge
//! key and `=` as the "value" type. Rather than list what is dangerous,
//! [`plain_ok`] admits as plain only what is provably a string everywhere:
//!
//! - it starts with an ASCII letter. Every implicit type of YAML 1.1 (bool,
//!   int, float, null, merge, value, timestamp) and of YAML 1.2's core and
//!   JSON schemas starts with a digit, a sign, `.`, `~`, `<`, `=` — or is one
//!   of the words `y n yes no true false on off null` in some case. So a
//!   letter-first string that is none of those words, in any case, resolves
//!   to a string;
//! - it holds only printable ASCII, no `#`, no `:` before a space or at the
//!   end, and does not end with a space. A block-context plain scalar that
//!   starts with a letter ends only at a line break, `: `, ` #` or the end
//!   of the line (trailing spaces are dropped); with none of those inside,
//!   it reads back whole. Flow indicators (`[]{},`) are plain characters in
//!   block context.
//!
//! Anything else is single-quoted, or double-quoted with escapes when it
//! holds line breaks or other non-printable characters. Tests hold the rule
//! to a YAML 1.1 resolver table written from the type repository's regexes,
//! parse the output with serde_yaml_ng, and load compiled files with
//! PyYAML when it is installed (tests/integration/harm_names.rs).

use super::rules::{Group, Rule};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The words some YAML reader resolves to a boolean or null (YAML 1.1's
/// `y|Y|yes|Yes|YES|n|N|no|…|on|off`, 1.2's `true|false|null`), compared
/// ignoring case.
const WORDS: [&str; 9] = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"];

/// Whether `s` may be written as a plain scalar: see the module docs for
/// why this is safe in every YAML 1.1 and 1.2 reader.
pub(crate) fn plain_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) || b.last() == Some(&b' ') {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'#' => return false,
            b':' if matches!(b.get(i + 1), None | Some(b' ')) => return false,
            0x20..=0x7e => {}
            _ => return false,
        }
    }
    !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// Characters written escaped, in a double-quoted scalar: controls (line
/// breaks included) and what YAML readers take for line breaks or reject.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// Appends `s` as a YAML scalar.
pub fn scalar(out: &mut String, s: &str) {
    if plain_ok(s) {
        out.push_str(s);
    } else if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_control()) || !s.chars().any(needs_escape) {
        out.push('\'');
        for (i, part) in s.split('\'').enumerate() {
            if i > 0 {
                out.push_str("''");
            }
            out.push_str(part);
        }
        out.push('\'');
    } else {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if needs_escape(c) => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// `key: value` at `indent`.
pub fn entry(out: &mut String, indent: &str, key: &str, value: &str) {
    out.push_str(indent);
    out.push_str(key);
    out.push_str(": ");
    scalar(out, value);
    out.push('\n');
}

/// The longest key written as an implicit `k: v` key: YAML limits those
/// to 1024 characters (quotes included), and libyaml, go-yaml and PyYAML
/// enforce it.
const MAX_IMPLICIT_KEY: usize = 1000;

/// `key:` and a string-to-string mapping below it.
pub(crate) fn mapping(out: &mut String, indent: &str, key: &str, m: &BTreeMap<String, String>) {
    out.push_str(indent);
    out.push_str(key);
    if m.is_empty() {
        out.push_str(": {}\n");
        return;
    }
    out.push_str(":\n");
    let inner = format!("{indent}  ");
    for (k, v) in m {
        out.push_str(&inner);
        let start = out.len();
        scalar(out, k);
        if out[start..].chars().count() > MAX_IMPLICIT_KEY {
            // Too long for an implicit key: an explicit one (`? k` / `: v`).
            let key = out.split_off(start);
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            out.push_str(&inner);
        }
        out.push_str(": ");
        scalar(out, v);
        out.push('\n');
    }
}

/// `groups:` at `indent` (a list, items not indented past the key, as
/// serde_yaml_ng writes them).
pub fn groups(out: &mut String, indent: &str, groups: &[Group]) {
    out.push_str(indent);
    if groups.is_empty() {
        out.push_str("groups: []\n");
        return;
    }
    out.push_str("groups:\n");
    let item = format!("{indent}  ");
    for g in groups {
        out.push_str(indent);
        out.push_str("- ");
        out.push_str("name: ");
        scalar(out, &g.name);
        out.push('\n');
        entry(out, &item, "interval", &g.interval);
        if let Some(t) = g.datasource_type {
            entry(out, &item, "type", t);
        }
        if let Some(p) = &g.partial_response_strategy {
            entry(out, &item, "partial_response_strategy", p);
        }
        out.push_str(&item);
        if g.rules.is_empty() {
            out.push_str("rules: []\n");
            continue;
        }
        out.push_str("rules:\n");
        let field = format!("{item}  ");
        for r in &g.rules {
            out.push_str(&item);
            out.push_str("- ");
            match r {
                Rule::Record(rec) => {
                    out.push_str("record: ");
                    scalar(out, &rec.record.name());
                    out.push('\n');
                    entry(out, &field, "expr", &rec.expr);
                    if !rec.labels.is_empty() {
                        mapping(out, &field, "labels", &rec.labels);
                    }
                }
                Rule::Alert(a) => {
                    out.push_str("alert: ");
                    scalar(out, &a.alert);
                    out.push('\n');
                    entry(out, &field, "expr", &a.expr);
                    if let Some(f) = &a.for_ {
                        entry(out, &field, "for", &f.to_string());
                    }
                    if let Some(k) = &a.keep_firing_for {
                        entry(out, &field, "keep_firing_for", &k.to_string());
                    }
                    mapping(out, &field, "labels", &a.labels);
                    mapping(out, &field, "annotations", &a.annotations);
                }
            }
        }
    }
}

/// A YAML document (`---` and a block node), in the style serde_yaml_ng
/// writes, every string through [`scalar`]: the OpenSLO export's writer.
pub fn document(out: &mut String, v: &serde_yaml_ng::Value) {
    out.push_str("---\n");
    match v {
        serde_yaml_ng::Value::Mapping(m) if !m.is_empty() => map(out, "", m, false),
        serde_yaml_ng::Value::Sequence(s) if !s.is_empty() => seq(out, "", s, false),
        v => {
            leaf(out, v);
            out.push('\n');
        }
    }
}

/// A scalar or an empty collection, inline.
fn leaf(out: &mut String, v: &serde_yaml_ng::Value) {
    use serde_yaml_ng::Value;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => scalar(out, s),
        Value::Mapping(_) => out.push_str("{}"),
        Value::Sequence(_) => out.push_str("[]"),
        Value::Tagged(t) => {
            let _ = write!(out, "{} ", t.tag);
            leaf(out, &t.value);
        }
    }
}

fn is_block(v: &serde_yaml_ng::Value) -> bool {
    match v {
        serde_yaml_ng::Value::Mapping(m) => !m.is_empty(),
        serde_yaml_ng::Value::Sequence(s) => !s.is_empty(),
        _ => false,
    }
}

/// A block mapping at `indent`; `inline`: its first key follows a `- `
/// already written.
fn map(out: &mut String, indent: &str, m: &serde_yaml_ng::Mapping, inline: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline {
            out.push_str(indent);
        }
        leaf(out, k);
        out.push(':');
        match v {
            serde_yaml_ng::Value::Mapping(m) if !m.is_empty() => {
                out.push('\n');
                map(out, &format!("{indent}  "), m, false);
            }
            serde_yaml_ng::Value::Sequence(s) if !s.is_empty() => {
                out.push('\n');
                seq(out, indent, s, false);
            }
            v => {
                out.push(' ');
                leaf(out, v);
                out.push('\n');
            }
        }
    }
}

/// A block sequence at `indent` (`- ` items).
fn seq(out: &mut String, indent: &str, s: &[serde_yaml_ng::Value], inline: bool) {
    let inner = format!("{indent}  ");
    for (i, v) in s.iter().enumerate() {
        if i > 0 || !inline {
            out.push_str(indent);
        }
        out.push_str("- ");
        match v {
            serde_yaml_ng::Value::Mapping(m) if is_block(v) => map(out, &inner, m, true),
            serde_yaml_ng::Value::Sequence(s) if is_block(v) => seq(out, &inner, s, true),
            v => {
                leaf(out, v);
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back() {
        for s in [
            "",
            "a",
            "1",
            "1.5",
            "1e3",
            "0x1F",
            "1:20",
            "yes",
            "No",
            "null",
            "~",
            "-a",
            "a: b",
            "a #b",
            "a:",
            "'q'",
            "\"q\"",
            "line\nbreak",
            "tab\there",
            " lead",
            "trail ",
            "ü😀",
            "{{ $value }}",
            "- x",
            "sum(rate(x{a=\"b\"}[5m]))",
            "28d",
            "+Inf",
            ".nan",
            "0b101",
            "0o17",
            "-0x1f",
            "1_000",
            "+.5",
            "1d",
            "@x",
            "%x",
            "\u{85}",
            "a\u{2028}b",
        ] {
            let mut out = String::from("k: ");
            scalar(&mut out, s);
            let v: BTreeMap<String, String> = serde_yaml_ng::from_str(&out).unwrap_or_else(|e| panic!("{out:?}: {e}"));
            assert_eq!(v["k"], s, "{out:?}");
        }
    }
}
