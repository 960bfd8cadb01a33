//! Every name `slo` generates for deployment, in one place.
//!
//! The backends name their files and objects with these functions, and
//! `slo check` ([`crate::sema::names`]) calls the very same ones through
//! [`for_service`] and [`for_slo`] to find, before anything is written,
//! two declarations that would be deployed under one name (services `Api`
//! and `api` both become the PrometheusRule `slo-api`: deploying one
//! overwrites the other) and names a target cannot take (a file name over
//! 255 bytes or named like a Windows device, a Kubernetes name that is not
//! a DNS-1123 subdomain).
//!
//! | name | from | where it must be unique | compared |
//! |---|---|---|---|
//! | rule file `<service>.rules.yml` (prometheus, vmalert) / `<service>.yaml` (prometheus-operator, mimir, vmrule) | [`rule_file`] | the output directory | ignoring case (macOS and Windows file systems fold case) |
//! | dashboard file `<service>.dashboard.json` | [`dashboard_file`] | the output directory | ignoring case |
//! | PrometheusRule / VMRule `slo-<service>` | [`k8s_name`] | a Kubernetes namespace | exactly (already lower case) |
//! | Mimir ruler namespace `slo-<service>` | [`mimir_namespace`] | a Mimir tenant | exactly |
//! | Grafana dashboard uid | [`dashboard_uid`] | a Grafana organisation | ignoring case (Grafana on MySQL compares uids case-insensitively, grafana/grafana#56471) |
//! | Grafana dashboard title `SLOs / <service>` | [`dashboard_title`] | a Grafana folder | ignoring case (same collation) |
//! | rule group `slo/<service>/<slo>` | [`rule_group`] | a rule file / Mimir namespace | exactly |
//! | recorded series identity `{service, slo}` | [`series_identity`] | a Prometheus / Mimir tenant | exactly |
//! | OpenSLO Service `<service>`, SLO `<service>-<slo>` (`slo export openslo`) | [`openslo_name`], [`openslo_slo`] | an OpenSLO document set | exactly (already lower case) |
//!
//! It also validates the Kubernetes names the user passes to `compile`
//! (`--namespace`, `--label`): [`k8s_namespace_problem`],
//! [`k8s_label_problem`].

use crate::promql::Target;

/// Longest file name (bytes, extension included) of ext4, APFS, NTFS.
pub(crate) const MAX_FILE_NAME: usize = 255;
/// Longest Kubernetes object name (a DNS-1123 subdomain).
pub(crate) const MAX_K8S_NAME: usize = 253;
/// Longest Grafana dashboard uid.
pub(crate) const MAX_GRAFANA_UID: usize = 40;

/// The rule file of a service for a Prometheus-family target.
pub(crate) fn rule_file(target: Target, service: &str) -> String {
    match target {
        Target::Prometheus | Target::Vmalert => format!("{service}.rules.yml"),
        Target::PrometheusOperator | Target::Mimir | Target::VmRule => format!("{service}.yaml"),
    }
}

/// The `slo doc` catalogue page of a service. The catalogue's index is
/// `README.md`, which no `<service>.service.md` can be; names that differ
/// only in case already collide as rule files.
pub(crate) fn doc_file(service: &str) -> String {
    format!("{service}.service.md")
}

/// The Grafana dashboard file of a service.
pub(crate) fn dashboard_file(service: &str) -> String {
    format!("{service}.dashboard.json")
}

/// A Kubernetes object name from a service name (`lead_processing` →
/// `slo-lead-processing`): the PrometheusRule's `metadata.name`.
pub(crate) fn k8s_name(service: &str) -> String {
    format!("slo-{}", service.to_ascii_lowercase().replace('_', "-"))
}

/// The Mimir ruler namespace of a service (the PrometheusRule's name).
pub(crate) fn mimir_namespace(service: &str) -> String {
    k8s_name(service)
}

/// The rule group of an SLO.
pub(crate) fn rule_group(service: &str, slo: &str) -> String {
    format!("slo/{service}/{slo}")
}

/// The labels that tell one SLO's recorded series from another's
/// (every other label of a recorded series is the SLO's own).
pub(crate) fn series_identity<'a>(service: &'a str, slo: &'a str) -> [(&'static str, &'a str); 2] {
    [("service", service), ("slo", slo)]
}

/// The Grafana dashboard title of a service.
pub(crate) fn dashboard_title(service: &str) -> String {
    format!("SLOs / {service}")
}

/// A Grafana uid (8–40 of `[A-Za-z0-9_-]`): `slo-<service>` when that
/// fits, else a prefix and a hash of the name.
pub(crate) fn dashboard_uid(service: &str) -> String {
    let clean: String =
        service.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' }).collect();
    let plain = format!("slo-{clean}");
    if (8..=MAX_GRAFANA_UID).contains(&plain.len()) && clean == service {
        return plain;
    }
    // FNV-1a: stable across runs and platforms.
    let hash = service.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193));
    let prefix: String = clean.chars().take(26).collect();
    format!("slo-{prefix}-{hash:08x}")
}

/// An OpenSLO `metadata.name`: lower case, every other character `-`.
pub(crate) fn openslo_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

