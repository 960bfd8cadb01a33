//! `slo import sloth`: Sloth's `prometheus/v1` specs and its
//! `PrometheusServiceLevel` CRD (`sloth.slok.dev/v1`).
//!
//! Sloth's model maps onto the language closely: a spec is a service, each
//! SLO an events SLI (`sum(rate(<selector>[{{.window}}]))` queries) over
//! Sloth's SLO period (30 days unless told otherwise), and its page and
//! ticket alerts are the Workbook's multiwindow tiers with budget shares
//! 2% (1h/5m) and 5% (6h/30m) for pages, 10% (1d/2h and 3d/6h) for tickets.
//! Sloth joins a severity's two windows with `or` in one rule, and names
//! the page and the ticket rule alike (`alerting.name`); a .slo tier is
//! one window pair, so each window becomes its own tier (`Page1h`, …)
//! whose alert keeps Sloth's name (`alert = "<name>"`) and Sloth's
//! `sloth_severity` label. The union of a severity's tiers fires exactly
//! when Sloth's alert does, and the policy says `join_tiers = true`, so
//! `slo compile` writes that union as one alert, as Sloth does (without
//! it, one alert per window pair, told apart by `long_window`).

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
    import_with(name, text, period, true)
}

/// [`import`]; without `share`, as it was before alert policies were
/// shared: a policy per SLO, every label where Sloth has it (the tests
/// compare the two).
fn import_with(name: &str, text: &str, period: &str, share: bool) -> Imported {
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
        // The service's labels and its closing brace follow with its SLOs
        // (labels all of them share move up): see `write_units`.
        let Some(Value::Sequence(slos)) = get(spec, "slos") else {
            let s = at(&input, "service");
            input.invalid(s, "the spec has no `slos` list", "list the service's SLOs under `slos`");
            continue;
        };
        file.head = out;
        let mut from = start;
        let mut pending: Vec<Pending> = Vec::new();
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
            let unit: Option<(super::Unit, Pending)> = 'slo: {
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
                let mut plan = None;
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
                                let mut p = Plan { name: aname.clone(), tiers: Vec::new(), slots: Vec::new() };
                                for (k, v) in string_map(get(al, "labels")) {
                                    p.slots.push((("labels", k), v));
                                }
                                for (k, v) in string_map(get(al, "annotations")) {
                                    p.slots.push((("annotations", k), v));
                                }
                                for (i, &(sev, suffix, ..)) in TIERS.iter().enumerate() {
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
                                    made.push(suffix.to_string());
                                    p.tiers.push(i);
                                    // A severity's two tiers read the same labels: its slots once.
                                    if !p.slots.iter().any(|((c, _), _)| *c == sev_slot(sev, "severity")) {
                                        p.slots.push(((sev_slot(sev, "severity"), String::new()), severity));
                                        for (k, v) in tl {
                                            p.slots.push(((sev_slot(sev, "labels"), k), v));
                                        }
                                        for (k, v) in string_map(spec.and_then(|s| get(s, "annotations"))) {
                                            p.slots.push(((sev_slot(sev, "annotations"), k), v));
                                        }
                                    }
                                }
                                let s = input.key(here, "alerting");
                                input.warn(
                                s,
                                format!(
                                    "SLO `{sname}`: Sloth's alert `{an}` (two windows per severity in one rule) becomes one tier per window ({}), joined per severity into one alert `{aname}`",
                                    made.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                                ),
                                "one tier per window",
                                "the policy's `join_tiers = true` makes a severity's tiers one alert, as Sloth's; without it each window pair alerts on its own, told apart by `long_window` (which Alertmanager inhibition needs)",
                            );
                                plan = Some(p);
                            }
                        }
                    }
                }
                let mut out = String::new();
                let _ = writeln!(out, "slo {id} for {svc} {{");
                if let Some(d) = get_str(slo, "description") {
                    let _ = writeln!(out, "  description = {}", lit(&d));
                }
                let _ = writeln!(out, "  objective = {} over {period}", pct(objective / 100.0));
                let slo_labels = string_map(get(slo, "labels"));
                let decls = vec![format!("slo {id}")];
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
                let unit = super::Unit { name: sname.clone(), at, text: String::new(), decls, uses: Vec::new() };
                Some((unit, Pending { id, head: out, labels: slo_labels, sli: sli_text, plan }))
            };
            match unit {
                Some((u, p)) if input.errors() == before => {
                    file.units.push(u);
                    pending.push(p);
                }
                _ => {
                    let s = input.key(here, "name");
                    input.skipped(s, &sname);
                    file.skipped += 1;
                }
            }
        }
        write_units(&mut file, &svc, labels, pending, share);
        files.push(file);
    }
    Imported { files, diagnostics: input.diags, sources, skipped }
}

