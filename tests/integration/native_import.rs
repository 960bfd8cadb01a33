//! Native-histogram samples into the native layout: `slo data import` of
//! Prometheus API JSON and `slo data pull` from a real Prometheus 3.5.
//!
//! The live test pushes known histograms into Prometheus 3.5 through its
//! remote-write receiver (protobuf + snappy, remote write 1.0): integer and
//! float counts, negative buckets, a zero bucket, a schema change and a
//! counter reset, an empty sample. What `slo data pull` writes (through
//! streamed remote read, which falls back to samples for histogram chunks,
//! through remote read of samples, and through the query API) must be
//! exactly what was pushed: schema, zero threshold, counts per absolute
//! index, count and sum. The server's JSON answer for the range vector is
//! the committed fixture `tests/native_import/prometheus-3.5.json`
//! (`SLO_UPDATE_FIXTURES=1` rewrites it), which the serverless tests
//! import, so the import is covered where no server runs.

use super::common::*;
use super::pull::{server_bin, start, Start};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int32Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prost::Message;
use std::path::Path;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const FIXTURE: &str = "tests/native_import/prometheus-3.5.json";
const CUSTOM_FIXTURE: &str = "tests/native_import/prometheus-3.5-custom-buckets.json";

/// A histogram sample as the layout holds it.
#[derive(Debug, Clone, PartialEq)]
struct H {
    schema: i32,
    zero_threshold: f64,
    zero_count: f64,
    count: f64,
    sum: f64,
    positive: Vec<(i32, f64)>,
    negative: Vec<(i32, f64)>,
}

/// (job, ms, histogram), in the layout's order (series, then time).
type Rows = Vec<(String, i64, H)>;

/// The pushed samples: `job="api"` with integer counts at schema 3 (zero
/// threshold 0.001), then schema 1, then a counter reset; `job="batch"`
/// with float counts at schema 0, starting with an empty histogram.
fn pushed() -> Rows {
    let h = |schema, zero_count: f64, positive: Vec<(i32, f64)>, negative: Vec<(i32, f64)>, sum| {
        let count = zero_count + positive.iter().chain(&negative).map(|b| b.1).sum::<f64>();
        H { schema, zero_threshold: 0.001, zero_count, count, sum, positive, negative }
    };
    let mut rows = Vec::new();
    let api = [
        h(3, 1.0, vec![(-5, 1.0), (0, 2.0), (7, 1.0)], vec![(2, 1.0)], 3.25),
        h(3, 1.0, vec![(-5, 2.0), (-4, 1.0), (0, 3.0), (7, 1.0)], vec![(2, 1.0)], 5.5),
        h(3, 2.0, vec![(-5, 2.0), (-4, 1.0), (0, 5.0), (7, 2.0)], vec![(2, 2.0)], 9.75),
        // Schema 1: bucket i of schema 3 is bucket ceil(i / 4).
        h(1, 2.0, vec![(-1, 3.0), (0, 6.0), (2, 3.0)], vec![(1, 2.0)], 12.5),
        h(1, 2.0, vec![(-1, 4.0), (0, 7.0), (2, 3.0)], vec![(1, 3.0)], 14.0),
        // A counter reset.
        h(1, 0.0, vec![(0, 1.0)], vec![], 0.5),
        h(1, 1.0, vec![(0, 2.0), (3, 1.0)], vec![], 4.0),
    ];
    for (k, x) in api.into_iter().enumerate() {
        rows.push(("api".to_string(), T0 + 15_000 * k as i64, x));
    }
    let f = |positive: Vec<(i32, f64)>, sum| {
        let count = positive.iter().map(|b| b.1).sum::<f64>();
        H { schema: 0, zero_threshold: 2f64.powi(-128), zero_count: 0.0, count, sum, positive, negative: vec![] }
    };
    let batch = [
        f(vec![], 0.0),
        f(vec![(-2, 0.5), (1, 1.5)], 2.125),
        f(vec![(-2, 0.5), (1, 2.5), (4, 0.25)], 6.0),
        f(vec![(-2, 1.0), (1, 2.5), (4, 0.25)], 6.25),
    ];
    for (k, x) in batch.into_iter().enumerate() {
        rows.push(("batch".to_string(), T0 + 7_500 + 15_000 * k as i64, x));
    }
    rows
}

