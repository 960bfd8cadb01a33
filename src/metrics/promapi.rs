//! Prometheus HTTP API responses:
//!
//! ```text
//! {"status":"success","data":{"resultType":"matrix","result":[
//!   {"metric":{"__name__":"up","job":"api"},"values":[[1700000000,"1"],[1700000015.5,"NaN"]]}]}}
//! ```
//!
//! `matrix` comes from `query_range` and from instant queries of a range
//! vector (`up[1h]`, the raw samples); `vector` from instant queries (one
//! sample per series). A file may hold several responses one after the
//! other (e.g. one per `curl`). Timestamps are unix seconds (a number),
//! values strings (`"NaN"`, `"+Inf"`). Native-histogram samples
//! (`histograms: [[ts, {count, sum, buckets}], …]` in a matrix,
//! `histogram: [ts, {…}]` in a vector) are read by [`super::native`]:
//! schema, zero threshold and bucket indices are worked out from the
//! bucket boundaries; custom-bucket histograms are refused. Problems are
//! located by the JSON path of the offending value; JSON syntax errors by
//! line and column.

use super::import::{parse_value, Problems, Store, MAX_ABS_MS};
use super::Problem;
use serde_json::Value;

pub(super) fn read(file: usize, name: &str, bytes: &[u8], store: &mut Store, problems: &mut Problems) {
    let mut docs = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let mut index = 0usize;
    loop {
        match docs.next() {
            None => break,
            Some(Err(e)) => {
                let (line, col) = (e.line(), e.column());
                let text = bytes.split(|&b| b == b'\n').nth(line.saturating_sub(1)).unwrap_or(&[]);
                let text = String::from_utf8_lossy(text).into_owned();
                problems.push(
                    Problem::error("slo::import::json", name, format!("invalid JSON: {e}"))
                        .at(line.max(1), &text, col.saturating_sub(1))
                        .with_help(
                            "the file should hold Prometheus API responses as `curl …/api/v1/query_range` returns them",
                        ),
                );
                break;
            }
            Some(Ok(doc)) => {
                let prefix = if index == 0 { String::new() } else { format!("[response {}] ", index + 1) };
                response(file, name, &prefix, &doc, store, problems);
                index += 1;
            }
        }
    }
}

fn shape(name: &str, path: String, message: impl Into<String>) -> Problem {
    Problem::error("slo::import::json", name, message).at_path(path).with_help(
        "expected {\"status\":\"success\",\"data\":{\"resultType\":\"matrix\"|\"vector\",\"result\":[{\"metric\":{…},\"values\":[[ts,\"v\"],…]}]}}",
    )
}