/// One SLO's Sloth alerting as the slots a policy fills: its alert name,
/// its tiers (indices into [`TIERS`]) and ((component, key), value) pairs,
/// components being the policy's `labels` and `annotations` and each
/// severity's `severity`, `labels` and `annotations`.
struct Plan {
    name: String,
    tiers: Vec<usize>,
    slots: Vec<(Slot, String)>,
}

type Slot = (&'static str, String);

fn sev_slot(sev: &str, what: &str) -> &'static str {
    match (sev, what) {
        ("page", "severity") => "page.severity",
        ("page", "labels") => "page.labels",
        ("page", _) => "page.annotations",
        (_, "severity") => "ticket.severity",
        (_, "labels") => "ticket.labels",
        _ => "ticket.annotations",
    }
}

/// A translated SLO whose text waits for its file's alert policies.
struct Pending {
    id: String,
    /// `slo … {`, description and objective.
    head: String,
    labels: Vec<(String, String)>,
    sli: String,
    plan: Option<Plan>,
}

/// Whether a parameter may not take `name`: a keyword, a severity
/// (`severity = page` would read the parameter) or the alert name's own
/// parameter.
fn not_param(name: &str) -> bool {
    crate::syntax::KEYWORDS.contains(&name) || SEVERITIES.contains(&name) || name == "name"
}

