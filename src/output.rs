//! Every file slo writes goes through here: one writer ([`TempFile`]) and
//! one guard ([`refuse_inputs`]).
//!
//! - **Atomic.** A file is written to a temporary file beside its target
//!   and renamed over it when complete, so a reader sees the old file or the
//!   new one, never half of either. Temporary files are named
//!   `.slo-tmp-<pid>-<n>-<target name>.tmp`, so they are recognisable as ours.
//! - **Nothing left behind.** Live temporary files are registered; on
//!   SIGINT or SIGTERM they are removed and the process exits 130 or 143
//!   (a commit of a compile's output directory in progress finishes or
//!   rolls back first, see [`critical`]). A process killed outright
//!   (SIGKILL, power loss) cannot clean up: the next run that writes into
//!   the same directory removes our temporary files whose process is gone
//!   ([`sweep`]).
//! - **Outputs never overwrite inputs.** [`refuse_inputs`] compares every
//!   output path with every input (canonical path and device/inode, so a
//!   hard link or a symlink to an input is caught too); an output inside a
//!   data directory given as input is refused as well.
//!
//! Problems are [`Error`]s with codes under `slo::out::`.

use crate::error::Error;
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

/// The prefix of every temporary file slo creates.
pub(crate) const TEMP_PREFIX: &str = ".slo-tmp-";

/// Temporary files this process created and has not yet renamed or removed.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Held while a multi-file commit renames files: a signal waits for it.
static CRITICAL: Mutex<()> = Mutex::new(());
static SIGNALS: Once = Once::new();
static SEQ: AtomicU64 = AtomicU64::new(0);
/// Directories already swept by this process.
static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with SIGINT/SIGTERM deferred: a signal that arrives meanwhile
/// is acted on (temporary files removed, exit) only once `f` returned.
pub(crate) fn critical<T>(f: impl FnOnce() -> T) -> T {
    let _g = CRITICAL.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

/// Installs the SIGINT/SIGTERM handler (once per process): it waits for any
/// [`critical`] section, removes our live temporary files and exits with
/// 128 + the signal number.
pub(crate) fn handle_signals() {
    SIGNALS.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
        let _ = std::thread::Builder::new().name("slo-signals".into()).spawn(move || {
            if let Some(sig) = signals.forever().next() {
                exit_cleanly(|| 128 + sig);
            }
        });
    });
}

/// Ends the process the way an interrupted run ends: waits for any
/// [`critical`] section, removes our live temporary files, then exits with
/// the code `last` returns (it may print why first).
pub(crate) fn exit_cleanly(last: impl FnOnce() -> i32) -> ! {
    let _g = CRITICAL.lock().unwrap_or_else(|e| e.into_inner());
    for p in live().drain(..) {
        let _ = std::fs::remove_file(p);
    }
    std::process::exit(last())
}

/// The directory a file path lives in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A temporary file beside its target, removed on drop unless persisted.
pub(crate) struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates `.slo-tmp-<pid>-<n>-<name>` in `dir`, after removing stale
    /// temporary files of ours from `dir` (once per directory per process).
    pub(crate) fn new_in(dir: &Path, name: &str) -> std::io::Result<TempFile> {
        handle_signals();
        sweep_once(dir);
        let mut live = live();
        loop {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            let short: String = name.chars().filter(|c| !matches!(c, '/' | '\\')).take(64).collect();
            // `.tmp` last: no `*.yml` or `*.json` glob of a consumer matches it.
            let path = dir.join(format!("{TEMP_PREFIX}{}-{n}-{short}.tmp", std::process::id()));
            match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => {
                    live.push(path.clone());
                    return Ok(TempFile { path, file: Some(file) });
                }
                // Left by an earlier process with our pid: not ours, take another number.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// A temporary file beside `target`.
    pub fn beside(target: &Path) -> std::io::Result<TempFile> {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        TempFile::new_in(parent_dir(target), &name)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until persisted")
    }

    /// Another handle on the same file (for writers that take ownership).
    pub(crate) fn reopen(&self) -> std::io::Result<File> {
        self.file.as_ref().expect("open until persisted").try_clone()
    }

    /// Gives the file the permissions of `target` if it exists, else 0644
    /// (a temporary file starts private; outputs are read by others, e.g.
    /// a Prometheus running as another user).
    pub(crate) fn take_mode_of(&self, target: &Path) -> std::io::Result<()> {
        let perms = match std::fs::metadata(target) {
            Ok(m) if m.is_file() => m.permissions(),
            _ => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::Permissions::from_mode(0o644)
            }
        };
        std::fs::set_permissions(&self.path, perms)
    }

    /// Renames the file over `target` (atomically, same directory).
    pub(crate) fn persist(mut self, target: &Path) -> std::io::Result<()> {
        self.file = None;
        std::fs::rename(&self.path, target)?;
        forget(&self.path);
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.path);
            forget(&self.path);
        }
    }
}

