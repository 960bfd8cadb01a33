//! Writing Parquet files in the native long layout (one row per sample),
//! shared by every producer of data: `--timeline` and `slo data import`
//! whole series at a time ([`LongWriter`]), `slo synth` row by row
//! ([`DictBatch`]), all through [`AtomicParquet`].
//!
//! Files are written to a temporary file beside the target and renamed over
//! it when complete, so a failed or interrupted write leaves the old file
//! untouched; they end up with the usual 0644 permissions. The same rows
//! give the same bytes.

use super::histogram::{HistColumns, NativeHistogram};
use super::schema::{self, NAME};
use crate::error::Error;
use crate::output;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, StringBuilder, StringDictionaryBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// One batch of rows with the columns in the layout's order
/// ([`schema::schema`]): timestamp, name, labels, value, then `stale` if
/// any, then the `h_*` columns if any.
fn record_batch(
    schema: &SchemaRef,
    ts: ArrayRef,
    name: ArrayRef,
    labels: impl Iterator<Item = ArrayRef>,
    value: ArrayRef,
    stale: Option<ArrayRef>,
    histograms: Vec<ArrayRef>,
) -> Result<RecordBatch, Error> {
    let mut cols: Vec<ArrayRef> = vec![ts, name];
    cols.extend(labels);
    cols.push(value);
    cols.extend(stale);
    cols.extend(histograms);
    RecordBatch::try_new(schema.clone(), cols).map_err(|e| Error::new(e.to_string()))
}

/// A Parquet file being written to a temporary file beside its target
/// (an [`output::TempFile`]: removed on failure, on SIGINT/SIGTERM, or by
/// the next run after a kill).
pub(crate) struct AtomicParquet {
    tmp: output::TempFile,
    writer: ArrowWriter<std::fs::File>,
}

impl AtomicParquet {
    /// Starts the file; the parent directory is created if missing.
    pub fn create(path: &Path, schema: SchemaRef, props: WriterProperties) -> Result<AtomicParquet, Error> {
        let dir = output::parent_dir(path);
        std::fs::create_dir_all(dir).map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
        let tmp = output::TempFile::beside(path)
            .map_err(|e| Error::new(format!("cannot write in {}: {e}", dir.display())))?;
        let file = tmp.reopen().map_err(|e| Error::new(format!("cannot write in {}: {e}", dir.display())))?;
        let writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| Error::new(e.to_string()))?;
        Ok(AtomicParquet { tmp, writer })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        self.writer.write(batch).map_err(|e| Error::new(format!("cannot write Parquet: {e}")))
    }

    /// Closes the file and renames it over `path`.
    pub fn finish(self, path: &Path) -> Result<(), Error> {
        self.writer.close().map_err(|e| Error::new(format!("cannot write Parquet: {e}")))?;
        // Like any other file the user writes (a temp file starts at 0600).
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(self.tmp.path(), std::fs::Permissions::from_mode(0o644));
        self.tmp.persist(path).map_err(|e| Error::write(path, e))?;
        Ok(())
    }
}

/// Rows per batch handed to the Parquet writer, at most.
const BATCH: usize = 64 * 1024;
/// Cells (rows × columns) per batch at most: with many label columns a
/// batch has fewer rows, so the builders' memory stays bounded (every
/// label column holds an offset for every row, null or not).
const BATCH_CELLS: usize = 4 << 20;
/// Bytes of label values per batch at most (each row repeats its series'
/// values): a series with long label values is written in shorter batches.
const BATCH_BYTES: usize = 64 << 20;

/// Writes whole series, in the order given, in the native layout
/// ([`schema::schema`] with Utf8 strings), `stale` and the `h_*` columns
/// optional.
pub(crate) struct LongWriter {
    file: AtomicParquet,
    schema: SchemaRef,
    names: Vec<String>,
    with_stale: bool,
    ts: TimestampMillisecondBuilder,
    name: StringBuilder,
    labels: Vec<StringBuilder>,
    value: Float64Builder,
    stale: BooleanBuilder,
    /// The `h_*` columns, when the file has them.
    histograms: Option<HistColumns>,
    rows: usize,
    /// Rows per batch: [`BATCH`], fewer with many columns.
    batch: usize,
    /// Label bytes in the batch so far.
    bytes: usize,
    total: u64,
}

