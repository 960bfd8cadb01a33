//! The Prometheus backend: [`ir::Program`] → rule files.
//!
//! Every SLO becomes one rule group (`slo/<service>/<slo>`), evaluated
//! every `--eval-interval`: recording rules first, in dependency order
//! ([`order`]), then its alerting rules (burn-rate tiers, thresholds and
//! budget-policy actions). What each series means and why the period ratio
//! is exact is explained in [`rules`].
//!
//! Files: one per service, so a team's rules review and deploy together.
//! Every file, object and group name comes from [`crate::names`], which
//! `slo check` also uses to find names that would collide on deploy.
//!
//! | target | file | shape |
//! |---|---|---|
//! | `prometheus` | `<service>.rules.yml` | `groups: [...]` |
//! | `prometheus-operator` | `<service>.yaml` | a `PrometheusRule` (`monitoring.coreos.com/v1`) |
//! | `mimir` | `<service>.yaml` | a Mimir/Cortex ruler namespace file (`namespace:` + `groups:`), as `mimirtool rules load` reads |
//! | `vmalert` | `<service>.rules.yml` | `groups: [...]` for `vmalert -rule=`, each group `type: prometheus` |
//! | `vmrule` | `<service>.yaml` | a `VMRule` (`operator.victoriametrics.com/v1beta1`) for the VictoriaMetrics operator |
//!
//! The VictoriaMetrics targets hold the same rules; [`validate`] refuses
//! what vmalert cannot run as Prometheus does (see [`vm_unsupported`]).
//!
//! Output is byte-identical for the same input: groups and files are sorted,
//! maps are ordered, and nothing depends on time or hashing.

pub mod expr;
pub mod model;
pub mod order;
pub mod rules;
pub mod schedule;
pub mod split;
pub mod yaml;

use crate::ir;
use crate::names::{k8s_name, mimir_namespace, rule_file};
use rules::{Group, Needs, Plan, SloRules};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Prometheus,
    PrometheusOperator,
    Mimir,
    /// vmalert's rule files (`-rule=`).
    Vmalert,
    /// VictoriaMetrics operator `VMRule` objects.
    VmRule,
}

impl Target {
    /// The target's name, as `--target` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Prometheus => "prometheus",
            Target::PrometheusOperator => "prometheus-operator",
            Target::Mimir => "mimir",
            Target::Vmalert => "vmalert",
            Target::VmRule => "vmrule",
        }
    }

    /// Whether vmalert evaluates the rules (against VictoriaMetrics).
    pub fn victoriametrics(self) -> bool {
        match self {
            Target::Vmalert | Target::VmRule => true,
            Target::Prometheus | Target::PrometheusOperator | Target::Mimir => false,
        }
    }
}

/// Which half of a multi-cluster split a compile writes (see [`split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The rules that read raw series, for each cluster's Prometheus.
    Local,
    /// Everything else, for the global ruler (Thanos Ruler, Mimir ruler).
    Global,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Local => "local",
            Part::Global => "global",
        }
    }
}

/// A multi-cluster split: the part to write and the label that tells the
/// clusters apart (added by each cluster's `external_labels`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub part: Part,
    pub cluster_label: String,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// Rule group evaluation interval.
    pub eval_interval: crate::units::Duration,
    /// prometheus-operator: the PrometheusRule's namespace.
    pub namespace: String,
    /// prometheus-operator: labels on the PrometheusRule (for ruleSelector).
    pub crd_labels: BTreeMap<String, String>,
    /// Thanos ruler: `partial_response_strategy` on every group.
    pub partial_response: Option<String>,
    /// Further error-ratio windows to record per SLO (service, name), beyond
    /// those its alerts read: the backtester's sweeps evaluate other alert
    /// presets over these.
    pub extra_windows: Needs,
    /// Write one part of a multi-cluster split instead of whole groups.
    pub split: Option<Split>,
    /// Which burn-rate tiers become one `or`-joined alert (see
    /// [`rules::joined_tiers`]).
    pub join: Join,
}