fn forget(path: &Path) {
    live().retain(|p| p != path);
}

/// Writes `bytes` to `path` atomically (temp file + rename), keeping an
/// existing file's permissions (0644 for a new one).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let err = |e: std::io::Error| Error::new(format!("cannot write {}: {e}", path.display()));
    let mut tmp = TempFile::beside(path).map_err(err)?;
    tmp.file().write_all(bytes).map_err(err)?;
    tmp.take_mode_of(path).map_err(err)?;
    tmp.persist(path).map_err(err)
}

/// Whether process `pid` exists (a zombie counts).
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill with signal 0 only checks for the process's existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// A temporary file older than this is stale even if a process with its
/// pid exists (the pid was reused).
const STALE_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes temporary files of ours in `dir` whose process is gone (or is
/// this process, which does not know them), or that were not touched for a
/// day; returns how many were removed.
pub fn sweep(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    let me = std::process::id();
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if !meta.is_file() {
            continue;
        }
        let old = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > STALE_AGE);
        // Our own pid: a file this process does not know was left by an
        // earlier process that had the same pid.
        let stale =
            if pid == me { !live().iter().any(|p| p.file_name() == Some(&name)) } else { !pid_alive(pid) || old };
        if stale && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn sweep_once(dir: &Path) {
    let key = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        if !swept.get_or_insert_with(HashSet::new).insert(key) {
            return;
        }
    }
    sweep(dir);
}

/// What a run reads.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file the run reads.
    File(PathBuf),
    /// A path whose every file the run reads, or would read next time
    /// (a data directory): nothing may be written in it.
    Tree(PathBuf),
}

fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Canonical form of a path that may not exist yet: its nearest existing
/// ancestor canonicalized, the rest appended.
pub fn canonical(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")).join(p)
    };
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = std::fs::canonicalize(cur) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuses (`slo::out::input`) any output that is one of the run's inputs:
/// the same canonical path, the same file (device and inode: a hard link or
/// a symlink), or a path inside an input [`Input::Tree`]. Two outputs of
/// one run may not be the same file either. `outputs` are `(flag, path)`.
pub fn refuse_inputs(inputs: &[Input], outputs: &[(&str, &Path)]) -> Result<(), Error> {
    let refuse = |flag: &str, out: &Path, input: &Path, why: &str| {
        Error::coded(
            "slo::out::input",
            format!("{flag} {} {why} {}", out.display(), input.display()),
            format!("write {flag} somewhere else: slo never overwrites a file the same run reads"),
        )
    };
    for (i, (flag, out)) in outputs.iter().enumerate() {
        let c_out = canonical(out);
        let m_out = std::fs::metadata(out).ok();
        for input in inputs {
            match input {
                Input::File(p) => {
                    let same = c_out == canonical(p)
                        || matches!((&m_out, std::fs::metadata(p)), (Some(a), Ok(b)) if same_file(a, &b));
                    if same {
                        return Err(refuse(flag, out, p, "is the input"));
                    }
                }
                Input::Tree(p) => {
                    let c_in = canonical(p);
                    if c_out.starts_with(&c_in) {
                        let why = if c_out == c_in { "is the input" } else { "is inside the input directory" };
                        return Err(refuse(flag, out, p, why));
                    }
                    if matches!((&m_out, std::fs::metadata(p)), (Some(a), Ok(b)) if same_file(a, &b)) {
                        return Err(refuse(flag, out, p, "is the input"));
                    }
                }
            }
        }
        for (flag2, out2) in &outputs[..i] {
            if canonical(out2) == c_out {
                return Err(Error::coded(
                    "slo::out::input",
                    format!("{flag} and {flag2} are the same file, {}", out.display()),
                    "give each output its own path",
                ));
            }
        }
    }
    Ok(())
}

/// Data paths: a directory is a tree of inputs, a file a single input (a
/// URL is on a server, never an output of the run).
pub fn data_inputs(paths: &[PathBuf]) -> Vec<Input> {
    paths
        .iter()
        .filter(|p| crate::layout::remote::url_of(p).is_none())
        .map(|p| if p.is_dir() { Input::Tree(p.clone()) } else { Input::File(p.clone()) })
        .collect()
}

/// Source files as inputs.
pub fn file_inputs(paths: &[PathBuf]) -> Vec<Input> {
    paths.iter().map(|p| Input::File(p.clone())).collect()
}
