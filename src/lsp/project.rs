//! The workspace the server checks: every `.slo` file under the workspace
//! folder (read from disk once, then re-read when the client says a file
//! changed on disk), with the open buffers' unsaved text laid over them,
//! loaded and checked by the same front end as `slo check`
//! ([`driver::load_overlay`], [`driver::check`]).
//!
//! An [`Analysis`] is one checked snapshot: the sources, modules, program,
//! diagnostics, the name [`Index`], and for every source its URI and line
//! index (for UTF-16 positions). Requests read the latest snapshot; a
//! change makes a new one.

use super::index::Index;
use super::text::LineIndex;
use crate::diag::Diagnostics;
use crate::driver::{self, Loaded};
use crate::ir;
use crate::sema::scope::Scope;
use crate::source::{Origin, SourceId};
use lsp_types::Url;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// An open buffer.
#[derive(Debug, Clone)]
pub struct Doc {
    pub text: String,
    pub version: i32,
    /// The URI the client opened it under (diagnostics go back under it).
    pub uri: Url,
}

pub struct Workspace {
    /// The workspace folder (imports may not leave it), as the client named it.
    pub root: PathBuf,
    /// Where the stdlib modules are written for the editor to open
    /// (read-only), if anywhere.
    pub stdlib_dir: Option<PathBuf>,
    /// Workspace files as last read from disk.
    disk: HashMap<PathBuf, String>,
    /// Open buffers, by absolute path.
    pub open: HashMap<PathBuf, Doc>,
    /// Parses of the last check, for the files that did not change since.
    cache: std::cell::RefCell<driver::ParseCache>,
}

/// One checked snapshot of the workspace.
pub struct Analysis {
    pub loaded: Loaded,
    pub program: ir::Program,
    pub diags: Diagnostics,
    pub index: Index,
    pub scopes: Vec<Scope>,
    /// By source id: its URI (none for a stdlib module with nowhere to open it) and line index.
    pub files: Vec<(Option<Url>, LineIndex)>,
    /// Module index of each source.
    pub module_of: HashMap<SourceId, usize>,
    /// The source of each path.
    by_path: HashMap<PathBuf, SourceId>,
}

impl Workspace {
    pub fn new(root: Option<PathBuf>, stdlib_dir: Option<PathBuf>) -> Workspace {
        let root = root.map(|r| driver::absolute(&r)).unwrap_or_else(|| PathBuf::from("/"));
        Workspace { root, stdlib_dir, disk: HashMap::new(), open: HashMap::new(), cache: Default::default() }
    }

    /// Reads every `.slo` file under the root (not when the root is `/`:
    /// without a workspace folder only open files are checked).
    pub fn scan(&mut self) {
        if self.root == Path::new("/") {
            return;
        }
        let Ok(files) = driver::expand(std::slice::from_ref(&self.root)) else { return };
        for f in files {
            self.refresh(&f);
        }
    }

    /// Re-reads one file from disk (or forgets it when it is gone or unreadable).
    pub fn refresh(&mut self, path: &Path) {
        let path = driver::normalize(path);
        if self.is_stdlib(&path) {
            return;
        }
        match crate::input::read(&path, crate::input::MAX_FILE_BYTES).map(String::from_utf8) {
            Ok(Ok(text)) => {
                self.disk.insert(path, text);
            }
            // Not UTF-8: left to the loader, which reports it.
            Ok(Err(_)) => {
                self.disk.remove(&path);
            }
            Err(_) => {
                self.disk.remove(&path);
            }
        }
    }

    pub fn forget(&mut self, path: &Path) {
        self.disk.remove(&driver::normalize(path));
    }

    pub fn is_stdlib(&self, path: &Path) -> bool {
        self.stdlib_dir.as_ref().is_some_and(|d| path.starts_with(d))
    }

    /// The path of a `file:` URI (normalized), if it is one.
    pub fn path_of(uri: &Url) -> Option<PathBuf> {
        if uri.scheme() != "file" {
            return None;
        }
        uri.to_file_path().ok().map(|p| driver::normalize(&p))
    }

    /// Loads and checks everything.
    pub fn analyze(&self) -> Option<Analysis> {
        let mut texts: HashMap<PathBuf, String> = self.disk.clone();
        let mut roots: BTreeSet<PathBuf> = self.disk.keys().cloned().collect();
        for (p, d) in &self.open {
            // Only .slo buffers join the project, as only .slo files join `slo check`'s walk.
            if self.is_stdlib(p) || p.extension().is_none_or(|x| x != "slo") {
                continue;
            }
            texts.insert(p.clone(), d.text.clone());
            roots.insert(p.clone());
        }
        let roots: Vec<PathBuf> = roots.into_iter().collect();
        let loaded = driver::load_overlay(&roots, &self.root, Some(&texts), Some(&mut self.cache.borrow_mut())).ok()?;
        let (program, diags) = driver::check(&loaded);
        let (index, scopes) = Index::build(&loaded.modules);
        let mut files = Vec::new();
        let mut by_path = HashMap::new();
        for id in 0..loaded.sources.len() {
            let src = loaded.sources.get(SourceId(id as u32));
            let path = match src.origin {
                Origin::User => Some(driver::normalize(&self.root.join(&src.name))),
                Origin::Stdlib => self
                    .stdlib_dir
                    .as_ref()
                    .map(|d| d.join(format!("{}.slo", src.name.strip_prefix("std.").unwrap_or(&src.name)))),
            };
            let uri = path.as_ref().and_then(|p| match self.open.get(p) {
                Some(d) => Some(d.uri.clone()),
                None => Url::from_file_path(p).ok(),
            });
            if let Some(p) = path {
                by_path.entry(p).or_insert(SourceId(id as u32));
            }
            files.push((uri, LineIndex::new(&src.text)));
        }
        let module_of = loaded.modules.iter().enumerate().map(|(i, m)| (m.source, i)).collect();
        Some(Analysis { loaded, program, diags, index, scopes, files, module_of, by_path })
    }
}

impl Analysis {
    /// The source a URI names.
    pub fn source_of(&self, uri: &Url) -> Option<SourceId> {
        self.by_path.get(&Workspace::path_of(uri)?).copied()
    }

    pub fn text(&self, id: SourceId) -> &str {
        &self.loaded.sources.get(id).text
    }

    pub fn lines(&self, id: SourceId) -> &LineIndex {
        &self.files[id.0 as usize].1
    }

    pub fn uri(&self, id: SourceId) -> Option<&Url> {
        self.files.get(id.0 as usize).and_then(|(u, _)| u.as_ref())
    }

    pub fn is_user(&self, id: SourceId) -> bool {
        self.loaded.sources.get(id).origin == Origin::User
    }

    /// The LSP range of a span.
    pub fn range(&self, span: crate::source::Span) -> lsp_types::Range {
        self.lines(span.source).range(self.text(span.source), span.start as usize, span.end as usize)
    }

    pub fn location(&self, span: crate::source::Span) -> Option<lsp_types::Location> {
        Some(lsp_types::Location { uri: self.uri(span.source)?.clone(), range: self.range(span) })
    }

    /// The module of a source, with its AST.
    pub fn module(&self, id: SourceId) -> Option<&crate::sema::Module> {
        self.module_of.get(&id).map(|&i| &self.loaded.modules[i])
    }
}
