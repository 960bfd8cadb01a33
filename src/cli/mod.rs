//! The command line, one file per command: each parses its flags into an
//! `Args`, calls the library and prints. Shared here: how diagnostics are
//! printed, loading and checking sources, and the flags several commands
//! take. Every print goes through `slo::term` (see the macros in main.rs).

pub mod backfill;
pub mod backtest;
pub mod check;
pub mod compile;
pub mod data;
pub mod debug;
pub mod doc;
pub mod export;
pub mod fmt;
pub mod import;
pub mod lsp;
pub mod synth;
pub mod worker;

use clap::ValueEnum;
use slo::diag::{self, Diagnostics};
use slo::driver;
use slo::error::Error;
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
pub fn parse_ratio(flag: &str, s: &str) -> Result<f64, Error> {
    let bad = || Error::new(format!("{flag}: `{s}` is not a share like 99.9% or 0.999"));
    let p = slo::units::share_parts(s).ok_or_else(bad)?;
    if !p.precise() {
        return Err(Error::coded(
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
pub fn memory_limit_flag(flag: &str) -> Result<usize, Error> {
    let limit = if flag.trim().eq_ignore_ascii_case("auto") {
        slo::memory::default_limit()
    } else {
        match slo::units::parse_size(flag) {
            Some(n) if n >= 16 << 20 => n,
            _ => {
                return Err(Error::new(format!(
                    "--memory-limit: `{flag}` is not a size of 16M or more like 512M or 2G (or `auto`)"
                )))
            }
        }
    };
    slo::memory::set_limit(limit, flag.trim());
    Ok(slo::memory::engine_share(limit))
}

/// Where and how `slo data pull` and `slo backtest --url` reach the
/// server (the URL is each command's own flag).
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// Send `Authorization: Bearer <token>`, the token read from this file.
    #[arg(long, value_name = "FILE")]
    pub bearer_token_file: Option<PathBuf>,
    /// Basic auth: the user, and a file holding the password.
    #[arg(long, value_name = "USER:PASSWORD_FILE")]
    pub basic_auth: Option<String>,
    /// PEM file of the CA certificate(s) to trust instead of the Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the server's TLS certificate (test servers only).
    #[arg(long)]
    pub insecure_skip_verify: bool,
    /// Extra request header (repeatable), e.g. 'X-Scope-OrgID: tenant-1' for Mimir or Cortex.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Time range of one request; a piece the server finds too large is split.
    #[arg(long, default_value = "2h")]
    pub chunk: String,
    /// Time one request may take.
    #[arg(long, default_value = "2m")]
    pub timeout: String,
    /// Retries of a request that failed with 429, 5xx or a connection error (exponential backoff).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// How to read samples: remote read (`/api/v1/read`, streamed chunks where offered) when the
    /// server has it, else instant queries of range vectors (`auto`); or only one of them.
    #[arg(long, value_enum, default_value_t = ApiArg::Auto)]
    pub api: ApiArg,
    /// Pulled NaN values are staleness markers (for a TSDB backfilled from text, where markers became NaN).
    #[arg(long)]
    pub nan_as_stale: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ApiArg {
    Auto,
    RemoteRead,
    /// Remote read of samples, never streamed chunks (for the tests).
    #[value(hide = true)]
    RemoteReadSamples,
    Query,
}

fn duration_flag(flag: &str, v: &str) -> Result<u64, Error> {
    slo::units::parse_duration(v)
        .filter(|ms| *ms >= 1000)
        .ok_or_else(|| Error::new(format!("{flag}: `{v}` is not a duration of 1s or more")))
}

/// How to reach the server at `url`.
pub fn http_settings(url: &str, server: &ServerArgs) -> Result<slo::metrics::http::Settings, Error> {
    Ok(slo::metrics::http::Settings {
        url: url.to_string(),
        headers: server.headers.clone(),
        bearer_token_file: server.bearer_token_file.clone(),
        basic_auth: server.basic_auth.clone(),
        ca_file: server.ca_file.clone(),
        insecure_skip_verify: server.insecure_skip_verify,
        timeout: std::time::Duration::from_millis(duration_flag("--timeout", &server.timeout)?),
        retries: server.retries.min(20),
    })
}

/// When the rule groups are evaluated (`slo backtest`, `slo backfill`):
/// on the plain grid, or at the offsets a Prometheus server gives them.
#[derive(clap::Args, Clone, Default)]
pub struct ScheduleArgs {
    /// Evaluate each rule group at the offset a Prometheus server gives it when it loads the
    /// compiled rule files from this directory (the path its `rule_files` expand to, as
    /// `/api/v1/rules` shows it, e.g. /etc/prometheus/rules); --from is then the deployment time.
    #[arg(long, value_name = "DIR", conflicts_with = "offsets_from_server")]
    pub rule_dir: Option<String>,
    /// With --rule-dir: how the server hashes group names. `stringlabels`: Prometheus 3 and the
    /// official 2.x release binaries; `slicelabels`: 2.x builds without that tag (Debian's 2.x).
    #[arg(long, value_enum, default_value_t = LabelsHashArg::Stringlabels, requires = "rule_dir")]
    pub labels_hash: LabelsHashArg,
    /// Evaluate each rule group at the offset the server at --url evaluates it (the compiled
    /// rules must be deployed there: read from the timestamps of their `slo:info` samples).
    #[arg(long, requires = "url")]
    pub offsets_from_server: bool,
    /// With --rule-dir or --offsets-from-server: the groups' `query_offset` (or the server's
    /// `rule_query_offset`). It moves the evaluations (with --rule-dir; the server's offsets
    /// already include it) and the alerts' `activeAt` in ALERTS_FOR_STATE, which Prometheus
    /// takes from the evaluation before the offset.
    #[arg(long, value_name = "DURATION")]
    pub query_offset: Option<String>,
    /// A time range in which the server evaluated no rules (down, or the rules not yet loaded),
    /// as FROM..TO (RFC 3339 or unix seconds; repeatable): nothing is evaluated in it.
    #[arg(long, value_name = "FROM..TO")]
    pub downtime: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum, Default)]
pub enum LabelsHashArg {
    #[default]
    Stringlabels,
    Slicelabels,
}

impl ScheduleArgs {
    /// `--query-offset` in ms (0 without it).
    pub fn query_offset_ms(&self) -> Result<i64, Error> {
        match &self.query_offset {
            Some(_) if self.rule_dir.is_none() && !self.offsets_from_server => {
                Err(Error::new("--query-offset needs --rule-dir or --offsets-from-server (the server's schedule)"))
            }
            Some(q) => slo::units::parse_duration(q)
                .map(|ms| ms as i64)
                .ok_or_else(|| Error::new(format!("--query-offset: `{q}` is not a duration like 30s or 1m"))),
            None => Ok(0),
        }
    }

    /// `--downtime` as `[from, to)` in ms.
    pub fn downtime(&self) -> Result<Vec<(i64, i64)>, Error> {
        self.downtime
            .iter()
            .map(|r| {
                let bad = || {
                    Error::new(format!("--downtime: `{r}` is not FROM..TO (RFC 3339 or unix seconds, FROM before TO)"))
                };
                let (a, b) = r.split_once("..").ok_or_else(bad)?;
                let (a, b) = (slo::units::parse_time(a).ok_or_else(bad)?, slo::units::parse_time(b).ok_or_else(bad)?);
                if b <= a {
                    return Err(bad());
                }
                Ok((a, b))
            })
            .collect()
    }

    /// The per-group phases of [`slo::backtest::Options::phases`], or
    /// `None` for the plain grid.
    pub fn phases(
        &self,
        program: &slo::ir::Program,
        url: Option<&str>,
        server: &ServerArgs,
        step_ms: i64,
    ) -> Result<Option<Vec<i64>>, Error> {
        let interval = slo::units::Duration::from_ms(step_ms as u64);
        if let Some(dir) = &self.rule_dir {
            let how = match self.labels_hash {
                LabelsHashArg::Stringlabels => slo::promql::schedule::LabelsHash::String,
                LabelsHashArg::Slicelabels => slo::promql::schedule::LabelsHash::Slice,
            };
            let q = slo::units::Duration::from_ms(self.query_offset_ms()? as u64);
            return Ok(Some(slo::promql::schedule::phases(program, dir, how, q, interval)));
        }
        if self.offsets_from_server {
            let Some(url) = url else { return Err(Error::new("--offsets-from-server needs --url")) };
            let slos: Vec<(String, String)> =
                program.slos.iter().map(|s| (s.service.clone(), s.name.clone())).collect();
            return Ok(Some(slo::metrics::pull::group_phases(&http_settings(url, server)?, &slos, step_ms)?));
        }
        Ok(None)
    }
}

/// [`pull`] into a temporary directory (removed when the returned guard
/// drops): for `backtest --url` and `backfill --url`.
pub fn pull_to_temp(
    program: &slo::ir::Program,
    url: &str,
    server: &ServerArgs,
    range: (i64, i64, i64),
    quiet: bool,
) -> Result<(PathBuf, tempfile::TempDir), Error> {
    let dir = tempfile::Builder::new()
        .prefix(".slo-pull-")
        .tempdir()
        .map_err(|e| Error::new(format!("cannot create a temporary directory: {e}")))?;
    let path = dir.path().join("pulled.parquet");
    pull(program, url, server, range, &path, quiet)?;
    Ok((path, dir))
}

/// Pulls the raw series `program`'s rules read over `from .. to` (plus
/// their lead-in) from `url` into `out`, printing the summary and warnings.
pub fn pull(
    program: &slo::ir::Program,
    url: &str,
    server: &ServerArgs,
    (from_ms, to_ms, step_ms): (i64, i64, i64),
    out: &std::path::Path,
    quiet: bool,
) -> Result<slo::metrics::pull::Summary, Error> {
    let settings = http_settings(url, server)?;
    let (sels, lead_ms) = slo::backtest::raw_reads(program, step_ms).map_err(|e| {
        Error::coded("slo::backtest::unsupported", e, "the compiled rules could not be planned; please report this")
    })?;
    if sels.is_empty() {
        return Err(Error::coded(
            "slo::pull::nothing",
            "the SLOs read no raw series (only composites or recorded series?)",
            "name the .slo files whose SLIs read metrics",
        ));
    }
    let opts = slo::metrics::pull::Options {
        from_ms,
        lead_ms,
        to_ms,
        chunk_ms: duration_flag("--chunk", &server.chunk)? as i64,
        nan_as_stale: server.nan_as_stale,
        progress: !quiet && std::io::stderr().is_terminal(),
        api: match server.api {
            ApiArg::Auto => slo::metrics::pull::Api::Auto,
            ApiArg::RemoteRead => slo::metrics::pull::Api::RemoteRead,
            ApiArg::RemoteReadSamples => slo::metrics::pull::Api::RemoteReadSamples,
            ApiArg::Query => slo::metrics::pull::Api::Query,
        },
    };
    slo::memory::phase("pulling the data");
    let s = slo::metrics::pull::run(&settings, &sels, &opts, out)?;
    for sel in &s.unmatched {
        eprintln!("warning[slo::pull::no_match]: {sel} matches no series on the server in the range");
    }
    for w in &s.server_warnings {
        eprintln!("warning[slo::pull::server_warning]: the server warns: {w}");
    }
    if !quiet {
        let range = match (s.first_ms, s.last_ms) {
            (Some(a), Some(b)) => format!(" from {} to {}", slo::units::fmt_ts(a), slo::units::fmt_ts(b)),
            _ => String::new(),
        };
        let hist = match s.native_histograms {
            0 => String::new(),
            n => format!(", {n} native-histogram samples"),
        };
        eprintln!(
            "pulled {} series, {} samples ({} staleness markers{hist}){range} through the {} ({} selectors, {} requests, {} retries, {} split, {:.1} MiB) in {:.1}s ({:.0} samples/s) into {}",
            s.series,
            s.samples - s.stale_markers - s.native_histograms,
            s.stale_markers,
            s.api.join(" and "),
            s.selectors.len(),
            s.traffic.requests,
            s.traffic.retries,
            s.splits,
            s.traffic.bytes as f64 / (1 << 20) as f64,
            s.seconds,
            s.samples as f64 / s.seconds.max(1e-9),
            out.display()
        );
    }
    Ok(s)
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
pub fn checked(files: &[PathBuf], root: Option<PathBuf>) -> Result<Option<(driver::Loaded, slo::ir::Program)>, Error> {
    let loaded = driver::load(files, &root_for(root))?;
    let (program, diags) = driver::check(&loaded);
    if diags.has_errors() {
        print_diags(&diags, &loaded.sources, Format::Human);
        return Ok(None);
    }
    Ok(Some((loaded, program)))
}

/// `--check` of a command that writes an output directory: prints the
/// difference and exits 1 when `out` is not what `command` would write.
pub fn check_dir<E: std::fmt::Display>(
    out: &std::path::Path,
    files: impl IntoIterator<Item = Result<slo::promql::OutFile, E>>,
    kind: &slo::outdir::Kind,
    command: &str,
) -> Result<u8, Error> {
    Ok(match slo::outdir::diff(out, files, kind)? {
        None => {
            eprintln!("up to date: {}", out.display());
            0
        }
        Some(d) => {
            print!("{d}");
            eprintln!("{} is out of date: run `{command} --out {}`", out.display(), out.display());
            1
        }
    })
}

/// Hands over what a command built when the process is about to exit:
/// freeing large trees node by node would only delay the exit (the OS
/// reclaims the memory at once). Only for values whose drop does nothing
/// but free memory (no files to flush, no temporary files to remove).
pub fn leak_at_exit<T>(value: T) {
    std::mem::forget(value);
}
