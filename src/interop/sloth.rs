//! `slo import sloth`: Sloth's `prometheus/v1` specs and its
//! `PrometheusServiceLevel` CRD (`sloth.slok.dev/v1`).
//!
//! Sloth's model maps onto the language closely: a spec is a service, each
//! SLO an events SLI (`sum(rate(<selector>[{{.window}}]))` queries) over
//! Sloth's SLO period (30 days unless told otherwise), and its page and
//! ticket alerts are the Workbook's multiwindow tiers with budget shares
//! 2% (1h/5m) and 5% (6h/30m) for pages, 10% (1d/2h and 3d/6h) for tickets.
//! Sloth joins a severity's two windows with `or` in one rule; a .slo tier
//! is one alert, so each window becomes its own tier (`<name>Page1h`, …)
//! carrying Sloth's `sloth_severity` label — the union of a severity's
//! tiers fires exactly when Sloth's alert does.

use super::{get, get_str, ident, lit, map_lit, pct, scalar, string_map, Imported, Input};
use crate::source::SourceMap;
use serde_yaml_ng::Value;
use std::fmt::Write;

/// Sloth's tiers: (severity, suffix, long, short, budget share %).
const TIERS: [(&str, &str, &str, &str, &str); 4] = [
    ("page", "Page1h", "1h", "5m", "2%"),
    ("page", "Page6h", "6h", "30m", "5%"),
    ("ticket", "Ticket1d", "1d", "2h", "10%"),
    ("ticket", "Ticket3d", "3d", "6h", "10%"),
];

use crate::ir::SEVERITIES;

