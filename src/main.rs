//! The `slo` command line: parses flags, calls the library, prints.
//! Exit codes: 0 success, 1 errors in the user's input, 2 usage or I/O.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use slo::diag::{self, Diagnostics};
use slo::driver;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

// Every print in this file goes through `slo::term`: human text is
// sanitized (no control characters or bidi overrides from sources, data or
// paths reach the terminal) and a closed stdout or stderr ends the process
// quietly with status 141 instead of panicking. These shadow std's macros
// so that no print here can bypass it; documents (JSON) are made safe with
// `term::json_safe` first, which leaves nothing for `sanitize` to change.
macro_rules! print {
    ($($t:tt)*) => { slo::term::out(&format!($($t)*)) };
}
macro_rules! println {
    ($($t:tt)*) => { slo::term::out(&(format!($($t)*) + "\n")) };
}
macro_rules! eprint {
    ($($t:tt)*) => { slo::term::err(&format!($($t)*)) };
}
macro_rules! eprintln {
    ($($t:tt)*) => { slo::term::err(&(format!($($t)*) + "\n")) };
}

#[derive(Parser)]
#[command(name = "slo", version, about = "Check, format and compile Service Level Objectives written in .slo")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check .slo files; print every diagnostic.
    Check {
        /// Files or directories (default: every *.slo under the current directory).
        paths: Vec<PathBuf>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors (exit 1).
        #[arg(long)]
        deny_warnings: bool,
        /// Project root: relative imports may not leave it (default: the current directory).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Rewrite .slo files in the canonical layout.
    Fmt {
        /// Files or directories (default: every *.slo under the current directory).
        paths: Vec<PathBuf>,
        /// Do not write; exit 1 and list the files that are not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Compile SLOs to Prometheus rule files (or Grafana dashboards), one per service.
    Compile {
        /// Files or directories (default: every *.slo under the current directory).
        paths: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = TargetArg::Prometheus)]
        target: TargetArg,
        /// Rule group evaluation interval.
        #[arg(long, default_value = "1m")]
        eval_interval: String,
        /// prometheus-operator: namespace of the PrometheusRule objects.
        #[arg(long, default_value = "monitoring")]
        namespace: String,
        /// prometheus-operator: a label for the PrometheusRule objects (repeatable), `key=value`.
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Thanos ruler: partial_response_strategy for every group.
        #[arg(long, value_parser = ["abort", "warn"])]
        partial_response: Option<String>,
        /// Do not write: exit 1 with a unified diff if OUT is not what the sources produce.
        #[arg(long)]
        check: bool,
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Replay the compiled rules over historical samples in Parquet, as Prometheus would evaluate them.
    Backtest {
        /// .slo files or directories (default: every *.slo under the current directory).
        paths: Vec<PathBuf>,
        /// Parquet files or directories in the native long layout (repeatable).
        #[arg(long, required = true, num_args = 1..)]
        data: Vec<PathBuf>,
        /// First evaluation: RFC 3339 or unix seconds (default: the data's first sample, rounded up to --step).
        #[arg(long)]
        from: Option<String>,
        /// Last evaluation: RFC 3339 or unix seconds (default: the data's last sample).
        #[arg(long)]
        to: Option<String>,
        /// Evaluation interval (also the compiled rules' group interval).
        #[arg(long, default_value = "1m")]
        step: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Write every recorded series and ALERTS at every evaluation to this Parquet file.
        #[arg(long)]
        timeline: Option<PathBuf>,
        /// Memory the whole run may hold (e.g. 512M, 2G; `auto`: half of physical memory); the query engine spills to disk within half of it.
        #[arg(long, default_value = "auto")]
        memory_limit: String,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Print the time each phase took.
        #[arg(long)]
        timing: bool,
        /// Write the report to this file (atomically) instead of stdout; required with --format html.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Incidents to grade the alerts against: CSV (start,end,service,slo,title) or YAML.
        /// Default: derived from the data as the periods that consumed --incident-budget of the budget.
        #[arg(long)]
        incidents: Option<PathBuf>,
        /// Derived incidents: the least share of the window's budget a period must consume.
        #[arg(long, default_value = "2%")]
        incident_budget: String,
        /// What-if sweep: objectives to evaluate every SLO at, e.g. 99.5%,99.9%,99.95%.
        #[arg(long, value_delimiter = ',')]
        objective: Vec<String>,
        /// What-if sweep: alert policies (presets) to evaluate every SLO with, e.g. google_28d,google_30d,pyrra;
        /// `own` is each SLO's own alerts.
        #[arg(long, value_delimiter = ',')]
        alerts: Vec<String>,
        /// The sweep recommends the highest objective whose budget never fell below this share.
        #[arg(long, default_value = "25%")]
        margin: String,
        /// Compliance report periods (calendar, in the SLO's time zone for calendar windows, else UTC).
        #[arg(long, value_enum, default_value_t = CompliancePeriodArg::Month)]
        compliance: CompliancePeriodArg,
        /// Benchmark baseline: only scan the same columns with the same filters and sum the values.
        #[arg(long, hide = true)]
        bare_scan: bool,
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Translate Sloth or OpenSLO files into .slo files (formatted; a diagnostic for anything untranslatable).
    Import {
        #[arg(value_enum)]
        from: ImportFrom,
        /// Sloth or OpenSLO YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory for the .slo files (one per service); default: print them.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Sloth's SLO period (its --default-slo-period).
        #[arg(long, default_value = "30d")]
        period: String,
    },
    /// Write .slo programs in another format.
    Export {
        #[arg(value_enum)]
        to: ExportTo,
        /// .slo files or directories (default: every *.slo under the current directory).
        paths: Vec<PathBuf>,
        /// Output file (multi-document YAML); default: stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Write realistic synthetic metrics (Parquet, native layout) for the SLOs in PATHS, or a generic HTTP service.
    Synth {
        /// .slo files or directories whose SLIs the data should feed (none: a generic http_requests_total).
        paths: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// Generic mode: number of series.
        #[arg(long, default_value_t = 20)]
        series: usize,
        #[arg(long, default_value_t = 35.0)]
        days: f64,
        /// Sample spacing.
        #[arg(long, default_value = "15s")]
        resolution: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First sample: RFC 3339 or unix seconds.
        #[arg(long, default_value = "2026-01-01T00:00:00Z")]
        start: String,
        /// An incident, OFFSET/DURATION/ERROR_RATIO[@JOB] (repeatable), e.g. 20d/2h/0.05@api.
        /// Default: a fast one (45m at 10%) at 60% of the range and a slow burn (10h at 1%) at 80%.
        #[arg(long = "incident")]
        incidents: Vec<String>,
        /// No incidents at all.
        #[arg(long, conflicts_with = "incidents")]
        no_incidents: bool,
        /// Requests per second per series at the daily peak.
        #[arg(long, default_value_t = 20.0)]
        peak_rps: f64,
        /// Error ratio outside incidents.
        #[arg(long, default_value_t = 0.0005)]
        error_ratio: f64,
        /// With .slo paths: instances per selector.
        #[arg(long, default_value_t = 2)]
        instances: usize,
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Metric data: import text/JSON into Parquet, inspect it, export it as OpenMetrics.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Print a stage's tree as JSON.
    Debug {
        #[arg(value_enum)]
        stage: Stage,
        file: PathBuf,
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Human,
    Json,
    Github,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum TargetArg {
    Prometheus,
    PrometheusOperator,
    Mimir,
    /// Grafana dashboards (JSON) over the prometheus target's recorded series.
    Grafana,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ReportFormat {
    Table,
    Json,
    /// One self-contained HTML file with charts (needs --out).
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFrom {
    Sloth,
    Openslo,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportTo {
    Openslo,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompliancePeriodArg {
    Week,
    Month,
}

/// `99.9%` or `0.999` as a ratio, computed from the decimal digits: 99.99999999999%
/// stays below 1 (its budget is 1e-13, not 0).
fn parse_ratio(flag: &str, s: &str) -> Result<f64, driver::IoError> {
    let bad = || driver::IoError::new(format!("{flag}: `{s}` is not a share like 99.9% or 0.999"));
    let p = slo::sema::eval::share_parts(s).ok_or_else(bad)?;
    if !p.precise() {
        return Err(driver::IoError::coded(
            slo::sema::eval::PERCENT_PRECISION,
            format!("{flag}: `{s}` is below 100% by {:e}, closer than a 64-bit float can hold", p.complement),
            "its complement (the error budget) would be off by more than 1% or be 0; use at most 14 nines, e.g. 99.999999999999%",
        ));
    }
    if p.ratio < 0.0 || p.vs_100 == std::cmp::Ordering::Greater {
        return Err(bad());
    }
    Ok(p.ratio)
}

#[derive(Clone, Copy, ValueEnum)]
enum Stage {
    Ast,
    Ir,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error[{}]: {}", e.code, e.message);
            if let Some(help) = &e.help {
                eprintln!("  help: {help}");
            }
            ExitCode::from(2)
        }
    }
}

/// Parses `--memory-limit` (a size, or `auto` for half of physical
/// memory), bounds the process by it and returns the query engine's share.
fn memory_limit_flag(flag: &str) -> Result<usize, driver::IoError> {
    let limit = if flag.trim().eq_ignore_ascii_case("auto") {
        slo::memory::default_limit()
    } else {
        match slo::backtest::parse_size(flag) {
            Some(n) if n >= 16 << 20 => n,
            _ => {
                return Err(driver::IoError::new(format!(
                    "--memory-limit: `{flag}` is not a size of 16M or more like 512M or 2G (or `auto`)"
                )))
            }
        }
    };
    slo::memory::set_limit(limit, flag.trim());
    Ok(slo::memory::engine_share(limit))
}

fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths
    }
}

fn root_for(root: Option<PathBuf>) -> PathBuf {
    root.unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
}

fn print_diags(diags: &Diagnostics, sources: &slo::source::SourceMap, format: Format) {
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
fn checked(
    files: &[PathBuf],
    root: Option<PathBuf>,
) -> Result<Option<(driver::Loaded, slo::ir::Program)>, driver::IoError> {
    let loaded = driver::load(files, &root_for(root))?;
    let (program, diags) = driver::check(&loaded);
    if diags.has_errors() {
        print_diags(&diags, &loaded.sources, Format::Human);
        return Ok(None);
    }
    Ok(Some((loaded, program)))
}

fn run(cli: Cli) -> Result<u8, driver::IoError> {
    match cli.command {
        Command::Check { paths, format, deny_warnings, root } => {
            let files = driver::expand(&default_paths(paths))?;
            if files.is_empty() {
                return Err(driver::IoError::new("no .slo files found"));
            }
            let loaded = driver::load(&files, &root_for(root))?;
            let (program, diags) = driver::check(&loaded);
            print_diags(&diags, &loaded.sources, format);
            let failed = diags.has_errors() || (deny_warnings && diags.warnings() > 0);
            if !failed && format == Format::Human {
                eprintln!(
                    "ok: {} services, {} SLOs checked in {} files",
                    program.services.len(),
                    program.slos.len(),
                    files.len()
                );
            }
            // The process ends here: skip freeing the trees node by node.
            std::mem::forget((loaded, program, diags));
            Ok(if failed { 1 } else { 0 })
        }
        Command::Compile { paths, out, target, eval_interval, namespace, labels, partial_response, check, root } => {
            let Some(eval_interval_ms) = slo::sema::eval::parse_duration(&eval_interval).filter(|ms| *ms >= 1000)
            else {
                return Err(driver::IoError::new(format!(
                    "--eval-interval: `{eval_interval}` is not a duration of 1s or more"
                )));
            };
            if let Some(why) = slo::names::k8s_namespace_problem(&namespace) {
                return Err(driver::IoError::coded(
                    "slo::flag::namespace",
                    format!("--namespace: `{namespace}` is not a Kubernetes namespace name: {why}"),
                    "a namespace is at most 63 lower-case letters, digits and `-`, starting and ending with a letter or digit",
                ));
            }
            let mut crd_labels = std::collections::BTreeMap::new();
            for l in labels {
                let Some((k, v)) = l.split_once('=') else {
                    return Err(driver::IoError::coded(
                        "slo::flag::label",
                        format!("--label: `{l}` is not key=value"),
                        "write `--label key=value`, e.g. `--label release=kube-prometheus`",
                    ));
                };
                if let Some(why) = slo::names::k8s_label_problem(k, v) {
                    return Err(driver::IoError::coded(
                        "slo::flag::label",
                        format!("--label: `{l}` is not a Kubernetes label: {why}"),
                        "keys are an optional DNS subdomain and `/`, then a name of at most 63 letters, digits, `-`, `_`, `.`; values are empty or such a name",
                    ));
                }
                crd_labels.insert(k.to_string(), v.to_string());
            }
            let opts = slo::promql::Options {
                target: match target {
                    TargetArg::Prometheus | TargetArg::Grafana => slo::promql::Target::Prometheus,
                    TargetArg::PrometheusOperator => slo::promql::Target::PrometheusOperator,
                    TargetArg::Mimir => slo::promql::Target::Mimir,
                },
                eval_interval_ms,
                namespace,
                crd_labels,
                partial_response,
                extra_windows: Default::default(),
            };
            let files = driver::expand(&default_paths(paths))?;
            let Some((loaded, program)) = checked(&files, root)? else { return Ok(1) };
            if let Err(errs) = slo::promql::validate(&program, &opts) {
                let ds = Diagnostics(errs.iter().map(|e| e.diagnostic()).collect());
                print_diags(&ds, &loaded.sources, Format::Human);
                return Ok(1);
            }
            type Outputs<'a> = Box<dyn Iterator<Item = Result<slo::promql::OutFile, slo::promql::OutputError>> + 'a>;
            let (outputs, kind): (Outputs, slo::outdir::Kind) = match target {
                TargetArg::Grafana => (Box::new(slo::grafana::files(&program, &opts)), slo::outdir::Kind::GRAFANA),
                _ => (Box::new(slo::promql::files(&program, &opts)), slo::outdir::Kind::rules(opts.target)),
            };
            slo::outdir::refuse_inputs(&out, &kind, &files)?;
            if check {
                return Ok(match slo::outdir::diff(&out, outputs, &kind)? {
                    None => {
                        eprintln!("up to date: {}", out.display());
                        0
                    }
                    Some(d) => {
                        print!("{d}");
                        eprintln!("{} is out of date: run `slo compile --out {}`", out.display(), out.display());
                        1
                    }
                });
            }
            let w = slo::outdir::write(&out, outputs, &kind)?;
            w.notes.iter().for_each(|n| eprintln!("note: {n}"));
            eprintln!(
                "compiled {} SLOs into {} files in {} ({} written, {} unchanged, {} stale removed)",
                program.slos.len(),
                w.files,
                out.display(),
                w.changed,
                w.unchanged,
                w.removed
            );
            std::mem::forget((loaded, program));
            Ok(0)
        }
        Command::Fmt { paths, check } => {
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
                        let id = sources.add(slo::source::Source::new(
                            f.display().to_string(),
                            lossy,
                            slo::source::Origin::User,
                        ));
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
        Command::Debug { stage, file, root } => {
            let text = String::from_utf8(slo::input::read_named("", &file)?)
                .map_err(|_| driver::IoError::new(format!("cannot read {}: not UTF-8", file.display())))?;
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
                            println!(
                                "{}",
                                slo::term::json_safe(&serde_json::to_string_pretty(&ast).expect("AST serializes"))
                            );
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
                    println!(
                        "{}",
                        slo::term::json_safe(&serde_json::to_string_pretty(&program).expect("IR serializes"))
                    );
                    Ok(if diags.has_errors() { 1 } else { 0 })
                }
            }
        }
        Command::Backtest {
            paths,
            data,
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
            incident_budget,
            objective,
            alerts,
            margin,
            compliance,
            bare_scan,
            root,
        } => {
            let time = |flag: &str, v: Option<String>| -> Result<Option<i64>, driver::IoError> {
                v.map(|v| {
                    slo::backtest::parse_time(&v).ok_or_else(|| {
                        driver::IoError::new(format!(
                            "{flag}: `{v}` is neither RFC 3339 (2026-01-31T00:00:00Z) nor unix seconds"
                        ))
                    })
                })
                .transpose()
            };
            let from_ms = time("--from", from)?;
            let to_ms = time("--to", to)?;
            let Some(step_ms) = slo::sema::eval::parse_duration(&step).filter(|ms| *ms >= 1000) else {
                return Err(driver::IoError::new(format!("--step: `{step}` is not a duration of 1s or more")));
            };
            let memory_limit = memory_limit_flag(&memory_limit)?;
            let files = driver::expand(&default_paths(paths))?;
            if files.is_empty() {
                return Err(driver::IoError::new("no .slo files found"));
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
                return Err(driver::IoError::new("--format html needs --out FILE"));
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
                    return Err(driver::IoError::coded(
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
            let mut extra_windows: std::collections::BTreeMap<(String, String), std::collections::BTreeSet<u64>> =
                Default::default();
            for name in &alerts {
                if name == "own" {
                    settings.presets.push(slo::backtest::analysis::Preset { name: name.clone(), alerts: None });
                    continue;
                }
                let per_slo = slo::sema::preset_alerts(&loaded.sources, &loaded.modules, name, &program.slos)
                    .map_err(|e| driver::IoError::new(format!("--alerts: {e}")))?;
                for (s, list) in program.slos.iter().zip(&per_slo) {
                    let w = extra_windows.entry((s.service.clone(), s.name.clone())).or_default();
                    w.extend(list.iter().flat_map(slo::ir::Alert::windows));
                }
                settings.presets.push(slo::backtest::analysis::Preset { name: name.clone(), alerts: Some(per_slo) });
            }
            let opts = slo::backtest::Options {
                data,
                from_ms,
                to_ms,
                step_ms: step_ms as i64,
                memory_limit,
                progress: !quiet,
                timing,
                extra_windows,
            };
            if bare_scan {
                let (sum, rows, secs) = slo::backtest::bare_scan(&program, &opts).map_err(driver::IoError::new)?;
                println!("bare scan: {rows} rows, sum(value) = {sum}, {secs:.3}s");
                return Ok(0);
            }
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
            if let Some(path) = &timeline {
                slo::memory::phase("writing the timeline");
                let n = slo::backtest::timeline::write(&bt, path).map_err(driver::IoError::new)?;
                if !quiet {
                    eprintln!("timeline: {n} samples written to {}", path.display());
                }
            }
            slo::memory::phase("building the report");
            let report = slo::backtest::report::build(&bt, &program, &settings);
            let text = match format {
                ReportFormat::Table => {
                    let color =
                        out.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
                    slo::backtest::report::table(&report, color)
                }
                ReportFormat::Json => {
                    slo::term::json_safe(&serde_json::to_string_pretty(&report).expect("report serializes"))
                        .into_owned()
                        + "\n"
                }
                ReportFormat::Html => slo::backtest::html::render(&bt, &program, &report),
            };
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
            std::mem::forget((bt, program));
            Ok(0)
        }
        Command::Import { from, files, out, period } => {
            if slo::sema::eval::parse_duration(&period).is_none() {
                return Err(driver::IoError::new(format!("--period: `{period}` is not a duration")));
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
            let done = slo::interop::finish(imports).map_err(driver::IoError::new)?;
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
                    std::fs::create_dir_all(dir)
                        .map_err(|e| driver::IoError::new(format!("cannot create {}: {e}", dir.display())))?;
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
        Command::Export { to: ExportTo::Openslo, paths, out, root } => {
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
        Command::Synth {
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
        } => {
            let Some(resolution_ms) = slo::sema::eval::parse_duration(&resolution).filter(|ms| *ms >= 1000) else {
                return Err(driver::IoError::new(format!(
                    "--resolution: `{resolution}` is not a duration of 1s or more"
                )));
            };
            let Some(start_ms) = slo::backtest::parse_time(&start) else {
                return Err(driver::IoError::new(format!("--start: `{start}` is neither RFC 3339 nor unix seconds")));
            };
            if !(days > 0.0 && days <= 3660.0) {
                return Err(driver::IoError::new(format!("--days: {days} is not between 0 and 3660")));
            }
            let day = 86_400_000.0;
            let mut parsed = Vec::new();
            for i in &incidents {
                parsed.push(slo::synth::Incident::parse(i).ok_or_else(|| {
                    driver::IoError::new(format!(
                        "--incident: `{i}` is not OFFSET/DURATION/RATIO[@JOB], e.g. 20d/2h/0.05@api"
                    ))
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
        Command::Data { command } => run_data(command),
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a failed write.
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "slo", &mut buf);
            slo::term::out_raw(&String::from_utf8_lossy(&buf));
            Ok(0)
        }
    }
}

#[derive(Subcommand)]
enum DataCommand {
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
enum ImportFormat {
    Auto,
    PromApi,
    Openmetrics,
    PromText,
    TsdbDump,
}

#[derive(Clone, Copy, ValueEnum)]
enum InspectFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Openmetrics,
}

fn run_data(command: DataCommand) -> Result<u8, driver::IoError> {
    use slo::metrics::{self, import::Format as F};
    let source = |paths: Vec<PathBuf>, memory_limit: &str| -> Result<slo::backtest::data::Source, driver::IoError> {
        Ok(slo::backtest::data::Source { paths, memory_limit: memory_limit_flag(memory_limit)? })
    };
    let data_failure = |errs| {
        let f = slo::backtest::data_failure(slo::source::SourceMap::new(), errs);
        print_diags(&Diagnostics(f.diagnostics), &f.sources, Format::Human);
        f.exit
    };
    match command {
        DataCommand::Import { inputs, from, out, default_time, nan_as_stale, max_errors } => {
            let default_time_ms = match default_time {
                None => None,
                Some(t) => Some(slo::backtest::parse_time(&t).ok_or_else(|| {
                    driver::IoError::new(format!("--default-time: `{t}` is neither RFC 3339 nor unix seconds"))
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
                        (Some(a), Some(b)) => format!(" from {} to {}", metrics::fmt_ms(a), metrics::fmt_ms(b)),
                        _ => String::new(),
                    };
                    let formats: Vec<String> = s.files.iter().map(|(f, k)| format!("{f} ({})", k.name())).collect();
                    eprintln!(
                        "imported {} series, {} samples ({} staleness markers, {} exact duplicates dropped){range} from {} into {}",
                        s.series,
                        s.samples - s.stale_markers,
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
        DataCommand::Inspect { paths, format, slos, memory_limit } => {
            let src = source(paths, &memory_limit)?;
            let program = if slos.is_empty() {
                None
            } else {
                let files = driver::expand(&slos)?;
                if files.is_empty() {
                    return Err(driver::IoError::new("--slo: no .slo files found"));
                }
                let Some((_, program)) = checked(&files, None)? else { return Ok(1) };
                Some(program)
            };
            match metrics::inspect::run(&src, program.as_ref()) {
                Ok(mut r) => {
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
        DataCommand::Export { paths, format: ExportFormat::Openmetrics, out, memory_limit } => {
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
                Err(metrics::export::Failure::Write(m)) => Err(driver::IoError::new(m)),
            }
        }
    }
}

// The front end allocates many small nodes; mimalloc is markedly faster
// than glibc's allocator at that (bench/check_10k.py).
// Wrapped to count what the process holds, for --memory-limit.
#[global_allocator]
static GLOBAL: slo::memory::Capped<mimalloc::MiMalloc> = slo::memory::Capped::new(mimalloc::MiMalloc);
