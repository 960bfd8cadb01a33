//! Writing generated files: atomically (temp file + rename, so a failed run
//! leaves earlier output untouched), removing stale generated files, and
//! comparing a directory with what the sources produce (`--check`).
//!
//! A generated file is recognised by how it starts: rule files by
//! [`HEADER`], Grafana dashboards by [`crate::grafana::HEADER`]. Each
//! target only ever removes its own kind, so rules and dashboards may
//! share a directory.

use crate::driver::IoError;
use crate::promql::{OutFile, HEADER};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes through a temporary file in the same directory and renames it
/// over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let err = |e: std::io::Error| IoError::new(format!("cannot write {}: {e}", path.display()));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    match std::fs::metadata(path) {
        Ok(meta) => {
            let _ = tmp.as_file().set_permissions(meta.permissions());
        }
        // A new file gets ordinary permissions, not the temp file's 0600.
        #[cfg(unix)]
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644));
        }
        #[cfg(not(unix))]
        Err(_) => {}
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Files in `dir` that an earlier `slo compile` wrote (they start with
/// `header`), sorted.
fn generated_files(dir: &Path, header: &str) -> Result<Vec<PathBuf>, IoError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(IoError::new(format!("cannot list {}: {e}", dir.display()))),
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.is_file() {
            let mut head = [0u8; 64];
            let n = std::fs::File::open(&p).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
            if head[..n].starts_with(&header.as_bytes()[..n.min(header.len()).min(40)]) && n >= 40 {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub files: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// Writes `files` into `dir` (created if missing), skipping files whose
/// content is already right, and removes generated files no longer
/// produced. Files are streamed to temporary files first and renamed into
/// place only once all of them were produced, so a run that fails part-way
/// leaves the earlier output as it was.
pub fn write<E: std::fmt::Display>(
    dir: &Path,
    files: impl IntoIterator<Item = Result<OutFile, E>>,
) -> Result<Written, IoError> {
    write_with(dir, files, HEADER)
}

/// [`write`] for generated files that start with `header`.
pub fn write_with<E: std::fmt::Display>(
    dir: &Path,
    files: impl IntoIterator<Item = Result<OutFile, E>>,
    header: &str,
) -> Result<Written, IoError> {
    std::fs::create_dir_all(dir).map_err(|e| IoError::new(format!("cannot create {}: {e}", dir.display())))?;
    let mut w = Written::default();
    let mut pending = Vec::new();
    let mut produced = std::collections::HashSet::new();
    for f in files {
        let f = f.map_err(|e| IoError::new(e.to_string()))?;
        let p = dir.join(&f.path);
        w.files += 1;
        if std::fs::read(&p).ok().as_deref() == Some(f.contents.as_bytes()) {
            w.unchanged += 1;
        } else {
            let err = |e: std::io::Error| IoError::new(format!("cannot write {}: {e}", p.display()));
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
            tmp.write_all(f.contents.as_bytes()).map_err(err)?;
            // Temporary files are private (0600); rule files must stay
            // readable by the Prometheus that loads them: keep the old
            // file's mode, or use the usual 0644.
            let mode = std::fs::metadata(&p).map(|m| m.permissions()).unwrap_or_else(|_| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::Permissions::from_mode(0o644)
            });
            tmp.as_file().set_permissions(mode).map_err(err)?;
            pending.push((tmp.into_temp_path(), p.clone()));
        }
        produced.insert(p);
    }
    for (tmp, p) in pending {
        tmp.persist(&p).map_err(|e| IoError::new(format!("cannot write {}: {}", p.display(), e.error)))?;
        w.changed += 1;
    }
    for p in generated_files(dir, header)? {
        if !produced.contains(&p) {
            std::fs::remove_file(&p).map_err(|e| IoError::new(format!("cannot remove {}: {e}", p.display())))?;
            w.removed += 1;
        }
    }
    Ok(w)
}

/// A unified diff from what `dir` holds to what the sources produce, or
/// `None` when it is up to date (stale generated files show as deleted).
pub fn diff<E: std::fmt::Display>(
    dir: &Path,
    files: impl IntoIterator<Item = Result<OutFile, E>>,
) -> Result<Option<String>, IoError> {
    diff_with(dir, files, HEADER)
}

/// [`diff`] for generated files that start with `header`.
pub fn diff_with<E: std::fmt::Display>(
    dir: &Path,
    files: impl IntoIterator<Item = Result<OutFile, E>>,
    header: &str,
) -> Result<Option<String>, IoError> {
    let mut out = String::new();
    let mut show = |name: &str, old: &str, new: &str| {
        if old != new {
            let d = similar::TextDiff::from_lines(old, new);
            let a = format!("a/{name}");
            let b = format!("b/{name}");
            out.push_str(&d.unified_diff().context_radius(3).header(&a, &b).to_string());
        }
    };
    let mut produced = std::collections::HashSet::new();
    for f in files {
        let f = f.map_err(|e| IoError::new(e.to_string()))?;
        let p = dir.join(&f.path);
        let old = std::fs::read_to_string(&p).unwrap_or_default();
        show(&f.path, &old, &f.contents);
        produced.insert(p);
    }
    for p in generated_files(dir, header)? {
        if !produced.contains(&p) {
            let old = std::fs::read_to_string(&p).unwrap_or_default();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            show(&name, &old, "");
        }
    }
    Ok((!out.is_empty()).then_some(out))
}
