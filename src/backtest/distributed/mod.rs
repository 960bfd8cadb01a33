//! Distributed backtests: the replay of independent blocks of rule groups
//! as one stage of a DataFusion plan that `datafusion-distributed` runs on
//! `slo worker`s.
//!
//! The coordinator (`slo backtest --workers URL,…`) compiles and plans the
//! rules, probes the data and fixes the grid exactly as an embedded run
//! does, then splits the independent blocks ([`super::independent_blocks`])
//! over the stage's tasks ([`job::assign`]: whole blocks, the largest
//! first, to the task with the fewest rules). The plan is
//!
//! ```text
//! CoalescePartitionsExec (on the coordinator)
//!   NetworkCoalesceExec (tasks → 1)
//!     CoalescePartitionsExec
//!       ReplayExec (task i: scan the leaves of its groups, evaluate its blocks)
//! ```
//!
//! The runtime ships each task's plan (the [`exec::ReplayCodec`] carries
//! the [`job::Job`]) to a worker over gRPC and streams the tasks' Arrow
//! batches back; nothing here schedules, moves or shuffles data itself.
//! A task streams each block as soon as it is evaluated and ends it with a
//! [`exec::BLOCK`] row; the coordinator then hands the block on ([`replay`]'s
//! `on_block`), its series sorted by where they were born — keys in the
//! whole program's evaluation order, which no task's part changes — so it
//! builds the block's reports as an embedded run builds them and drops the
//! series: the report and the timeline are byte-identical, and neither
//! side holds more than the blocks in flight. The data statistics and the selectors'
//! warnings come from one pass of the coordinator over the same rows
//! (leaves on a single step), run while the workers replay.
//!
//! Failures: a worker that cannot be reached before the run starts is
//! `slo::distributed::unreachable`; one that fails or dies during the run
//! (its stream errors, or ends without its last row) is
//! `slo::distributed::worker`. The runtime does not retry a task, so
//! neither does slo: the run fails (exit 2) and can be started again. A
//! worker that stops answering is detected by HTTP/2 keep-alive pings.

pub mod exec;
pub mod job;

use super::alert::AlertHistory;
use super::eval::{RecSeries, Step};
use super::Born;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::config::ConfigOptions;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::Expr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_distributed::grpc::{create_worker_client, BoxCloneSyncChannel};
use datafusion_distributed::{
    ChannelResolver, DistributedExt, NetworkCoalesceExec, SessionStateBuilderExt, Worker, WorkerChannel,
    WorkerQueryContext, WorkerResolver,
};
use exec::{ReplayCodec, ReplayExec, TaskOut};
use futures::StreamExt;
use job::Job;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// How long a connection to a worker may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 pings on idle streams, and how long an unanswered one may wait:
/// a worker that froze or vanished without closing its connection fails
/// the run after at most their sum.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a distributed replay failed: code, message, help.
pub struct Failed {
    pub code: &'static str,
    pub message: String,
    pub help: String,
}

/// How long each part of a distributed replay took.
pub struct Timing {
    /// Building the distributed plan.
    pub plan_s: f64,
    /// From the start of execution to the last task's last batch.
    pub replay_s: f64,
    /// Per task: (worker address, scan s, evaluation s, series recorded).
    pub tasks: Vec<(String, f64, f64, u64)>,
    /// Handing the tasks' blocks on: reading them into series, and
    /// `on_block` (queueing them for the report threads).
    pub merge_s: f64,
}

/// Per alerting rule (its global step index), its instances' histories.
pub type Histories = HashMap<usize, BTreeMap<Vec<(String, String)>, AlertHistory>>;

/// How the workers' replay went (its blocks went to `on_block`).
pub struct Replayed {
    /// How the blocks ran: on the workers (their engines are not reported
    /// back), handed on here.
    pub evaluated: crate::backtest::Evaluated,
    pub errors: Vec<String>,
    pub timing: Timing,
}

/// Checks the `--workers` URLs: `http://host:port` (or https).
pub fn parse_workers(workers: &[String]) -> Result<Vec<Url>, Failed> {
    workers
        .iter()
        .map(|w| {
            let bad = |why: String| Failed {
                code: "slo::distributed::url",
                message: format!("--workers: `{w}` is not a worker URL: {why}"),
                help: "give each worker as http://HOST:PORT, the address `slo worker --listen` printed".into(),
            };
            let url = Url::parse(w).map_err(|e| bad(e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(bad(format!("the scheme is `{}`, not http or https", url.scheme())));
            }
            if url.host_str().is_none() || url.port_or_known_default().is_none() {
                return Err(bad("it has no host and port".into()));
            }
            Ok(url)
        })
        .collect()
}

/// Every worker accepts a connection within [`CONNECT_TIMEOUT`].
fn reach(urls: &[Url]) -> Result<(), Failed> {
    for url in urls {
        let unreachable = |why: String| Failed {
            code: "slo::distributed::unreachable",
            message: format!("the worker {url} cannot be reached: {why}"),
            help: "start it with `slo worker --listen HOST:PORT` (same slo version), or leave it out of --workers"
                .into(),
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(unreachable("no host and port".into()));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<_> =
            std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).map_err(|e| unreachable(e.to_string()))?.collect();
        let mut last = String::from("the host name resolves to no address");
        let ok = addrs.iter().any(|a| match std::net::TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(_) => true,
            Err(e) => {
                last = e.to_string();
                false
            }
        });
        if !ok {
            return Err(unreachable(last));
        }
    }
    Ok(())
}

