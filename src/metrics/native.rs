//! Native-histogram samples as servers send them, turned into the layout's
//! [`NativeHistogram`] (schema, zero threshold, absolute bucket indices).
//!
//! **API JSON** (`/api/v1/query`, `/api/v1/query_range`) gives a sample as
//! `{"count": "…", "sum": "…", "buckets": [[rule, "lower", "upper", "count"], …]}`:
//! bucket *boundaries*, not the schema and indices, only the populated
//! buckets, each with the observations in it (not cumulative over
//! buckets). `rule` says which sides are closed: 0 `(l, u]`, 1 `[l, u)`,
//! 2 `(l, u)`, 3 `[l, u]`. Prometheus writes positive exponential buckets
//! as `(l, u]`, negative ones as `[l, u)`, and the zero bucket as
//! `[−t, t]`. The schema follows from any one exponential bucket: at
//! schema `s` a bucket spans `2^−s` in log₂, so `s = −log₂(log₂(u / l))`,
//! and its index is `log₂(u)·2^s`; both must be whole and give back the
//! boundaries (within 10⁻⁹ relative: Prometheus computes them from a
//! table, not with `powf`), and every bucket of a sample must agree.
//! A bucket that fits no schema −4 … 8 (custom buckets, schema −53, or
//! anything else) is refused, `slo::import::histogram_layout`.
//!
//! What one sample cannot show is filled from its series: a sample without
//! exponential buckets (empty, or only a zero bucket) has no visible
//! schema, and one without a populated zero bucket no visible zero
//! threshold. Such a sample takes them from the nearest earlier sample of
//! the series that shows them, else the nearest later one; a series that
//! never shows them gets schema 8 (the highest: it reduces nothing when
//! `rate` or `sum` bring samples to a common schema) and the threshold
//! 2^−128 (client_golang's default). A threshold taken from a neighbour is
//! lowered to 2^−128 if it would swallow one of the sample's buckets.
//! [`super::import`] does the filling, over all of a series' samples.
//! One limit: a custom-bucket histogram whose populated buckets all happen
//! to sit on exponential boundaries (say `(1, 2]` and `(2, 4]`) cannot be
//! told from an exponential one in JSON; remote read carries the schema and
//! refuses it.
//!
//! **Remote read** (`prompb.Histogram`) carries the schema, the zero
//! threshold and spans with either deltas (integer counts: each bucket's
//! count minus the previous bucket's) or absolute float counts;
//! [`from_spans`] turns them into absolute indices.

use crate::layout::histogram::{bucket_upper, NativeHistogram, MAX_SCHEMA, MIN_SCHEMA};
use serde_json::Value;

/// Prometheus's custom-bucket schema (not part of the layout).
pub(crate) const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// client_golang's default zero threshold, 2^−128.
pub(crate) fn default_zero_threshold() -> f64 {
    2f64.powi(-128)
}

/// A histogram sample read, with what it did not show.
#[derive(Debug, Clone)]
pub(crate) struct Hist {
    pub h: NativeHistogram,
    /// The sample had an exponential bucket (else `h.schema` is a placeholder).
    pub schema_known: bool,
    /// The sample had a populated zero bucket (else `h.zero_threshold` is a placeholder).
    pub threshold_known: bool,
}

impl Hist {
    /// A sample that shows everything (remote read).
    pub(crate) fn known(h: NativeHistogram) -> Hist {
        Hist { h, schema_known: true, threshold_known: true }
    }
}

