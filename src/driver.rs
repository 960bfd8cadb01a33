//! The I/O edge of the front end: finds `.slo` files, reads them, parses
//! them, and follows imports (stdlib modules come from [`crate::stdlib`]).
//! Everything below this module is pure.
//!
//! Every file is read through [`crate::input::read`] (regular files only,
//! at most 8 MiB). The directory walk ([`expand`]) does not leave the
//! directory it was given, even through symlinks, and visits each directory
//! and file once; imports are resolved to their real path, which must stay
//! under the real project root.
//!
//! Errors in the user's *sources* (an import that names a missing file, a
//! file that is not UTF-8, a syntax error) are diagnostics; failing to read
//! a path given on the command line is an [`Error`] (exit code 2).

use crate::diag::{Diagnostic, Diagnostics};
use crate::error::Error;
use crate::input;
use crate::ir;
use crate::sema::{self, error, Module};
use crate::source::{Origin, Source, SourceId, SourceMap, Span};
use crate::stdlib;
use crate::syntax::{self, ast};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// Everything one compilation read, and what the front end made of it.
pub struct Loaded {
    pub sources: SourceMap,
    pub modules: Vec<Module>,
    pub diags: Diagnostics,
    /// Files whose parse failed (so later stages know the catalogue is partial).
    pub broken: Vec<SourceId>,
}

/// Expands the command line's paths: files as given, directories to every
/// `*.slo` below them (sorted, hidden entries and `target/` skipped).
///
/// A path named on the command line may be a symlink (the user asked for
/// it), but must lead to a regular file or a directory. Inside a directory
/// the walk follows a symlink only when its target is inside that same
/// directory: a `*.slo` link that leads out of it is an error
/// (`slo::input::symlink_escapes`), a directory link that leads out is
/// skipped, and a directory reached twice (two links to `.`, a link to a
/// parent) is walked once. A file reached under two names is listed once.
/// Only regular files are listed: a FIFO, socket or device named `*.slo` is
/// an error (`slo::input::not_a_file`), never opened.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    expand_with(paths, &["slo"])
}

/// [`expand`] for files with one of `extensions` (`slo import` reads
/// directories of `*.yml` and `*.yaml` specs so, as Sloth's `-i` does).
pub fn expand_with(paths: &[PathBuf], extensions: &'static [&'static str]) -> Result<Vec<PathBuf>, Error> {
    let mut w = Walk { seen_dirs: HashSet::new(), seen_files: HashSet::new(), out: Vec::new(), extensions };
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::new(format!("cannot read {}: {e}", p.display())))?;
        if meta.is_dir() {
            let boundary =
                std::fs::canonicalize(p).map_err(|e| Error::new(format!("cannot read {}: {e}", p.display())))?;
            w.seen_dirs.insert(input::identity(&meta, &boundary));
            w.walk(p, &boundary)?;
        } else if meta.is_file() {
            if w.seen_files.insert(input::identity(&meta, p)) {
                w.out.push(p.clone());
            }
        } else {
            return Err(input::ReadError::NotAFile { kind: input::kind(&meta.file_type()) }.into_io_error("", p));
        }
    }
    let mut out = w.out;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The state of one [`expand`]: directories walked and files listed, by identity.
struct Walk {
    seen_dirs: HashSet<(u64, u64)>,
    seen_files: HashSet<(u64, u64)>,
    out: Vec<PathBuf>,
    /// The extensions of the files listed.
    extensions: &'static [&'static str],
}

impl Walk {
    /// Lists the files with [`Walk::extensions`] under `dir`, never leaving `boundary` (a canonical path).
    fn walk(&mut self, dir: &Path, boundary: &Path) -> Result<(), Error> {
        let rd = std::fs::read_dir(dir).map_err(|e| Error::new(format!("cannot list {}: {e}", dir.display())))?;
        let mut entries: Vec<(PathBuf, Option<std::fs::FileType>)> =
            rd.filter_map(|e| e.ok().map(|e| (e.path(), e.file_type().ok()))).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (e, ft) in entries {
            let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') || name == "target" {
                continue;
            }
            let wanted = e.extension().is_some_and(|x| self.extensions.iter().any(|want| x == *want));
            let Some(ft) = ft else { continue };
            let meta = if ft.is_symlink() {
                let Ok(real) = std::fs::canonicalize(&e) else {
                    if wanted {
                        return Err(Error::new(format!("cannot read {}: the link leads nowhere", e.display())));
                    }
                    continue;
                };
                if !real.starts_with(boundary) {
                    if !wanted {
                        // A directory (or other file) outside: not part of this tree.
                        continue;
                    }
                    return Err(Error::coded(
                        SYMLINK_ESCAPES,
                        format!(
                            "{} is a symbolic link to {}, outside {}",
                            e.display(),
                            real.display(),
                            boundary.display()
                        ),
                        "the directory walk reads only files inside the directory it was given; \
                         name the target on the command line to check it, or remove the link",
                    ));
                }
                match std::fs::metadata(&real) {
                    Ok(m) => m,
                    Err(_) => continue,
                }
            } else {
                match std::fs::symlink_metadata(&e) {
                    Ok(m) => m,
                    Err(_) => continue,
                }
            };
            if meta.is_dir() {
                if self.seen_dirs.insert(input::identity(&meta, &e)) {
                    self.walk(&e, boundary)?;
                }
            } else if wanted {
                if !meta.is_file() {
                    return Err(
                        input::ReadError::NotAFile { kind: input::kind(&meta.file_type()) }.into_io_error("", &e)
                    );
                }
                if self.seen_files.insert(input::identity(&meta, &e)) {
                    self.out.push(e);
                }
            }
        }
        Ok(())
    }
}

