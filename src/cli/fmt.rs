//! `slo fmt`: rewrite .slo files in the canonical layout (or `--check`).

use super::{default_paths, print_diags, root_for, Format};
use slo::diag::Diagnostics;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (default: every *.slo under the current directory).
    pub paths: Vec<PathBuf>,
    /// Do not write; exit 1 and list the files that are not formatted.
    #[arg(long)]
    pub check: bool,
}

pub fn run(Args { paths, check }: Args) -> Result<u8, Error> {
    let files = driver::expand(&default_paths(paths))?;
    let root = root_for(None);
    let mut code = 0;
    for f in files {
        let bytes = slo::input::read_named("", &f)?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                // Report it like `check` does, and go on with the other files.
                let off = e.utf8_error().valid_up_to();
                let mut sources = slo::source::SourceMap::new();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id =
                    sources.add(slo::source::Source::new(f.display().to_string(), lossy, slo::source::Origin::User));
                let d = slo::syntax::error::not_utf8(slo::source::Span::new(id, off, off + 1));
                print_diags(&Diagnostics(vec![d]), &sources, Format::Human);
                code = 1;
                continue;
            }
        };
        let formatted = match slo::fmt::format_source(&text) {
            Ok(s) => s,
            Err(ds) => {
                let mut sources = slo::source::SourceMap::new();
                sources.add(slo::source::Source::new(f.display().to_string(), text, slo::source::Origin::User));
                print_diags(&Diagnostics(ds), &sources, Format::Human);
                code = 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if check {
            println!("would reformat {}", f.display());
            code = 1;
        } else {
            // A symlink is written through to its target (inside the root).
            driver::write_source(&f, &root, formatted.as_bytes())?;
            println!("formatted {}", f.display());
        }
    }
    Ok(code)
}