/// Why a sample is refused: a stable code and a message (the caller adds
/// where it is).
pub(crate) type Bad = (&'static str, String);

fn shape(msg: impl Into<String>) -> Bad {
    ("slo::import::json", msg.into())
}

fn layout(msg: impl Into<String>) -> Bad {
    ("slo::import::histogram_layout", msg.into())
}

/// The help of `slo::import::histogram_layout`.
pub(crate) const LAYOUT_HELP: &str = "the native layout holds exponential native histograms (schema −4 … 8); custom-bucket histograms (schema −53, e.g. converted classic histograms) are not part of it: import the classic `_bucket` series instead, or leave the metric out";

/// A float in a string, as the API writes them (`"1.5"`, `"NaN"`).
fn float(v: &Value, what: &str) -> Result<f64, Bad> {
    v.as_str().and_then(super::import::parse_value).ok_or_else(|| {
        shape(format!("the histogram's {what} `{}` is not a float in a string", super::short(&v.to_string())))
    })
}

/// One histogram object of the API: `{"count", "sum", "buckets"}`.
pub(crate) fn from_api(v: &Value) -> Result<Hist, Bad> {
    let Some(obj) = v.as_object() else { return Err(shape("a histogram is not an object")) };
    let count = float(obj.get("count").unwrap_or(&Value::Null), "count")?;
    let sum = float(obj.get("sum").unwrap_or(&Value::Null), "sum")?;
    let empty = Vec::new();
    let buckets = match obj.get("buckets") {
        None => &empty,
        Some(b) => b.as_array().ok_or_else(|| shape("the histogram's `buckets` is not an array"))?,
    };
    let mut h = NativeHistogram { count, sum, ..NativeHistogram::empty(MAX_SCHEMA) };
    let mut schema: Option<i32> = None;
    let mut threshold: Option<f64> = None;
    for (k, b) in buckets.iter().enumerate() {
        let Some([rule, lo, hi, n]) = b.as_array().map(Vec::as_slice) else {
            return Err(shape(format!("bucket {k} is not `[rule, \"lower\", \"upper\", \"count\"]`")));
        };
        let rule = rule
            .as_u64()
            .filter(|r| *r <= 3)
            .ok_or_else(|| shape(format!("bucket {k}'s rule `{rule}` is not 0 … 3")))?;
        let (lo, hi, n) = (float(lo, "lower bound")?, float(hi, "upper bound")?, float(n, "bucket count")?);
        let text = format!(
            "{}{lo}, {hi}{}",
            if rule & 1 == 1 { '[' } else { '(' },
            if rule == 0 || rule == 3 { ']' } else { ')' }
        );
        if lo <= 0.0 && hi >= 0.0 {
            // The zero bucket, [−t, t].
            if rule != 3 || lo != -hi {
                return Err(layout(format!("bucket {k} {text} spans zero but is not a zero bucket [−t, t]")));
            }
            threshold = Some(hi);
            h.zero_count += n;
            continue;
        }
        let positive = lo > 0.0;
        // The magnitudes (l, u] of the bucket, and the rule it must have.
        let (l, u, want) = if positive { (lo, hi, 0) } else { (-hi, -lo, 1) };
        let Some((s, i)) = exponential(l, u) else {
            return Err(layout(format!("bucket {k} {text} is not a bucket of an exponential schema −4 … 8")));
        };
        if rule != want {
            return Err(layout(format!(
                "bucket {k} {text} has the wrong closed side for an exponential {} bucket",
                if positive { "positive" } else { "negative" }
            )));
        }
        if schema.is_some_and(|x| x != s) {
            return Err(layout(format!("bucket {k} {text} is of schema {s}, the sample's other buckets of another")));
        }
        schema = Some(s);
        if n != 0.0 {
            let side = if positive { &mut h.positive } else { &mut h.negative };
            side.push((i, n));
        }
    }
    for side in [&mut h.positive, &mut h.negative] {
        side.sort_by_key(|b| b.0);
        if side.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(layout("a bucket appears twice in one sample"));
        }
    }
    if let Some(s) = schema {
        h.schema = s;
    }
    if let Some(t) = threshold {
        h.zero_threshold = t;
    }
    Ok(Hist { h, schema_known: schema.is_some(), threshold_known: threshold.is_some() })
}

