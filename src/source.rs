//! Source files and spans.
//!
//! Every AST and IR node carries a [`Span`]: a byte range plus the id of the
//! file it came from. Spans hold ids, not text; the text lives in the
//! [`SourceMap`] and is attached only at the edge (the CLI and the test
//! renderer), so the compiler core never does I/O.

use serde::Serialize;

/// Index of a file in the [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct SourceId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span { source, start: start as u32, end: end as u32 }
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}..{}", self.source.0, self.start, self.end)
    }
}

/// Spans serialize as `"start..end"`: stable in snapshots, short to read.
impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}..{}", self.start, self.end))
    }
}

/// Where a file came from: the user's project or the embedded stdlib.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Origin {
    User,
    Stdlib,
}

#[derive(Debug, Clone)]
pub struct Source {
    /// Display name: a path relative to the project root, or `std/alerting.slo`.
    pub name: String,
    pub text: String,
    pub origin: Origin,
    /// Byte offsets at which lines start, for line/column lookups.
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>, origin: Origin) -> Source {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { name: name.into(), text, origin, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

/// All files of one compilation, user files and stdlib alike.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<Source>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }
    pub fn add(&mut self, source: Source) -> SourceId {
        self.files.push(source);
        SourceId((self.files.len() - 1) as u32)
    }
    pub fn get(&self, id: SourceId) -> &Source {
        &self.files[id.0 as usize]
    }
    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}
