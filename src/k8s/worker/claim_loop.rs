//! The worker's loop: register the node and re-queue its orphans, then claim one task at a
//! time from the task watch (the console's shared one, or its own), heartbeat meanwhile, and
//! on shutdown land the run's terminal status before the node goes `Draining`.

use super::heartbeat::Heartbeat;
use super::revise::Outcome;
use super::task_run::{self, Current, Job};
use super::tasks::{self, ClaimError};
use super::{WorkerCommand, WorkerConfig, WorkerError, WorkerEvent, node};
use crate::agent::notes;
use crate::api::{AgenticTask, FleetNode, FleetNodePhase};
use crate::fleet::TaskKey;
use crate::k8s::Cluster;
use crate::k8s::watch::{Feed, Lenient, Step, TaskWatch};
use kube::Api;
use kube::runtime::reflector::Store;
use kube::runtime::watcher::Event;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// What the worker takes from the task watch.
pub(super) enum Watched {
    /// A task scheduled to this node and unclaimed, as the watch just saw it.
    Claimable(Box<AgenticTask>),
    /// A task this node ran, with an open decision or a change awaiting approval.
    Held(Box<AgenticTask>),
    /// The first good step after a failure.
    Recovered,
    Failed(String),
}

/// What the loop may start next: claim a scheduled task, or begin a requested revision.
pub(super) enum Work {
    Claim(AgenticTask),
    Revise(AgenticTask),
}

/// Subscribes the worker of node `node` to `watch`: the tasks it could claim and the watch's
/// health, nothing else (the cache holds the rest).
pub(super) fn subscribe(watch: &mut TaskWatch, node: &str) -> Feed<Watched> {
    let node = node.to_string();
    let mut after_error = false;
    watch.subscribe(move |step: &Step| {
        let picked = match step {
            Err(e) => Some(Watched::Failed(e.to_string())),
            Ok(Event::Apply(Lenient::Ok(t)) | Event::InitApply(Lenient::Ok(t)))
                if tasks::claimable(t, &node) =>
            {
                Some(Watched::Claimable(Box::new(t.clone())))
            }
            Ok(Event::Apply(Lenient::Ok(t)) | Event::InitApply(Lenient::Ok(t)))
                if super::held::wants(t, &node) =>
            {
                Some(Watched::Held(Box::new(t.clone())))
            }
            Ok(_) if after_error => Some(Watched::Recovered),
            Ok(_) => None,
        };
        after_error = step.is_err();
        picked
    })
}

/// Runs the worker until `stop` (or the task watch ends). Fails only at start: the node
/// cannot be registered or its orphans cannot be listed.
pub(super) async fn run(
    cluster: Cluster,
    cfg: WorkerConfig,
    mut feed: Feed<Watched>,
    sink: mpsc::UnboundedSender<WorkerEvent>,
    mut stop: watch::Receiver<bool>,
    mut commands: mpsc::UnboundedReceiver<WorkerCommand>,
) -> Result<(), WorkerError> {
    let heartbeat = Heartbeat::new(Api::all(cluster.client.clone()), &cfg.node);
    register(&cluster, &cfg, &sink, &heartbeat).await?;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<TaskKey>();
    let mut claims = Claims {
        cluster,
        cfg,
        sink,
        heartbeat,
        store: feed.store().clone(),
        done: done_tx,
        current: None,
        watch_failing: false,
        held: Default::default(),
    };
    let mut hb = tokio::time::interval(claims.cfg.heartbeat_every);
    hb.reset();
    let mut rescan = tokio::time::interval(claims.cfg.rescan_every);
    loop {
        let candidate = tokio::select! {
            _ = stop.changed() => break,
            Some(c) = commands.recv() => claims.command(c),
            ev = feed.recv() => match ev {
                None => break,
                Some(ev) => claims.watched(ev),
            },
            _ = rescan.tick() => claims.idle_candidate(),
            _ = hb.tick() => claims.beat().await,
            Some(key) = done_rx.recv() => claims.run_ended(key).await,
        };
        match candidate {
            Some(Work::Claim(t)) => claims.claim(t).await,
            Some(Work::Revise(t)) => claims.revise(t).await,
            None => {}
        }
    }
    claims.shutdown().await;
    Ok(())
}