/// Which burn-rate tiers alike but for their windows and burn rates are
/// written as one `or`-joined alert without `long_window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Join {
    /// Those of policies that say `join_tiers = true`: what the sources say.
    #[default]
    AsWritten,
    /// Every SLO's (`slo compile --join-tiers`).
    All,
    /// None: each tier its own alert (the backtester, whose report tells
    /// the tiers apart; a joined alert fires exactly when one of them does).
    None,
}

impl Join {
    /// Whether `alert` takes part in joining under this choice.
    pub fn joins(self, alert: &ir::Alert) -> bool {
        match self {
            Join::AsWritten => alert.join_tiers,
            Join::All => true,
            Join::None => false,
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            target: Target::Prometheus,
            eval_interval: crate::units::Duration::from_ms(60_000),
            namespace: "monitoring".into(),
            crd_labels: BTreeMap::new(),
            partial_response: None,
            extra_windows: Default::default(),
            split: None,
            join: Join::AsWritten,
        }
    }
}

/// A file to write: a path relative to the output directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    pub path: String,
    pub contents: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputError {
    /// The IR is valid but this backend cannot express it (yet).
    Unsupported { slo: String, what: String, span: crate::source::Span },
    /// The SLO cannot be split into local and global rules.
    Unsplittable { code: &'static str, slo: String, what: String, help: String, span: crate::source::Span },
    /// The IR is valid and Prometheus runs it, but this target's rule
    /// engine would not run it the same way.
    TargetUnsupported { target: Target, slo: String, what: String, help: String, span: crate::source::Span },
}

impl OutputError {
    pub fn diagnostic(&self) -> crate::diag::Diagnostic {
        match self {
            OutputError::Unsupported { slo, what, span } => crate::diag::Diagnostic::error(
                "slo::compile::unsupported",
                *span,
                format!("SLO {slo} cannot be compiled to Prometheus rules"),
                "this SLO",
            )
            .with_help(what.clone()),
            OutputError::Unsplittable { code, slo, what, help, span } => crate::diag::Diagnostic::error(
                code,
                *span,
                format!("SLO {slo} cannot be split into local and global rules: {what}"),
                "this SLO",
            )
            .with_help(help.clone()),
            OutputError::TargetUnsupported { target, slo, what, help, span } => crate::diag::Diagnostic::error(
                "slo::compile::target_unsupported",
                *span,
                format!("SLO {slo} cannot be compiled for {}: {what}", target.name()),
                "this SLO",
            )
            .with_help(help.clone()),
        }
    }
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Unsupported { slo, what, .. } => write!(f, "cannot compile SLO {slo}: {what}"),
            OutputError::Unsplittable { slo, what, .. } => write!(f, "cannot split SLO {slo}: {what}"),
            OutputError::TargetUnsupported { target, slo, what, .. } => {
                write!(f, "cannot compile SLO {slo} for {}: {what}", target.name())
            }
        }
    }
}

pub(crate) const HEADER: &str =
    "# Generated by `slo compile` from .slo sources. Do not edit: change the sources and recompile.\n";

/// What every SLO's rules need to know of the others': the windows
/// each must record, and which alert names several SLOs of a service share.
fn plan(program: &ir::Program, opts: &Options) -> Plan {
    Plan { windows: needs(program, opts), shared_names: rules::shared_alert_names(program) }
}

