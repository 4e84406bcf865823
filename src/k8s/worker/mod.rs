//! The agent side of cluster mode, shared by `foreman agent` and the console's executor: one
//! FleetNode, its heartbeat, and one task at a time claimed from a live watch of the tasks
//! scheduled to it. Everything it learns is reported as `WorkerEvent`s; it never draws.
//!
//! Order of a run: claim (resourceVersion) → `currentTask` → resolve the endpoint → execute,
//! streaming the transcript ConfigMap → terminal status on a fresh clock → clear `currentTask`.
//!
//! Files: `claim_loop` (register, watch, claim, heartbeat, shutdown), `task_run` (one run:
//! executor, final transcript, terminal status), `live` (the transcript while it runs),
//! `heartbeat`, `tasks` (the status writes), `node`, `endpoint`, `transcript` (the ConfigMap),
//! `service` (the launchd/systemd files that run the daemon), `held` (what a node owes the
//! tasks it ran: `decide`, decisions written by any console; `diff`, the published change),
//! `revise` (a request for changes: attempt N+1 of a GO, run like a claimed task).

mod claim_loop;
pub mod decide;
pub mod diff;
pub mod endpoint;
mod heartbeat;
mod held;
mod live;
pub mod node;
mod revise;
pub mod secret;
pub mod service;
mod task_run;
pub mod tasks;
pub mod transcript;

use self::endpoint::EndpointConfig;
use self::node::NodeConfig;
use crate::api::FleetNode;
use crate::executor::run::{ExecEvent, TokenSource};
use crate::fleet::TaskKey;
use crate::k8s::Cluster;
use crate::k8s::watch::TaskWatch;
use crate::workspace::Identity;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
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
    /// The operator's sandbox settings for every run (README "Containment").
    pub sandbox: crate::sandbox::Settings,
    /// The operator's defaults for what an Agent leaves unset (config `[executor]`).
    pub agent_defaults: crate::config::AgentDefaults,
    /// The GitHub API an empty issue prompt is read from (#571); `None` leaves it empty.
    pub github_api_base: Option<String>,
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
            sandbox: crate::sandbox::Settings::default(),
            agent_defaults: Default::default(),
            github_api_base: None,
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
#[derive(Debug)]
pub enum WorkerCommand {
    /// Stop the run of this task (if it is the one running here) and fail it as cancelled.
    Cancel(TaskKey),
    /// The operator's note to this task's live run here (`m` in this console): a user
    /// message before the model's next turn. The worker answers whether it was queued.
    Note {
        task: TaskKey,
        text: String,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
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

/// Starts the worker on the current runtime with a task watch of its own (`foreman agent`).
pub fn spawn(
    cluster: Cluster,
    cfg: WorkerConfig,
    sink: mpsc::UnboundedSender<WorkerEvent>,
) -> WorkerHandle {
    let namespace = cfg.task_namespace.clone().unwrap_or_default();
    let mut watch = TaskWatch::new(cluster.client.clone(), &namespace);
    let feed = claim_loop::subscribe(&mut watch, &cfg.node.name);
    let feed = feed.owning(watch.start());
    start(cluster, cfg, feed, sink)
}

/// Starts the worker reading tasks from `watch`, the process's shared task watch (the console
/// starts it once everything has subscribed). The watch must cover `cfg.task_namespace`.
pub fn spawn_sharing(
    cluster: Cluster,
    cfg: WorkerConfig,
    watch: &mut TaskWatch,
    sink: mpsc::UnboundedSender<WorkerEvent>,
) -> WorkerHandle {
    let feed = claim_loop::subscribe(watch, &cfg.node.name);
    start(cluster, cfg, feed, sink)
}

fn start(
    cluster: Cluster,
    cfg: WorkerConfig,
    feed: crate::k8s::watch::Feed<claim_loop::Watched>,
    sink: mpsc::UnboundedSender<WorkerEvent>,
) -> WorkerHandle {
    let (stop, stop_rx) = watch::channel(false);
    let (ctx, crx) = mpsc::unbounded_channel();
    let join = tokio::spawn(claim_loop::run(cluster, cfg, feed, sink, stop_rx, crx));
    WorkerHandle {
        stop,
        commands: ctx,
        join,
    }
}
