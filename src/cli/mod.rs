//! The command line, one file per command: each parses its flags into an
//! `Args`, calls the library and prints. Shared here: how diagnostics are
//! printed, loading and checking sources, and the flags several commands
//! take. Every print goes through `slo::term` (see the macros in main.rs).

pub mod backtest;
pub mod check;
pub mod compile;
pub mod data;
pub mod debug;
pub mod export;
pub mod fmt;
pub mod import;
pub mod synth;

use clap::ValueEnum;
use slo::diag::{self, Diagnostics};
use slo::driver::{self, IoError};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum Format {
    Human,
    Json,
    Github,
}

/// `99.9%` or `0.999` as a ratio, computed from the decimal digits: 99.99999999999%
/// stays below 1 (its budget is 1e-13, not 0).
pub fn parse_ratio(flag: &str, s: &str) -> Result<f64, IoError> {
    let bad = || IoError::new(format!("{flag}: `{s}` is not a share like 99.9% or 0.999"));
    let p = slo::units::share_parts(s).ok_or_else(bad)?;
    if !p.precise() {
        return Err(IoError::coded(
            slo::units::PERCENT_PRECISION,
            format!("{flag}: `{s}` is below 100% by {:e}, closer than a 64-bit float can hold", p.complement),
            "its complement (the error budget) would be off by more than 1% or be 0; use at most 14 nines, e.g. 99.999999999999%",
        ));
    }
    if p.ratio < 0.0 || p.vs_100 == std::cmp::Ordering::Greater {
        return Err(bad());
    }
    Ok(p.ratio)
}

/// Parses `--memory-limit` (a size, or `auto` for half of physical
/// memory), bounds the process by it and returns the query engine's share.
pub fn memory_limit_flag(flag: &str) -> Result<usize, IoError> {
    let limit = if flag.trim().eq_ignore_ascii_case("auto") {
        slo::memory::default_limit()
    } else {
        match slo::units::parse_size(flag) {
            Some(n) if n >= 16 << 20 => n,
            _ => {
                return Err(IoError::new(format!(
                    "--memory-limit: `{flag}` is not a size of 16M or more like 512M or 2G (or `auto`)"
                )))
            }
        }
    };
    slo::memory::set_limit(limit, flag.trim());
    Ok(slo::memory::engine_share(limit))
}

pub fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths
    }
}

pub fn root_for(root: Option<PathBuf>) -> PathBuf {
    root.unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
}

pub fn print_diags(diags: &Diagnostics, sources: &slo::source::SourceMap, format: Format) {
    match format {
        Format::Human => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100);
            // The parts are sanitized by the renderer; the colours are miette's own.
            slo::term::err_raw(&diag::render_human(diags, sources, color, width));
            if !diags.0.is_empty() {
                eprintln!("{}", diag::summary(diags));
            }
        }
        Format::Json => print!("{}", diag::render_json(diags, sources)),
        Format::Github => print!("{}", diag::render_github(diags, sources)),
    }
}

/// Loads and checks `files`; prints the diagnostics and gives `None` (exit 1)
/// when there are errors.
pub fn checked(
    files: &[PathBuf],
    root: Option<PathBuf>,
) -> Result<Option<(driver::Loaded, slo::ir::Program)>, IoError> {
    let loaded = driver::load(files, &root_for(root))?;
    let (program, diags) = driver::check(&loaded);
    if diags.has_errors() {
        print_diags(&diags, &loaded.sources, Format::Human);
        return Ok(None);
    }
    Ok(Some((loaded, program)))
}

/// Hands over what a command built when the process is about to exit:
/// freeing large trees node by node would only delay the exit (the OS
/// reclaims the memory at once). Only for values whose drop does nothing
/// but free memory (no files to flush, no temporary files to remove).
pub fn leak_at_exit<T>(value: T) {
    std::mem::forget(value);
}
