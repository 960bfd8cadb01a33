//! OpenSLO v1: `slo import openslo` and `slo export openslo`.
//!
//! Import reads multi-document YAML of `Service`, `SLI`, `SLO`,
//! `AlertPolicy`, `AlertCondition` and `DataSource` objects (inline or
//! referenced by name) with Prometheus metric sources: a metric source is
//! Prometheus by its own `type` or by the `spec.type` of the DataSource its
//! `metricSourceRef` names (a ref to no DataSource of the input is
//! `slo::interop::unknown_ref` at the ref; the connection details have no
//! .slo counterpart: `slo backtest --url` takes the server). Each `SLO` object is one
//! [`Unit`]: translated whole (its objectives, composite and alert
//! policies) or skipped with an error at its name. Export writes one
//! `Service` per service and one `SLO` per SLO (inline indicators), plus an
//! `AlertPolicy` with `AlertCondition`s per alert policy.
//!
//! Indicators:
//! - `ratioMetric` (counters): `good`/`bad` over `total`, each a plain
//!   selector or `sum(rate(sel[…]))`; `sum by (l, …)` on both is the SLO's
//!   `group_by` (different groupings are an error).
//! - `thresholdMetric`: OpenSLO counts data points good when `value op
//!   threshold`. How many points a window holds depends on how often the
//!   query is evaluated, which OpenSLO leaves open, so only Timeslices
//!   budgeting with `timeSliceTarget: 1` translates: a slice is good when
//!   every point in it is, a `sli timeslices <timeSliceWindow>` condition.
//!   A plain selector is held by its worst point (`max(sel) <= v` for
//!   `lt`/`lte`, `min(sel) >= v` for `gt`/`gte`). `histogram_quantile(φ,
//!   sum by (le, …) (rate(h_bucket[r])))` is `quantile(φ, h) op v` with `v`
//!   seconds as a duration (whole milliseconds), the other `by` labels the
//!   `group_by`; .slo measures the quantile over the slice, so a range `r`
//!   other than the slice is a warning. Not translated (errors): unsummed
//!   buckets (a quantile per series), `sum without`, a bucket filter on
//!   `le`, `timeSliceTarget` below 1, and Occurrences or RatioTimeslices
//!   (a share of evaluation points is not `sli latency`'s share of
//!   requests; a ratioMetric of the `le` bucket over the count is).

use super::{dur, get, get_str, ident, lit, map_lit, pct, scalar, Imported, Input, Translated, Unit};
use crate::diag::Diagnostic;
use crate::ir;
use crate::source::{SourceMap, Span};
use crate::units::Duration;
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

struct Obj {
    kind: String,
    name: String,
    at: usize,
    v: Value,
}

/// OpenSLO durations: `28d`, `1w`, `1M`, `1Q`, `1Y`, `5m`.
fn duration(s: &str) -> Option<(u64, char)> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u64 = s.strip_suffix(unit)?.parse().ok()?;
    (n > 0 && n < 100_000).then_some((n, unit))
}

/// `timeSliceWindow`: a duration, or a number of minutes.
fn slice_window(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_u64().filter(|m| *m > 0 && *m < 100_000).map(|m| format!("{m}m")),
        v => scalar(v).and_then(|s| slo_duration(&s)),
    }
}

/// `target` (a ratio) or `targetPercent`.
fn target_of(ob: &Value) -> Option<f64> {
    get(ob, "target")
        .and_then(Value::as_f64)
        .or_else(|| get(ob, "targetPercent").and_then(Value::as_f64).map(|p| p / 100.0))
        .filter(|t| *t > 0.0 && *t < 1.0)
}

/// A duration in .slo units (weeks become days); months, quarters and
/// years are calendar-only.
fn slo_duration(s: &str) -> Option<String> {
    let (n, u) = duration(s)?;
    match u {
        's' | 'm' | 'h' | 'd' => Some(format!("{n}{u}")),
        'w' => Some(format!("{}d", n * 7)),
        _ => None,
    }
}

/// The DataSource objects of the input, by name: their `spec.type`
/// (empty when they give none).
type Sources = BTreeMap<String, String>;

/// The Prometheus query of a metric: its `metricSource`'s `spec.query`,
/// of type `Prometheus` given inline or by the DataSource its
/// `metricSourceRef` names (unknown refs were reported by
/// [`unknown_refs`]; the two types, when both are given, must agree).
fn query(v: &Value, sources: &Sources) -> Result<String, String> {
    let ms = get(v, "metricSource").ok_or("no `metricSource`")?;
    let inline = get_str(ms, "type");
    let by_ref = match get_str(ms, "metricSourceRef") {
        Some(r) => match sources.get(&r) {
            Some(t) if t.is_empty() => return Err(format!("the DataSource `{r}` has no `spec.type`")),
            Some(t) => Some((r, t.clone())),
            None => return Err(format!("no DataSource named `{r}`")),
        },
        None => None,
    };
    match (&inline, &by_ref) {
        (Some(i), Some((r, t))) if !i.eq_ignore_ascii_case(t) => {
            return Err(format!("metric source type `{i}`, but its DataSource `{r}` is of type `{t}`"))
        }
        _ => {}
    }
    // With neither a type nor a ref, the query is read as PromQL.
    let t = inline.or_else(|| by_ref.map(|(_, t)| t)).unwrap_or_else(|| "Prometheus".into());
    if !t.eq_ignore_ascii_case("prometheus") {
        return Err(format!("metric source type `{t}`: only Prometheus sources translate"));
    }
    get(ms, "spec").and_then(|s| get_str(s, "query")).ok_or_else(|| "no `spec.query`".to_string())
}