impl LongWriter {
    /// `label_names` are the label columns (without `__name__`), sorted.
    pub fn create(path: &Path, label_names: Vec<String>, with_stale: bool, zstd: i32) -> Result<LongWriter, Error> {
        LongWriter::create_with(path, label_names, with_stale, false, zstd)
    }

    /// [`LongWriter::create`], with the `h_*` columns when `with_histograms`.
    pub fn create_with(
        path: &Path,
        label_names: Vec<String>,
        with_stale: bool,
        with_histograms: bool,
        zstd: i32,
    ) -> Result<LongWriter, Error> {
        let schema = schema::schema(&label_names, DataType::Utf8, with_stale, with_histograms);
        let props = schema::properties(zstd)?.build();
        let file = AtomicParquet::create(path, schema.clone(), props)?;
        let n = label_names.len();
        Ok(LongWriter {
            file,
            schema,
            names: label_names,
            with_stale,
            ts: TimestampMillisecondBuilder::with_capacity(BATCH).with_timezone("UTC"),
            name: StringBuilder::new(),
            labels: (0..n).map(|_| StringBuilder::new()).collect(),
            value: Float64Builder::with_capacity(BATCH),
            stale: BooleanBuilder::new(),
            histograms: with_histograms.then(HistColumns::default),
            rows: 0,
            batch: (BATCH_CELLS / (n + 11)).clamp(256, BATCH),
            bytes: 0,
            total: 0,
        })
    }

    /// Appends one series: `labels` sorted or not, with `__name__`;
    /// `stale[i]` marks a staleness marker (written with Prometheus's
    /// staleness-NaN value). A long series spans batches; each label column
    /// is filled by runs (the series' value, or nulls), so the work per
    /// series grows with its labels and samples, not their product.
    pub fn series(&mut self, labels: &[(String, String)], ts: &[i64], v: &[f64], stale: &[bool]) -> Result<(), Error> {
        self.series_with(labels, ts, v, stale, &[])
    }

    /// [`LongWriter::series`] with native-histogram samples: `hists[i]`
    /// set for one (`v[i]` NaN; an empty `hists`: none), which needs the
    /// file made [`LongWriter::create_with`] histograms.
    pub fn series_with(
        &mut self,
        labels: &[(String, String)],
        ts: &[i64],
        v: &[f64],
        stale: &[bool],
        hists: &[Option<&NativeHistogram>],
    ) -> Result<(), Error> {
        if self.histograms.is_none() && hists.iter().any(Option::is_some) {
            return Err(Error::new("internal: a histogram sample for a file without histogram columns"));
        }
        let name = labels.iter().find(|(k, _)| k == NAME).map_or("", |(_, v)| v.as_str());
        // The series' value per column (`names` is sorted), none elsewhere.
        let mut values: Vec<Option<&str>> = vec![None; self.names.len()];
        for (k, val) in labels {
            if let Ok(i) = self.names.binary_search(k) {
                values[i] = Some(val.as_str());
            }
        }
        let row_bytes = labels.iter().map(|(_, v)| v.len()).sum::<usize>().max(1);
        let mut at = 0;
        while at < ts.len() {
            if self.rows >= self.batch || self.bytes >= BATCH_BYTES {
                self.flush()?;
            }
            let by_bytes = (BATCH_BYTES.saturating_sub(self.bytes) / row_bytes).max(1);
            let n = (ts.len() - at).min(self.batch - self.rows).min(by_bytes);
            for k in at..at + n {
                self.ts.append_value(ts[k]);
                self.name.append_value(name);
                self.value.append_value(v[k]);
                if self.with_stale {
                    self.stale.append_value(stale.get(k).copied().unwrap_or(false));
                }
                if let Some(h) = &mut self.histograms {
                    h.push(hists.get(k).copied().flatten());
                }
            }
            for (b, lv) in self.labels.iter_mut().zip(&values) {
                match lv {
                    Some(x) => b.append_value_n(x, n),
                    None => b.append_nulls(n),
                }
            }
            self.rows += n;
            self.bytes += n * row_bytes;
            self.total += n as u64;
            at += n;
        }
        if self.rows >= self.batch || self.bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.rows == 0 {
            return Ok(());
        }
        let labels = self.labels.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef);
        let stale = self.with_stale.then(|| Arc::new(self.stale.finish()) as ArrayRef);
        let batch = record_batch(
            &self.schema,
            Arc::new(self.ts.finish()),
            Arc::new(self.name.finish()),
            labels,
            Arc::new(self.value.finish()),
            stale,
            self.histograms.as_mut().map(HistColumns::finish).unwrap_or_default(),
        )?;
        self.file.write(&batch)?;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Writes the last rows and moves the file into place; returns the row count.
    pub fn finish(mut self, path: &Path) -> Result<u64, Error> {
        self.flush()?;
        self.file.finish(path)?;
        Ok(self.total)
    }
}

