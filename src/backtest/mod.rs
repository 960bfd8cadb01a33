//! `slo backtest`: replays the rules `slo compile` emits over historical
//! samples in Parquet, as Prometheus would have evaluated them.
//!
//! 1. The program is compiled to rule groups ([`crate::promql::groups`]) —
//!    the same rules, text and order as the rule files.
//! 2. Their PromQL is parsed and planned ([`plan`]): subexpressions over raw
//!    metrics become leaves; the rest runs step by step.
//! 3. DataFusion scans the Parquet data with the leaves' metric names,
//!    label equalities and time range pushed down ([`data`]); each series
//!    streams once through every leaf it matches ([`leaves`], [`range`]).
//! 4. Every rule is evaluated at every step of the grid in group order,
//!    recording rules feeding later rules, alerts tracking pending and
//!    firing state ([`eval`], [`alert`]).
//! 5. The report reads the recorded series ([`report`]); `--timeline`
//!    writes them all back to Parquet ([`timeline`]).
//!
//! Steps 2–4 and the timeline are the replay engine, in [`replay`]: it
//! knows nothing of reports. The analysis ([`analysis`]: incidents, alert
//! quality, sweeps, compliance, computed once) and their renderings
//! ([`report`]: table and JSON, [`html`]) read what the replay recorded.

pub mod analysis;
pub mod distributed;
pub mod html;
pub mod replay;
pub mod report;
pub mod waves;

// The replay engine's modules, under the names the rest of the crate (and
// the tests) use.
pub use replay::{alert, data, eval, leaves, plan, range, timeline};

use crate::diag::Diagnostic;
use crate::ir;
use crate::layout::reader::guarded;
use crate::promql::rules::{Group, Rule};
use crate::source::{Origin, Source, SourceMap, Span};
use crate::units::fmt_ts;
use alert::AlertHistory;
pub(crate) use eval::Born;
use eval::{Step, Store};
use leaves::Leaves;
use plan::{Node, Planner};
use range::Grid;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Options {
    pub data: Vec<PathBuf>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub step_ms: i64,
    pub memory_limit: usize,
    pub progress: bool,
    /// Print the time each phase took to stderr.
    pub timing: bool,
    /// Error-ratio windows to record beyond the SLOs' own (for sweeps).
    pub extra_windows: crate::promql::rules::Needs,
    /// Per rule group (`groups[i]` ↔ `program.slos[i]`), the phase of its
    /// evaluations within the step, in ms (`t ≡ phase (mod step)`), as a
    /// server evaluates it ([`crate::promql::schedule`]); the range then
    /// starts at `--from` exactly, nothing evaluated before it. `None`:
    /// every group at `from + k·step`.
    pub phases: Option<Vec<i64>>,
    /// Ranges `[from, to)` in which the server evaluated nothing (it was
    /// down, or the rules were not loaded yet): no rule runs at a time in
    /// them; alerts keep their state across, as a restart restores it.
    pub downtime: Vec<(i64, i64)>,
    /// Evaluate every block step by step, never column by column (the
    /// cross-check of [`replay::columnar`]; `--stepwise`).
    pub stepwise: bool,
    /// Keep only the recorded series the report and the analysis read
    /// ([`report::reads`]), each block's others dropped as it finishes: a
    /// run without `--timeline` holds a fraction of what it records.
    pub report_only: bool,
    /// `slo worker` URLs to replay on (see [`distributed`]); empty: here.
    pub workers: Vec<String>,
    /// Build each SLO's report as soon as its block of rule groups is
    /// evaluated, from that block's series, and keep none of them: the
    /// run's memory then does not grow with the number of SLOs. The
    /// returned [`Backtest`] then holds no recorded series and no alert
    /// histories, only [`Backtest::slo_reports`] (and the spilled
    /// `timeline`, the HTML sections with `html`). With `workers`, the
    /// coordinator builds a block's reports as the block's last row arrives
    /// and drops its series, so it holds the blocks in flight only.
    pub reports: Option<analysis::Settings>,
    /// With `reports`: also render each SLO's section of the HTML report
    /// (its charts draw its series) as its block finishes, into
    /// [`Backtest::slo_reports`], so an HTML run holds no more than one
    /// block's series at a time either.
    pub html: bool,
    /// With `reports`: write `--timeline` to this file as the blocks finish
    /// ([`timeline::Spill`]): the run holds no block's series after it is
    /// reported and spilled. [`timeline::write`] then merges the spill.
    pub timeline: Option<PathBuf>,
}

/// Runs only the benchmark baseline: a bare DataFusion scan of the columns
/// the backtest reads, with the same filters. Returns (sum, rows, seconds).
pub fn bare_scan(program: &ir::Program, opts: &Options) -> Result<(f64, u64, f64), String> {
    let popts = crate::promql::Options {
        eval_interval: crate::units::Duration::from_ms(opts.step_ms as u64),
        join: crate::promql::Join::None,
        ..Default::default()
    };
    let groups = crate::promql::groups(program, &popts).map_err(|e| e.diagnostic().message)?;
    let (_, planner) = plan_groups(&groups, &[])?;
    let src = data::Source::new(opts.data.clone(), opts.memory_limit);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let lv = Leaves::new(planner.leaves.clone(), Grid { from: 0, step: 1, len: 0 });
    let t0 = std::time::Instant::now();
    let (s, n) = data::bare_scan(&src, &lv, &rt).map_err(|e| format!("{e:?}"))?;
    Ok((s, n, t0.elapsed().as_secs_f64()))
}

/// What the compiled rules read of the raw data: every leaf's selector
/// (each once, in plan order) and the lead-in before the first evaluation
/// a replay reads, `longest range + lookback` — exactly the
/// `from − lead .. to` a backtest scans (what `slo data pull` fetches).
pub fn raw_reads(program: &ir::Program, step_ms: i64) -> Result<(Vec<plan::Sel>, i64), String> {
    let popts = crate::promql::Options {
        eval_interval: crate::units::Duration::from_ms(step_ms as u64),
        join: crate::promql::Join::None,
        ..Default::default()
    };
    let groups = crate::promql::groups(program, &popts).map_err(|e| e.diagnostic().message)?;
    let (_, planner) = plan_groups(&groups, &[])?;
    let mut seen = HashSet::new();
    let mut sels = Vec::new();
    let mut lead = 0;
    for l in &planner.leaves {
        lead = lead.max(l.kind.lookbehind());
        if seen.insert(l.sel.text()) {
            sels.push(l.sel.clone());
        }
    }
    Ok((sels, lead + leaves::LOOKBACK_MS))
}

/// The outcome of a replay: the grid, every recorded series, every alert.
pub struct Backtest {
    /// The range's grid: `from`, `to` and the step.
    pub grid: Grid,
    /// Per rule group, the times it was evaluated at: the range's grid
    /// unless groups run at their own phases ([`Options::phases`]).
    /// Shared with each block's own `Backtest` ([`block_part`]).
    pub group_grids: std::sync::Arc<[Grid]>,
    /// Earliest sample of the selected metrics.
    pub data_start_ms: i64,
    pub groups: Vec<Group>,
    pub store: Store,
    /// Per alerting rule (group index, rule name): the history of each instance.
    pub alerts: Vec<AlertRun>,
    pub stats: data::Stats,
    /// Problems found while replaying (warnings; the run still completed).
    pub warnings: Vec<Diagnostic>,
    /// The .slo sources plus the synthetic ones the warnings point into.
    pub sources: SourceMap,
    /// How the independent blocks of rule groups were evaluated: column by
    /// column ([`replay::columnar`]) or step by step, and why.
    pub evaluated: Evaluated,
    /// Per (service, SLO) label pair, the store's series carrying it, in
    /// store order: the report reads an SLO's series without a scan of
    /// every SLO's.
    by_slo: HashMap<(String, String), Vec<usize>>,
    /// Per SLO, its report (and HTML section) as its block built them
    /// ([`Options::reports`]); empty otherwise. [`report::build`] and
    /// [`html::render`] take these as they are.
    pub slo_reports: Vec<Option<Built>>,
    /// The blocks' spilled timeline ([`Options::timeline`]), for
    /// [`timeline::write`] to merge.
    pub timeline: Option<timeline::Spill>,
}