/// Imports one Sloth file (one or more YAML documents). `period` is Sloth's
/// SLO period (`--default-slo-period`, 30d by default), as .slo text.
pub fn import(name: &str, text: &str, period: &str) -> Imported {
    let mut sources = SourceMap::new();
    let mut input = Input::new(&mut sources, name, text);
    let mut files = Vec::new();
    let mut skipped = 0;
    for (start, doc) in super::documents(&mut input) {
        let at = |i: &Input, k: &str| i.key(start, k);
        // The SLOs a document that does not translate takes with it.
        let listed = [get(&doc, "slos"), get(&doc, "spec").and_then(|s| get(s, "slos"))]
            .into_iter()
            .flatten()
            .find_map(Value::as_sequence)
            .map_or(0, Vec::len);
        // The CRD wraps the spec; field names are camelCase there.
        let (spec, crd) = match (get_str(&doc, "apiVersion"), get_str(&doc, "kind")) {
            (Some(api), Some(kind)) if api.starts_with("sloth.slok.dev/") && kind == "PrometheusServiceLevel" => {
                match get(&doc, "spec") {
                    Some(s) => (s, true),
                    None => {
                        let s = at(&input, "kind");
                        input.invalid(s, "a PrometheusServiceLevel without `spec`", "add the spec: service, slos");
                        skipped += listed;
                        continue;
                    }
                }
            }
            _ => match get_str(&doc, "version").as_deref() {
                Some("prometheus/v1") => (&doc, false),
                other => {
                    let s = at(&input, if other.is_some() { "version" } else { "apiVersion" });
                    input.invalid(
                        s,
                        format!(
                            "not a Sloth spec: expected `version: \"prometheus/v1\"` or `kind: PrometheusServiceLevel`, found {}",
                            other.map_or("neither".to_string(), |v| format!("version `{v}`"))
                        ),
                        "`slo import sloth` reads Sloth's prometheus/v1 specs and its Kubernetes CRD",
                    );
                    skipped += listed;
                    continue;
                }
            },
        };
        let key = |k: &'static str, camel: &'static str| if crd { camel } else { k };
        let Some(service) = get_str(spec, "service") else {
            let s = at(&input, "slos");
            input.invalid(s, "the spec has no `service`", "name the service the SLOs belong to");
            skipped += listed;
            continue;
        };
        let (svc, renamed) = ident(&service);
        let mut out = String::new();
        let _ = writeln!(out, "// Imported from {name} by `slo import sloth`.\n");
        let mut file = super::Translated::new(format!("{svc}.slo"), at(&input, "service"), String::new());
        if renamed {
            let s = at(&input, "service");
            input.warn(
                s,
                format!("service `{service}` is named `{svc}` in .slo"),
                "not an identifier",
                "the `service` label of the compiled rules changes with it; Sloth's own label was `sloth_service`",
            );
        }
        let _ = writeln!(out, "service {svc} {{");
        for k in spec.as_mapping().into_iter().flat_map(|m| m.keys()) {
            let k = scalar(k).unwrap_or_default();
            if !["version", "service", "labels", "slos"].contains(&k.as_str()) {
                let s = at(&input, &k);
                input.warn(
                    s,
                    format!("`{k}` is not translated"),
                    "dropped",
                    "a Sloth spec reads `service`, `labels` and `slos`; add its meaning to the .slo file by hand, or fix the key",
                );
            }
        }
        let labels = string_map(get(spec, "labels"));
        // Sloth specs conventionally name the owner as a label.
        if let Some((_, owner)) = labels.iter().find(|(k, _)| k == "owner" || k == "team") {
            let _ = writeln!(out, "  owner = {}", lit(owner));
        }
        if !labels.is_empty() {
            let _ = writeln!(out, "  labels = {}", map_lit(&labels));
        }
        let _ = writeln!(out, "}}\n");
        let Some(Value::Sequence(slos)) = get(spec, "slos") else {
            let s = at(&input, "service");
            input.invalid(s, "the spec has no `slos` list", "list the service's SLOs under `slos`");
            continue;
        };
        file.head = out;
        let mut from = start;
        for slo in slos {
            let Some(sname) = get_str(slo, "name") else {
                let s = input.key(from, "slos");
                input.invalid(s, "an SLO without `name`", "give every SLO a name");
                file.skipped += 1;
                continue;
            };
            from = input.anchor(from, "name", &sname);
            let here = from;
            let before = input.errors();
            let unit: Option<super::Unit> = 'slo: {
                // A key in the other format's spelling would be silently unknown.
                let mut wrong = Vec::new();
                spelled_as_other_format(slo, crd, &mut wrong);
                for (found, meant) in wrong {
                    let s = input.key(here, found);
                    let (this, other) =
                        if crd { ("the CRD", "a prometheus/v1 spec") } else { ("a prometheus/v1 spec", "the CRD") };
                    input.invalid(
                        s,
                        format!("SLO `{sname}`: `{found}` is how {other} spells it; {this} says `{meant}`"),
                        format!("rename the key to `{meant}`"),
                    );
                }
                let (id, renamed) = ident(&sname);
                if renamed {
                    let s = input.key(here, "name");
                    input.warn(
                        s,
                        format!("SLO `{sname}` is named `{id}` in .slo"),
                        "not an identifier",
                        "the `slo` label of the compiled rules is the new name; Sloth's was `sloth_slo`",
                    );
                }
                let objective = get(slo, "objective").and_then(|v| match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                });
                let Some(objective) = objective.filter(|o| *o > 0.0 && *o < 100.0) else {
                    let s = input.key(here, "objective");
                    input.invalid(
                        s,
                        format!("SLO `{sname}`: the objective must be a percentage in (0, 100)"),
                        "e.g. `objective: 99.9`",
                    );
                    break 'slo None;
                };
                // The SLI.
                let sli = get(slo, "sli");
                let events = sli.and_then(|s| get(s, "events"));
                let sli_text = if let Some(ev) = events {
                    let q = |k: &str| get_str(ev, k).map(|q| window_free(&q));
                    let (bad, total) = (q(key("error_query", "errorQuery")), q(key("total_query", "totalQuery")));
                    let latency =
                        bad.as_deref().zip(total.as_deref()).and_then(|(b, t)| super::latency_from_events(b, t));
                    match (latency, bad, total) {
                        (Some((h, ms)), _, _) => {
                            let h = crate::promql::expr::selector(&h, &[]);
                            Some(format!(
                                "  sli latency {{\n    histogram = {h}\n    below = {}\n  }}\n",
                                super::dur(ms)
                            ))
                        }
                        (None, Some(bad), Some(total)) => {
                            match (super::summed_rate_grouped(&bad), super::summed_rate_grouped(&total)) {
                                // `sum by (l)` on both queries is the SLO's group_by.
                                (Ok((b, by_b)), Ok((t, by_t))) if by_b == by_t => {
                                    let group_by = match by_b.is_empty() {
                                        true => String::new(),
                                        false => format!("  group_by = [{}]\n", by_b.join(", ")),
                                    };
                                    Some(format!("{group_by}  sli events {{\n    bad = {b}\n    total = {t}\n  }}\n"))
                                }
                                (Ok((_, by_b)), Ok((_, by_t))) => {
                                    let s = input.key(here, key("error_query", "errorQuery"));
                                    input.error(
                                        s,
                                        format!(
                                            "SLO `{sname}`: the error query groups by ({}) but the total query by ({})",
                                            by_b.join(", "),
                                            by_t.join(", ")
                                        ),
                                        "groupings differ",
                                        "group both queries by the same labels; they become the SLO's group_by",
                                    );
                                    None
                                }
                                (b, t) => {
                                    let (b, t) = (b.map(|x| x.0), t.map(|x| x.0));
                                    for (r, k) in
                                        [(b, key("error_query", "errorQuery")), (t, key("total_query", "totalQuery"))]
                                    {
                                        if let Err(why) = r {
                                            let s = input.key(here, k);
                                            input.error(
                                            s,
                                            format!("SLO `{sname}`: this query is not an events counter: {why}"),
                                            "cannot be an SLI selector",
                                            "an events SLI reads `sum(rate(<counter selector>[{{.window}}]))`; rewrite the query in that shape, or write the SLI by hand",
                                        );
                                        }
                                    }
                                    None
                                }
                            }
                        }
                        _ => {
                            let s = input.key(here, "events");
                            input.invalid(
                                s,
                                format!("SLO `{sname}`: events need both an error and a total query"),
                                "add the missing query",
                            );
                            None
                        }
                    }
                } else if sli.and_then(|s| get(s, "raw")).is_some() {
                    let s = input.key(here, "raw");
                    input.error(
                    s,
                    format!("SLO `{sname}`: a raw error-ratio query has no counterpart in .slo"),
                    "raw SLI",
                    "a .slo SLI names its counters (events), histogram (latency) or 0/1 series (gauge), so it can check, backtest and budget them; rewrite the ratio as error and total counters",
                );
                    None
                } else if sli.and_then(|s| get(s, "plugin")).is_some() {
                    let s = input.key(here, "plugin");
                    input.error(
                        s,
                        format!("SLO `{sname}`: Sloth SLI plugins run Go code that cannot be translated"),
                        "plugin SLI",
                        "write the SLI the plugin generates as an events, latency or gauge SLI by hand",
                    );
                    None
                } else {
                    let s = input.key(here, "sli");
                    input.invalid(s, format!("SLO `{sname}` has no `sli` (events, raw or plugin)"), "add the SLI");
                    None
                };
                let Some(sli_text) = sli_text else { break 'slo None };
                // Alerting.
                let alerting = get(slo, "alerting");
                let mut alerts_name = None;
                let mut policy = String::new();
                if let Some(al) = alerting {
                    let page = get(al, key("page_alert", "pageAlert"));
                    let ticket = get(al, key("ticket_alert", "ticketAlert"));
                    let disabled = |v: Option<&Value>| {
                        v.and_then(|v| get(v, "disable")).and_then(|d| d.as_bool()).unwrap_or(false)
                    };
                    let (page_on, ticket_on) = (!disabled(page), !disabled(ticket));
                    if page_on || ticket_on {
                        match get_str(al, "name") {
                            None => {
                                let s = input.key(here, "alerting");
                                input.invalid(
                                    s,
                                    format!("SLO `{sname}`: alerting needs a `name`"),
                                    "Sloth names both alerts after it",
                                );
                            }
                            Some(an) => {
                                let aname = super::alert_ident(&an);
                                let mut made: Vec<String> = Vec::new();
                                let pname = format!("{id}_sloth_alerts");
                                let _ = writeln!(policy, "alerts {pname}() {{");
                                let labels = string_map(get(al, "labels"));
                                let ann = string_map(get(al, "annotations"));
                                if !labels.is_empty() {
                                    let _ = writeln!(policy, "  labels = {}", map_lit(&labels));
                                }
                                if !ann.is_empty() {
                                    let _ = writeln!(policy, "  annotations = {}", map_lit(&ann));
                                }
                                for (sev, suffix, long, short, share) in TIERS {
                                    let (on, spec) = if sev == "page" { (page_on, page) } else { (ticket_on, ticket) };
                                    if !on {
                                        continue;
                                    }
                                    let mut tl = string_map(spec.and_then(|s| get(s, "labels")));
                                    let mut severity = sev.to_string();
                                    if let Some(i) = tl.iter().position(|(k, _)| k == "severity") {
                                        let v = tl.remove(i).1;
                                        if SEVERITIES.contains(&v.as_str()) {
                                            severity = v;
                                        } else if suffix.ends_with("1h") || suffix.ends_with("1d") {
                                            let s = input.key(here, "severity");
                                            input.warn(
                                            s,
                                            format!("SLO `{sname}`: the severity label `{v}` becomes `{sev}`"),
                                            "not a .slo severity",
                                            "a tier's severity is one of page, ticket, critical, warning, info; route on `sloth_severity` or another label",
                                        );
                                        }
                                    }
                                    tl.push(("sloth_severity".into(), sev.into()));
                                    tl.sort();
                                    let ta = string_map(spec.and_then(|s| get(s, "annotations")));
                                    made.push(format!("{aname}{suffix}"));
                                    let _ = writeln!(policy, "  tier {aname}{suffix} {{");
                                    let _ = writeln!(policy, "    windows = {long} / {short}");
                                    let _ = writeln!(policy, "    burn = {share} of budget");
                                    let _ = writeln!(policy, "    severity = {severity}");
                                    let _ = writeln!(policy, "    labels = {}", map_lit(&tl));
                                    if !ta.is_empty() {
                                        let _ = writeln!(policy, "    annotations = {}", map_lit(&ta));
                                    }
                                    let _ = writeln!(policy, "  }}");
                                }
                                let _ = writeln!(policy, "}}\n");
                                let s = input.key(here, "alerting");
                                input.warn(
                                s,
                                format!(
                                    "SLO `{sname}`: Sloth's alert `{an}` (two windows per severity in one rule) becomes one tier per window: {}",
                                    made.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                                ),
                                "one alert per window",
                                "each tier keeps Sloth's `sloth_severity` label: route on it, or on `severity`, rather than on the alert name",
                            );
                                alerts_name = Some(pname);
                            }
                        }
                    }
                }
                let mut out = policy;
                let _ = writeln!(out, "slo {id} for {svc} {{");
                if let Some(d) = get_str(slo, "description") {
                    let _ = writeln!(out, "  description = {}", lit(&d));
                }
                let _ = writeln!(out, "  objective = {} over {period}", pct(objective / 100.0));
                let sl = string_map(get(slo, "labels"));
                if !sl.is_empty() {
                    let _ = writeln!(out, "  labels = {}", map_lit(&sl));
                }
                out.push_str(&sli_text);
                if let Some(a) = &alerts_name {
                    let _ = writeln!(out, "  alerts = {a}()");
                }
                let _ = writeln!(out, "}}\n");
                let mut decls = vec![format!("slo {id}")];
                decls.extend(alerts_name.map(|a| format!("alerts {a}")));
                // Fields that do not carry over, at every level Sloth reads:
                // a misspelled `disable` would otherwise page silently.
                let k2 = |k: &'static str, c: &'static str| if crd { c } else { k };
                let (page, ticket) = (k2("page_alert", "pageAlert"), k2("ticket_alert", "ticketAlert"));
                let levels: [(Option<&Value>, &str, Vec<&str>); 6] = [
                    (Some(slo), "the SLO", vec!["name", "objective", "description", "labels", "sli", "alerting"]),
                    (sli, "`sli`", vec!["events", "raw", "plugin"]),
                    (events, "`events`", vec![k2("error_query", "errorQuery"), k2("total_query", "totalQuery")]),
                    (alerting, "`alerting`", vec!["name", "labels", "annotations", page, ticket]),
                    (alerting.and_then(|a| get(a, page)), "the page alert", vec!["disable", "labels", "annotations"]),
                    (
                        alerting.and_then(|a| get(a, ticket)),
                        "the ticket alert",
                        vec!["disable", "labels", "annotations"],
                    ),
                ];
                for (v, what, known) in levels {
                    for k in v.and_then(Value::as_mapping).into_iter().flat_map(|m| m.keys()) {
                        let k = scalar(k).unwrap_or_default();
                        // Keys in the other format's spelling are errors already.
                        let other = SPELLINGS.iter().any(|(a, b)| k == *a || k == *b);
                        if !known.contains(&k.as_str()) && !other {
                            let s = input.key(here, &k);
                            input.warn(
                                s,
                                format!("SLO `{sname}`: `{k}` in {what} is not translated"),
                                "dropped",
                                format!(
                                    "Sloth reads {} here; add its meaning to the .slo file by hand, or fix the key",
                                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                                ),
                            );
                        }
                    }
                }
                let at = input.key(here, "name");
                Some(super::Unit { name: sname.clone(), at, text: out, decls, uses: Vec::new() })
            };
            match unit {
                Some(u) if input.errors() == before => file.units.push(u),
                _ => {
                    let s = input.key(here, "name");
                    input.skipped(s, &sname);
                    file.skipped += 1;
                }
            }
        }
        files.push(file);
    }
    Imported { files, diagnostics: input.diags, sources, skipped }
}

