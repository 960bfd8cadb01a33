//! Differential tests: the backtester against Prometheus's own evaluation.
//!
//! Each scenario is an SLO in `tests/backtest/NAME.slo` plus samples built
//! below. The compiled rules and the same samples go through
//! `promtool test rules` 3.5: one instant query
//! `{__name__=~"slo:.+|ALERTS"}` every 2 minutes for 8 hours (240
//! timestamps), asking for nothing so that promtool prints what it got, at
//! full precision. Those answers are kept in `tests/backtest/NAME.expected.json`;
//! without promtool the backtester is compared with the fixture, with
//! promtool (always in CI, `SLO_REQUIRE_PROMTOOL=1`) the answers are
//! re-derived and must match both. `SLO_BLESS=1` rewrites the fixtures.

use crate::common::{noise, repo};
use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use slo::layout::histogram::{HistColumns, NativeHistogram};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const INTERVAL_S: i64 = 15;
const HOURS: i64 = 8;
const SAMPLES: usize = (HOURS * 3600 / INTERVAL_S) as usize + 1;
const EVERY_S: i64 = 120;

#[derive(Clone)]
enum V {
    N(f64),
    /// A native-histogram sample.
    H(Box<NativeHistogram>),
    Gap,
    Stale,
}

struct Series {
    name: String,
    labels: Vec<(String, String)>,
    values: Vec<V>,
}

fn series(name: &str, labels: &[(&str, &str)], values: Vec<V>) -> Series {
    Series { name: name.into(), labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), values }
}

/// A counter growing by `inc(i)` per sample.
fn counter(inc: impl Fn(usize) -> f64) -> Vec<V> {
    let mut c = 0.0;
    (0..SAMPLES)
        .map(|i| {
            if i > 0 {
                c += inc(i);
            }
            V::N(c)
        })
        .collect()
}

fn http(job: &str, ok: Vec<V>, err: Vec<V>) -> Vec<Series> {
    vec![
        series("http_requests_total", &[("job", job), ("code", "200")], ok),
        series("http_requests_total", &[("job", job), ("code", "500")], err),
    ]
}

const HOUR: usize = (3600 / INTERVAL_S) as usize;

