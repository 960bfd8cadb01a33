//! The replay as a DataFusion plan node: [`ReplayExec`] runs, in each task
//! of its stage, the part of a [`Job`] that task was given — it scans the
//! Parquet data for the leaves of its groups only, evaluates its
//! independent blocks, and streams what they recorded as Arrow record
//! batches ([`schema`]). [`ReplayCodec`] carries the node to a worker.
//!
//! A task's output, row by row (`kind`):
//! - [`SERIES`]: one recorded series: where it was born (evaluation `k`,
//!   run position, global step index, sequence in its block's store), its
//!   labels, samples and staleness markers;
//! - [`ALERT`]: one alert instance's history: the alerting rule's global
//!   step index, its labels, pending and firing evaluation times;
//! - [`ERROR`]: an evaluation error and how often it happened;
//! - [`BLOCK`]: the last row of a block: its series and alerts are all
//!   sent (every row names its block, as the blocks a task evaluates at
//!   once interleave);
//! - [`DONE`]: last row of every task: where it ran, its scan and
//!   evaluation times and how many series it recorded. A task's stream
//!   without it is cut short (the coordinator refuses it).

use super::job::{self, Job};
use crate::backtest::eval::{RecSeries, Step};
use crate::backtest::replay::times::Times;
use crate::backtest::{collect_ranges, data, plan_groups_reading, waves, BlockRules, Born, Switches};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, Int64Builder, ListArray, ListBuilder, StringBuilder,
    UInt64Builder, UInt8Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, UInt64Type, UInt8Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion_distributed::DistributedTaskContext;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

pub const SERIES: u8 = 0;
pub const ALERT: u8 = 1;
pub const ERROR: u8 = 2;
pub const DONE: u8 = 3;
pub const BLOCK: u8 = 4;

/// Where this process serves as a worker (`slo worker` sets it), for the
/// [`DONE`] row; empty in the coordinator.
pub static WORKER_ADDR: OnceLock<String> = OnceLock::new();

/// The columns of a task's output.
pub fn schema() -> SchemaRef {
    let list =
        |name: &str, t: DataType| Field::new(name, DataType::List(Arc::new(Field::new_list_field(t, true))), false);
    Arc::new(Schema::new(vec![
        Field::new("kind", DataType::UInt8, false),
        Field::new("task", DataType::UInt64, false),
        // The block a series, alert or block end belongs to: its lowest
        // group in the whole program.
        Field::new("block", DataType::UInt64, false),
        // Series: born (k, run, step, seq); alert: step; error: count;
        // done: series count in `seq`.
        Field::new("k", DataType::UInt64, false),
        Field::new("run", DataType::UInt64, false),
        Field::new("step", DataType::UInt64, false),
        Field::new("seq", DataType::UInt64, false),
        list("label_names", DataType::Utf8),
        list("label_values", DataType::Utf8),
        // Series: sample times as runs (start, stride, count, flattened),
        // values, staleness markers; alert: pending times in `ts`, firing
        // times in `stale`.
        list("ts", DataType::Int64),
        list("v", DataType::Float64),
        list("stale", DataType::Int64),
        // Error: its message; done: the worker's address.
        Field::new("message", DataType::Utf8, false),
        // Done: seconds scanning and evaluating.
        Field::new("scan_s", DataType::Float64, false),
        Field::new("eval_s", DataType::Float64, false),
    ]))
}

/// Rows of a task's output, flushed as batches of bounded size.
struct Rows {
    schema: SchemaRef,
    task: u64,
    kind: UInt8Builder,
    tasks: UInt64Builder,
    block: UInt64Builder,
    k: UInt64Builder,
    run: UInt64Builder,
    step: UInt64Builder,
    seq: UInt64Builder,
    names: ListBuilder<StringBuilder>,
    values: ListBuilder<StringBuilder>,
    ts: ListBuilder<Int64Builder>,
    v: ListBuilder<Float64Builder>,
    stale: ListBuilder<Int64Builder>,
    message: StringBuilder,
    scan_s: Float64Builder,
    eval_s: Float64Builder,
    /// Values held (sample count, roughly), to bound a batch.
    held: usize,
    rows: usize,
}

