//! `slo doc`: the standard library reference (`--stdlib`), or a catalogue
//! of the services and SLOs in PATHS (`--out DIR`), as Markdown.

use super::default_paths;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (default: every *.slo under the current directory).
    pub paths: Vec<PathBuf>,
    /// Document the standard library instead of PATHS (the text of docs/stdlib.md).
    #[arg(long)]
    pub stdlib: bool,
    /// Where to write: a file for `--stdlib` (default: standard output), a
    /// directory for a catalogue (README.md and one <service>.service.md each).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write nothing; exit 1 if the output is not up to date (for CI).
    #[arg(long)]
    pub check: bool,
    /// Project root: relative imports may not leave it (default: the current directory).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(Args { paths, stdlib, out, check, root }: Args) -> Result<u8, Error> {
    if stdlib {
        if !paths.is_empty() {
            return Err(Error::new("--stdlib documents the standard library: give no PATHS"));
        }
        let text = slo::doc::stdlib_reference().map_err(|e| Error::new(format!("internal: {e}")))?;
        return match (out, check) {
            (None, false) => {
                print!("{text}");
                Ok(0)
            }
            (None, true) => Err(Error::new("--check needs --out FILE to compare with")),
            (Some(path), true) => {
                let now = std::fs::read_to_string(&path).unwrap_or_default();
                if now == text {
                    eprintln!("up to date: {}", path.display());
                    Ok(0)
                } else {
                    eprintln!("{} is out of date: run `slo doc --stdlib --out {}`", path.display(), path.display());
                    Ok(1)
                }
            }
            (Some(path), false) => {
                slo::output::write_atomic(&path, text.as_bytes())?;
                eprintln!("wrote {}", path.display());
                Ok(0)
            }
        };
    }
    let Some(out) = out else {
        return Err(Error::new("a catalogue is a directory of pages: give --out DIR (or --stdlib)"));
    };
    let files = driver::expand(&default_paths(paths))?;
    if files.is_empty() {
        return Err(Error::new("no .slo files found"));
    }
    let Some((loaded, program)) = super::checked(&files, root)? else { return Ok(1) };
    let kind = slo::outdir::Kind::DOC;
    slo::outdir::refuse_inputs(&out, &kind, &files)?;
    let pages = slo::doc::catalogue(&program).into_iter().map(Ok::<_, String>);
    if check {
        return super::check_dir(&out, pages, &kind, "slo doc");
    }
    let w = slo::outdir::write(&out, pages, &kind)?;
    eprintln!(
        "documented {} services and {} SLOs in {} ({w})",
        program.services.len(),
        program.slos.len(),
        out.display()
    );
    super::leak_at_exit((loaded, program));
    Ok(0)
}