/// What a block built of one of its SLOs as it finished.
#[derive(Debug, Clone)]
pub struct Built {
    pub report: report::SloReport,
    /// Its section of the HTML report, with [`Options::html`].
    pub html: Option<String>,
}

impl Backtest {
    /// The recorded series labelled `service` and `slo`, in store order.
    pub fn slo_series<'a>(&'a self, service: &str, slo: &str) -> impl Iterator<Item = &'a eval::RecSeries> + 'a {
        let ids = self.by_slo.get(&(service.to_string(), slo.to_string()));
        ids.into_iter().flatten().map(|&i| &self.store.series[i])
    }

    /// The alerting rules of `program.slos[slo]`'s group (`alerts` is in
    /// group order).
    pub fn slo_alerts(&self, slo: usize) -> &[AlertRun] {
        let lo = self.alerts.partition_point(|a| a.group < slo);
        let hi = self.alerts.partition_point(|a| a.group <= slo);
        &self.alerts[lo..hi]
    }
}

/// [`Backtest::slo_series`]' index.
fn index_by_slo(store: &Store) -> HashMap<(String, String), Vec<usize>> {
    let mut by_slo: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (i, s) in store.series.iter().enumerate() {
        let get = |k: &str| s.labels.iter().find(|(l, _)| l == k).map(|(_, v)| v.clone());
        if let (Some(service), Some(slo)) = (get("service"), get("slo")) {
            by_slo.entry((service, slo)).or_default().push(i);
        }
    }
    by_slo
}

pub struct AlertRun {
    /// Its rule group: the group of `program.slos[group]`
    /// ([`crate::promql::groups`] makes one per SLO, in order).
    pub group: usize,
    pub name: String,
    /// Which alert or policy action of that SLO it is.
    pub spec: crate::promql::model::AlertSpec,
    pub history: BTreeMap<Vec<(String, String)>, AlertHistory>,
}

/// Why a replay could not run, as diagnostics plus the exit code.
pub struct Failure {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    pub exit: u8,
}

impl Failure {
    fn usage(sources: SourceMap, code: &'static str, message: String, help: &str) -> Failure {
        Failure::exit2(sources, "<command line>", code, message, "here", help)
    }

    /// One error diagnostic (exit 2) whose source is its own message.
    fn exit2(sources: SourceMap, name: &str, code: &'static str, message: String, label: &str, help: &str) -> Failure {
        let mut sources = sources;
        let id = sources.add(Source::new(name, message.clone(), Origin::User));
        let d = Diagnostic::error(code, Span::new(id, 0, message.len()), message, label).with_help(help);
        Failure { diagnostics: vec![d], sources, exit: 2 }
    }

    /// A failure of the distributed replay (exit 2), its message as the
    /// source the label points at.
    fn coded(sources: SourceMap, code: &'static str, message: String, help: &str) -> Failure {
        let label = match code {
            "slo::distributed::url" => "not a worker URL",
            "slo::distributed::unreachable" => "no connection",
            _ => "the run stopped here",
        };
        Failure::exit2(sources, "<distributed replay>", code, message, label, help)
    }
}

/// Turns data errors into diagnostics anchored in a small synthetic source
/// (the schema, or the offending series), with the exit code they deserve.
pub fn data_failure(mut sources: SourceMap, errors: Vec<data::DataError>) -> Failure {
    let mut exit = 1;
    let mut diagnostics = Vec::new();
    for e in errors {
        // (code, exit, source name, source text, message, label, help)
        let (code, code_exit, name, text, message, label, help): (&'static str, u8, String, String, String, &str, String) =
            match e {
                data::DataError::Io { path, message } => {
                    let help = if crate::layout::remote::url_of(std::path::Path::new(&path)).is_some() {
                        "check the URL, that the server is up and serves the file with range requests, and that the file is complete Parquet"
                    } else {
                        "check the path, and that every file is a complete Parquet file"
                    };
                    ("slo::data::io", 2, path, message, "cannot read the data".into(), "cannot be read as Parquet", help.into())
                }
                data::DataError::Schema { message, help } => (
                    "slo::data::schema",
                    1,
                    "<data schema>".into(),
                    message.clone(),
                    format!("the data is not in the native layout: {message}"),
                    "this column",
                    help,
                ),
                data::DataError::Duplicate { series, ts, count } => (
                    "slo::data::duplicate",
                    1,
                    "<data>".into(),
                    format!("{series} @ {}", fmt_ts(ts)),
                    "a series has two different values at the same timestamp".into(),
                    "two different values at this timestamp",
                    format!(
                        "{count} sample(s) repeat a series' timestamp with a different value; Prometheus rejects these \
                         (`duplicate sample for timestamp`): keep one value per series and timestamp"
                    ),
                ),
                data::DataError::BadHistogram { series, ts, reason } => (
                    "slo::data::histogram",
                    1,
                    "<data>".into(),
                    format!("{series} @ {}", fmt_ts(ts)),
                    format!("a native-histogram sample is not valid: {reason}"),
                    "this sample",
                    "write native histograms as the layout defines them (README, \"Native histograms\"): \
                     schema −4 … 8, counts ≥ 0, bucket indices ascending; `slo data import` writes them so"
                        .into(),
                ),
                data::DataError::Histograms { series, samples } => (
                    "slo::data::native_histogram",
                    1,
                    "<data>".into(),
                    series,
                    format!("a series read as floats has native-histogram samples ({samples} in the series read)"),
                    "native-histogram samples",
                    "a classic SLI reads this native histogram: say `native = true` in its `sli latency` \
                     (README, \"Native histograms\"), or read the metric's classic series (`_bucket`, `_count`)"
                        .into(),
                ),
                data::DataError::Memory { message } => (
                    "slo::data::memory",
                    2,
                    "<query engine>".into(),
                    message,
                    "the memory limit is too small for this scan".into(),
                    "out of memory here",
                    "raise --memory-limit (sorting unordered files needs a few MB even when it spills), or sort the files by series and time so they stream".into(),
                ),
                data::DataError::Engine { message } => (
                    "slo::data::engine",
                    2,
                    "<query engine>".into(),
                    message,
                    "the data scan failed".into(),
                    "the scan failed here",
                    "this is likely a bug in slo or DataFusion: please report it with the data's schema".into(),
                ),
            };
        exit = exit.max(code_exit);
        let id = sources.add(Source::new(name, text.clone(), Origin::User));
        diagnostics.push(Diagnostic::error(code, Span::new(id, 0, text.len()), message, label).with_help(help));
    }
    Failure { diagnostics, sources, exit }
}

fn collect_ranges(n: &Node, out: &mut HashSet<String>) {
    each_recorded(n, &mut |sel, range| {
        if let (true, Some(m)) = (range, sel.metric()) {
            out.insert(m.to_string());
        }
    });
}

/// Calls `f` on every selector of `n` over recorded series, with whether a
/// range function reads it.
pub(crate) fn each_recorded<'a>(n: &'a Node, f: &mut impl FnMut(&'a plan::Sel, bool)) {
    n.walk(&mut |n| match n {
        Node::RecRange(_, sel, _) => f(sel, true),
        Node::RecInstant(sel) => f(sel, false),
        _ => {}
    });
}

/// Plans the compiled rules: steps in group order plus the raw leaves.
/// `class[g]` is group `g`'s schedule class (its leaves' grid, see
/// [`plan::LeafSpec::phase`]); empty: one class.
pub(crate) fn plan_groups(groups: &[Group], class: &[usize]) -> Result<(Vec<(usize, Step)>, Planner), String> {
    plan_groups_reading(groups, class, recorded_names(groups))
}

/// The metric names the groups' recording rules write.
fn recorded_names(groups: &[Group]) -> BTreeSet<String> {
    groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .filter_map(|r| match r {
            Rule::Record(r) => Some(r.record.name()),
            Rule::Alert(_) => None,
        })
        .collect()
}

/// [`plan_groups`] for some of a program's groups, with `recorded` the
/// names every group of the program records: a selector over one of them
/// reads the store, never the raw data, whichever groups are planned.
pub(crate) fn plan_groups_reading(
    groups: &[Group],
    class: &[usize],
    recorded: BTreeSet<String>,
) -> Result<(Vec<(usize, Step)>, Planner), String> {
    let mut planner = Planner::new(recorded);
    let mut steps = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        planner.phase = class.get(gi).copied().unwrap_or(0);
        for r in &g.rules {
            let node = planner.parse(r.expr()).map_err(|e| format!("group `{}`: `{}`: {e}", g.name, r.expr()))?;
            steps.push((
                gi,
                match r {
                    Rule::Record(rr) => Step::Record {
                        series: rr.record,
                        name: rr.record.name(),
                        labels: rr.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                        node,
                        last: Vec::new(),
                        last_inputs: Vec::new(),
                    },
                    Rule::Alert(a) => Step::Alert {
                        name: a.alert.clone(),
                        spec: a.spec,
                        labels: a.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                        node,
                        for_ms: a.for_.map_or(0, |d| d.ms() as i64),
                        keep_ms: a.keep_firing_for.map_or(0, |d| d.ms() as i64),
                        state: Default::default(),
                    },
                },
            ));
        }
    }
    Ok((steps, planner))
}

