//! `slo backtest`: replay the compiled rules over Parquet data and report
//! (table, JSON, HTML), with the what-if sweep and alert grading settings.

use super::{checked, default_paths, memory_limit_flag, parse_ratio, print_diags, Format};
use clap::ValueEnum;
use slo::diag::Diagnostics;
use slo::driver;
use slo::error::Error;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum ReportFormat {
    Table,
    Json,
    /// One self-contained HTML file with charts (needs --out).
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CompliancePeriodArg {
    Week,
    Month,
}

#[derive(clap::Args)]
pub struct Args {
    /// .slo files or directories (default: every *.slo under the current directory).
    pub paths: Vec<PathBuf>,
    /// Parquet files or directories in the native long layout (repeatable).
    #[arg(long, num_args = 1.., required_unless_present = "url", conflicts_with = "url")]
    pub data: Vec<PathBuf>,
    /// Pull the data from this Prometheus-compatible server first (as `slo data pull`, into a
    /// temporary file removed afterwards); needs --from and --to.
    #[arg(long, requires_all = ["from", "to"])]
    pub url: Option<String>,
    #[command(flatten)]
    pub server: Box<super::ServerArgs>,
    #[command(flatten)]
    pub schedule: super::ScheduleArgs,
    /// First evaluation: RFC 3339 or unix seconds (default: the data's first sample, rounded up to --step).
    #[arg(long)]
    pub from: Option<String>,
    /// Last evaluation: RFC 3339 or unix seconds (default: the data's last sample).
    #[arg(long)]
    pub to: Option<String>,
    /// Evaluation interval (also the compiled rules' group interval).
    #[arg(long, default_value = "1m")]
    pub step: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write every recorded series and ALERTS at every evaluation to this Parquet file.
    #[arg(long)]
    pub timeline: Option<PathBuf>,
    /// Memory the whole run may hold (e.g. 512M, 2G; `auto`: half of physical memory); the query engine spills to disk to stay within half of it, and the leaves beyond a quarter of it (at most 512M) are computed by further scans.
    #[arg(long, default_value = "auto")]
    pub memory_limit: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the time each phase took.
    #[arg(long)]
    pub timing: bool,
    /// Write the report to this file (atomically) instead of stdout; required with --format html.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Incidents to grade the alerts against: CSV (start,end,service,slo,title) or YAML.
    /// Default: derived from the data as the periods that consumed --incident-budget of the budget.
    #[arg(long)]
    pub incidents: Option<PathBuf>,
    /// Derived incidents: the least share of the window's budget a period must consume.
    #[arg(long, default_value = "2%")]
    pub incident_budget: String,
    /// What-if sweep: objectives to evaluate every SLO at, e.g. 99.5%,99.9%,99.95%.
    #[arg(long, value_delimiter = ',')]
    pub objective: Vec<String>,
    /// What-if sweep: alert policies (presets) to evaluate every SLO with, e.g. google_28d,google_30d,pyrra;
    /// `own` is each SLO's own alerts.
    #[arg(long, value_delimiter = ',')]
    pub alerts: Vec<String>,
    /// The sweep recommends the highest objective whose budget never fell below this share.
    #[arg(long, default_value = "25%")]
    pub margin: String,
    /// Compliance report periods (calendar, in the SLO's time zone for calendar windows, else UTC).
    #[arg(long, value_enum, default_value_t = CompliancePeriodArg::Month)]
    pub compliance: CompliancePeriodArg,
    /// Benchmark baseline: only scan the same columns with the same filters and sum the values.
    #[arg(long, hide = true)]
    pub bare_scan: bool,
    /// Evaluate every rule step by step, never column by column: the same
    /// results, slower (the cross-check of the columnar engine).
    #[arg(long)]
    pub stepwise: bool,
    /// Replay on these `slo worker`s (comma-separated URLs, e.g. http://10.0.0.5:7501), which read
    /// --data by the same paths; the report is the same as without.
    #[arg(long, value_delimiter = ',', conflicts_with = "bare_scan")]
    pub workers: Vec<String>,
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(
    Args {
        paths,
        mut data,
        url,
        server,
        schedule,
        from,
        to,
        step,
        format,
        timeline,
        memory_limit,
        quiet,
        timing,
        out,
        incidents,
        stepwise,
        incident_budget,
        objective,
        alerts,
        margin,
        compliance,
        bare_scan,
        workers,
        root,
    }: Args,
) -> Result<u8, Error> {
    let time = |flag: &str, v: Option<String>| -> Result<Option<i64>, Error> {
        v.map(|v| {
            slo::units::parse_time(&v).ok_or_else(|| {
                Error::new(format!("{flag}: `{v}` is neither RFC 3339 (2026-01-31T00:00:00Z) nor unix seconds"))
            })
        })
        .transpose()
    };
    let from_ms = time("--from", from)?;
    let to_ms = time("--to", to)?;
    let Some(step_ms) = slo::units::parse_duration(&step).filter(|ms| *ms >= 1000) else {
        return Err(Error::new(format!("--step: `{step}` is not a duration of 1s or more")));
    };
    let memory_limit = memory_limit_flag(&memory_limit)?;
    let files = driver::expand(&default_paths(paths))?;
    if files.is_empty() {
        return Err(Error::new("no .slo files found"));
    }
    let mut inputs = slo::output::file_inputs(&files);
    inputs.extend(slo::output::data_inputs(&data));
    inputs.extend(slo::output::file_inputs(incidents.as_slice()));
    let mut outputs: Vec<(&str, &std::path::Path)> = Vec::new();
    outputs.extend(timeline.as_deref().map(|p| ("--timeline", p)));
    outputs.extend(out.as_deref().map(|p| ("--out", p)));
    slo::output::refuse_inputs(&inputs, &outputs)?;
    let Some((loaded, program)) = checked(&files, root)? else { return Ok(1) };
    if matches!(format, ReportFormat::Html) && out.is_none() {
        return Err(Error::new("--format html needs --out FILE"));
    }
    let mut settings = slo::backtest::analysis::Settings {
        incident_share: parse_ratio("--incident-budget", &incident_budget)?,
        margin: parse_ratio("--margin", &margin)?,
        period: match compliance {
            CompliancePeriodArg::Week => slo::backtest::analysis::PeriodUnit::Week,
            CompliancePeriodArg::Month => slo::backtest::analysis::PeriodUnit::Month,
        },
        ..Default::default()
    };
    for o in &objective {
        let r = parse_ratio("--objective", o)?;
        if !(r > 0.0 && r < 1.0) {
            return Err(Error::coded(
                "slo::objective::range",
                format!("--objective: `{o}` must be strictly between 0% and 100%"),
                "100% leaves no error budget and 0% is always met; use e.g. 99.9%",
            ));
        }
        settings.objectives.push(r);
    }
    if let Some(path) = &incidents {
        let list = slo::backtest::analysis::load_incidents(path, &program)?;
        settings.incidents = Some((path.display().to_string(), list));
    }
    let mut extra_windows: std::collections::BTreeMap<
        (String, String),
        std::collections::BTreeSet<slo::units::Duration>,
    > = Default::default();
    for name in &alerts {
        if name == "own" {
            settings.presets.push(slo::backtest::analysis::Preset { name: name.clone(), alerts: None });
            continue;
        }
        let per_slo =
            driver::preset_alerts(&loaded, name, &program).map_err(|e| Error::new(format!("--alerts: {e}")))?;
        for (s, list) in program.slos.iter().zip(&per_slo) {
            let w = extra_windows.entry((s.service.clone(), s.name.clone())).or_default();
            w.extend(list.iter().flat_map(slo::ir::Alert::windows));
        }
        settings.presets.push(slo::backtest::analysis::Preset { name: name.clone(), alerts: Some(per_slo) });
    }
    // With --url: the data pulled into a temporary directory, removed when the run ends.
    let _pulled = match (&url, from_ms, to_ms) {
        (Some(url), Some(f), Some(t)) => {
            let (path, dir) = super::pull_to_temp(&program, url, &server, (f, t, step_ms as i64), quiet)?;
            data = vec![path];
            Some(dir)
        }
        _ => None,
    };
    let phases = schedule.phases(&program, url.as_deref(), &server, step_ms as i64)?;
    let opts = slo::backtest::Options {
        downtime: schedule.downtime()?,
        phases,
        data,
        from_ms,
        to_ms,
        step_ms: step_ms as i64,
        memory_limit,
        progress: !quiet,
        timing,
        extra_windows,
        stepwise,
        report_only: timeline.is_none(),
        // Each SLO's report built (and its timeline rows spilled) as its
        // block finishes, its series then dropped, unless the HTML charts
        // read them afterwards.
        reports: Some(settings.clone()),
        html: matches!(format, ReportFormat::Html),
        timeline: timeline.clone(),
        workers,
    };
    if bare_scan {
        let (sum, rows, secs) = slo::backtest::bare_scan(&program, &opts).map_err(Error::new)?;
        println!("bare scan: {rows} rows, sum(value) = {sum}, {secs:.3}s");
        return Ok(0);
    }
    let mut bt = match slo::backtest::run(&program, loaded.sources, &opts) {
        Ok(bt) => bt,
        Err(f) => {
            print_diags(&Diagnostics(f.diagnostics), &f.sources, Format::Human);
            return Ok(f.exit);
        }
    };
    if !bt.warnings.is_empty() {
        print_diags(&Diagnostics(bt.warnings.clone()), &bt.sources, Format::Human);
    }
    let t0 = std::time::Instant::now();
    if let Some(path) = &timeline {
        slo::memory::phase("writing the timeline");
        let n = slo::backtest::timeline::write(&mut bt, path)?;
        if !quiet {
            eprintln!("timeline: {n} samples written to {}", path.display());
        }
        if timing {
            eprintln!("timing: timeline {:.3}s", t0.elapsed().as_secs_f64());
        }
    }
    let t0 = std::time::Instant::now();
    slo::memory::phase("building the report");
    let report = slo::backtest::report::build(&bt, &program, &settings);
    let text = match format {
        ReportFormat::Table => {
            let color = out.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            slo::backtest::report::table(&report, color)
        }
        ReportFormat::Json => {
            slo::term::json_safe(&serde_json::to_string_pretty(&report).expect("report serializes")).into_owned() + "\n"
        }
        ReportFormat::Html => slo::backtest::html::render(&bt, &program, &report),
    };
    if timing {
        eprintln!("timing: report and analysis {:.3}s", t0.elapsed().as_secs_f64());
        eprintln!("timing: {}", slo::memory::peaks_text());
    }
    match &out {
        Some(path) => {
            slo::outdir::write_atomic(path, text.as_bytes())?;
            if !quiet {
                eprintln!("report written to {}", path.display());
            }
        }
        // The report escapes user text itself; the colours are its own.
        None => slo::term::out_raw(&text),
    }
    super::leak_at_exit((bt, program));
    Ok(0)
}
