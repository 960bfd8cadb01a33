//! A small lexer that knows just enough (strings and comments) to find the
//! `//` comments pest skips, and to measure bracket nesting before parsing.

/// A `//` comment: byte range of the whole comment, text without `//`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Calls `on_code(offset, byte)` for every byte outside strings and comments
/// and `on_comment` for every comment.
fn scan(text: &str, mut on_code: impl FnMut(usize, u8) -> bool, mut on_comment: impl FnMut(Comment)) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' && q != b'`' {
                        i += 1;
                    } else if b[i] == b'\n' && q != b'`' {
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                let body = text.get(start + 2..i).unwrap_or("");
                on_comment(Comment { start, end: i, text: body.trim_end().to_string() });
            }
            c => {
                if !on_code(i, c) {
                    return;
                }
                i += 1;
            }
        }
    }
}

/// Every comment of the file, in order.
pub fn comments(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    scan(text, |_, _| true, |c| out.push(c));
    out
}

/// Splits a file into chunks that each hold whole top-level declarations:
/// a cut follows every `}` that closes the outermost level. Strings and
/// comments are skipped, so a brace inside them never cuts.
/// The doc comment of a declaration starting at byte `at`: the `//` lines
/// right above it (no blank line between), without their `//` and one
/// space, in order. Whatever precedes the declaration on its own line
/// (indentation) is not a line above it.
pub fn doc_lines(text: &str, at: usize) -> Vec<&str> {
    let before = &text[..at.min(text.len())];
    let mut lines: Vec<&str> = Vec::new();
    for l in before.lines().rev().skip(usize::from(!before.is_empty() && !before.ends_with('\n'))) {
        match l.trim().strip_prefix("//") {
            Some(c) => lines.push(c.strip_prefix(' ').unwrap_or(c)),
            None => break,
        }
    }
    lines.reverse();
    lines
}

pub(crate) fn top_level_chunks(text: &str) -> Vec<(usize, usize)> {
    let mut cuts = vec![0];
    let mut depth = 0usize;
    scan(
        text,
        |i, c| {
            match c {
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' | b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && c == b'}' && starts_declaration(text, i + 1) {
                        cuts.push(i + 1);
                    }
                }
                _ => {}
            }
            true
        },
        |_| {},
    );
    if *cuts.last().unwrap() != text.len() {
        cuts.push(text.len());
    }
    cuts.windows(2).map(|w| (w[0], w[1])).filter(|(a, b)| a < b || text.is_empty()).collect()
}

/// Whether what follows `at` (after whitespace and comments) is the end of
/// the file or a declaration keyword, so that a cut there cannot split a
/// declaration (`import std.x.{a} as b` goes on after its `}`).
fn starts_declaration(text: &str, at: usize) -> bool {
    let mut rest = &text[at..];
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |n| &r[n..]);
        } else {
            break;
        }
    }
    if rest.is_empty() {
        return true;
    }
    ["import", "service", "slo", "template", "alerts", "policy"]
        .iter()
        .any(|k| rest.strip_prefix(k).is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')))
}

/// Offset of the first bracket that nests deeper than `limit`, if any.
pub(crate) fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut found = None;
    scan(
        text,
        |i, c| {
            match c {
                b'{' | b'[' | b'(' => {
                    depth += 1;
                    if depth > limit {
                        found = Some(i);
                        return false;
                    }
                }
                b'}' | b']' | b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            true
        },
        |_| {},
    );
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_strings() {
        let src = "a = \"https://x\" // real\n// own line\nb = `//raw`";
        let cs = comments(src);
        assert_eq!(cs.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), [" real", " own line"]);
    }

    #[test]
    fn chunks_end_only_where_a_declaration_starts() {
        let text = "import std.a.{x} as y\nservice s {}\n// c\nslo a for s {} trailing";
        let cuts: Vec<&str> = top_level_chunks(text).into_iter().map(|(a, b)| &text[a..b]).collect();
        assert_eq!(cuts, ["import std.a.{x} as y\nservice s {}", "\n// c\nslo a for s {} trailing"]);
    }

    #[test]
    fn depth() {
        assert_eq!(too_deep("[[[]]]", 3), None);
        assert_eq!(too_deep("[[[[]]]]", 3), Some(3));
        assert_eq!(too_deep("\"[[[[[\"", 1), None);
    }
}