/// A batch holds at most this many list values (about 8 MB of samples)
/// and this many rows.
const BATCH_VALUES: usize = 1 << 20;
const BATCH_ROWS: usize = 8192;

struct Row<'a> {
    kind: u8,
    block: u64,
    key: [u64; 4],
    labels: &'a [(String, String)],
    ts: &'a [i64],
    v: &'a [f64],
    stale: &'a [i64],
    message: &'a str,
    secs: (f64, f64),
}

impl Row<'static> {
    const EMPTY: Row<'static> = Row {
        kind: SERIES,
        block: 0,
        key: [0; 4],
        labels: &[],
        ts: &[],
        v: &[],
        stale: &[],
        message: "",
        secs: (0.0, 0.0),
    };
}

impl Rows {
    fn new(task: usize) -> Rows {
        Rows {
            schema: schema(),
            task: task as u64,
            kind: UInt8Builder::new(),
            tasks: UInt64Builder::new(),
            block: UInt64Builder::new(),
            k: UInt64Builder::new(),
            run: UInt64Builder::new(),
            step: UInt64Builder::new(),
            seq: UInt64Builder::new(),
            names: ListBuilder::new(StringBuilder::new()),
            values: ListBuilder::new(StringBuilder::new()),
            ts: ListBuilder::new(Int64Builder::new()),
            v: ListBuilder::new(Float64Builder::new()),
            stale: ListBuilder::new(Int64Builder::new()),
            message: StringBuilder::new(),
            scan_s: Float64Builder::new(),
            eval_s: Float64Builder::new(),
            held: 0,
            rows: 0,
        }
    }

    fn push(&mut self, r: Row) {
        self.kind.append_value(r.kind);
        self.tasks.append_value(self.task);
        self.block.append_value(r.block);
        self.k.append_value(r.key[0]);
        self.run.append_value(r.key[1]);
        self.step.append_value(r.key[2]);
        self.seq.append_value(r.key[3]);
        for (name, value) in r.labels {
            self.names.values().append_value(name);
            self.values.values().append_value(value);
        }
        self.names.append(true);
        self.values.append(true);
        self.ts.values().append_slice(r.ts);
        self.ts.append(true);
        self.v.values().append_slice(r.v);
        self.v.append(true);
        self.stale.values().append_slice(r.stale);
        self.stale.append(true);
        self.message.append_value(r.message);
        self.scan_s.append_value(r.secs.0);
        self.eval_s.append_value(r.secs.1);
        self.held += r.ts.len() + r.v.len() + r.stale.len() + r.labels.len();
        self.rows += 1;
    }

    fn full(&self) -> bool {
        self.held >= BATCH_VALUES || self.rows >= BATCH_ROWS
    }

    fn flush(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.kind.finish()),
            Arc::new(self.tasks.finish()),
            Arc::new(self.block.finish()),
            Arc::new(self.k.finish()),
            Arc::new(self.run.finish()),
            Arc::new(self.step.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.names.finish()),
            Arc::new(self.values.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.v.finish()),
            Arc::new(self.stale.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.scan_s.finish()),
            Arc::new(self.eval_s.finish()),
        ];
        self.held = 0;
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// The replay of some independent blocks of a program's rule groups: in
/// task `i` of its stage, the groups `job.tasks[i]`.
#[derive(Debug)]
pub struct ReplayExec {
    pub job: Arc<Job>,
    properties: Arc<PlanProperties>,
}

impl ReplayExec {
    pub fn new(job: Arc<Job>) -> ReplayExec {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        ReplayExec { job, properties }
    }
}

impl DisplayAs for ReplayExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ReplayExec: {} groups in {} tasks", self.job.groups.len(), self.job.tasks.len())
    }
}