/// Writes the service's labels and its SLOs, with one alert policy per set
/// of SLOs whose alerting has the same shape (the same tiers and the same
/// label and annotation keys): what differs between them — the alert name,
/// a severity, a label or annotation value — is a parameter each SLO passes.
/// Labels every SLO of the service carries with one value move to the
/// service. The compiled rules are the same as with a policy per SLO.
fn write_units(
    file: &mut super::Translated,
    svc: &str,
    mut labels: Vec<(String, String)>,
    pending: Vec<Pending>,
    share: bool,
) {
    let shared: Vec<(String, String)> = match pending.split_first() {
        Some((first, rest)) if share && !rest.is_empty() => first
            .labels
            .iter()
            .filter(|l| rest.iter().all(|p| p.labels.contains(l)) && !labels.iter().any(|(k, _)| *k == l.0))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    labels.extend(shared.iter().cloned());
    labels.sort();
    if !labels.is_empty() {
        let _ = writeln!(file.head, "  labels = {}", map_lit(&labels));
    }
    let _ = writeln!(file.head, "}}\n");
    // Groups of SLOs with alerting of one shape, in order of appearance.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let shape = |p: &Plan| (p.tiers.clone(), p.slots.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
    for (i, p) in pending.iter().enumerate() {
        let Some(plan) = &p.plan else { continue };
        match groups.iter_mut().find(|g| share && pending[g[0]].plan.as_ref().map(shape) == Some(shape(plan))) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
    let mut calls: Vec<Option<(String, String)>> = vec![None; pending.len()];
    let mut n = 0;
    for g in &groups {
        let plans: Vec<&Plan> = g.iter().filter_map(|&i| pending[i].plan.as_ref()).collect();
        let first = plans[0];
        let pname = loop {
            n += 1;
            let c = match (share, n) {
                (false, _) => format!("{}_sloth_alerts", pending[g[0]].id),
                (true, 1) => format!("{svc}_alerts"),
                (true, _) => format!("{svc}_alerts_{n}"),
            };
            if !ids.contains(&c.as_str()) {
                break c;
            }
        };
        // Parameters: the alert name, then each slot whose value differs.
        let mut params: Vec<String> = Vec::new();
        let named = plans.iter().any(|p| p.name != first.name);
        if named {
            params.push("name".into());
        }
        let mut slot_param: Vec<Option<String>> = Vec::new();
        for (j, ((comp, key), v)) in first.slots.iter().enumerate() {
            if plans.iter().all(|p| p.slots[j].1 == *v) {
                slot_param.push(None);
                continue;
            }
            let (section, what) = comp.split_once('.').unwrap_or(("alert", comp));
            let mut base = if key.is_empty() { format!("{section}_{what}") } else { super::ident(key).0 };
            if not_param(&base) || params.contains(&base) {
                base = format!("{section}_{base}");
            }
            let mut p = base.clone();
            let mut k = 1;
            while not_param(&p) || params.contains(&p) {
                k += 1;
                p = format!("{base}_{k}");
            }
            params.push(p.clone());
            slot_param.push(Some(p));
        }
        // A map of the slots of `comp` (plus `extra`), values literal or a parameter.
        let map = |comp: &str, extra: &[(&str, &str)]| -> Option<String> {
            let mut items: Vec<(String, String)> = first
                .slots
                .iter()
                .zip(&slot_param)
                .filter(|(((c, _), _), _)| *c == comp)
                .map(|(((_, k), v), p)| (k.clone(), p.clone().unwrap_or_else(|| lit(v))))
                .collect();
            items.extend(extra.iter().map(|(k, v)| (k.to_string(), lit(v))));
            items.sort();
            let items: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}: {v}", if super::ident(k).1 { lit(k) } else { k.clone() }))
                .collect();
            (!items.is_empty()).then(|| format!("{{ {} }}", items.join(", ")))
        };
        let mut t = String::new();
        let sig: Vec<String> = params.iter().map(|p| format!("{p}: string")).collect();
        let _ = writeln!(t, "alerts {pname}({}) {{", sig.join(", "));
        // Sloth's alerts carry only the spec's annotations: the generated
        // `description` is dropped unless the spec gives one.
        let described = first.slots.iter().any(|((c, k), _)| c.ends_with("annotations") && k == "description");
        let undescribed: &[(&str, &str)] = if described { &[] } else { &[("description", "")] };
        for (comp, extra) in [("labels", &[][..]), ("annotations", undescribed)] {
            if let Some(m) = map(comp, extra) {
                if !extra.is_empty() {
                    let _ =
                        writeln!(t, "  // As Sloth's: no `description` but the spec's (\"\" leaves out slo's own).");
                }
                let _ = writeln!(t, "  {comp} = {m}");
            }
        }
        // Sloth's page and ticket alerts each join their two windows.
        let _ = writeln!(t, "  join_tiers = true");
        for &i in &first.tiers {
            let (sev, suffix, long, short, share) = TIERS[i];
            let _ = writeln!(t, "  tier {suffix} {{");
            let _ = writeln!(t, "    alert = {}", if named { "name".to_string() } else { lit(&first.name) });
            let _ = writeln!(t, "    windows = {long} / {short}");
            let _ = writeln!(t, "    burn = {share} of budget");
            let j = first.slots.iter().position(|((c, _), _)| *c == sev_slot(sev, "severity")).unwrap_or(0);
            let severity = slot_param[j].clone().unwrap_or_else(|| first.slots[j].1.clone());
            let _ = writeln!(t, "    severity = {severity}");
            if let Some(m) = map(sev_slot(sev, "labels"), &[("sloth_severity", sev)]) {
                let _ = writeln!(t, "    labels = {m}");
            }
            if let Some(m) = map(sev_slot(sev, "annotations"), &[]) {
                let _ = writeln!(t, "    annotations = {m}");
            }
            let _ = writeln!(t, "  }}");
        }
        let _ = writeln!(t, "}}\n");
        file.shared.push((format!("alerts {pname}"), t));
        for &i in g {
            let Some(p) = &pending[i].plan else { continue };
            let mut args: Vec<String> = Vec::new();
            if named {
                args.push(format!("name: {}", lit(&p.name)));
            }
            for (((_, v), param), _) in p.slots.iter().zip(&slot_param).zip(&first.slots) {
                if let Some(param) = param {
                    args.push(format!("{param}: {}", lit(v)));
                }
            }
            calls[i] = Some((format!("alerts {pname}"), format!("{pname}({})", args.join(", "))));
        }
    }
    for ((u, p), call) in file.units.iter_mut().zip(pending).zip(calls) {
        let mut out = p.head;
        let own: Vec<(String, String)> = p.labels.into_iter().filter(|l| !shared.contains(l)).collect();
        if !own.is_empty() {
            let _ = writeln!(out, "  labels = {}", map_lit(&own));
        }
        out.push_str(&p.sli);
        if let Some((key, call)) = call {
            let _ = writeln!(out, "  alerts = {call}");
            u.uses.push(key);
        }
        let _ = writeln!(out, "}}\n");
        u.text = out;
    }
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
        assert!(text.contains("  tier Page6h {\n    alert = \"MyServiceHighErrorRate\"\n"), "{text}");
        // `long_window` tells the tiers apart: no `sloth_window` beside it.
        assert!(text.contains(r#"labels = { routing_key: "myteam", sloth_severity: "page" }"#), "{text}");
        assert!(!text.contains("sloth_window"), "{text}");
        assert!(text.contains("burn = 10% of budget"), "{text}");
        // Renames and the split alert are reported.
        let codes: Vec<&str> = r.diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.iter().filter(|c| **c == "slo::interop::changed").count() >= 3, "{codes:?}");
    }

    /// Three SLOs of one service (two alike but for their names, a
    /// severity and a summary; one without ticket alerts), one without
    /// alerting, and a second service.
    const MULTI: &str = r##"version: "prometheus/v1"
service: "checkout"
labels:
  owner: "shop"
slos:
  - name: "requests-availability"
    objective: 99.9
    labels: { team: "payments", tier: "1" }
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      labels: { category: "availability" }
      annotations: { summary: "Checkout fails" }
      page_alert:
        labels: { severity: critical, routing_key: shop }
      ticket_alert:
        labels: { severity: ticket, slack_channel: "#shop" }
  - name: "cart-availability"
    objective: 99.5
    labels: { team: "payments", tier: "2" }
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="cart",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="cart"}[{{.window}}]))
    alerting:
      name: CartAvailability
      labels: { category: "availability" }
      annotations: { summary: "Cart fails" }
      page_alert:
        labels: { severity: page, routing_key: shop }
      ticket_alert:
        labels: { severity: ticket, slack_channel: "#shop" }
  - name: "payments"
    objective: 99
    labels: { team: "payments" }
    sli:
      events:
        error_query: sum(rate(payments_total{job="pay",result="error"}[{{.window}}]))
        total_query: sum(rate(payments_total{job="pay"}[{{.window}}]))
    alerting:
      name: Payments
      page_alert:
        labels: { routing_key: pay }
      ticket_alert:
        disable: true
  - name: "quiet"
    objective: 95
    labels: { team: "payments" }
    sli:
      events:
        error_query: sum(rate(jobs_total{job="q",result="error"}[{{.window}}]))
        total_query: sum(rate(jobs_total{job="q"}[{{.window}}]))