/// The `(schema, index)` of the exponential bucket `(l, u]`, `0 < l < u`.
pub(crate) fn exponential(l: f64, u: f64) -> Option<(i32, i32)> {
    if !(l > 0.0 && u > l && u.is_finite()) {
        return None;
    }
    let width = u.log2() - l.log2();
    let s = -width.log2();
    let sr = s.round();
    if (s - sr).abs() > 1e-6 || sr < f64::from(MIN_SCHEMA) || sr > f64::from(MAX_SCHEMA) {
        return None;
    }
    let s = sr as i32;
    let i = (u.log2() * 2f64.powi(s)).round();
    if i.abs() > 1e7 {
        return None;
    }
    let i = i as i32;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    (close(bucket_upper(i, s), u) && close(bucket_upper(i - 1, s), l)).then_some((s, i))
}

/// Fills the schema and zero threshold of samples that did not show them
/// (see the module doc), `series` in time order.
pub(crate) fn fill(series: &mut [Hist]) {
    let n = series.len();
    let (mut schema, mut threshold) = (vec![None; n], vec![None; n]);
    let (mut s, mut t) = (None, None);
    for (k, x) in series.iter().enumerate() {
        if x.schema_known {
            s = Some(x.h.schema);
        }
        if x.threshold_known {
            t = Some(x.h.zero_threshold);
        }
        (schema[k], threshold[k]) = (s, t);
    }
    // Leading samples: the first that shows them.
    let first_s = series.iter().find(|x| x.schema_known).map(|x| x.h.schema);
    let first_t = series.iter().find(|x| x.threshold_known).map(|x| x.h.zero_threshold);
    for (k, x) in series.iter_mut().enumerate() {
        if !x.schema_known {
            x.h.schema = schema[k].or(first_s).unwrap_or(MAX_SCHEMA);
            x.schema_known = true;
        }
        if !x.threshold_known {
            let t = threshold[k].or(first_t).unwrap_or_else(default_zero_threshold);
            // Never a threshold that would hold one of the sample's buckets.
            let lowest =
                x.h.positive
                    .iter()
                    .chain(&x.h.negative)
                    .map(|&(i, _)| bucket_upper(i - 1, x.h.schema))
                    .fold(f64::INFINITY, f64::min);
            x.h.zero_threshold = if t <= lowest { t } else { default_zero_threshold().min(t) };
            x.threshold_known = true;
        }
    }
}

/// The populated buckets of `spans` (`(offset, length)`: the first offset
/// is the first bucket's index, each later one the gap after the previous
/// span) with `counts` in order, as (absolute index, count).
pub(crate) fn from_spans(spans: &[(i32, u32)], counts: &[f64]) -> Result<Vec<(i32, f64)>, String> {
    let total: u64 = spans.iter().map(|s| u64::from(s.1)).sum();
    if total != counts.len() as u64 {
        return Err(format!("spans of {total} buckets with {} counts", counts.len()));
    }
    let mut out = Vec::new();
    let mut next: i64 = 0;
    let mut at = 0usize;
    for (k, &(offset, len)) in spans.iter().enumerate() {
        let mut idx = if k == 0 { i64::from(offset) } else { next + i64::from(offset) };
        if k > 0 && offset < 0 {
            return Err("a span that goes back".into());
        }
        for _ in 0..len {
            let i = i32::try_from(idx).map_err(|_| "a bucket index out of range".to_string())?;
            let c = counts[at];
            if c != 0.0 {
                out.push((i, c));
            }
            at += 1;
            idx += 1;
        }
        next = idx;
    }
    Ok(out)
}

/// Integer deltas (each bucket's count minus the previous one's) as counts.
pub(crate) fn undelta(deltas: &[i64]) -> Result<Vec<f64>, String> {
    let mut c: i64 = 0;
    deltas
        .iter()
        .map(|&d| {
            c = c.checked_add(d).ok_or("a bucket count overflows")?;
            if c < 0 {
                return Err("a negative bucket count".to_string());
            }
            Ok(c as f64)
        })
        .collect()
}

