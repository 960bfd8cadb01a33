//! The Alertmanager backend: [`ir::Program`] → one `alertmanager.yml`,
//! the routing the sources imply for the alerts the Prometheus backend
//! compiles.
//!
//! **What the alerts carry.** Every alert of an SLO has `service`, `slo`
//! and `severity`; a tier or threshold with `route = "x"` and a budget-policy
//! action `notify`/`page`/`ticket "x"` carry `receiver="x"`; a burn-rate
//! tier carries its long window (`long_window="1h"`,
//! [`rules::LONG_WINDOW_LABEL`]); a grouped SLO's alerts carry its `by`
//! labels (see `promql::rules`).
//!
//! **Routes.** One route per receiver the sources name, matched on
//! `receiver` and grouped by `service`, `slo` and every `by` label of the
//! SLOs that send to it (a label an alert lacks groups as empty, so the
//! union is exact for each SLO). Under it, one child per severity class
//! its alerts have, with the class's timing:
//!
//! | class | severities | group_wait | group_interval | repeat_interval |
//! |---|---|---|---|---|
//! | urgent | `page`, `critical` | 30s | 5m | 4h |
//! | slow | `ticket`, `warning`, `info` | 5m | 30m | 24h |
//!
//! (urgent is Alertmanager's own default timing: a page goes out half a
//! minute after the first alert; tickets wait five minutes for their group
//! to fill and repeat once a day.) The receiver routes hang under one
//! route that takes only slo's routed alerts (`slo!=""` and a `receiver`
//! slo names), so every other alert, and slo's alerts without a receiver
//! (freeze, review and postmortem actions, tiers without `route`), go on
//! to the routes after it or to the root's receiver.
//!
//! **Inhibition.** A firing urgent tier silences the slow tiers of the
//! same SLO and group whose long window is longer: one rule per urgent
//! tier window `W` among the sources, source `severity=~"page|critical"`,
//! `long_window="W"`, target `severity=~"ticket|warning|info"`,
//! `long_window=~"<the slow tiers' windows longer than W>"`, equal on
//! `service`, `slo` and every `by` label. Thresholds and budget-policy
//! alerts carry no `long_window` and are never inhibited (a spent budget,
//! which lasts days, must not mute the burn-rate tickets). Neither are the
//! tiers joined into one alert (`join_tiers = true` in their policy, or
//! `slo compile --join-tiers`: they have several long windows, so no
//! `long_window`): a note says so.
//!
//! **Receivers.** Without a base file the config is complete on its own:
//! a root route to the stub receiver `default` and every receiver the
//! sources name as a stub (a name and no notifier: alerts routed there
//! reach no one until it is filled in; the header lists them). With a
//! base (`--alertmanager-config`, an existing `alertmanager.yml`), the base
//! is kept — `global`, `templates`, time intervals, its receivers and its
//! routes — and slo's route goes in as the first child of the root route,
//! its inhibition rules first among the base's; a receiver the sources name
//! that the base lacks is added as a stub (and said in a note). Everything
//! slo adds is marked by the always-true matcher [`MARKER`] (no alert
//! carries a `__` label), so a base that is an earlier output has slo's
//! parts replaced, never duplicated. The base is read and written as YAML
//! data: its comments are not kept.
//!
//! Output is deterministic: receivers, windows and labels are sorted
//! sets, and the base keeps its order.