impl ExecutionPlan for ReplayExec {
    fn name(&self) -> &str {
        "ReplayExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        if !children.is_empty() {
            return internal_err!("ReplayExec has no children, got {}", children.len());
        }
        Ok(self)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("ReplayExec has one partition, asked for {partition}");
        }
        let task = DistributedTaskContext::from_ctx(&context).task_index;
        if task >= self.job.tasks.len() {
            return internal_err!("ReplayExec: task {task} of a job with {} tasks", self.job.tasks.len());
        }
        // The replay is CPU-bound and runs its own scan runtime: a thread
        // of its own, its batches handed over through a small channel.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        let job = self.job.clone();
        std::thread::Builder::new()
            .name(format!("slo-replay-{task}"))
            .spawn(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_task(&job, task, &tx)));
                let failure = match r {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(p) => Some(format!(
                        "the replay panicked: {}",
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    )),
                };
                if let Some(e) = failure {
                    let _ = tx.blocking_send(Err(DataFusionError::Execution(e)));
                }
            })
            .map_err(|e| DataFusionError::Execution(format!("cannot start the replay thread: {e}")))?;
        let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema(), stream)))
    }
}

/// Sends a batch; `Err` when the consumer went away (the query was
/// cancelled), which ends the task.
fn send(tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>, rows: &mut Rows) -> Result<(), String> {
    let batch = rows.flush().map_err(|e| e.to_string())?;
    tx.blocking_send(Ok(batch)).map_err(|_| "the coordinator went away".to_string())
}