// Remote write 1.0 (`prompb`): only what the test sends.
#[derive(Clone, PartialEq, Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}
#[derive(Clone, PartialEq, Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "4")]
    histograms: Vec<Histogram>,
}
#[derive(Clone, PartialEq, Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}
#[derive(Clone, PartialEq, Message)]
struct Histogram {
    #[prost(uint64, optional, tag = "1")]
    count_int: Option<u64>,
    #[prost(double, optional, tag = "2")]
    count_float: Option<f64>,
    #[prost(double, tag = "3")]
    sum: f64,
    #[prost(sint32, tag = "4")]
    schema: i32,
    #[prost(double, tag = "5")]
    zero_threshold: f64,
    #[prost(uint64, optional, tag = "6")]
    zero_count_int: Option<u64>,
    #[prost(double, optional, tag = "7")]
    zero_count_float: Option<f64>,
    #[prost(message, repeated, tag = "8")]
    negative_spans: Vec<Span>,
    #[prost(sint64, repeated, tag = "9")]
    negative_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "10")]
    negative_counts: Vec<f64>,
    #[prost(message, repeated, tag = "11")]
    positive_spans: Vec<Span>,
    #[prost(sint64, repeated, tag = "12")]
    positive_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "13")]
    positive_counts: Vec<f64>,
    #[prost(int64, tag = "15")]
    timestamp: i64,
    #[prost(double, repeated, tag = "16")]
    custom_values: Vec<f64>,
}
#[derive(Clone, PartialEq, Message)]
struct Span {
    #[prost(sint32, tag = "1")]
    offset: i32,
    #[prost(uint32, tag = "2")]
    length: u32,
}