fn scenario(name: &str) -> Vec<Series> {
    match name {
        // 100 req/s with a 0.05% error ratio and some noise.
        "steady" => http(
            "steady",
            counter(|i| 1500.0 + (noise(i as u64, 1) * 30.0).round()),
            counter(|i| if noise(i as u64, 2) < 0.5 { 1.0 } else { 0.0 }),
        ),
        // 30% errors for 20 minutes at hour 3: the fast page tier fires.
        "fast_incident" => http(
            "fast",
            counter(|_| 1000.0),
            counter(
                |i| if (3 * HOUR..3 * HOUR + 80).contains(&i) { 430.0 } else { (noise(i as u64, 3) * 2.0).floor() },
            ),
        ),
        // 3% errors from hour 1 on: a slow burn at 3x a 1% budget.
        "slow_burn" => http(
            "slow",
            counter(|i| 970.0 + (noise(i as u64, 4) * 10.0).round()),
            counter(|i| if i > HOUR { 30.0 } else { 0.0 }),
        ),
        // Both counters restart every 70 minutes, the error one out of step.
        "counter_resets" => {
            let mut ok = counter(|_| 600.0);
            let mut err = counter(|i| if (2 * HOUR..4 * HOUR).contains(&i) { 20.0 } else { 1.0 });
            let mut base_ok = 0.0;
            let mut base_err = 0.0;
            for i in 0..SAMPLES {
                if i % 280 == 0 && i > 0 {
                    if let V::N(v) = ok[i - 1] {
                        base_ok = v;
                    }
                }
                if i % 333 == 0 && i > 0 {
                    if let V::N(v) = err[i - 1] {
                        base_err = v;
                    }
                }
                if let V::N(v) = ok[i] {
                    ok[i] = V::N(v - base_ok);
                }
                if let V::N(v) = err[i] {
                    err[i] = V::N(v - base_err);
                }
            }
            http("resets", ok, err)
        }
        // Scrape gaps (one with a staleness marker) and a series that stops.
        "gaps" => {
            let mut ok = counter(|_| 800.0);
            let mut err = counter(|i| if (5 * HOUR..6 * HOUR).contains(&i) { 40.0 } else { 0.0 });
            for i in 0..SAMPLES {
                let gap1 = (HOUR + 10..HOUR + 30).contains(&i);
                let gap2 = (4 * HOUR..4 * HOUR + 8).contains(&i);
                if gap1 || gap2 {
                    ok[i] = if i == HOUR + 10 { V::Stale } else { V::Gap };
                    err[i] = if i == HOUR + 10 { V::Stale } else { V::Gap };
                }
            }
            let mut extra = counter(|_| 5.0);
            for v in extra.iter_mut().skip(7 * HOUR) {
                *v = V::Gap;
            }
            extra[7 * HOUR] = V::Stale;
            let mut s = http("gaps", ok, err);
            s.push(series("http_requests_total", &[("job", "gaps"), ("code", "503")], extra));
            s
        }
        // Histogram buckets; latency degrades between hours 2 and 3.
        "latency" => {
            let les = ["0.1", "0.25", "0.50", "1", "+Inf"];
            let share = |le: usize, slow: bool| -> f64 {
                let fast = [0.6, 0.9, 0.97, 0.995, 1.0];
                let slow_s = [0.2, 0.4, 0.6, 0.9, 1.0];
                if slow {
                    slow_s[le]
                } else {
                    fast[le]
                }
            };
            let mut out = Vec::new();
            for (j, le) in les.iter().enumerate() {
                let vals = counter(|i| (200.0 * share(j, (2 * HOUR..3 * HOUR).contains(&i))).round());
                out.push(series("http_request_duration_seconds_bucket", &[("job", "lat"), ("le", le)], vals));
            }
            out.push(series("http_request_duration_seconds_count", &[("job", "lat")], counter(|_| 200.0)));
            out
        }
        // About four requests a minute, one in twenty failing: the 100-events-an-hour
        // guard holds the 1h page (the longer tiers see enough events and fire).
        "low_traffic" => http(
            "low",
            counter(|i| if noise(i as u64, 5) < 0.25 { 1.0 } else { 0.0 }),
            counter(|i| if noise(i as u64, 6) < 0.05 { 1.0 } else { 0.0 }),
        ),
        // The error counter exists only from hour 2 to hour 4 (it ends with
        // a staleness marker): before and after, the total has series and
        // the numerator has none, so the error ratios must read 0 (bad) or
        // 1 (good), not go missing, and the period sums must count nothing.
        "missing_errors" => {
            let mut err = counter(|i| if i % 3 == 0 { 2.0 } else { 0.0 });
            for (i, v) in err.iter_mut().enumerate() {
                if !(2 * HOUR..=4 * HOUR).contains(&i) {
                    *v = V::Gap;
                }
            }
            err[4 * HOUR] = V::Stale;
            http("sparse", counter(|_| 300.0), err)
        }
        // 40 series summed (20 instances × 2 codes), uneven traffic.
        "many_series" => {
            let mut out = Vec::new();
            for inst in 0..20 {
                let i_s = inst.to_string();
                let w = 1.0 + inst as f64;
                out.push(series(
                    "http_requests_total",
                    &[("job", "many"), ("instance", &i_s), ("code", "200")],
                    counter(move |i| (w * 10.0 + noise(i as u64, inst) * 5.0).round()),
                ));
                out.push(series(
                    "http_requests_total",
                    &[("job", "many"), ("instance", &i_s), ("code", "500")],
                    counter(move |i| if (4 * HOUR..5 * HOUR).contains(&i) && inst % 3 == 0 { 5.0 } else { 0.0 }),
                ));
            }
            out
        }
        // 5-minute slices good when the rate is at least 5/s; it dips twice.
        "timeslice" => vec![series(
            "http_requests_total",
            &[("job", "ts")],
            counter(|i| {
                if (2 * HOUR..2 * HOUR + 60).contains(&i) || (6 * HOUR..6 * HOUR + 30).contains(&i) {
                    30.0
                } else {
                    90.0
                }
            }),
        )],
        "native" => native_scenario(),
        other => panic!("unknown scenario {other}"),
    }
}

const SCENARIOS: &[&str] = &[
    "steady",
    "fast_incident",
    "slow_burn",
    "counter_resets",
    "gaps",
    "latency",
    "low_traffic",
    "many_series",
    "timeslice",
    "native",
    "missing_errors",
];