/// A recording rule as [`independent_blocks`] sees it: its group, metric
/// name and own labels.
type Write<'a> = (usize, &'a str, &'a [(String, String)]);

/// Groups in blocks that read nothing another block records: a group is in
/// the block of every group whose recording rules one of its selectors may
/// match (same metric name, and no matcher refusing a label the rule sets
/// itself). Returns each group's block, blocks numbered from 0 in order of
/// their first group. Linear in the rules: a selector's writers are looked
/// up by name and by one of its label equalities.
fn independent_blocks(steps: &[(usize, Step)], groups: usize) -> Vec<usize> {
    // Every recording rule: its group, metric name and own labels.
    let writes: Vec<Write> = steps
        .iter()
        .filter_map(|(g, s)| match s {
            Step::Record { name, labels, .. } => Some((*g, name.as_str(), labels.as_slice())),
            Step::Alert { .. } => None,
        })
        .collect();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_label: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
    let mut keys: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (w, (_, name, labels)) in writes.iter().enumerate() {
        by_name.entry(name).or_default().push(w);
        for (k, v) in labels.iter() {
            by_label.entry((name, k, v)).or_default().push(w);
            keys.entry(name).or_default().insert(k);
        }
    }
    // Per name and label: the rules of that name that do not set it.
    let mut lacking: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (w, (_, name, labels)) in writes.iter().enumerate() {
        for k in keys.get(name).into_iter().flatten() {
            if !labels.iter().any(|(l, _)| l == k) {
                lacking.entry((name, k)).or_default().push(w);
            }
        }
    }
    let mut parent: Vec<usize> = (0..groups).collect();
    fn root(parent: &mut [usize], mut g: usize) -> usize {
        while parent[g] != g {
            parent[g] = parent[parent[g]];
            g = parent[g];
        }
        g
    }
    let empty = Vec::new();
    for (g, s) in steps {
        let (Step::Record { node, .. } | Step::Alert { node, .. }) = s;
        let mut sels = Vec::new();
        each_recorded(node, &mut |sel, _| sels.push(sel));
        for sel in sels {
            // The store resolves a selector by its metric name only.
            let Some(name) = sel.metric() else { continue };
            let eq = sel
                .matchers
                .iter()
                .find(|m| m.name != "__name__" && matches!(m.op, promql_parser::label::MatchOp::Equal));
            let (first, second) = match eq {
                Some(m) => (
                    by_label.get(&(name, m.name.as_str(), m.value.as_str())).unwrap_or(&empty),
                    lacking.get(&(name, m.name.as_str())).unwrap_or(&empty),
                ),
                None => (by_name.get(name).unwrap_or(&empty), &empty),
            };
            for &w in first.iter().chain(second) {
                let (wg, wname, labels) = writes[w];
                if replay::columnar::may_match(sel, wname, labels) {
                    let (a, b) = (root(&mut parent, *g), root(&mut parent, wg));
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut number: HashMap<usize, usize> = HashMap::new();
    (0..groups)
        .map(|g| {
            let r = root(&mut parent, g);
            let n = number.len();
            *number.entry(r).or_insert(n)
        })
        .collect()
}

/// How [`evaluate`] ran the blocks.
#[derive(Debug, Default)]
pub struct Evaluated {
    /// Blocks evaluated column by column.
    pub columnar: usize,
    pub blocks: usize,
    /// Why the others ran step by step, with how many blocks each.
    pub fallbacks: BTreeMap<&'static str, usize>,
    /// The time merging the blocks' stores took.
    pub merge: std::time::Duration,
}

impl Evaluated {
    /// Adds how another part of the run's blocks ran.
    pub fn add(&mut self, other: Evaluated) {
        self.columnar += other.columnar;
        self.blocks += other.blocks;
        for (why, n) in other.fallbacks {
            *self.fallbacks.entry(why).or_insert(0) += n;
        }
        self.merge += other.merge;
    }
}

/// A block's rules in evaluation order: (run position, step index, rule).
pub(crate) type BlockRules<'a> = [(usize, usize, &'a mut (usize, Step))];

/// What a run does with each block as soon as it is evaluated, on the
/// thread that evaluated it: given the block's recorded series (with where
/// each was born) and its rules, it may take them (see
/// [`Options::reports`]).
pub type Finish<'f> = dyn for<'a, 'b> Fn(&'a mut Vec<(eval::RecSeries, Born)>, &'a mut BlockRules<'b>) + Sync + 'f;

/// How [`evaluate_blocks`] evaluates and what it keeps.
#[derive(Clone, Copy, Default)]
pub struct Switches<'f> {
    /// Step by step only ([`Options::stepwise`]).
    pub stepwise: bool,
    /// Keep only what the report reads ([`Options::report_only`]).
    pub report_only: bool,
    /// Called with each block as it finishes.
    pub finish: Option<&'f Finish<'f>>,
}

