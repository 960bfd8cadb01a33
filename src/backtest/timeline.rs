//! `--timeline`: every series the rules recorded, at every evaluation, plus
//! Prometheus's `ALERTS` series, in the native long layout — so the file is
//! valid `--data` for another run, and comparable sample by sample with
//! what Prometheus would have stored.

use super::Backtest;
use datafusion::arrow::array::{ArrayRef, Float64Builder, StringBuilder, TimestampMillisecondBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

type Row<'a> = (Vec<(String, String)>, &'a [i64], Option<&'a [f64]>);

/// Writes the timeline atomically: a failed write leaves `path` untouched.
pub fn write(bt: &Backtest, path: &Path) -> Result<u64, String> {
    // Every series as (labels, timestamps, values); ALERTS have value 1.
    let mut rows: Vec<Row<'_>> = Vec::new();
    for s in &bt.store.series {
        rows.push((s.labels.to_vec(), &s.ts, Some(&s.v)));
    }
    let mut alert_ts: Vec<(super::leaves::LabelSet, Vec<i64>)> = Vec::new();
    for run in &bt.alerts {
        for (labels, h) in &run.history {
            for (state, ts) in [("pending", &h.pending), ("firing", &h.firing)] {
                if ts.is_empty() {
                    continue;
                }
                let mut l = labels.clone();
                l.push(("__name__".into(), "ALERTS".into()));
                l.push(("alertstate".into(), state.into()));
                l.sort();
                alert_ts.push((l, ts.clone()));
            }
        }
    }
    for (l, ts) in &alert_ts {
        rows.push((l.clone(), ts, None));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let names: BTreeSet<String> =
        rows.iter().flat_map(|r| r.0.iter().map(|(k, _)| k.clone())).filter(|k| k != "__name__").collect();
    let names: Vec<String> = names.into_iter().collect();
    let mut fields = vec![
        Field::new("timestamp", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
        Field::new("__name__", DataType::Utf8, false),
    ];
    fields.extend(names.iter().map(|n| Field::new(n, DataType::Utf8, true)));
    fields.push(Field::new("value", DataType::Float64, false));
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(|e| e.to_string())?))
        .build();
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    let mut w = ArrowWriter::try_new(tmp.reopen().map_err(|e| e.to_string())?, schema.clone(), Some(props))
        .map_err(|e| e.to_string())?;
    let mut total = 0u64;
    const BATCH: usize = 64 * 1024;
    let mut i = 0;
    while i < rows.len() {
        // Whole series per batch, about BATCH rows each.
        let mut j = i;
        let mut n = 0;
        while j < rows.len() && (n == 0 || n + rows[j].1.len() <= BATCH) {
            n += rows[j].1.len();
            j += 1;
        }
        let mut ts = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut name = StringBuilder::new();
        let mut labels: Vec<StringBuilder> = names.iter().map(|_| StringBuilder::new()).collect();
        let mut val = Float64Builder::with_capacity(n);
        for (l, t, v) in &rows[i..j] {
            let get = |k: &str| l.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
            for (k, &tk) in t.iter().enumerate() {
                ts.append_value(tk);
                name.append_value(get("__name__").unwrap_or(""));
                for (b, n) in labels.iter_mut().zip(&names) {
                    b.append_option(get(n));
                }
                val.append_value(v.map_or(1.0, |v| v[k]));
            }
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(ts.finish()), Arc::new(name.finish())];
        cols.extend(labels.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        cols.push(Arc::new(val.finish()));
        let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        total += n as u64;
        i = j;
    }
    w.close().map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        // Like any other file the user writes (a temp file starts at 0600).
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(total)
}