use crate::error::Error;
use crate::ir;
use crate::promql::rules::LONG_WINDOW_LABEL;
use crate::promql::{Join, OutFile};
use crate::units::Duration;
use serde_yaml_ng::{Mapping, Sequence, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The file this target writes.
pub const FILE: &str = "alertmanager.yml";

/// How the file starts (the generated-file header of every target).
pub const HEADER: &str = crate::promql::HEADER;

/// The matcher on everything slo adds to a config: always true (Prometheus
/// never sends a `__` label), it marks slo's route and inhibition rules so
/// a rerun over an earlier output replaces them.
pub const MARKER: &str = "__slo_compile__=\"\"";

/// The root receiver of a config compiled without a base.
pub const DEFAULT_RECEIVER: &str = "default";

/// Severities whose alerts page, and the rest.
const URGENT: &[&str] = &["page", "critical"];
const SLOW: &[&str] = &["ticket", "warning", "info"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Urgent,
    Slow,
}

impl Class {
    fn of(severity: &str) -> Class {
        if URGENT.contains(&severity) {
            Class::Urgent
        } else {
            Class::Slow
        }
    }

    fn severities(self) -> &'static [&'static str] {
        match self {
            Class::Urgent => URGENT,
            Class::Slow => SLOW,
        }
    }

    /// (group_wait, group_interval, repeat_interval).
    fn timing(self) -> [(&'static str, &'static str); 3] {
        match self {
            Class::Urgent => [("group_wait", "30s"), ("group_interval", "5m"), ("repeat_interval", "4h")],
            Class::Slow => [("group_wait", "5m"), ("group_interval", "30m"), ("repeat_interval", "24h")],
        }
    }
}

/// An existing Alertmanager config slo's routing is merged into.
#[derive(Debug, Clone, PartialEq)]
pub struct Base {
    config: Mapping,
    /// The file's name, for the header.
    name: String,
}

/// Top-level keys of an Alertmanager configuration (0.25 through 0.28).
const TOP_KEYS: &[&str] =
    &["global", "route", "inhibit_rules", "receivers", "templates", "mute_time_intervals", "time_intervals"];

fn not_config(name: &str, why: impl std::fmt::Display) -> Error {
    Error::coded(
        "slo::alertmanager::base",
        format!("{name} is not an Alertmanager configuration: {why}"),
        "give --alertmanager-config an alertmanager.yml with a `route` (with a `receiver`) and `receivers`, as `amtool check-config` accepts",
    )
}

impl Base {
    /// Reads `text` (the file `name`) as an Alertmanager configuration:
    /// a mapping of its top-level keys only, with a root `route` that
    /// names a `receiver`, `receivers` with names, and lists where lists go.
    pub fn parse(text: &str, name: &str) -> Result<Base, Error> {
        let mut v = crate::yamlin::value(text).map_err(|e| not_config(name, e))?;
        v.apply_merge().map_err(|e| not_config(name, e))?;
        let Value::Mapping(config) = v else {
            return Err(not_config(name, "it is not a YAML mapping"));
        };
        for k in config.keys() {
            match k.as_str() {
                Some(k) if TOP_KEYS.contains(&k) => {}
                Some(k) => {
                    return Err(not_config(
                        name,
                        format!(
                            "it has the key `{}`, which Alertmanager does not know{}",
                            crate::term::sanitize(k),
                            if k == "groups" { " (is it a Prometheus rule file?)" } else { "" }
                        ),
                    ))
                }
                None => return Err(not_config(name, "a top-level key is not a string")),
            }
        }
        let route = config.get("route").ok_or_else(|| not_config(name, "it has no `route`"))?;
        let Value::Mapping(route) = route else { return Err(not_config(name, "`route` is not a mapping")) };
        if !route.get("receiver").is_some_and(Value::is_string) {
            return Err(not_config(name, "the root `route` names no `receiver`"));
        }
        if route.get("routes").is_some_and(|r| !r.is_sequence() && !r.is_null()) {
            return Err(not_config(name, "`route.routes` is not a list"));
        }
        for key in ["receivers", "inhibit_rules"] {
            if config.get(key).is_some_and(|r| !r.is_sequence() && !r.is_null()) {
                return Err(not_config(name, format!("`{key}` is not a list")));
            }
        }
        for r in config.get("receivers").and_then(Value::as_sequence).into_iter().flatten() {
            if !r.get("name").is_some_and(Value::is_string) {
                return Err(not_config(name, "a receiver has no `name`"));
            }
        }
        Ok(Base { config, name: name.to_string() })
    }
}

/// The generated file, and what a user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub file: OutFile,
    /// Receivers added as stubs, one note each (merged configs only), and
    /// where tiers are joined one note on their missing inhibition.
    pub notes: Vec<String>,
}

