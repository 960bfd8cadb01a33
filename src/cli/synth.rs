//! `slo synth`: synthetic metrics in the native Parquet layout.

use super::checked;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// .slo files or directories whose SLIs the data should feed (none: a generic http_requests_total).
    pub paths: Vec<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
    /// Generic mode: number of series.
    #[arg(long, default_value_t = 20)]
    pub series: usize,
    #[arg(long, default_value_t = 35.0)]
    pub days: f64,
    /// Sample spacing.
    #[arg(long, default_value = "15s")]
    pub resolution: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First sample: RFC 3339 or unix seconds.
    #[arg(long, default_value = "2026-01-01T00:00:00Z")]
    pub start: String,
    /// An incident, OFFSET/DURATION/ERROR_RATIO[@JOB] (repeatable), e.g. 20d/2h/0.05@api.
    /// Default: a fast one (45m at 10%) at 60% of the range and a slow burn (10h at 1%) at 80%.
    #[arg(long = "incident")]
    pub incidents: Vec<String>,
    /// No incidents at all.
    #[arg(long, conflicts_with = "incidents")]
    pub no_incidents: bool,
    /// Requests per second per series at the daily peak.
    #[arg(long, default_value_t = 20.0)]
    pub peak_rps: f64,
    /// Error ratio outside incidents.
    #[arg(long, default_value_t = 0.0005)]
    pub error_ratio: f64,
    /// With .slo paths: instances per selector.
    #[arg(long, default_value_t = 2)]
    pub instances: usize,
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(
    Args {
        paths,
        out,
        series,
        days,
        resolution,
        seed,
        start,
        incidents,
        no_incidents,
        peak_rps,
        error_ratio,
        instances,
        root,
    }: Args,
) -> Result<u8, Error> {
    let Some(resolution_ms) = slo::units::parse_duration(&resolution).filter(|ms| *ms >= 1000) else {
        return Err(Error::new(format!("--resolution: `{resolution}` is not a duration of 1s or more")));
    };
    let Some(start_ms) = slo::units::parse_time(&start) else {
        return Err(Error::new(format!("--start: `{start}` is neither RFC 3339 nor unix seconds")));
    };
    if !(days > 0.0 && days <= 3660.0) {
        return Err(Error::new(format!("--days: {days} is not between 0 and 3660")));
    }
    let day = 86_400_000.0;
    let mut parsed = Vec::new();
    for i in &incidents {
        parsed.push(slo::synth::Incident::parse(i).ok_or_else(|| {
            Error::new(format!("--incident: `{i}` is not OFFSET/DURATION/RATIO[@JOB], e.g. 20d/2h/0.05@api"))
        })?);
    }
    if parsed.is_empty() && !no_incidents {
        parsed.push(slo::synth::Incident {
            start_ms: (days * 0.6 * day) as i64,
            duration_ms: 45 * 60_000,
            error_ratio: 0.10,
            job: None,
        });
        parsed.push(slo::synth::Incident {
            start_ms: (days * 0.8 * day) as i64,
            duration_ms: 10 * 3_600_000,
            error_ratio: 0.01,
            job: None,
        });
    }
    let program = if paths.is_empty() {
        None
    } else {
        let files = driver::expand(&paths)?;
        slo::output::refuse_inputs(&slo::output::file_inputs(&files), &[("--out", &out)])?;
        let Some((_, program)) = checked(&files, root)? else { return Ok(1) };
        Some(program)
    };
    let opts = slo::synth::Options {
        start_ms,
        days,
        resolution_ms: resolution_ms as i64,
        seed,
        series,
        incidents: parsed,
        peak_rps,
        base_error_ratio: error_ratio,
        instances,
    };
    let (n, samples) = slo::synth::write(program.as_ref(), &opts, &out)?;
    eprintln!("wrote {n} series, {samples} samples to {}", out.display());
    Ok(0)
}