/// Buckets (ascending absolute indices) as spans (a gap of up to two
/// empty buckets stays inside a span, as Prometheus's own encoder does)
/// and their counts.
fn spans(buckets: &[(i32, f64)]) -> (Vec<Span>, Vec<f64>) {
    let (mut spans, mut counts): (Vec<Span>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut next = 0;
    for &(i, c) in buckets {
        match spans.last_mut() {
            Some(s) if i - next <= 2 => {
                counts.extend(std::iter::repeat_n(0.0, (i - next) as usize));
                s.length += (i - next) as u32 + 1;
            }
            Some(_) => spans.push(Span { offset: i - next, length: 1 }),
            None => spans.push(Span { offset: i, length: 1 }),
        }
        counts.push(c);
        next = i + 1;
    }
    (spans, counts)
}

fn deltas(counts: &[f64]) -> Vec<i64> {
    let mut prev = 0i64;
    counts
        .iter()
        .map(|&c| {
            let d = c as i64 - prev;
            prev = c as i64;
            d
        })
        .collect()
}

fn proto(ts: i64, h: &H, float: bool) -> Histogram {
    let (ps, pc) = spans(&h.positive);
    let (ns, nc) = spans(&h.negative);
    let mut out = Histogram {
        count_int: None,
        count_float: None,
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count_int: None,
        zero_count_float: None,
        negative_spans: ns,
        negative_deltas: vec![],
        negative_counts: vec![],
        positive_spans: ps,
        positive_deltas: vec![],
        positive_counts: vec![],
        timestamp: ts,
        custom_values: vec![],
    };
    if float {
        (out.count_float, out.zero_count_float) = (Some(h.count), Some(h.zero_count));
        (out.positive_counts, out.negative_counts) = (pc, nc);
    } else {
        (out.count_int, out.zero_count_int) = (Some(h.count as u64), Some(h.zero_count as u64));
        (out.positive_deltas, out.negative_deltas) = (deltas(&pc), deltas(&nc));
    }
    out
}

fn push(url: &str, series: Vec<TimeSeries>) {
    let body = snap::raw::Encoder::new().compress_vec(&WriteRequest { timeseries: series }.encode_to_vec()).unwrap();
    let resp = probe_agent()
        .post(format!("{url}/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .send(&body[..])
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    assert!(status / 100 == 2, "remote write: {status} {text}");
}

fn probe_agent() -> ureq::Agent {
    super::pull::probe_agent(false)
}

fn labels(name: &str, job: &str) -> Vec<Label> {
    vec![Label { name: "__name__".into(), value: name.into() }, Label { name: "job".into(), value: job.into() }]
}

/// The histogram rows of a Parquet file in the layout: (job, ms, histogram).
fn read_rows(path: &Path) -> Rows {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap().build().unwrap();
    let mut rows = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let col = |n: &str| b.column_by_name(n).unwrap_or_else(|| panic!("no column {n}")).clone();
        let job = datafusion::arrow::compute::cast(&col("job"), &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let job = job.as_string::<i32>();
        let ts = col("timestamp");
        let ts = ts.as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        let schema = col("h_schema");
        let schema = schema.as_primitive::<Int32Type>();
        let f = |n: &str| col(n).as_primitive::<Float64Type>().clone();
        let (zt, zc, count, sum, value) =
            (f("h_zero_threshold"), f("h_zero_count"), f("h_count"), f("h_sum"), f("value"));
        let side = |n: &str, i: usize| -> Vec<(i32, f64)> {
            let l = col(n);
            let l = l.as_list::<i32>().value(i);
            let s = l.as_struct();
            let idx = s.column(0).as_primitive::<Int32Type>();
            let c = s.column(1).as_primitive::<Float64Type>();
            (0..s.len()).map(|k| (idx.value(k), c.value(k))).collect()
        };
        for i in 0..b.num_rows() {
            if schema.is_null(i) {
                continue;
            }
            assert!(value.value(i).is_nan(), "a histogram row's value is NaN");
            let h = H {
                schema: schema.value(i),
                zero_threshold: zt.value(i),
                zero_count: zc.value(i),
                count: count.value(i),
                sum: sum.value(i),
                positive: side("h_positive", i),
                negative: side("h_negative", i),
            };
            rows.push((job.value(i).to_string(), ts.value(i), h));
        }
    }
    rows
}

/// The staleness-marker rows of a Parquet file: (job, ms).
fn stale_rows(path: &Path) -> Vec<(String, i64)> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap().build().unwrap();
    let mut rows = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let job = b.column_by_name("job").unwrap();
        let job = datafusion::arrow::compute::cast(job, &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let ts = b.column_by_name("timestamp").unwrap();
        let ts = ts.as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        let stale = b.column_by_name("stale").unwrap().as_boolean().clone();
        for i in 0..b.num_rows() {
            if stale.value(i) {
                rows.push((job.as_string::<i32>().value(i).to_string(), ts.value(i)));
            }
        }
    }
    rows
}

fn import(dir: &Path, input: &Path) -> (i32, String) {
    let out = dir.join("imported.parquet");
    let (code, _, err) = slo(&["data", "import", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    (code, err)
}

/// The committed answer of a real Prometheus 3.5 imports as what was pushed.
#[test]
fn the_prometheus_fixture_imports_as_pushed() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = import(d.path(), &repo().join(FIXTURE));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("11 native-histogram samples"), "{err}");
    assert_eq!(read_rows(&d.path().join("imported.parquet")), pushed());
    let (code, out, err) = slo(&["data", "inspect", d.path().join("imported.parquet").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("native-histogram samples: 11"), "{out}");
}

/// A custom-bucket histogram (schema −53, as Prometheus answered for one)
/// is refused with a coded error, and nothing is written.
#[test]
fn custom_bucket_histograms_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = import(d.path(), &repo().join(CUSTOM_FIXTURE));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[slo::import::histogram_layout]"), "{err}");
    assert!(err.contains("data.result[0].histograms[0][1]"), "the error names the sample: {err}");
    assert!(!d.path().join("imported.parquet").exists());
}

/// A vector answer's `histogram`, and a histogram and a float at one time.
#[test]
fn vector_histograms_import_and_conflicts_are_named() {
    let d = tempfile::tempdir().unwrap();
    let vector = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"__name__":"h","job":"x"},"histogram":[1767225600,{"count":"3","sum":"2.5","buckets":[[3,"-0.5","0.5","1"],[0,"1","2","2"]]}]}]}}"#;
    let p = d.path().join("v.json");
    std::fs::write(&p, vector).unwrap();
    let (code, err) = import(d.path(), &p);
    assert_eq!(code, 0, "{err}");
    let want = H {
        schema: 0,
        zero_threshold: 0.5,
        zero_count: 1.0,
        count: 3.0,
        sum: 2.5,
        positive: vec![(1, 2.0)],
        negative: vec![],
    };
    assert_eq!(read_rows(&d.path().join("imported.parquet")), vec![("x".to_string(), T0, want)]);
    let mixed = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"h","job":"x"},"values":[[1767225600,"1"]],"histograms":[[1767225600,{"count":"0","sum":"0"}]]}]}}"#;
    std::fs::write(&p, mixed).unwrap();
    let (code, err) = import(d.path(), &p);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("slo::import::conflict") && err.contains("a native histogram"), "{err}");
}

