//! Reading metric samples from Parquet in the native long layout
//! (README, "Data layout"; docs/semantics.md §8): one row per sample with `timestamp`, `__name__` (or
//! `metric`), `value`, an optional `stale` flag, and the labels either as
//! one column each or as a `labels` Map column. Owns the schema check, the
//! DataFusion session and scan, and the pass that assembles rows into whole
//! series: [`each_series`] for `slo data inspect` / `export`; the
//! backtester's filtered scans (`backtest::data`) are built on the same
//! pieces.
//!
//! DataFusion scans the files with the metric-name, label and time filters
//! pushed into the Parquet reader (row groups pruned by statistics, rows by
//! predicate). Rows arrive series by series when the files are sorted that
//! way (the fast path: one streaming pass, memory bounded by one series);
//! otherwise DataFusion sorts them first, under the memory pool, spilling to
//! disk when the pool is full.

use super::histogram::{HistRows, NativeHistogram};
use super::schema::{
    H_COLUMNS, H_SCHEMA, LABELS_MAP, MAX_LABEL_COLUMNS, NAME, NAME_ALIAS, STALE, STALE_NAN_BITS, TIMESTAMP, VALUE,
};
pub(crate) use super::strings::Strings;
use datafusion::arrow::array::{
    downcast_dictionary_array, Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, MapArray, RecordBatch,
    StringArray, StringViewArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::*;
use futures::StreamExt;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the data is and how much memory the scan may use.
#[derive(Debug, Clone)]
pub struct Source {
    pub paths: Vec<PathBuf>,
    pub memory_limit: usize,
    /// Every file's footer, read once for the run: the probe, the scans
    /// and their checks all read them (for a URL, each read is three
    /// requests).
    footers: Arc<tokio::sync::OnceCell<Arc<[Footer]>>>,
}

impl Source {
    pub fn new(paths: Vec<PathBuf>, memory_limit: usize) -> Source {
        Source { paths, memory_limit, footers: Default::default() }
    }

    /// Every Parquet file under the paths with its footer ([`footers`]),
    /// read on the first call.
    pub(crate) async fn footers(&self) -> Result<Arc<[Footer]>, DataError> {
        self.footers.get_or_try_init(|| async { footers(&self.paths).await.map(Arc::from) }).await.cloned()
    }
}

/// What reading the data can go wrong with. `Io` exits 2, the rest 1.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    /// A file is missing, unreadable or not Parquet.
    Io { path: String, message: String },
    /// A required column is missing or has the wrong type.
    Schema { message: String, help: String },
    /// The same series has two different values at one timestamp.
    Duplicate { series: String, ts: i64, count: u64 },
    /// The scan itself failed.
    Engine { message: String },
    /// The memory pool is too small even with spilling.
    Memory { message: String },
    /// Series read as floats have native-histogram samples (`series` is
    /// the first, `samples` their number): a classic SLI over a native
    /// histogram, or `slo data export`, which writes float samples only.
    Histograms { series: String, samples: u64 },
    /// A native-histogram row that is not a valid histogram (a schema out
    /// of range, a null or negative count, bucket indices out of order).
    BadHistogram { series: String, ts: i64, reason: String },
}

/// Counts for the report and for warnings.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub rows: u64,
    pub series: u64,
    pub samples: u64,
    pub stale_markers: u64,
    pub nan_values: u64,
    pub inf_values: u64,
    /// Identical repeated samples (same series, time and value), dropped.
    pub duplicates_dropped: u64,
    /// Whether rows had to be sorted (files not ordered by series, time).
    pub sorted_by_engine: bool,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// First series seen with a NaN or infinite value.
    pub nonfinite_example: Option<String>,
    /// Rows skipped because their timestamp is null.
    pub null_timestamps: u64,
    /// Rows skipped because their metric name is null or empty.
    pub unnamed_rows: u64,
    /// Rows of the selected metrics skipped because their timestamp lies
    /// outside [`MIN_MS`]..=[`MAX_MS`].
    pub out_of_range: u64,
    /// Rows whose `labels` map gives a label column's label another value
    /// (the map's value is used).
    pub label_conflicts: u64,
    /// Native-histogram samples of the series read (not among `samples`,
    /// which are float samples).
    #[serde(skip_serializing_if = "is_zero")]
    pub histogram_samples: u64,
    /// First series read with native-histogram samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram_example: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub(crate) timestamp: String,
    pub(crate) ts_type: DataType,
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) stale: Option<String>,
    pub(crate) map: Option<String>,
    pub(crate) labels: Vec<String>,
    /// The file has the native-histogram columns (`h_schema` is read).
    pub(crate) histograms: bool,
}

pub(crate) fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

pub(crate) fn schema_error(message: String, help: &str) -> DataError {
    DataError::Schema { message, help: help.into() }
}