/// Upserts the FleetNode, re-queues the tasks a crash left `Running` here, first heartbeat.
async fn register(
    cluster: &Cluster,
    cfg: &WorkerConfig,
    sink: &mpsc::UnboundedSender<WorkerEvent>,
    heartbeat: &Heartbeat,
) -> Result<(), WorkerError> {
    let name = &cfg.node.name;
    let nodes: Api<FleetNode> = Api::all(cluster.client.clone());
    let registered =
        node::upsert(&nodes, &cfg.node)
            .await
            .map_err(|source| WorkerError::Register {
                node: name.clone(),
                source,
            })?;
    let _ = sink.send(WorkerEvent::Registered(Box::new(registered)));
    let recovered = tasks::recover_orphans(&cluster.client, cfg.task_namespace.as_deref(), name)
        .await
        .map_err(|source| WorkerError::Recover {
            node: name.clone(),
            source,
        })?;
    if !recovered.is_empty() {
        tracing::info!(node = %name, "re-queued orphaned tasks: {recovered:?}");
        let _ = sink.send(WorkerEvent::Recovered(recovered));
    }
    if let Err(e) = heartbeat.beat(None, FleetNodePhase::Ready).await {
        let _ = sink.send(WorkerEvent::Error(format!(
            "heartbeat of {name} failed: {e}"
        )));
    }
    Ok(())
}

/// The loop's state: at most one run, and whether the watch is failing (reported once).
struct Claims {
    cluster: Cluster,
    cfg: WorkerConfig,
    sink: mpsc::UnboundedSender<WorkerEvent>,
    heartbeat: Heartbeat,
    store: Store<AgenticTask>,
    done: mpsc::UnboundedSender<TaskKey>,
    current: Option<Current>,
    watch_failing: bool,
    held: super::held::Held,
}

impl Claims {
    fn emit(&self, e: WorkerEvent) {
        let _ = self.sink.send(e);
    }

    fn name(&self) -> &str {
        &self.cfg.node.name
    }

    /// A console request. Never yields a task to claim.
    fn command(&mut self, c: WorkerCommand) -> Option<Work> {
        match c {
            WorkerCommand::Cancel(key) => match self.current.as_ref().filter(|c| c.key == key) {
                Some(cur) => cur.abort("Cancelled", "cancelled by the operator".into()),
                None => self.emit(WorkerEvent::Error(format!(
                    "{key} is not running on {}",
                    self.name()
                ))),
            },
            WorkerCommand::Note { task, text, reply } => {
                let answer = match self.current.as_ref().filter(|c| c.key == task) {
                    Some(cur) if cur.notes.push(text) => Ok(notes::queued_notice(&task)),
                    Some(_) => Err(notes::ended_refusal(&task)),
                    None => Err(format!(
                        "{task} is not running on {}; a note reaches only a live run",
                        self.name()
                    )),
                };
                let _ = reply.send(answer);
            }
        }
        None
    }

    /// A claimable task (or a requested revision): start it if nothing runs. Watch failures
    /// are reported once.
    fn watched(&mut self, ev: Watched) -> Option<Work> {
        match ev {
            Watched::Claimable(_) | Watched::Held(_) | Watched::Recovered if self.watch_failing => {
                self.watch_failing = false;
                self.emit(WorkerEvent::Notice(format!(
                    "task watch on {} reconnected",
                    self.name()
                )));
                self.watched(ev)
            }
            Watched::Claimable(t) => self.current.is_none().then_some(Work::Claim(*t)),
            Watched::Held(t) => {
                self.held.seen(&self.cluster, &self.cfg, &t, &self.sink);
                let idle = self.current.is_none();
                (idle && super::revise::wants(&t, self.name())).then_some(Work::Revise(*t))
            }
            Watched::Recovered => None,
            Watched::Failed(e) => {
                if !self.watch_failing {
                    self.watch_failing = true;
                    self.emit(WorkerEvent::Error(format!(
                        "task watch failed, retrying with backoff: {e}"
                    )));
                }
                None
            }
        }
    }

    /// The rescan safety net: what held tasks still need (a decision whose write failed, a
    /// diff not yet published), then the best claimable task in the cache, if nothing runs.
    fn idle_candidate(&self) -> Option<Work> {
        for t in self.store.state() {
            if super::held::wants(&t, self.name()) {
                self.held.seen(&self.cluster, &self.cfg, &t, &self.sink);
            }
        }
        if self.current.is_some() {
            return None;
        }
        next_work(&self.store, self.name())
    }

