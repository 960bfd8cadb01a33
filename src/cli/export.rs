//! `slo export openslo`: .slo programs as OpenSLO YAML.

use super::{checked, default_paths, print_diags, Format};
use clap::ValueEnum;
use slo::diag::Diagnostics;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportTo {
    Openslo,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub to: ExportTo,
    /// .slo files or directories (default: every *.slo under the current directory).
    pub paths: Vec<PathBuf>,
    /// Output file (multi-document YAML); default: stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(Args { to: ExportTo::Openslo, paths, out, root }: Args) -> Result<u8, Error> {
    let files = driver::expand(&default_paths(paths))?;
    if let Some(p) = &out {
        slo::output::refuse_inputs(&slo::output::file_inputs(&files), &[("--out", p)])?;
    }
    let Some((loaded, program)) = checked(&files, root)? else { return Ok(1) };
    let (yaml, ds) = slo::interop::openslo::export(&program);
    print_diags(&Diagnostics(ds), &loaded.sources, Format::Human);
    match &out {
        Some(p) => slo::outdir::write_atomic(p, yaml.as_bytes())?,
        None => print!("{yaml}"),
    }
    Ok(0)
}
