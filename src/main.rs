//! The `slo` command line: parses flags, calls the library, prints.
//! Exit codes: 0 success, 1 errors in the user's input, 2 usage or I/O.

use clap::{CommandFactory, Parser, Subcommand};
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

mod cli;

#[derive(Parser)]
#[command(name = "slo", version, about = "Check, format and compile Service Level Objectives written in .slo")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check .slo files; print every diagnostic.
    Check(cli::check::Args),
    /// Rewrite .slo files in the canonical layout.
    Fmt(cli::fmt::Args),
    /// Compile SLOs to Prometheus rule files (or Grafana dashboards), one per service.
    Compile(cli::compile::Args),
    /// Replay the compiled rules over historical samples in Parquet, as Prometheus would evaluate them.
    Backtest(Box<cli::backtest::Args>),
    /// Translate Sloth or OpenSLO files into .slo files (formatted; a diagnostic for anything untranslatable).
    Import(cli::import::Args),
    /// Write .slo programs in another format.
    Export(cli::export::Args),
    /// Write realistic synthetic metrics (Parquet, native layout) for the SLOs in PATHS, or a generic HTTP service.
    Synth(cli::synth::Args),
    /// Metric data: import text/JSON into Parquet, inspect it, export it as OpenMetrics.
    Data {
        #[command(subcommand)]
        command: cli::data::Command,
    },
    /// Print a stage's tree as JSON.
    Debug(cli::debug::Args),
    /// Write what the rules would have recorded over history as Prometheus TSDB blocks.
    Backfill(Box<cli::backfill::Args>),
    /// Markdown reference: the standard library (`--stdlib`), or a catalogue of the services and SLOs in PATHS.
    Doc(cli::doc::Args),
    /// Run the language server over stdin/stdout (for editors).
    Lsp(cli::lsp::Args),
    /// Serve as a worker of distributed backtests (`slo backtest --workers`), until stopped.
    Worker(cli::worker::Args),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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

fn run(cli: Cli) -> Result<u8, slo::error::Error> {
    match cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Fmt(args) => cli::fmt::run(args),
        Command::Compile(args) => cli::compile::run(args),
        Command::Backtest(args) => cli::backtest::run(*args),
        Command::Import(args) => cli::import::run(args),
        Command::Export(args) => cli::export::run(args),
        Command::Synth(args) => cli::synth::run(args),
        Command::Data { command } => cli::data::run(command),
        Command::Debug(args) => cli::debug::run(args),
        Command::Backfill(args) => cli::backfill::run(*args),
        Command::Doc(args) => cli::doc::run(args),
        Command::Lsp(args) => cli::lsp::run(args),
        Command::Worker(args) => cli::worker::run(args),
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a failed write.
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "slo", &mut buf);
            slo::term::out_raw(&String::from_utf8_lossy(&buf));
            Ok(0)
        }
    }
}

// The front end allocates many small nodes; mimalloc is markedly faster
// than glibc's allocator at that (bench/check_10k.py).
// Wrapped to count what the process holds, for --memory-limit.
#[global_allocator]
static GLOBAL: slo::memory::Capped<mimalloc::MiMalloc> = slo::memory::Capped::new(mimalloc::MiMalloc);
