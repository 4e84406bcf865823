//! The cluster backend: the fleet lives in a Kubernetes apiserver (LLMKube Foreman's CRDs).
//! AgenticTasks and Agents (in the console's namespace, or all of them), FleetNodes and
//! Workloads are watched live with kube-rs watchers (no polling; a lost watch resumes or
//! re-lists behind a short backoff); transcripts come from the local journal when this node
//! ran the task, else from the task's transcript ConfigMap, whose changes are watched too.
//! The AgenticTask watch is the process's one ([`TaskWatch`]): this console's worker and
//! scheduler read the same one.
//!
//! ```text
//! watchers (tasks, nodes, agents, workloads, transcript ConfigMap metadata) ─┐
//! UI commands ───────────────────────────────────────────────────────────────┼─► actor
//! command jobs (apiserver writes, git push, GitHub PR) ──────────────────────┘    │
//!                      Snapshot once every initial list is in, then changes ◄─────┘
//! ```
//!
//! The backend keeps no copy of the fleet: the initial lists go to the UI in one Snapshot,
//! changes follow as events, and commands read the task they act on from the apiserver.

mod actor;
mod decide;
mod intake;
mod local;
mod msg;
mod ops;
pub mod transcript;
mod watch;

pub use decide::request_changes;
pub use ops::FIELD_MANAGER;
pub use transcript::{configmap_name, records_from_doc};
pub use watch::TRANSCRIPT_LABEL;

use super::{BackendError, BackendEvent, BackendHandle};
use crate::executor::run::TokenSource;
use crate::k8s::Cluster;
use crate::k8s::watch::TaskWatch;
use kube::Client;
use std::time::Duration;
use tokio::sync::mpsc;

/// AgenticTasks per page of the console's initial list.
const LIST_PAGE: u32 = 500;

/// What the cluster backend needs besides the connection.
#[derive(Clone, Debug)]
pub struct ClusterBackendConfig {
    /// This console's FleetNode name: push, reject and PR act only on tasks it ran.
    pub node_name: String,
    /// Push URL used to tell the GitHub repository when a task has no `payload.repo`.
    pub git_remote_url: Option<String>,
    pub github_api_base: String,
    pub token: TokenSource,
    /// Run this machine's executor too: register the FleetNode, heartbeat, claim and run the
    /// tasks scheduled to it (`None`: a watch-only console).
    pub worker: Option<crate::k8s::worker::WorkerConfig>,
    /// Run the scheduler in the console too, for clusters without LLMKube's operator.
    pub scheduler: Option<crate::k8s::scheduler::SchedulerConfig>,
}

/// Shared by the actor and its jobs.
pub(crate) struct Ctx {
    pub client: Client,
    /// The local worker's command channel (cancel a run of this node).
    pub worker: Option<mpsc::UnboundedSender<crate::k8s::worker::WorkerCommand>>,
    /// Watched namespace; empty = all namespaces.
    pub namespace: String,
    pub node: String,
    /// Who this console's decisions name: the kubeconfig's `user@context`.
    pub who: String,
    pub cfg: ClusterBackendConfig,
    pub events: mpsc::UnboundedSender<BackendEvent>,
}

impl Ctx {
    pub fn emit(&self, e: BackendEvent) {
        let _ = self.events.send(e);
    }
    /// Namespace for submitted objects that name none.
    pub fn submit_namespace(&self) -> String {
        if self.namespace.is_empty() {
            "default".into()
        } else {
            self.namespace.clone()
        }
    }
}