/// Native histograms of two routes (README, "Native histograms"), scraped
/// once a minute (promtool's test engine loads at most 10,000 samples per
/// query, and a histogram counts as one per 16 bytes of it, so the 3-day
/// windows over 8 hours of 15 s histograms would not fit):
/// - route a: 160 requests a minute around 120 ms at schema 1, one in
///   twenty 0 s (the zero bucket), slowing to around 400 ms in hour 2;
/// - route b: 48 requests a minute around 200 ms at schema 2; it restarts
///   in hour 4 at the coarser schema 0, goes stale for ten minutes in hour
///   5, and restarts in hour 6 at schema 2 again with a wider zero bucket
///   (1 ms), so sums reconcile schemas and zero buckets.
fn native_scenario() -> Vec<Series> {
    let route = |name: &str, per_step: u64, seed: u64, plan: &dyn Fn(usize) -> (i32, f64, f64, f64)| {
        let mut cur: Option<NativeHistogram> = None;
        let mut values = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES {
            let (schema, zt, median, zeros) = plan(i);
            let restart = cur.as_ref().is_none_or(|h| h.schema != schema || h.zero_threshold != zt);
            if restart {
                cur = Some(NativeHistogram { zero_threshold: zt, ..NativeHistogram::empty(schema) });
            }
            let h = cur.as_mut().unwrap();
            if i > 0 && !restart {
                for k in 0..per_step {
                    let u = noise(i as u64 * 64 + k, seed);
                    let v = if u < zeros { 0.0 } else { median * 2f64.powf((u - 0.5) * 3.0) };
                    h.observe(v, 1.0);
                }
            }
            values.push(if i % 4 == 0 { V::H(Box::new(h.clone())) } else { V::Gap });
        }
        series("rpc_duration_seconds", &[("job", "nat"), ("route", name)], values)
    };
    let a = route("a", 40, 11, &|i| {
        let slow = (2 * HOUR..3 * HOUR).contains(&i);
        (1, 2f64.powi(-128), if slow { 0.4 } else { 0.12 }, 0.05)
    });
    let mut b = route("b", 12, 12, &|i| {
        let schema = if (4 * HOUR..6 * HOUR).contains(&i) { 0 } else { 2 };
        let zt = if i >= 6 * HOUR { 0.001 } else { 2f64.powi(-128) };
        (schema, zt, 0.2, 0.0)
    });
    for i in 5 * HOUR..5 * HOUR + 40 {
        b.values[i] = if i == 5 * HOUR { V::Stale } else { V::Gap };
    }
    vec![a, b]
}

fn selector(s: &Series) -> String {
    let l: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{}{{{}}}", s.name, l.join(", "))
}

fn write_parquet(all: &[Series], path: &Path) {
    let mut names: Vec<String> = all.iter().flat_map(|s| s.labels.iter().map(|(k, _)| k.clone())).collect();
    names.sort();
    names.dedup();
    let mut fields =
        vec![Field::new("timestamp", DataType::Int64, false), Field::new("__name__", DataType::Utf8, false)];
    fields.extend(names.iter().map(|n| Field::new(n, DataType::Utf8, true)));
    fields.push(Field::new("value", DataType::Float64, false));
    fields.push(Field::new("stale", DataType::Boolean, false));
    let native = all.iter().any(|s| s.values.iter().any(|v| matches!(v, V::H(_))));
    if native {
        fields.extend(slo::layout::histogram::fields());
    }
    let schema = Arc::new(Schema::new(fields));
    let (mut ts, mut nm, mut val, mut st) = (vec![], vec![], vec![], vec![]);
    let mut hist = HistColumns::default();
    let mut cols: Vec<Vec<Option<String>>> = names.iter().map(|_| vec![]).collect();
    for s in all {
        for (i, v) in s.values.iter().enumerate() {
            let (x, stale) = match v {
                V::N(x) => (*x, false),
                V::H(_) => (f64::NAN, false),
                V::Stale => (f64::NAN, true),
                V::Gap => continue,
            };
            hist.push(match v {
                V::H(h) => Some(h),
                _ => None,
            });
            ts.push(i as i64 * INTERVAL_S * 1000);
            nm.push(s.name.clone());
            for (c, n) in cols.iter_mut().zip(&names) {
                c.push(s.labels.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()));
            }
            val.push(x);
            st.push(stale);
        }
    }
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(ts)), Arc::new(StringArray::from(nm))];
    arrays.extend(cols.into_iter().map(|c| Arc::new(StringArray::from(c)) as ArrayRef));
    arrays.push(Arc::new(Float64Array::from(val)));
    arrays.push(Arc::new(BooleanArray::from(st)));
    if native {
        arrays.extend(hist.finish());
    }
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

pub(crate) type Answers = BTreeMap<i64, BTreeMap<String, String>>;

fn fmt_v(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{x:e}")
    }
}

pub(crate) fn parse_v(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().unwrap_or_else(|_| panic!("bad value {s}")),
    }
}

