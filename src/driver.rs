//! The I/O edge of the front end: finds `.slo` files, reads them, parses
//! them, and follows imports (stdlib modules come from [`crate::stdlib`]).
//! Everything below this module is pure.
//!
//! Errors in the user's *sources* (an import that names a missing file, a
//! file that is not UTF-8, a syntax error) are diagnostics; failing to read
//! a path given on the command line is an [`IoError`] (exit code 2).

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir;
use crate::sema::{self, error, Module};
use crate::source::{Origin, Source, SourceId, SourceMap, Span};
use crate::stdlib;
use crate::syntax::{self, ast};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// A problem outside the user's sources that ends the run with exit code 2:
/// a path that cannot be read or written, a bad flag, a refusal to touch a
/// file that is not slo's. Like a [`Diagnostic`] it has a stable code and,
/// where there is one, help that says what to do.
#[derive(Debug)]
pub struct IoError {
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
}

impl IoError {
    /// An I/O failure (`slo::io`): the message names the path and the OS error.
    pub fn new(message: impl Into<String>) -> IoError {
        IoError { code: "slo::io", message: message.into(), help: None }
    }
    /// A problem with its own stable code and help.
    pub fn coded(code: &'static str, message: impl Into<String>, help: impl Into<String>) -> IoError {
        IoError { code, message: message.into(), help: Some(help.into()) }
    }
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

/// Everything one compilation read, and what the front end made of it.
pub struct Loaded {
    pub sources: SourceMap,
    pub modules: Vec<Module>,
    pub diags: Diagnostics,
    /// Files whose parse failed (so later stages know the catalogue is partial).
    pub broken: Vec<SourceId>,
}

/// Expands the command line's paths: files as given, directories to every
/// `*.slo` below them (sorted, hidden directories and `target/` skipped).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, IoError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| IoError::new(format!("cannot read {}: {e}", p.display())))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), IoError> {
    let rd = std::fs::read_dir(dir).map_err(|e| IoError::new(format!("cannot list {}: {e}", dir.display())))?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if e.is_dir() {
            walk(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "slo") {
            out.push(e);
        }
    }
    Ok(())
}

/// Removes `.` and `..` lexically (no symlinks followed).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        normalize(p)
    } else {
        normalize(&std::env::current_dir().unwrap_or_default().join(p))
    }
}

struct Loader {
    root: PathBuf,
    /// Sources given as strings (tests, fuzzing): relative imports resolve
    /// among them by name, never on disk.
    in_memory: bool,
    sources: SourceMap,
    modules: Vec<Module>,
    diags: Diagnostics,
    broken: Vec<SourceId>,
    by_key: HashMap<String, usize>,
}

impl Loader {
    fn display(&self, abs: &Path) -> String {
        abs.strip_prefix(&self.root).map(|r| r.display().to_string()).unwrap_or_else(|_| abs.display().to_string())
    }

    fn add(&mut self, key: String, name: String, text: String, origin: Origin, root: bool) -> usize {
        let id = self.sources.add(Source::new(name.clone(), text, origin));
        let text = &self.sources.get(id).text;
        let file = match syntax::parse(id, text) {
            Ok(f) => f,
            Err(ds) => {
                self.diags.extend(ds);
                self.broken.push(id);
                ast::File { items: vec![], span: Span::new(id, 0, 0) }
            }
        };
        let idx = self.modules.len();
        self.modules.push(Module { source: id, name, file, imports: vec![], root });
        self.by_key.insert(key, idx);
        idx
    }