/// Each step's place in the whole program's evaluation order: (the
/// position of its group among the groups in order of phase, then of
/// index; its index among all steps). `steps` are every step of the
/// program, in plan order.
pub(crate) fn eval_keys(steps: &[(usize, Step)], grids: &[Grid]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = steps.iter().map(|(g, _)| *g).collect::<BTreeSet<_>>().into_iter().collect();
    order.sort_by_key(|g| (grids[*g].from, *g));
    let groups = steps.iter().map(|(g, _)| g + 1).max().unwrap_or(0);
    let mut run_of = vec![0; groups];
    for (pos, g) in order.iter().enumerate() {
        run_of[*g] = pos;
    }
    steps.iter().enumerate().map(|(i, (g, _))| (run_of[*g], i)).collect()
}

/// Evaluates planned steps over finished leaves at every step of their
/// group's grid, in time order: at the `k`-th step of every grid (all start
/// within one step of each other), groups run in the order of their phase,
/// then of their index, so a group reading another's recorded series sees
/// what the server would have written by then.
///
/// Groups that read nothing of each other's (see [`independent_blocks`];
/// an SLO's group and the composites over it are one block) are evaluated
/// apart, in parallel, each over its own store, so the memory one step
/// touches is one block's and not every SLO's; the stores are merged in the
/// order the series would have been created in one store.
///
/// A block is evaluated column by column ([`replay::columnar`]: each rule
/// over every step at once) where that is provably the same, unless
/// `stepwise`; else step by step. Returns the merged store, the evaluation
/// errors, and how the blocks ran.
pub fn evaluate(
    steps: &mut [(usize, Step)],
    leaves: &[leaves::LeafOut],
    grids: &[Grid],
    downtime: &[(i64, i64)],
    summed: HashSet<String>,
    switches: &Switches,
    progress: &indicatif::ProgressBar,
) -> (Store, Vec<String>, Evaluated) {
    let keys = eval_keys(steps, grids);
    let (series, errors, mut how) = evaluate_blocks(steps, &keys, leaves, grids, downtime, &summed, switches, progress);
    let merge = std::time::Instant::now();
    let store = merged(series, summed);
    how.merge = merge.elapsed();
    (store, error_list(errors), how)
}

/// One store of separately evaluated series, in the order one store would
/// have created them in (see [`Born`]).
pub(crate) fn merged(mut series: Vec<(Born, eval::RecSeries)>, summed: HashSet<String>) -> Store {
    series.sort_by_key(|(born, _)| *born);
    Store::from_series(summed, series.into_iter().map(|(_, s)| s).collect())
}

/// Evaluation errors as warnings' messages, each with how often it happened.
pub(crate) fn error_list(errors: BTreeMap<String, usize>) -> Vec<String> {
    errors.into_iter().map(|(e, n)| format!("{e} (at {n} evaluations)")).collect()
}

/// The work of [`evaluate`] short of the merge: every independent block of
/// `steps` (all of a program's, or — on a distributed worker — the steps
/// of some blocks, with group indices of their own) over its own store.
/// `keys[j]` is step `j`'s place in the whole program's order
/// ([`eval_keys`]), so the series' [`Born`] keys of separately evaluated
/// parts sort into the order one store would have created them in.
/// Returns every recorded series with where it was born, unsorted, the
/// evaluation errors with their counts, and how the blocks ran.
#[allow(clippy::too_many_arguments)] // reason: the evaluation's inputs and its switches, each used once
pub(crate) fn evaluate_blocks(
    steps: &mut [(usize, Step)],
    keys: &[(usize, usize)],
    leaves: &[leaves::LeafOut],
    grids: &[Grid],
    downtime: &[(i64, i64)],
    summed: &HashSet<String>,
    switches: &Switches,
    progress: &indicatif::ProgressBar,
) -> (Vec<(Born, eval::RecSeries)>, BTreeMap<String, usize>, Evaluated) {
    let Switches { stepwise, report_only, finish } = *switches;
    let groups = steps.iter().map(|(g, _)| g + 1).max().unwrap_or(0);
    let block_of = independent_blocks(steps, groups);
    let blocks = block_of.iter().copied().max().map_or(0, |b| b + 1);
    // Each block's rules in evaluation order: (run position, step index, rule).
    type Work<'a> = Vec<(usize, usize, &'a mut (usize, Step))>;
    let mut work: Vec<Work> = (0..blocks).map(|_| Vec::new()).collect();
    for (s, &(run, i)) in steps.iter_mut().zip(keys) {
        work[block_of[s.0]].push((run, i, s));
    }
    // Groups without rules (or, on a part of the program, not in it) make
    // no block.
    work.retain(|w| !w.is_empty());
    let blocks = work.len();
    for w in &mut work {
        w.sort_by_key(|(run, i, _)| (*run, *i));
    }
    let len = grids.iter().map(|g| g.len).max().unwrap_or(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let columnar = std::sync::atomic::AtomicUsize::new(0);
    let fallbacks: std::sync::Mutex<BTreeMap<&'static str, usize>> = Default::default();
    let eval_block = |rules: &mut Vec<(usize, usize, &mut (usize, Step))>| {
        if !stepwise && !rules.is_empty() {
            match replay::columnar::run(rules, leaves, grids, downtime) {
                Ok(mut out) => {
                    if report_only {
                        report::keep_what_it_reads(&mut out);
                    }
                    if let Some(finish) = finish {
                        finish(&mut out, rules);
                    }
                    columnar.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let d = done.fetch_add(len, std::sync::atomic::Ordering::Relaxed) + len;
                    progress.set_position((d / blocks.max(1)) as u64);
                    return (out, BTreeMap::new());
                }
                Err(replay::columnar::Fallback(why)) => {
                    *fallbacks.lock().unwrap_or_else(|e| e.into_inner()).entry(why).or_insert(0) += 1;
                }
            }
        }
        // Per group of the block, the steps evaluated (None: all).
        let mut live: Vec<Option<Vec<bool>>> = vec![None; grids.len()];
        let groups: BTreeSet<usize> = rules.iter().map(|(_, _, r)| r.0).collect();
        for g in groups {
            live[g] = grids[g].evaluated(downtime);
        }
        let mut store = Store::new(summed.clone());
        let mut born: Vec<Born> = Vec::new();
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        for k in 0..len {
            for (run, i, rule) in rules.iter_mut() {
                let grid = &grids[rule.0];
                let t = grid.at(k);
                if k >= grid.len || live[rule.0].as_ref().is_some_and(|l| !l[k]) {
                    continue;
                }
                if let Err(e) = rule.1.run(leaves, &mut store, k, t) {
                    *errors.entry(e).or_default() += 1;
                }
                while born.len() < store.series.len() {
                    born.push((k, *run, *i, born.len()));
                }
            }
            if k % 1024 == 1023 {
                let d = done.fetch_add(1024, std::sync::atomic::Ordering::Relaxed) + 1024;
                progress.set_position((d / blocks.max(1)) as u64);
            }
        }
        let mut out: Vec<_> = store.into_series().into_iter().zip(born).collect();
        if report_only {
            report::keep_what_it_reads(&mut out);
        }
        if let Some(finish) = finish {
            finish(&mut out, rules);
        }
        (out, errors)
    };
    // Blocks handed out in order to as many threads as there are cores;
    // each result kept at its block's index, so the merge does not depend
    // on which thread ran what.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, blocks.max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work: Vec<std::sync::Mutex<Vec<_>>> = work.into_iter().map(std::sync::Mutex::new).collect();
    let results: Vec<std::sync::Mutex<Option<_>>> = (0..blocks).map(|_| std::sync::Mutex::new(None)).collect();
    let worker = || loop {
        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(rules) = work.get(b) else { break };
        let out = eval_block(&mut rules.lock().unwrap_or_else(|e| e.into_inner()));
        *results[b].lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(worker);
        }
        worker();
    });
    let mut series = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for r in results {
        let Some((s, e)) = r.into_inner().unwrap_or_else(|e| e.into_inner()) else { continue };
        series.extend(s.into_iter().map(|(s, born)| (born, s)));
        for (e, n) in e {
            *errors.entry(e).or_default() += n;
        }
    }
    progress.set_position(len as u64);
    let fallbacks = fallbacks.into_inner().unwrap_or_else(|e| e.into_inner());
    (series, errors, Evaluated { columnar: columnar.into_inner(), blocks, fallbacks, merge: Default::default() })
}