pub(crate) fn columns(schema: &datafusion::common::DFSchema) -> Result<Columns, Vec<DataError>> {
    let mut errors = Vec::new();
    let fields: Vec<_> = schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
    let find = |n: &str| fields.iter().find(|(f, _)| f == n).cloned();
    let layout_help = "the native layout has `timestamp`, `__name__` (or `metric`), `value`, optional `stale`, and one string column per label or a Map<Utf8, Utf8> `labels` column";
    let timestamp = match find(TIMESTAMP) {
        Some((n, t @ (DataType::Timestamp(_, _) | DataType::Int64))) => Some((n, t)),
        Some((n, t)) => {
            errors.push(schema_error(
                format!("column `{n}` has type {t}, not a timestamp"),
                "store timestamps as Timestamp (ms, µs or ns, UTC) or as Int64 milliseconds since the epoch",
            ));
            None
        }
        None => {
            errors.push(schema_error("the data has no `timestamp` column".into(), layout_help));
            None
        }
    };
    let name = match find(NAME).or_else(|| find(NAME_ALIAS)) {
        Some((n, t)) if is_string(&t) => Some(n),
        Some((n, t)) => {
            errors.push(schema_error(format!("column `{n}` has type {t}, not a string"), "metric names are strings"));
            None
        }
        None => {
            errors.push(schema_error("the data has no `__name__` (or `metric`) column".into(), layout_help));
            None
        }
    };
    let value = match find(VALUE) {
        Some((n, t)) if t.is_numeric() => Some(n),
        Some((n, t)) => {
            errors.push(schema_error(
                format!("column `{n}` has type {t}, not a number"),
                "sample values are Float64 (other numeric types are converted)",
            ));
            None
        }
        None => {
            errors.push(schema_error("the data has no `value` column".into(), layout_help));
            None
        }
    };
    let stale = match find(STALE) {
        Some((n, DataType::Boolean)) => Some(n),
        Some((n, t)) => {
            errors.push(schema_error(
                format!("column `{n}` has type {t}, not Boolean"),
                "`stale` marks Prometheus staleness markers with true",
            ));
            None
        }
        None => None,
    };
    // The native-histogram columns: all of them with the layout's types, or none.
    let expected: Vec<Field> = super::histogram::fields();
    let present: Vec<&Field> = expected.iter().filter(|f| find(f.name()).is_some()).collect();
    let histograms = !present.is_empty();
    if histograms {
        for f in &expected {
            match find(f.name()) {
                None => errors.push(schema_error(
                    format!("the data has native-histogram columns but no `{}`", f.name()),
                    "native-histogram samples need all of `h_schema`, `h_zero_threshold`, `h_zero_count`, \
                     `h_count`, `h_sum`, `h_positive`, `h_negative` (README, \"Native histograms\")",
                )),
                Some((n, t)) if !t.equals_datatype(f.data_type()) => errors.push(schema_error(
                    format!("column `{n}` has type {t}, not {}", f.data_type()),
                    "write native-histogram columns with the layout's types (README, \"Native histograms\")",
                )),
                Some(_) => {}
            }
        }
    }
    let mut map = None;
    let mut labels = Vec::new();
    for (n, t) in &fields {
        if H_COLUMNS.contains(&n.as_str()) {
            continue;
        }
        if [TIMESTAMP, VALUE, STALE].contains(&n.as_str()) || Some(n) == name.as_ref() {
            continue;
        }
        if n == NAME_ALIAS || n == NAME {
            continue;
        }
        match t {
            DataType::Map(_, _) if n == LABELS_MAP => map = Some(n.clone()),
            t if is_string(t) => labels.push(n.clone()),
            t => errors.push(schema_error(
                format!("label column `{n}` has type {t}, not a string"),
                "label values are strings (Utf8, Utf8View or a dictionary of them); drop or convert the column",
            )),
        }
    }
    labels.sort();
    if labels.len() > MAX_LABEL_COLUMNS {
        errors.push(schema_error(
            format!("the data has {} label columns, more than {MAX_LABEL_COLUMNS}", labels.len()),
            "every row is read with every label column: drop the columns no SLO reads (or re-import the data, which caps label names too)",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (timestamp, ts_type) = timestamp.expect("checked");
    Ok(Columns {
        timestamp,
        ts_type,
        name: name.expect("checked"),
        value: value.expect("checked"),
        stale,
        map,
        labels,
        histograms,
    })
}

/// `ms` in the unit of a timestamp column of type `t`, as a filter compares it.
fn ts_raw(t: &DataType, ms: i64) -> i64 {
    match t {
        DataType::Timestamp(TimeUnit::Second, _) => ms.div_euclid(1000),
        DataType::Timestamp(TimeUnit::Microsecond, _) => ms.saturating_mul(1000),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => ms.saturating_mul(1_000_000),
        _ => ms,
    }
}

pub(crate) fn ts_literal(t: &DataType, ms: i64) -> Expr {
    let raw = Some(ts_raw(t, ms));
    lit(match t {
        DataType::Timestamp(unit, tz) => match unit {
            TimeUnit::Second => ScalarValue::TimestampSecond(raw, tz.clone()),
            TimeUnit::Millisecond => ScalarValue::TimestampMillisecond(raw, tz.clone()),
            TimeUnit::Microsecond => ScalarValue::TimestampMicrosecond(raw, tz.clone()),
            TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(raw, tz.clone()),
        },
        _ => ScalarValue::Int64(raw),
    })
}

/// The leaf column `name` of a file and its statistics in each row group,
/// or `None` when a file lacks the column or a row group its statistics.
fn column_stats<'a>(
    meta: &'a datafusion::parquet::file::metadata::ParquetMetaData,
    name: &str,
) -> Option<(usize, Vec<&'a datafusion::parquet::file::statistics::Statistics>)> {
    let schema = meta.file_metadata().schema_descr();
    let i = (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == name)?;
    let stats = meta.row_groups().iter().map(|rg| rg.column(i).statistics()).collect::<Option<Vec<_>>>()?;
    Some((i, stats))
}

/// Whether the files' statistics prove that every row has a timestamp
/// within `[lo, hi]` (none null): the scan then needs no time filter,
/// which would decode and test every timestamp for nothing. Anything the
/// footers leave open (no statistics, another unit in the file than the
/// engine reads) proves nothing, and the filter stays.
pub(crate) fn all_within(footers: &[Footer], cols: &Columns, lo: i64, hi: i64) -> bool {
    use datafusion::parquet::basic::{LogicalType, TimeUnit as PqUnit, Type};
    use datafusion::parquet::file::statistics::Statistics;
    let (lo, hi) = (ts_raw(&cols.ts_type, lo), ts_raw(&cols.ts_type, hi));
    footers.iter().all(|(_, meta)| {
        let Some((i, stats)) = column_stats(meta, &cols.timestamp) else { return false };
        let col = meta.file_metadata().schema_descr().column(i);
        let unit = match col.logical_type_ref() {
            Some(LogicalType::Timestamp(t)) => Some(match t.unit {
                PqUnit::MILLIS => TimeUnit::Millisecond,
                PqUnit::MICROS => TimeUnit::Microsecond,
                PqUnit::NANOS => TimeUnit::Nanosecond,
            }),
            _ => None,
        };
        let same_unit = match (&cols.ts_type, unit) {
            (DataType::Timestamp(a, _), Some(b)) => *a == b,
            (DataType::Int64, None) => col.converted_type() == datafusion::parquet::basic::ConvertedType::NONE,
            _ => false,
        };
        same_unit
            && col.physical_type() == Type::INT64
            && stats.iter().all(|s| match s {
                Statistics::Int64(v) => {
                    s.null_count_opt() == Some(0)
                        && v.min_opt().is_some_and(|&m| m >= lo)
                        && v.max_opt().is_some_and(|&m| m <= hi)
                }
                _ => false,
            })
    })
}

/// Whether the files' statistics prove that every row matches one of the
/// alternatives, each a conjunction of `column = value` over string
/// columns: in every row group, some alternative's columns each hold that
/// one value only (exact minimum and maximum equal to it, no nulls). The
/// scan then needs no such filter.
pub(crate) fn all_match(footers: &[Footer], alternatives: &[Vec<(String, String)>]) -> bool {
    footers.iter().all(|(_, meta)| {
        let mut per_alt: Vec<Vec<bool>> = Vec::new();
        for alt in alternatives {
            let mut holds = vec![true; meta.num_row_groups()];
            for (c, v) in alt {
                let Some((_, stats)) = column_stats(meta, c) else {
                    holds.iter_mut().for_each(|h| *h = false);
                    break;
                };
                for (h, s) in holds.iter_mut().zip(stats) {
                    *h = *h
                        && s.null_count_opt() == Some(0)
                        && s.min_is_exact()
                        && s.max_is_exact()
                        && s.min_bytes_opt() == Some(v.as_bytes())
                        && s.max_bytes_opt() == Some(v.as_bytes());
                }
            }
            per_alt.push(holds);
        }
        (0..meta.num_row_groups()).all(|rg| per_alt.iter().any(|h| h[rg]))
    })
}

/// Timestamps of a batch column as Int64 milliseconds.
pub(crate) fn millis(a: &ArrayRef) -> Result<Int64Array, String> {
    let (div, raw) = match a.data_type() {
        DataType::Timestamp(unit, _) => {
            let div = match unit {
                TimeUnit::Second => -1000,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 1000,
                TimeUnit::Nanosecond => 1_000_000,
            };
            (div, cast(a, &DataType::Int64).map_err(|e| e.to_string())?)
        }
        _ => (1, cast(a, &DataType::Int64).map_err(|e| e.to_string())?),
    };
    let raw = raw.as_primitive::<datafusion::arrow::datatypes::Int64Type>().clone();
    Ok(match div {
        1 => raw,
        -1000 => raw.iter().map(|x| x.map(|x| x.saturating_mul(1000))).collect(),
        d => raw.iter().map(|x| x.map(|x| x.div_euclid(d))).collect(),
    })
}

/// String access to a label column of any string type, in the form the
/// reader decodes it: a view array or a dictionary is read in place, never
/// converted per batch (only other forms are cast).
enum StrCol {
    Plain(StringArray),
    View(StringViewArray),
    /// The dictionary array itself (its keys are read row by row, only where
    /// a run of rows starts) and its values; `None` for the values when the
    /// dictionary is empty, so every key is null.
    Dict(ArrayRef, Option<Box<StrCol>>),
}

/// The key of row `i` of a dictionary array of any key type; `None` when null.
fn dict_key(a: &dyn Array, i: usize) -> Option<usize> {
    downcast_dictionary_array!(a => a.key(i), _ => None)
}

/// Sets `change[i]` where row `i` of `keys` may differ from row `i - 1`:
/// a different key or a different validity.
fn mark_key_changes<T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
    keys: &datafusion::arrow::array::PrimitiveArray<T>,
    change: &mut [bool],
) {
    let k = keys.values();
    for (c, w) in change[1..].iter_mut().zip(k.windows(2)) {
        *c |= w[0] != w[1];
    }
    if let Some(n) = keys.nulls() {
        for (i, c) in change.iter_mut().enumerate().skip(1) {
            *c |= n.is_valid(i) != n.is_valid(i - 1);
        }
    }
}

impl StrCol {
    fn new(a: &ArrayRef) -> Result<StrCol, String> {
        Ok(match a.data_type() {
            DataType::Utf8View => StrCol::View(a.as_string_view().clone()),
            DataType::Utf8 => StrCol::Plain(a.as_string::<i32>().clone()),
            DataType::Dictionary(_, _) => {
                let d = a.as_any_dictionary();
                let values = if d.values().is_empty() { None } else { Some(Box::new(StrCol::new(d.values())?)) };
                StrCol::Dict(a.clone(), values)
            }
            _ => StrCol::Plain(cast(a, &DataType::Utf8).map_err(|e| e.to_string())?.as_string::<i32>().clone()),
        })
    }

    fn get(&self, i: usize) -> Option<&str> {
        match self {
            StrCol::Plain(s) => (!s.is_null(i)).then(|| s.value(i)),
            StrCol::View(s) => (!s.is_null(i)).then(|| s.value(i)),
            StrCol::Dict(a, v) => v.as_ref().and_then(|v| dict_key(a.as_ref(), i).and_then(|k| v.get(k))),
        }
    }

    /// Sets `change[i]` where row `i` may hold another value than row
    /// `i - 1`. Conservative: a change is never missed, but equal values
    /// may be marked (two keys of one value, a string stored twice), which
    /// only makes the caller compare the rows' labels.
    fn mark_changes(&self, change: &mut [bool]) {
        if change.len() < 2 {
            return;
        }
        match self {
            StrCol::Dict(a, _) => {
                downcast_dictionary_array!(a => mark_key_changes(a.keys(), change), _ => change.fill(true))
            }
            StrCol::View(s) => {
                // Equal views are equal strings (inline, or the same bytes
                // of the same buffer); unequal long ones are compared.
                let views = s.views();
                for i in 1..change.len() {
                    let null = s.is_null(i);
                    if null != s.is_null(i - 1) {
                        change[i] = true;
                    } else if !null && views[i] != views[i - 1] {
                        change[i] |= s.value(i) != s.value(i - 1);
                    }
                }
            }
            StrCol::Plain(_) => {
                for (i, c) in change.iter_mut().enumerate().skip(1) {
                    *c |= self.get(i) != self.get(i - 1);
                }
            }
        }
    }
}

/// The runs of consecutive rows whose columns hold the same values (maybe
/// split further where [`StrCol::mark_changes`] cannot tell).
fn runs(cols: &[&StrCol], n: usize) -> Vec<std::ops::Range<usize>> {
    let mut change = vec![false; n];
    for c in cols {
        c.mark_changes(&mut change);
    }
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in change.iter().enumerate().skip(1) {
        if *c {
            out.push(start..i);
            start = i;
        }
    }
    if n > 0 {
        out.push(start..n);
    }
    out
}

/// The series being assembled from consecutive rows.
struct Current {
    key: Vec<(String, String)>,
    wanted: bool,
    ts: Vec<i64>,
    v: Vec<f64>,
    stale: Vec<i64>,
    hist: Vec<(i64, NativeHistogram)>,
}

/// Why a streaming pass stopped early.
enum Restart {
    /// Rows are not grouped by series and ordered by time: sort first.
    Unsorted,
}

/// A complete series on its way to a worker: sorted labels (with
/// `__name__`), the float samples' times and values, the staleness
/// markers' times, and the native-histogram samples when the pass decodes
/// them ([`Pass::with_histograms`]; otherwise they are only counted).
pub(crate) struct Job {
    pub(crate) key: Vec<(String, String)>,
    pub(crate) ts: Vec<i64>,
    pub(crate) v: Vec<f64>,
    pub(crate) stale: Vec<i64>,
    pub(crate) hist: Vec<(i64, NativeHistogram)>,
}

/// Whether a series (its sorted labels) is read at all.
pub(crate) type Wants<'a> = dyn Fn(&[(String, String)]) -> bool + 'a;

pub(crate) struct Pass<'a> {
    /// Whether a series (its sorted labels) is read at all.
    wants: &'a Wants<'a>,
    /// Where each complete, wanted series goes.
    sink: &'a mut dyn FnMut(Job),
    stats: Stats,
    cur: Option<Current>,
    /// Hashes of the series already finished: one seen again means the rows
    /// are not grouped by series. A hash collision only costs a sorted
    /// re-read (never a wrong answer), and 8 bytes a series keep memory
    /// small when there are millions.
    done: HashSet<u64>,
    lo: i64,
    hi: i64,
    repeats: Repeats,
    /// Decode native-histogram samples into [`Job::hist`].
    histograms: bool,
    bad_histogram: Option<DataError>,
    /// Copy runs of plain samples whole ([`Pass::plain_run`]); the tests
    /// turn it off to check that both paths read the same.
    fast: bool,
    /// Runs copied whole so far (what the tests see of the fast path).
    runs_copied: usize,
}