    /// The periodic heartbeat, naming the task in progress.
    async fn beat(&self) -> Option<Work> {
        let current = self.current.as_ref().map(|c| c.key.to_string());
        self.heartbeat.ready(current.as_deref(), "heartbeat").await;
        None
    }

    /// A run's terminal status landed: clear `currentTask` and look for the next task.
    async fn run_ended(&mut self, key: TaskKey) -> Option<Work> {
        if self.current.as_ref().is_none_or(|c| c.key != key) {
            return None;
        }
        self.current = None;
        self.heartbeat.ready(None, "heartbeat").await;
        next_work(&self.store, self.name())
    }

    /// Claims `t` against its resourceVersion and, if won, starts its run.
    async fn claim(&mut self, t: AgenticTask) {
        let key = TaskKey::of(&t);
        let api: Api<AgenticTask> = Api::namespaced(self.cluster.client.clone(), &key.namespace);
        match tasks::claim(&api, &t, self.name()).await {
            Err(ClaimError::Lost(why)) => tracing::info!(task = %key, "not claimed: {why}"),
            Err(ClaimError::Api(e)) => {
                self.emit(WorkerEvent::Error(format!("claim of {key} failed: {e}")))
            }
            Ok(claimed) => {
                self.emit(WorkerEvent::Claimed(key.clone()));
                self.start(claimed, Job::First).await;
            }
        }
    }

    /// Begins the revision `t`'s open request for changes asks for and, if it may run, runs
    /// it as this node's current run; a refusal is recorded on the decision.
    async fn revise(&mut self, t: AgenticTask) {
        let key = TaskKey::of(&t);
        match super::revise::begin(&self.cluster, &self.cfg, t).await {
            Ok(Outcome::Begun(b)) => {
                self.emit(WorkerEvent::Notice(format!(
                    "{key}: review {} started as attempt {}",
                    b.revision.iteration, b.attempt
                )));
                self.emit(WorkerEvent::Claimed(key));
                self.start(b.task.clone(), Job::Revise(b)).await;
            }
            Ok(Outcome::Ended(m)) => self.emit(WorkerEvent::Notice(m)),
            Err(e) => self.emit(WorkerEvent::Error(format!("request changes on {key}: {e}"))),
        }
    }

    /// Names `t` as the current task and starts its run.
    async fn start(&mut self, t: AgenticTask, job: Job) {
        let current = TaskKey::of(&t).to_string();
        self.heartbeat
            .ready(Some(&current), "currentTask write")
            .await;
        self.current = Some(task_run::start(
            &self.cluster,
            &self.cfg,
            t,
            job,
            self.sink.clone(),
            self.done.clone(),
        ));
    }

    /// Stops the run, lands its terminal status on a fresh clock, then drains the node.
    async fn shutdown(mut self) {
        let name = self.name().to_string();
        if let Some(cur) = self.current.take() {
            let message = format!("the agent on {name} shut down while this task ran; re-queue it");
            let reason = crate::fleet::reasons::REASON_INTERRUPTED;
            cur.stop(reason, message, self.cfg.shutdown_budget * 2)
                .await;
        }
        let draining = self.heartbeat.beat(None, FleetNodePhase::Draining);
        match tokio::time::timeout(self.cfg.shutdown_budget, draining).await {
            Ok(Ok(_)) => self.emit(WorkerEvent::Notice(format!("{name} is Draining"))),
            Ok(Err(e)) => self.emit(WorkerEvent::Error(format!(
                "Draining heartbeat failed: {e}"
            ))),
            Err(_) => self.emit(WorkerEvent::Error("Draining heartbeat timed out".into())),
        }
    }
}

/// What to start next from the watch cache: a requested revision first (an operator waits
/// on it), else the best claimable task (priority, then age).
fn next_work(store: &Store<AgenticTask>, node: &str) -> Option<Work> {
    let all = store.state();
    if let Some(t) = all.iter().find(|t| super::revise::wants(t, node)) {
        return Some(Work::Revise((**t).clone()));
    }
    let mut ready: Vec<&Arc<AgenticTask>> =
        all.iter().filter(|t| tasks::claimable(t, node)).collect();
    ready.sort_by(|a, b| crate::fleet::schedule::rules::queue_order(a, b));
    ready.first().map(|t| Work::Claim((***t).clone()))
}