/// Every `metricSourceRef` under `v` (an indicator) that names no
/// DataSource of the input: an error at the ref's value, searched from
/// byte `at` (where the indicator is written).
fn unknown_refs(input: &mut Input, at: usize, v: &Value, sources: &Sources) {
    let mut refs = Vec::new();
    collect_refs(v, &mut refs);
    for r in refs {
        if sources.contains_key(&r) {
            continue;
        }
        let line = input.anchor(at, "metricSourceRef", &r);
        let span = input.key(line, "metricSourceRef");
        let known: Vec<String> = sources.keys().map(|k| format!("`{k}`")).collect();
        let help = if known.is_empty() {
            "add a `kind: DataSource` object of this name (spec.type: Prometheus) to the same file (each file is imported on its own), or give the metric source `type: Prometheus` inline".to_string()
        } else {
            format!("the DataSources imported are {}; name one of them, or add this one", known.join(", "))
        };
        input.diags.push(
            Diagnostic::error(
                "slo::interop::unknown_ref",
                span,
                format!("`metricSourceRef: {r}` names no DataSource"),
                "no DataSource of this name",
            )
            .with_help(help),
        );
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                if k.as_str() == Some("metricSourceRef") {
                    if let Some(r) = scalar(x) {
                        out.push(r);
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// A counter query as an SLI selector: a plain selector, or `sum(rate(…))`
/// (with `sum by (…)`, the labels: the SLO's group_by).
fn counter_selector(q: &str) -> Result<(String, Vec<String>), String> {
    use promql_parser::parser::Expr;
    match crate::goregex::parse_promql(q) {
        Ok(Expr::VectorSelector(vs)) => {
            super::selector_of(&vs).map(|s| (crate::promql::expr::selector(&s, &[]), Vec::new()))
        }
        Ok(_) => super::summed_rate_grouped(q),
        Err(e) => Err(format!("not valid PromQL: {e}")),
    }
}

pub fn import(name: &str, text: &str) -> Imported {
    let mut sources = SourceMap::new();
    let mut input = Input::new(&mut sources, name, text);
    let mut objs: Vec<Obj> = Vec::new();
    for (start, doc) in super::documents(&mut input) {
        // A document may also hold a list of objects.
        let items: Vec<Value> = match doc {
            Value::Sequence(s) => s,
            v => vec![v],
        };
        for v in items {
            let api = get_str(&v, "apiVersion").unwrap_or_default();
            let kind = get_str(&v, "kind").unwrap_or_default();
            let oname = get(&v, "metadata").and_then(|m| get_str(m, "name")).unwrap_or_default();
            let at = if oname.is_empty() { start } else { input.anchor(start, "name", &oname) };
            if api != "openslo/v1" {
                let s = input.key(start, "apiVersion");
                input.invalid(
                    s,
                    format!("`apiVersion: {api}`: only openslo/v1 is read"),
                    "convert v1alpha objects to v1 first (OpenSLO's oslo tool does)",
                );
                continue;
            }
            if oname.is_empty() {
                let s = input.key(start, "kind");
                input.invalid(s, format!("a {kind} without `metadata.name`"), "name every object");
                continue;
            }
            objs.push(Obj { kind, name: oname, at, v });
        }
    }
    let find = |kind: &str, name: &str| objs.iter().find(|o| o.kind == kind && o.name == name);
    let data_sources: Sources = objs
        .iter()
        .filter(|o| o.kind == "DataSource")
        .map(|o| (o.name.clone(), get(&o.v, "spec").and_then(|s| get_str(s, "type")).unwrap_or_default()))
        .collect();
    // One file per service: the Service objects, then services only SLOs name.
    let mut out: BTreeMap<String, Translated> = BTreeMap::new();
    let head = |id: &str, body: &str| {
        format!("// Imported from {name} by `slo import openslo`.\n\nservice {id} {{\n{body}}}\n\n")
    };
    for o in objs.iter().filter(|o| o.kind == "Service") {
        let (id, _) = ident(&o.name);
        let mut t = String::new();
        if let Some(d) = get(&o.v, "spec").and_then(|s| get_str(s, "description")) {
            let _ = writeln!(t, "  description = {}", lit(&d));
        }
        let at = input.key(o.at, "name");
        out.insert(id.clone(), Translated::new(format!("{id}.slo"), at, head(&id, &t)));
    }
    let mut skipped = 0;
    // Alert policies by (service, policy): whether they translated.
    let mut policies_done: BTreeMap<(String, String), bool> = BTreeMap::new();
    for o in objs.iter() {
        match o.kind.as_str() {
            "Service" | "SLI" | "AlertPolicy" | "AlertCondition" | "AlertNotificationTarget" | "DataSource" => continue,
            "SLO" => {}
            other => {
                let s = input.key(o.at, "kind");
                input.warn(
                    s,
                    format!("`{other}` objects are not translated"),
                    "ignored",
                    "this kind has no .slo counterpart",
                );
                continue;
            }
        }
        let before = input.errors();
        let name_at = input.key(o.at, "name");
        let Some(spec) = get(&o.v, "spec") else {
            let s = input.key(o.at, "kind");
            input.invalid(s, format!("SLO `{}` has no spec", o.name), "add the spec");
            input.skipped(name_at, &o.name);
            skipped += 1;
            continue;
        };
        let Some(svc_name) = get_str(spec, "service") else {
            let s = input.key(o.at, "spec");
            input.invalid(s, format!("SLO `{}` names no service", o.name), "add `spec.service`");
            input.skipped(name_at, &o.name);
            skipped += 1;
            continue;
        };
        let (svc, _) = ident(&svc_name);
        let file = out
            .entry(svc.clone())
            .or_insert_with(|| Translated::new(format!("{svc}.slo"), input.key(o.at, "service"), head(&svc, "")));
        let unit: Option<Unit> = 'slo: {
            // `slo export openslo` names SLOs `<service>-<slo>` and displays them as
            // `<service>/<slo>`: the display name gives the SLO's own name back.
            let display = get(&o.v, "metadata").and_then(|m| get_str(m, "displayName"));
            let own = display
                .as_deref()
                .and_then(|d| d.split_once('/'))
                .filter(|(sv, _)| ident(sv).0 == svc)
                .map(|(_, n)| n.to_string());
            let (sid, renamed) = ident(own.as_deref().unwrap_or(&o.name));
            let renamed = renamed && own.is_none();
            if renamed {
                let s = input.key(o.at, "name");
                input.warn(
                    s,
                    format!("SLO `{}` is named `{sid}` in .slo", o.name),
                    "not an identifier",
                    "the `slo` label of the compiled rules is the new name",
                );
            }
            // Window.
            let window = match get(spec, "timeWindow") {
                Some(Value::Sequence(ws)) if !ws.is_empty() => {
                    if ws.len() > 1 {
                        let s = input.key(o.at, "timeWindow");
                        input.error(
                            s,
                            format!("SLO `{}`: several time windows in one SLO", o.name),
                            "one window",
                            "write one SLO per window",
                        );
                    }
                    let w = &ws[0];
                    let d = get_str(w, "duration").unwrap_or_default();
                    // Without `isRolling`, a window is calendar-aligned only when it says `calendar`.
                    let rolling = get(w, "isRolling").and_then(Value::as_bool).unwrap_or(get(w, "calendar").is_none());
                    if !rolling {
                        if let Some(st) = get(w, "calendar").and_then(|c| get_str(c, "startTime")) {
                            let aligned = st.contains("-01 00:00:00") || st.ends_with(" 00:00:00");
                            if !aligned {
                                let s = input.key(o.at, "startTime");
                                input.warn(s, format!("SLO `{}`: calendar periods start at midnight on their calendar boundary, not at `{st}`", o.name), "start time not kept", "the .slo calendar window starts each week on Monday and each month or quarter on its first day, in the zone given");
                            }
                        }
                    }
                    if rolling {
                        slo_duration(&d).ok_or_else(|| {
                            format!("rolling window `{d}`: months, quarters and years are calendar periods")
                        })
                    } else {
                        let tz =
                            get(w, "calendar").and_then(|c| get_str(c, "timeZone")).unwrap_or_else(|| "UTC".into());
                        match duration(&d) {
                            Some((1, 'w')) => Ok(format!("calendar week in {}", lit(&tz))),
                            Some((1, 'M')) => Ok(format!("calendar month in {}", lit(&tz))),
                            Some((1, 'Q')) => Ok(format!("calendar quarter in {}", lit(&tz))),
                            _ => Err(format!("calendar window `{d}`: only 1w, 1M and 1Q calendar periods translate")),
                        }
                    }
                }
                _ => Err("no `timeWindow`".into()),
            };
            let window = match window {
                Ok(w) => w,
                Err(why) => {
                    let s = input.key(o.at, "timeWindow");
                    input.error(
                        s,
                        format!("SLO `{}`: {why}", o.name),
                        "window",
                        "use a rolling duration in m/h/d/w, or a 1w/1M/1Q calendar window",
                    );
                    break 'slo None;
                }
            };
            let budgeting_method = get_str(spec, "budgetingMethod").unwrap_or_else(|| "Occurrences".into());
            // The SLO-level indicator: inline or referenced (with where its keys are).
            let indicator = |holder: &Value| -> Option<(Value, usize)> {
                if let Some(i) = get(holder, "indicator") {
                    return Some((i.clone(), o.at));
                }
                get_str(holder, "indicatorRef").and_then(|r| find("SLI", &r)).map(|s| (s.v.clone(), s.at))
            };
            let slo_ind = indicator(spec);
            let Some(Value::Sequence(objectives)) = get(spec, "objectives") else {
                let s = input.key(o.at, "spec");
                input.invalid(s, format!("SLO `{}` has no objectives", o.name), "add `objectives`");
                break 'slo None;
            };
            // Alert policies.
            let mut text = String::new();
            let mut uses = Vec::new();
            let mut policy_calls = Vec::new();
            for p in get(spec, "alertPolicies").and_then(Value::as_sequence).into_iter().flatten() {
                let (pobj, pname) = match p {
                    Value::String(r) => (find("AlertPolicy", r).map(|x| (x.v.clone(), x.at)), r.clone()),
                    v if get_str(v, "alertPolicyRef").is_some() => {
                        let r = get_str(v, "alertPolicyRef").unwrap_or_default();
                        (find("AlertPolicy", &r).map(|x| (x.v.clone(), x.at)), r)
                    }
                    v => (
                        Some((v.clone(), o.at)),
                        get(v, "metadata").and_then(|m| get_str(m, "name")).unwrap_or_default(),
                    ),
                };
                let Some((pobj, pat)) = pobj else {
                    let s = input.key(o.at, "alertPolicies");
                    input.invalid(
                        s,
                        format!("SLO `{}`: no AlertPolicy named `{pname}`", o.name),
                        "define it in the same file",
                    );
                    continue;
                };
                let (pid, _) = ident(&pname);
                let key = format!("alerts {pid}");
                let done = (svc.clone(), pid.clone());
                if !policies_done.contains_key(&done) {
                    let errors = input.errors();
                    let t = alert_policy(&mut input, pat, &pid, &pobj, &find);
                    policies_done.insert(done.clone(), input.errors() == errors);
                    if let Some(t) = t.filter(|_| input.errors() == errors) {
                        file.shared.push((key.clone(), t));
                    }
                } else if policies_done.get(&done) == Some(&false) {
                    let s = input.key(o.at, "alertPolicies");
                    input.error(
                        s,
                        format!("SLO `{}`: its alert policy `{pname}` does not translate (errors above)", o.name),
                        "alert policy not translated",
                        "fix the alert policy; an SLO is not imported without its alerts",
                    );
                }
                if file.shared.iter().any(|(k, _)| *k == key) {
                    policy_calls.push(format!("{pid}()"));
                    uses.push(key);
                }
            }
            // One .slo SLO per objective; a composite when objectives carry weights and their own indicators.
            let composite = objectives.len() > 1 && objectives.iter().all(|ob| indicator(ob).is_some());
            let mut parts: Vec<(String, f64)> = Vec::new();
            for (k, ob) in objectives.iter().enumerate() {
                let Some(target) = target_of(ob) else {
                    let s = input.key(o.at, "target");
                    input.invalid(
                        s,
                        format!("SLO `{}`: objective {} has no target in (0, 1)", o.name, k + 1),
                        "set `target: 0.999` or `targetPercent: 99.9`",
                    );
                    continue;
                };
                let ind = indicator(ob).or_else(|| slo_ind.clone());
                let Some((ind, ind_at)) = ind else {
                    let s = input.key(o.at, "objectives");
                    input.invalid(s, format!("SLO `{}` has no indicator", o.name), "add `indicator` or `indicatorRef`");
                    continue;
                };
                let oname = if objectives.len() == 1 {
                    sid.clone()
                } else {
                    let dn = get_str(ob, "displayName").map(|d| ident(&d).0).unwrap_or_else(|| format!("{}", k + 1));
                    format!("{sid}_{dn}")
                };
                let slice = get(ob, "timeSliceWindow").and_then(slice_window);
                let budgeting = match budgeting_method.as_str() {
                    "Occurrences" => Ok(None),
                    "Timeslices" => match (slice.as_ref(), get(ob, "timeSliceTarget").and_then(Value::as_f64)) {
                        (Some(w), Some(t)) => Ok(Some(format!("timeslices({w}, {})", pct(t)))),
                        _ => Err("Timeslices needs `timeSliceWindow` and `timeSliceTarget`".to_string()),
                    },
                    "RatioTimeslices" => match slice.as_ref() {
                        Some(w) => Ok(Some(format!("ratio_timeslices({w})"))),
                        None => Err("RatioTimeslices needs `timeSliceWindow`".to_string()),
                    },
                    m => Err(format!("budgeting method `{m}`")),
                };
                let errors = input.errors();
                unknown_refs(&mut input, ind_at, &ind, &data_sources);
                if input.errors() > errors {
                    continue;
                }
                let sli = sli_text(&ind, ob, &budgeting_method, slice.as_deref(), &data_sources);
                let (budgeting, sli) = match (budgeting, sli) {
                    (Ok(b), Ok(s)) => (b, s),
                    (b, s) => {
                        if let Err(why) = b {
                            let s = input.key(o.at, "budgetingMethod");
                            input.error(
                                s,
                                format!("SLO `{}`: {why}", o.name),
                                "not translatable",
                                "use Occurrences, Timeslices or RatioTimeslices with the fields they need",
                            );
                        }
                        if let Err((key, why)) = s {
                            // The objective's keys are the SLO's; the metric's, the indicator's.
                            let on_slo =
                                matches!(key, "budgetingMethod" | "objectives" | "timeSliceTarget" | "op" | "value");
                            let s = input.key(if on_slo { o.at } else { ind_at }, key);
                            let help = match key {
                                "budgetingMethod" | "timeSliceTarget" => THRESHOLD_HELP,
                                _ if why.contains(" groups by (") => "group both queries by the same labels; they become the SLO's group_by",
                                _ => "write this SLI by hand: .slo SLIs are events, latency, gauge or timeslices over Prometheus selectors",
                            };
                            input.error(s, format!("SLO `{}`: {why}", o.name), "not translatable", help);
                        }
                        continue;
                    }
                };
                for note in &sli.notes {
                    let s = input.key(ind_at, "query");
                    input.warn(
                        s,
                        format!("SLO `{}`: {note}", o.name),
                        "translated with a change",
                        "check that the .slo condition means what the query meant",
                    );
                }
                let mut t = format!("slo {oname} for {svc} {{\n");
                if let Some(d) = get_str(spec, "description") {
                    let _ = writeln!(t, "  description = {}", lit(&d));
                }
                let _ = writeln!(t, "  objective = {} over {window}", pct(target));
                if let Some(b) = &budgeting {
                    if !sli.timeslices {
                        let _ = writeln!(t, "  budgeting = {b}");
                    }
                }
                if !sli.group_by.is_empty() {
                    let _ = writeln!(t, "  group_by = [{}]", sli.group_by.join(", "));
                }
                let labels = labels_of(&mut input, o.at, get(&o.v, "metadata").and_then(|m| get(m, "labels")));
                if !labels.is_empty() {
                    let _ = writeln!(t, "  labels = {}", map_lit(&labels));
                }
                t.push_str(&sli.text);
                if !composite && !policy_calls.is_empty() {
                    let _ = writeln!(t, "  alerts = [{}]", policy_calls.join(", "));
                }
                t.push_str("}\n\n");
                text.push_str(&t);
                parts.push((oname, get(ob, "compositeWeight").and_then(Value::as_f64).unwrap_or(1.0)));
            }
            let mut decls: Vec<String> = parts.iter().map(|(n, _)| format!("slo {n}")).collect();
            if composite && parts.len() > 1 {
                let of: Vec<String> = parts.iter().map(|(n, w)| format!("{svc}.{n}: {w}")).collect();
                let target = get(spec, "objectives")
                    .and_then(Value::as_sequence)
                    .and_then(|v| v.first())
                    .and_then(target_of)
                    .unwrap_or(0.99);
                let mut t = format!("slo {sid} for {svc} {{\n  objective = {} over {window}\n", pct(target));
                let _ =
                    writeln!(t, "  sli composite {{\n    combine = weighted\n    of = {{ {} }}\n  }}", of.join(", "));
                if !policy_calls.is_empty() {
                    let _ = writeln!(t, "  alerts = [{}]", policy_calls.join(", "));
                }
                t.push_str("}\n\n");
                text.push_str(&t);
                decls.push(format!("slo {sid}"));
                let s = input.key(o.at, "objectives");
                input.warn(s, format!("SLO `{}`: objectives with their own indicators become component SLOs and a weighted composite `{sid}` (objective of the first)", o.name), "composite", "check the composite's objective: OpenSLO gives each objective its own target");
            } else if objectives.len() > 1 {
                let s = input.key(o.at, "objectives");
                input.warn(
                    s,
                    format!("SLO `{}`: {} objectives become {} SLOs", o.name, objectives.len(), parts.len()),
                    "one SLO per objective",
                    "each has its own budget and alerts in .slo",
                );
            }
            Some(Unit { name: o.name.clone(), at: name_at, text, decls, uses })
        };
        match unit {
            Some(u) if input.errors() == before => file.units.push(u),
            _ => {
                input.skipped(name_at, &o.name);
                file.skipped += 1;
            }
        }
    }
    Imported { files: out.into_values().collect(), diagnostics: input.diags, sources, skipped }
}

/// OpenSLO metadata labels: values are strings or lists of strings.
fn labels_of(input: &mut Input, at: usize, v: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Mapping(m)) = v else { return Vec::new() };
    let mut out = Vec::new();
    for (k, v) in m {
        let Some(k) = scalar(k) else { continue };
        match v {
            Value::Sequence(vs) => {
                let vals: Vec<String> = vs.iter().filter_map(scalar).collect();
                if vals.len() > 1 {
                    let s = input.key(at, &k);
                    input.warn(
                        s,
                        format!("label `{k}` has {} values; .slo labels have one", vals.len()),
                        "joined with commas",
                        "pick one value, or split the label",
                    );
                }
                out.push((k, vals.join(",")));
            }
            v => {
                if let Some(s) = scalar(v) {
                    out.push((k, s));
                }
            }
        }
    }
    out.sort();
    out
}

/// A translated indicator: the SLI's text, the SLO's `group_by` (from
/// `sum by (…)`), and changes worth a warning.
struct SliText {
    text: String,
    group_by: Vec<String>,
    timeslices: bool,
    notes: Vec<String>,
}

/// How a threshold metric translates, for the errors when it does not.
const THRESHOLD_HELP: &str = "use Timeslices budgeting with `timeSliceTarget: 1` (a slice is good when all its points are); for the share of requests faster than a bound, use a ratioMetric: the histogram's `le` bucket over its count";

/// Why an indicator does not translate, and the key to point at.
type SliError = (&'static str, String);

/// The SLI of an indicator (an SLI object or inline `{metadata, spec}`)
/// under one objective and the SLO's budgeting method.
fn sli_text(
    ind: &Value,
    objective: &Value,
    method: &str,
    slice: Option<&str>,
    sources: &Sources,
) -> Result<SliText, SliError> {
    let spec = get(ind, "spec").unwrap_or(ind);
    if let Some(r) = get(spec, "ratioMetric") {
        if get(r, "counter").and_then(Value::as_bool) == Some(false) {
            return Err(("counter", "a ratio of gauges (`counter: false`) has no .slo counterpart".into()));
        }
        if get(r, "raw").is_some() {
            return Err(("raw", "a raw ratio metric has no .slo counterpart".into()));
        }
        let total = get(r, "total").ok_or(("ratioMetric", "a ratio metric without `total`".to_string()))?;
        let (total, total_by) = query(total, sources).and_then(|q| counter_selector(&q)).map_err(|e| ("total", e))?;
        let (which, m) = match (get(r, "good"), get(r, "bad")) {
            (Some(g), None) => ("good", g),
            (None, Some(b)) => ("bad", b),
            _ => return Err(("ratioMetric", "a ratio metric needs exactly one of `good` and `bad`".into())),
        };
        let (sel, by) = query(m, sources).and_then(|q| counter_selector(&q)).map_err(|e| (which, e))?;
        if by != total_by {
            return Err((
                which,
                format!(
                    "the {which} query groups by ({}) but the total query by ({}): group both by the same labels (they become the SLO's group_by)",
                    by.join(", "),
                    total_by.join(", ")
                ),
            ));
        }
        return Ok(SliText {
            text: format!("  sli events {{\n    {which} = {sel}\n    total = {total}\n  }}\n"),
            group_by: by,
            timeslices: false,
            notes: Vec::new(),
        });
    }
    let Some(t) = get(spec, "thresholdMetric") else {
        return Err(("indicator", "the indicator has neither `ratioMetric` nor `thresholdMetric`".into()));
    };
    let q = query(t, sources).map_err(|e| ("thresholdMetric", e))?;
    let parsed = crate::goregex::parse_promql(&q).map_err(|e| ("query", format!("not valid PromQL: {e}")))?;
    let op = get_str(objective, "op");
    let (cmp, value) = match (op.as_deref(), get(objective, "value").and_then(Value::as_f64)) {
        (Some(op @ ("lt" | "lte" | "gt" | "gte")), Some(v)) => (op, v),
        (Some(op), Some(_)) => {
            return Err(("op", format!("threshold objective op `{op}`: expected lt, lte, gt or gte")))
        }
        (None, _) => return Err(("objectives", "a threshold objective without `op`".into())),
        (_, None) => return Err(("objectives", "a threshold objective without a numeric `value`".into())),
    };
    let op = match cmp {
        "lt" => "<",
        "lte" => "<=",
        "gt" => ">",
        _ => ">=",
    };
    // A threshold metric's objective counts good data points: how many a
    // slice or a window holds depends on how often the query is evaluated,
    // which OpenSLO leaves open. Only "every point of a slice is good"
    // (Timeslices with timeSliceTarget 1) is a .slo slice condition.
    if method != "Timeslices" {
        return Err((
            "budgetingMethod",
            format!(
                "a threshold metric under {method} budgeting counts good data points, whose number depends on how often the query is evaluated: .slo has no counterpart"
            ),
        ));
    }
    let slice = slice.ok_or(("objectives", "a threshold metric needs `timeSliceWindow`".to_string()))?;
    if get(objective, "timeSliceTarget").and_then(Value::as_f64).is_some_and(|t| t < 1.0) {
        return Err(("timeSliceTarget", "a threshold metric with `timeSliceTarget` below 1 (a share of good points per slice) has no .slo counterpart: a slice condition holds for the whole slice".into()));
    }
    let mut notes = Vec::new();
    let (cond, group_by) = match quantile_query(&parsed) {
        Some(r) => {
            let (phi, hist, by, range_ms) = r.map_err(|e| ("query", format!("threshold query `{q}`: {e}")))?;
            let ms = (value * 1000.0).round();
            if !(1.0..1e12).contains(&ms) || (ms / 1000.0 - value).abs() > 1e-9 {
                return Err((
                    "value",
                    format!(
                        "the latency bound {value} (seconds) is not a whole number of milliseconds of at least 1ms"
                    ),
                ));
            }
            if crate::units::parse_duration(slice) != Some(range_ms) {
                notes.push(format!(
                    "the quantile is measured over each {slice} slice, not over the query's [{}] range",
                    dur(range_ms)
                ));
            }
            let h = crate::promql::expr::selector(&hist, &[]);
            (format!("quantile({}, {h}) {op} {}", fmt_num(phi), dur(ms as u64)), by)
        }
        None => {
            let sel = match &parsed {
                promql_parser::parser::Expr::VectorSelector(vs) => {
                    super::selector_of(vs).map(|s| crate::promql::expr::selector(&s, &[])).map_err(|e| ("query", e))?
                }
                _ => {
                    return Err((
                        "query",
                        format!("threshold query `{q}`: only a plain selector or `histogram_quantile(φ, sum by (le) (rate(<histogram>_bucket[…])))` translates (as a timeslice condition)"),
                    ))
                }
            };
            // Every point of the slice is good: its worst point is.
            let worst = if op.starts_with('<') { "max" } else { "min" };
            (format!("{worst}({sel}) {op} {value}"), Vec::new())
        }
    };
    Ok(SliText {
        text: format!("  sli timeslices {slice} {{\n    good when {cond}\n  }}\n"),
        group_by,
        timeslices: true,
        notes,
    })
}

/// A number as .slo prints it (`0.99`, never `9.9e-1`).
fn fmt_num(x: f64) -> String {
    let s = format!("{x:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `histogram_quantile(φ, sum by (le, …) (rate(H_bucket[r])))` (or
/// `increase`, or `sum(…) by (le, …)`): φ, the histogram `H`, the labels
/// besides `le` (the SLO's group_by) and `r` in ms. `None` when the query
/// is not a `histogram_quantile`; `Some(Err)` when it is one .slo's
/// `quantile` does not compute.
/// A quantile threshold's query: (φ, bucket selector, `by` labels, range ms).
type QuantileQuery = (f64, ir::Selector, Vec<String>, u64);

fn quantile_query(e: &promql_parser::parser::Expr) -> Option<Result<QuantileQuery, String>> {
    use promql_parser::parser::{Expr, LabelModifier};
    let Expr::Call(c) = super::strip(e) else { return None };
    if c.func.name != "histogram_quantile" {
        return None;
    }
    let quantile = || -> Result<(f64, ir::Selector, Vec<String>, u64), String> {
        let [phi, inner] = c.args.args.as_slice() else {
            return Err("`histogram_quantile` takes two arguments".into());
        };
        let Expr::NumberLiteral(phi) = super::strip(phi) else {
            return Err("the quantile must be a number".into());
        };
        let phi = phi.val;
        if !(phi > 0.0 && phi < 1.0) {
            return Err(format!("the quantile {phi} is not strictly between 0 and 1"));
        }
        let Expr::Aggregate(a) = super::strip(inner) else {
            return Err("the buckets are not summed: that is a quantile per series, and .slo's `quantile` sums the buckets; write `sum by (le) (rate(<histogram>_bucket[…]))`".into());
        };
        if a.op.to_string() != "sum" {
            return Err(format!("the buckets are aggregated with `{}`: .slo's `quantile` sums them", a.op));
        }
        let by = match &a.modifier {
            Some(LabelModifier::Include(l)) if l.labels.iter().any(|x| x == "le") => {
                l.labels.iter().filter(|x| *x != "le").cloned().collect::<Vec<_>>()
            }
            Some(LabelModifier::Exclude(_)) => {
                return Err("`sum without (…)` has no counterpart: sum `by (le, …)` the labels you keep".into())
            }
            _ => return Err("the buckets must be summed `by (le)`, else there is no histogram left".into()),
        };
        let Expr::Call(r) = super::strip(&a.expr) else {
            return Err("expected `rate(<histogram>_bucket[…])` inside `sum`".into());
        };
        if r.func.name != "rate" && r.func.name != "increase" {
            return Err(format!("expected `rate` or `increase` of the buckets, found `{}`", r.func.name));
        }
        let Some(Expr::MatrixSelector(ms)) = r.args.args.first().map(|b| super::strip(b)) else {
            return Err("expected a range selector inside `rate`".into());
        };
        let mut sel = super::selector_of(&ms.vs)?;
        let Some(base) = sel.metric.as_deref().and_then(|m| m.strip_suffix("_bucket")) else {
            return Err("the histogram's buckets are a `…_bucket` series".into());
        };
        sel.metric = Some(base.to_string());
        if sel.matchers.iter().any(|m| m.label == "le") {
            return Err("the buckets are filtered by `le`: the quantile needs all of them".into());
        }
        let range_ms = u64::try_from(ms.range.as_millis()).unwrap_or(u64::MAX);
        Ok((phi, sel, by, range_ms))
    };
    Some(quantile())
}

fn alert_policy<'a>(
    input: &mut Input,
    at: usize,
    pid: &str,
    p: &Value,
    find: &dyn Fn(&str, &str) -> Option<&'a Obj>,
) -> Option<String> {
    let Some(spec) = get(p, "spec") else {
        let s = input.key(at, "alertPolicies");
        input.invalid(s, format!("alert policy `{pid}` has no spec"), "add `spec.conditions`");
        return None;
    };
    if get(spec, "alertWhenBreaching").and_then(Value::as_bool) == Some(false) {
        let s = input.key(at, "alertWhenBreaching");
        input.error(
            s,
            format!("alert policy `{pid}`: `alertWhenBreaching: false` does not alert when the condition holds"),
            "no .slo counterpart",
            "a .slo tier fires when its burn rate is breached; remove the policy from the SLO, or set `alertWhenBreaching: true`",
        );
        return None;
    }
    let targets = get(spec, "notificationTargets").and_then(Value::as_sequence).map_or(0, Vec::len);
    if targets > 1 {
        let s = input.key(at, "notificationTargets");
        input.warn(
            s,
            format!("alert policy `{pid}`: {targets} notification targets; the first becomes the tiers' route"),
            "one route",
            "a .slo tier has one route: route the others in Alertmanager",
        );
    }
    let mut t = format!("alerts {pid}() {{\n");
    let route = get(spec, "notificationTargets")
        .and_then(Value::as_sequence)
        .and_then(|v| v.first())
        .and_then(|n| get_str(n, "targetRef").or_else(|| get(n, "metadata").and_then(|m| get_str(m, "name"))));
    for flag in ["alertWhenNoData", "alertWhenResolved"] {
        if get(spec, flag).and_then(Value::as_bool) == Some(true) {
            let s = input.key(at, flag);
            input.warn(
                s,
                format!("alert policy `{pid}`: `{flag}` is not translated"),
                "dropped",
                "Prometheus alerts fire on data; configure resolved notifications in Alertmanager",
            );
        }
    }
    let mut n = 0;
    for c in get(spec, "conditions").and_then(Value::as_sequence).into_iter().flatten() {
        let (cobj, cname): (Option<Value>, String) = match get_str(c, "conditionRef") {
            Some(r) => (find("AlertCondition", &r).map(|x| x.v.clone()), r),
            None => (Some(c.clone()), get(c, "metadata").and_then(|m| get_str(m, "name")).unwrap_or_default()),
        };
        let Some(cobj) = cobj else {
            let s = input.key(at, "conditions");
            input.invalid(
                s,
                format!("alert policy `{pid}`: no AlertCondition named `{cname}`"),
                "define it in the same file",
            );
            continue;
        };
        let cspec = get(&cobj, "spec").unwrap_or(&cobj);
        let cond = get(cspec, "condition");
        let kind = cond.and_then(|c| get_str(c, "kind")).unwrap_or_default();
        let op = cond.and_then(|c| get_str(c, "op")).unwrap_or_default();
        let threshold = cond.and_then(|c| get(c, "threshold")).and_then(Value::as_f64);
        let lookback = cond.and_then(|c| get_str(c, "lookbackWindow")).and_then(|w| duration(&w));
        let after_text = cond.and_then(|c| get_str(c, "alertAfter"));
        let after = after_text.as_deref().and_then(slo_duration);
        if let (Some(a), None) = (&after_text, &after) {
            let s = input.key(at, "alertAfter");
            input.error(
                s,
                format!("alert condition `{cname}`: `alertAfter: {a}` is not a duration"),
                "not a duration",
                "write it in s, m, h, d or w, like `5m`",
            );
            continue;
        }
        let (Some(threshold), Some((ln, lu))) = (threshold, lookback) else {
            let s = input.key(at, "condition");
            input.error(
                s,
                format!("alert condition `{cname}`: needs `threshold` and `lookbackWindow`"),
                "incomplete",
                "add them",
            );
            continue;
        };
        if kind != "burnrate" || !(op == "gte" || op == "gt") {
            let s = input.key(at, "condition");
            input.error(
                s,
                format!("alert condition `{cname}`: only `kind: burnrate` with `op: gte|gt` translates"),
                "not a burn-rate alert",
                "write the alert as a .slo threshold by hand",
            );
            continue;
        }
        let long_ms = match lu {
            'm' => ln * 60_000,
            'h' => ln * 3_600_000,
            'd' => ln * 86_400_000,
            'w' => ln * 7 * 86_400_000,
            _ => 0,
        }; // `duration` caps n below 100,000: no overflow.
        if long_ms < 12 * 60_000 {
            let s = input.key(at, "lookbackWindow");
            input.error(
                s,
                format!("alert condition `{cname}`: lookback window too short"),
                "under 12m",
                "use a lookback of at least 12m (the short window is 1/12 of it)",
            );
            continue;
        }
        let short = dur(long_ms / 12);
        let sev = get_str(cspec, "severity").unwrap_or_else(|| "page".into()).to_lowercase();
        let severity = if ["page", "ticket", "critical", "warning", "info"].contains(&sev.as_str()) {
            sev.clone()
        } else {
            let s = input.key(at, "severity");
            input.warn(
                s,
                format!("alert condition `{cname}`: severity `{sev}` becomes `page`, with the label openslo_severity=\"{sev}\""),
                "not a .slo severity",
                "a tier's severity is one of page, ticket, critical, warning, info; route on `openslo_severity`, or set one of those",
            );
            "page".into()
        };
        // `fast-burn` → `FastBurn`.
        let tier: String = super::alert_ident(&cname)
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect();
        let _ = writeln!(t, "  tier {tier} {{\n    windows = {} / {short}\n    burn = {}x", dur(long_ms), threshold);
        let _ = writeln!(t, "    severity = {severity}");
        if let Some(a) = after {
            let _ = writeln!(t, "    for = {a}");
        }
        if let Some(r) = &route {
            let _ = writeln!(t, "    route = {}", lit(r));
        }
        if severity != sev {
            let _ = writeln!(t, "    labels = {}", map_lit(&[("openslo_severity".to_string(), sev.clone())]));
        }
        t.push_str("  }\n");
        let s = input.key(at, "lookbackWindow");
        input.warn(
            s,
            format!("alert condition `{cname}`: OpenSLO's one lookback window becomes windows {} / {short}", dur(long_ms)),
            "a short window is added",
            "the short window (1/12 of the long, as in the SRE Workbook) only makes the alert reset sooner; set it by hand if you want another",
        );
        n += 1;
    }
    t.push_str("}\n\n");
    (n > 0).then_some(t)
}

// ---------------------------------------------------------------------
// Export

fn m(pairs: Vec<(&str, Value)>) -> Value {
    let mut map = Mapping::new();
    for (k, v) in pairs {
        map.insert(Value::String(k.into()), v);
    }
    Value::Mapping(map)
}

fn s(x: &str) -> Value {
    Value::String(x.to_string())
}

fn prom(query: String) -> Value {
    m(vec![("metricSource", m(vec![("type", s("Prometheus")), ("spec", m(vec![("query", s(&query))]))]))])
}

use crate::names::openslo_name as dns;

fn duration_text(d: Duration) -> String {
    let ms = d.ms();
    if ms.is_multiple_of(86_400_000) {
        format!("{}d", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", (ms / 1000).max(1))
    }
}

/// Exports a checked program as OpenSLO v1 YAML documents; diagnostics
/// (warnings) say what OpenSLO cannot express.
pub fn export(p: &ir::Program) -> (String, Vec<Diagnostic>) {
    let mut docs: Vec<Value> = Vec::new();
    let mut diags = Vec::new();
    let warn = |diags: &mut Vec<Diagnostic>, span: Span, msg: String, help: &str| {
        diags.push(
            Diagnostic::warning("slo::interop::lossy", span, msg, "not expressible in OpenSLO")
                .with_help(help.to_string()),
        );
    };
    for svc in &p.services {
        let mut spec = vec![];
        if let Some(d) = &svc.description {
            spec.push(("description", s(d)));
        }
        docs.push(m(vec![
            ("apiVersion", s("openslo/v1")),
            ("kind", s("Service")),
            ("metadata", m(vec![("name", s(&dns(&svc.name))), ("displayName", s(&svc.name))])),
            ("spec", m(spec)),
        ]));
    }
    let mut policies: BTreeMap<String, Value> = BTreeMap::new();
    for slo in &p.slos {
        let name = crate::names::openslo_slo(&slo.service, &slo.name);
        let indicator = match &slo.sli {
            ir::Sli::Events { numerator, total } => {
                let t = crate::promql::expr::selector(total, &[]);
                let mut r = vec![("counter", Value::Bool(true))];
                match numerator {
                    ir::EventsNumerator::Good(g) => r.push(("good", prom(crate::promql::expr::selector(g, &[])))),
                    ir::EventsNumerator::Bad(b) => r.push(("bad", prom(crate::promql::expr::selector(b, &[])))),
                }
                r.push(("total", prom(t)));
                Some(m(vec![("ratioMetric", m(r))]))
            }
            ir::Sli::Latency { kind: ir::HistogramKind::Native, .. } => {
                warn(
                    &mut diags,
                    slo.span,
                    format!("{}/{}: a native-histogram latency SLI has no OpenSLO ratio metric", slo.service, slo.name),
                    "OpenSLO's ratioMetric counts good and total events in two series; a native histogram \
                     holds both in one, so this SLO is left out",
                );
                None
            }
            ir::Sli::Latency { histogram, below_seconds, kind: ir::HistogramKind::Classic } => {
                let le = crate::promql::expr::with_suffix(histogram, "_bucket");
                // Any spelling of the bucket bound (`0.25`, `0.250`; `1` or Prometheus 3's `1.0`).
                let good =
                    crate::promql::expr::selector(&le, &[("le", "=~", crate::promql::expr::le_regex(*below_seconds))]);
                let total = crate::promql::expr::selector(&crate::promql::expr::with_suffix(histogram, "_count"), &[]);
                Some(m(vec![(
                    "ratioMetric",
                    m(vec![("counter", Value::Bool(true)), ("good", prom(good)), ("total", prom(total))]),
                )]))
            }
            ir::Sli::Gauge { .. } | ir::Sli::Timeslices { .. } | ir::Sli::Composite { .. } => {
                warn(
                    &mut diags,
                    slo.span,
                    format!("{}/{}: this SLI kind has no OpenSLO ratio or threshold metric", slo.service, slo.name),
                    "OpenSLO exports events and latency SLIs; gauge, timeslices and composite SLOs are left out",
                );
                None
            }
        };
        let Some(indicator) = indicator else { continue };
        let window = match &slo.window {
            ir::Window::Rolling { length } => {
                m(vec![("duration", s(&duration_text(*length))), ("isRolling", Value::Bool(true))])
            }
            ir::Window::Calendar { unit, tz } => m(vec![
                (
                    "duration",
                    s(match unit {
                        ir::CalendarUnit::Week => "1w",
                        ir::CalendarUnit::Month => "1M",
                        ir::CalendarUnit::Quarter => "1Q",
                    }),
                ),
                // A period start: a Monday for weeks, a first of January for months and quarters.
                (
                    "calendar",
                    m(vec![
                        (
                            "startTime",
                            s(if *unit == ir::CalendarUnit::Week {
                                "2020-01-06 00:00:00"
                            } else {
                                "2020-01-01 00:00:00"
                            }),
                        ),
                        ("timeZone", s(tz)),
                    ]),
                ),
                ("isRolling", Value::Bool(false)),
            ]),
        };
        let mut objective = vec![("target", Value::Number(slo.objective.into()))];
        let method = match &slo.budgeting {
            ir::Budgeting::Occurrences => "Occurrences",
            ir::Budgeting::Timeslices { slice, target } => {
                objective.push(("timeSliceTarget", Value::Number((*target).into())));
                objective.push(("timeSliceWindow", s(&duration_text(*slice))));
                "Timeslices"
            }
            ir::Budgeting::RatioTimeslices { slice } => {
                objective.push(("timeSliceWindow", s(&duration_text(*slice))));
                "RatioTimeslices"
            }
        };
        let mut alert_refs = Vec::new();
        for a in &slo.alerts {
            match &a.condition {
                ir::AlertCondition::BurnRate { long, factor, .. } => {
                    // OpenSLO v1 allows one condition per alert policy: one policy per tier,
                    // named after the alert, and its long window where alerts share a name
                    // (imported Sloth tiers).
                    let same: Vec<&ir::Alert> = slo.alerts.iter().filter(|b| b.name == a.name).collect();
                    let same_long = same.iter().filter(|b| b.long_window() == Some(*long)).count();
                    let pname = match (same.len(), same_long) {
                        (1, _) => dns(&format!("{}-{}", name, a.name)),
                        (_, 1) => dns(&format!("{}-{}-{}", name, a.name, duration_text(*long))),
                        _ => {
                            let k = same.iter().position(|b| std::ptr::eq(*b, a)).unwrap_or(0) + 1;
                            dns(&format!("{}-{}-{}-{k}", name, a.name, duration_text(*long)))
                        }
                    };
                    let mut condition = vec![
                        ("kind", s("burnrate")),
                        ("op", s("gte")),
                        ("threshold", Value::Number((*factor).into())),
                        ("lookbackWindow", s(&duration_text(*long))),
                    ];
                    if a.for_ > Duration::default() {
                        condition.push(("alertAfter", s(&duration_text(a.for_))));
                    }
                    let cond = m(vec![
                        ("kind", s("AlertCondition")),
                        ("metadata", m(vec![("name", s(&dns(&a.name)))])),
                        ("spec", m(vec![("severity", s(&a.severity)), ("condition", m(condition))])),
                    ]);
                    let mut spec = vec![
                        ("alertWhenBreaching", Value::Bool(true)),
                        ("alertWhenResolved", Value::Bool(false)),
                        ("alertWhenNoData", Value::Bool(false)),
                        ("conditions", Value::Sequence(vec![cond])),
                    ];
                    if let Some(r) = a.labels.get("receiver") {
                        spec.push(("notificationTargets", Value::Sequence(vec![m(vec![("targetRef", s(r))])])));
                    }
                    policies.insert(
                        pname.clone(),
                        m(vec![
                            ("apiVersion", s("openslo/v1")),
                            ("kind", s("AlertPolicy")),
                            ("metadata", m(vec![("name", s(&pname))])),
                            ("spec", m(spec)),
                        ]),
                    );
                    alert_refs.push(Value::String(pname));
                }
                ir::AlertCondition::Threshold(_) => warn(
                    &mut diags,
                    slo.span,
                    format!(
                        "{}/{}: threshold alert `{}` has no OpenSLO burn-rate condition",
                        slo.service, slo.name, a.name
                    ),
                    "OpenSLO alert conditions are burn rates; the alert is left out",
                ),
            }
        }
        if slo.alerts.iter().any(|a| matches!(a.condition, ir::AlertCondition::BurnRate { .. })) {
            warn(
                &mut diags,
                slo.span,
                format!(
                    "{}/{}: OpenSLO burn-rate conditions have one lookback window; the short windows are dropped",
                    slo.service, slo.name
                ),
                "the exported alerts fire on the long window alone",
            );
        }
        if !slo.group_by.is_empty() {
            warn(
                &mut diags,
                slo.span,
                format!("{}/{}: `group_by` has no OpenSLO counterpart", slo.service, slo.name),
                "the exported SLO covers all groups together",
            );
        }
        if slo.alerts.iter().any(|a| a.min_events.is_some()) {
            warn(
                &mut diags,
                slo.span,
                format!("{}/{}: the `min_events` traffic guard has no OpenSLO counterpart", slo.service, slo.name),
                "the exported alerts have no guard",
            );
        }
        if !slo.policy_rules.is_empty() {
            warn(
                &mut diags,
                slo.span,
                format!("{}/{}: error-budget policies have no OpenSLO counterpart", slo.service, slo.name),
                "they are left out of the export",
            );
        }
        let mut spec = vec![];
        if let Some(d) = &slo.description {
            spec.push(("description", s(d)));
        }
        spec.push(("service", s(&dns(&slo.service))));
        spec.push((
            "indicator",
            m(vec![("metadata", m(vec![("name", s(&format!("{name}-sli")))])), ("spec", indicator)]),
        ));
        spec.push(("timeWindow", Value::Sequence(vec![window])));
        spec.push(("budgetingMethod", s(method)));
        spec.push(("objectives", Value::Sequence(vec![m(objective)])));
        if !alert_refs.is_empty() {
            spec.push(("alertPolicies", Value::Sequence(alert_refs)));
        }
        docs.push(m(vec![
            ("apiVersion", s("openslo/v1")),
            ("kind", s("SLO")),
            ("metadata", m(vec![("name", s(&name)), ("displayName", s(&format!("{}/{}", slo.service, slo.name)))])),
            ("spec", m(spec)),
        ]));
    }
    docs.extend(policies.into_values());
    let mut out = String::new();
    // Through the rule files' scalar writer: every string is quoted unless
    // it reads back as that string in YAML 1.1 and 1.2 readers alike.
    for d in docs {
        crate::promql::yaml::document(&mut out, &d);
    }
    (out, diags)
}