impl<'a> Pass<'a> {
    pub(crate) fn new(wants: &'a Wants<'a>, sink: &'a mut dyn FnMut(Job), sorted: bool, lo: i64, hi: i64) -> Pass<'a> {
        Pass {
            wants,
            sink,
            stats: Stats { sorted_by_engine: sorted, ..Default::default() },
            cur: None,
            done: HashSet::new(),
            lo,
            hi,
            repeats: Repeats::default(),
            histograms: false,
            bad_histogram: None,
            fast: true,
            runs_copied: 0,
        }
    }

    /// Native-histogram samples are decoded and handed over with their
    /// series (the backtester replays them), not only counted.
    pub(crate) fn with_histograms(mut self) -> Self {
        self.histograms = true;
        self
    }

    /// Runs the pass over the whole stream: its statistics, or `None` when
    /// the files turned out not to be sorted by series (read again, sorted).
    pub(crate) async fn drain(
        mut self,
        stream: &mut datafusion::physical_plan::SendableRecordBatchStream,
        cols: &Columns,
        paths: &[PathBuf],
        mut on_batch: impl FnMut(usize),
    ) -> Result<Option<Stats>, Vec<DataError>> {
        while let Some(b) = stream.next().await {
            let b = b.map_err(|e| vec![scan_error(paths, e)])?;
            on_batch(b.num_rows());
            match self.batch(&b, cols).map_err(|e| vec![e])? {
                Ok(()) => {}
                Err(Restart::Unsorted) => return Ok(None),
            }
        }
        self.finish_current();
        if let Some(e) = self.bad_histogram {
            return Err(vec![e]);
        }
        if let Some((series, ts)) = self.repeats.first {
            return Err(vec![DataError::Duplicate { series, ts, count: self.repeats.conflicts }]);
        }
        Ok(Some(self.stats))
    }
}

/// Samples that repeat a series' timestamp.
#[derive(Default)]
struct Repeats {
    /// The first repeat with a different value: series and time.
    first: Option<(String, i64)>,
    /// Repeats with a different value.
    conflicts: u64,
}

impl Repeats {
    /// A sample at its series' last timestamp: dropped if it is the same
    /// sample again (`same`), else a conflict.
    fn note(&mut self, same: bool, key: &[(String, String)], t: i64, stats: &mut Stats) {
        if same {
            stats.duplicates_dropped += 1;
        } else {
            self.conflicts += 1;
            if self.first.is_none() {
                self.first = Some((series_text(key), t));
            }
        }
    }
}

pub(crate) fn series_text(key: &[(String, String)]) -> String {
    let name = key.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str());
    let rest: Vec<String> = key
        .iter()
        .filter(|(k, _)| k != "__name__")
        .map(|(k, v)| format!("{k}={}", crate::syntax::strings::quote(v)))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

/// A fixed-key hash of a series' labels (the same in every run).
fn series_hash(key: &[(String, String)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl Pass<'_> {
    /// The fast path of a run of plain float samples (no nulls, no
    /// staleness, no histograms) of the current series: when their times
    /// rise and those within `[lo, hi]` come after the series' last sample,
    /// with finite values, they are copied whole and `true` is returned.
    /// Otherwise nothing but the time range seen has changed, and the
    /// caller goes row by row.
    fn plain_run(&mut self, t: &[i64], v: &[f64]) -> bool {
        let rising = t.windows(2).fold(true, |ok, w| ok & (w[0] < w[1]));
        let (Some(&first), Some(&last), true) = (t.first(), t.last(), rising) else { return false };
        self.stats.first_ms = Some(self.stats.first_ms.map_or(first, |f| f.min(first)));
        self.stats.last_ms = Some(self.stats.last_ms.map_or(last, |f| f.max(last)));
        let cur = self.cur.as_mut().expect("a run has its series");
        if !cur.wanted {
            return true;
        }
        let a = t.partition_point(|&x| x < self.lo);
        let b = t.partition_point(|&x| x <= self.hi);
        let (t, v) = (&t[a..b], &v[a..b]);
        let Some(&first) = t.first() else { return true };
        let before = cur.ts.last().copied().max(cur.stale.last().copied()).max(cur.hist.last().map(|(t, _)| *t));
        if before.is_some_and(|l| first <= l) || !v.iter().fold(true, |ok, x| ok & x.is_finite()) {
            return false;
        }
        cur.ts.extend_from_slice(t);
        cur.v.extend_from_slice(v);
        self.runs_copied += 1;
        true
    }

    fn finish_current(&mut self) {
        if let Some(c) = self.cur.take() {
            if c.wanted {
                self.stats.series += 1;
                self.stats.samples += c.ts.len() as u64;
                self.done.insert(series_hash(&c.key));
                (self.sink)(Job { key: c.key, ts: c.ts, v: c.v, stale: c.stale, hist: c.hist });
                return;
            }
            self.done.insert(series_hash(&c.key));
        }
    }

    fn batch(&mut self, b: &RecordBatch, cols: &Columns) -> Result<Result<(), Restart>, DataError> {
        let engine = |e: String| DataError::Engine { message: e };
        let n = b.num_rows();
        if n == 0 {
            return Ok(Ok(()));
        }
        self.stats.rows += n as u64;
        let ts = millis(b.column_by_name(&cols.timestamp).expect("projected")).map_err(engine)?;
        let val = cast(b.column_by_name(&cols.value).expect("projected"), &DataType::Float64)
            .map_err(|e| engine(e.to_string()))?;
        let val: &Float64Array = val.as_primitive();
        let stale: Option<BooleanArray> =
            cols.stale.as_ref().map(|s| b.column_by_name(s).expect("projected").as_boolean().clone());
        let h_schema = if cols.histograms {
            Some(
                cast(b.column_by_name(H_SCHEMA).expect("projected"), &DataType::Int32)
                    .map_err(|e| engine(e.to_string()))?,
            )
        } else {
            None
        };
        let h_cols = match (&h_schema, self.histograms) {
            (Some(schema), true) => Some(HistRows::new(b, schema).map_err(engine)?),
            _ => None,
        };
        let name_arr = b.column_by_name(&cols.name).expect("projected");
        let label_arrs: Vec<ArrayRef> =
            cols.labels.iter().map(|l| b.column_by_name(l).expect("projected").clone()).collect();
        let map: Option<MapArray> = cols.map.as_ref().map(|m| b.column_by_name(m).expect("projected").as_map().clone());
        let names = StrCol::new(name_arr).map_err(engine)?;
        let labels: Vec<StrCol> = label_arrs.iter().map(StrCol::new).collect::<Result<_, _>>().map_err(engine)?;
        // Runs of rows with identical labels (a map column is compared row by row).
        let ranges: Vec<std::ops::Range<usize>> = if map.is_some() {
            (0..n).map(|i| i..i + 1).collect()
        } else {
            runs(&std::iter::once(&names).chain(&labels).collect::<Vec<_>>(), n)
        };
        // Whether every row of the batch is a plain float sample with a
        // time: runs of them whose times rise are then copied whole.
        let plain = ts.null_count() == 0
            && val.null_count() == 0
            && stale.as_ref().is_none_or(|s| s.true_count() == 0)
            && h_schema.as_ref().is_none_or(|h| h.null_count() == h.len());
        for r in ranges {
            let row = r.start;
            let mut key: Vec<(String, String)> = Vec::with_capacity(labels.len() + 1);
            // Prometheus has no series without a name: such rows are
            // skipped and counted (null names from the files' statistics,
            // see `null_rows`; empty ones here).
            match names.get(row) {
                Some(nm) if !nm.is_empty() => key.push(("__name__".into(), nm.into())),
                Some(_) => {
                    self.stats.unnamed_rows += r.len() as u64;
                    continue;
                }
                None => continue,
            }
            for (l, c) in cols.labels.iter().zip(&labels) {
                if let Some(v) = c.get(row).filter(|s| !s.is_empty()) {
                    key.push((l.clone(), v.into()));
                }
            }
            if let Some(m) = &map {
                if !m.is_null(row) {
                    let entries = m.value(row);
                    let ks = cast(entries.column(0), &DataType::Utf8).map_err(|e| engine(e.to_string()))?;
                    let vs = cast(entries.column(1), &DataType::Utf8).map_err(|e| engine(e.to_string()))?;
                    let (ks, vs) = (ks.as_string::<i32>(), vs.as_string::<i32>());
                    for j in 0..ks.len() {
                        if !ks.is_null(j) && !vs.is_null(j) && !vs.value(j).is_empty() && ks.value(j) != "__name__" {
                            if key.iter().any(|(k, v)| k == ks.value(j) && v != vs.value(j)) {
                                self.stats.label_conflicts += 1;
                            }
                            key.retain(|(k, _)| k != ks.value(j));
                            key.push((ks.value(j).into(), vs.value(j).into()));
                        }
                    }
                }
            }
            key.sort();
            if self.cur.as_ref().is_none_or(|c| c.key != key) {
                self.finish_current();
                if self.done.contains(&series_hash(&key)) {
                    return Ok(Err(Restart::Unsorted));
                }
                let wanted = (self.wants)(&key);
                self.cur =
                    Some(Current { key, wanted, ts: Vec::new(), v: Vec::new(), stale: Vec::new(), hist: Vec::new() });
            }
            if plain && self.fast && self.plain_run(&ts.values()[r.clone()], &val.values()[r.clone()]) {
                continue;
            }
            let cur = self.cur.as_mut().expect("set above");
            for i in r {
                if ts.is_null(i) {
                    // Counted by `null_rows`.
                    continue;
                }
                let t = ts.value(i);
                self.stats.first_ms = Some(self.stats.first_ms.map_or(t, |f| f.min(t)));
                self.stats.last_ms = Some(self.stats.last_ms.map_or(t, |f| f.max(t)));
                if !cur.wanted || t < self.lo || t > self.hi {
                    continue;
                }
                let last = cur.ts.last().copied().max(cur.stale.last().copied()).max(cur.hist.last().map(|(t, _)| *t));
                let v = if val.is_null(i) { f64::NAN } else { val.value(i) };
                let is_stale =
                    v.to_bits() == STALE_NAN_BITS || stale.as_ref().is_some_and(|s| !s.is_null(i) && s.value(i));
                if !is_stale && h_schema.as_ref().is_some_and(|h| !h.is_null(i)) {
                    // A native-histogram sample: counted, not a float sample,
                    // and decoded when the pass replays them.
                    self.stats.histogram_samples += 1;
                    if self.stats.histogram_example.is_none() {
                        self.stats.histogram_example = Some(series_text(&cur.key));
                    }
                    let Some(rows) = &h_cols else { continue };
                    let h = match rows.get(i) {
                        Ok(h) => h,
                        Err(reason) => {
                            if self.bad_histogram.is_none() {
                                self.bad_histogram =
                                    Some(DataError::BadHistogram { series: series_text(&cur.key), ts: t, reason });
                            }
                            continue;
                        }
                    };
                    if let Some(last) = last {
                        if t < last {
                            return Ok(Err(Restart::Unsorted));
                        }
                        if t == last {
                            let same = cur.hist.last().is_some_and(|(lt, lh)| *lt == t && *lh == h);
                            self.repeats.note(same, &cur.key, t, &mut self.stats);
                            continue;
                        }
                    }
                    cur.hist.push((t, h));
                    continue;
                }
                if let Some(last) = last {
                    if t < last {
                        return Ok(Err(Restart::Unsorted));
                    }
                    if t == last {
                        let same = if is_stale {
                            cur.stale.last() == Some(&t)
                        } else {
                            cur.ts.last() == Some(&t) && cur.v.last().is_some_and(|&p| p.to_bits() == v.to_bits())
                        };
                        self.repeats.note(same, &cur.key, t, &mut self.stats);
                        continue;
                    }
                }
                if is_stale {
                    self.stats.stale_markers += 1;
                    cur.stale.push(t);
                } else {
                    if !v.is_finite() {
                        if v.is_nan() {
                            self.stats.nan_values += 1;
                        } else {
                            self.stats.inf_values += 1;
                        }
                        if self.stats.nonfinite_example.is_none() {
                            self.stats.nonfinite_example = Some(series_text(&cur.key));
                        }
                    }
                    cur.ts.push(t);
                    cur.v.push(v);
                }
            }
        }
        Ok(Ok(()))
    }
}

fn io_error(paths: &[PathBuf], e: impl std::fmt::Display) -> DataError {
    let path = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    DataError::Io { path, message: e.to_string() }
}

/// A session with the memory pool and spill directory.
pub(crate) fn session(src: &Source, partitions: usize) -> Result<SessionContext, DataError> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(src.memory_limit)))
        .with_disk_manager_builder(DiskManagerBuilder::default())
        .build_arc()
        .map_err(|e| DataError::Engine { message: e.to_string() })?;
    let mut config = SessionConfig::new().with_target_partitions(partitions.max(1));
    config.options_mut().execution.parquet.pushdown_filters = true;
    config.options_mut().execution.parquet.reorder_filters = true;
    // The sorter reserves this much up front for merging its spills: keep it
    // a fraction of the pool so that small pools still sort (by spilling).
    let reserve = (src.memory_limit / 4).min(10 << 20);
    config.options_mut().execution.sort_spill_reservation_bytes = reserve;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    // The servers of the URLs among the paths, each reached by its own client.
    for p in &src.paths {
        if let Some(s) = super::remote::url_of(p) {
            let u = super::remote::parse(s)?;
            ctx.register_object_store(&super::remote::origin(&u), super::remote::store(&u)?);
        }
    }
    Ok(ctx)
}