pub(crate) const SYMLINK_ESCAPES: &str = "slo::input::symlink_escapes";
pub(crate) const SYMLINK_OUTSIDE_ROOT: &str = "slo::input::symlink_outside_root";

/// Writes a formatted source back where it came from, atomically. A
/// symlink (the file, or a directory on its path) is written through: its target is replaced (temp file + rename
/// in the target's directory) and the link stays a link, as long as the
/// target is inside `root`; a link that leads out of `root` is refused
/// (`slo::input::symlink_outside_root`), since formatting must not rewrite
/// files outside the project a link happens to point at.
pub fn write_source(path: &Path, root: &Path, bytes: &[u8]) -> Result<(), Error> {
    let real = std::fs::canonicalize(path).map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    if real == absolute(path) {
        // No link on the way (the file itself or a directory above it).
        return crate::outdir::write_atomic(path, bytes);
    }
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| absolute(root));
    if !real.starts_with(&real_root) {
        return Err(Error::coded(
            SYMLINK_OUTSIDE_ROOT,
            format!(
                "{} leads through a symbolic link to {}, outside the project root {}: not rewritten",
                path.display(),
                real.display(),
                real_root.display()
            ),
            "run `slo fmt` on the target where it lives, or replace the link with a copy",
        ));
    }
    crate::outdir::write_atomic(&real, bytes)
}

/// Removes `.` and `..` lexically (no symlinks followed).
pub(crate) fn normalize(p: &Path) -> PathBuf {
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

pub(crate) fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        normalize(p)
    } else {
        normalize(&std::env::current_dir().unwrap_or_default().join(p))
    }
}

struct Loader<'a> {
    root: PathBuf,
    /// `root` with every symlink resolved: imports must stay below it.
    real_root: PathBuf,
    /// Sources given as strings (tests, fuzzing): relative imports resolve
    /// among them by name, never on disk.
    in_memory: bool,
    /// Texts that stand in for files (the language server's unsaved
    /// buffers and its cache of the workspace), by absolute path: a file
    /// found here is not read from disk.
    overlay: Option<&'a HashMap<PathBuf, String>>,
    /// Parses of the last load, reused for files whose text did not change.
    cache: Option<&'a mut ParseCache>,
    sources: SourceMap,
    modules: Vec<Module>,
    diags: Diagnostics,
    broken: Vec<SourceId>,
    by_key: HashMap<String, usize>,
}