/// One task: plan its groups, scan the leaves they read, evaluate them,
/// stream the results.
fn run_task(job: &Job, task: usize, tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>) -> Result<(), String> {
    if job.protocol != job::PROTOCOL {
        return Err(format!(
            "this worker (slo {}) speaks replay protocol {}, the coordinator {}: run the same slo build \
             on the coordinator and on every worker",
            env!("CARGO_PKG_VERSION"),
            job::PROTOCOL,
            job.protocol
        ));
    }
    let t0 = std::time::Instant::now();
    let mine = &job.tasks[task];
    let mut rows = Rows::new(task);
    let addr = WORKER_ADDR.get().map_or("coordinator", String::as_str).to_string();
    let mut series_out = 0u64;
    let mut wave_count = 0usize;
    let (mut scan_s, mut eval_s) = (0.0, 0.0);
    if WORKER_ADDR.get().is_some() {
        crate::errln!("slo worker: task {task}: replaying {} rule groups", mine.len());
    }
    if !mine.is_empty() {
        let groups: Vec<_> = mine
            .iter()
            .map(|&g| {
                job.groups.get(g).ok_or_else(|| format!("group {g} is not in the job")).and_then(|w| w.to_group())
            })
            .collect::<Result<_, String>>()?;
        let class: Vec<usize> = mine.iter().map(|&g| job.class.get(g).copied().unwrap_or(0)).collect();
        let all: Vec<_> = job.groups.iter().map(|w| w.to_group()).collect::<Result<_, String>>()?;
        let (mut steps, planner) = plan_groups_reading(&groups, &class, crate::backtest::recorded_names(&all))?;
        // Each step's key in the whole program's evaluation order.
        let first = job::first_steps(&job.groups);
        let mut keys = Vec::with_capacity(steps.len());
        let mut prev = usize::MAX;
        let mut nth = 0;
        for (g, _) in &steps {
            nth = if *g == prev { nth + 1 } else { 0 };
            prev = *g;
            let global = first[mine[*g]] + nth;
            keys.push(*job.keys.get(global).ok_or_else(|| format!("step {global} is not in the job"))?);
        }
        let mut summed = HashSet::new();
        for (_, s) in &steps {
            let (Step::Record { node, .. } | Step::Alert { node, .. }) = s;
            collect_ranges(node, &mut summed);
        }
        let src = data::Source::new(job.data.iter().map(Into::into).collect(), job.memory_limit);
        let rt = crate::layout::reader::runtime().map_err(|e| e.to_string())?;
        // The task's leaves within the budget, the rest in waves, as an
        // embedded run computes them (see `waves`).
        let class_grids: Vec<_> = job.class_grids.iter().map(|&g| job::grid(g)).collect();
        let hidden = indicatif::ProgressBar::hidden();
        let failed_scan = |es: Vec<data::DataError>| es.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
        let plan = waves::Plan::new(&steps, groups.len(), &class);
        let budget = match job.leaf_budget {
            0 => waves::budget(crate::memory::limit()),
            b => b,
        };
        let scans =
            waves::Scans { src: &src, specs: &planner.leaves, grids: &class_grids, range: (job.lo, job.hi), rt: &rt };
        let waves::First { outs, waves, .. } = scans.first(&plan, budget, &hidden).map_err(failed_scan)?;
        wave_count = waves.waves;
        let mut first_outs = Some(outs);
        scan_s = t0.elapsed().as_secs_f64();
        let grids: Vec<_> = mine.iter().map(|&g| job::grid(job.group_grids[g])).collect();
        // Each block streamed as it finishes, on the thread that evaluated
        // it, then dropped: the task holds its blocks in flight, not all
        // it recorded. The first failure to send stops the sending.
        let sent = std::sync::atomic::AtomicU64::new(0);
        let failed: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        let stream = |series: &mut Vec<(RecSeries, Born)>, rules: &mut BlockRules| {
            let mut failed = failed.lock().unwrap_or_else(|e| e.into_inner());
            // A group without rules is a block of its own with nothing to send.
            if failed.is_none() && !rules.is_empty() {
                let block = rules.iter().map(|(_, _, r)| mine[r.0]).min().unwrap_or(0) as u64;
                sent.fetch_add(series.len() as u64, std::sync::atomic::Ordering::Relaxed);
                if let Err(e) = send_block(task, block, series, rules, tx) {
                    *failed = Some(e);
                }
            }
            series.clear();
        };
        let switches = Switches { stepwise: job.stepwise, report_only: job.report_only, finish: Some(&stream) };
        let leaves_of = |w: usize| match w {
            0 => Ok(first_outs.take().unwrap_or_default()),
            _ => scans.wave(&plan, &waves, w, &hidden).map_err(failed_scan),
        };
        let evaluated = waves::evaluate(
            &mut steps,
            &keys,
            &plan,
            &waves,
            leaves_of,
            &grids,
            &job.downtime,
            summed,
            &switches,
            &hidden,
        );
        if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        let (_, errors, _) = evaluated?;
        eval_s = t0.elapsed().as_secs_f64() - scan_s;
        series_out = sent.into_inner();
        for (e, n) in errors {
            rows.push(Row { kind: ERROR, key: [0, 0, 0, n as u64], message: &e, ..Row::EMPTY });
        }
    }
    if WORKER_ADDR.get().is_some() {
        crate::errln!(
            "slo worker: task {task}: done in {:.3}s, {series_out} series, leaves in {wave_count} scans",
            t0.elapsed().as_secs_f64()
        );
    }
    rows.push(Row { kind: DONE, key: [0, 0, 0, series_out], message: &addr, secs: (scan_s, eval_s), ..Row::EMPTY });
    send(tx, &mut rows)
}