/// What the sources route: per receiver, its severity classes and the
/// grouping labels of the SLOs sending to it; the windows of the urgent
/// and slow tiers; every grouping label of an SLO with tiers.
#[derive(Debug, Default)]
struct Routing {
    receivers: BTreeMap<String, (BTreeSet<Class>, BTreeSet<String>)>,
    tier_windows: BTreeMap<Class, BTreeSet<Duration>>,
    tier_by: BTreeSet<String>,
}

/// `join`: which tiers the alerts were compiled joined (those of policies
/// with `join_tiers = true`, or all with `--join-tiers`): the tiers of
/// [`rules::joined_tiers`] carry no `long_window` and take no part in
/// inhibition. Also returns how many SLOs have such tiers.
fn routing(program: &ir::Program, join: Join) -> (Routing, usize) {
    let mut r = Routing::default();
    let mut joined_slos = 0;
    for slo in &program.slos {
        let joined: Vec<usize> = crate::promql::rules::joined_tiers(slo, join).concat();
        joined_slos += usize::from(!joined.is_empty());
        let mut send = |receiver: Option<&String>, severity: &str| {
            // An empty receiver never gets here (sema's slo::alert::receiver).
            if let Some(name) = receiver.filter(|n| !n.is_empty()) {
                let (classes, by) = r.receivers.entry(name.clone()).or_default();
                classes.insert(Class::of(severity));
                by.extend(slo.group_by.iter().cloned());
            }
        };
        for a in &slo.alerts {
            send(a.labels.get("receiver"), &a.severity);
        }
        for p in &slo.policy_rules {
            for action in &p.actions {
                let target = match action.kind {
                    ir::ActionKind::Notify | ir::ActionKind::Page | ir::ActionKind::Ticket => action.target.as_ref(),
                    ir::ActionKind::Freeze | ir::ActionKind::Review | ir::ActionKind::Postmortem => None,
                };
                send(target, &p.severity);
            }
        }
        for (i, a) in slo.alerts.iter().enumerate() {
            match &a.condition {
                ir::AlertCondition::BurnRate { .. } if joined.contains(&i) => {}
                ir::AlertCondition::BurnRate { long, .. } => {
                    r.tier_windows.entry(Class::of(&a.severity)).or_default().insert(*long);
                    r.tier_by.extend(slo.group_by.iter().cloned());
                }
                ir::AlertCondition::Threshold(_) => {}
            }
        }
    }
    (r, joined_slos)
}

/// `name op "value"` as Alertmanager parses a matcher (`\`, `"` and
/// newlines escaped inside the quotes).
fn matcher(name: &str, op: &str, value: &str) -> Value {
    let mut s = String::with_capacity(name.len() + value.len() + 4);
    s.push_str(name);
    s.push_str(op);
    s.push('"');
    crate::metrics::export::escape(value, &mut s);
    s.push('"');
    Value::String(s)
}