    fn load_file(&mut self, abs: &Path, root: bool) -> Result<usize, String> {
        let key = abs.display().to_string();
        if let Some(&i) = self.by_key.get(&key) {
            if root {
                self.modules[i].root = true;
            }
            return Ok(i);
        }
        let bytes = std::fs::read(abs).map_err(|e| e.to_string())?;
        let name = self.display(abs);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let off = e.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = self.sources.add(Source::new(name.clone(), lossy, Origin::User));
                self.diags.push(syntax::error::not_utf8(Span::new(id, off, off + 1)));
                self.broken.push(id);
                let idx = self.modules.len();
                self.modules.push(Module {
                    source: id,
                    name,
                    file: ast::File { items: vec![], span: Span::new(id, 0, 0) },
                    imports: vec![],
                    root,
                });
                self.by_key.insert(key, idx);
                return Ok(idx);
            }
        };
        Ok(self.add(key, name, text, Origin::User, root))
    }

    fn load_std(&mut self, name: &str) -> Option<usize> {
        let key = format!("std.{name}");
        if let Some(&i) = self.by_key.get(&key) {
            return Some(i);
        }
        let text = stdlib::module(name)?;
        let idx = self.add(key.clone(), key, text.to_string(), Origin::Stdlib, false);
        // display name for diagnostics: std/alerting.slo
        Some(idx)
    }

    /// Resolves the imports of module `mi`, loading what they name.
    fn resolve_imports(&mut self, mi: usize) {
        let imports: Vec<ast::Import> = self.modules[mi]
            .file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Import(imp) => Some(imp.clone()),
                _ => None,
            })
            .collect();
        let origin = self.sources.get(self.modules[mi].source).origin;
        let mut targets = Vec::new();
        for imp in &imports {
            let t = match &imp.source {
                ast::ImportSource::Std(parts, span) => {
                    let name = parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(".");
                    match self.load_std(&name) {
                        Some(t) => Some(t),
                        None => {
                            let names: Vec<&str> = stdlib::MODULES.iter().map(|(n, _)| *n).collect();
                            self.diags.push(error::unknown_module(*span, &name, &names));
                            None
                        }
                    }
                }
                ast::ImportSource::File(s) => {
                    if origin == Origin::Stdlib {
                        self.diags.push(error::import_not_found(
                            s.span,
                            &s.value,
                            "stdlib modules import only std modules",
                        ));
                        None
                    } else {
                        self.import_file(mi, s)
                    }
                }
            };
            targets.push(t);
        }
        self.modules[mi].imports = targets;
    }

    fn import_file(&mut self, mi: usize, s: &ast::StrLit) -> Option<usize> {
        let rel = Path::new(&s.value);
        if rel.is_absolute() || s.value.is_empty() {
            self.diags.push(
                error::import_escapes(s.span, &s.value)
                    .with_help("write the path relative to the importing file, e.g. \"./lib/common.slo\""),
            );
            return None;
        }
        let here = self.sources.get(self.modules[mi].source).name.clone();
        if self.in_memory {
            let target = normalize(&Path::new("/").join(&here).parent().unwrap_or(Path::new("/")).join(rel));
            return match self.by_key.get(&target.display().to_string()) {
                Some(&t) => Some(t),
                None => {
                    self.diags.push(error::import_not_found(s.span, &s.value, "no such file"));
                    None
                }
            };
        }
        let base = absolute(&self.root.join(&here));
        let dir = base.parent().map(Path::to_path_buf).unwrap_or_default();
        let target = normalize(&dir.join(rel));
        // Lexically inside is not enough: a symlink may point outside.
        let real_root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let escapes = !target.starts_with(&self.root)
            || std::fs::canonicalize(&target).is_ok_and(|real| !real.starts_with(&real_root));
        if escapes {
            self.diags.push(error::import_escapes(s.span, &s.value));
            return None;
        }
        match self.load_file(&target, false) {
            Ok(t) => Some(t),
            Err(why) => {
                self.diags.push(error::import_not_found(s.span, &s.value, &why));
                None
            }
        }
    }
}

/// Reads `files` (already expanded) and everything they import, relative
/// to the project `root`.
pub fn load(files: &[PathBuf], root: &Path) -> Result<Loaded, IoError> {
    let mut l = Loader {
        root: absolute(root),
        in_memory: false,
        sources: SourceMap::new(),
        modules: vec![],
        diags: Diagnostics::default(),
        broken: vec![],
        by_key: HashMap::new(),
    };
    for f in files {
        let abs = absolute(f);
        l.load_file(&abs, true).map_err(|e| IoError::new(format!("cannot read {}: {e}", f.display())))?;
    }
    let mut i = 0;
    while i < l.modules.len() {
        l.resolve_imports(i);
        i += 1;
    }
    Ok(Loaded { sources: l.sources, modules: l.modules, diags: l.diags, broken: l.broken })
}

/// Loads in-memory sources (tests, the fuzzer, `stdlib` checks): `files`
/// are (name, text) pairs; relative imports resolve among them by name.
pub fn load_strs(files: &[(&str, &str)]) -> Loaded {
    let mut l = Loader {
        root: PathBuf::from("/"),
        in_memory: true,
        sources: SourceMap::new(),
        modules: vec![],
        diags: Diagnostics::default(),
        broken: vec![],
        by_key: HashMap::new(),
    };
    for (name, text) in files {
        l.add(format!("/{name}"), name.to_string(), text.to_string(), Origin::User, true);
    }
    let mut i = 0;
    while i < l.modules.len() {
        l.resolve_imports(i);
        i += 1;
    }
    Loaded { sources: l.sources, modules: l.modules, diags: l.diags, broken: l.broken }
}

/// Front end in one call: check what was loaded.
pub fn check(loaded: &Loaded) -> (ir::Program, Diagnostics) {
    let (program, mut diags) = sema::check(&loaded.sources, &loaded.modules);
    let mut all = loaded.diags.clone();
    all.extend(std::mem::take(&mut diags.0));
    if !loaded.broken.is_empty() {
        // A file that did not parse contributes no declarations; names it
        // would have defined are not reported as unknown a second time.
        all.0.retain(|d: &Diagnostic| {
            !(d.code.starts_with("slo::name::unknown") || d.code == "slo::import::unknown_name")
                || loaded.broken.contains(&d.span.source)
        });
    }
    (program, all.sorted())
}