/// The OpenSLO name of an SLO.
pub(crate) fn openslo_slo(service: &str, slo: &str) -> String {
    openslo_name(&format!("{service}-{slo}"))
}

/// How two generated names are compared for a collision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Exact,
    /// ASCII case folded: file systems and MySQL collations that fold case.
    IgnoringCase,
}

/// What a name must satisfy where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No limit of its own.
    Any,
    /// A file name: at most [`MAX_FILE_NAME`] bytes.
    FileName,
    /// A Kubernetes object name: a DNS-1123 subdomain of at most [`MAX_K8S_NAME`].
    K8sName,
    /// A Grafana uid: at most [`MAX_GRAFANA_UID`] characters.
    GrafanaUid,
}

/// One name a declaration generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// What it names, for messages: "PrometheusRule name (prometheus-operator)".
    pub what: &'static str,
    pub name: String,
    pub compare: Compare,
    pub rule: Rule,
}

impl Generated {
    /// The key collisions are found on.
    pub fn key(&self) -> String {
        match self.compare {
            Compare::Exact => self.name.clone(),
            Compare::IgnoringCase => self.name.to_ascii_lowercase(),
        }
    }

    /// Why the name cannot be used where it goes, if it cannot.
    pub(crate) fn problem(&self) -> Option<Problem> {
        match self.rule {
            Rule::Any => None,
            Rule::FileName if self.name.len() > MAX_FILE_NAME => Some(Problem::TooLong(format!(
                "{} bytes, over the {MAX_FILE_NAME} file systems allow",
                self.name.len()
            ))),
            Rule::FileName => windows_reserved(&self.name).map(Problem::Invalid),
            Rule::K8sName if self.name.len() > MAX_K8S_NAME => Some(Problem::TooLong(format!(
                "{} characters, over the {MAX_K8S_NAME} Kubernetes allows",
                self.name.len()
            ))),
            Rule::K8sName => dns1123_subdomain_problem(&self.name).map(|why| {
                Problem::Invalid(format!(
                    "not a Kubernetes name: {why} (lower-case letters, digits, `-` and `.`; `_` becomes `-`)"
                ))
            }),
            Rule::GrafanaUid => (self.name.chars().count() > MAX_GRAFANA_UID).then(|| {
                Problem::TooLong(format!("{} characters, over Grafana's {MAX_GRAFANA_UID}", self.name.chars().count()))
            }),
        }
    }
}

/// Why a generated name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Over a length limit (a shorter name fits).
    TooLong(String),
    /// Not a valid name there, whatever its length.
    Invalid(String),
}

/// Windows reserves these device names as file names, whatever the
/// extension (`con.rules.yml` cannot be created).
const WINDOWS_DEVICES: [&str; 24] = [
    "con", "prn", "aux", "nul", "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "lpt0",
    "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Why `file` cannot be a file name on Windows, if its stem is a device.
fn windows_reserved(file: &str) -> Option<String> {
    let stem = file.split('.').next().unwrap_or(file);
    WINDOWS_DEVICES.iter().any(|d| d.eq_ignore_ascii_case(stem)).then(|| {
        format!("`{stem}` is a device name on Windows, whatever the extension: no such file can be created there")
    })
}

/// Every name a service generates, for every target.
pub(crate) fn for_service(service: &str) -> Vec<Generated> {
    let g = |what, name, compare, rule| Generated { what, name, compare, rule };
    vec![
        g(
            "rule file (prometheus, vmalert)",
            rule_file(Target::Prometheus, service),
            Compare::IgnoringCase,
            Rule::FileName,
        ),
        g(
            "rule file (prometheus-operator, mimir, vmrule)",
            rule_file(Target::Mimir, service),
            Compare::IgnoringCase,
            Rule::FileName,
        ),
        g("dashboard file (grafana)", dashboard_file(service), Compare::IgnoringCase, Rule::FileName),
        g(
            "PrometheusRule / VMRule name (prometheus-operator, vmrule)",
            k8s_name(service),
            Compare::Exact,
            Rule::K8sName,
        ),
        g("ruler namespace (mimir)", mimir_namespace(service), Compare::Exact, Rule::Any),
        g("dashboard uid (grafana)", dashboard_uid(service), Compare::IgnoringCase, Rule::GrafanaUid),
        g("dashboard title (grafana)", dashboard_title(service), Compare::IgnoringCase, Rule::Any),
        g("OpenSLO Service name", openslo_name(service), Compare::Exact, Rule::Any),
    ]
}

/// Every name an SLO generates, for every target.
pub(crate) fn for_slo(service: &str, slo: &str) -> Vec<Generated> {
    let identity: Vec<String> = series_identity(service, slo).iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    vec![
        Generated { what: "rule group", name: rule_group(service, slo), compare: Compare::Exact, rule: Rule::Any },
        Generated {
            what: "recorded series labels",
            name: format!("{{{}}}", identity.join(", ")),
            compare: Compare::Exact,
            rule: Rule::Any,
        },
        Generated {
            what: "OpenSLO SLO name",
            name: openslo_slo(service, slo),
            compare: Compare::Exact,
            rule: Rule::Any,
        },
    ]
}

/// Why `s` is not a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63).
pub(crate) fn dns1123_label_problem(s: &str) -> Option<String> {
    if s.len() > 63 {
        return Some(format!("{} characters, over the 63 a DNS-1123 label allows", s.len()));
    }
    label_shape_problem(s)
}

/// Why `s` is not `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (whatever its length).
fn label_shape_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it has an empty part".into());
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Some(format!("`{c}` is not a lower-case letter, digit or `-`"));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("each part must start and end with a lower-case letter or digit".into());
    }
    None
}

