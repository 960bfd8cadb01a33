//! `slo compile`: rule files (or Grafana dashboards) per service, or one
//! Alertmanager configuration, written
//! all-or-nothing into an output directory slo owns the files of.

use super::{checked, default_paths, print_diags, Format};
use clap::ValueEnum;
use slo::diag::Diagnostics;
use slo::driver;
use slo::error::Error;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum TargetArg {
    Prometheus,
    PrometheusOperator,
    Mimir,
    /// Rule files for vmalert (`-rule=`), evaluated against VictoriaMetrics.
    Vmalert,
    /// VMRule objects for the VictoriaMetrics operator.
    Vmrule,
    /// Grafana dashboards (JSON) over the prometheus target's recorded series.
    Grafana,
    /// An Alertmanager configuration (alertmanager.yml): routes per receiver, inhibition between tiers.
    Alertmanager,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum SplitArg {
    /// The rules that read raw series, for each cluster's Prometheus.
    Local,
    /// Ratios, budget, alerts over the clusters' local series, for the global ruler.
    Global,
}

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (default: every *.slo under the current directory).
    pub paths: Vec<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = TargetArg::Prometheus)]
    pub target: TargetArg,
    /// Rule group evaluation interval.
    #[arg(long, default_value = "1m")]
    pub eval_interval: String,
    /// prometheus-operator, vmrule: namespace of the PrometheusRule / VMRule objects.
    #[arg(long, default_value = "monitoring")]
    pub namespace: String,
    /// prometheus-operator, vmrule: a label for the PrometheusRule / VMRule objects (repeatable), `key=value`.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Thanos ruler: partial_response_strategy for every group.
    #[arg(long, value_parser = ["abort", "warn"])]
    pub partial_response: Option<String>,
    /// Multi-cluster: write only the local part (each cluster's Prometheus) or only the global
    /// part (Thanos Ruler, Mimir ruler) of the rules; see README "Multi-cluster".
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// With --split: the label that tells clusters apart (each cluster's `external_labels`).
    #[arg(long, default_value = "cluster", value_name = "NAME")]
    pub cluster_label: String,
    /// Join the burn-rate tiers of every alert policy, as if each said `join_tiers = true`: one
    /// `or`-joined alert per set of tiers alike but for their windows (Sloth's page and ticket
    /// alerts), instead of one alert per tier; joined alerts carry no `long_window`, so no
    /// inhibition covers them. See README "Alert rules and promtool".
    #[arg(long)]
    pub join_tiers: bool,
    /// alertmanager: an existing alertmanager.yml to merge slo's routes, inhibition rules and missing receivers into (kept as it is otherwise).
    #[arg(long, value_name = "FILE")]
    pub alertmanager_config: Option<PathBuf>,
    /// Do not write: exit 1 with a unified diff if OUT is not what the sources produce.
    #[arg(long)]
    pub check: bool,
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(
    Args {
        paths,
        out,
        target,
        eval_interval,
        namespace,
        labels,
        partial_response,
        split,
        cluster_label,
        join_tiers,
        alertmanager_config,
        check,
        root,
    }: Args,
) -> Result<u8, Error> {
    if let Some(why) = slo::promql::split::cluster_label_problem(&cluster_label) {
        return Err(Error::coded(
            "slo::flag::cluster_label",
            format!("--cluster-label: `{cluster_label}` cannot be the cluster label: {why}"),
            "name the label each cluster's Prometheus sets in `global.external_labels`, e.g. `--cluster-label cluster`",
        ));
    }
    if let Some(refused) = split.and(split_refusal(target)) {
        return Err(refused);
    }
    let Some(eval_interval_ms) = slo::units::parse_duration(&eval_interval).filter(|ms| *ms >= 1000) else {
        return Err(Error::new(format!("--eval-interval: `{eval_interval}` is not a duration of 1s or more")));
    };
    if let Some(why) = slo::names::k8s_namespace_problem(&namespace) {
        return Err(Error::coded(
            "slo::flag::namespace",
            format!("--namespace: `{namespace}` is not a Kubernetes namespace name: {why}"),
            "a namespace is at most 63 lower-case letters, digits and `-`, starting and ending with a letter or digit",
        ));
    }
    let mut crd_labels = std::collections::BTreeMap::new();
    for l in labels {
        let Some((k, v)) = l.split_once('=') else {
            return Err(Error::coded(
                "slo::flag::label",
                format!("--label: `{l}` is not key=value"),
                "write `--label key=value`, e.g. `--label release=kube-prometheus`",
            ));
        };
        if let Some(why) = slo::names::k8s_label_problem(k, v) {
            return Err(Error::coded(
                    "slo::flag::label",
                    format!("--label: `{l}` is not a Kubernetes label: {why}"),
                    "keys are an optional DNS subdomain and `/`, then a name of at most 63 letters, digits, `-`, `_`, `.`; values are empty or such a name",
                ));
        }
        crd_labels.insert(k.to_string(), v.to_string());
    }
    if partial_response.is_some() && matches!(target, TargetArg::Vmalert | TargetArg::Vmrule) {
        return Err(Error::coded(
            "slo::flag::partial_response",
            "--partial-response is a Thanos ruler field, and vmalert rejects rule groups that carry it",
            "drop --partial-response for the vmalert and vmrule targets",
        ));
    }
    let opts = slo::promql::Options {
        target: match target {
            TargetArg::Prometheus | TargetArg::Grafana | TargetArg::Alertmanager => slo::promql::Target::Prometheus,
            TargetArg::PrometheusOperator => slo::promql::Target::PrometheusOperator,
            TargetArg::Mimir => slo::promql::Target::Mimir,
            TargetArg::Vmalert => slo::promql::Target::Vmalert,
            TargetArg::Vmrule => slo::promql::Target::VmRule,
        },
        eval_interval: slo::units::Duration::from_ms(eval_interval_ms),
        namespace,
        crd_labels,
        partial_response,
        extra_windows: Default::default(),
        split: split.map(|s| slo::promql::Split {
            part: match s {
                SplitArg::Local => slo::promql::Part::Local,
                SplitArg::Global => slo::promql::Part::Global,
            },
            cluster_label,
        }),
        join: if join_tiers { slo::promql::Join::All } else { slo::promql::Join::AsWritten },
    };
    if alertmanager_config.is_some() && target != TargetArg::Alertmanager {
        return Err(Error::coded(
            "slo::flag::alertmanager_config",
            "--alertmanager-config is for --target alertmanager",
            "drop the flag, or compile with `--target alertmanager`",
        ));
    }
    // The base is read before the sources: a bad base file ends the run
    // before any checking.
    let base = match &alertmanager_config {
        Some(p) => {
            let bytes = slo::input::read_named("--alertmanager-config", p)?;
            let name = p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
            let text = std::str::from_utf8(&bytes).map_err(|e| {
                Error::coded(
                    "slo::alertmanager::base",
                    format!("{} is not UTF-8 text: {e}", p.display()),
                    "give --alertmanager-config an alertmanager.yml",
                )
            })?;
            Some(slo::alertmanager::Base::parse(text, &name)?)
        }
        None => None,
    };
    let mut files = driver::expand(&default_paths(paths))?;
    let Some((loaded, program)) = checked(&files, root)? else { return Ok(1) };
    // The syntax trees are done with: free them for the rules (about half
    // the heap after checking 10,000 SLOs). Diagnostics need the sources.
    let driver::Loaded { sources, modules, .. } = loaded;
    drop(modules);
    if target == TargetArg::Alertmanager {
        let am = slo::alertmanager::config(&program, base.as_ref(), opts.join);
        let kind = slo::outdir::Kind::ALERTMANAGER;
        files.extend(alertmanager_config);
        slo::outdir::refuse_inputs(&out, &kind, &files)?;
        let outputs = std::iter::once(Ok::<_, std::convert::Infallible>(am.file));
        if check {
            return super::check_dir(&out, outputs, &kind, "slo compile --target alertmanager");
        }
        let w = slo::outdir::write(&out, outputs, &kind)?;
        w.notes.iter().chain(&am.notes).for_each(|n| eprintln!("note: {n}"));
        eprintln!(
            "compiled the routing of {} SLOs into {} ({w})",
            program.slos.len(),
            out.join(slo::alertmanager::FILE).display()
        );
        return Ok(0);
    }
    if let Err(errs) = slo::promql::validate(&program, &opts) {
        let ds = Diagnostics(errs.iter().map(|e| e.diagnostic()).collect());
        print_diags(&ds, &sources, Format::Human);
        return Ok(1);
    }
    type Outputs<'a> = Box<dyn Iterator<Item = Result<slo::promql::OutFile, slo::promql::OutputError>> + 'a>;
    let (outputs, kind): (Outputs, slo::outdir::Kind) = match target {
        TargetArg::Grafana => (Box::new(slo::grafana::files(&program, &opts)), slo::outdir::Kind::GRAFANA),
        _ => {
            let kind = match &opts.split {
                // split_refusal has refused every target without split kinds.
                Some(s) => slo::outdir::Kind::split_rules(opts.target, s.part).ok_or_else(|| {
                    Error::new(format!("internal: no split output for --target {}", opts.target.name()))
                })?,
                None => slo::outdir::Kind::rules(opts.target),
            };
            (Box::new(slo::promql::files(&program, &opts)), kind)
        }
    };
    slo::outdir::refuse_inputs(&out, &kind, &files)?;
    if check {
        return super::check_dir(&out, outputs, &kind, "slo compile");
    }
    let w = slo::outdir::write(&out, outputs, &kind)?;
    w.notes.iter().for_each(|n| eprintln!("note: {n}"));
    eprintln!("compiled {} SLOs into {} files in {} ({w})", program.slos.len(), w.files, out.display());
    super::leak_at_exit((sources, program));
    Ok(0)
}

/// Why `--split` cannot go with `target` (refused before any work), if it cannot.
fn split_refusal(target: TargetArg) -> Option<Error> {
    let (what, help) = match target {
        TargetArg::Prometheus | TargetArg::PrometheusOperator | TargetArg::Mimir => return None,
        TargetArg::Grafana => (
            "--split writes rule files; --target grafana writes dashboards",
            "compile the dashboards without --split: they read the global part's series, which have the same names and labels as the unsplit rules'",
        ),
        TargetArg::Alertmanager => (
            "--split writes rule files; --target alertmanager writes the routing",
            "compile the routing without --split: the alerts come from the global part, with the same names and labels as the unsplit rules'",
        ),
        TargetArg::Vmalert | TargetArg::Vmrule => (
            "--split is not available for --target vmalert or vmrule",
            "vmalert's chained rules read the previous evaluation, which the global part's sums do not allow for: compile the split parts for Prometheus, Thanos Ruler or Mimir, or compile unsplit for vmalert",
        ),
    };
    Some(Error::coded("slo::flag::split", what, help))
}