fn labels_text(l: &[(String, String)]) -> String {
    let mut l = l.to_vec();
    l.sort();
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Everything a replay recorded, bit for bit: every series in store order
/// (labels, timestamps, value bits, staleness markers) and every alert's
/// history.
fn recorded(bt: &slo::backtest::Backtest) -> String {
    let mut out = String::new();
    for s in &bt.store.series {
        let bits: Vec<u64> = s.v.iter().map(|x| x.to_bits()).collect();
        out += &format!("{:?} {:?} {:?} {:?} {:?}\n", s.series, s.labels, s.ts, bits, s.stale_marks);
    }
    for a in &bt.alerts {
        out += &format!("{} {} {:?}\n", a.group, a.name, a.history);
    }
    out
}

/// The replay's answers at every `EVERY_S`; asserts on the way that the
/// step-by-step engine records exactly what the columnar one does.
fn backtest_answers(name: &str, all: &[Series], dir: &Path) -> Answers {
    let data = dir.join("data.parquet");
    write_parquet(all, &data);
    let (bt, columnar) = replay(name, &data, false);
    let (stepwise, _) = replay(name, &data, true);
    assert!(columnar > 0, "{name}: no block was evaluated column by column: {:?}", bt.evaluated.fallbacks);
    assert!(recorded(&bt) == recorded(&stepwise), "{name}: the columnar and step-by-step engines differ");
    eprintln!(
        "{name}: {} of {} blocks column by column, the rest: {:?}",
        bt.evaluated.columnar, bt.evaluated.blocks, bt.evaluated.fallbacks
    );
    answers(&bt)
}

/// A library backtest of `data` at 1m steps over the data's range, keeping
/// every series, with no report built as blocks finish.
fn options(data: &Path, stepwise: bool) -> slo::backtest::Options {
    slo::backtest::Options {
        data: vec![data.to_path_buf()],
        from_ms: None,
        to_ms: None,
        step_ms: 60_000,
        memory_limit: 256 << 20,
        progress: false,
        timing: false,
        extra_windows: Default::default(),
        workers: Vec::new(),
        phases: None,
        downtime: Vec::new(),
        stepwise,
        report_only: false,
        reports: None,
        html: false,
        timeline: None,
    }
}

/// Replays scenario `name` over `data`; returns the outcome and how many
/// blocks ran column by column (from `--timing`'s count, recomputed).
fn replay(name: &str, data: &Path, stepwise: bool) -> (slo::backtest::Backtest, usize) {
    let file = repo().join(format!("tests/backtest/{name}.slo"));
    let loaded = slo::driver::load(&[file], &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors());
    let opts = slo::backtest::Options { from_ms: Some(0), to_ms: Some(HOURS * 3_600_000), ..options(data, stepwise) };
    let bt = slo::backtest::run(&program, loaded.sources, &opts).unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    let columnar = bt.evaluated.columnar;
    (bt, columnar)
}

fn answers(bt: &slo::backtest::Backtest) -> Answers {
    let mut out = Answers::new();
    let mut t = 0;
    while t <= HOURS * 3600 {
        let ms = t * 1000;
        let mut m = BTreeMap::new();
        for (l, v) in bt.store.query_all(ms) {
            m.insert(labels_text(&l), fmt_v(v));
        }
        for run in &bt.alerts {
            for (l, h) in &run.history {
                for (state, ts) in [("pending", &h.pending), ("firing", &h.firing)] {
                    if ts.binary_search(&ms).is_ok() {
                        let mut l = l.clone();
                        l.push(("__name__".into(), "ALERTS".into()));
                        l.push(("alertstate".into(), state.into()));
                        m.insert(labels_text(&l), "1e0".into());
                    }
                }
            }
        }
        out.insert(t, m);
        t += EVERY_S;
    }
    out
}

pub(crate) fn promtool3() -> Option<PathBuf> {
    let p = repo().join(".tools/promtool3/usr/bin/promtool");
    let runs = Command::new(&p).arg("--version").output().is_ok_and(|o| o.status.success());
    if runs {
        return Some(p);
    }
    if std::env::var("SLO_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1") {
        panic!("promtool 3.5 is required (SLO_REQUIRE_PROMTOOL=1) but {} does not run", p.display());
    }
    None
}

/// Parses promtool's `got:` list: `{a="b", …} 1.5E+00, {…} …`.
pub(crate) fn parse_got(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'{' {
            i += 1;
            continue;
        }
        let start = i;
        let mut in_q = false;
        while i < b.len() {
            match b[i] {
                b'\\' if in_q => i += 1,
                b'"' => in_q = !in_q,
                b'}' if !in_q => break,
                _ => {}
            }
            i += 1;
        }
        let body = &s[start + 1..i];
        i += 2;
        let vend = s[i..].find(", {").map_or(s.len(), |p| i + p);
        let value = s[i..vend].trim();
        // Labels: k="v" pairs.
        let mut labels = Vec::new();
        for part in split_labels(body) {
            let (k, v) = part.split_once('=').unwrap();
            let v: String = serde_json::from_str(v).unwrap();
            labels.push((k.trim().to_string(), v));
        }
        out.insert(labels_text(&labels), fmt_v(parse_v(value)));
        i = vend;
    }
    out
}

fn split_labels(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_q, mut start, mut esc) = (false, 0, false);
    for (i, c) in body.char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            '\\' if in_q => esc = true,
            '"' => in_q = !in_q,
            ',' if !in_q => {
                parts.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !body[start..].trim().is_empty() {
        parts.push(body[start..].trim());
    }
    parts
}

