//! Positions: LSP's (line, UTF-16 code unit) ↔ the byte offsets every span
//! holds, and edits of an open buffer.
//!
//! LSP counts a line's characters in UTF-16 code units (an emoji is two, an
//! `é` one, while it is two bytes) and ends lines at `\n`, `\r\n` or `\r`.
//! A position past the end of its line means the line's end; a line past
//! the last means the end of the text; a position inside a surrogate pair
//! or a `\r\n` is moved back to the character's start. No input panics.

use lsp_types::{Position, Range};

/// Where each line of a text starts.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if b.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex { starts, len: text.len() }
    }

    /// The byte range of line `line`'s content (without its line ending).
    fn line_content(&self, text: &str, line: usize) -> (usize, usize) {
        let start = self.starts[line];
        let mut end = self.starts.get(line + 1).copied().unwrap_or(self.len);
        let b = text.as_bytes();
        if end > start && b.get(end - 1) == Some(&b'\n') {
            end -= 1;
        }
        if end > start && b.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        (start, end)
    }

    /// The byte offset of an LSP position in `text` (which this index was built on).
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let line = pos.line as usize;
        if line >= self.starts.len() {
            return self.len;
        }
        let (start, end) = self.line_content(text, line);
        let mut units = 0u32;
        for (i, ch) in text[start..end].char_indices() {
            let w = ch.len_utf16() as u32;
            if units + w > pos.character {
                return start + i;
            }
            units += w;
        }
        end
    }

    /// The LSP position of a byte offset (clamped to the text, moved back to a character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len);
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let (start, end) = self.line_content(text, line);
        let upto = offset.min(end);
        let character: usize = text[start..upto].chars().map(char::len_utf16).sum();
        Position { line: line as u32, character: character as u32 }
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range { start: self.position(text, start), end: self.position(text, end.max(start)) }
    }

    /// The number of lines (a text ending in a line break has an empty last line).
    pub fn lines(&self) -> usize {
        self.starts.len()
    }
}

/// Applies one `didChange` content change: `range` replaced by `new`, or
/// the whole text when there is no range. A reversed range is taken in order.
pub fn apply_change(text: &mut String, range: Option<Range>, new: &str) {
    match range {
        None => *text = new.to_string(),
        Some(r) => {
            let idx = LineIndex::new(text);
            let a = idx.offset(text, r.start);
            let b = idx.offset(text, r.end);
            let (a, b) = (a.min(b), a.max(b));
            text.replace_range(a..b, new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn utf16_columns_and_crlf() {
        let t = "a😀b\r\né=1\rx\n";
        let i = LineIndex::new(t);
        assert_eq!(i.lines(), 4);
        assert_eq!(i.offset(t, pos(0, 0)), 0);
        assert_eq!(i.offset(t, pos(0, 1)), 1);
        assert_eq!(i.offset(t, pos(0, 2)), 1, "inside the surrogate pair: the emoji's start");
        assert_eq!(i.offset(t, pos(0, 3)), 5);
        assert_eq!(i.offset(t, pos(0, 4)), 6, "line end, before \\r\\n");
        assert_eq!(i.offset(t, pos(0, 99)), 6);
        assert_eq!(i.offset(t, pos(1, 1)), 10, "é is two bytes, one unit");
        assert_eq!(i.offset(t, pos(2, 0)), 13, "a lone \\r ends a line");
        assert_eq!(i.offset(t, pos(3, 0)), t.len());
        assert_eq!(i.offset(t, pos(9, 9)), t.len());
        assert_eq!(i.position(t, 5), pos(0, 3));
        assert_eq!(i.position(t, 7), pos(0, 4), "inside \\r\\n: the line's end");
        assert_eq!(i.position(t, 10), pos(1, 1));
        assert_eq!(i.position(t, 2), pos(0, 1), "inside the emoji's bytes: its start");
        assert_eq!(i.position(t, 999), pos(3, 0));
        for off in 0..=t.len() {
            if t.is_char_boundary(off) && !matches!(t.as_bytes().get(off.wrapping_sub(1)), Some(b'\r')) {
                assert_eq!(i.offset(t, i.position(t, off)), off, "round trip at {off}");
            }
        }
    }

    #[test]
    fn edits() {
        let mut t = "héllo\r\nwörld".to_string();
        apply_change(&mut t, Some(Range { start: pos(1, 1), end: pos(1, 2) }), "o");
        assert_eq!(t, "héllo\r\nworld");
        apply_change(&mut t, Some(Range { start: pos(0, 5), end: pos(1, 0) }), " ");
        assert_eq!(t, "héllo world");
        apply_change(&mut t, Some(Range { start: pos(7, 0), end: pos(0, 0) }), "");
        assert_eq!(t, "");
        apply_change(&mut t, None, "new");
        assert_eq!(t, "new");
    }
}