fn progress_bar(enabled: bool, len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {percent:>3}% {human_pos}/{human_len} ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Replays `program` over the data.
pub fn run(program: &ir::Program, sources: SourceMap, opts: &Options) -> Result<Backtest, Failure> {
    let popts = crate::promql::Options {
        eval_interval: crate::units::Duration::from_ms(opts.step_ms as u64),
        extra_windows: opts.extra_windows.clone(),
        // Each tier its own alert, so the report tells them apart (a
        // joined alert fires exactly when one of its tiers does).
        join: crate::promql::Join::None,
        ..Default::default()
    };
    if let Err(errs) = crate::promql::validate(program, &popts) {
        return Err(Failure { diagnostics: errs.iter().map(|e| e.diagnostic()).collect(), sources, exit: 1 });
    }
    let groups = match crate::promql::groups(program, &popts) {
        Ok(g) => g,
        Err(e) => return Err(Failure { diagnostics: vec![e.diagnostic()], sources, exit: 1 }),
    };
    if let Some(p) = &opts.phases {
        if p.len() != groups.len() {
            return Err(Failure::usage(
                sources,
                "slo::backtest::schedule",
                format!("{} group offsets for {} rule groups", p.len(), groups.len()),
                "give one offset per rule group",
            ));
        }
    }
    // Schedule classes: groups evaluated at the same phase share leaves.
    let phases: Vec<i64> = opts.phases.iter().flatten().map(|x| x.rem_euclid(opts.step_ms)).collect();
    let phase_list: Vec<i64> = phases.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let class: Vec<usize> = phases.iter().map(|x| phase_list.binary_search(x).unwrap_or(0)).collect();
    let (mut steps, planner) = match plan_groups(&groups, &class) {
        Ok(p) => p,
        Err(e) => {
            return Err(Failure::usage(
                sources,
                "slo::backtest::unsupported",
                e,
                "the backtester evaluates the PromQL subset `slo compile` emits; please report this",
            ))
        }
    };
    let mut summed = HashSet::new();
    for (_, s) in &steps {
        match s {
            Step::Record { node, .. } | Step::Alert { node, .. } => collect_ranges(node, &mut summed),
        }
    }
    let max_range = planner.leaves.iter().map(|l| l.kind.lookbehind()).max().unwrap_or(0);
    let src = data::Source::new(opts.data.clone(), opts.memory_limit);
    let rt = match crate::layout::reader::runtime() {
        Ok(rt) => rt,
        Err(e) => return Err(Failure::usage(sources, "slo::backtest::runtime", e.to_string(), "")),
    };
    let workers = match distributed::parse_workers(&opts.workers) {
        Ok(w) => w,
        Err(f) => return Err(Failure::coded(sources, f.code, f.message, &f.help)),
    };
    let t0 = std::time::Instant::now();
    crate::memory::phase("reading the data");
    let probe_leaves = Leaves::new(planner.leaves.clone(), Grid { from: 0, step: 1, len: 0 });
    let (range, rows, out_of_range) = match guarded(&src.paths, || data::probe(&src, &probe_leaves, &rt)) {
        Ok(r) => r,
        Err(es) => return Err(data_failure(sources, es)),
    };
    let t_probe = t0.elapsed();
    let Some((first, last)) = range else {
        let names: BTreeSet<&str> = planner.leaves.iter().filter_map(|l| l.sel.metric()).collect();
        let list = names.into_iter().collect::<Vec<_>>().join(", ");
        return Err(Failure {
            exit: 1,
            ..data_failure_message(
                sources,
                "slo::data::no_samples",
                format!("the data has no samples of the metrics the SLOs read: {list}"),
                "check that --data points at the right files, and that the metric names match",
            )
        });
    };
    let step = opts.step_ms;
    let from = opts.from_ms.unwrap_or_else(|| match opts.phases {
        // A server's evaluations start where the data does.
        Some(_) => first,
        None => first.div_euclid(step) * step + if first.rem_euclid(step) == 0 { 0 } else { step },
    });
    let to = opts.to_ms.unwrap_or(last);
    if to < from {
        return Err(Failure::usage(
            sources,
            "slo::backtest::empty_range",
            format!("the range {} .. {} is empty", fmt_ts(from), fmt_ts(to)),
            "--to must not be before --from; without them the range is the data's",
        ));
    }
    // Every leaf holds a value per step: bound the grid before allocating it.
    const MAX_STEPS: i64 = 10_000_000;
    if (to - from) / step + 1 > MAX_STEPS {
        return Err(Failure::usage(
            sources,
            "slo::backtest::too_many_steps",
            format!(
                "{} .. {} every {} is {} evaluations, more than {MAX_STEPS}",
                fmt_ts(from),
                fmt_ts(to),
                crate::units::fmt_duration(step as u64),
                (to - from) / step + 1
            ),
            "narrow the range with --from/--to, or use a longer --step",
        ));
    }
    let len = ((to - from) / step + 1) as usize;
    let grid = Grid { from, step, len };
    // Per class, the first time at or after `from` with its phase.
    let class_grids: Vec<Grid> = match opts.phases {
        None => vec![grid],
        Some(_) => phase_list
            .iter()
            .map(|&p| {
                let start = from + (p - from).rem_euclid(step);
                Grid { from: start, step, len: if start > to { 0 } else { ((to - start) / step + 1) as usize } }
            })
            .collect(),
    };
    let group_grids: std::sync::Arc<[Grid]> =
        (0..groups.len()).map(|g| class_grids[class.get(g).copied().unwrap_or(0)]).collect();
    let lo = from - max_range - leaves::LOOKBACK_MS;
    let slo_reports;
    // Only where the blocks are reported as they finish, and here.
    let spill = match (&opts.timeline, &opts.reports) {
        (Some(path), Some(_)) => match timeline::Spill::new(path) {
            Ok(s) => Some(s),
            Err(e) => {
                let help = "give --timeline a path in a directory slo can write to";
                return Err(Failure::exit2(sources, "--timeline", e.code, e.message, "cannot write here", help));
            }
        },
        _ => None,
    };
    let (stats, leaf_errors, selector_problems, store, eval_errors, evaluated) = if workers.is_empty() {
        // The first scan: every leaf within the budget, the others counted
        // (see [`waves`]).
        let plan = waves::Plan::new(&steps, groups.len(), &class);
        let budget = waves::budget(crate::memory::limit());
        let scans = waves::Scans { src: &src, specs: &planner.leaves, grids: &class_grids, range: (lo, to), rt: &rt };
        let bar = progress_bar(opts.progress, rows, "scan");
        let waves::First { stats, errors: leaf_errors, outs, waves } = match scans.first(&plan, budget, &bar) {
            Ok(f) => f,
            Err(es) => return Err(data_failure(sources, es)),
        };
        let stats = data::Stats { out_of_range, ..stats };
        bar.finish_and_clear();
        let t_scan = t0.elapsed();
        let selector_problems = selector_problems(&planner.leaves, &outs);
        let mut first_outs = Some(outs);
        crate::memory::phase("evaluating the rules");
        let of = |what: &str, w: usize| match waves.waves {
            1 => what.to_string(),
            n => format!("{what} {}/{n}", w + 1),
        };
        let bar = progress_bar(opts.progress, len as u64, &of("evaluate", 0));
        let reports = std::sync::Mutex::new(vec![None; program.slos.len()]);
        let finish = |series: &mut Vec<(eval::RecSeries, Born)>, rules: &mut BlockRules| {
            if let Some(settings) = &opts.reports {
                let slos: BTreeSet<usize> = rules.iter().map(|(_, _, r)| r.0).collect();
                let part = block_part(series, rules, grid, &group_grids, first);
                report_block(&part, slos, program, settings, opts.html, spill.as_ref(), &reports);
            }
        };
        let switches = Switches { stepwise: opts.stepwise, report_only: opts.report_only, finish: Some(&finish) };
        // The later waves' scans: each computes its own leaves.
        let mut t_rescan = std::time::Duration::ZERO;
        let leaves_of = |w: usize| -> Result<Vec<leaves::LeafOut>, Vec<data::DataError>> {
            if w == 0 {
                return Ok(first_outs.take().unwrap_or_default());
            }
            let t = std::time::Instant::now();
            crate::memory::phase("reading the data again");
            bar.set_message(of("scan", w));
            bar.set_length(rows);
            bar.set_position(0);
            let full = scans.wave(&plan, &waves, w, &bar)?;
            crate::memory::phase("evaluating the rules");
            bar.set_message(of("evaluate", w));
            bar.set_length(len as u64);
            bar.set_position(0);
            t_rescan += t.elapsed();
            Ok(full)
        };
        let keys = eval_keys(&steps, &group_grids);
        let evaluated = waves::evaluate(
            &mut steps,
            &keys,
            &plan,
            &waves,
            leaves_of,
            &group_grids,
            &opts.downtime,
            summed,
            &switches,
            &bar,
        );
        let (store, eval_errors, how) = match evaluated {
            Ok((store, errors, how)) => (store, error_list(errors), how),
            Err(es) => return Err(data_failure(sources, es)),
        };
        slo_reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
        bar.finish_and_clear();
        if opts.timing {
            let why: Vec<String> = how.fallbacks.iter().map(|(w, n)| format!("; {n} step by step: {w}")).collect();
            let in_waves = match waves.waves {
                1 => String::new(),
                n => format!("; leaves in {n} waves, each a scan"),
            };
            crate::errln!(
                "timing: probe+scan+leaves {:.3}s, rule evaluation {:.3}s (merge {:.3}s; {} steps, {} leaves, {} of {} blocks column by column{}{})",
                (t_scan + t_rescan).as_secs_f64(),
                (t0.elapsed() - t_scan - t_rescan).as_secs_f64(),
                how.merge.as_secs_f64(),
                grid.len,
                planner.leaves.len(),
                how.columnar,
                how.blocks,
                why.concat(),
                in_waves
            );
        }
        (stats, leaf_errors, selector_problems, store, eval_errors, how)
    } else {
        let block_of = independent_blocks(&steps, groups.len());
        let job = distributed::job::Job {
            protocol: distributed::job::PROTOCOL,
            groups: groups.iter().map(distributed::job::WireGroup::from_group).collect(),
            class: (0..groups.len()).map(|g| class.get(g).copied().unwrap_or(0)).collect(),
            class_grids: class_grids.iter().map(distributed::job::wire_grid).collect(),
            group_grids: group_grids.iter().map(distributed::job::wire_grid).collect(),
            keys: eval_keys(&steps, &group_grids),
            downtime: opts.downtime.clone(),
            lo,
            hi: to,
            data: opts.data.iter().map(|p| p.display().to_string()).collect(),
            memory_limit: opts.memory_limit,
            leaf_budget: waves::budget(crate::memory::limit()),
            stepwise: opts.stepwise,
            report_only: opts.report_only,
            // At least two tasks, so that even one worker runs the replay
            // (the runtime runs a one-task stage in the coordinator).
            tasks: distributed::job::assign(
                &block_of,
                &groups.iter().map(|g| g.rules.len()).collect::<Vec<_>>(),
                workers.len().max(2),
            ),
        };
        let reports = std::sync::Mutex::new(vec![None; program.slos.len()]);
        // Per block, its steps in plan order.
        let mut steps_of: Vec<Vec<usize>> = vec![Vec::new(); block_of.iter().max().map_or(0, |b| b + 1)];
        for (i, (g, _)) in steps.iter().enumerate() {
            steps_of[block_of[*g]].push(i);
        }
        let mut merged: Vec<(Born, eval::RecSeries)> = Vec::new();
        let mut histories = distributed::Histories::new();
        // The data's statistics, leaf errors and selector problems, as the
        // embedded scan finds them: the same rows through the same leaves,
        // on one step, while the workers replay.
        let one_step: Vec<Grid> = class_grids.iter().map(|g| Grid { len: g.len.min(1), ..*g }).collect();
        let mut lv = Leaves::phased(planner.leaves.clone(), one_step);
        crate::memory::phase("replaying on the workers");
        let hidden = indicatif::ProgressBar::hidden();
        // The replay's progress: its blocks as they come back.
        let bar = progress_bar(opts.progress, steps_of.iter().filter(|s| !s.is_empty()).count() as u64, "replay");
        let report_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let reporting = std::sync::atomic::AtomicU64::new(0);
        let (queue, queued) = std::sync::mpsc::sync_channel::<distributed::Block>(report_threads);
        let queued = std::sync::Mutex::new(queued);
        let (counted, replayed) = std::thread::scope(|scope| {
            let counting = scope.spawn(|| {
                let t = std::time::Instant::now();
                guarded(&src.paths, || data::scan(&src, &mut lv, lo, to, &rt, &hidden)).map(|s| (s, t.elapsed()))
            });
            // Each block as it comes: reported and dropped, as an embedded
            // run's blocks are (or, without reports, merged into one store).
            // The reports are built on threads of their own, a few blocks
            // queued at most, while this thread reads the workers' streams.
            if let Some(settings) = &opts.reports {
                for _ in 0..report_threads {
                    scope.spawn(|| loop {
                        let next = queued.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(b) = next else { break };
                        let t = std::time::Instant::now();
                        let mine = block_of.get(b.group).and_then(|&k| steps_of.get(k)).map_or(&[][..], Vec::as_slice);
                        let (slos, part) = worker_part(b, &steps, mine, grid, &group_grids, first);
                        report_block(&part, slos, program, settings, opts.html, spill.as_ref(), &reports);
                        reporting.fetch_add(t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
                    });
                }
            }
            let mut on_block = |b: distributed::Block| {
                bar.inc(1);
                match &opts.reports {
                    // The threads end early only if this run is failing.
                    Some(_) => drop(queue.send(b)),
                    None => {
                        merged.extend(b.series);
                        histories.extend(b.histories);
                    }
                }
            };
            let replayed = distributed::replay(job, &steps, &block_of, &workers, &rt, &mut on_block);
            drop(queue);
            bar.finish_and_clear();
            let counted = counting.join().unwrap_or_else(|_| {
                Err(vec![data::DataError::Engine { message: "the counting scan panicked".into() }])
            });
            (counted, replayed)
        });
        let (stats, t_count) = match counted {
            Ok((s, t)) => (data::Stats { out_of_range, ..s }, t),
            Err(es) => return Err(data_failure(sources, es)),
        };
        let r = match replayed {
            Ok(r) => r,
            Err(f) => return Err(Failure::coded(sources, f.code, f.message, &f.help)),
        };
        if opts.timing {
            let t = &r.timing;
            crate::errln!(
                "timing: probe {:.3}s, distributed plan {:.3}s, replay on {} tasks {:.3}s, merge {:.3}s (reports {:.3}s on {} threads), counting scan {:.3}s",
                t_probe.as_secs_f64(),
                t.plan_s,
                t.tasks.len(),
                t.replay_s,
                t.merge_s,
                reporting.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9,
                report_threads,
                t_count.as_secs_f64()
            );
            for (i, (addr, scan, eval, n)) in t.tasks.iter().enumerate() {
                crate::errln!(
                    "timing:   task {i} on {addr}: scan+leaves {scan:.3}s, rule evaluation {eval:.3}s, {n} series"
                );
            }
        }
        slo_reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
        for (i, s) in steps.iter_mut().enumerate() {
            if let (_, Step::Alert { state, .. }) = s {
                state.history = histories.remove(&i).unwrap_or_default();
            }
        }
        merged.sort_by_key(|(born, _)| *born);
        let store = Store::from_series(summed, merged.into_iter().map(|(_, s)| s).collect());
        let leaf_errors = std::mem::take(&mut lv.errors);
        let selector_problems = selector_problems(&planner.leaves, &lv.finish());
        (stats, leaf_errors, selector_problems, store, r.errors, r.evaluated)
    };
    let mut warnings = Vec::new();
    let mut sources = sources;
    let mut note = |code: &'static str, message: String, label: &str, help: &str| {
        warnings.push(warning(&mut sources, code, message, label, help));
    };
    for p in selector_problems {
        note(p.code, p.message, &p.label, &p.help);
    }
    for e in leaf_errors.into_iter().chain(eval_errors) {
        note("slo::backtest::eval", e, "evaluation failed", "Prometheus would log this rule evaluation as failed");
    }
    if stats.nan_values + stats.inf_values > 0 {
        note(
            "slo::data::nonfinite",
            format!(
                "{} NaN and {} infinite sample values (first in {}) were used as Prometheus would use them",
                stats.nan_values,
                stats.inf_values,
                stats.nonfinite_example.clone().unwrap_or_default()
            ),
            "non-finite values",
            "windows containing them yield NaN or ±Inf, exactly as in Prometheus; fix the exporter if they are not intended",
        );
    }
    // Rows the scan skipped, each kind with its count.
    let skipped = [
        (
            stats.out_of_range,
            "slo::data::timestamp_range",
            "rows of the metrics the SLOs read have a timestamp outside the years 0000 to 9999 and were skipped",
            "rows skipped",
            "such times come from a unit mistake (seconds read as milliseconds, or nanoseconds as seconds): store the timestamp column as Timestamp with its real unit, or Int64 milliseconds",
        ),
        (
            stats.null_timestamps,
            "slo::data::null_timestamp",
            "rows have a null timestamp and were skipped",
            "rows skipped",
            "every sample needs a time: fix the writer of the file, or drop those rows",
        ),
        (
            stats.unnamed_rows,
            "slo::data::unnamed",
            "rows have a null or empty metric name and were skipped",
            "rows skipped",
            "every Prometheus series has a `__name__`: fill the name column (or `metric`) for those rows",
        ),
        (
            stats.label_conflicts,
            "slo::data::label_conflict",
            "rows give a label one value in its column and another in the `labels` map; the map's value was used",
            "label given twice",
            "keep each label in one place: its own column or the `labels` map",
        ),
    ];
    for (n, code, what, label, help) in skipped {
        if n > 0 {
            note(code, format!("{n} {what}"), label, help);
        }
    }
    if stats.duplicates_dropped > 0 {
        note(
            "slo::data::duplicate_identical",
            format!("{} repeated samples (same series, timestamp and value) were dropped", stats.duplicates_dropped),
            "duplicates",
            "Prometheus also ignores an identical repeated sample",
        );
    }
    // With the reports built per block, the blocks took the histories.
    let alerts = match opts.reports {
        Some(_) => Vec::new(),
        _ => steps
            .into_iter()
            .filter_map(|(g, s)| match s {
                Step::Alert { name, spec, state, .. } => {
                    Some(AlertRun { group: g, name, spec, history: state.history })
                }
                Step::Record { .. } => None,
            })
            .collect(),
    };
    Ok(Backtest {
        grid,
        group_grids,
        data_start_ms: first,
        groups,
        alerts,
        stats,
        warnings,
        sources,
        evaluated,
        by_slo: index_by_slo(&store),
        store,
        slo_reports,
        timeline: spill,
    })
}

/// Builds the reports of a finished block's SLOs (`slos`, with `html`
/// their HTML sections too) from its replay `part` into `reports`, and
/// spills its timeline rows to `spill`.
fn report_block(
    part: &Backtest,
    slos: BTreeSet<usize>,
    program: &ir::Program,
    settings: &analysis::Settings,
    html: bool,
    spill: Option<&timeline::Spill>,
    reports: &std::sync::Mutex<Vec<Option<Built>>>,
) {
    if let (Some(spill), Some(&key)) = (spill, slos.first()) {
        spill.add(key, part);
    }
    let built: Vec<_> = slos
        .into_iter()
        .map(|i| {
            let report = report::slo_report(part, program, settings, i);
            let html = html.then(|| html::section(part, program, i, &report));
            (i, Built { report, html })
        })
        .collect();
    let mut reports = reports.lock().unwrap_or_else(|e| e.into_inner());
    for (i, b) in built {
        if let Some(slot) = reports.get_mut(i) {
            *slot = Some(b);
        }
    }
}

/// One evaluated block as a replay of its own, for its SLOs' reports
/// ([`Options::reports`]): it takes the block's recorded series (put in
/// the order one store would have created them in) and its alert
/// histories (in plan order, as [`Backtest::alerts`]): see [`part`].
fn block_part(
    series: &mut Vec<(eval::RecSeries, Born)>,
    rules: &mut BlockRules,
    grid: Grid,
    group_grids: &std::sync::Arc<[Grid]>,
    data_start_ms: i64,
) -> Backtest {
    series.sort_by_key(|(_, born)| *born);
    let series = series.drain(..).map(|(s, _)| s).collect();
    let mut alerts: Vec<(usize, AlertRun)> = rules
        .iter_mut()
        .filter_map(|(_, i, rule)| {
            let group = rule.0;
            match &mut rule.1 {
                Step::Alert { name, spec, state, .. } => Some((
                    *i,
                    AlertRun { group, name: name.clone(), spec: *spec, history: std::mem::take(&mut state.history) },
                )),
                Step::Record { .. } => None,
            }
        })
        .collect();
    alerts.sort_by_key(|(i, _)| *i);
    part(series, alerts.into_iter().map(|(_, a)| a).collect(), grid, group_grids, data_start_ms)
}

/// A block a worker replayed ([`distributed::Block`]) as [`block_part`]
/// makes an embedded one: its series, and its alerting rules (`mine`: its
/// steps, in plan order) with the histories the worker sent. Returns its
/// SLOs too.
fn worker_part(
    b: distributed::Block,
    steps: &[(usize, Step)],
    mine: &[usize],
    grid: Grid,
    group_grids: &std::sync::Arc<[Grid]>,
    data_start_ms: i64,
) -> (BTreeSet<usize>, Backtest) {
    let distributed::Block { series, mut histories, .. } = b;
    let mut slos = BTreeSet::new();
    let mut alerts = Vec::new();
    for &i in mine {
        let Some((g, s)) = steps.get(i) else { continue };
        slos.insert(*g);
        if let Step::Alert { name, spec, .. } = s {
            let history = histories.remove(&i).unwrap_or_default();
            alerts.push(AlertRun { group: *g, name: name.clone(), spec: *spec, history });
        }
    }
    let series = series.into_iter().map(|(_, s)| s).collect();
    (slos, part(series, alerts, grid, group_grids, data_start_ms))
}

/// A replay of one block, for its SLOs' reports: its recorded series in
/// store order and its alerting rules in plan order. What the report does
/// not read of a replay (its groups, statistics, warnings, sources) is
/// left empty.
fn part(
    series: Vec<eval::RecSeries>,
    alerts: Vec<AlertRun>,
    grid: Grid,
    group_grids: &std::sync::Arc<[Grid]>,
    data_start_ms: i64,
) -> Backtest {
    let store = Store::from_series(HashSet::new(), series);
    Backtest {
        grid,
        group_grids: group_grids.clone(),
        data_start_ms,
        groups: Vec::new(),
        by_slo: index_by_slo(&store),
        store,
        alerts,
        stats: data::Stats::default(),
        warnings: Vec::new(),
        sources: SourceMap::default(),
        evaluated: Evaluated::default(),
        slo_reports: Vec::new(),
        timeline: None,
    }
}

/// A problem a selector of the SLOs has with the data: it matches nothing,
/// misses every bucket of its histogram, or groups by a label no series has.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    pub label: String,
    pub help: String,
}