---
version: "prometheus/v1"
service: "search"
slos:
  - name: "queries"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(search_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(search_total[{{.window}}]))
    alerting:
      name: SearchQueries
      page_alert: { labels: { routing_key: search } }
      ticket_alert: { labels: { routing_key: search } }
"##;

    /// The formatted files of an import, and the rule files they compile to.
    type Files = Vec<(String, String)>;

    fn compiled(share: bool) -> (Files, Files) {
        let r = import_with("spec.yml", MULTI, "30d", share);
        assert!(!r.has_errors(), "{:?}", r.diagnostics);
        let texts: Vec<(String, String)> = r.texts().into_iter().map(|(n, t)| (n, t.unwrap())).collect();
        for (_, t) in &texts {
            assert_eq!(&crate::interop::formatted(t).unwrap(), t, "not formatted");
        }
        let named: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let loaded = crate::driver::load_strs(&named);
        let (program, diags) = crate::driver::check(&loaded);
        assert!(!diags.has_errors(), "{:?}\n{texts:#?}", diags.0);
        let files = crate::promql::emit(&program, &crate::promql::Options::default()).unwrap();
        (texts, files.into_iter().map(|f| (f.path, f.contents)).collect())
    }

    #[test]
    fn shared_alert_policies_compile_to_the_rules_of_a_policy_per_slo() {
        let (verbose, old_rules) = compiled(false);
        let (shared, new_rules) = compiled(true);
        assert_eq!(old_rules, new_rules, "the shared policies change the compiled rules");
        assert!(new_rules.iter().any(|(_, c)| c.contains("alert: CartAvailability\n")), "{new_rules:?}");
        let checkout = &shared.iter().find(|(n, _)| n == "checkout.slo").unwrap().1;
        // One parameterised policy for the two alike SLOs, one for the other.
        assert!(
            checkout.contains("alerts checkout_alerts(name: string, summary: string, page_severity: string) {\n"),
            "{checkout}"
        );
        assert!(checkout.contains("  tier Page1h {\n    alert = name\n"), "{checkout}");
        assert!(checkout.contains("alerts checkout_alerts_2() {\n"), "{checkout}");
        assert!(checkout.contains("  tier Page1h {\n    alert = \"Payments\"\n"), "{checkout}");
        assert!(
            checkout.contains(
                r#"alerts = checkout_alerts(name: "CartAvailability", summary: "Cart fails", page_severity: "page")"#
            ),
            "{checkout}"
        );
        assert_eq!(checkout.matches("alerts checkout").count(), 2, "{checkout}");
        // The label every SLO carries moves to the service.
        assert!(checkout.contains(r#"labels = { owner: "shop", team: "payments" }"#), "{checkout}");
        assert!(!checkout.contains(r#"labels = { team: "payments", tier: "1" }"#), "{checkout}");
        let size = |t: &[(String, String)]| t.iter().map(|(_, t)| t.len()).sum::<usize>();
        assert!(size(&shared) < size(&verbose));
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
