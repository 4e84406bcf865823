//! The agent side of cluster mode, shared by `foreman agent` and the console's executor: one
//! FleetNode, its heartbeat, and one task at a time claimed from a live watch of the tasks
//! scheduled to it. Everything it learns is reported as `WorkerEvent`s; it never draws.
//!
//! Order of a run: claim (resourceVersion) → `currentTask` → resolve the endpoint → execute,
//! streaming the transcript ConfigMap → terminal status on a fresh clock → clear `currentTask`.

pub mod endpoint;
pub mod node;
pub mod tasks;
pub mod transcript;

use self::endpoint::EndpointConfig;
use self::node::NodeConfig;
use self::tasks::{ClaimError, Terminal};

use crate::agent::LoopEvent;
use crate::api::{Agent, AgenticTask, FleetNode, FleetNodePhase};
use crate::executor::outcome::{Precondition, precondition_failed};
use crate::executor::run::{ExecEvent, ExecutorConfig, RunReport, TokenSource, execute};
use crate::fleet::TaskKey;
use crate::k8s::Cluster;
use crate::oai::Message;
use crate::workspace::Identity;
use crate::workspace::auth::redact_url;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub node: NodeConfig,
    /// `None` watches every namespace.
    pub task_namespace: Option<String>,
    pub heartbeat_every: Duration,
    /// How often the watch cache is re-scanned for claimable tasks (a safety net; claims are
    /// driven by watch events). No apiserver request is made by the rescan.
    pub rescan_every: Duration,
    pub endpoint: EndpointConfig,
    pub git_remote_url: Option<String>,
    pub workspace_root: PathBuf,
    /// JSONL journals live at `<journal_dir>/<namespace>/<task>.jsonl`.
    pub journal_dir: PathBuf,
    pub keep_workspace: bool,
    pub identity: Identity,
    /// Push right after the GO commit (upstream); otherwise it awaits the console's approval.
    pub push_now: bool,
    pub token: TokenSource,
    /// Minimum gap between transcript ConfigMap updates during a run.
    pub transcript_every: Duration,
    /// How long a terminal status write keeps retrying (apiserver restarts, conflicts).
    pub terminal_budget: Duration,
    /// The same during shutdown, and the Draining heartbeat's timeout.
    pub shutdown_budget: Duration,
    /// `--agent-mode stub`: sleep this long and report GO without a model or git.
    pub stub_sleep: Option<Duration>,
}

impl WorkerConfig {
    /// Upstream's intervals and budgets, for `node` and `identity`.
    pub fn new(node: NodeConfig, identity: Identity, workspace_root: PathBuf) -> WorkerConfig {
        WorkerConfig {
            journal_dir: workspace_root.join(".journals"),
            node,
            task_namespace: Some("default".into()),
            heartbeat_every: Duration::from_secs(30),
            rescan_every: Duration::from_secs(5),
            endpoint: EndpointConfig::default(),
            git_remote_url: None,
            workspace_root,
            keep_workspace: false,
            identity,
            push_now: true,
            token: TokenSource::Lookup,
            transcript_every: Duration::from_secs(2),
            terminal_budget: Duration::from_secs(300),
            shutdown_budget: Duration::from_secs(10),
            stub_sleep: None,
        }
    }
}

/// What the worker reports.
#[derive(Clone, Debug)]
pub enum WorkerEvent {
    Registered(Box<FleetNode>),
    /// Orphaned `Running` tasks of this node reset to `Pending` at start.
    Recovered(Vec<TaskKey>),
    Claimed(TaskKey),
    Run {
        task: TaskKey,
        event: ExecEvent,
    },
    /// The terminal status landed (`Ok(verdict or reason)`) or could not be written.
    Finished {
        task: TaskKey,
        outcome: Result<String, String>,
    },
    Notice(String),
    Error(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(
        "cannot register FleetNode {node}: {source}; check the cluster is reachable and the CRDs are installed (`foreman crds | kubectl apply -f -`)"
    )]
    Register {
        node: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot list tasks to recover orphans of {node}: {source}")]
    Recover {
        node: String,
        #[source]
        source: kube::Error,
    },
}

/// Requests from the console to a running worker.
#[derive(Clone, Debug)]
pub enum WorkerCommand {
    /// Stop the run of this task (if it is the one running here) and fail it as cancelled.
    Cancel(TaskKey),
}

/// A running worker: stop it with `shutdown` (which waits for the terminal status and the
/// Draining heartbeat).
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    commands: mpsc::UnboundedSender<WorkerCommand>,
    join: JoinHandle<Result<(), WorkerError>>,
}