/// Sends one finished block: its recorded series, its alerting rules'
/// instances' histories (taken from the rules), then its [`BLOCK`] row.
/// Every row carries the block's name (its lowest group in the whole
/// program), as the blocks a task evaluates at once interleave their
/// batches.
fn send_block(
    task: usize,
    block: u64,
    series: &[(RecSeries, Born)],
    rules: &mut BlockRules,
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<(), String> {
    let mut rows = Rows::new(task);
    let push = |rows: &mut Rows, row: Row| {
        rows.push(Row { block, ..row });
        if rows.full() {
            send(tx, rows)?;
        }
        Ok::<_, String>(())
    };
    for (s, (k, run, step, seq)) in series {
        let ts = flat_runs(&s.ts);
        let key = [*k as u64, *run as u64, *step as u64, *seq as u64];
        push(
            &mut rows,
            Row { kind: SERIES, key, labels: &s.labels, ts: &ts, v: &s.v, stale: &s.stale_marks, ..Row::EMPTY },
        )?;
    }
    for (_, i, rule) in rules.iter_mut() {
        let Step::Alert { state, .. } = &mut rule.1 else { continue };
        for (labels, h) in std::mem::take(&mut state.history) {
            let key = [0, 0, *i as u64, 0];
            push(&mut rows, Row { kind: ALERT, key, labels: &labels, ts: &h.pending, stale: &h.firing, ..Row::EMPTY })?;
        }
    }
    push(&mut rows, Row { kind: BLOCK, ..Row::EMPTY })?;
    send(tx, &mut rows)
}

/// An alert instance a task sent: (its rule's step, labels, pending, firing).
pub type AlertRow = (usize, Vec<(String, String)>, Vec<i64>, Vec<i64>);

/// A recorded series as a task sent it: where it was born, its labels,
/// sample times and values, staleness markers.
pub type SeriesRow = (Born, crate::backtest::leaves::Labels, Times, Vec<f64>, Vec<i64>);

/// What a task sent of one block.
#[derive(Default)]
pub struct BlockOut {
    pub series: Vec<SeriesRow>,
    /// (global step index of the alerting rule, instance labels, pending, firing).
    pub alerts: Vec<AlertRow>,
}

/// What one task sent, read back from its batches.
#[derive(Default)]
pub struct TaskOut {
    /// Blocks whose rows are still coming, by name (lowest group).
    pub open: BTreeMap<u64, BlockOut>,
    /// Blocks whose [`BLOCK`] row came, in that order, for the reader to take.
    pub finished: Vec<(u64, BlockOut)>,
    pub errors: BTreeMap<String, usize>,
    /// The task's [`DONE`] row: (worker address, scan s, evaluation s, series).
    pub done: Option<(String, f64, f64, u64)>,
}

fn col<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, String> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| format!("a replay batch lacks the column `{name}` of its type"))
}

fn list_values<T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
    list: &ListArray,
    row: usize,
) -> Result<Vec<T::Native>, String> {
    let v = list.value(row);
    let p = v.as_primitive_opt::<T>().ok_or("a replay batch has a list of the wrong type")?;
    Ok(p.values().to_vec())
}

fn list_strings(list: &ListArray, row: usize) -> Result<Vec<String>, String> {
    let v = list.value(row);
    let s = v.as_string_opt::<i32>().ok_or("a replay batch has labels that are not strings")?;
    Ok((0..s.len()).map(|i| s.value(i).to_string()).collect())
}

