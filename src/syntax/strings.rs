//! String literals: Go/PromQL escapes in `"…"` and `'…'`, none in `` `…` ``.
//!
//! PromQL strings follow Go's rules (`strconv.Unquote`): `\a \b \f \n \r \t
//! \v \\ \' \"`, octal `\NNN`, `\xHH`, `\uHHHH`, `\UHHHHHHHH`. We accept the
//! same set everywhere in `.slo` so a matcher copied from PromQL means the
//! same thing here. An invalid escape is reported at its own span.

/// A bad escape: byte offsets relative to the literal's start and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EscapeError {
    pub start: usize,
    pub end: usize,
    pub reason: String,
}

/// Unescapes a literal including its quotes.
pub(crate) fn unescape(raw: &str) -> Result<String, Vec<EscapeError>> {
    let quote = raw.chars().next().unwrap_or('"');
    let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
    if quote == '`' {
        return Ok(inner.to_string());
    }
    let mut out = String::with_capacity(inner.len());
    let mut errors = Vec::new();
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i..].chars().next().unwrap_or('\0');
        if c != '\\' {
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let start = i + 1; // +1 for the opening quote
        let Some(e) = inner[i + 1..].chars().next() else {
            errors.push(EscapeError { start, end: start + 1, reason: "a backslash ends the string".into() });
            break;
        };
        i += 1 + e.len_utf8();
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '\'' | '"' if e == quote => Some(e),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let hex = |n: usize, i: &mut usize, errors: &mut Vec<EscapeError>| -> Option<u32> {
            let digits = inner.get(*i..*i + n).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
            match digits {
                Some(d) => {
                    *i += n;
                    u32::from_str_radix(d, 16).ok()
                }
                None => {
                    errors.push(EscapeError {
                        start,
                        end: (*i + 1).min(inner.len()) + 1,
                        reason: format!("`\\{e}` needs {n} hexadecimal digits"),
                    });
                    None
                }
            }
        };
        match e {
            'x' => {
                if let Some(v) = hex(2, &mut i, &mut errors) {
                    if v < 0x80 {
                        out.push(v as u8 as char);
                    } else {
                        errors.push(EscapeError {
                            start,
                            end: i + 1,
                            reason: "`\\x` above 7f would be a raw byte, not UTF-8 text".into(),
                        });
                    }
                }
            }
            'u' | 'U' => {
                let n = if e == 'u' { 4 } else { 8 };
                if let Some(v) = hex(n, &mut i, &mut errors) {
                    match char::from_u32(v) {
                        Some(ch) => out.push(ch),
                        None => errors.push(EscapeError {
                            start,
                            end: i + 1,
                            reason: format!("U+{v:X} is not a Unicode scalar value"),
                        }),
                    }
                }
            }
            '0'..='7' => {
                let digits = inner.get(i - 1..i + 2).filter(|d| d.bytes().all(|b| (b'0'..=b'7').contains(&b)));
                match digits.and_then(|d| u32::from_str_radix(d, 8).ok()) {
                    Some(v) if v < 0x80 => {
                        out.push(v as u8 as char);
                        i += 2;
                    }
                    _ => errors.push(EscapeError {
                        start,
                        end: (i + 2).min(bytes.len()) + 1,
                        reason: "an octal escape needs three digits 000–177".into(),
                    }),
                }
            }
            _ => errors.push(EscapeError {
                start,
                end: i + 1,
                reason: format!("`\\{e}` is not an escape in this string"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Writes `s` as a double-quoted literal that [`unescape`] reads back, and
/// that PromQL and Go read back too.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            // C1 and bidi controls, as Go's strconv.Quote does: invisible or
            // reordering text, never written raw.
            c if crate::term::is_dangerous(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#""a\"b\\c\n\x41\u00e9\U0001F600\101""#).unwrap(), "a\"b\\c\nAé😀A");
        assert_eq!(unescape(r"'it\'s'").unwrap(), "it's");
        assert_eq!(unescape(r"`raw\n`").unwrap(), "raw\\n");
        assert!(unescape(r#""\q""#).is_err());
        assert!(unescape(r#""\x4""#).is_err());
        assert!(unescape(r#""\uD800""#).is_err());
        assert!(unescape(r#""\'""#).is_err());
    }

    #[test]
    fn quote_round_trips() {
        for s in ["", "plain", "q\"uo\\te", "line\nbreak\ttab", "\u{1}ctl", "ünï😀", "{{ $labels }}"] {
            assert_eq!(unescape(&quote(s)).unwrap(), s);
        }
    }
}