/// The SLO whose selectors the pull fetches: a latency SLI over the
/// native histogram (the pull reads the selectors the backtester plans).
const SLO: &str = r#"service rpc {
  owner = "team"
}

slo fast for rpc {
  objective = 99% over 28d
  sli latency {
    histogram = rpc_duration_seconds
    below = 100ms
    native = true
  }
}
"#;

#[test]
fn pull_from_prometheus_3_carries_native_histograms() {
    let Some(bin) = server_bin("3") else { return };
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let flags = vec!["--web.enable-remote-write-receiver".into(), "--enable-feature=native-histograms".into()];
    let server = start(&bin, Path::new(&p("tsdb")), d.path(), &Start { flags, ..Default::default() });
    let rows = pushed();
    let mut series = Vec::new();
    for job in ["api", "batch"] {
        let histograms = rows.iter().filter(|r| r.0 == job).map(|(_, ts, h)| proto(*ts, h, job == "batch")).collect();
        series.push(TimeSeries { labels: labels("rpc_duration_seconds", job), histograms });
    }
    push(&server.url, series);
    // A staleness marker of `job="api"` (a histogram whose sum is the
    // staleness NaN), which remote read gives and the query API drops.
    let mut marker = proto(T0 + 120_000, &rows[6].2, false);
    marker.sum = f64::from_bits(0x7ff0_0000_0000_0002);
    push(&server.url, vec![TimeSeries { labels: labels("rpc_duration_seconds", "api"), histograms: vec![marker] }]);
    // A custom-bucket histogram under another name.
    let custom = Histogram {
        count_int: Some(3),
        count_float: None,
        sum: 0.7,
        schema: -53,
        zero_threshold: 0.0,
        zero_count_int: Some(0),
        zero_count_float: None,
        negative_spans: vec![],
        negative_deltas: vec![],
        negative_counts: vec![],
        positive_spans: vec![Span { offset: 0, length: 3 }],
        positive_deltas: vec![1, 0, 0],
        positive_counts: vec![],
        timestamp: T0,
        custom_values: vec![0.1, 0.25, 0.5],
    };
    push(&server.url, vec![TimeSeries { labels: labels("rpc_custom_seconds", "api"), histograms: vec![custom] }]);

    // The server's JSON is the committed fixture.
    let agent = probe_agent();
    for (query, fixture) in [("rpc_duration_seconds[5m]", FIXTURE), ("rpc_custom_seconds[5m]", CUSTOM_FIXTURE)] {
        let mut resp = agent
            .get(format!("{}/api/v1/query", server.url))
            .query("query", query)
            .query("time", "1767225780")
            .call()
            .unwrap();
        let body = resp.body_mut().read_to_string().unwrap();
        assert!(body.contains("\"status\":\"success\""), "{body}");
        let path = repo().join(fixture);
        if std::env::var("SLO_UPDATE_FIXTURES").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, format!("{body}\n")).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(committed.trim_end(), body, "Prometheus 3.5 answers {query} otherwise than {fixture}");
    }

    // A query_range answer imports as the samples each step sees: the
    // latest at or before it (the 5m lookback covers the whole test).
    let mut resp = agent
        .get(format!("{}/api/v1/query_range", server.url))
        .query("query", "rpc_duration_seconds")
        .query("start", "1767225600")
        .query("end", "1767225705")
        .query("step", "15")
        .call()
        .unwrap();
    std::fs::write(p("range.json"), resp.body_mut().read_to_string().unwrap()).unwrap();
    let (code, err) = import(d.path(), Path::new(&p("range.json")));
    assert_eq!(code, 0, "{err}");
    let mut want = Rows::new();
    for job in ["api", "batch"] {
        for step in (0..8).map(|k| T0 + 15_000 * k) {
            if let Some((_, _, h)) = rows.iter().rfind(|r| r.0 == job && r.1 <= step) {
                want.push((job.to_string(), step, h.clone()));
            }
        }
    }
    assert_eq!(read_rows(&d.path().join("imported.parquet")), want);

    // The pull, through each API, writes what was pushed.
    std::fs::write(p("rpc.slo"), SLO).unwrap();
    let pull = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "data",
            "pull",
            "rpc.slo",
            "--url",
            &server.url,
            "--from",
            "2026-01-01T01:00:00Z",
            "--to",
            "2026-01-01T01:00:00Z",
            "--chunk",
            "20m",
            "--out",
            out,
        ];
        args.extend(extra);
        let full: Vec<String> =
            args.iter().map(|a| if *a == "rpc.slo" { p("rpc.slo") } else { a.to_string() }).collect();
        let (code, _, err) = slo(&full.iter().map(String::as_str).collect::<Vec<_>>());
        (code, err)
    };
    let (code, err) = pull(&p("auto.parquet"), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 samples (1 staleness markers, 11 native-histogram samples)"), "{err}");
    assert!(err.contains("through the remote read (samples)"), "histogram chunks fall back to samples: {err}");
    assert_eq!(read_rows(Path::new(&p("auto.parquet"))), rows);
    assert_eq!(stale_rows(Path::new(&p("auto.parquet"))), vec![("api".to_string(), T0 + 120_000)]);
    let (code, err) = pull(&p("samples.parquet"), &["--api", "remote-read-samples"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(p("auto.parquet")).unwrap() == std::fs::read(p("samples.parquet")).unwrap());
    let (code, err) = pull(&p("query.parquet"), &["--api", "query"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 samples (0 staleness markers, 11 native-histogram samples)"), "{err}");
    assert_eq!(read_rows(Path::new(&p("query.parquet"))), rows);
    let (code, out, err) = slo(&["data", "inspect", &p("auto.parquet")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("native-histogram samples: 11"), "{out}");
    // What was pulled is what the backtester replays.
    let (code, out, err) = slo(&["backtest", &p("rpc.slo"), "--data", &p("auto.parquet"), "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("and 11 native-histogram samples"), "{out}");

    // A custom-bucket histogram is refused by the pull too, through either API.
    std::fs::write(p("custom.slo"), SLO.replace("rpc_duration_seconds", "rpc_custom_seconds")).unwrap();
    for api in ["query", "remote-read-samples"] {
        let (code, _, err) = slo(&[
            "data",
            "pull",
            &p("custom.slo"),
            "--url",
            &server.url,
            "--from",
            "2026-01-01T01:00:00Z",
            "--to",
            "2026-01-01T01:00:00Z",
            "--api",
            api,
            "--out",
            &p("custom.parquet"),
        ]);
        assert_eq!(code, 2, "{api}: {err}");
        assert!(err.contains("slo::import::histogram_layout"), "{api}: {err}");
        assert!(!Path::new(&p("custom.parquet")).exists());
    }
    drop(server);
}