/// Reads one batch of task output into `outs` (by task index).
pub fn read_batch(batch: &RecordBatch, outs: &mut [TaskOut]) -> Result<(), String> {
    if batch.schema().fields() != schema().fields() {
        return Err("a worker sent a task's output in another layout: it runs another slo build \
                    (run the same build on the coordinator and on every worker)"
            .into());
    }
    let kind = col::<datafusion::arrow::array::PrimitiveArray<UInt8Type>>(batch, "kind")?;
    let task = col::<datafusion::arrow::array::PrimitiveArray<UInt64Type>>(batch, "task")?;
    let block = col::<datafusion::arrow::array::PrimitiveArray<UInt64Type>>(batch, "block")?;
    let k = col::<datafusion::arrow::array::PrimitiveArray<UInt64Type>>(batch, "k")?;
    let run = col::<datafusion::arrow::array::PrimitiveArray<UInt64Type>>(batch, "run")?;
    let step = col::<datafusion::arrow::array::PrimitiveArray<UInt64Type>>(batch, "step")?;
    let seq = col::<datafusion::arrow::array::PrimitiveArray<UInt64Type>>(batch, "seq")?;
    let names = col::<ListArray>(batch, "label_names")?;
    let values = col::<ListArray>(batch, "label_values")?;
    let ts = col::<ListArray>(batch, "ts")?;
    let v = col::<ListArray>(batch, "v")?;
    let stale = col::<ListArray>(batch, "stale")?;
    let message = batch
        .column_by_name("message")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| "a replay batch lacks the column `message`".to_string())?;
    let scan_s = col::<Float64Array>(batch, "scan_s")?;
    let eval_s = col::<Float64Array>(batch, "eval_s")?;
    for r in 0..batch.num_rows() {
        let t = task.value(r) as usize;
        let out = outs.get_mut(t).ok_or_else(|| format!("a batch names task {t}, which the job does not have"))?;
        let labels = || -> Result<Vec<(String, String)>, String> {
            let (n, v) = (list_strings(names, r)?, list_strings(values, r)?);
            if n.len() != v.len() {
                return Err("a replay batch has label names and values of different lengths".into());
            }
            Ok(n.into_iter().zip(v).collect())
        };
        match kind.value(r) {
            SERIES => {
                let runs = list_values::<Int64Type>(ts, r)?;
                let values = list_values::<Float64Type>(v, r)?;
                let times = from_flat_runs(&runs)
                    .filter(|t| t.len() == values.len())
                    .ok_or_else(|| "a replay batch has a series whose times do not fit its values".to_string())?;
                out.open.entry(block.value(r)).or_default().series.push((
                    (k.value(r) as usize, run.value(r) as usize, step.value(r) as usize, seq.value(r) as usize),
                    Arc::new(labels()?),
                    times,
                    values,
                    list_values::<Int64Type>(stale, r)?,
                ))
            }
            ALERT => out.open.entry(block.value(r)).or_default().alerts.push((
                step.value(r) as usize,
                labels()?,
                list_values::<Int64Type>(ts, r)?,
                list_values::<Int64Type>(stale, r)?,
            )),
            ERROR => *out.errors.entry(message.value(r).to_string()).or_default() += seq.value(r) as usize,
            BLOCK => {
                let b = block.value(r);
                out.finished.push((b, out.open.remove(&b).unwrap_or_default()));
            }
            DONE if !out.open.is_empty() => {
                return Err(format!("task {t} ended with blocks it had not finished sending"));
            }
            DONE => out.done = Some((message.value(r).to_string(), scan_s.value(r), eval_s.value(r), seq.value(r))),
            other => return Err(format!("a replay batch has a row of unknown kind {other}")),
        }
    }
    Ok(())
}

/// A series' times as they travel: their runs (start, stride, count),
/// flattened, so a series recorded at every step is three numbers, not one
/// per step.
fn flat_runs(ts: &Times) -> Vec<i64> {
    ts.runs().flat_map(|(start, stride, n)| [start, stride, n as i64]).collect()
}

/// [`flat_runs`] read back; `None` unless they are whole runs that ascend.
fn from_flat_runs(runs: &[i64]) -> Option<Times> {
    runs.len()
        .is_multiple_of(3)
        .then(|| Times::from_runs(runs.chunks(3).map(|c| (c[0], c[1], c[2].max(0) as usize))))?
}

/// A recorded series back as the store holds it.
pub fn rec_series(
    series: crate::promql::model::Series,
    s: (crate::backtest::leaves::Labels, Times, Vec<f64>, Vec<i64>),
) -> RecSeries {
    RecSeries::new(series, s.0, s.1, s.2, s.3)
}

/// Serialises [`ReplayExec`] (its [`Job`], as JSON) for the workers.
#[derive(Debug, Default)]
pub struct ReplayCodec;