fn promtool_answers(bin: &Path, name: &str, all: &[Series], dir: &Path) -> Answers {
    let file = repo().join(format!("tests/backtest/{name}.slo"));
    let loaded = slo::driver::load(&[file], &repo()).unwrap();
    let (program, _) = slo::driver::check(&loaded);
    let opts = slo::promql::Options { eval_interval: slo::units::Duration(60_000), ..Default::default() };
    for f in slo::promql::emit(&program, &opts).unwrap() {
        std::fs::write(dir.join("rules.yml"), f.contents).unwrap();
    }
    let mut y =
        String::from("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 15s\n  input_series:\n");
    for s in all {
        let vals: Vec<String> = s
            .values
            .iter()
            .map(|v| match v {
                V::N(x) => format!("{x}"),
                V::H(h) => histogram_text(h),
                V::Gap => "_".into(),
                V::Stale => "stale".into(),
            })
            .collect();
        y.push_str(&format!("  - series: '{}'\n    values: '{}'\n", selector(s), vals.join(" ")));
    }
    y.push_str("  promql_expr_test:\n");
    let mut t = 0;
    while t <= HOURS * 3600 {
        y.push_str(&format!(
            "  - expr: '{{__name__=~\"slo:.+|ALERTS\"}}'\n    eval_time: {t}s\n    exp_samples: [{{labels: '{{__name__=\"none\"}}', value: 0}}]\n"
        ));
        t += EVERY_S;
    }
    std::fs::write(dir.join("test.yml"), y).unwrap();
    let out = Command::new(bin).args(["test", "rules", "test.yml"]).current_dir(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let mut answers = parse_answers(&text);
    // A timestamp where promtool got nothing prints `got: nil` or no line.
    let mut t = 0;
    while t <= HOURS * 3600 {
        answers.entry(t).or_default();
        t += EVERY_S;
    }
    answers
}

/// A histogram in promtool's series notation: `{{schema:… count:… sum:…
/// z_bucket:… z_bucket_w:… buckets:[…] offset:…}}`, the buckets from the
/// lowest populated index up (empty ones in between written as 0).
fn histogram_text(h: &NativeHistogram) -> String {
    let mut out = format!(
        "{{{{schema:{} count:{} sum:{} z_bucket:{} z_bucket_w:{}",
        h.schema, h.count, h.sum, h.zero_count, h.zero_threshold
    );
    for (side, key, off) in [(&h.positive, "buckets", "offset"), (&h.negative, "n_buckets", "n_offset")] {
        if let (Some(first), Some(last)) = (side.first(), side.last()) {
            let mut counts = vec![0.0; (last.0 - first.0 + 1) as usize];
            for &(i, c) in side.iter() {
                counts[(i - first.0) as usize] = c;
            }
            let counts: Vec<String> = counts.iter().map(|c| format!("{c}")).collect();
            out.push_str(&format!(" {key}:[{}] {off}:{}", counts.join(" "), first.0));
        }
    }
    out + "}}"
}

/// What promtool printed it got for each `eval_time` (seconds) of a test
/// that expects nothing.
pub(crate) fn parse_answers(text: &str) -> Answers {
    let mut answers = Answers::new();
    let mut cur: Option<i64> = None;
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("expr:") {
            let tpos = rest.rfind("time: ").expect("time");
            let tt = rest[tpos + 6..].trim_end_matches(',');
            let secs = slo::units::parse_duration(tt).map(|ms| ms as i64 / 1000).unwrap_or(0);
            cur = Some(secs);
        } else if let Some(rest) = l.strip_prefix("got:") {
            let t = cur.expect("got before expr");
            answers.insert(t, parse_got(rest.trim()));
        }
    }
    assert!(!answers.is_empty(), "promtool produced no answers:\n{text}");
    answers
}

fn close(a: &str, b: &str) -> bool {
    let (x, y) = (parse_v(a), parse_v(b));
    if x.is_nan() || y.is_nan() {
        return x.is_nan() && y.is_nan();
    }
    if x == y {
        return true;
    }
    (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) || (x - y).abs() < 1e-12
}

/// Differences between two answer sets (at most a few, for the message).
fn diff(a: &Answers, b: &Answers, what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (t, am) in a {
        let empty = BTreeMap::new();
        let bm = b.get(t).unwrap_or(&empty);
        for (k, v) in am {
            match bm.get(k) {
                None => out.push(format!("t={t}s {k}: {what} lacks it (other: {v})")),
                Some(w) if !close(v, w) => out.push(format!("t={t}s {k}: {v} vs {w} ({what})")),
                _ => {}
            }
        }
        for k in bm.keys() {
            if !am.contains_key(k) {
                out.push(format!("t={t}s {k}: only in {what}"));
            }
        }
    }
    out
}

fn load_fixture(name: &str) -> Option<Answers> {
    let p = repo().join(format!("tests/backtest/{name}.expected.json"));
    let text = std::fs::read_to_string(p).ok()?;
    let raw: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(&text).unwrap();
    Some(raw.into_iter().map(|(k, v)| (k.parse().unwrap(), v)).collect())
}

fn save_fixture(name: &str, a: &Answers) {
    let raw: BTreeMap<String, &BTreeMap<String, String>> = a.iter().map(|(k, v)| (format!("{k:06}"), v)).collect();
    let p = repo().join(format!("tests/backtest/{name}.expected.json"));
    std::fs::write(p, serde_json::to_string_pretty(&raw).unwrap() + "\n").unwrap();
}

