//! `slo backfill`: replay the compiled rules over history (Parquet data or
//! a server's raw samples) and write what they would have recorded —
//! every recorded series, `ALERTS` and `ALERTS_FOR_STATE` — as Prometheus
//! TSDB blocks, so windows longer than the rules' uptime are right from the
//! day they deploy.

use super::{checked, default_paths, memory_limit_flag, print_diags, Format};
use slo::diag::Diagnostics;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// .slo files or directories (default: every *.slo under the current directory).
    pub paths: Vec<PathBuf>,
    /// Parquet files or directories in the native long layout (repeatable).
    #[arg(long, num_args = 1.., required_unless_present = "url", conflicts_with = "url")]
    pub data: Vec<PathBuf>,
    /// Pull the raw samples from this Prometheus-compatible server (as `slo data pull`).
    #[arg(long)]
    pub url: Option<String>,
    #[command(flatten)]
    pub server: Box<super::ServerArgs>,
    #[command(flatten)]
    pub schedule: super::ScheduleArgs,
    /// First evaluation of the history: RFC 3339 or unix seconds.
    #[arg(long)]
    pub from: String,
    /// The deployment time: the history ends before it, where the live rules take over.
    #[arg(long)]
    pub to: String,
    /// The rule groups' evaluation interval (as compiled with --eval-interval).
    #[arg(long, default_value = "1m")]
    pub step: String,
    /// The directory to write the blocks into (new, empty, or written by an earlier backfill,
    /// whose blocks are then replaced).
    #[arg(long, required_unless_present = "openmetrics")]
    pub out: Option<PathBuf>,
    /// Write the series as OpenMetrics text to this file instead of blocks (for
    /// `mimirtool backfill`-style pipelines or a promtool elsewhere).
    #[arg(long, conflicts_with = "out")]
    pub openmetrics: Option<PathBuf>,
    /// The promtool that builds the blocks (`promtool tsdb create-blocks-from openmetrics`).
    #[arg(long, default_value = "promtool")]
    pub promtool: PathBuf,
    /// promtool's --max-block-duration (e.g. 24h; its default is 2h).
    #[arg(long)]
    pub max_block_duration: Option<String>,
    /// Memory the whole run may hold (e.g. 512M, 2G; `auto`: half of physical memory).
    #[arg(long, default_value = "auto")]
    pub memory_limit: String,
    /// Print nothing but errors and warnings.
    #[arg(long)]
    pub quiet: bool,
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<u8, Error> {
    let time = |flag: &str, v: &str| -> Result<i64, Error> {
        slo::units::parse_time(v).ok_or_else(|| {
            Error::new(format!("{flag}: `{v}` is neither RFC 3339 (2026-01-31T00:00:00Z) nor unix seconds"))
        })
    };
    let (from_ms, to_ms) = (time("--from", &a.from)?, time("--to", &a.to)?);
    if to_ms <= from_ms {
        return Err(Error::coded(
            "slo::backfill::range",
            format!("--to {} is not after --from {}", a.to, a.from),
            "--from is where the history starts, --to the deployment time after it",
        ));
    }
    let Some(step_ms) = slo::units::parse_duration(&a.step).filter(|ms| *ms >= 1000) else {
        return Err(Error::new(format!("--step: `{}` is not a duration of 1s or more", a.step)));
    };
    if let Some(d) = &a.max_block_duration {
        if slo::units::parse_duration(d).is_none() {
            return Err(Error::new(format!("--max-block-duration: `{d}` is not a duration like 2h or 1d")));
        }
    }
    let memory_limit = memory_limit_flag(&a.memory_limit)?;
    let files = driver::expand(&default_paths(a.paths))?;
    if files.is_empty() {
        return Err(Error::new("no .slo files found"));
    }
    let mut inputs = slo::output::file_inputs(&files);
    inputs.extend(slo::output::data_inputs(&a.data));
    let mut outputs: Vec<(&str, &std::path::Path)> = Vec::new();
    outputs.extend(a.out.as_deref().map(|p| ("--out", p)));
    outputs.extend(a.openmetrics.as_deref().map(|p| ("--openmetrics", p)));
    slo::output::refuse_inputs(&inputs, &outputs)?;
    if let Some(out) = &a.out {
        slo::metrics::backfill::check_out(out)?;
    }
    let Some((loaded, program)) = checked(&files, a.root)? else { return Ok(1) };
    let phases = a.schedule.phases(&program, a.url.as_deref(), &a.server, step_ms as i64)?;
    if phases.is_none() && !a.quiet {
        eprintln!(
            "note: evaluating every group on the {} grid; give --rule-dir (or --offsets-from-server) so the timestamps are the server's",
            a.step
        );
    }
    let mut data = a.data;
    let _pulled = match &a.url {
        Some(url) => {
            let (path, dir) = super::pull_to_temp(&program, url, &a.server, (from_ms, to_ms, step_ms as i64), a.quiet)?;
            data = vec![path];
            Some(dir)
        }
        None => None,
    };
    let opts = slo::backtest::Options {
        data,
        from_ms: Some(from_ms),
        // Nothing at or after the deployment: the live rules write that.
        to_ms: Some(to_ms - 1),
        step_ms: step_ms as i64,
        memory_limit,
        progress: !a.quiet,
        timing: false,
        extra_windows: Default::default(),
        workers: Vec::new(),
        phases,
        downtime: a.schedule.downtime()?,
        stepwise: false,
        report_only: false,
        reports: None,
        html: false,
        timeline: None,
    };
    let bt = match slo::backtest::run(&program, loaded.sources, &opts) {
        Ok(bt) => bt,
        Err(f) => {
            print_diags(&Diagnostics(f.diagnostics), &f.sources, Format::Human);
            return Ok(f.exit);
        }
    };
    if !bt.warnings.is_empty() {
        print_diags(&Diagnostics(bt.warnings.clone()), &bt.sources, Format::Human);
    }
    let query_offset_ms = a.schedule.query_offset_ms()?;
    let bopts = slo::metrics::backfill::Options {
        promtool: a.openmetrics.is_none().then_some(a.promtool.as_path()),
        max_block_duration: a.max_block_duration,
        query_offset_ms,
        memory_limit,
    };
    let out = a.out.or(a.openmetrics).unwrap_or_default();
    let w = slo::metrics::backfill::write(&bt, &out, &bopts)?;
    if !a.quiet {
        let range = format!("{} .. {}", slo::units::fmt_ts(from_ms), slo::units::fmt_ts(to_ms - 1));
        match &w.openmetrics {
            Some(p) => eprintln!(
                "wrote {} series, {} samples ({range}) as OpenMetrics to {}",
                w.series,
                w.samples,
                p.display()
            ),
            None => eprintln!(
                "backfilled {} series, {} samples ({range}) into {} block(s) in {}; stop the server (or use its \
                 TSDB admin API), move the block directories into its data directory and start it",
                w.series,
                w.samples,
                w.blocks.len(),
                out.display()
            ),
        }
    }
    super::leak_at_exit((bt, program));
    Ok(0)
}