/// The runtime every reader of the layout drives DataFusion on: two
/// workers (the machine's cores; the scan's own workers run beside it).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, DataError> {
    quiet_hook();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        // A decoder's panic on the engine's threads comes back as an error
        // of the query (and through `guarded`), so it is not printed.
        .on_thread_start(|| QUIET.with(|q| q.set(true)))
        .build()
        .map_err(|e| DataError::Engine { message: e.to_string() })
}

thread_local! {
    /// Panics on this thread are turned into errors, not printed.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs, once per process, the panic hook that prints nothing on a
/// [`QUIET`] thread and defers to the hook it replaced on any other. One
/// hook for the process: swapping hooks around each guarded call raced
/// (two threads at once could leave the silent hook in place for good,
/// and every later panic of any thread unprinted).
fn quiet_hook() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if panics_print() {
                prev(info)
            }
        }));
    });
}

/// Whether a panic on this thread is printed (see [`quiet_hook`]).
fn panics_print() -> bool {
    !QUIET.with(|q| q.get())
}

impl std::fmt::Display for DataError {
    /// The message alone (for callers that give it their own code).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::Io { path, message } => write!(f, "cannot read {path}: {message}"),
            DataError::Schema { message, .. } => write!(f, "the data is not in the native layout: {message}"),
            DataError::Duplicate { series, count, .. } => {
                write!(f, "{series}: {count} sample(s) repeat a timestamp with a different value")
            }
            DataError::Engine { message } | DataError::Memory { message } => f.write_str(message),
            DataError::Histograms { series, samples } => {
                write!(f, "{series}: {samples} native-histogram sample(s), which are not float samples")
            }
            DataError::BadHistogram { series, reason, .. } => {
                write!(f, "{series}: a native-histogram sample is not valid: {reason}")
            }
        }
    }
}

