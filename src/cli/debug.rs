//! `slo debug ast|ir`: a stage's tree as JSON.

use super::{print_diags, root_for, Format};
use clap::ValueEnum;
use slo::diag::Diagnostics;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Stage {
    Ast,
    Ir,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub stage: Stage,
    pub file: PathBuf,
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(Args { stage, file, root }: Args) -> Result<u8, Error> {
    let text = String::from_utf8(slo::input::read_named("", &file)?)
        .map_err(|_| Error::new(format!("cannot read {}: not UTF-8", file.display())))?;
    match stage {
        Stage::Ast => {
            let mut sources = slo::source::SourceMap::new();
            let id = sources.add(slo::source::Source::new(
                file.display().to_string(),
                text.clone(),
                slo::source::Origin::User,
            ));
            match slo::syntax::parse(id, &text) {
                Ok(ast) => {
                    println!("{}", slo::term::json_safe(&serde_json::to_string_pretty(&ast).expect("AST serializes")));
                    Ok(0)
                }
                Err(ds) => {
                    print_diags(&Diagnostics(ds), &sources, Format::Human);
                    Ok(1)
                }
            }
        }
        Stage::Ir => {
            let loaded = driver::load(&[file], &root_for(root))?;
            let (program, diags) = driver::check(&loaded);
            print_diags(&diags, &loaded.sources, Format::Human);
            println!("{}", slo::term::json_safe(&serde_json::to_string_pretty(&program).expect("IR serializes")));
            Ok(if diags.has_errors() { 1 } else { 0 })
        }
    }
}