fn response(file: usize, name: &str, prefix: &str, doc: &Value, store: &mut Store, problems: &mut Problems) {
    let p = |s: &str| format!("{prefix}{s}");
    match doc.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            let kind = doc.get("errorType").and_then(Value::as_str).unwrap_or("error");
            let msg = doc.get("error").and_then(Value::as_str).unwrap_or("");
            problems.push(
                Problem::error("slo::import::json", name, format!("the response is an error ({kind}): {msg}"))
                    .at_path(p("status"))
                    .with_help("re-run the query; a failed query has no samples"),
            );
            return;
        }
        _ => return problems.push(shape(name, p("status"), "no `\"status\": \"success\"`")),
    }
    let Some(data) = doc.get("data") else { return problems.push(shape(name, p("data"), "no `data`")) };
    let kind = data.get("resultType").and_then(Value::as_str).unwrap_or("");
    let Some(result) = data.get("result").and_then(Value::as_array) else {
        return problems.push(shape(name, p("data.result"), "`data.result` is not an array"));
    };
    let matrix = match kind {
        "matrix" => true,
        "vector" => false,
        other => {
            return problems.push(
                Problem::error("slo::import::json", name, format!("result type `{other}` holds no series samples"))
                    .at_path(p("data.resultType"))
                    .with_help("query a selector (`up`), a range vector (`up[1h]`) or use query_range"),
            );
        }
    };
    for (i, item) in result.iter().enumerate() {
        let at = p(&format!("data.result[{i}]"));
        let Some(metric) = item.get("metric").and_then(Value::as_object) else {
            problems.push(shape(name, format!("{at}.metric"), "the series has no `metric` object"));
            continue;
        };
        if metric.len() > super::import::MAX_LABELS_PER_SERIES {
            let (code, m, h) = super::import::too_many_labels(metric.len());
            problems.push(Problem::error(code, name, m).at_path(format!("{at}.metric")).with_help(h));
            continue;
        }
        let mut labels = Vec::with_capacity(metric.len());
        let mut bad = false;
        for (k, v) in metric {
            match v.as_str() {
                Some(s) => labels.push((k.clone(), s.to_string())),
                None => {
                    problems.push(shape(name, format!("{at}.metric.{k}"), format!("label `{k}` is not a string")));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let id = match store.intern(None, labels) {
            Ok(id) => id,
            Err((code, m, h)) => {
                problems.push(Problem::error(code, name, m).at_path(format!("{at}.metric")).with_help(h));
                continue;
            }
        };
        if matrix {
            let (values, histograms) = (item.get("values"), item.get("histograms"));
            if values.is_none() && histograms.is_none() {
                problems.push(shape(name, format!("{at}.values"), "a matrix series has no `values` array"));
                continue;
            }
            for (key, list) in [("values", values), ("histograms", histograms)] {
                let Some(list) = list else { continue };
                let Some(list) = list.as_array() else {
                    problems.push(shape(name, format!("{at}.{key}"), format!("`{key}` is not an array")));
                    continue;
                };
                for (j, pair) in list.iter().enumerate() {
                    let at = format!("{at}.{key}[{j}]");
                    if key == "values" {
                        point(file, name, &at, pair, id, store, problems);
                    } else {
                        histogram(file, name, &at, pair, id, store, problems);
                    }
                }
            }
        } else {
            match (item.get("value"), item.get("histogram")) {
                (Some(pair), _) => point(file, name, &format!("{at}.value"), pair, id, store, problems),
                (None, Some(pair)) => histogram(file, name, &format!("{at}.histogram"), pair, id, store, problems),
                (None, None) => problems.push(shape(name, format!("{at}.value"), "a vector series has no `value`")),
            }
        }
    }
}

/// The milliseconds of an API timestamp (unix seconds, a number or a string);
/// `None` once the problem is reported.
fn timestamp(name: &str, at: &str, t: &Value, problems: &mut Problems) -> Option<i64> {
    let ms = match t {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0).round()).filter(|m| m.abs() <= MAX_ABS_MS as f64),
        Value::String(s) => super::import::seconds_to_ms(s).map(|m| m as f64),
        _ => None,
    };
    if ms.is_none() {
        problems.push(
            Problem::error("slo::import::timestamp", name, format!("`{t}` is not a timestamp"))
                .at_path(format!("{at}[0]"))
                .with_help("API timestamps are unix seconds, e.g. 1700000000.5"),
        );
    }
    ms.map(|m| m as i64)
}

/// `[1700000000.5, {"count": "3", "sum": "1.5", "buckets": […]}]`.
fn histogram(file: usize, name: &str, at: &str, pair: &Value, id: u32, store: &mut Store, problems: &mut Problems) {
    let Some([t, h]) = pair.as_array().map(Vec::as_slice) else {
        return problems.push(shape(name, at.to_string(), "a histogram sample is not a `[timestamp, {…}]` pair"));
    };
    let Some(ms) = timestamp(name, at, t, problems) else { return };
    match super::native::from_api(h) {
        Ok(h) => store.push_histogram(id, ms, h, file, 0),
        Err((code, msg)) => {
            let help = if code == "slo::import::json" {
                "a native-histogram sample is `[ts, {\"count\": \"…\", \"sum\": \"…\", \"buckets\": [[rule, \"lower\", \"upper\", \"count\"], …]}]`"
            } else {
                super::native::LAYOUT_HELP
            };
            problems.push(Problem::error(code, name, msg).at_path(format!("{at}[1]")).with_help(help));
        }
    }
}

/// `[1700000000.5, "1.25"]`.
fn point(file: usize, name: &str, at: &str, pair: &Value, id: u32, store: &mut Store, problems: &mut Problems) {
    let Some([t, v]) = pair.as_array().map(Vec::as_slice) else {
        return problems.push(shape(name, at.to_string(), "a sample is not a `[timestamp, \"value\"]` pair"));
    };
    let Some(ms) = timestamp(name, at, t, problems) else { return };
    let value = v.as_str().and_then(parse_value);
    let Some(value) = value else {
        return problems.push(
            Problem::error("slo::import::value", name, format!("`{v}` is not a number"))
                .at_path(format!("{at}[1]"))
                .with_help("API values are strings holding floats: \"1.5\", \"NaN\", \"+Inf\""),
        );
    };
    store.push(id, ms, value, file, 0);
}