#[test]
fn backtester_agrees_with_prometheus() {
    let bless = std::env::var("SLO_BLESS").is_ok_and(|v| v == "1");
    let promtool = promtool3();
    let mut failures = Vec::new();
    let mut compared = 0usize;
    for name in SCENARIOS {
        let all = scenario(name);
        let dir = tempfile::tempdir().unwrap();
        let ours = backtest_answers(name, &all, dir.path());
        let fixture = load_fixture(name);
        let truth = match &promtool {
            Some(bin) => {
                let fresh = promtool_answers(bin, name, &all, dir.path());
                if bless {
                    save_fixture(name, &fresh);
                } else if let Some(f) = &fixture {
                    let d = diff(f, &fresh, "promtool now");
                    assert!(
                        d.is_empty(),
                        "{name}: the fixture is not what promtool 3.5 answers:\n{}",
                        d[..d.len().min(10)].join("\n")
                    );
                }
                fresh
            }
            None => fixture.unwrap_or_else(|| panic!("{name}: no fixture; run with promtool and SLO_BLESS=1")),
        };
        let evals = truth.len();
        let samples: usize = truth.values().map(|m| m.len()).sum();
        assert!(evals >= 100, "{name}: only {evals} timestamps");
        assert!(samples > evals, "{name}: promtool returned almost nothing");
        compared += samples;
        let d = diff(&truth, &ours, "backtest");
        if !d.is_empty() {
            failures.push(format!("{name}: {} differences, e.g.\n  {}", d.len(), d[..d.len().min(8)].join("\n  ")));
        }
    }
    eprintln!("compared {compared} samples across {} scenarios", SCENARIOS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The scenarios must exercise what they claim: alerts fire where expected.
#[test]
fn scenarios_fire_the_alerts_they_describe() {
    for (name, alert, should) in [
        ("fast_incident", "SLOBurnRate1h", true),
        ("steady", "SLOBurnRate1h", false),
        ("low_traffic", "SLOBurnRate1h", false),
    ] {
        let f = load_fixture(name).unwrap_or_else(|| panic!("{name}: no fixture"));
        let fired = f
            .values()
            .any(|m| m.keys().any(|k| k.contains(&format!("alertname={alert:?}")) && k.contains("\"firing\"")));
        assert_eq!(fired, should, "{name}: {alert}");
    }
}

/// The shipped catalogue over the shipped data: the columnar engine takes
/// every block, and the report is byte-identical to the step-by-step
/// engine's, with or without `--timeline` (without it, the series only the
/// timeline reads are dropped as blocks finish), and the timelines too.
#[test]
fn engines_and_timeline_give_the_same_report_on_the_shipped_data() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "backtest",
            "examples/platform",
            "--data",
            "examples/data/platform.parquet",
            "--to",
            "2026-01-10T00:00:00Z",
            "--quiet",
            "--timing",
        ];
        if !extra.contains(&"--format") {
            args.extend(["--format", "json"]);
        }
        args.extend(extra);
        let (code, out, err) = crate::common::slo(&args);
        assert_eq!(code, 0, "{err}");
        (out, err)
    };
    let (plain, err) = run(&[]);
    assert!(err.contains("17 of 17 blocks column by column"), "{err}");
    let tl = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (with_timeline, _) = run(&["--timeline", &tl("a.parquet")]);
    let (stepwise, err) = run(&["--stepwise", "--timeline", &tl("b.parquet")]);
    assert!(err.contains("0 of 17 blocks column by column"), "{err}");
    assert!(plain == with_timeline, "the report depends on --timeline");
    assert!(plain == stepwise, "the step-by-step engine's report differs");
    let (a, b) = (std::fs::read(tl("a.parquet")).unwrap(), std::fs::read(tl("b.parquet")).unwrap());
    assert!(a.len() > 10_000 && a == b, "the timelines differ");
    // Those timelines were spilled block by block as the blocks finished
    // and merged at the end (as is the HTML run's, whose charts are drawn
    // per block too); a library replay that keeps every series writes its
    // timeline at once: the same bytes.
    run(&["--timeline", &tl("c.parquet"), "--format", "html", "--out", &tl("c.html")]);
    assert!(std::fs::read_to_string(tl("c.html")).unwrap().contains("<svg"), "no charts in the HTML report");
    assert!(std::fs::read(tl("c.parquet")).unwrap() == a, "the HTML run's timeline differs");
    let files = slo::driver::expand(&[repo().join("examples/platform")]).unwrap();
    let loaded = slo::driver::load(&files, &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors());
    let data = repo().join("examples/data/platform.parquet");
    let to_ms = slo::units::parse_time("2026-01-10T00:00:00Z");
    let opts = slo::backtest::Options { to_ms, ..options(&data, false) };
    let mut bt = slo::backtest::run(&program, loaded.sources, &opts).unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    assert!(bt.timeline.is_none() && !bt.store.series.is_empty(), "every series kept, nothing spilled");
    slo::backtest::timeline::write(&mut bt, Path::new(&tl("d.parquet"))).unwrap();
    assert!(std::fs::read(tl("d.parquet")).unwrap() == a, "the spilled timeline differs from the one written at once");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".slo-tmp-"))
        .collect();
    assert!(left.is_empty(), "spill files left behind: {left:?}");
}