/// The windows every SLO must record: its own, plus those composites
/// built on it read (transitively).
fn needs(program: &ir::Program, opts: &Options) -> Needs {
    let mut out: Needs = program
        .slos
        .iter()
        .map(|s| {
            let key = (s.service.clone(), s.name.clone());
            let mut w = rules::own_windows(s);
            w.extend(opts.extra_windows.get(&key).into_iter().flatten().copied());
            (key, w)
        })
        .collect();
    // Propagate to a fixed point (composite chains are acyclic: sema checked).
    for _ in 0..=program.slos.len() {
        let mut changed = false;
        for s in &program.slos {
            if let ir::Sli::Composite { components, .. } = &s.sli {
                let mine = out[&(s.service.clone(), s.name.clone())].clone();
                for c in components {
                    if let Some(n) = out.get_mut(&(c.service.clone(), c.name.clone())) {
                        let before = n.len();
                        n.extend(mine.iter().copied());
                        changed |= n.len() != before;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    out
}

/// Every rule group of a validated program: one per SLO, `groups[i]` for
/// `program.slos[i]`; the very rules the files hold (the backtester
/// evaluates these).
pub fn groups(program: &ir::Program, opts: &Options) -> Result<Vec<Group>, OutputError> {
    groups_iter(program, opts).collect()
}

/// [`groups`], one SLO's group at a time.
pub(crate) fn groups_iter<'a>(
    program: &'a ir::Program,
    opts: &'a Options,
) -> impl Iterator<Item = Result<Group, OutputError>> + 'a {
    let plan = plan(program, opts);
    program.slos.iter().map(move |slo| SloRules::new(slo, program, opts, &plan).group())
}

/// The group of `program.slos[index]` alone (what [`groups`] gives at
/// `index`), without building the groups before it.
pub(crate) fn group_of(program: &ir::Program, index: usize, opts: &Options) -> Option<Result<Group, OutputError>> {
    let slo = program.slos.get(index)?;
    let plan = plan(program, opts);
    Some(SloRules::new(slo, program, opts, &plan).group())
}

/// Compiles a checked program into all its files at once.
pub fn emit(program: &ir::Program, opts: &Options) -> Result<Vec<OutFile>, Vec<OutputError>> {
    validate(program, opts)?;
    files(program, opts).collect::<Result<Vec<_>, OutputError>>().map_err(|e| vec![e])
}

/// Everything the backend cannot express, found before any rule is built
/// (so nothing is written when something would fail).
pub fn validate(program: &ir::Program, opts: &Options) -> Result<(), Vec<OutputError>> {
    let errors: Vec<OutputError> = program
        .slos
        .iter()
        .filter_map(|s| {
            rules::unsupported(s)
                .or_else(|| rules::slices_fit(s, opts.eval_interval))
                .or_else(|| opts.split.as_ref().and_then(|sp| split::unsplittable(s, &sp.cluster_label)))
                .or_else(|| vm_unsupported(s, opts.target))
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// What vmalert (1.79, Debian's) cannot run as Prometheus does:
///
/// - `keep_firing_for`: vmalert 1.79 rejects the field (`unknown fields in
///   rule`); dropping it would change when alerts resolve.
/// - calendar windows: the running sums add the bucket the same group has
///   just recorded (`last_over_time(bucket[E/2])`) to their own previous
///   value. vmalert writes recording rules' results asynchronously by
///   remote write, so a later rule of the group does not see them at the
///   same evaluation (vmalert's documented limitation on chained rules):
///   every bucket would be missed and the sums never grow.
pub fn vm_unsupported(slo: &ir::Slo, target: Target) -> Option<OutputError> {
    if !target.victoriametrics() {
        return None;
    }
    let err = |what: String, help: &str| {
        Some(OutputError::TargetUnsupported {
            target,
            slo: format!("{}.{}", slo.service, slo.name),
            what,
            help: help.to_string(),
            span: slo.span,
        })
    };
    if let Some(a) = slo.alerts.iter().find(|a| a.keep_firing_for > crate::units::Duration::default()) {
        return err(
            format!("alert {} has keep_firing_for {}, which vmalert 1.79 rejects", a.name, a.keep_firing_for),
            "drop `keep_firing_for` from the alert policy for this target, or compile with --target prometheus",
        );
    }
    if let ir::Window::Calendar { .. } = slo.window {
        return err(
            "its calendar window sums buckets the same rule group has just recorded, which vmalert's asynchronous remote write does not show to the group's later rules".into(),
            "use a rolling window (`over 28d`) for this target, or evaluate the rules with Prometheus",
        );
    }
    None
}

/// The files of a validated program, a batch of services at a time (built
/// on every core), so a large catalogue never has all its YAML in memory.
pub fn files<'a>(program: &'a ir::Program, opts: &'a Options) -> Files<'a> {
    // `program.slos` is sorted by service: each run is one file.
    let mut runs: Vec<&[ir::Slo]> = Vec::new();
    let mut rest = &program.slos[..];
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|s| s.service == first.service).count();
        runs.push(&rest[..n]);
        rest = &rest[n..];
    }
    runs.reverse();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    Files { program, opts, plan: plan(program, opts), runs, ready: Default::default(), threads, via_serde: false }
}

/// The files written by serde_yaml_ng instead of [`yaml`]: the reference
/// the tests hold the fast writer to.
#[doc(hidden)]
pub fn files_via_serde<'a>(program: &'a ir::Program, opts: &'a Options) -> Files<'a> {
    Files { via_serde: true, ..files(program, opts) }
}

/// Iterator over the files of a program, in service order.
pub struct Files<'a> {
    program: &'a ir::Program,
    opts: &'a Options,
    plan: Plan,
    /// Services still to do, last first.
    runs: Vec<&'a [ir::Slo]>,
    ready: std::collections::VecDeque<Result<OutFile, OutputError>>,
    threads: usize,
    via_serde: bool,
}

/// SLOs built per thread in a batch: enough to keep every core busy, few
/// enough that a batch's groups and YAML (about 7 KB per SLO) stay a few
/// MiB. (Batches of 64 services held two thirds of the 10,000 translated
/// Sloth SLOs' 67 MB of rules at once.)
const SLOS_PER_THREAD: usize = 64;

impl Files<'_> {
    fn build(&self, slos: &[ir::Slo]) -> Result<OutFile, OutputError> {
        let mut groups: Result<Vec<Group>, OutputError> =
            slos.iter().map(|slo| SloRules::new(slo, self.program, self.opts, &self.plan).group()).collect();
        // A local part has no group for an SLO that reads no raw series (a
        // composite).
        if let (Ok(gs), Some(Split { part: Part::Local, .. })) = (&mut groups, &self.opts.split) {
            gs.retain(|g| !g.rules.is_empty());
        }
        let service = &slos[0].service;
        if self.via_serde {
            let f = file(service, vec![], self.opts);
            return Ok(OutFile { path: f.path, contents: file_via_serde(service, groups?, self.opts) });
        }
        Ok(file(service, groups?, self.opts))
    }
}

impl Iterator for Files<'_> {
    type Item = Result<OutFile, OutputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ready.is_empty() && !self.runs.is_empty() {
            // The next services (the runs' last), until the batch holds
            // enough SLOs for every thread.
            let (mut take, mut slos) = (0, 0);
            for run in self.runs.iter().rev() {
                if slos >= SLOS_PER_THREAD * self.threads {
                    break;
                }
                take += 1;
                slos += run.len();
            }
            let batch: Vec<&[ir::Slo]> = self.runs.split_off(self.runs.len() - take).into_iter().rev().collect();
            let this = &*self;
            let built: Vec<Result<OutFile, OutputError>> = if this.threads == 1 || batch.len() < 2 {
                batch.iter().map(|r| this.build(r)).collect()
            } else {
                let per = batch.len().div_ceil(this.threads);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = batch
                        .chunks(per)
                        .map(|part| scope.spawn(move || part.iter().map(|r| this.build(r)).collect::<Vec<_>>()))
                        .collect();
                    handles.into_iter().flat_map(|h| h.join().expect("rule builder thread")).collect()
                })
            };
            self.ready.extend(built);
        }
        self.ready.pop_front()
    }
}