/// Go's `regexp.QuoteMeta`: `s` as a regex that matches `s` literally.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A regex matcher for any of `values`, literally.
fn any_of<'a>(name: &str, values: impl IntoIterator<Item = &'a str>) -> Value {
    let alternatives: Vec<String> = values.into_iter().map(quote_meta).collect();
    matcher(name, "=~", &alternatives.join("|"))
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Sequence(items.into_iter().map(|s| Value::String(s.to_string())).collect())
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Mapping {
    entries.into_iter().map(|(k, v)| (Value::String(k.to_string()), v)).collect()
}

/// slo's route: one child per receiver, `None` when the sources route
/// nothing.
fn route(r: &Routing) -> Option<Value> {
    if r.receivers.is_empty() {
        return None;
    }
    let children: Sequence = r
        .receivers
        .iter()
        .map(|(name, (classes, by))| {
            let group_by: Vec<&str> = ["service", "slo"].into_iter().chain(by.iter().map(String::as_str)).collect();
            let classes: Sequence = classes
                .iter()
                .map(|c| {
                    let mut m = map([("matchers", Value::Sequence(vec![any_of("severity", c.severities().to_vec())]))]);
                    for (k, v) in c.timing() {
                        m.insert(k.into(), v.into());
                    }
                    Value::Mapping(m)
                })
                .collect();
            Value::Mapping(map([
                ("receiver", Value::String(name.clone())),
                ("matchers", Value::Sequence(vec![matcher("receiver", "=", name)])),
                ("group_by", strings(group_by)),
                ("routes", Value::Sequence(classes)),
            ]))
        })
        .collect();
    Some(Value::Mapping(map([
        (
            "matchers",
            Value::Sequence(vec![
                Value::String(MARKER.into()),
                matcher("slo", "!=", ""),
                any_of("receiver", r.receivers.keys().map(String::as_str)),
            ]),
        ),
        ("routes", Value::Sequence(children)),
    ])))
}

/// slo's inhibition rules: an urgent tier silences the slow tiers with
/// longer windows of the same SLO and group.
fn inhibit_rules(r: &Routing) -> Sequence {
    let none = BTreeSet::new();
    let urgent = r.tier_windows.get(&Class::Urgent).unwrap_or(&none);
    let slow = r.tier_windows.get(&Class::Slow).unwrap_or(&none);
    let equal: Vec<&str> = ["service", "slo"].into_iter().chain(r.tier_by.iter().map(String::as_str)).collect();
    urgent
        .iter()
        .filter_map(|w| {
            let longer: Vec<String> = slow.range(*w..).filter(|s| *s > w).map(Duration::to_string).collect();
            if longer.is_empty() {
                return None;
            }
            Some(Value::Mapping(map([
                (
                    "source_matchers",
                    Value::Sequence(vec![
                        Value::String(MARKER.into()),
                        any_of("severity", URGENT.to_vec()),
                        matcher(LONG_WINDOW_LABEL, "=", &w.to_string()),
                    ]),
                ),
                (
                    "target_matchers",
                    Value::Sequence(vec![
                        any_of("severity", SLOW.to_vec()),
                        any_of(LONG_WINDOW_LABEL, longer.iter().map(String::as_str)),
                    ]),
                ),
                ("equal", strings(equal.iter().copied())),
            ])))
        })
        .collect()
}

/// Whether a route or an inhibition rule is slo's (carries [`MARKER`]).
fn ours(item: &Value, key: &str) -> bool {
    item.get(key).and_then(Value::as_sequence).is_some_and(|m| m.iter().any(|x| x.as_str() == Some(MARKER)))
}

/// The config without a base: a root route to [`DEFAULT_RECEIVER`].
fn stub_base() -> Mapping {
    map([
        (
            "route",
            Value::Mapping(map([("receiver", DEFAULT_RECEIVER.into()), ("group_by", strings(["service", "slo"]))])),
        ),
        ("receivers", Value::Sequence(vec![Value::Mapping(map([("name", DEFAULT_RECEIVER.into())]))])),
    ])
}

/// The Alertmanager configuration of `program`: standalone with stub
/// receivers, or merged into `base` (see the module doc).
pub fn config(program: &ir::Program, base: Option<&Base>, join: Join) -> Output {
    let (r, joined_slos) = routing(program, join);
    let merged = base.is_some();
    let mut config = base.map_or_else(stub_base, |b| b.config.clone());
    let mut stubs: Vec<&str> = Vec::new();
    let mut notes = Vec::new();
    if joined_slos > 0 {
        notes.push(format!(
            "[slo::alertmanager::joined] the joined tiers of {joined_slos} SLO(s) (`join_tiers = true` in their alert policy, or --join-tiers) carry no `long_window`: no inhibition rule covers them, so a page does not silence the ticket of the same SLO (drop `join_tiers` from the policy and compile without --join-tiers for that)"
        ));
    }

    // Receivers: the base's as they are, then a stub for each one missing.
    let receivers = config.entry("receivers".into()).or_insert(Value::Sequence(Vec::new()));
    if receivers.is_null() {
        *receivers = Value::Sequence(Vec::new());
    }
    if let Value::Sequence(list) = receivers {
        let have: BTreeSet<String> =
            list.iter().filter_map(|x| x.get("name").and_then(Value::as_str)).map(str::to_string).collect();
        if !merged {
            stubs.push(DEFAULT_RECEIVER);
        }
        for name in r.receivers.keys() {
            if !have.contains(name) {
                list.push(Value::Mapping(map([("name", Value::String(name.clone()))])));
                stubs.push(name);
                if merged {
                    notes.push(format!(
                        "receiver `{}` is not in {}: added as a stub, which notifies no one until you configure it",
                        crate::term::sanitize(name),
                        base.map_or("", |b| b.name.as_str())
                    ));
                }
            }
        }
    }

    // slo's route first under the root, replacing an earlier one.
    if let Some(Value::Mapping(root)) = config.get_mut("route") {
        let routes = root.entry("routes".into()).or_insert(Value::Sequence(Vec::new()));
        if routes.is_null() {
            *routes = Value::Sequence(Vec::new());
        }
        if let Value::Sequence(list) = routes {
            list.retain(|x| !ours(x, "matchers"));
            if let Some(mine) = route(&r) {
                list.insert(0, mine);
            }
            if list.is_empty() {
                root.shift_remove("routes");
            }
        }
    }

    // slo's inhibition rules first, replacing earlier ones; a new list goes
    // before the receivers.
    let mine = inhibit_rules(&r);
    let theirs: Sequence = match config.get("inhibit_rules") {
        Some(Value::Sequence(list)) => list.iter().filter(|x| !ours(x, "source_matchers")).cloned().collect(),
        _ => Vec::new(),
    };
    let all = Value::Sequence(mine.into_iter().chain(theirs).collect());
    if let Some(v) = config.get_mut("inhibit_rules") {
        *v = all;
    } else if all.as_sequence().is_some_and(|l| !l.is_empty()) {
        let mut all = Some(all);
        let mut with = Mapping::with_capacity(config.len() + 1);
        for (k, v) in std::mem::take(&mut config) {
            if k.as_str() == Some("receivers") {
                if let Some(all) = all.take() {
                    with.insert("inhibit_rules".into(), all);
                }
            }
            with.insert(k, v);
        }
        if let Some(all) = all {
            with.insert("inhibit_rules".into(), all);
        }
        config = with;
    }

    let mut text = String::from(HEADER);
    match base {
        Some(b) => text.push_str(&format!(
            "# {} with slo's routing merged in: the first route under the root and the first inhibit_rules (each marked by the matcher {MARKER}).\n",
            one_line(&b.name)
        )),
        None => text.push_str(
            "# Routes and inhibition rules for the alerts slo compiles; merge into your own config with --alertmanager-config.\n",
        ),
    }
    if !stubs.is_empty() {
        let names: Vec<String> = stubs.iter().map(|s| one_line(s)).collect();
        text.push_str(&format!(
            "# Receivers added as stubs, which notify no one until you configure them: {}\n",
            names.join(", ")
        ));
    }
    text.push_str(&serde_yaml_ng::to_string(&Value::Mapping(config)).expect("YAML values serialize"));
    Output { file: OutFile { path: FILE.into(), contents: text }, notes }
}

/// `s` fit for a comment line.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str) -> ir::Program {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.slo");
        std::fs::write(&p, src).unwrap();
        let loaded = crate::driver::load(&[p], dir.path()).expect("load");
        let (program, diags) = crate::driver::check(&loaded);
        assert!(!diags.has_errors(), "{diags:?}");
        program
    }

    const SRC: &str = r#"
