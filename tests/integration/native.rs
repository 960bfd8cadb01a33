//! Native histograms: `slo synth` writes them in the layout's `h_*`
//! columns (README, "Native histograms"), the reader tells them from
//! float samples, the backtester replays them for `native = true` SLIs
//! and refuses them, with a coded error, anywhere they would be read as
//! floats.

use super::common::slo;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, Float64Array, Int32Array};
use datafusion::arrow::datatypes::Float64Type;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;

const EXAMPLE: &str = "examples/features/latency_native_histogram.slo";

fn synth(out: &Path, seed: &str) {
    let (code, _, err) = slo(&[
        "synth",
        EXAMPLE,
        "--out",
        out.to_str().unwrap(),
        "--days",
        "1",
        "--resolution",
        "1m",
        "--seed",
        seed,
        "--instances",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn synth_writes_native_histogram_samples() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a.parquet"), d.path().join("b.parquet"));
    synth(&a, "7");
    synth(&b, "7");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same seed, same bytes");
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&a).unwrap()).unwrap().build().unwrap();
    let (mut hist, mut stale) = (0, 0);
    let mut prev: Option<(String, f64)> = None;
    for batch in reader {
        let batch = batch.unwrap();
        let col = |n: &str| batch.column_by_name(n).unwrap_or_else(|| panic!("no column {n}")).clone();
        let schema = col("h_schema");
        let schema: &Int32Array = schema.as_primitive();
        let value = col("value");
        let value: &Float64Array = value.as_primitive();
        let is_stale = col("stale");
        let is_stale: &BooleanArray = is_stale.as_boolean();
        let count = col("h_count");
        let count: &Float64Array = count.as_primitive();
        let zero = col("h_zero_count");
        let zero: &Float64Array = zero.as_primitive();
        let positive = col("h_positive");
        let positive = positive.as_list::<i32>();
        let negative = col("h_negative");
        let negative = negative.as_list::<i32>();
        let instance = col("instance");
        let instance =
            datafusion::arrow::compute::cast(&instance, &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let instance = instance.as_string::<i32>();
        for i in 0..batch.num_rows() {
            if is_stale.value(i) {
                assert!(schema.is_null(i) && positive.is_null(i), "a staleness marker carries no histogram");
                stale += 1;
                continue;
            }
            hist += 1;
            assert_eq!(schema.value(i), 3);
            assert!(value.value(i).is_nan(), "a histogram row's value is NaN");
            let buckets = positive.value(i);
            let idx: &Int32Array = buckets.as_struct().column(0).as_primitive();
            let cnt = buckets.as_struct().column(1).as_primitive::<Float64Type>();
            assert!(idx.values().windows(2).all(|w| w[0] < w[1]), "ascending absolute indices");
            assert!(cnt.values().iter().all(|&c| c > 0.0), "populated buckets only");
            let sum: f64 = cnt.values().iter().sum::<f64>() + zero.value(i);
            assert_eq!(sum, count.value(i), "count is the buckets' sum");
            assert_eq!(negative.value(i).len(), 0, "latencies are positive");
            // Cumulative: a series' count only falls at a restart, to
            // what the restart's first step observed.
            let key = instance.value(i).to_string();
            if let Some((k, c)) = &prev {
                if *k == key && count.value(i) < *c {
                    assert!(count.value(i) <= 20.0 * 60.0 * 1.5, "a reset starts from scratch");
                }
            }
            prev = Some((key, count.value(i)));
        }
    }
    assert!(hist > 2 * 1400, "two instances, a sample a minute for a day: {hist}");
    assert!(stale > 0, "scrape gaps leave staleness markers");
}

#[test]
fn backtest_replays_native_histograms_and_refuses_them_as_floats() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("n.parquet");
    synth(&data, "1");
    let data = data.to_str().unwrap();
    // An SLO with `native = true` is replayed (its values are checked
    // against promtool 3.5 in backtest.rs's `native` scenario).
    let (code, out, err) = slo(&["backtest", EXAMPLE, "--data", data, "--quiet", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = report.to_string();
    assert!(text.contains("latency_300ms"), "{text}");
    // Any other SLO whose selector meets histogram samples: a data error
    // naming the series, never the samples read as floats.
    let src = d.path().join("g.slo");
    std::fs::write(
        &src,
        "service quotes {\n  owner = \"pricing-team\"\n}\n\nslo up for quotes {\n  objective = 99% over 1d\n  \
         sli gauge { series = http_request_duration_seconds{job=\"quotes\"} }\n}\n",
    )
    .unwrap();
    let root = d.path().to_str().unwrap();
    let (code, _, err) = slo(&["backtest", src.to_str().unwrap(), "--root", root, "--data", data, "--quiet"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::data::native_histogram"), "{err}");
    assert!(err.contains("http_request_duration_seconds{"), "names the series: {err}");
}

/// A histogram row that breaks the layout (here a schema of 9) is a coded
/// data error naming the series and time, not a panic or a wrong value.
#[test]
fn invalid_histogram_rows_are_coded_errors() {
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use slo::layout::histogram::{HistColumns, NativeHistogram};
    use std::sync::Arc;
    let d = tempfile::tempdir().unwrap();
    let mut fields = vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("__name__", DataType::Utf8, false),
        Field::new("job", DataType::Utf8, true),
        Field::new("value", DataType::Float64, false),
    ];
    fields.extend(slo::layout::histogram::fields());
    let schema = Arc::new(Schema::new(fields));
    let mut cols = HistColumns::default();
    let mut h = NativeHistogram::empty(3);
    for (k, schema_of) in [3, 3, 9, 3].into_iter().enumerate() {
        h.observe(0.1 * (k + 1) as f64, 1.0);
        cols.push(Some(&NativeHistogram { schema: schema_of, ..h.clone() }));
    }
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![0, 60_000, 120_000, 180_000])),
        Arc::new(StringArray::from(vec!["http_request_duration_seconds"; 4])),
        Arc::new(StringArray::from(vec!["quotes"; 4])),
        Arc::new(Float64Array::from(vec![f64::NAN; 4])),
    ];
    arrays.extend(cols.finish());
    let path = d.path().join("bad.parquet");
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (code, _, err) = slo(&["backtest", EXAMPLE, "--data", path.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::data::histogram"), "{err}");
    assert!(err.contains("`h_schema` is 9"), "{err}");
    assert!(err.contains("http_request_duration_seconds{"), "{err}");
}

#[test]
fn inspect_counts_and_export_refuses_histogram_samples() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("n.parquet");
    synth(&data, "2");
    let data = data.to_str().unwrap();
    let (code, out, err) = slo(&["data", "inspect", data]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("native-histogram samples: "), "{out}");
    // OpenMetrics text cannot carry them: an error, and no file.
    let out_file = d.path().join("out.om");
    let (code, _, err) = slo(&["data", "export", data, "--out", out_file.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("native-histogram"), "{err}");
    assert!(!out_file.exists());
}