impl WorkerHandle {
    pub fn send(&self, c: WorkerCommand) {
        let _ = self.commands.send(c);
    }

    /// A sender of commands that outlives borrowing the handle.
    pub fn commands(&self) -> mpsc::UnboundedSender<WorkerCommand> {
        self.commands.clone()
    }

    /// Signals shutdown and waits until the worker is done.
    pub async fn shutdown(self) -> Result<(), WorkerError> {
        let _ = self.stop.send(true);
        self.join.await.unwrap_or(Ok(()))
    }

    /// Waits for the worker to end on its own (a start-up error, or `stop_signal`).
    pub async fn join(self) -> Result<(), WorkerError> {
        self.join.await.unwrap_or(Ok(()))
    }

    /// A sender that stops the worker (e.g. from a signal handler).
    pub fn stop_signal(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Starts the worker on the current runtime.
pub fn spawn(
    cluster: Cluster,
    cfg: WorkerConfig,
    sink: mpsc::UnboundedSender<WorkerEvent>,
) -> WorkerHandle {
    let (stop, stop_rx) = watch::channel(false);
    let (ctx, crx) = mpsc::unbounded_channel();
    let join = tokio::spawn(run(cluster, cfg, sink, stop_rx, crx));
    WorkerHandle {
        stop,
        commands: ctx,
        join,
    }
}

/// The run in progress.
struct Current {
    key: TaskKey,
    exec: tokio::task::AbortHandle,
    /// Set before aborting `exec`: the reason and message of the terminal status.
    abort_reason: Arc<Mutex<Option<(String, String)>>>,
    finisher: JoinHandle<()>,
}

pub async fn run(
    cluster: Cluster,
    cfg: WorkerConfig,
    sink: mpsc::UnboundedSender<WorkerEvent>,
    mut stop: watch::Receiver<bool>,
    mut commands: mpsc::UnboundedReceiver<WorkerCommand>,
) -> Result<(), WorkerError> {
    let emit = |e: WorkerEvent| {
        let _ = sink.send(e);
    };
    let name = cfg.node.name.clone();
    let nodes: Api<FleetNode> = Api::all(cluster.client.clone());
    let registered =
        node::upsert(&nodes, &cfg.node)
            .await
            .map_err(|source| WorkerError::Register {
                node: name.clone(),
                source,
            })?;
    emit(WorkerEvent::Registered(Box::new(registered)));
    let recovered = tasks::recover_orphans(&cluster.client, cfg.task_namespace.as_deref(), &name)
        .await
        .map_err(|source| WorkerError::Recover {
            node: name.clone(),
            source,
        })?;
    if !recovered.is_empty() {
        tracing::info!(node = %name, "re-queued orphaned tasks: {recovered:?}");
        emit(WorkerEvent::Recovered(recovered));
    }
    let capability = cfg.node.capability();
    let beat = |current: Option<String>, phase: FleetNodePhase| {
        let (nodes, name, capability) = (nodes.clone(), name.clone(), capability.clone());
        async move { node::heartbeat(&nodes, &name, phase, &capability, current.as_deref()).await }
    };
    if let Err(e) = beat(None, FleetNodePhase::Ready).await {
        emit(WorkerEvent::Error(format!(
            "heartbeat of {name} failed: {e}"
        )));
    }

    let api: Api<AgenticTask> = match cfg.task_namespace.as_deref() {
        Some(ns) => Api::namespaced(cluster.client.clone(), ns),
        None => Api::all(cluster.client.clone()),
    };
    let (store, writer) = reflector::store::<AgenticTask>();
    let mut watch_events = watcher(api, watcher::Config::default())
        .backoff(super::backoff::WatchBackoff::new())
        .reflect(writer)
        .applied_objects()
        .boxed();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<TaskKey>();
    let mut current: Option<Current> = None;
    let mut watch_failing = false;
    let mut hb = tokio::time::interval(cfg.heartbeat_every);
    hb.reset();
    let mut rescan = tokio::time::interval(cfg.rescan_every);
    let current_name = |c: &Option<Current>| c.as_ref().map(|c| c.key.to_string());

    loop {
        let mut candidate: Option<AgenticTask> = None;
        tokio::select! {
            _ = stop.changed() => break,
            Some(c) = commands.recv() => match c {
                WorkerCommand::Cancel(key) => {
                    if let Some(cur) = current.as_ref().filter(|c| c.key == key) {
                        *cur.abort_reason.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(("Cancelled".into(), "cancelled by the operator".into()));
                        cur.exec.abort();
                    } else {
                        emit(WorkerEvent::Error(format!("{key} is not running on {name}")));
                    }
                }
            },
            ev = watch_events.next() => match ev {
                None => break,
                Some(Ok(t)) => {
                    if watch_failing {
                        watch_failing = false;
                        emit(WorkerEvent::Notice(format!("task watch on {name} reconnected")));
                    }
                    if current.is_none() && tasks::claimable(&t, &name) {
                        candidate = Some(t);
                    }
                }
                Some(Err(e)) => {
                    if !watch_failing {
                        watch_failing = true;
                        emit(WorkerEvent::Error(format!("task watch failed, retrying with backoff: {e}")));
                    }
                }
            },
            _ = rescan.tick() => {
                if current.is_none() {
                    candidate = next_claimable(&store, &name);
                }
            }
            _ = hb.tick() => {
                if let Err(e) = beat(current_name(&current), FleetNodePhase::Ready).await {
                    tracing::warn!(node = %name, "heartbeat failed: {e}");
                }
            }
            Some(key) = done_rx.recv() => {
                if current.as_ref().is_some_and(|c| c.key == key) {
                    current = None;
                    if let Err(e) = beat(None, FleetNodePhase::Ready).await {
                        tracing::warn!(node = %name, "heartbeat failed: {e}");
                    }
                    candidate = next_claimable(&store, &name);
                }
            }
        }
        let Some(t) = candidate else { continue };
        let key = TaskKey::of(&t);
        let ns_api: Api<AgenticTask> = Api::namespaced(cluster.client.clone(), &key.namespace);
        match tasks::claim(&ns_api, &t, &name).await {
            Err(ClaimError::Lost(why)) => {
                tracing::info!(task = %key, "not claimed: {why}");
                continue;
            }
            Err(ClaimError::Api(e)) => {
                emit(WorkerEvent::Error(format!("claim of {key} failed: {e}")));
                continue;
            }
            Ok(claimed) => {
                emit(WorkerEvent::Claimed(key.clone()));
                if let Err(e) = beat(Some(key.to_string()), FleetNodePhase::Ready).await {
                    tracing::warn!(node = %name, "currentTask write failed: {e}");
                }
                current = Some(start_run(
                    &cluster,
                    &cfg,
                    claimed,
                    sink.clone(),
                    done_tx.clone(),
                ));
            }
        }
    }

    // Shutdown: stop the run, land its terminal status on a fresh clock, then drain.
    if let Some(cur) = current.take() {
        *cur.abort_reason.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            crate::fleet::reasons::REASON_INTERRUPTED.into(),
            format!("the agent on {name} shut down while this task ran; re-queue it"),
        ));
        cur.exec.abort();
        let _ = tokio::time::timeout(cfg.shutdown_budget * 2, cur.finisher).await;
    }
    match tokio::time::timeout(cfg.shutdown_budget, beat(None, FleetNodePhase::Draining)).await {
        Ok(Ok(_)) => emit(WorkerEvent::Notice(format!("{name} is Draining"))),
        Ok(Err(e)) => emit(WorkerEvent::Error(format!(
            "Draining heartbeat failed: {e}"
        ))),
        Err(_) => emit(WorkerEvent::Error("Draining heartbeat timed out".into())),
    }
    Ok(())
}