/// Rows of a dictionary-encoded file in the native layout ([`schema::schema`]
/// with dictionary strings and `stale`), appended one sample at a time:
/// `slo synth` writes its series step by step with it.
pub(crate) struct DictBatch {
    pub(crate) len: usize,
    ts: TimestampMillisecondBuilder,
    name: StringDictionaryBuilder<Int32Type>,
    labels: Vec<StringDictionaryBuilder<Int32Type>>,
    value: Float64Builder,
    stale: BooleanBuilder,
    /// The `h_*` columns, when the file has them.
    histograms: Option<HistColumns>,
}

impl DictBatch {
    /// `with_histograms`: the schema has the `h_*` columns.
    pub(crate) fn new(labels: usize, with_histograms: bool) -> DictBatch {
        DictBatch {
            histograms: with_histograms.then(HistColumns::default),
            len: 0,
            ts: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            name: StringDictionaryBuilder::new(),
            labels: (0..labels).map(|_| StringDictionaryBuilder::new()).collect(),
            value: Float64Builder::new(),
            stale: BooleanBuilder::new(),
        }
    }

    pub(crate) fn push(&mut self, t: i64, labels: &BTreeMap<String, String>, names: &[String], v: f64, stale: bool) {
        if let Some(h) = &mut self.histograms {
            h.push(None);
        }
        self.push_row(t, labels, names, v, stale);
    }

    /// A native-histogram sample (`value` NaN); the batch must have been
    /// made `with_histograms`.
    pub(crate) fn push_histogram(
        &mut self,
        t: i64,
        labels: &BTreeMap<String, String>,
        names: &[String],
        h: &NativeHistogram,
    ) -> Result<(), Error> {
        let Some(cols) = &mut self.histograms else {
            return Err(Error::new("internal: a histogram sample for a file without histogram columns"));
        };
        cols.push(Some(h));
        self.push_row(t, labels, names, f64::NAN, false);
        Ok(())
    }

    /// The columns every row has: time, name, labels, value, staleness.
    fn push_row(&mut self, t: i64, labels: &BTreeMap<String, String>, names: &[String], v: f64, stale: bool) {
        self.ts.append_value(t);
        self.name.append_value(&labels[NAME]);
        for (b, n) in self.labels.iter_mut().zip(names) {
            match labels.get(n) {
                Some(v) => b.append_value(v),
                None => b.append_null(),
            }
        }
        self.value.append_value(v);
        self.stale.append_value(stale);
        self.len += 1;
    }

    pub(crate) fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, Error> {
        self.len = 0;
        let labels = self.labels.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef);
        record_batch(
            schema,
            Arc::new(self.ts.finish()),
            Arc::new(self.name.finish()),
            labels,
            Arc::new(self.value.finish()),
            Some(Arc::new(self.stale.finish())),
            self.histograms.as_mut().map(HistColumns::finish).unwrap_or_default(),
        )
    }
}
