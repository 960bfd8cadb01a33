//! The backtester's reads of the data: the schema check and time range of
//! the metrics its leaves select ([`probe`]), the filtered scan that streams
//! every selected series through the leaves on worker threads ([`scan`]),
//! and the DataFusion-only baseline of the benchmark ([`bare_scan`]). The
//! native layout itself — columns, session, series assembly — is
//! [`crate::layout::reader`]'s.

use super::leaves::Leaves;
use super::range::Samples;
use crate::layout::reader::{
    all_match, all_within, columns, file_facts, filtered, frame, millis, rows, scan_error, schema_error, series_text,
    session, ts_literal, Columns, Footer, Job, Pass, Strings,
};
pub use crate::layout::reader::{DataError, Source, Stats, MAX_MS, MIN_MS};
use crate::layout::schema::NAME;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::prelude::*;

/// Rows a scan must read: the metrics the leaves select, within `[lo, hi]`;
/// `None` when every row is one of them. A part of the filter the files'
/// statistics prove true of every row is left out ([`all_match`],
/// [`all_within`]): testing it would only decode columns for nothing.
fn predicate(cols: &Columns, leaves: &Leaves, lo: i64, hi: i64, footers: &[Footer]) -> Option<Expr> {
    let mut alts: Vec<Vec<(String, String)>> = Vec::new();
    let mut unfiltered = false;
    for spec in &leaves.specs {
        let mut conj = Vec::new();
        for (k, v) in spec.sel.equalities() {
            if k == NAME {
                conj.push((cols.name.clone(), v));
            } else if cols.labels.contains(&k) {
                conj.push((k, v));
            }
        }
        if conj.is_empty() {
            unfiltered = true;
            break;
        }
        alts.push(conj);
    }
    let ts = ident(&cols.timestamp);
    let time = (!all_within(footers, cols, lo, hi))
        .then(|| ts.clone().gt_eq(ts_literal(&cols.ts_type, lo)).and(ts.lt_eq(ts_literal(&cols.ts_type, hi))));
    if unfiltered || alts.is_empty() || all_match(footers, &alts) {
        return time;
    }
    let any = alts
        .into_iter()
        .filter_map(|conj| conj.into_iter().map(|(c, v)| ident(c).eq(lit(v))).reduce(Expr::and))
        .reduce(Expr::or)?;
    Some(match time {
        Some(t) => any.and(t),
        None => any,
    })
}

/// The selected metrics' first and last timestamps (if any), their row
/// count, and how many of their rows have a timestamp outside
/// [`MIN_MS`]..=[`MAX_MS`] (skipped, and said so).
type Probe = (Option<(i64, i64)>, u64, u64);

/// The schema check and the data's time range for the selected metrics.
pub fn probe(src: &Source, leaves: &Leaves, rt: &tokio::runtime::Runtime) -> Result<Probe, Vec<DataError>> {
    rt.block_on(async {
        let ctx = session(src, 2).map_err(|e| vec![e])?;
        let (df, footers) = frame(&ctx, src, Strings::Dictionaries).await?;
        let cols = columns(df.schema())?;
        let ts = ident(&cols.timestamp);
        // Rows outside the range: none when the statistics say so.
        let outside = if all_within(&footers, &cols, MIN_MS, MAX_MS) {
            0
        } else {
            let out_of_range =
                ts.clone().lt(ts_literal(&cols.ts_type, MIN_MS)).or(ts.gt(ts_literal(&cols.ts_type, MAX_MS)));
            let outside = match predicate(&cols, leaves, i64::MIN / 4, i64::MAX / 4, &footers) {
                Some(p) => p.and(out_of_range),
                None => out_of_range,
            };
            let outside = df
                .clone()
                .filter(outside)
                .and_then(|d| d.aggregate(vec![], vec![count(ident(&cols.timestamp)).alias("n")]))
                .map_err(|e| vec![DataError::Engine { message: e.to_string() }])?
                .collect()
                .await
                .map_err(|e| vec![scan_error(&src.paths, e)])?;
            match outside.first().filter(|b| b.num_rows() > 0) {
                Some(b) => {
                    let n = cast(b.column(0), &DataType::Int64)
                        .map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
                    n.as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0) as u64
                }
                None => 0,
            }
        };
        let ts = ident(&cols.timestamp);
        // min/max keep the column's type; `millis` converts the result.
        let ts_ms = ts.clone();
        let df = filtered(df, predicate(&cols, leaves, MIN_MS, MAX_MS, &footers))
            .and_then(|d| {
                d.aggregate(vec![], vec![min(ts_ms.clone()).alias("lo"), max(ts_ms).alias("hi"), count(ts).alias("n")])
            })
            .map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
        let batches = df.collect().await.map_err(|e| vec![scan_error(&src.paths, e)])?;
        let b = batches.first().filter(|b| b.num_rows() > 0);
        let Some(b) = b else { return Ok((None, 0, outside)) };
        let lo = millis(b.column(0)).map_err(|m| vec![DataError::Engine { message: m }])?;
        let hi = millis(b.column(1)).map_err(|m| vec![DataError::Engine { message: m }])?;
        let n = cast(b.column(2), &DataType::Int64).map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
        let n = n.as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0) as u64;
        if lo.is_null(0) || hi.is_null(0) {
            return Ok((None, n, outside));
        }
        Ok((Some((lo.value(0), hi.value(0))), n, outside))
    })
}

