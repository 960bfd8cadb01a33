//! `slo compile`: rule files (or Grafana dashboards) per service, written
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
    /// Do not write: exit 1 with a unified diff if OUT is not what the sources produce.
    #[arg(long)]
    pub check: bool,
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(
    Args { paths, out, target, eval_interval, namespace, labels, partial_response, check, root }: Args,
) -> Result<u8, Error> {
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
            TargetArg::Prometheus | TargetArg::Grafana => slo::promql::Target::Prometheus,
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
    };
    let files = driver::expand(&default_paths(paths))?;
    let Some((loaded, program)) = checked(&files, root)? else { return Ok(1) };
    if let Err(errs) = slo::promql::validate(&program, &opts) {
        let ds = Diagnostics(errs.iter().map(|e| e.diagnostic()).collect());
        print_diags(&ds, &loaded.sources, Format::Human);
        return Ok(1);
    }
    type Outputs<'a> = Box<dyn Iterator<Item = Result<slo::promql::OutFile, slo::promql::OutputError>> + 'a>;
    let (outputs, kind): (Outputs, slo::outdir::Kind) = match target {
        TargetArg::Grafana => (Box::new(slo::grafana::files(&program, &opts)), slo::outdir::Kind::GRAFANA),
        _ => (Box::new(slo::promql::files(&program, &opts)), slo::outdir::Kind::rules(opts.target)),
    };
    slo::outdir::refuse_inputs(&out, &kind, &files)?;
    if check {
        return super::check_dir(&out, outputs, &kind, "slo compile");
    }
    let w = slo::outdir::write(&out, outputs, &kind)?;
    w.notes.iter().for_each(|n| eprintln!("note: {n}"));
    eprintln!("compiled {} SLOs into {} files in {} ({w})", program.slos.len(), w.files, out.display());
    super::leak_at_exit((loaded, program));
    Ok(0)
}