/// The workers of `--workers`, in order.
#[derive(Clone)]
struct Workers(Vec<Url>);

impl WorkerResolver for Workers {
    fn get_urls(&self) -> Result<Vec<Url>, DataFusionError> {
        Ok(self.0.clone())
    }
}

/// Channels to the workers with a connect timeout and keep-alive pings,
/// one per worker, reused by every request.
#[derive(Default)]
struct Channels(Mutex<HashMap<Url, BoxCloneSyncChannel>>);

#[async_trait::async_trait]
impl ChannelResolver for Channels {
    async fn get_worker_client_for_url(&self, url: &Url) -> Result<Box<dyn WorkerChannel>, DataFusionError> {
        if let Some(c) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(url) {
            return Ok(create_worker_client(c.clone()));
        }
        let endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|e| DataFusionError::Execution(format!("worker {url}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true);
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| DataFusionError::Execution(format!("cannot connect to the worker {url}: {e}")))?;
        let channel = BoxCloneSyncChannel::new(channel);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(url.clone(), channel.clone());
        Ok(create_worker_client(channel))
    }
}

/// The replay as a table: scanning it plans the distributed stage.
#[derive(Debug)]
struct ReplayTable {
    job: Arc<Job>,
}

#[async_trait::async_trait]
impl TableProvider for ReplayTable {
    fn schema(&self) -> SchemaRef {
        exec::schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..exec::schema().fields().len()).collect();
        if projection.is_some_and(|p| *p != all) {
            return plan_err!("the replay's output is read whole");
        }
        Ok(Arc::new(ReplayExec::new(self.job.clone())))
    }
}

/// Places the stage boundary above the replay, after DataFusion's own
/// physical optimizations (which would drop a gather nothing asks for):
/// the tasks' outputs travel to the coordinator, which reads them as one
/// partition.
#[derive(Debug)]
struct ReplayStage;

