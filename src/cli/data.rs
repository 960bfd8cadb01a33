//! `slo data import|inspect|export`: metric data into, about and out of
//! the native Parquet layout.

use super::{checked, default_paths, memory_limit_flag, print_diags, Format, ServerArgs};
use clap::{Subcommand, ValueEnum};
use slo::diag::Diagnostics;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// Import samples (Prometheus API JSON, OpenMetrics, Prometheus text, promtool tsdb dump) into one Parquet file.
    Import {
        /// Input files.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Input format (default: detected per file).
        #[arg(long, value_enum, default_value_t = ImportFormat::Auto)]
        from: ImportFormat,
        /// The Parquet file to write (atomically).
        #[arg(long)]
        out: PathBuf,
        /// Time of text samples without a timestamp (RFC 3339 or unix seconds); without it they are errors.
        #[arg(long)]
        default_time: Option<String>,
        /// NaN values are staleness markers (promtool tsdb dump prints markers as NaN).
        #[arg(long)]
        nan_as_stale: bool,
        /// Problems listed at most (all are counted).
        #[arg(long, default_value_t = 100)]
        max_errors: usize,
        /// Memory the whole run may hold (e.g. 512M, 2G; `auto`: half of physical memory).
        #[arg(long, default_value = "auto")]
        memory_limit: String,
    },
    /// Summarise Parquet data: metrics, series, time range, resolution, gaps, staleness markers.
    Inspect {
        /// Parquet files or directories in the native layout.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = InspectFormat::Table)]
        format: InspectFormat,
        /// .slo files or directories: also list what each selector the SLOs read matches, and warn
        /// about selectors that match nothing, latency thresholds that are not a bucket, and
        /// grouping labels no series has.
        #[arg(long = "slo", value_name = "PATH")]
        slos: Vec<PathBuf>,
        /// Memory the whole run may hold (e.g. 512M, 2G; `auto`: half of physical memory).
        #[arg(long, default_value = "auto")]
        memory_limit: String,
    },
    /// Fetch the raw samples the SLOs' selectors read (plus the lead-in their longest window needs)
    /// from a Prometheus-compatible server into one Parquet file.
    Pull {
        /// .slo files or directories (default: every *.slo under the current directory).
        paths: Vec<PathBuf>,
        /// The server's base URL, e.g. http://prometheus:9090 (Mimir: …/prometheus).
        #[arg(long)]
        url: String,
        /// First evaluation the data is for: RFC 3339 or unix seconds (the pull starts the
        /// SLOs' longest range plus 5m earlier).
        #[arg(long)]
        from: String,
        /// Last sample: RFC 3339 or unix seconds.
        #[arg(long)]
        to: String,
        /// The Parquet file to write (atomically).
        #[arg(long)]
        out: PathBuf,
        /// Evaluation interval the rules are compiled with (as `slo backtest --step`).
        #[arg(long, default_value = "1m")]
        step: String,
        #[command(flatten)]
        server: Box<ServerArgs>,
        /// No progress bar, no summary.
        #[arg(long)]
        quiet: bool,
        /// Memory the whole run may hold (e.g. 512M, 2G; `auto`: half of physical memory).
        #[arg(long, default_value = "auto")]
        memory_limit: String,
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Write Parquet data as OpenMetrics text (for promtool tsdb create-blocks-from openmetrics).
    Export {
        /// Parquet files or directories in the native layout.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Openmetrics)]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
        /// Memory the whole run may hold (e.g. 512M, 2G; `auto`: half of physical memory).
        #[arg(long, default_value = "auto")]
        memory_limit: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    Auto,
    PromApi,
    Openmetrics,
    PromText,
    TsdbDump,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum InspectFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Openmetrics,
}

pub fn run(command: Command) -> Result<u8, Error> {
    use slo::metrics::{self, import::Format as F};
    let source = |paths: Vec<PathBuf>, memory_limit: &str| -> Result<slo::backtest::data::Source, Error> {
        Ok(slo::backtest::data::Source::new(paths, memory_limit_flag(memory_limit)?))
    };
    let data_failure = |errs| {
        let f = slo::backtest::data_failure(slo::source::SourceMap::new(), errs);
        print_diags(&Diagnostics(f.diagnostics), &f.sources, Format::Human);
        f.exit
    };
    match command {
        Command::Import { inputs, from, out, default_time, nan_as_stale, max_errors, memory_limit } => {
            memory_limit_flag(&memory_limit)?;
            slo::memory::phase("importing the data");
            let default_time_ms = match default_time {
                None => None,
                Some(t) => Some(slo::units::parse_time(&t).ok_or_else(|| {
                    Error::new(format!("--default-time: `{t}` is neither RFC 3339 nor unix seconds"))
                })?),
            };
            let format = match from {
                ImportFormat::Auto => None,
                ImportFormat::PromApi => Some(F::PromApi),
                ImportFormat::Openmetrics => Some(F::OpenMetrics),
                ImportFormat::PromText => Some(F::PromText),
                ImportFormat::TsdbDump => Some(F::TsdbDump),
            };
            let opts = metrics::import::Options { format, default_time_ms, nan_as_stale, max_problems: max_errors };
            slo::output::refuse_inputs(&slo::output::data_inputs(&inputs), &[("--out", &out)])?;
            match metrics::import::run(&inputs, &opts, &out) {
                Ok(s) => {
                    eprint!("{}", metrics::render(&s.warnings));
                    let range = match (s.first_ms, s.last_ms) {
                        (Some(a), Some(b)) => format!(" from {} to {}", slo::units::fmt_ts(a), slo::units::fmt_ts(b)),
                        _ => String::new(),
                    };
                    let formats: Vec<String> = s.files.iter().map(|(f, k)| format!("{f} ({})", k.name())).collect();
                    let hist = match s.native_histograms {
                        0 => String::new(),
                        n => format!(", {n} native-histogram samples"),
                    };
                    eprintln!(
                        "imported {} series, {} samples ({} staleness markers{hist}, {} exact duplicates dropped){range} from {} into {}",
                        s.series,
                        s.samples - s.stale_markers - s.native_histograms,
                        s.stale_markers,
                        s.duplicates_dropped,
                        formats.join(", "),
                        out.display()
                    );
                    Ok(0)
                }
                Err(f) => {
                    eprint!("{}", metrics::render(&f.problems));
                    let shown = f.problems.iter().filter(|p| p.is_error()).count();
                    if f.errors > shown {
                        eprintln!("{} errors ({} shown; --max-errors lists more); nothing written", f.errors, shown);
                    } else {
                        eprintln!("{} error(s); nothing written", f.errors);
                    }
                    Ok(f.exit)
                }
            }
        }
        Command::Pull { paths, url, from, to, out, step, server, quiet, memory_limit, root } => {
            memory_limit_flag(&memory_limit)?;
            let time = |flag: &str, v: &str| {
                slo::units::parse_time(v).ok_or_else(|| {
                    Error::new(format!("{flag}: `{v}` is neither RFC 3339 (2026-01-31T00:00:00Z) nor unix seconds"))
                })
            };
            let (from_ms, to_ms) = (time("--from", &from)?, time("--to", &to)?);
            let Some(step_ms) = slo::units::parse_duration(&step).filter(|ms| *ms >= 1000) else {
                return Err(Error::new(format!("--step: `{step}` is not a duration of 1s or more")));
            };
            let files = driver::expand(&default_paths(paths))?;
            if files.is_empty() {
                return Err(Error::new("no .slo files found"));
            }
            slo::output::refuse_inputs(&slo::output::file_inputs(&files), &[("--out", &out)])?;
            let Some((_, program)) = checked(&files, root)? else { return Ok(1) };
            super::pull(&program, &url, &server, (from_ms, to_ms, step_ms as i64), &out, quiet)?;
            Ok(0)
        }
        Command::Inspect { paths, format, slos, memory_limit } => {
            let src = source(paths, &memory_limit)?;
            let program = if slos.is_empty() {
                None
            } else {
                let files = driver::expand(&slos)?;
                if files.is_empty() {
                    return Err(Error::new("--slo: no .slo files found"));
                }
                let Some((_, program)) = checked(&files, None)? else { return Ok(1) };
                Some(program)
            };
            match metrics::inspect::run(&src, program.as_ref()) {
                Ok(mut r) => {
                    if let Some(g) = &r.grid {
                        let w = metrics::resampled_warning(g.step_ms, g.offset_ms, &r.files.join(", "));
                        eprint!("{}", metrics::render(&[w]));
                    }
                    if let Some(problems) = r.problems.take() {
                        let mut sources = slo::source::SourceMap::new();
                        let warnings = slo::backtest::problem_warnings(&problems, &mut sources);
                        print_diags(&Diagnostics(warnings), &sources, Format::Human);
                        r.problems = Some(problems);
                    }
                    match format {
                        InspectFormat::Table => print!("{}", metrics::inspect::table(&r)),
                        InspectFormat::Json => {
                            println!(
                                "{}",
                                slo::term::json_safe(&serde_json::to_string_pretty(&r).expect("report serializes"))
                            )
                        }
                    }
                    Ok(0)
                }
                Err(errs) => Ok(data_failure(errs)),
            }
        }
        Command::Export { paths, format: ExportFormat::Openmetrics, out, memory_limit } => {
            slo::output::refuse_inputs(&slo::output::data_inputs(&paths), &[("--out", &out)])?;
            let src = source(paths, &memory_limit)?;
            match metrics::export::run(&src, &out) {
                Ok(w) => {
                    eprintln!(
                        "exported {} series, {} samples to {}{}",
                        w.series,
                        w.samples - w.stale_markers,
                        out.display(),
                        if w.stale_markers > 0 {
                            format!(
                                " ({} staleness markers written as NaN: import with --nan-as-stale to restore them)",
                                w.stale_markers
                            )
                        } else {
                            String::new()
                        }
                    );
                    Ok(0)
                }
                Err(metrics::export::Failure::Data(errs)) => Ok(data_failure(errs)),
                Err(metrics::export::Failure::Write(e)) => Err(e),
            }
        }
    }
}
