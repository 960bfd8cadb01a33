//! The backtester's reads of the data: the schema check and time range of
//! the metrics its leaves select ([`probe`]), the filtered scan that streams
//! every selected series through the leaves on worker threads ([`scan`]),
//! and the DataFusion-only baseline of the benchmark ([`bare_scan`]). The
//! native layout itself — columns, session, series assembly — is
//! [`crate::layout::reader`]'s.

use super::leaves::Leaves;
use super::range::Samples;
use crate::layout::reader::{
    columns, file_facts, footers, frame, millis, rows, scan_error, schema_error, series_text, session, ts_literal,
    Columns, Job, Pass,
};
pub use crate::layout::reader::{DataError, Source, Stats, MAX_MS, MIN_MS};
use crate::layout::schema::NAME;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::prelude::*;

/// Rows a scan must read: the metrics the leaves select, within `[lo, hi]`.
fn predicate(cols: &Columns, leaves: &Leaves, lo: i64, hi: i64) -> Expr {
    let mut alts: Vec<Expr> = Vec::new();
    let mut unfiltered = false;
    for spec in &leaves.specs {
        let eqs = spec.sel.equalities();
        if eqs.is_empty() {
            unfiltered = true;
            break;
        }
        let mut conj: Option<Expr> = None;
        for (k, v) in eqs {
            let c = if k == NAME {
                ident(&cols.name)
            } else if cols.labels.contains(&k) {
                ident(&k)
            } else {
                continue;
            };
            let e = c.eq(lit(v));
            conj = Some(match conj {
                None => e,
                Some(p) => p.and(e),
            });
        }
        match conj {
            Some(c) => alts.push(c),
            None => {
                unfiltered = true;
                break;
            }
        }
    }
    let ts = ident(&cols.timestamp);
    let time = ts.clone().gt_eq(ts_literal(&cols.ts_type, lo)).and(ts.lt_eq(ts_literal(&cols.ts_type, hi)));
    if unfiltered || alts.is_empty() {
        return time;
    }
    let any = alts.into_iter().reduce(|a, b| a.or(b)).expect("non-empty");
    any.and(time)
}

/// The selected metrics' first and last timestamps (if any), their row
/// count, and how many of their rows have a timestamp outside
/// [`MIN_MS`]..=[`MAX_MS`] (skipped, and said so).
type Probe = (Option<(i64, i64)>, u64, u64);

/// The schema check and the data's time range for the selected metrics.
pub fn probe(src: &Source, leaves: &Leaves, rt: &tokio::runtime::Runtime) -> Result<Probe, Vec<DataError>> {
    rt.block_on(async {
        let ctx = session(src, 2).map_err(|e| vec![e])?;
        let df = frame(&ctx, src).await?;
        let cols = columns(df.schema())?;
        let filter = predicate(&cols, leaves, MIN_MS, MAX_MS);
        let ts = ident(&cols.timestamp);
        let outside = predicate(&cols, leaves, i64::MIN / 4, i64::MAX / 4)
            .and(ts.clone().lt(ts_literal(&cols.ts_type, MIN_MS)).or(ts.gt(ts_literal(&cols.ts_type, MAX_MS))));
        let outside = df
            .clone()
            .filter(outside)
            .and_then(|d| d.aggregate(vec![], vec![count(ident(&cols.timestamp)).alias("n")]))
            .map_err(|e| vec![DataError::Engine { message: e.to_string() }])?
            .collect()
            .await
            .map_err(|e| vec![scan_error(&src.paths, e)])?;
        let outside = match outside.first().filter(|b| b.num_rows() > 0) {
            Some(b) => {
                let n = cast(b.column(0), &DataType::Int64)
                    .map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
                n.as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0) as u64
            }
            None => 0,
        };
        let ts = ident(&cols.timestamp);
        // min/max keep the column's type; `millis` converts the result.
        let ts_ms = ts.clone();
        let df = df
            .filter(filter)
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

/// Streams every selected series within `[lo, hi]` into `leaves`.
pub fn scan(
    src: &Source,
    leaves: &mut Leaves,
    lo: i64,
    hi: i64,
    rt: &tokio::runtime::Runtime,
    progress: &indicatif::ProgressBar,
) -> Result<Stats, Vec<DataError>> {
    let facts = file_facts(&footers(&src.paths).map_err(|e| vec![e])?);
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
        let fresh = Leaves::phased(specs.clone(), grids.clone());
        let missed = std::cell::RefCell::new(vec![std::collections::BTreeSet::new(); specs.len()]);
        // Workers fold finished series into their own leaves while the scan
        // goes on; series are dealt round-robin, so the merge is deterministic.
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..n {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(16);
            let (specs, grids) = (specs.clone(), grids.clone());
            senders.push(tx);
            handles.push(std::thread::spawn(move || {
                let mut lv = Leaves::phased(specs, grids);
                for job in rx {
                    let mut s = Samples::new(job.ts, job.v);
                    lv.feed(&job.key, &mut s, &job.stale, &job.hist);
                }
                lv
            }));
        }
        let outcome = rt.block_on(async {
            let ctx = session(src, 1).map_err(|e| vec![e])?;
            let (mut stream, cols) = rows(&ctx, src, sorted, |cols| predicate(cols, &fresh, lo, hi)).await?;
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

/// The benchmark baseline: DataFusion alone reading the same columns with
/// the same filters and summing the values (`SELECT sum(value) … WHERE …`).
pub fn bare_scan(src: &Source, leaves: &Leaves, rt: &tokio::runtime::Runtime) -> Result<(f64, u64), Vec<DataError>> {
    use datafusion::functions_aggregate::expr_fn::sum;
    rt.block_on(async {
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ctx = session(src, parts).map_err(|e| vec![e])?;
        let df = frame(&ctx, src).await?;
        let cols = columns(df.schema())?;
        let filter = predicate(&cols, leaves, i64::MIN / 4, i64::MAX / 4);
        let mut proj: Vec<Expr> = vec![ident(&cols.timestamp), ident(&cols.name), ident(&cols.value)];
        proj.extend(cols.labels.iter().map(ident));
        let df = df
            .filter(filter)
            .and_then(|d| d.select(proj))
            .and_then(|d| {
                d.aggregate(vec![], vec![sum(ident(&cols.value)).alias("s"), count(ident(&cols.value)).alias("n")])
            })
            .map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
        let batches = df.collect().await.map_err(|e| vec![scan_error(&src.paths, e)])?;
        let b = &batches[0];
        let s =
            cast(b.column(0), &DataType::Float64).map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
        let n = cast(b.column(1), &DataType::Int64).map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
        Ok((
            s.as_primitive::<datafusion::arrow::datatypes::Float64Type>().value(0),
            n.as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0) as u64,
        ))
    })
}
