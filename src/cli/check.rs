//! `slo check`: parse and type-check, print every diagnostic.

use super::{default_paths, print_diags, root_for, Format};
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (default: every *.slo under the current directory).
    pub paths: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    pub deny_warnings: bool,
    /// Project root: relative imports may not leave it (default: the current directory).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(Args { paths, format, deny_warnings, root }: Args) -> Result<u8, Error> {
    let files = driver::expand(&default_paths(paths))?;
    if files.is_empty() {
        return Err(Error::new("no .slo files found"));
    }
    let loaded = driver::load(&files, &root_for(root))?;
    let (program, diags) = driver::check(&loaded);
    print_diags(&diags, &loaded.sources, format);
    let failed = diags.has_errors() || (deny_warnings && diags.warnings() > 0);
    if !failed && format == Format::Human {
        eprintln!(
            "ok: {} services, {} SLOs checked in {} files",
            program.services.len(),
            program.slos.len(),
            files.len()
        );
    }
    super::leak_at_exit((loaded, program, diags));
    Ok(if failed { 1 } else { 0 })
}