/// Why `s` is not a DNS-1123 subdomain as Kubernetes checks object names
/// (dot-separated `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 253 in all).
pub(crate) fn dns1123_subdomain_problem(s: &str) -> Option<String> {
    if s.len() > MAX_K8S_NAME {
        return Some(format!("{} characters, over the {MAX_K8S_NAME} Kubernetes allows", s.len()));
    }
    s.split('.').find_map(label_shape_problem)
}

/// Why `--namespace` cannot name a Kubernetes namespace (an RFC 1123
/// label of at most 63 characters).
pub fn k8s_namespace_problem(ns: &str) -> Option<String> {
    dns1123_label_problem(ns)
}

/// Whether `s` is `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?` (the empty
/// string is not).
fn k8s_label_chars(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().all(ok)
}

/// Why `key=value` cannot be a Kubernetes label: a key is an optional
/// DNS-1123 subdomain prefix (≤ 253) and `/`, then a name (≤ 63) of
/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`; a value is empty or such a
/// name.
pub fn k8s_label_problem(key: &str, value: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Some(format!("key `{key}`: the prefix before `/` is empty"));
        }
        if let Some(why) = dns1123_subdomain_problem(p) {
            return Some(format!("key `{key}`: the prefix `{p}` is not a DNS-1123 subdomain ({why})"));
        }
    }
    if name.len() > 63 {
        return Some(format!("key `{key}`: the name is {} characters, over 63", name.len()));
    }
    if !k8s_label_chars(name) {
        return Some(format!(
            "key `{key}`: the name must be letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit"
        ));
    }
    if value.len() > 63 {
        return Some(format!("value `{value}` is {} characters, over 63", value.len()));
    }
    if !value.is_empty() && !k8s_label_chars(value) {
        return Some(format!(
            "value `{value}` must be empty or letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_fit_grafana() {
        assert_eq!(dashboard_uid("payments"), "slo-payments");
        for s in ["api", &"x".repeat(60)] {
            let u = dashboard_uid(s);
            assert!((8..=40).contains(&u.len()), "{u}");
            assert!(u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        }
        assert_ne!(dashboard_uid(&"x".repeat(60)), dashboard_uid(&"x".repeat(61)));
    }

    #[test]
    fn dns1123() {
        assert_eq!(dns1123_subdomain_problem("slo-api"), None);
        assert_eq!(dns1123_subdomain_problem("a.b-c.d"), None);
        assert!(dns1123_subdomain_problem("slo-api-").is_some());
        assert!(dns1123_subdomain_problem("a..b").is_some());
        assert!(dns1123_subdomain_problem(&"a".repeat(254)).is_some());
        assert_eq!(dns1123_subdomain_problem(&format!("slo-{}", "a".repeat(249))), None);
        assert!(k8s_namespace_problem("Monitoring").is_some());
        assert!(k8s_namespace_problem(&"a".repeat(64)).is_some());
        assert_eq!(k8s_namespace_problem("monitoring"), None);
    }

    #[test]
    fn windows_devices_are_not_file_names() {
        let invalid =
            |s: &str| for_service(s).iter().filter(|g| matches!(g.problem(), Some(Problem::Invalid(_)))).count();
        assert_eq!(invalid("aux"), 3, "three file names");
        assert_eq!(invalid("COM1"), 3);
        assert_eq!(invalid("auxiliary"), 0);
        assert_eq!(invalid("com10"), 0);
    }

    #[test]
    fn k8s_labels() {
        assert_eq!(k8s_label_problem("release", "kube-prometheus"), None);
        assert_eq!(k8s_label_problem("app.kubernetes.io/part-of", "slo"), None);
        assert_eq!(k8s_label_problem("team", ""), None);
        assert_eq!(k8s_label_problem("A_b.c", "X.y_1"), None);
        for (k, v) in [
            ("", "x"),
            ("/name", "x"),
            ("Example.com/x", "x"),
            ("a/b/c", "x"),
            ("-a", "x"),
            ("a-", "x"),
            ("a b", "x"),
            ("k", "-v"),
            ("k", "v v"),
            ("k", "yes:no"),
        ] {
            assert!(k8s_label_problem(k, v).is_some(), "{k}={v}");
        }
        assert!(k8s_label_problem(&"k".repeat(64), "v").is_some());
        assert!(k8s_label_problem("k", &"v".repeat(64)).is_some());
        assert_eq!(k8s_label_problem(&format!("{}/k", "p".repeat(63)), "v"), None);
    }
}