/// How many series of the data a selector the SLOs read matches.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SelectorFinding {
    pub selector: String,
    pub matched_series: u64,
}

/// What the leaves found wrong with their selectors, in a stable order:
/// selectors matching nothing (by selector text), then absent grouping
/// labels (by label and metric). The backtest reports them as warnings and
/// `slo data inspect --slo` lists them.
pub(crate) fn selector_problems(specs: &[plan::LeafSpec], outs: &[leaves::LeafOut]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut note = |code: &'static str, message: String, label: &str, help: &str| {
        problems.push(Problem { code, message, label: label.to_string(), help: help.to_string() });
    };
    // Selectors that matched no series at all, with the buckets that do
    // exist when only an `le` matcher missed.
    let mut empty: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // One per selector, however many windows and functions read it.
    for (spec, out) in specs.iter().zip(outs) {
        if out.matched == 0 {
            empty.entry(spec.sel.text()).or_default().extend(out.missed_buckets.iter().cloned());
        }
    }
    for (e, buckets) in empty {
        if buckets.is_empty() {
            note(
                "slo::backtest::no_match",
                format!("no series in the data match `{e}`"),
                "matches nothing",
                "an SLI that reads nothing has no value; check the metric name and labels against `slo data inspect`-style listings of the data",
            );
        } else {
            let mut les: Vec<&String> = buckets.iter().collect();
            les.sort_by(|a, b| le_order(a).total_cmp(&le_order(b)).then(a.cmp(b)));
            let listed: Vec<String> = les.iter().map(|l| format!("le=\"{l}\"")).collect();
            note(
                "slo::backtest::no_bucket",
                format!(
                    "no bucket of the histogram matches the `le` of `{e}`; its buckets are {}",
                    listed.join(", ")
                ),
                "no such bucket",
                "a latency threshold must be one of the histogram's bucket boundaries: set `below` to one of the buckets listed (the SLI has no value until then, in Prometheus too)",
            );
        }
    }
    // Grouping labels no matched series has (`group_by = [tennant]` over
    // data labelled `tenant`): every group would read `tennant=""`.
    let mut absent: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (spec, out) in specs.iter().zip(outs) {
        for l in &out.absent_grouping {
            let metric = spec.sel.metric().unwrap_or("").to_string();
            absent.entry((l.clone(), metric)).or_default().extend(out.labels_seen.iter().cloned());
        }
    }
    for ((label, metric), seen) in absent {
        let near = seen
            .iter()
            .map(|s| (strsim::damerau_levenshtein(s, &label), s))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, s)| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        let listed: Vec<&str> = seen.iter().map(String::as_str).collect();
        note(
            "slo::backtest::group_label_absent",
            format!(
                "the SLI is grouped by `{label}`, but no `{metric}` series in the data has that label (its labels: {})",
                listed.join(", ")
            ),
            "grouping label absent",
            &format!(
                "{near}every series then falls in one group with an empty `{label}`, and alerts carry `{label}=\"\"`: \
                 group by labels the data has"
            ),
        );
    }
    problems
}