impl PhysicalOptimizerRule for ReplayStage {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        let placed = plan.transform_up(|p| {
            let Some(replay) = p.downcast_ref::<ReplayExec>() else { return Ok(Transformed::no(p)) };
            let tasks = replay.job.tasks.len();
            let gather: Arc<dyn ExecutionPlan> = Arc::new(CoalescePartitionsExec::new(p));
            let network: Arc<dyn ExecutionPlan> = Arc::new(NetworkCoalesceExec::try_new(gather, tasks, 1)?);
            Ok(Transformed::yes(Arc::new(CoalescePartitionsExec::new(network)) as Arc<dyn ExecutionPlan>))
        })?;
        Ok(placed.data)
    }

    fn name(&self) -> &str {
        "slo_replay_stage"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn worker_failure(message: String) -> Failed {
    Failed {
        code: "slo::distributed::worker",
        message: format!("the distributed replay failed: {message}"),
        help: "a worker failed or went away during the run (tasks are not retried): check the workers' logs, \
               restart them, and run the backtest again"
            .into(),
    }
}

/// One block of rule groups as the workers finished it.
pub struct Block {
    /// Its lowest group.
    pub group: usize,
    /// Its recorded series, in the order one store would have created them.
    pub series: Vec<(Born, RecSeries)>,
    /// Its alerting rules' instances' histories, by the rule's step index.
    pub histories: Histories,
}

/// Runs `job` on the workers, handing each block to `on_block` as soon as
/// its last row came (on this thread, so what it keeps of a block is its
/// choice: a run that reports each block as it comes holds the blocks in
/// flight, not every series). `steps` are the whole program's planned
/// steps (the series and alerts they name), `block_of` each group's
/// independent block (as the job's tasks were assigned by).
pub fn replay(
    job: Job,
    steps: &[(usize, Step)],
    block_of: &[usize],
    workers: &[Url],
    rt: &tokio::runtime::Runtime,
    on_block: &mut dyn FnMut(Block),
) -> Result<Replayed, Failed> {
    reach(workers)?;
    let tasks = job.tasks.len();
    let t0 = std::time::Instant::now();
    let state = SessionStateBuilder::new()
        .with_config(SessionConfig::new())
        .with_default_features()
        .with_distributed_worker_resolver(Workers(workers.to_vec()))
        .with_distributed_channel_resolver(Channels::default())
        .with_physical_optimizer_rule(Arc::new(ReplayStage))
        .with_distributed_planner()
        .with_distributed_user_codec(ReplayCodec)
        .build();
    let ctx = SessionContext::from(state);
    // Every block the job's tasks evaluate (by its lowest group), and
    // whether it came.
    let mut lowest: HashMap<usize, usize> = HashMap::new();
    for (g, &b) in block_of.iter().enumerate() {
        lowest.entry(b).or_insert(g);
    }
    let mut expected: BTreeMap<usize, bool> =
        steps.iter().filter_map(|(g, _)| Some((*lowest.get(block_of.get(*g)?)?, false))).collect();
    let job = Arc::new(job);
    let mut outs: Vec<TaskOut> = (0..tasks).map(|_| TaskOut::default()).collect();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut merge = std::time::Duration::ZERO;
    let (plan_s, replay_s) = rt.block_on(async {
        let df =
            ctx.read_table(Arc::new(ReplayTable { job: job.clone() })).map_err(|e| worker_failure(e.to_string()))?;
        let plan = df.create_physical_plan().await.map_err(|e| worker_failure(e.to_string()))?;
        let mut stream = datafusion::physical_plan::execute_stream(plan, ctx.task_ctx())
            .map_err(|e| worker_failure(e.to_string()))?;
        let plan_s = t0.elapsed().as_secs_f64();
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| worker_failure(e.to_string()))?;
            exec::read_batch(&batch, &mut outs).map_err(worker_failure)?;
            for out in &mut outs {
                for (name, b) in std::mem::take(&mut out.finished) {
                    let t = std::time::Instant::now();
                    match expected.get_mut(&(name as usize)) {
                        Some(came @ false) => *came = true,
                        _ => {
                            return Err(worker_failure(format!(
                                "a task sent block {name}, which it was not given or had sent"
                            )))
                        }
                    }
                    on_block(block(name as usize, b, steps).map_err(worker_failure)?);
                    merge += t.elapsed();
                }
            }
        }
        Ok::<_, Failed>((plan_s, t0.elapsed().as_secs_f64() - plan_s))
    })?;
    let mut timing_tasks = Vec::with_capacity(tasks);
    for (t, out) in outs.iter_mut().enumerate() {
        match out.done.take() {
            Some(d) => timing_tasks.push(d),
            None => return Err(worker_failure(format!("task {t} ended without sending all of its results"))),
        }
        for (e, n) in std::mem::take(&mut out.errors) {
            *errors.entry(e).or_default() += n;
        }
    }
    if let Some((name, _)) = expected.iter().find(|(_, came)| !**came) {
        return Err(worker_failure(format!("no task sent block {name}")));
    }
    let merge_s = merge.as_secs_f64();
    Ok(Replayed {
        evaluated: crate::backtest::Evaluated { merge, ..Default::default() },
        errors: super::error_list(errors),
        timing: Timing { plan_s, replay_s, tasks: timing_tasks, merge_s },
    })
}

/// A block as a task sent it, its series sorted by birth and named by the
/// steps that recorded them.
fn block(group: usize, b: exec::BlockOut, steps: &[(usize, Step)]) -> Result<Block, String> {
    let mut series = Vec::with_capacity(b.series.len());
    for (born, labels, ts, v, stale) in b.series {
        let Some((_, Step::Record { series: which, .. })) = steps.get(born.2) else {
            return Err(format!("a task sent a series of step {}, which records nothing", born.2));
        };
        series.push((born, exec::rec_series(*which, (labels, ts, v, stale))));
    }
    series.sort_by_key(|(born, _)| *born);
    let mut histories: Histories = HashMap::new();
    for (step, labels, pending, firing) in b.alerts {
        histories.entry(step).or_default().insert(labels, AlertHistory { pending, firing });
    }
    Ok(Block { group, series, histories })
}

/// `slo worker`: serves the runtime's worker with slo's codec on `listen`
/// until the process is stopped. `ready` is told the bound address (the
/// port, when `listen` asked for port 0).
pub fn serve(listen: std::net::SocketAddr, ready: impl FnOnce(std::net::SocketAddr)) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let _ = exec::WORKER_ADDR.set(format!("http://{local}"));
        ready(local);
        let worker = Worker::from_session_builder(|ctx: WorkerQueryContext| async move {
            Ok(ctx.builder.with_distributed_user_codec(ReplayCodec).build())
        });
        tonic::transport::Server::builder()
            .add_service(worker.into_worker_server())
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .map_err(|e| format!("the worker stopped: {e}"))
    })
}