import std.alerting.{google_28d}
service api { owner = "sre" }
slo availability for api {
  objective = 99.9% over 28d
  sli events {
    bad = http_requests_total{job="api", code=~"5.."}
    total = http_requests_total{job="api"}
  }
  group_by = ["region"]
  alerts = google_28d(page_to: "pager\"duty", ticket_to: "jira.sre")
}
"#;

    fn yaml(o: &Output) -> Value {
        serde_yaml_ng::from_str(&o.file.contents).unwrap()
    }

    /// Sloth's shape: a severity's tiers share their alert name.
    const JOINABLE: &str = r#"
alerts burn {
  tier Page1h {
    alert = "Burn"
    windows = 1h / 5m
    burn = 2% of budget
    severity = page
    route = "pager"
  }
  tier Page6h {
    alert = "Burn"
    windows = 6h / 30m
    burn = 5% of budget
    severity = page
    route = "pager"
  }
  tier Ticket1d {
    alert = "Burn"
    windows = 1d / 2h
    burn = 10% of budget
    severity = ticket
    route = "jira"
  }
  tier Ticket3d {
    alert = "Burn"
    windows = 3d / 6h
    burn = 10% of budget
    severity = ticket
    route = "jira"
  }
}
service api { owner = "sre" }
slo availability for api {
  objective = 99.9% over 30d
  sli events {
    bad = http_requests_total{job="api", code=~"5.."}
    total = http_requests_total{job="api"}
  }
  alerts = burn()
}
"#;

    #[test]
    fn joined_tiers_route_alike_but_take_no_part_in_inhibition() {
        let plain = config(&program(JOINABLE), None, Join::AsWritten);
        assert_eq!(yaml(&plain)["inhibit_rules"].as_sequence().map(Vec::len), Some(2), "{}", plain.file.contents);
        assert!(plain.notes.is_empty());
        let o = config(&program(JOINABLE), None, Join::All);
        let v = yaml(&o);
        // The same receivers and classes: severity and `receiver` stay on the joined alerts.
        assert_eq!(v["route"], yaml(&plain)["route"]);
        // The two pages and the two tickets are joined: no `long_window` to inhibit on.
        assert!(v.get("inhibit_rules").is_none_or(|r| r.as_sequence().is_some_and(Vec::is_empty)), "{v:?}");
        assert_eq!(o.notes.len(), 1);
        assert!(o.notes[0].contains("slo::alertmanager::joined") && o.notes[0].contains("1 SLO(s)"), "{:?}", o.notes);
    }

    #[test]
    fn matchers_escape_quotes_and_regexes_quote_meta() {
        assert_eq!(matcher("receiver", "=", "a\"b\\c\nd"), Value::String("receiver=\"a\\\"b\\\\c\\nd\"".into()));
        assert_eq!(any_of("r", ["a.b", "c|d"]), Value::String("r=~\"a\\\\.b|c\\\\|d\"".into()));
    }

    #[test]
    fn standalone_config_routes_each_receiver_and_inhibits_slower_tiers() {
        let o = config(&program(SRC), None, Join::AsWritten);
        let v = yaml(&o);
        assert_eq!(v["route"]["receiver"], "default");
        let slo_route = &v["route"]["routes"][0];
        assert!(ours(slo_route, "matchers"));
        let names: Vec<&str> =
            slo_route["routes"].as_sequence().unwrap().iter().map(|r| r["receiver"].as_str().unwrap()).collect();
        assert_eq!(names, ["jira.sre", "pager\"duty"]);
        assert_eq!(slo_route["routes"][0]["group_by"], strings(["service", "slo", "region"]));
        assert_eq!(slo_route["routes"][1]["routes"][0]["group_wait"], "30s");
        assert_eq!(slo_route["routes"][0]["routes"][0]["group_wait"], "5m");
        // google_28d: pages over 1h and 6h, tickets over 1d and 3d.
        let rules = v["inhibit_rules"].as_sequence().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["source_matchers"][2], "long_window=\"1h\"");
        assert_eq!(rules[0]["target_matchers"][1], "long_window=~\"1d|3d\"");
        assert_eq!(rules[1]["source_matchers"][2], "long_window=\"6h\"");
        assert_eq!(rules[0]["equal"], strings(["service", "slo", "region"]));
        let receivers: Vec<&str> =
            v["receivers"].as_sequence().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(receivers, ["default", "jira.sre", "pager\"duty"]);
        assert!(o.file.contents.contains("stubs, which notify no one until you configure them: default, jira.sre"));
        assert!(o.notes.is_empty());
    }

    const BASE: &str = r#"