/// Runs `f`, turning a panic inside a reader library (a corrupt file can
/// trip an assertion deep in a decoder) into an error, without printing it.
pub(crate) fn guarded<T>(what: &[PathBuf], f: impl FnOnce() -> Result<T, Vec<DataError>>) -> Result<T, Vec<DataError>> {
    quiet_hook();
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    match r {
        Ok(r) => r,
        Err(p) => {
            let m = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(vec![io_error(what, format!("the Parquet reader failed on corrupt data ({m})"))])
        }
    }
}

/// Every Parquet file under the paths must have a readable footer. A
/// directory reached twice (symlinks to `.` or a parent: the walk would
/// never end, and the scan would read its files twice) is an error.
/// The Parquet files at `p` (itself when not a directory; a directory's
/// `*.parquet` files and subdirectories, sorted), into `files`. A directory
/// reached twice through links is an error, so loops end.
fn parquet_files(
    p: &std::path::Path,
    seen: &mut std::collections::HashSet<(u64, u64)>,
    files: &mut Vec<PathBuf>,
    out: &mut Vec<DataError>,
) {
    let Some(meta) = std::fs::metadata(p).ok().filter(|m| m.is_dir()) else {
        files.push(p.to_path_buf());
        return;
    };
    if !seen.insert(crate::input::identity(&meta, p)) {
        let msg = "this directory is reached twice through symbolic links (a loop, or two links to one place)";
        out.push(io_error(&[p.to_path_buf()], msg));
        return;
    }
    let Ok(rd) = std::fs::read_dir(p) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() || e.extension().is_some_and(|x| x == "parquet") {
            parquet_files(&e, seen, files, out);
            if !out.is_empty() {
                return;
            }
        }
    }
}

pub(crate) type Footer = (PathBuf, datafusion::parquet::file::metadata::ParquetMetaData);

/// Every Parquet file under `paths` with its parsed footer, each read once
/// (the walk, the footer check, the file facts and the union schema all use
/// them). A FIFO or device named like a Parquet file is refused, never
/// opened for reading; a broken footer is an I/O error (the reader would
/// panic on it later). A URL is one file on an HTTP(S) server
/// ([`super::remote`]).
pub(crate) async fn footers(paths: &[PathBuf]) -> Result<Vec<Footer>, DataError> {
    let mut out = Vec::new();
    for p in paths {
        if let Some(s) = super::remote::url_of(p) {
            let u = super::remote::parse(s)?;
            out.push((p.clone(), super::remote::footer(&u).await?));
            continue;
        }
        let (mut files, mut errors) = (Vec::new(), Vec::new());
        parquet_files(p, &mut Default::default(), &mut files, &mut errors);
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        for f in files {
            let one = [f.clone()];
            let meta = guarded(&one, || {
                let (file, _) = crate::input::open(&f).map_err(|e| vec![io_error(&one, e.reason())])?;
                datafusion::parquet::file::metadata::ParquetMetaDataReader::new()
                    .parse_and_finish(&file)
                    .map_err(|e| vec![io_error(&one, e)])
            })
            .map_err(|es| es.into_iter().next().unwrap_or_else(|| io_error(&one, "unreadable footer")))?;
            out.push((f, meta));
        }
    }
    Ok(out)
}

/// What the files' footers say before any data is read: rows with a null
/// timestamp and with a null metric name (from the column statistics; the
/// scan's filters drop such rows before it sees them, so this is where
/// they are counted), and top-level columns a file repeats (the engine
/// would silently keep one of them).
#[derive(Default)]
pub(crate) struct FileFacts {
    pub(crate) null_timestamps: u64,
    pub(crate) null_names: u64,
    pub(crate) repeated_columns: Vec<(PathBuf, String)>,
}

pub(crate) fn file_facts(footers: &[Footer]) -> FileFacts {
    let mut facts = FileFacts::default();
    for (f, meta) in footers {
        let schema = meta.file_metadata().schema_descr();
        let mut top: Vec<&str> = schema.root_schema().get_fields().iter().map(|f| f.name()).collect();
        top.sort_unstable();
        let mut repeated: Vec<&str> = top.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
        repeated.dedup();
        facts.repeated_columns.extend(repeated.into_iter().map(|c| (f.clone(), c.to_string())));
        let index = |n: &str| (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == n);
        let name_col = index(NAME).or_else(|| index(NAME_ALIAS));
        for rg in meta.row_groups() {
            let nulls = |i: Option<usize>| {
                i.and_then(|i| rg.column(i).statistics().and_then(|s| s.null_count_opt())).unwrap_or(0)
            };
            facts.null_timestamps += nulls(index(TIMESTAMP));
            facts.null_names += nulls(name_col);
        }
    }
    facts
}

/// The paths as the engine takes them (directories with a trailing `/`,
/// URLs as they are), and every file's footer, checked.
async fn check_paths(src: &Source) -> Result<(Vec<String>, Arc<[Footer]>), DataError> {
    let mut out = Vec::new();
    for p in &src.paths {
        out.push(engine_url(p)?.to_string());
    }
    Ok((out, src.footers().await?))
}

/// The URL the engine reads an entry by: a URL as checked
/// ([`super::remote::parse`]); a local file or directory, which must exist,
/// by its absolute path, percent-encoded. Given as a path, the engine would
/// read `*`, `?` and `[` in it as a glob, and a file named with them was
/// not found.
pub(crate) fn engine_url(p: &std::path::Path) -> Result<url::Url, DataError> {
    if let Some(s) = super::remote::url_of(p) {
        return super::remote::parse(s);
    }
    let io = |e: &dyn std::fmt::Display| io_error(std::slice::from_ref(&p.to_path_buf()), e);
    let dir = std::fs::metadata(p).map_err(|e| io(&e))?.is_dir();
    let abs = std::path::absolute(p).map_err(|e| io(&e))?;
    let u = match dir {
        true => url::Url::from_directory_path(&abs),
        false => url::Url::from_file_path(&abs),
    }
    .map_err(|_| io(&"the path cannot be written as a file URL"))?;
    // Resolves `.` and `..` segments.
    url::Url::parse(u.as_str()).map_err(|e| io(&e))
}

/// The files as one frame, with their footers (what [`all_within`] and
/// [`all_match`] read), the string columns decoded as `strings` says
/// ([`super::strings`]).
pub(crate) async fn frame(
    ctx: &SessionContext,
    src: &Source,
    strings: Strings,
) -> Result<(DataFrame, Arc<[Footer]>), Vec<DataError>> {
    let (paths, footers) = check_paths(src).await.map_err(|e| vec![e])?;
    let union = union_schema(&footers)?;
    let options = ParquetReadOptions { schema: union.as_ref(), ..Default::default() };
    let df = ctx.read_parquet(paths.clone(), options.clone()).await.map_err(|e| vec![io_error(&src.paths, e)])?;
    let df = super::strings::read(ctx, df, &paths, &options, &footers, strings)
        .map_err(|e| vec![io_error(&src.paths, e)])?;
    Ok((df, footers))
}

/// A file's columns as the Parquet reader types them (from its footer and
/// the Arrow schema stored in it).
pub(crate) fn arrow_schema(
    meta: &datafusion::parquet::file::metadata::ParquetMetaData,
) -> datafusion::parquet::errors::Result<Schema> {
    let fm = meta.file_metadata();
    datafusion::parquet::arrow::parquet_to_arrow_schema(fm.schema_descr(), fm.key_value_metadata())
}