/// `slo synth` data for the SLOs of `file` (with `args`) written to
/// `data`, and the file loaded and checked.
fn synth_for(file: &Path, data: &Path, args: &[&str]) -> (slo::driver::Loaded, slo::ir::Program) {
    let out = ["synth", "--out", data.to_str().unwrap()];
    let (code, _, err) = crate::common::slo(&[&out[..], args, &[file.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let loaded = slo::driver::load(&[file.to_path_buf()], &repo()).unwrap();
    let (program, diags) = slo::driver::check(&loaded);
    assert!(!diags.has_errors());
    (loaded, program)
}

/// Each SLO's report is built as soon as its block of rule groups is
/// evaluated, from that block's series, which are then dropped
/// (`Options::reports`, what `slo backtest` does unless the HTML report
/// needs the series). It must be the report built from the whole replay's
/// series: composites (read with their components, in one block), grouped SLOs, alerts and budget
/// policies, sweeps over objectives, derived incidents, compliance; with
/// either engine.
#[test]
fn reports_built_per_block_are_the_whole_replays() {
    let dir = tempfile::tempdir().unwrap();
    let settings = slo::backtest::analysis::Settings {
        objectives: vec![0.99, 0.999],
        presets: vec![slo::backtest::analysis::Preset { name: "own".into(), alerts: None }],
        ..Default::default()
    };
    for name in ["composite_serial", "composite_k_of_n", "group_by"] {
        let file = repo().join(format!("examples/features/{name}.slo"));
        let data = dir.path().join(format!("{name}.parquet"));
        let (loaded, program) = synth_for(&file, &data, &["--days", "10", "--resolution", "1m", "--seed", "5"]);
        let report = |per_block: bool, stepwise: bool| {
            let opts = slo::backtest::Options {
                report_only: true,
                reports: per_block.then(|| settings.clone()),
                html: per_block,
                ..options(&data, stepwise)
            };
            let bt = slo::backtest::run(&program, loaded.sources.clone(), &opts)
                .unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
            assert_eq!(bt.slo_reports.iter().flatten().count(), if per_block { program.slos.len() } else { 0 });
            let sections = bt.slo_reports.iter().flatten().filter(|b| b.html.is_some()).count();
            assert_eq!(sections, if per_block { program.slos.len() } else { 0 });
            assert_eq!(bt.store.series.is_empty(), per_block, "{name}: series kept or dropped");
            let r = slo::backtest::report::build(&bt, &program, &settings);
            (serde_json::to_string_pretty(&r).unwrap(), slo::backtest::html::render(&bt, &program, &r))
        };
        let (whole, whole_html) = report(false, false);
        assert!(whole_html.matches("<svg").count() >= 4, "{name}: charts drawn");
        let parsed: serde_json::Value = serde_json::from_str(&whole).unwrap();
        let slos = parsed["slos"].as_array().unwrap();
        assert!(slos.len() >= 2, "{name}");
        assert!(slos.iter().all(|s| !s["sweep"].as_array().unwrap().is_empty()), "{name}: no sweep");
        if name == "group_by" {
            let firing = |s: &serde_json::Value| {
                s["alerts"].as_array().unwrap().iter().any(|a| !a["firing"].as_array().unwrap().is_empty())
            };
            assert!(slos.iter().any(firing), "{name}: no alert fired, so the test would not see them lost");
        }
        let (json, html) = report(true, false);
        assert!(json == whole, "{name}: the report built per block differs from the whole replay's");
        assert!(html == whole_html, "{name}: the HTML rendered per block differs from the whole replay's");
        let (json, html) = report(true, true);
        assert!(json == whole, "{name}: the step engine's per-block report differs");
        assert!(html == whole_html, "{name}: the step engine's per-block HTML differs");
    }
}

/// The columnar engine takes blocks whose groups run at different phases
/// (`--rule-dir`, `--offsets-from-server`), where a rule reads a series a
/// later rule records (a composite whose group runs before its
/// components' reads their previous evaluation), and steps the server did
/// not evaluate (`--downtime`, whose edges fall between one group's
/// evaluation and another's). It must record exactly what the step engine
/// does — every series' samples and staleness markers, every alert's
/// history — and must have taken every block. With 10m steps the previous
/// evaluation is beyond the 5m lookback, so a lagging read finds nothing.
#[test]
fn the_engines_agree_across_phases_lags_and_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = slo::units::parse_time("2026-01-01T00:00:00Z").unwrap();
    let (s, m, h) = (1_000, 60_000, 3_600_000);
    let downtime = vec![
        (t0 + 6 * h + 25 * s, t0 + 6 * h + 3 * m + 25 * s),
        (t0 + 20 * h, t0 + 23 * h + 10 * s),
        (t0 + 30 * h + 5 * s, t0 + 30 * h + 35 * s),
        // In the incident, while alerts are pending and firing: they keep
        // their state across.
        (t0 + 25 * h + 2 * m + 5 * s, t0 + 25 * h + 4 * m + 5 * s),
    ];
    // Composites over their components, and calendar windows (whose
    // running sums read their own series at the evaluation before).
    for name in ["composite_serial", "composite_k_of_n", "composite_weighted", "calendar_windows"] {
        // The example, with the Workbook's alerts on every SLO.
        let text = std::fs::read_to_string(repo().join(format!("examples/features/{name}.slo"))).unwrap();
        let text = format!(
            "import std.alerting.{{google_28d}}\n{}",
            text.replace("\n  objective = ", "\n  alerts = google_28d()\n  objective = ")
        );
        let file = dir.path().join(format!("{name}.slo"));
        std::fs::write(&file, text).unwrap();
        let data = dir.path().join(format!("{name}.parquet"));
        let args = ["--days", "2", "--resolution", "30s", "--seed", "7", "--incident", "1d/3h/0.05"];
        let (loaded, program) = synth_for(&file, &data, &args);
        let n = program.slos.len() as i64;
        // Each group's phase: later groups first, or earlier groups first.
        let falling: Vec<i64> = (0..n).map(|g| 5 * s + (n - g) * 10 * s).collect();
        let rising: Vec<i64> = (0..n).map(|g| 5 * s + g * 10 * s).collect();
        // (step, each group's phase, downtime)
        type Case = (i64, Option<Vec<i64>>, Vec<(i64, i64)>);
        let cases: Vec<Case> = vec![
            (m, None, vec![]),
            (m, None, downtime.clone()),
            (m, Some(falling.clone()), vec![]),
            (m, Some(rising.clone()), vec![]),
            (m, Some(falling.clone()), downtime.clone()),
            (m, Some(rising.clone()), downtime.clone()),
            (10 * m, Some(falling), downtime.clone()),
            (10 * m, Some(rising), downtime.clone()),
        ];
        for (step_ms, phases, downtime) in cases {
            let what = format!("{name}, step {step_ms} ms, phases {phases:?}, downtime {downtime:?}");
            let run = |stepwise: bool| {
                let opts = slo::backtest::Options {
                    step_ms,
                    from_ms: Some(t0 + 17 * s),
                    phases: phases.clone(),
                    downtime: downtime.clone(),
                    ..options(&data, stepwise)
                };
                slo::backtest::run(&program, loaded.sources.clone(), &opts)
                    .unwrap_or_else(|f| panic!("{what}: {:?}", f.diagnostics))
            };
            let (columns, steps) = (run(false), run(true));
            let ev = &columns.evaluated;
            assert!(ev.columnar == ev.blocks && ev.fallbacks.is_empty(), "{what}: {:?}", ev.fallbacks);
            assert_eq!(steps.evaluated.columnar, 0, "{what}");
            let ratios_of = |service: &str| {
                let service = ("service".to_string(), service.to_string());
                let ratio = |(k, v): &(String, String)| k == "__name__" && v.starts_with("slo:sli_error:ratio");
                let recorded = columns.store.series.iter().filter(|r| r.labels.contains(&service));
                recorded.filter(|r| r.labels.iter().any(ratio)).map(|r| r.v.len()).sum::<usize>()
            };
            let calendar =
                columns.store.series.iter().filter(|r| r.labels.iter().any(|(_, v)| v == "slo:calendar_bad:sum"));
            assert_eq!(calendar.count() > 0, name == "calendar_windows", "{what}: the calendar sums");
            let Some(c) = program.slos.iter().position(|s| matches!(s.sli, slo::ir::Sli::Composite { .. })) else {
                assert!(recorded(&columns) == recorded(&steps), "{what}: the engines differ");
                continue;
            };
            // Whether some component's group runs after the composite's.
            let lags = phases.as_ref().is_some_and(|p| (0..p.len()).any(|g| g != c && (p[g], g) > (p[c], c)));
            let ratios = ratios_of(&program.slos[c].service);
            if step_ms > 300_000 && lags {
                assert_eq!(ratios, 0, "{what}: a read of the previous evaluation, 10m back, found a sample");
            } else {
                assert!(ratios > 0, "{what}: the composite recorded no error ratio");
            }
            assert!(recorded(&columns) == recorded(&steps), "{what}: the engines differ");
            let fired = columns.alerts.iter().flat_map(|a| a.history.values()).any(|h| !h.firing.is_empty());
            assert!(fired, "{what}: no alert fired, so the test would not see their state lost");
        }
    }
}
