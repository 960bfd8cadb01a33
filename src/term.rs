//! Text on its way to a terminal: the one place that neutralises control
//! characters and the one writer for stdout and stderr.
//!
//! Sources, data label values and file names are user text; printed raw,
//! an ESC starts a terminal escape sequence (window titles, OSC 52
//! clipboard writes, colours, cursor moves) and a bidi override reorders
//! what the reader sees. Everything that reaches a terminal as human text
//! goes through [`sanitize`] (or, for the source snippets miette draws,
//! [`same_len`], which keeps byte offsets, hence spans, valid). Documents
//! (JSON, YAML, completions) are escaped by their serializers; JSON also
//! goes through [`json_safe`], because serde_json writes DEL, C1 and bidi
//! controls raw.
//!
//! Dangerous characters: C0 controls except `\n` and `\t` (a `\r` is kept
//! only as the first half of `\r\n`), DEL, C1 (U+0080–U+009F), and the bidi
//! embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
//!
//! A closed stdout or stderr (`slo … | head`) is not an error of the
//! program: [`out`] and [`err`] end the process quietly with status 141,
//! what a shell reports for a process killed by SIGPIPE, so pipelines under
//! `set -o pipefail` still see that the output was cut short. `println!`
//! would panic there instead.

use std::borrow::Cow;
use std::io::Write;

/// The exit status after a closed stdout or stderr: 128 + SIGPIPE.
pub(crate) const BROKEN_PIPE_EXIT: i32 = 141;

/// Whether `c` must not reach a terminal raw.
pub(crate) fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn keep_cr(s: &str, i: usize) -> bool {
    s.as_bytes().get(i + 1) == Some(&b'\n')
}

/// `s` with every dangerous character written as a visible escape: `\x1b`
/// for C0 and DEL, `\u{9b}` for C1 and bidi controls (a lone `\r` is `\r`).
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.char_indices().any(|(i, c)| is_dangerous(c) && !(c == '\r' && keep_cr(s, i))) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, c) in s.char_indices() {
        if !is_dangerous(c) || (c == '\r' && keep_cr(s, i)) {
            out.push(c);
        } else if c == '\r' {
            out.push_str("\\r");
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// `s` with every dangerous character replaced by a visible one of the same
/// UTF-8 length (`?` for C0 and DEL, `¿` for C1, `�` for bidi controls), so
/// byte offsets into `s` stay valid: for source text under spans.
pub(crate) fn same_len(s: &str) -> Cow<'_, str> {
    if !s.char_indices().any(|(i, c)| is_dangerous(c) && !(c == '\r' && keep_cr(s, i))) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if !is_dangerous(c) || (c == '\r' && keep_cr(s, i)) {
            out.push(c);
        } else {
            let r = match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => '\u{fffd}',
            };
            debug_assert_eq!(r.len_utf8(), c.len_utf8());
            out.push(r);
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with DEL, C1 and bidi controls written as `\uXXXX`
/// escapes (the same document: they can only occur inside strings).
pub fn json_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_dangerous) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `text` to stdout as it is (a document or text already made
/// safe); a closed stdout ends the process quietly (status 141).
pub fn out_raw(text: &str) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        fail(e, "stdout");
    }
}

/// Writes human text to stdout through [`sanitize`].
pub fn out(text: &str) {
    out_raw(&sanitize(text));
}

/// Writes human text to stderr through [`sanitize`]; a closed stderr ends
/// the process quietly (status 141).
pub fn err(text: &str) {
    err_raw(&sanitize(text));
}

/// Writes to stderr as it is (miette's coloured rendering of sanitized parts).
pub fn err_raw(text: &str) {
    let mut o = std::io::stderr().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        fail(e, "stderr");
    }
}

fn fail(e: std::io::Error, stream: &str) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(BROKEN_PIPE_EXIT);
    }
    // Nothing sensible can be printed on a stream that fails; try the other.
    let _ = writeln!(std::io::stderr(), "error[slo::io]: cannot write to {stream}: {e}");
    std::process::exit(2);
}

/// `print!` through [`out`].
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::term::out(&format!($($t)*)) };
}
/// `println!` through [`out`].
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::term::out(&(format!($($t)*) + "\n")) };
}
/// `eprint!` through [`err`].
#[macro_export]
macro_rules! errout {
    ($($t:tt)*) => { $crate::term::err(&format!($($t)*)) };
}
/// `eprintln!` through [`err`].
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => { $crate::term::err(&(format!($($t)*) + "\n")) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(sanitize("a\x1b]52;c;x\x07b\n\tc"), "a\\x1b]52;c;x\\x07b\n\tc");
        assert_eq!(sanitize("x\r\ny\rz"), "x\r\ny\\rz");
        assert_eq!(sanitize("\u{9b}\u{202e}é"), "\\u{9b}\\u{202e}é");
        assert!(matches!(sanitize("plain ü"), Cow::Borrowed(_)));
    }

    #[test]
    fn same_length() {
        for s in ["a\x1bb", "\u{85}x", "\u{2067}\u{202a}", "\r\n\r"] {
            let t = same_len(s);
            assert_eq!(t.len(), s.len());
            assert!(!t.chars().any(|c| is_dangerous(c) && c != '\r'), "{t:?}");
        }
    }

    #[test]
    fn json() {
        let j = serde_json::to_string("a\x1b\u{7f}\u{85}\u{202e}").unwrap();
        let safe = json_safe(&j);
        assert!(!safe.chars().any(is_dangerous));
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "a\x1b\u{7f}\u{85}\u{202e}");
    }
}
