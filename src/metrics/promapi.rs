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
//! (`histograms`) have no place in the float layout and are skipped with a
//! warning. Problems are located by the JSON path of the offending value;
//! JSON syntax errors by line and column.

use super::import::{parse_value, Problems, Store, MAX_ABS_MS};
use super::Problem;
use serde_json::Value;

pub(super) fn read(file: usize, name: &str, bytes: &[u8], store: &mut Store, problems: &mut Problems) {
    let mut docs = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let mut index = 0usize;
    let mut skipped_histograms = 0u64;
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
                response(file, name, &prefix, &doc, store, problems, &mut skipped_histograms);
                index += 1;
            }
        }
    }
    if skipped_histograms > 0 {
        problems.push(
            Problem::warning(
                "slo::import::native_histogram",
                name,
                format!("{skipped_histograms} native-histogram sample(s) skipped"),
            )
            .with_help("the native layout holds float samples; query the classic `_bucket` series instead"),
        );
    }
}

fn shape(name: &str, path: String, message: impl Into<String>) -> Problem {
    Problem::error("slo::import::json", name, message).at_path(path).with_help(
        "expected {\"status\":\"success\",\"data\":{\"resultType\":\"matrix\"|\"vector\",\"result\":[{\"metric\":{…},\"values\":[[ts,\"v\"],…]}]}}",
    )
}

fn response(
    file: usize,
    name: &str,
    prefix: &str,
    doc: &Value,
    store: &mut Store,
    problems: &mut Problems,
    skipped: &mut u64,
) {
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
            *skipped += item.get("histograms").and_then(Value::as_array).map_or(0, |h| h.len() as u64);
            let Some(values) = item.get("values").and_then(Value::as_array) else {
                if item.get("histograms").is_none() {
                    problems.push(shape(name, format!("{at}.values"), "a matrix series has no `values` array"));
                }
                continue;
            };
            for (j, pair) in values.iter().enumerate() {
                point(file, name, &format!("{at}.values[{j}]"), pair, id, store, problems);
            }
        } else {
            if item.get("histogram").is_some() {
                *skipped += 1;
                continue;
            }
            match item.get("value") {
                Some(pair) => point(file, name, &format!("{at}.value"), pair, id, store, problems),
                None => problems.push(shape(name, format!("{at}.value"), "a vector series has no `value`")),
            }
        }
    }
}

/// `[1700000000.5, "1.25"]`.
fn point(file: usize, name: &str, at: &str, pair: &Value, id: u32, store: &mut Store, problems: &mut Problems) {
    let Some([t, v]) = pair.as_array().map(Vec::as_slice) else {
        return problems.push(shape(name, at.to_string(), "a sample is not a `[timestamp, \"value\"]` pair"));
    };
    let ms = match t {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0).round()).filter(|m| m.abs() <= MAX_ABS_MS as f64),
        Value::String(s) => super::import::seconds_to_ms(s).map(|m| m as f64),
        _ => None,
    };
    let Some(ms) = ms else {
        return problems.push(
            Problem::error("slo::import::timestamp", name, format!("`{t}` is not a timestamp"))
                .at_path(format!("{at}[0]"))
                .with_help("API timestamps are unix seconds, e.g. 1700000000.5"),
        );
    };
    let value = v.as_str().and_then(parse_value);
    let Some(value) = value else {
        return problems.push(
            Problem::error("slo::import::value", name, format!("`{v}` is not a number"))
                .at_path(format!("{at}[1]"))
                .with_help("API values are strings holding floats: \"1.5\", \"NaN\", \"+Inf\""),
        );
    };
    store.push(id, ms as i64, value, file, 0);
}
