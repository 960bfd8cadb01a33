//! `slo backfill`: the history the compiled rules would have recorded, as
//! Prometheus TSDB blocks.
//!
//! The replay computes every recorded series (chained rules included),
//! `ALERTS` and `ALERTS_FOR_STATE` at the times the server evaluates each
//! group (see [`crate::promql::schedule`]); they go out as OpenMetrics
//! text ([`super::export`]) and `promtool tsdb create-blocks-from
//! openmetrics` turns that into blocks. The blocks are built in a
//! temporary directory beside the output and swapped in whole: a rerun
//! replaces the blocks of the previous run (listed in
//! [`MANIFEST`]) instead of adding overlapping ones, and a failed run
//! leaves the earlier output untouched.
//!
//! What the blocks cannot hold: staleness markers (OpenMetrics has no
//! spelling for them), so a series that ended inside the backfilled range
//! stays visible to instant queries for the 5 minutes of lookback after its
//! last sample, where the live server would have hidden it at once.

use crate::backtest::Backtest;
use crate::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file in the output directory listing the blocks slo wrote there.
pub const MANIFEST: &str = ".slo-backfill";

/// What a backfill wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub samples: u64,
    pub series: u64,
    /// The block directories (ULIDs), sorted.
    pub blocks: Vec<String>,
    /// The OpenMetrics text, when kept (`--openmetrics`).
    pub openmetrics: Option<PathBuf>,
}

/// How to write the blocks.
pub struct Options<'a> {
    /// The `promtool` to run; `None`: only write the OpenMetrics text to
    /// `out` (a file then, not a directory).
    pub promtool: Option<&'a Path>,
    /// promtool's `--max-block-duration` (e.g. `24h`), if given.
    pub max_block_duration: Option<String>,
    /// Added to `ALERTS_FOR_STATE` values (see
    /// [`crate::backtest::timeline::write_with_for_state`]).
    pub query_offset_ms: i64,
    /// The query engine's memory share for reading the series back.
    pub memory_limit: usize,
}

/// Writes the replay's series as blocks into `out` (see the module docs).
/// Whether `out` may take the blocks is decided when they are swapped in
/// (callers check it with [`check_out`] before the replay, to fail early).
pub fn write(bt: &Backtest, out: &Path, opts: &Options) -> Result<Written, Error> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let work = tempfile::Builder::new()
        .prefix(".slo-backfill-")
        .tempdir_in(&parent)
        .map_err(|e| Error::new(format!("cannot create a temporary directory in {}: {e}", parent.display())))?;
    let timeline = work.path().join("timeline.parquet");
    crate::memory::phase("writing the recorded series");
    crate::backtest::timeline::write_with_for_state(bt, &timeline, opts.query_offset_ms)?;
    let text = match opts.promtool {
        Some(_) => work.path().join("series.om"),
        None => out.to_path_buf(),
    };
    let src = crate::layout::reader::Source::new(vec![timeline.clone()], opts.memory_limit);
    let w = match super::export::run(&src, &text) {
        Ok(w) => w,
        Err(super::export::Failure::Write(e)) => return Err(e),
        Err(super::export::Failure::Data(es)) => {
            let msg = es.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
            return Err(Error::coded(
                "slo::backfill::internal",
                format!("the recorded series could not be read back: {msg}"),
                "please report this",
            ));
        }
    };
    let mut written = Written { samples: w.samples, series: w.series, ..Default::default() };
    let Some(promtool) = opts.promtool else {
        written.openmetrics = Some(out.to_path_buf());
        return Ok(written);
    };
    if w.samples == 0 {
        return Err(Error::coded(
            "slo::backfill::empty",
            "the rules recorded nothing in the range",
            "check --from/--to against the data's range (`slo data inspect`)",
        ));
    }
    // promtool writes the blocks into a fresh directory beside the output.
    let fresh = work.path().join("blocks");
    crate::memory::phase("building the blocks");
    let mut cmd = Command::new(promtool);
    cmd.args(["tsdb", "create-blocks-from", "openmetrics"]);
    if let Some(d) = &opts.max_block_duration {
        cmd.arg(format!("--max-block-duration={d}"));
    }
    let run = cmd.arg(&text).arg(&fresh).output().map_err(|e| {
        Error::coded(
            "slo::backfill::promtool",
            format!("cannot run {}: {e}", promtool.display()),
            "install promtool (Debian: `apt-get install prometheus`) or name it with --promtool; --openmetrics FILE writes the text for another tool",
        )
    })?;
    if !run.status.success() {
        return Err(Error::coded(
            "slo::backfill::promtool",
            format!(
                "{} tsdb create-blocks-from openmetrics failed ({}): {}",
                promtool.display(),
                run.status,
                String::from_utf8_lossy(&run.stderr).trim()
            ),
            "see promtool's message; --openmetrics FILE writes the text alone",
        ));
    }
    let mut blocks: Vec<String> = std::fs::read_dir(&fresh)
        .map_err(|e| Error::write(&fresh, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("meta.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    blocks.sort();
    std::fs::write(fresh.join(MANIFEST), blocks.join("\n") + "\n").map_err(|e| Error::write(&fresh, e))?;
    swap_in(&fresh, out)?;
    written.blocks = blocks;
    Ok(written)
}

/// Whether blocks may be written to `out`: it must not exist, be empty,
/// or hold only what an earlier backfill wrote (its manifest says what);
/// anything else in it is refused, never deleted. Returns whether it exists.
pub fn check_out(out: &Path) -> Result<bool, Error> {
    let existing: Vec<String> = match std::fs::read_dir(out) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(_) if out.exists() && !out.is_dir() => return Err(refuse(out, "it is not a directory")),
        Err(e) => return Err(Error::read(out, e)),
    };
    if !existing.is_empty() {
        let listed: std::collections::BTreeSet<String> = match std::fs::read_to_string(out.join(MANIFEST)) {
            Ok(t) => t.lines().map(str::to_string).collect(),
            Err(_) => return Err(refuse(out, "it is not empty and no earlier `slo backfill` wrote it")),
        };
        if let Some(other) = existing.iter().find(|n| *n != MANIFEST && !listed.contains(*n)) {
            return Err(refuse(out, &format!("it holds `{other}`, which no earlier `slo backfill` wrote")));
        }
    }
    Ok(true)
}

/// Puts the directory `fresh` at `out` (see [`check_out`]).
fn swap_in(fresh: &Path, out: &Path) -> Result<(), Error> {
    if !check_out(out)? {
        return std::fs::rename(fresh, out).map_err(|e| Error::write(out, e));
    }
    // Old output aside, new in, old removed: a crash in between leaves
    // either the old or the new directory at `out`, and the other beside it.
    let old = out.with_file_name(format!(
        ".slo-backfill-old-{}-{}",
        std::process::id(),
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    std::fs::rename(out, &old).map_err(|e| Error::write(out, e))?;
    if let Err(e) = std::fs::rename(fresh, out) {
        let _ = std::fs::rename(&old, out);
        return Err(Error::write(out, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

fn refuse(out: &Path, why: &str) -> Error {
    Error::coded(
        "slo::backfill::out",
        format!("will not write blocks into {}: {why}", out.display()),
        "name a new or empty directory, or one an earlier `slo backfill` wrote",
    )
}