/// The union of the columns of every file, when there are several: the
/// engine infers a multi-path scan's schema from the first path alone,
/// which dropped the label columns only later files have (their series
/// then collided as duplicates). Files may differ in their label columns;
/// a row's missing labels read as absent. A column that is a string in
/// one file and a dictionary of strings in another is read as a string;
/// any other disagreement of types is a schema error naming both files.
fn union_schema(footers: &[Footer]) -> Result<Option<Schema>, Vec<DataError>> {
    if footers.len() < 2 {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let mut fields: Vec<(Field, PathBuf)> = Vec::new();
    for (f, meta) in footers {
        let schema = arrow_schema(meta).map_err(|e| vec![io_error(std::slice::from_ref(f), e)])?;
        for field in schema.fields() {
            let field = field.as_ref().clone().with_nullable(true);
            match fields.iter_mut().find(|(g, _)| g.name() == field.name()) {
                None => fields.push((field, f.clone())),
                Some((g, _)) if g.data_type() == field.data_type() => {}
                Some((g, _)) if is_string(g.data_type()) && is_string(field.data_type()) => {
                    *g = Field::new(g.name(), DataType::Utf8, true);
                }
                Some((g, first)) => {
                    errors.push(schema_error(
                        format!(
                            "column `{}` is {} in {} but {} in {}",
                            g.name(),
                            g.data_type(),
                            first.display(),
                            field.data_type(),
                            f.display()
                        ),
                        "give the column one type in every file of the dataset",
                    ));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Some(Schema::new(fields.into_iter().map(|(f, _)| f).collect::<Vec<_>>())))
}

/// The earliest timestamp a sample may have: 0000-01-01T00:00:00Z.
pub const MIN_MS: i64 = -62_167_219_200_000;
/// The latest: 9999-12-31T23:59:59.999Z. Times outside cannot be written
/// as RFC 3339, and no scrape ever made them.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Errors from executing a scan: a broken file reads as an I/O error.
pub(crate) fn scan_error(paths: &[PathBuf], e: datafusion::error::DataFusionError) -> DataError {
    let m = e.to_string();
    if m.contains("Resources exhausted") || m.contains("Not enough memory") {
        return DataError::Memory { message: m };
    }
    if m.contains("Parquet") || m.contains("parquet") || m.contains("IO error") || m.contains("External") {
        io_error(paths, m)
    } else {
        DataError::Engine { message: m }
    }
}

/// `df` with the filter, if there is one (none: every row is wanted).
pub(crate) fn filtered(df: DataFrame, filter: Option<Expr>) -> datafusion::error::Result<DataFrame> {
    match filter {
        Some(f) => df.filter(f),
        None => Ok(df),
    }
}

/// Batches decoded ahead of the pass that consumes them (8,192 rows each).
const READ_AHEAD: usize = 4;

/// The projected (and, when `sorted`, engine-sorted) rows of the files.
pub(crate) async fn rows(
    ctx: &SessionContext,
    src: &Source,
    sorted: bool,
    filter: impl FnOnce(&Columns, &[Footer]) -> Option<Expr>,
) -> Result<(datafusion::physical_plan::SendableRecordBatchStream, Columns), Vec<DataError>> {
    // The pass reads label keys; the engine's sort holds views in the least
    // memory (see `Strings`).
    let strings = if sorted { Strings::Views } else { Strings::Dictionaries };
    let (df, footers) = frame(ctx, src, strings).await?;
    let cols = columns(df.schema())?;
    let mut proj: Vec<Expr> = vec![ident(&cols.timestamp), ident(&cols.name), ident(&cols.value)];
    proj.extend(cols.labels.iter().map(ident));
    if let Some(s) = &cols.stale {
        proj.push(ident(s));
    }
    if let Some(m) = &cols.map {
        proj.push(ident(m));
    }
    if cols.histograms {
        proj.extend(H_COLUMNS.iter().map(|c| ident(*c)));
    }
    let mut df = filtered(df, filter(&cols, &footers))
        .and_then(|d| d.select(proj))
        .map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
    if sorted {
        if cols.map.is_some() {
            return Err(vec![schema_error(
                "rows with a `labels` map column must be sorted by series, then time".into(),
                "sort the file by its labels and timestamp, or store one column per label",
            )]);
        }
        let mut order: Vec<datafusion::logical_expr::SortExpr> = vec![ident(&cols.name).sort(true, true)];
        order.extend(cols.labels.iter().map(|l| ident(l).sort(true, true)));
        order.push(ident(&cols.timestamp).sort(true, true));
        df = df.sort(order).map_err(|e| vec![DataError::Engine { message: e.to_string() }])?;
    }
    let split = (!sorted)
        .then(|| {
            let batch = df.task_ctx().session_config().batch_size().max(1);
            split(&footers, df.schema().fields().len(), batch, src.memory_limit, partition_bytes(&footers))
        })
        .flatten();
    if let Some(Split { partitions, ahead }) = split {
        let (stream, _) = in_file_order(df, partitions, ahead).await.map_err(|e| vec![scan_error(&src.paths, e)])?;
        return Ok((stream, cols));
    }
    let stream = df.execute_stream().await.map_err(|e| vec![scan_error(&src.paths, e)])?;
    // Decoding runs on a runtime worker, a few batches ahead, while the
    // caller assembles series from the batches already decoded.
    Ok((datafusion::physical_plan::common::spawn_buffered(stream, READ_AHEAD), cols))
}

/// Row groups [`in_file_order`] decodes at once: the one being read and the
/// next (the runtime's two workers). Where decoding is what the pass waits
/// on, both decode all the time: when the one being read is done, the next
/// is too, and the one after it starts. Where the pass is slower, more
/// would only hold more decoded rows.
const IN_FLIGHT: usize = 2;
/// The most batches one row group is decoded ahead of the pass (8,192 rows
/// each: a million rows, the common row-group size).
const GROUP_AHEAD: usize = 128;
/// What one decoded row costs per column, at most: a string view is 16
/// bytes plus its share of the strings, a number 8.
const ROW_BYTES_PER_COLUMN: usize = 24;

/// The least compressed bytes worth a partition of their own: files of
/// many tiny row groups are cut into fewer partitions (each partition opens
/// the file and walks its footer: one per row group made a file of 20,000
/// ten-row groups read in twice the time).
const PARTITION_BYTES: u64 = 1 << 20;
/// And at least this many times its file's footer (as held in memory).
const FOOTER_SHARE: u64 = 16;

/// The least compressed bytes of a partition: [`PARTITION_BYTES`], and
/// [`FOOTER_SHARE`] times the largest footer, since each partition opens its
/// file and walks its footer.
fn partition_bytes(footers: &[Footer]) -> u64 {
    let footer = footers.iter().map(|(_, m)| m.memory_size() as u64).max().unwrap_or(0);
    PARTITION_BYTES.max(FOOTER_SHARE * footer)
}

/// How [`in_file_order`] cuts the files: into how many partitions, and how
/// many batches each partition in flight may be decoded ahead.
#[derive(Debug, PartialEq)]
struct Split {
    partitions: usize,
    ahead: usize,
}

/// One partition per row group (fewer where row groups are smaller than
/// `min_bytes`, see [`partition_bytes`]), each decoded up to a partition
/// ahead, so that the [`IN_FLIGHT`] hold at most a quarter of the engine's
/// `memory`; `None` (one scan, [`READ_AHEAD`] batches ahead) for a single
/// partition, or where that share cannot hold [`READ_AHEAD`] batches for
/// each (small `--memory-limit`s keep the one-scan footprint).
fn split(footers: &[Footer], columns: usize, batch: usize, memory: usize, min_bytes: u64) -> Option<Split> {
    let (mut count, mut bytes, mut rows, mut largest) = (0usize, 0u64, 0usize, 0usize);
    for g in footers.iter().flat_map(|(_, m)| m.row_groups()) {
        let n = g.num_rows().max(0) as usize;
        (count, bytes, rows, largest) =
            (count + 1, bytes + g.compressed_size().max(0) as u64, rows + n, largest.max(n));
    }
    let partitions = count.min((bytes / min_bytes.max(1)) as usize).min(4096);
    if partitions < 2 {
        return None;
    }
    let per_partition = largest.max(rows.div_ceil(partitions));
    let batch_bytes = batch * columns.max(1) * ROW_BYTES_PER_COLUMN;
    let affordable = memory / 4 / IN_FLIGHT / batch_bytes;
    (affordable >= READ_AHEAD).then(|| Split {
        partitions,
        ahead: per_partition.div_ceil(batch).clamp(READ_AHEAD, GROUP_AHEAD.min(affordable)),
    })
}

/// The rows of `df` in file order, [`IN_FLIGHT`] row groups decoding at
/// once, each up to `ahead` batches ahead of the pass: a single scan
/// decodes one row group after another on one thread, while the pass waits
/// on it. The files' bytes are cut into `partitions` (see [`split`]:
/// DataFusion cuts them in order, a row group going to the partition its
/// bytes start in), and the partitions are read one after another, the
/// next already decoding. The order is the single scan's, so series
/// stay whole and sorted files stay sorted (were it ever not, the pass
/// would see the disorder and read again sorted, as for any unsorted
/// file). Also gives the partition count.
async fn in_file_order(
    df: DataFrame,
    partitions: usize,
    ahead: usize,
) -> datafusion::error::Result<(datafusion::physical_plan::SendableRecordBatchStream, usize)> {
    use datafusion::physical_plan::{common::spawn_buffered, stream::RecordBatchStreamAdapter};
    use futures::TryStreamExt;
    let (mut state, logical) = df.into_parts();
    let options = state.config_mut().options_mut();
    options.execution.target_partitions = partitions.max(1);
    options.optimizer.repartition_file_scans = true;
    options.optimizer.repartition_file_min_size = 0;
    options.optimizer.enable_round_robin_repartition = false;
    // An idle partition would otherwise take a sibling's files.
    options.execution.enable_file_stream_work_stealing = false;
    let plan = state.create_physical_plan(&logical).await?;
    let task = state.task_ctx();
    let schema = plan.schema();
    let partitions = plan.properties().output_partitioning().partition_count();
    let streams = futures::stream::iter(0..partitions)
        .map(move |i| {
            let part = plan.execute(i, Arc::clone(&task)).map(|s| spawn_buffered(s, ahead));
            async move { part }
        })
        .buffered(IN_FLIGHT)
        .try_flatten();
    Ok((Box::pin(RecordBatchStreamAdapter::new(schema, streams)), partitions))
}

/// One complete series as read: sorted labels (with `__name__`), the
/// sample times and values (staleness markers apart) and the markers' times.
pub type Series = (Vec<(String, String)>, Vec<i64>, Vec<f64>, Vec<i64>);

/// What consumes whole series from [`each_series`].
pub(crate) trait SeriesSink {
    fn series(&mut self, s: Series);
    /// The files turned out not to be sorted: everything handed over so far
    /// is void, and every series comes again, sorted by the engine.
    fn restart(&mut self);
}

/// Reads every series of the files, whole and in time order, into `sink`
/// (for `slo data inspect` and `export`).
pub(crate) fn each_series(
    src: &Source,
    rt: &tokio::runtime::Runtime,
    sink: &mut dyn SeriesSink,
) -> Result<Stats, Vec<DataError>> {
    for sorted in [false, true] {
        if sorted {
            sink.restart();
        }
        let outcome = rt.block_on(async {
            let ctx = session(src, 1).map_err(|e| vec![e])?;
            let all = i64::MIN / 4..=i64::MAX / 4;
            let (mut stream, cols) = rows(&ctx, src, sorted, |cols, footers| {
                let ts = ident(&cols.timestamp);
                (!all_within(footers, cols, *all.start(), *all.end())).then(|| {
                    ts.clone()
                        .gt_eq(ts_literal(&cols.ts_type, *all.start()))
                        .and(ts.lt_eq(ts_literal(&cols.ts_type, *all.end())))
                })
            })
            .await?;
            let wants = |_: &[(String, String)]| true;
            let mut to_sink = |j: Job| sink.series((j.key, j.ts, j.v, j.stale));
            Pass::new(&wants, &mut to_sink, sorted, *all.start(), *all.end())
                .drain(&mut stream, &cols, &src.paths, |_| {})
                .await
        })?;
        if let Some(stats) = outcome {
            return Ok(stats);
        }
    }
    Err(vec![DataError::Engine {
        message: "rows could not be grouped by series even after sorting (a label both empty and null?)".into(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, DictionaryArray, Float64Array, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{Int8Type, UInt16Type};

    /// A small deterministic generator (no dependency for a test).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    const WORDS: [Option<&str>; 6] = [
        Some("a"),
        Some(""),
        None,
        Some("a-label-value-longer-than-twelve-bytes"),
        Some("a-label-value-longer-than-twelve-bytez"),
        Some("b"),
    ];

    /// The exact runs of equal `get` values, the reference for [`runs`].
    fn reference(c: &StrCol, n: usize) -> Vec<usize> {
        (1..n).filter(|&i| c.get(i) != c.get(i - 1)).collect()
    }

    fn starts(r: &[std::ops::Range<usize>]) -> Vec<usize> {
        r.iter().skip(1).map(|r| r.start).collect()
    }

    /// A panic inside `guarded` is an error and prints nothing, on its
    /// thread only: a panic on another thread meanwhile is still printed,
    /// and many threads guarding at once leave every thread as it was
    /// (swapping the process's hook around each call left it silent for
    /// good when two calls overlapped).
    #[test]
    fn guarded_panics_are_quiet_on_their_own_thread_only() {
        let inside = std::sync::Barrier::new(2);
        let checked = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let r: Result<(), _> = guarded(&[], || {
                    assert!(!panics_print());
                    inside.wait();
                    checked.wait();
                    panic!("a decoder's assertion")
                });
                assert!(r.unwrap_err()[0].to_string().contains("a decoder's assertion"));
                assert!(panics_print());
            });
            inside.wait();
            assert!(panics_print(), "another thread's guarded call silenced this one");
            checked.wait();
        });
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let _ = guarded::<()>(&[], || panic!("overlapping"));
                        assert!(panics_print());
                    }
                });
            }
        });
        assert!(panics_print());
        // The engine's threads are quiet: their panics come back as errors.
        let rt = runtime().unwrap();
        assert!(!rt.block_on(async { tokio::spawn(async { panics_print() }).await.unwrap() }));
    }

    #[test]
    fn runs_never_join_different_values_and_split_views_only_where_they_differ() {
        let mut g = Lcg(7);
        for _ in 0..200 {
            let n = 1 + g.below(60) as usize;
            // Long runs of few values, as sorted files have them.
            let mut vals = Vec::with_capacity(n);
            while vals.len() < n {
                let w = WORDS[g.below(WORDS.len() as u64) as usize];
                for _ in 0..1 + g.below(5) {
                    vals.push(w);
                }
            }
            vals.truncate(n);
            let plain: ArrayRef = Arc::new(StringArray::from(vals.clone()));
            // Each long string stored again: equal values, different views.
            let view: ArrayRef = Arc::new(StringViewArray::from(vals.clone()));
            // Two keys for "a": equal values behind different keys.
            let dict_vals = StringArray::from(vec![
                "a",
                "",
                "a-label-value-longer-than-twelve-bytes",
                "a-label-value-longer-than-twelve-bytez",
                "b",
                "a",
            ]);
            let keys: Vec<Option<i8>> = vals
                .iter()
                .map(|v| {
                    v.map(|v| match v {
                        "a" => {
                            if g.below(2) == 0 {
                                0
                            } else {
                                5
                            }
                        }
                        "" => 1,
                        "b" => 4,
                        s if s.ends_with('s') => 2,
                        _ => 3,
                    })
                })
                .collect();
            let dict8: ArrayRef = Arc::new(
                DictionaryArray::<Int8Type>::try_new(keys.iter().copied().collect(), Arc::new(dict_vals.clone()))
                    .unwrap(),
            );
            let keys16: Vec<Option<u16>> = keys.iter().map(|k| k.map(|k| k as u16)).collect();
            let dict16: ArrayRef = Arc::new(
                DictionaryArray::<UInt16Type>::try_new(keys16.into_iter().collect(), Arc::new(dict_vals)).unwrap(),
            );
            let exact = reference(&StrCol::new(&plain).unwrap(), n);
            for (a, may_oversplit) in [(&plain, false), (&view, false), (&dict8, true), (&dict16, true)] {
                let c = StrCol::new(a).unwrap();
                assert_eq!(reference(&c, n), exact, "{:?} reads the same values", a.data_type());
                let got = starts(&runs(&[&c], n));
                for i in &exact {
                    assert!(got.contains(i), "{:?}: the change at row {i} was missed", a.data_type());
                }
                if !may_oversplit {
                    assert_eq!(got, exact, "{:?} splits only where values differ", a.data_type());
                }
            }
            // Several columns: a change in any one is a change.
            let two = runs(&[&StrCol::new(&plain).unwrap(), &StrCol::new(&view).unwrap()], n);
            assert_eq!(starts(&two), exact);
            let other: Vec<Option<&str>> = (0..n).map(|i| if i % 7 == 3 { Some("x") } else { Some("y") }).collect();
            let other: ArrayRef = Arc::new(StringArray::from(other));
            let mut both = exact.clone();
            both.extend(reference(&StrCol::new(&other).unwrap(), n));
            both.sort();
            both.dedup();
            let got = starts(&runs(&[&StrCol::new(&dict16).unwrap(), &StrCol::new(&other).unwrap()], n));
            assert!(both.iter().all(|i| got.contains(i)), "a change in either column is a change");
        }
    }

    /// A batch of `(series, time, value, stale)` rows in the native layout,
    /// with nulls where `None`.
    fn batch(rows: &[(&str, Option<i64>, Option<f64>, bool)]) -> RecordBatch {
        let name: ArrayRef = Arc::new(StringArray::from(vec!["m"; rows.len()]));
        let job: ArrayRef = Arc::new(StringViewArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>()));
        let ts: ArrayRef = Arc::new(TimestampMillisecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()));
        let v: ArrayRef = Arc::new(Float64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>()));
        let stale: ArrayRef = Arc::new(BooleanArray::from(rows.iter().map(|r| r.3).collect::<Vec<_>>()));
        RecordBatch::try_from_iter([
            ("timestamp", ts),
            ("__name__", name),
            ("job", job),
            ("value", v),
            ("stale", stale),
        ])
        .unwrap()
    }

    /// Everything a pass gives: its jobs (values as bits), its statistics
    /// and whether it asked for a sorted read; and how many runs it copied
    /// whole.
    fn read(batches: &[RecordBatch], fast: bool, lo: i64, hi: i64) -> (String, usize) {
        let cols = Columns {
            timestamp: "timestamp".into(),
            ts_type: DataType::Timestamp(TimeUnit::Millisecond, None),
            name: "__name__".into(),
            value: "value".into(),
            stale: Some("stale".into()),
            map: None,
            labels: vec!["job".into()],
            histograms: false,
        };
        let mut jobs = Vec::new();
        let wants = |k: &[(String, String)]| k.iter().all(|(_, v)| v != "skip");
        let mut sink = |j: Job| jobs.push((j.key, j.ts, j.v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), j.stale));
        let mut pass = Pass::new(&wants, &mut sink, false, lo, hi);
        pass.fast = fast;
        let mut restarted = false;
        for b in batches {
            if let Ok(Err(Restart::Unsorted)) = pass.batch(b, &cols) {
                restarted = true;
                break;
            }
        }
        if !restarted {
            pass.finish_current();
        }
        // A pass that asks for a sorted read is void: only that is compared.
        let stats = format!("{:?} {:?} {}", pass.stats, pass.repeats.first, pass.repeats.conflicts);
        let copied = pass.runs_copied;
        drop(pass);
        if restarted {
            return ("restarted".into(), copied);
        }
        (format!("{stats} {jobs:?}"), copied)
    }

    #[test]
    fn whole_runs_read_as_row_by_row() {
        let mut g = Lcg(11);
        let series = ["api", "skip", "web", "zz-a-long-job-name-of-a-series"];
        let (mut plain_seen, mut copied) = (0, 0);
        for round in 0..400 {
            // Rows series by series, times mostly rising; sometimes a
            // repeat, a step back, a NaN, an infinity, a stale marker
            // (flag or NaN bits) or a null.
            let odd = round % 4 != 0;
            let mut rows = Vec::new();
            let chosen: Vec<&str> = series.iter().copied().filter(|_| g.below(4) != 0).collect();
            for s in chosen {
                let mut t = g.below(50) as i64 * 1000;
                for _ in 0..g.below(40) {
                    let mut v = Some(g.below(1000) as f64);
                    let mut stale = false;
                    let mut ts = Some(t);
                    if odd {
                        match g.below(60) {
                            0 => t -= 1000,
                            1 => t -= 2000,
                            2 => v = Some(f64::NAN),
                            3 => v = Some(f64::INFINITY),
                            4 => stale = true,
                            5 => v = Some(f64::from_bits(STALE_NAN_BITS)),
                            6 => v = None,
                            7 => ts = None,
                            _ => {}
                        }
                    }
                    if g.below(10) != 0 {
                        t += 1000 * (1 + g.below(3) as i64);
                    }
                    rows.push((s, ts.map(|_| t), v, stale));
                }
            }
            // Cut into batches at random rows.
            let mut batches = Vec::new();
            let mut at = 0;
            while at < rows.len() {
                let k = (1 + g.below(30) as usize).min(rows.len() - at);
                batches.push(batch(&rows[at..at + k]));
                at += k;
            }
            let (lo, hi) = (g.below(20) as i64 * 1000, 20_000 + g.below(100) as i64 * 1000);
            let (fast, runs) = read(&batches, true, lo, hi);
            let (slow, none) = read(&batches, false, lo, hi);
            assert_eq!(fast, slow, "round {round}");
            assert_eq!(none, 0, "the row-by-row pass copies no run whole");
            plain_seen += usize::from(!odd && !rows.is_empty());
            copied += runs;
        }
        assert!(plain_seen > 50, "rounds of plain rows only");
        assert!(copied > 100, "the fast path was exercised: {copied} runs copied whole");
    }

    /// Rows read one partition per row group, several decoding at once,
    /// come in the order of a one-partition scan, across row groups and
    /// across files (which are read in path order).
    #[test]
    fn row_groups_decoded_at_once_keep_file_order() {
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;
        let dir = tempfile::tempdir().unwrap();
        let mut g = Lcg(7);
        let mut paths = Vec::new();
        for f in ["b", "a", "c"] {
            let mut rows = Vec::new();
            for k in 0..20 {
                let job: &'static str = Box::leak(format!("{f}-{k:02}").into_boxed_str());
                let mut t = g.below(1000) as i64;
                for _ in 0..(300 + g.below(300)) {
                    t += 1 + g.below(30) as i64;
                    rows.push((job, Some(t), Some(g.below(1_000_000) as f64), false));
                }
            }
            let path = dir.path().join(format!("{f}.parquet"));
            let b = batch(&rows);
            let props =
                WriterProperties::builder().set_max_row_group_row_count(Some(1009)).set_write_batch_size(313).build();
            let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), b.schema(), Some(props)).unwrap();
            w.write(&b).unwrap();
            w.close().unwrap();
            paths.push(path);
        }
        let src = Source::new(paths, 1 << 30);
        let rt = runtime().unwrap();
        let text = |batches: &[RecordBatch]| -> Vec<String> {
            let mut out = Vec::new();
            for b in batches {
                let job = cast(b.column_by_name("job").unwrap(), &DataType::Utf8).unwrap();
                let job = job.as_string::<i32>();
                let ts = b
                    .column_by_name("timestamp")
                    .unwrap()
                    .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
                let v = b.column_by_name("value").unwrap().as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                for i in 0..b.num_rows() {
                    out.push(format!("{} {} {}", job.value(i), ts.value(i), v.value(i)));
                }
            }
            out
        };
        let (one, (many, partitions)) = rt.block_on(async {
            let ctx = session(&src, 1).unwrap();
            let (df, _) = frame(&ctx, &src, Strings::Dictionaries).await.unwrap();
            let one = df.collect().await.unwrap();
            let (df, footers) = frame(&ctx, &src, Strings::Dictionaries).await.unwrap();
            let (stream, partitions) = in_file_order(df, footers.len() * 20, 2).await.unwrap();
            let many: Vec<RecordBatch> = stream.map(|b| b.unwrap()).collect().await;
            (one, (many, partitions))
        });
        assert!(partitions > 3 * src.paths.len(), "{partitions} partitions: the files were not cut by row group");
        // How the files are cut: a partition per row group, each decoded up
        // to a partition ahead within a quarter of the engine's memory for
        // the two in flight; fewer partitions for row groups under
        // `min_bytes`; one scan where a partition is all there is, or the
        // memory cannot hold READ_AHEAD batches each.
        let (_, footers) = futures::executor::block_on(check_paths(&src)).unwrap();
        let groups: Vec<_> = footers.iter().flat_map(|(_, m)| m.row_groups()).collect();
        let bytes: u64 = groups.iter().map(|g| g.compressed_size() as u64).sum();
        let rows: usize = groups.iter().map(|g| g.num_rows() as usize).sum();
        let per_batch = 64 * 5 * ROW_BYTES_PER_COLUMN;
        let each = |partitions: usize, ahead: usize| Some(Split { partitions, ahead });
        assert_eq!(split(&footers, 5, 64, 1 << 30, 1), each(groups.len(), 1009usize.div_ceil(64)));
        assert_eq!(split(&footers, 5, 8192, 1 << 30, 1), each(groups.len(), READ_AHEAD));
        assert_eq!(split(&footers, 5, 64, 4 * IN_FLIGHT * per_batch * 6, 1), each(groups.len(), 6));
        assert_eq!(split(&footers, 5, 64, 4 * IN_FLIGHT * per_batch * (READ_AHEAD - 1), 1), None);
        assert_eq!(split(&footers, 5, 64, 1 << 30, bytes / 3), each(3, rows.div_ceil(3).div_ceil(64).min(GROUP_AHEAD)));
        assert_eq!(split(&footers, 5, 64, 1 << 30, bytes / 2 + 1), None, "one partition: one scan");
        assert_eq!(split(&footers[..0], 5, 64, 1 << 30, 1), None);
        // These small files, with a footer each of 9 row groups, are read
        // in one scan.
        let min = partition_bytes(&footers);
        assert!(min >= FOOTER_SHARE * footers[0].1.memory_size() as u64 && min >= PARTITION_BYTES);
        assert_eq!(split(&footers, 5, 64, 1 << 30, min), None);
        let (one, many) = (text(&one), text(&many));
        assert!(one.len() > 20_000, "{} rows", one.len());
        assert!(one.first().unwrap().starts_with("a-00 "), "files are read in path order");
        assert_eq!(one.len(), many.len(), "rows lost or doubled");
        if let Some(i) = (0..one.len()).find(|&i| one[i] != many[i]) {
            panic!("row {i} of {}: {} in file order, {} as read", one.len(), one[i], many[i]);
        }
    }

    /// A file of thousands of tiny row groups has a footer that outweighs
    /// its data: cut by bytes alone it would be several partitions, each
    /// walking the whole footer; its footer makes it one scan.
    #[test]
    fn tiny_row_groups_are_read_in_one_scan() {
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.parquet");
        let rows: Vec<_> = (0..60_000).map(|i| ("a-job", Some(i as i64 * 1000), Some(i as f64), false)).collect();
        let b = batch(&rows);
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(6)).build();
        let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), b.schema(), Some(props)).unwrap();
        // The writer recurses once per row group a batch spans.
        for at in (0..b.num_rows()).step_by(600) {
            w.write(&b.slice(at, 600.min(b.num_rows() - at))).unwrap();
        }
        w.close().unwrap();
        let (_, footers) = futures::executor::block_on(check_paths(&Source::new(vec![path], 1 << 30))).unwrap();
        let by_bytes = split(&footers, 5, 8192, 1 << 30, PARTITION_BYTES);
        assert!(by_bytes.as_ref().is_some_and(|s| s.partitions >= 2), "{by_bytes:?}: cut by bytes alone");
        assert_eq!(split(&footers, 5, 8192, 1 << 30, partition_bytes(&footers)), None);
    }
}