impl PhysicalExtensionCodec for ReplayCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        _ctx: &TaskContext,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !inputs.is_empty() {
            return internal_err!("ReplayExec has no children, got {}", inputs.len());
        }
        let job: Job = serde_json::from_slice(buf)
            .map_err(|e| DataFusionError::Internal(format!("cannot decode a ReplayExec: {e}")))?;
        Ok(Arc::new(ReplayExec::new(Arc::new(job))))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let Some(exec) = node.downcast_ref::<ReplayExec>() else {
            return internal_err!("ReplayCodec encodes ReplayExec, not {}", node.name());
        };
        serde_json::to_writer(buf, exec.job.as_ref())
            .map_err(|e| DataFusionError::Internal(format!("cannot encode a ReplayExec: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One series row as a task sends it, with `runs` in the `ts` column.
    fn series_batch(runs: &[i64], values: &[f64]) -> RecordBatch {
        let mut rows = Rows::new(0);
        let labels = [("__name__".to_string(), "x".to_string())];
        rows.push(Row { labels: &labels, ts: runs, v: values, ..Row::EMPTY });
        rows.flush().unwrap()
    }

    /// A job from a coordinator of another build (one that sends no
    /// protocol decodes as 0) is refused with the reason; output in
    /// another layout than this build's is refused by the coordinator.
    #[test]
    fn a_job_or_output_of_another_build_is_refused_with_the_reason() {
        let job = |protocol| Job {
            protocol,
            groups: vec![],
            class: vec![],
            class_grids: vec![],
            group_grids: vec![],
            keys: vec![],
            downtime: vec![],
            lo: 0,
            hi: 0,
            data: vec![],
            memory_limit: 1 << 30,
            leaf_budget: 0,
            stepwise: false,
            report_only: false,
            tasks: vec![vec![]],
        };
        let mut old = serde_json::to_value(job(job::PROTOCOL)).unwrap();
        old.as_object_mut().unwrap().remove("protocol");
        let old: Job = serde_json::from_value(old).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let e = run_task(&old, 0, &tx).unwrap_err();
        assert!(e.contains(&format!("protocol {}, the coordinator 0", job::PROTOCOL)), "{e}");
        assert!(rx.try_recv().is_err(), "nothing sent");
        run_task(&job(job::PROTOCOL), 0, &tx).unwrap();
        let batch = rx.try_recv().unwrap().unwrap();
        let mut outs = vec![TaskOut::default()];
        read_batch(&batch, &mut outs).unwrap();
        assert!(outs[0].done.is_some());
        let fewer = batch.project(&(1..batch.num_columns()).collect::<Vec<_>>()).unwrap();
        let e = read_batch(&fewer, &mut outs).unwrap_err();
        assert!(e.contains("another slo build"), "{e}");
    }

    /// Times travel as runs and come back as the same times; runs that do
    /// not ascend, are cut short or do not fit the values are a worker
    /// error, never a panic or a wrong series.
    #[test]
    fn series_times_travel_as_checked_runs() {
        let times = Times::from_sorted([0, 60_000, 120_000, 180_000, 200_000]);
        let runs = flat_runs(&times);
        assert!(runs.len() < 3 * times.len(), "{runs:?}: a regular stretch is one run");
        let mut outs = vec![TaskOut::default()];
        read_batch(&series_batch(&runs, &[1.0; 5]), &mut outs).unwrap();
        assert_eq!(outs[0].open[&0].series[0].2.to_vec(), times.to_vec());
        let bad: [(&[i64], usize); 5] = [
            (&[0, 60_000, 3, 0, 60_000, 2], 5), // the second run starts before the first ends
            (&[0, 60_000], 2),                  // not a whole run
            (&[0, 60_000, 3], 2),               // 3 times, 2 values
            (&[0, -1, 3], 3),                   // falling
            (&[0, i64::MAX, 3], 3),             // past the end of time
        ];
        for (runs, n) in bad {
            let mut outs = vec![TaskOut::default()];
            let e = read_batch(&series_batch(runs, &vec![1.0; n]), &mut outs).unwrap_err();
            assert!(e.contains("times do not fit"), "{runs:?}: {e}");
        }
    }
}