/// Whole series waiting for each leaf worker: enough to keep it busy, few
/// enough that the read does not run far ahead of the leaves with series
/// (megabytes each) in hand.
const QUEUED: usize = 2;

/// How many threads [`scan`] folds series into leaves on, each into
/// leaves of its own (merged when the scan ends).
pub fn leaf_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

/// Streams every selected series within `[lo, hi]` into `leaves`.
pub fn scan(
    src: &Source,
    leaves: &mut Leaves,
    lo: i64,
    hi: i64,
    rt: &tokio::runtime::Runtime,
    progress: &indicatif::ProgressBar,
) -> Result<Stats, Vec<DataError>> {
    let facts = file_facts(&rt.block_on(src.footers()).map_err(|e| vec![e])?);
    if !facts.repeated_columns.is_empty() {
        return Err(facts
            .repeated_columns
            .iter()
            .map(|(f, c)| {
                schema_error(
                    format!("{}: column `{c}` appears more than once", f.display()),
                    "a series has one value per label: drop or rename the repeated columns",
                )
            })
            .collect());
    }
    for sorted in [false, true] {
        let specs = leaves.specs.clone();
        let grids = leaves.grids();
        let gate = leaves.gate();
        leaves.reset_gate();
        let fresh = Leaves::phased(specs.clone(), grids.clone()).gated(gate.clone());
        let missed = std::cell::RefCell::new(vec![std::collections::BTreeSet::new(); specs.len()]);
        // Workers fold finished series into their own leaves while the scan
        // goes on; series are dealt round-robin, so the merge is deterministic.
        let n = leaf_workers();
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..n {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(QUEUED);
            let (specs, grids, gate) = (specs.clone(), grids.clone(), gate.clone());
            senders.push(tx);
            handles.push(std::thread::spawn(move || {
                let mut lv = Leaves::phased(specs, grids).gated(gate);
                for job in rx {
                    let mut s = Samples::new(job.ts, job.v);
                    lv.feed(&job.key, &mut s, &job.stale, &job.hist);
                }
                lv
            }));
        }
        let outcome = rt.block_on(async {
            let ctx = session(src, 1).map_err(|e| vec![e])?;
            let (mut stream, cols) =
                rows(&ctx, src, sorted, |cols, footers| predicate(cols, &fresh, lo, hi, footers)).await?;
            let wants = |k: &[(String, String)]| {
                fresh.note_missed_buckets(k, &mut missed.borrow_mut());
                fresh.wants(k)
            };
            let mut sent = 0usize;
            let mut sink = |job: Job| {
                // A worker only goes away by panicking; its join reports that.
                let _ = senders[sent % senders.len()].send(job);
                sent += 1;
            };
            Pass::new(&wants, &mut sink, sorted, lo, hi)
                .with_histograms()
                .drain(&mut stream, &cols, &src.paths, |rows| progress.inc(rows as u64))
                .await
        });
        drop(senders);
        let mut merged = fresh;
        for h in handles {
            match h.join() {
                Ok(part) => merged.merge(part),
                Err(_) => return Err(vec![DataError::Engine { message: "a leaf worker panicked".into() }]),
            }
        }
        if let Some(mut stats) = outcome? {
            if let Some((series, samples)) = merged.histograms_as_floats.take() {
                return Err(vec![DataError::Histograms { series: series_text(&series), samples }]);
            }
            stats.null_timestamps += facts.null_timestamps;
            stats.unnamed_rows += facts.null_names;
            merged.missed_buckets = missed.into_inner();
            *leaves = merged;
            return Ok(stats);
        }
        progress.set_position(0);
    }
    Err(vec![DataError::Engine {
        message: "rows could not be grouped by series even after sorting (a label both empty and null?)".into(),
    }])
}

/// The benchmark baseline: the backtest's own read — the same session,
/// columns, filters and partitions ([`rows`]) — with nothing done to the
/// rows but summing their values (`SELECT sum(value), count(value) …`).
pub fn bare_scan(src: &Source, leaves: &Leaves, rt: &tokio::runtime::Runtime) -> Result<(f64, u64), Vec<DataError>> {
    use datafusion::arrow::datatypes::Float64Type;
    use futures::StreamExt;
    rt.block_on(async {
        let ctx = session(src, 1).map_err(|e| vec![e])?;
        let all = (i64::MIN / 4, i64::MAX / 4);
        let (mut stream, cols) =
            rows(&ctx, src, false, |cols, footers| predicate(cols, leaves, all.0, all.1, footers)).await?;
        let (mut s, mut n) = (0.0, 0u64);
        while let Some(b) = stream.next().await {
            let b = b.map_err(|e| vec![scan_error(&src.paths, e)])?;
            let v = b.column_by_name(&cols.value).expect("projected");
            let v = cast(v, &DataType::Float64).map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
            let v = v.as_primitive::<Float64Type>();
            n += (v.len() - v.null_count()) as u64;
            s += v.iter().flatten().sum::<f64>();
        }
        Ok((s, n))
    })
}