/// Starts the backend on the current tokio runtime. Nothing is requested before this
/// returns; connection problems arrive as [`BackendEvent::Error`] (see [`probe`] to check
/// the cluster first).
pub fn start_cluster(
    cluster: Cluster,
    cfg: ClusterBackendConfig,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> Result<BackendHandle, BackendError> {
    let rt = tokio::runtime::Handle::try_current().map_err(|e| {
        BackendError::Other(format!("the cluster backend needs a tokio runtime: {e}"))
    })?;
    if cfg.node_name.is_empty() {
        return Err(BackendError::Other(
            "the cluster backend needs this console's node name".into(),
        ));
    }
    let _guard = rt.enter();
    // One AgenticTask watch for the console, its worker and its scheduler: each subscribes
    // before it starts. Its list comes in pages: a fleet's tasks are taken in a page at a
    // time, the finished ones kept as summaries.
    let mut tasks = TaskWatch::paged(cluster.client.clone(), &cluster.namespace, LIST_PAGE);
    let console_tasks = watch::subscribe_tasks(&mut tasks);
    let worker = cfg
        .worker
        .clone()
        .map(|w| local::spawn_worker(&cluster, w, &mut tasks, events.clone()));
    let scheduler = cfg
        .scheduler
        .clone()
        .map(|sc| local::spawn_scheduler(&cluster, sc, &mut tasks, events.clone()));
    let tasks = tasks.start();
    let leader = scheduler.is_none().then(|| {
        let (client, ns) = (cluster.client.clone(), cluster.namespace.clone());
        tokio::spawn(local::read_leader(client, ns, events.clone()))
    });
    let ctx = Ctx {
        client: cluster.client,
        worker: worker.as_ref().map(|w| w.commands()),
        namespace: cluster.namespace,
        node: cfg.node_name.clone(),
        who: cluster.who,
        cfg,
        events,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let actor = actor::Actor::new(ctx, console_tasks);
    rt.spawn(async move {
        actor.run(rx).await;
        // The run in progress lands its terminal status, then the node drains.
        if let Some(w) = worker
            && let Err(e) = w.shutdown().await
        {
            tracing::warn!("local worker: {e}");
        }
        if let Some(s) = scheduler {
            s.stop().await;
        }
        if let Some(l) = leader {
            l.abort();
        }
        drop(tasks);
        let _ = done_tx.send(true);
    });
    Ok(BackendHandle::new(tx, done_rx))
}

/// Creates the Agents, Workloads and AgenticTasks of a manifest file in the cluster (Agents
/// first, then file order; no namespace = the cluster's namespace, or `default` for all).
pub async fn submit_file(cluster: &Cluster, path: &std::path::Path) -> Result<String, String> {
    let ns = if cluster.namespace.is_empty() {
        "default"
    } else {
        cluster.namespace.as_str()
    };
    ops::submit(&cluster.client, ns, path.to_path_buf()).await
}

/// Checks that the apiserver answers and serves the Foreman CRDs; returns its version
/// ("v1.20.2"). Errors say what to do.
pub async fn probe(cluster: &Cluster) -> Result<String, String> {
    let within = |what: &str| format!("{what}: no answer from the apiserver within 10 s");
    let v = tokio::time::timeout(Duration::from_secs(10), cluster.client.apiserver_version())
        .await
        .map_err(|_| within("cannot reach the cluster"))?
        .map_err(|e| format!("cannot reach the cluster: {}", explain(&e)))?;
    let api = format!("{}/{}", crate::api::GROUP, crate::api::VERSION);
    match tokio::time::timeout(
        Duration::from_secs(10),
        cluster.client.list_api_group_resources(&api),
    )
    .await
    .map_err(|_| within("cannot list the Foreman API"))?
    {
        Ok(_) => Ok(v.git_version),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(format!(
            "the cluster does not serve {api}: install the Foreman CRDs with `foreman crds | kubectl apply -f -`"
        )),
        Err(e) => Err(format!("cannot list {api}: {}", explain(&e))),
    }
}

/// A kube error as one readable line: the apiserver's own message, or the transport error
/// with its causes ("cannot reach the apiserver: … Connection refused").
pub fn explain(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let msg = if s.message.is_empty() {
                s.reason.as_str()
            } else {
                s.message.as_str()
            };
            format!("{msg} (HTTP {})", s.code)
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            format!("cannot reach the apiserver: {}", chain(e))
        }
        other => chain(other),
    }
}

/// An error and its sources, without repeating text a source already printed.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}