/// Sloth's `{{.window}}` placeholder, replaced by a window so the query parses.
/// The keys spelled (snake_case, camelCase) by the two formats.
const SPELLINGS: &[(&str, &str)] = &[
    ("error_query", "errorQuery"),
    ("total_query", "totalQuery"),
    ("error_ratio_query", "errorRatioQuery"),
    ("page_alert", "pageAlert"),
    ("ticket_alert", "ticketAlert"),
];

/// Keys under `v` spelled as the other format spells them: (found, meant).
fn spelled_as_other_format(v: &serde_yaml_ng::Value, crd: bool, out: &mut Vec<(&'static str, &'static str)>) {
    match v {
        serde_yaml_ng::Value::Mapping(m) => {
            for (k, v) in m {
                if let Some(k) = k.as_str() {
                    for &(snake, camel) in SPELLINGS {
                        let (found, meant) = if crd { (snake, camel) } else { (camel, snake) };
                        if k == found && !out.contains(&(found, meant)) {
                            out.push((found, meant));
                        }
                    }
                }
                spelled_as_other_format(v, crd, out);
            }
        }
        serde_yaml_ng::Value::Sequence(s) => s.iter().for_each(|v| spelled_as_other_format(v, crd, out)),
        _ => {}
    }
}

fn window_free(q: &str) -> String {
    let mut s = q.to_string();
    for p in ["{{.window}}", "{{ .window }}", "{{.window }}", "{{ .window}}"] {
        s = s.replace(p, "5m");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r##"version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on 'myservice' requests responses"
      page_alert:
        labels:
          severity: pageteam
          routing_key: myteam
      ticket_alert:
        labels:
          severity: "slack"
          slack_channel: "#alerts-myteam"
"##;

    #[test]
    fn a_prometheus_v1_spec_becomes_a_service_with_tiers() {
        let r = import("spec.yml", SPEC, "30d");
        assert!(!r.has_errors(), "{:?}", r.diagnostics);
        let (name, text) = &r.texts()[0];
        let text = text.as_ref().unwrap();
        assert_eq!(name, "myservice.slo");
        assert!(text.contains("slo requests_availability for myservice"), "{text}");
        assert!(text.contains("objective = 99.9% over 30d"), "{text}");
        assert!(
            text.contains(r#"bad = http_request_duration_seconds_count{job="myservice", code=~"(5..|429)"}"#),
            "{text}"
        );
        assert!(text.contains("tier MyServiceHighErrorRatePage6h"), "{text}");
        assert!(text.contains("burn = 10% of budget"), "{text}");
        // Renames and the split alert are reported.
        let codes: Vec<&str> = r.diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.iter().filter(|c| **c == "slo::interop::changed").count() >= 3, "{codes:?}");
    }

    #[test]
    fn untranslatable_slis_are_errors_never_dropped() {
        let raw = SPEC.replace(
            "      events:\n        error_query: sum(rate(http_request_duration_seconds_count{job=\"myservice\",code=~\"(5..|429)\"}[{{.window}}]))\n        total_query: sum(rate(http_request_duration_seconds_count{job=\"myservice\"}[{{.window}}]))",
            "      raw:\n        error_ratio_query: 1 - avg_over_time(up[{{.window}}])",
        );
        let r = import("spec.yml", &raw, "30d");
        assert!(r.has_errors());
        assert!(r.diagnostics.iter().any(|d| d.code == "slo::interop::untranslatable" && d.message.contains("raw")));
        let r = import("x.yml", "version: v2\n", "30d");
        assert!(r.diagnostics.iter().any(|d| d.code == "slo::interop::invalid"));
        let r = import("x.yml", "version: [\n", "30d");
        assert!(r.diagnostics.iter().any(|d| d.message.contains("not valid YAML")));
    }
}
