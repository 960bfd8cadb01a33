//! A YAML writer for the one shape rule files have.
//!
//! serde_yaml_ng's emitter (libyaml) took 44% of `slo compile` on 10,000
//! SLOs, for output whose shape is fixed: mappings of known keys, lists of
//! rules, string scalars. This writer emits the same block style directly.
//! Scalars are written plain only when no YAML 1.1 or 1.2 parser could
//! read them as anything but that string (Prometheus reads rule files with
//! go-yaml, where `yes`, `1`, `1e3` and `1:20` are not strings); otherwise
//! single-quoted, or double-quoted with escapes when they hold line breaks
//! or control characters. Tests parse the output with serde_yaml_ng and
//! compare it with serde's own serialization, adversarial strings included.

use super::rules::{Group, Rule};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Whether `s` may be written as a plain scalar and read back as `s`.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) || s.ends_with(':') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.contains(": ")
        || s.contains(" #")
        || s.chars().any(|c| {
            c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
        })
    {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | ".inf" | "-.inf" | "+.inf" | ".nan"
    ) {
        return false;
    }
    // Anything a YAML 1.1 resolver might take for a number (ints, floats,
    // hex, octal, binary, sexagesimal, with `_` separators).
    let unsigned = s.trim_start_matches(['+', '-']);
    let based = |prefix: &str, digit: fn(char) -> bool| {
        unsigned.strip_prefix(prefix).is_some_and(|d| d.chars().all(|c| digit(c) || c == '_'))
    };
    let decimalish = |c: char| c.is_ascii_digit() || "_.:eE+-".contains(c);
    let numeric = (first.is_ascii_digit() || "+-.".contains(first))
        && (based("0x", |c| c.is_ascii_hexdigit())
            || based("0o", |c| ('0'..='7').contains(&c))
            || based("0b", |c| c == '0' || c == '1')
            || s.chars().all(decimalish));
    !numeric
}

/// Appends `s` as a YAML scalar.
pub fn scalar(out: &mut String, s: &str) {
    if plain_ok(s) {
        out.push_str(s);
    } else if !s.chars().any(|c| {
        c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
    }) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
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
                c if c.is_control()
                    || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') =>
                {
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

/// `key:` and a string-to-string mapping below it.
pub fn mapping(out: &mut String, indent: &str, key: &str, m: &BTreeMap<String, String>) {
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
        scalar(out, k);
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
                    scalar(out, &rec.record);
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
                        entry(out, &field, "for", f);
                    }
                    if let Some(k) = &a.keep_firing_for {
                        entry(out, &field, "keep_firing_for", k);
                    }
                    mapping(out, &field, "labels", &a.labels);
                    mapping(out, &field, "annotations", &a.annotations);
                }
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