#[derive(Serialize)]
struct Groups {
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Namespace<'a> {
    namespace: &'a str,
    groups: Vec<Group>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusRule<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    spec: Groups,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: String,
    namespace: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

fn yaml_serde<T: Serialize>(v: &T) -> String {
    serde_yaml_ng::to_string(v).expect("rule files serialize")
}

fn file(service: &str, groups: Vec<Group>, opts: &Options) -> OutFile {
    let mut out = String::with_capacity(8192 * groups.len());
    out.push_str(HEADER);
    let part = opts.split.as_ref().map(|s| s.part);
    if let Some(p) = part {
        out.push_str(split::header(p));
    }
    let object = |name: String| match part {
        Some(p) => split::object_name(&name, p),
        None => name,
    };
    let path = match opts.target {
        Target::Prometheus | Target::Vmalert => {
            yaml::groups(&mut out, "", &groups);
            rule_file(opts.target, service)
        }
        Target::Mimir => {
            yaml::entry(&mut out, "", "namespace", &object(mimir_namespace(service)));
            yaml::groups(&mut out, "", &groups);
            rule_file(opts.target, service)
        }
        Target::PrometheusOperator | Target::VmRule => {
            let (api_version, kind) = crd(opts.target);
            yaml::entry(&mut out, "", "apiVersion", api_version);
            yaml::entry(&mut out, "", "kind", kind);
            out.push_str("metadata:\n");
            yaml::entry(&mut out, "  ", "name", &object(k8s_name(service)));
            yaml::entry(&mut out, "  ", "namespace", &opts.namespace);
            if !opts.crd_labels.is_empty() {
                yaml::mapping(&mut out, "  ", "labels", &opts.crd_labels);
            }
            out.push_str("spec:\n");
            yaml::groups(&mut out, "  ", &groups);
            rule_file(opts.target, service)
        }
    };
    OutFile { path, contents: out }
}

/// The API version and kind of a Kubernetes target's objects.
fn crd(target: Target) -> (&'static str, &'static str) {
    match target {
        Target::VmRule => ("operator.victoriametrics.com/v1beta1", "VMRule"),
        Target::PrometheusOperator | Target::Prometheus | Target::Mimir | Target::Vmalert => {
            ("monitoring.coreos.com/v1", "PrometheusRule")
        }
    }
}

/// The same file through serde_yaml_ng.
fn file_via_serde(service: &str, groups: Vec<Group>, opts: &Options) -> String {
    let part = opts.split.as_ref().map(|s| s.part);
    let object = |name: String| match part {
        Some(p) => split::object_name(&name, p),
        None => name,
    };
    let body = match opts.target {
        Target::Prometheus | Target::Vmalert => yaml_serde(&Groups { groups }),
        Target::Mimir => yaml_serde(&Namespace { namespace: &object(mimir_namespace(service)), groups }),
        Target::PrometheusOperator | Target::VmRule => yaml_serde(&PrometheusRule {
            api_version: crd(opts.target).0,
            kind: crd(opts.target).1,
            metadata: Metadata {
                name: object(k8s_name(service)),
                namespace: &opts.namespace,
                labels: &opts.crd_labels,
            },
            spec: Groups { groups },
        }),
    };
    format!("{HEADER}{}{body}", part.map_or("", split::header))
}

#[cfg(test)]
mod tests {
    /// One SLO's group built alone is the group [`super::groups`] builds
    /// for it among all the others (composites included).
    #[test]
    fn one_group_alone_equals_it_among_all() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let files = crate::driver::expand(std::slice::from_ref(&root)).expect("examples");
        let loaded = crate::driver::load(&files, &root).expect("load");
        let (program, diags) = crate::driver::check(&loaded);
        assert!(!diags.has_errors());
        let opts = super::Options::default();
        let all = super::groups(&program, &opts).expect("groups");
        assert!(all.len() > 30);
        for (i, g) in all.iter().enumerate() {
            assert_eq!(super::group_of(&program, i, &opts).expect("in range").as_ref(), Ok(g), "{}", g.name);
        }
        assert!(super::group_of(&program, all.len(), &opts).is_none());
    }
}
