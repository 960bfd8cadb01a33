//! `slo lsp`: the language server over stdio (see `slo::lsp`). The stdlib
//! modules are written once, read-only, under the system's temporary
//! directory so that go to definition can open them in the editor.

use slo::error::Error;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Accepted for editors that pass it (the server always speaks over stdio).
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: Args) -> Result<u8, Error> {
    let config = slo::lsp::Config { stdlib_dir: stdlib_dir() };
    let clean = slo::lsp::run_stdio(config).map_err(Error::new)?;
    // Exit status 1 when the client exits without `shutdown` first (LSP).
    Ok(if clean { 0 } else { 1 })
}

/// Writes each stdlib module to `<tmp>/slo-stdlib-<version>/<module>.slo`
/// (read-only; rewritten only when its text differs), or `None` when that fails.
fn stdlib_dir() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("slo-stdlib-{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&dir).ok()?;
    for (name, text) in slo::stdlib::MODULES {
        let path = dir.join(format!("{name}.slo"));
        if slo::input::read(&path, 1 << 20).is_ok_and(|b| b == text.as_bytes()) {
            continue;
        }
        // A rename replaces a read-only stale copy.
        slo::output::write_atomic(&path, text.as_bytes()).ok()?;
        let mut p = std::fs::metadata(&path).ok()?.permissions();
        p.set_readonly(true);
        let _ = std::fs::set_permissions(&path, p);
    }
    Some(dir)
}