/// A warning about the data, with the message as its own source (there is
/// no .slo text to point at).
fn warning(sources: &mut SourceMap, code: &'static str, message: String, label: &str, help: &str) -> Diagnostic {
    let id = sources.add(Source::new("<backtest>", message.clone(), Origin::User));
    Diagnostic::warning(code, Span::new(id, 0, message.len()), message, label).with_help(help)
}

/// [`Problem`]s as warnings to render.
pub fn problem_warnings(problems: &[Problem], sources: &mut SourceMap) -> Vec<Diagnostic> {
    problems.iter().map(|p| warning(sources, p.code, p.message.clone(), &p.label, &p.help)).collect()
}

/// Every selector the SLOs read, with how many series of the data it
/// matches (over all of the data's time), and the problems of
/// [`selector_problems`]: `slo data inspect --slo`.
pub(crate) fn inspect_selectors(
    program: &ir::Program,
    src: &data::Source,
    rt: &tokio::runtime::Runtime,
) -> Result<(Vec<SelectorFinding>, Vec<Problem>), Vec<data::DataError>> {
    let engine = |message: String| vec![data::DataError::Engine { message }];
    let popts = crate::promql::Options::default();
    let groups = crate::promql::groups(program, &popts).map_err(|e| engine(e.diagnostic().message))?;
    let (_, planner) = plan_groups(&groups, &[]).map_err(engine)?;
    // One step: what is wanted is which series match, not their values.
    let mut lv = Leaves::new(planner.leaves.clone(), Grid { from: data::MAX_MS, step: 1, len: 1 });
    let bar = indicatif::ProgressBar::hidden();
    guarded(&src.paths, || data::scan(src, &mut lv, data::MIN_MS, data::MAX_MS, rt, &bar))?;
    let outs = lv.finish();
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for (spec, out) in planner.leaves.iter().zip(&outs) {
        let n = found.entry(spec.sel.text()).or_default();
        *n = (*n).max(out.matched);
    }
    let findings = found.into_iter().map(|(selector, n)| SelectorFinding { selector, matched_series: n }).collect();
    Ok((findings, selector_problems(&planner.leaves, &outs)))
}

/// Where a bucket boundary sorts: its value (`+Inf` last), text that does
/// not parse after every number.
fn le_order(le: &str) -> f64 {
    le.trim().parse::<f64>().unwrap_or(f64::INFINITY)
}

fn data_failure_message(mut sources: SourceMap, code: &'static str, message: String, help: &str) -> Failure {
    let id = sources.add(Source::new("<data>", message.clone(), Origin::User));
    let d = Diagnostic::error(code, Span::new(id, 0, message.len()), message, "no samples").with_help(help);
    Failure { diagnostics: vec![d], sources, exit: 1 }
}