/// The best claimable task in the watch cache (priority, then age).
fn next_claimable(store: &Store<AgenticTask>, node: &str) -> Option<AgenticTask> {
    let mut ready: Vec<Arc<AgenticTask>> = store
        .state()
        .into_iter()
        .filter(|t| tasks::claimable(t, node))
        .collect();
    ready.sort_by(|a, b| crate::fleet::schedule::rules::queue_order(a, b));
    ready.first().map(|t| (**t).clone())
}

/// Messages of the run so far, shared with the transcript writer.
#[derive(Default)]
struct Live {
    messages: Vec<Message>,
    turns: u32,
}

fn start_run(
    cluster: &Cluster,
    cfg: &WorkerConfig,
    task: AgenticTask,
    sink: mpsc::UnboundedSender<WorkerEvent>,
    done: mpsc::UnboundedSender<TaskKey>,
) -> Current {
    let key = TaskKey::of(&task);
    let live = Arc::new(Mutex::new(Live::default()));
    let changed = Arc::new(Notify::new());
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &key.namespace);
    let writer = tokio::spawn(stream_transcript(
        cms.clone(),
        task.clone(),
        live.clone(),
        changed.clone(),
        cfg.transcript_every,
    ));
    let exec = tokio::spawn(execute_task(
        cluster.clone(),
        cfg.clone(),
        task.clone(),
        sink.clone(),
        live.clone(),
        changed,
    ));
    let abort_reason = Arc::new(Mutex::new(None));
    let exec_abort = exec.abort_handle();
    let (cfg2, reason2, key2) = (cfg.clone(), abort_reason.clone(), key.clone());
    let tasks_api: Api<AgenticTask> = Api::namespaced(cluster.client.clone(), &key.namespace);
    let finisher = tokio::spawn(async move {
        let joined = exec.await;
        writer.abort();
        let aborted = reason2.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let budget = if aborted.is_some() {
            cfg2.shutdown_budget
        } else {
            cfg2.terminal_budget
        };
        // The final transcript, then the status that points at it.
        let snapshot = {
            let l = live.lock().unwrap_or_else(|e| e.into_inner());
            (!l.messages.is_empty()).then(|| transcript::build(&task, &l.messages, l.turns))
        };
        let mut cm_ok = false;
        if let Some(cm) = snapshot {
            match tokio::time::timeout(budget, upsert_retrying(&cms, cm)).await {
                Ok(Ok(())) => cm_ok = true,
                Ok(Err(e)) => {
                    tracing::warn!(task = %key2, "transcript ConfigMap write failed: {e}")
                }
                Err(_) => tracing::warn!(task = %key2, "transcript ConfigMap write timed out"),
            }
        }
        let terminal = match (joined, aborted) {
            (_, Some((reason, message))) => Terminal::Failed { reason, message },
            (Ok(Ok(rep)), None) => Terminal::Result {
                result: Box::new(cluster_envelope(&key2, rep, cm_ok)),
                transcript_ref: cm_ok.then(|| transcript::status_ref(&key2.name)),
            },
            (Ok(Err(msg)), None) => Terminal::executor_error(msg),
            (Err(e), None) => {
                Terminal::executor_error(format!("the executor stopped unexpectedly: {e}"))
            }
        };
        let outcome = tasks::write_terminal(&tasks_api, &key2, &terminal, budget)
            .await
            .map(|t| {
                t.status
                    .and_then(|s| s.verdict)
                    .map_or("Failed", |v| v.as_str())
                    .to_string()
            });
        if let Err(e) = &outcome {
            tracing::error!(task = %key2, "{e}");
        }
        let _ = sink.send(WorkerEvent::Finished {
            task: key2.clone(),
            outcome,
        });
        let _ = done.send(key2);
    });
    Current {
        key,
        exec: exec_abort,
        abort_reason,
        finisher,
    }
}

