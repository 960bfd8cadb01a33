//! `slo import sloth|openslo`: translate specs into .slo; what does not
//! translate or check is skipped with an error, the rest is written.

use super::{print_diags, Format};
use clap::ValueEnum;
use slo::diag::Diagnostics;
use slo::error::Error;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum ImportFrom {
    Sloth,
    Openslo,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub from: ImportFrom,
    /// Sloth or OpenSLO YAML files, or directories of them (every `*.yml` and `*.yaml` below,
    /// sorted; hidden entries skipped).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Directory for the .slo files (one per service); default: print them.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Sloth's SLO period (its --default-slo-period).
    #[arg(long, default_value = "30d")]
    pub period: String,
}

pub fn run(Args { from, files, out, period }: Args) -> Result<u8, Error> {
    if slo::units::parse_duration(&period).is_none() {
        return Err(Error::new(format!("--period: `{period}` is not a duration")));
    }
    let files = slo::driver::expand_with(&files, &["yml", "yaml"])?;
    if files.is_empty() {
        return Err(Error::new("no *.yml or *.yaml files in the directories given"));
    }
    let mut imports = Vec::new();
    for f in &files {
        let name = f.display().to_string();
        let r = match slo::interop::text(&name, slo::input::read_named("", f)?) {
            Err(not_utf8) => not_utf8,
            Ok(text) => match from {
                ImportFrom::Sloth => slo::interop::sloth::import(&name, &text, &period),
                ImportFrom::Openslo => slo::interop::openslo::import(&name, &text),
            },
        };
        print_diags(&Diagnostics(r.diagnostics.clone()), &r.sources, Format::Human);
        imports.push(r);
    }
    // What did not translate or check is skipped (errors above); the rest is written.
    let done = slo::interop::finish(imports).map_err(Error::new)?;
    for (diags, sources) in done.reports.iter() {
        print_diags(&Diagnostics(diags.clone()), sources, Format::Human);
    }
    let (summary, complete, written) = (done.summary(), done.complete, done.files);
    match &out {
        Some(_) if written.is_empty() => {}
        Some(dir) => {
            let paths: Vec<PathBuf> = written.iter().map(|(name, _)| dir.join(name)).collect();
            let outputs: Vec<(&str, &std::path::Path)> = paths.iter().map(|p| ("--out", p.as_path())).collect();
            slo::output::refuse_inputs(&slo::output::file_inputs(&files), &outputs)?;
            std::fs::create_dir_all(dir).map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
            for (name, text) in &written {
                slo::outdir::write_atomic(&dir.join(name), text.as_bytes())?;
                eprintln!("wrote {}", dir.join(name).display());
            }
        }
        None => {
            for (i, (name, text)) in written.iter().enumerate() {
                if written.len() > 1 {
                    print!("{}// ---- {name}\n", if i > 0 { "\n" } else { "" });
                }
                print!("{text}");
            }
        }
    }
    eprintln!("{summary}");
    Ok(if complete { 0 } else { 1 })
}