impl Loader<'_> {
    fn display(&self, abs: &Path) -> String {
        abs.strip_prefix(&self.root).map(|r| r.display().to_string()).unwrap_or_else(|_| abs.display().to_string())
    }

    fn add(&mut self, key: String, name: String, text: String, origin: Origin, root: bool) -> usize {
        let id = self.sources.add(Source::new(name.clone(), text, origin));
        let text = &self.sources.get(id).text;
        let parsed = match self.cache.as_deref_mut() {
            Some(cache) => cache.parse(&key, id, text),
            None => syntax::parse(id, text),
        };
        let file = match parsed {
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

    /// Loads the file at `abs` (reading it from `real`, where a symlink
    /// leads, when the caller resolved it), once per key.
    fn load_file(&mut self, abs: &Path, real: Option<&Path>, root: bool) -> Result<usize, input::ReadError> {
        let key = real.unwrap_or(abs).display().to_string();
        if let Some(&i) = self.by_key.get(&key) {
            if root {
                self.modules[i].root = true;
            }
            return Ok(i);
        }
        let name = self.display(abs);
        if let Some(text) = self.overlay.and_then(|o| o.get(abs).or_else(|| real.and_then(|r| o.get(r)))) {
            return Ok(self.add(key, name, text.clone(), Origin::User, root));
        }
        let bytes = input::read(real.unwrap_or(abs), input::MAX_FILE_BYTES)?;
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
        // Lexically inside is not enough: a symlink may point outside. The
        // file read is the resolved one that was checked.
        if !target.starts_with(&self.root) {
            self.diags.push(error::import_escapes(s.span, &s.value));
            return None;
        }
        if self.overlay.is_some_and(|o| o.contains_key(&target)) && !target.exists() {
            // An unsaved buffer with no file behind it yet.
            return self.load_file(&target, None, false).ok();
        }
        let real = match std::fs::canonicalize(&target) {
            Ok(real) => real,
            Err(e) => {
                self.diags.push(error::import_not_found(s.span, &s.value, &e.to_string()));
                return None;
            }
        };
        if !real.starts_with(&self.real_root) {
            self.diags.push(error::import_escapes(s.span, &s.value));
            return None;
        }
        match self.load_file(&target, Some(&real), false) {
            Ok(t) => Some(t),
            Err(why @ (input::ReadError::NotAFile { .. } | input::ReadError::TooLarge { .. })) => {
                self.diags.push(
                    Diagnostic::error(
                        why.code(),
                        s.span,
                        format!("cannot import \"{}\": {}", s.value, why.reason()),
                        "this import names a file slo will not read",
                    )
                    .with_help(match why {
                        input::ReadError::TooLarge { .. } => "split the imported file into smaller ones",
                        _ => "import a regular .slo file",
                    }),
                );
                None
            }
            Err(why) => {
                self.diags.push(error::import_not_found(s.span, &s.value, &why.reason()));
                None
            }
        }
    }
}

/// Reads `files` (already expanded) and everything they import, relative
/// to the project `root`.
pub fn load(files: &[PathBuf], root: &Path) -> Result<Loaded, Error> {
    load_overlay(files, root, None, None)
}

/// The parses of one load, kept for the next: a file whose text and source
/// id are the same is not parsed again (the language server loads the
/// whole project on every change; most files did not change). Parsing is
/// a pure function of the id and the text, so a hit is what a parse would give.
#[derive(Default)]
pub struct ParseCache {
    files: HashMap<String, Parsed>,
    /// Keys parsed (or reused) by the load under way.
    used: HashSet<String>,
}

/// One file's parse: for this source id and text.
struct Parsed {
    id: SourceId,
    text: String,
    result: Result<ast::File, Vec<Diagnostic>>,
}

impl ParseCache {
    fn parse(&mut self, key: &str, id: SourceId, text: &str) -> Result<ast::File, Vec<Diagnostic>> {
        self.used.insert(key.to_string());
        if let Some(p) = self.files.get(key) {
            if p.id == id && p.text == text {
                return p.result.clone();
            }
        }
        let result = syntax::parse(id, text);
        self.files.insert(key.to_string(), Parsed { id, text: text.to_string(), result: result.clone() });
        result
    }

    /// Forgets the files the last load did not read.
    fn finish(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.files.retain(|k, _| used.contains(k));
    }
}

/// [`load`], with `overlay` (absolute, normalized paths → text) standing in
/// for the files it names, on disk or not: the language server checks
/// unsaved buffers this way, over the rest of the project on disk. A file
/// in the overlay is never read; anything else is read as [`load`] reads it.
pub fn load_overlay(
    files: &[PathBuf],
    root: &Path,
    overlay: Option<&HashMap<PathBuf, String>>,
    cache: Option<&mut ParseCache>,
) -> Result<Loaded, Error> {
    let root = absolute(root);
    let mut l = Loader {
        real_root: std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone()),
        root,
        in_memory: false,
        overlay,
        cache,
        sources: SourceMap::new(),
        modules: vec![],
        diags: Diagnostics::default(),
        broken: vec![],
        by_key: HashMap::new(),
    };
    for f in files {
        let abs = absolute(f);
        // Keyed by the resolved path, as imports are: a file named here and
        // imported elsewhere (under any name) is one module.
        let real = std::fs::canonicalize(&abs).ok();
        l.load_file(&abs, real.as_deref(), true).map_err(|e| e.into_io_error("", f))?;
    }
    let mut i = 0;
    while i < l.modules.len() {
        l.resolve_imports(i);
        i += 1;
    }
    if let Some(c) = l.cache.as_deref_mut() {
        c.finish();
    }
    Ok(Loaded { sources: l.sources, modules: l.modules, diags: l.diags, broken: l.broken })
}

/// Loads in-memory sources (tests, the fuzzer, `stdlib` checks): `files`
/// are (name, text) pairs; relative imports resolve among them by name.
pub fn load_strs(files: &[(&str, &str)]) -> Loaded {
    let mut l = Loader {
        root: PathBuf::from("/"),
        real_root: PathBuf::from("/"),
        in_memory: true,
        overlay: None,
        cache: None,
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

/// The alert policy `name` (the user's, else the stdlib's) instantiated
/// with its defaults for every SLO of a checked program, as if each said
/// `alerts = name()`: the presets `slo backtest --alerts` compares. The
/// checker does it, on the loaded modules, only when asked.
pub fn preset_alerts(loaded: &Loaded, name: &str, program: &ir::Program) -> Result<Vec<Vec<ir::Alert>>, String> {
    sema::preset_alerts(&loaded.sources, &loaded.modules, name, &program.slos)
}