global:
  resolve_timeout: 5m
templates: [/etc/alertmanager/*.tmpl]
route:
  receiver: team-mail
  routes:
    - matchers: [team="db"]
      receiver: dba
inhibit_rules:
  - source_matchers: [alertname="ClusterDown"]
    target_matchers: [alertname="InstanceDown"]
    equal: [cluster]
receivers:
  - name: team-mail
    email_configs: [{to: team@example.com}]
  - name: dba
  - name: jira.sre
    webhook_configs: [{url: "http://jira.example/hook"}]
"#;

    #[test]
    fn merging_keeps_the_base_and_adds_only_missing_receivers() {
        let base = Base::parse(BASE, "base.yml").unwrap();
        let o = config(&program(SRC), Some(&base), Join::AsWritten);
        let v = yaml(&o);
        assert_eq!(v["global"]["resolve_timeout"], "5m");
        assert_eq!(v["templates"][0], "/etc/alertmanager/*.tmpl");
        assert_eq!(v["route"]["receiver"], "team-mail");
        let routes = v["route"]["routes"].as_sequence().unwrap();
        assert_eq!(routes.len(), 2);
        assert!(ours(&routes[0], "matchers"));
        assert_eq!(routes[1]["receiver"], "dba");
        let inhibit = v["inhibit_rules"].as_sequence().unwrap();
        assert_eq!(inhibit.len(), 3);
        assert_eq!(inhibit[2]["equal"][0], "cluster");
        let receivers = v["receivers"].as_sequence().unwrap();
        // The user's jira.sre is kept as it is; pager"duty is a new stub.
        assert_eq!(receivers[2]["webhook_configs"][0]["url"], "http://jira.example/hook");
        assert_eq!(receivers[3], Value::Mapping(map([("name", "pager\"duty".into())])));
        assert_eq!(receivers.len(), 4);
        assert_eq!(o.notes.len(), 1);
        assert!(o.notes[0].contains("pager\"duty") && o.notes[0].contains("base.yml"));
    }

    #[test]
    fn merging_an_earlier_output_replaces_slos_parts() {
        let p = program(SRC);
        let base = Base::parse(BASE, "base.yml").unwrap();
        let once = config(&p, Some(&base), Join::AsWritten);
        let again = config(&p, Some(&Base::parse(&once.file.contents, "base.yml").unwrap()), Join::AsWritten);
        // The same config; only the header differs (no stub is missing now).
        let body = |o: &Output| o.file.contents.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&once), body(&again));
        assert!(!again.file.contents.contains("stubs") && again.notes.is_empty());
        // With other sources, slo's old route and rules are gone, the user's stay.
        let none = program("service api { owner = \"sre\" }\n");
        let v = yaml(&config(&none, Some(&Base::parse(&once.file.contents, "base.yml").unwrap()), Join::AsWritten));
        assert_eq!(v["route"]["routes"].as_sequence().unwrap().len(), 1);
        assert_eq!(v["inhibit_rules"].as_sequence().unwrap().len(), 1);
        // ...and the stub it added earlier is now the user's receiver.
        assert_eq!(v["receivers"].as_sequence().unwrap().len(), 4);
    }

    #[test]
    fn a_base_that_is_no_alertmanager_config_is_refused() {
        for (text, why) in [
            ("groups: []\n", "Prometheus rule file"),
            ("- a\n", "not a YAML mapping"),
            ("receivers: []\n", "no `route`"),
            ("route: {group_by: [a]}\n", "names no `receiver`"),
            ("route: {receiver: a, routes: {}}\n", "`route.routes` is not a list"),
            ("route: {receiver: a}\nreceivers: [{email_configs: []}]\n", "a receiver has no `name`"),
            ("route: {receiver: a}\ninhibit_rules: 3\n", "`inhibit_rules` is not a list"),
            ("route: [\n", "while parsing"),
        ] {
            let e = Base::parse(text, "b.yml").unwrap_err();
            assert_eq!(e.code, "slo::alertmanager::base");
            assert!(e.message.contains(why), "{text:?}: {}", e.message);
        }
    }
}