/// The Result as the cluster sees it: `transcriptRef` points at the ConfigMap (or is null
/// when that write failed), and a GO awaiting approval says where its clone is.
fn cluster_envelope(key: &TaskKey, rep: RunReport, cm_ok: bool) -> crate::executor::ResultEnvelope {
    let journal = rep.journal.display().to_string();
    let mut env = crate::executor::terminal::envelope_of(rep);
    if env.extra.transcript_ref.is_some() {
        env.extra.transcript_ref = Some(if cm_ok {
            transcript::transcript_ref(&key.namespace, &key.name)
        } else {
            serde_json::Value::Null
        });
    }
    env.extra.journal = Some(journal);
    env
}

async fn upsert_retrying(api: &Api<ConfigMap>, cm: ConfigMap) -> Result<(), kube::Error> {
    let mut delay = Duration::from_millis(200);
    loop {
        match transcript::upsert(api, cm.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if tasks::api_code(&e).is_some_and(|c| c != 409 && c < 500) => return Err(e),
            Err(e) => {
                tracing::debug!("transcript write failed, retrying: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Writes the live transcript at most every `every` while the run goes on.
async fn stream_transcript(
    api: Api<ConfigMap>,
    task: AgenticTask,
    live: Arc<Mutex<Live>>,
    changed: Arc<Notify>,
    every: Duration,
) {
    let mut last = Instant::now() - every;
    loop {
        changed.notified().await;
        let wait = every.saturating_sub(last.elapsed());
        tokio::time::sleep(wait).await;
        last = Instant::now();
        let cm = {
            let l = live.lock().unwrap_or_else(|e| e.into_inner());
            transcript::build(&task, &l.messages, l.turns)
        };
        if let Err(e) = transcript::upsert(&api, cm).await {
            tracing::debug!("live transcript write failed (retried on the next change): {e}");
        }
    }
}

/// Agent lookup, endpoint resolution and the executor. `Ok` is a Result envelope (any
/// outcome, including preconditions); `Err` is an executor error.
async fn execute_task(
    cluster: Cluster,
    cfg: WorkerConfig,
    task: AgenticTask,
    sink: mpsc::UnboundedSender<WorkerEvent>,
    live: Arc<Mutex<Live>>,
    changed: Arc<Notify>,
) -> Result<RunReport, String> {
    let started = Instant::now();
    let key = TaskKey::of(&task);
    let journal = cfg
        .journal_dir
        .join(&key.namespace)
        .join(format!("{}.jsonl", key.name));
    let early = |reason: Precondition, msg: String| RunReport {
        result: precondition_failed(reason, &msg, started.elapsed().as_secs_f64()),
        pending_push: None,
        journal: journal.clone(),
    };
    let status = |s: String| {
        let _ = sink.send(WorkerEvent::Run {
            task: key.clone(),
            event: ExecEvent::Status(s),
        });
    };
    if let Some(d) = cfg.stub_sleep {
        status(format!("stub executor: sleeping {}s", d.as_secs_f64()));
        tokio::time::sleep(d).await;
        return Ok(RunReport {
            result: stub_result(&task, started.elapsed().as_secs_f64()),
            pending_push: None,
            journal,
        });
    }
    let agent_name = task
        .spec
        .agent_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    if agent_name.is_empty() {
        return Ok(early(
            Precondition::AgentNotFound,
            "the task has no spec.agentRef; the native executor needs an Agent".into(),
        ));
    }
    let agents: Api<Agent> = Api::namespaced(cluster.client.clone(), &key.namespace);
    let agent = match agents.get_opt(&agent_name).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Ok(early(
                Precondition::AgentNotFound,
                format!(
                    "Agent {agent_name:?} not found in namespace {:?}",
                    key.namespace
                ),
            ));
        }
        Err(e) => return Err(format!("cannot read Agent {agent_name:?}: {e}")),
    };
    status("resolving the inference endpoint".into());
    let base_url =
        match endpoint::resolve(&cluster.client, &key.namespace, &agent, &cfg.endpoint).await {
            Ok(u) => u,
            Err(msg) => return Ok(early(Precondition::InferenceServiceUnavailable, msg)),
        };
    status(format!("inference at {}", redact_url(&base_url)));
    let exec_cfg = ExecutorConfig {
        base_url,
        git_remote_url: cfg.git_remote_url.clone(),
        workspace_root: cfg.workspace_root.clone(),
        namespace: key.namespace.clone(),
        keep_workspace: cfg.keep_workspace,
        identity: cfg.identity.clone(),
        push_now: cfg.push_now,
        journal_path: journal.clone(),
        token: cfg.token.clone(),
    };
    let mut on_event = |ev: ExecEvent| {
        if let ExecEvent::Loop(LoopEvent::Message { turn, message }) = &ev {
            let mut l = live.lock().unwrap_or_else(|e| e.into_inner());
            l.messages.push(message.clone());
            l.turns = l.turns.max(*turn);
            drop(l);
            changed.notify_one();
        }
        let _ = sink.send(WorkerEvent::Run {
            task: key.clone(),
            event: ev,
        });
    };
    execute(&task, &agent, &exec_cfg, &mut on_event)
        .await
        .map_err(|e| e.to_string())
}

/// Upstream's stub executor: no model, no git; echoes `modelRef`.
fn stub_result(task: &AgenticTask, elapsed: f64) -> crate::executor::ResultEnvelope {
    let mut extra = crate::fleet::extra::ResultExtra::default();
    // Upstream's stub echoes it; not a key this console reads.
    extra.other.insert(
        "modelRef".into(),
        task.spec
            .model_ref
            .clone()
            .map_or(serde_json::Value::Null, Into::into),
    );
    crate::executor::ResultEnvelope {
        schema_version: crate::executor::outcome::RESULT_SCHEMA.into(),
        kind: "stub".into(),
        verdict: "GO".into(),
        summary: format!("stub executor finished after {elapsed:.1}s"),
        extra,
        elapsed_sec: elapsed,
    }
}