/// A remote-read histogram's checks: a schema of the layout, counts that
/// are counts.
pub(crate) fn check_schema(schema: i32) -> Result<(), Bad> {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        return Err(layout("a custom-bucket native histogram (schema −53)"));
    }
    if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&schema) {
        return Err(layout(format!("a native histogram of schema {schema}, not −4 … 8")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exponential_buckets_give_their_schema_and_index() {
        for s in MIN_SCHEMA..=MAX_SCHEMA {
            for i in [-300, -17, -1, 0, 1, 2, 9, 64, 300] {
                let (l, u) = (bucket_upper(i - 1, s), bucket_upper(i, s));
                if l == 0.0 || !u.is_finite() {
                    continue;
                }
                assert_eq!(exponential(l, u), Some((s, i)), "schema {s} bucket {i}");
            }
        }
        // Prometheus's table value of 2^(1/8) differs from powf's in the last bit at most.
        assert_eq!(exponential(1.0, 1.0905077326652577), Some((3, 1)));
        // Not exponential: custom boundaries, a bucket of two schemas' widths, nonsense.
        assert_eq!(exponential(0.1, 0.25), None);
        assert_eq!(exponential(1.0, 3.0), None);
        assert_eq!(exponential(1.0, 2f64.powi(32)), None, "schema −5");
        assert_eq!(exponential(0.0, 1.0), None);
        assert_eq!(exponential(2.0, f64::INFINITY), None);
        assert_eq!(exponential(3.0, 6.0), None, "the width of schema 0, not its boundaries");
    }

    fn api(v: Value) -> Result<Hist, Bad> {
        from_api(&v)
    }

    #[test]
    fn api_histograms_give_schema_threshold_and_indices() {
        let s3 = |i: i32| bucket_upper(i, 3).to_string();
        let h = api(json!({"count": "10", "sum": "3.5", "buckets": [
            [1, (-bucket_upper(3, 3)).to_string(), (-bucket_upper(2, 3)).to_string(), "2"],
            [3, "-0.001", "0.001", "3"],
            [0, s3(-1), s3(0), "4"],
            [0, s3(4), s3(5), "1"],
        ]}))
        .unwrap();
        assert!(h.schema_known && h.threshold_known);
        let want = NativeHistogram {
            schema: 3,
            zero_threshold: 0.001,
            zero_count: 3.0,
            count: 10.0,
            sum: 3.5,
            positive: vec![(0, 4.0), (5, 1.0)],
            negative: vec![(3, 2.0)],
        };
        assert_eq!(h.h, want);
        // An empty histogram shows neither.
        let e = api(json!({"count": "0", "sum": "0"})).unwrap();
        assert!(!e.schema_known && !e.threshold_known);
        for (bad, code) in [
            (json!({"count": "1", "sum": "1", "buckets": [[0, "0.1", "0.25", "1"]]}), "slo::import::histogram_layout"),
            (json!({"count": "1", "sum": "1", "buckets": [[0, "-Inf", "0.25", "1"]]}), "slo::import::histogram_layout"),
            (
                json!({"count": "1", "sum": "1", "buckets": [[0, "1", "2", "1"], [0, "2", "2.5", "1"]]}),
                "slo::import::histogram_layout",
            ),
            (
                json!({"count": "1", "sum": "1", "buckets": [[0, "1", "2", "1"], [0, "2", "2.8284271247461903", "1"]]}),
                "slo::import::histogram_layout",
            ),
            (json!({"count": "1", "sum": "1", "buckets": [[1, "1", "2", "1"]]}), "slo::import::histogram_layout"),
            (json!({"count": "1", "sum": "1", "buckets": [[0, "-0.1", "0.2", "1"]]}), "slo::import::histogram_layout"),
            (
                json!({"count": "1", "sum": "1", "buckets": [[0, "1", "2", "1"], [0, "1", "2", "1"]]}),
                "slo::import::histogram_layout",
            ),
            (json!({"count": 1, "sum": "1"}), "slo::import::json"),
            (json!({"count": "1", "sum": "1", "buckets": [[7, "1", "2", "1"]]}), "slo::import::json"),
            (json!({"count": "1", "sum": "1", "buckets": [[0, "1", "2"]]}), "slo::import::json"),
            (json!({"count": "1", "sum": "1", "buckets": {}}), "slo::import::json"),
            (json!([]), "slo::import::json"),
        ] {
            match api(bad.clone()) {
                Err((c, _)) => assert_eq!(c, code, "{bad}"),
                Ok(h) => panic!("{bad} accepted as {h:?}"),
            }
        }
    }

    #[test]
    fn what_a_sample_does_not_show_comes_from_its_neighbours() {
        let mk = |schema: Option<i32>, t: Option<f64>, positive: Vec<(i32, f64)>| Hist {
            h: NativeHistogram {
                schema: schema.unwrap_or(MAX_SCHEMA),
                zero_threshold: t.unwrap_or(0.0),
                positive,
                ..NativeHistogram::empty(0)
            },
            schema_known: schema.is_some(),
            threshold_known: t.is_some(),
        };
        let mut v = [
            mk(None, None, vec![]),
            mk(Some(2), None, vec![(1, 1.0)]),
            mk(None, Some(0.5), vec![]),
            mk(None, None, vec![]),
            mk(Some(0), None, vec![(-1, 1.0)]),
        ];
        fill(&mut v);
        let got: Vec<(i32, f64)> = v.iter().map(|x| (x.h.schema, x.h.zero_threshold)).collect();
        // The last one's threshold 0.5 would hold its bucket (0.25, 0.5]: the default instead.
        assert_eq!(got, vec![(2, 0.5), (2, 0.5), (2, 0.5), (2, 0.5), (0, default_zero_threshold())]);
        let mut none = [mk(None, None, vec![])];
        fill(&mut none);
        assert_eq!((none[0].h.schema, none[0].h.zero_threshold), (MAX_SCHEMA, default_zero_threshold()));
    }

    #[test]
    fn spans_give_absolute_indices() {
        // Spans (−2, 2), (3, 1): buckets −2, −1, then 3.
        assert_eq!(from_spans(&[(-2, 2), (3, 1)], &[1.0, 0.0, 4.0]).unwrap(), vec![(-2, 1.0), (3, 4.0)]);
        assert_eq!(undelta(&[2, -1, 3]).unwrap(), vec![2.0, 1.0, 4.0]);
        assert!(undelta(&[1, -2]).is_err());
        assert!(from_spans(&[(0, 2)], &[1.0]).is_err());
        assert!(from_spans(&[(i32::MAX, 2)], &[1.0, 1.0]).is_err());
        assert!(from_spans(&[(0, 1), (-3, 1)], &[1.0, 1.0]).is_err());
        assert!(check_schema(-53).is_err() && check_schema(9).is_err() && check_schema(-4).is_ok());
    }

    #[test]
    fn random_histograms_never_panic() {
        let seed = r#"{"count":"6","sum":"3.25","buckets":[[1,"-1.189207115002721","-1.0905077326652577","1"],[3,"-0.001","0.001","1"],[0,"0.5946035575013605","0.6484197773255048","1"],[0,"0.9170040432046711","1","2"]]}"#;
        assert!(from_api(&serde_json::from_str(seed).unwrap()).is_ok());
        let alphabet = br#"{}[]":,0123456789.eE+-InfNa "#;
        for b in crate::metrics::mutants(seed.as_bytes(), alphabet, 5000) {
            if let Ok(v) = serde_json::from_slice::<Value>(&b) {
                let mut h: Vec<Hist> = from_api(&v).into_iter().collect();
                fill(&mut h);
            }
        }
    }
}
