//! The backend actor: starts the watchers, assembles the Snapshot from their first lists,
//! then forwards their changes; runs the UI's commands as jobs; follows the transcripts the
//! UI has open and re-sends them when their ConfigMap changes.

use super::msg::{Listed, Msg};
use super::watch::{self, Described};
use super::{Ctx, ops, transcript};
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::backend::{BackendEvent, Command, Job};
use crate::fleet::TaskKey;
use crate::fleet::held::Held;
use crate::k8s::watch::{Feed, Lenient};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Resource;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How many opened transcripts are followed for changes (the most recently opened).
const FOLLOWED: usize = 16;

/// The Snapshot being assembled.
#[derive(Default)]
struct Pending {
    tasks: Option<Vec<AgenticTask>>,
    nodes: Option<Vec<FleetNode>>,
    agents: Option<Vec<Agent>>,
    workloads: Option<Vec<Workload>>,
    /// Optional kinds whose list failed: the Snapshot goes out without them.
    agents_failed: bool,
    workloads_failed: bool,
    queued: Vec<BackendEvent>,
}

impl Pending {
    fn ready(&self) -> bool {
        self.tasks.is_some()
            && self.nodes.is_some()
            && (self.agents.is_some() || self.agents_failed)
            && (self.workloads.is_some() || self.workloads_failed)
    }
}

pub(super) struct Actor {
    ctx: Arc<Ctx>,
    itx: mpsc::UnboundedSender<Msg>,
    irx: mpsc::UnboundedReceiver<Msg>,
    /// The console's share of the process's task watch, until the watchers start.
    tasks: Option<Feed<Described<AgenticTask>>>,
    watchers: Vec<JoinHandle<()>>,
    /// `None` once the Snapshot went out.
    pending: Option<Pending>,
    jobs: HashSet<TaskKey>,
    followed: VecDeque<TaskKey>,
    /// Transcript loads in flight, and whether another was asked for meanwhile.
    loads: HashMap<TaskKey, bool>,
    /// The latest manifest submission: each waits for the one before (file order holds).
    last_submit: Option<JoinHandle<()>>,
    started: std::time::Instant,
}

fn namespaced<K>(ctx: &Ctx) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    if ctx.namespace.is_empty() {
        Api::all(ctx.client.clone())
    } else {
        Api::namespaced(ctx.client.clone(), &ctx.namespace)
    }
}

impl Actor {
    pub fn new(ctx: Ctx, tasks: Feed<Described<AgenticTask>>) -> Actor {
        let (itx, irx) = mpsc::unbounded_channel();
        Actor {
            ctx: Arc::new(ctx),
            itx,
            irx,
            tasks: Some(tasks),
            watchers: Vec::new(),
            pending: Some(Pending::default()),
            jobs: HashSet::new(),
            followed: VecDeque::new(),
            loads: HashMap::new(),
            last_submit: None,
            started: std::time::Instant::now(),
        }
    }

    fn emit(&self, e: BackendEvent) {
        self.ctx.emit(e);
    }

    fn start_watchers(&mut self) {
        let ctx = &self.ctx;
        let tx = &self.itx;
        self.watchers = self
            .tasks
            .take()
            .map(|feed| tokio::spawn(watch::run_tasks(feed, tx.clone())))
            .into_iter()
            .collect();
        self.watchers.extend([
            tokio::spawn(watch::run::<FleetNode>(
                Api::<Lenient<FleetNode>>::all(ctx.client.clone()),
                tx.clone(),
            )),
            tokio::spawn(watch::run::<Agent>(
                namespaced::<Lenient<Agent>>(ctx),
                tx.clone(),
            )),
            tokio::spawn(watch::run::<Workload>(
                namespaced::<Lenient<Workload>>(ctx),
                tx.clone(),
            )),
            tokio::spawn(watch::run_transcripts(
                namespaced::<PartialObjectMeta<ConfigMap>>(ctx),
                tx.clone(),
            )),
        ]);
    }

    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        self.start_watchers();
        loop {
            tokio::select! {
                c = commands.recv() => match c {
                    None | Some(Command::Shutdown) => break,
                    Some(c) => self.command(c),
                },
                Some(m) = self.irx.recv() => self.internal(m),
            }
        }
        for w in self.watchers.drain(..) {
            w.abort();
        }
        self.emit(BackendEvent::Notice("cluster backend stopped".into()));
    }

    // ---- watch results ---------------------------------------------------------------------

    fn internal(&mut self, m: Msg) {
        match m {
            Msg::Listed(l) => self.listed(l),
            Msg::ListFailed(what) => {
                if let Some(p) = self.pending.as_mut() {
                    match what {
                        "Agents" => p.agents_failed = true,
                        "Workloads" => p.workloads_failed = true,
                        // Tasks and nodes are the console: wait for them.
                        _ => {}
                    }
                }
                self.maybe_snapshot();
            }
            Msg::Change(e) => {
                if let BackendEvent::TaskDeleted(k) = &e {
                    self.followed.retain(|f| f != k);
                }
                match self.pending.as_mut() {
                    Some(p) => p.queued.push(e),
                    None => self.emit(e),
                }
            }
            Msg::Ui(e) => self.emit(e),
            Msg::TranscriptChanged(key) => {
                if self.followed.contains(&key) {
                    self.load_transcript(key);
                }
            }
            Msg::TranscriptsResynced => {
                let keys: Vec<TaskKey> = self.followed.iter().cloned().collect();
                for k in keys {
                    self.load_transcript(k);
                }
            }
            Msg::Loaded(key, records) => {
                let again = self.loads.remove(&key).unwrap_or(false);
                self.emit(BackendEvent::Transcript {
                    task: key.clone(),
                    records,
                });
                if again {
                    self.load_transcript(key);
                }
            }
            Msg::JobEnded(key) => {
                self.jobs.remove(&key);
            }
        }
    }

    fn listed(&mut self, l: Listed) {
        let Some(p) = self.pending.as_mut() else {
            // A kind whose first list failed came in after the Snapshot: its objects follow
            // as changes.
            let events: Vec<BackendEvent> = match l {
                Listed::Tasks(v) => v
                    .into_iter()
                    .map(|t| BackendEvent::TaskUpdated(Box::new(t)))
                    .collect(),
                Listed::Nodes(v) => v
                    .into_iter()
                    .map(|n| BackendEvent::NodeUpdated(Box::new(n)))
                    .collect(),
                Listed::Agents(v) => v
                    .into_iter()
                    .map(|a| BackendEvent::AgentUpdated(Box::new(a)))
                    .collect(),
                Listed::Workloads(v) => v
                    .into_iter()
                    .map(|w| BackendEvent::WorkloadUpdated(Box::new(w)))
                    .collect(),
            };
            for e in events {
                self.emit(e);
            }
            return;
        };
        let (what, n) = match &l {
            Listed::Tasks(v) => ("AgenticTasks", v.len()),
            Listed::Nodes(v) => ("FleetNodes", v.len()),
            Listed::Agents(v) => ("Agents", v.len()),
            Listed::Workloads(v) => ("Workloads", v.len()),
        };
        tracing::debug!("listed {n} {what} after {:?}", self.started.elapsed());
        match l {
            Listed::Tasks(v) => p.tasks = Some(v),
            Listed::Nodes(v) => p.nodes = Some(v),
            Listed::Agents(v) => p.agents = Some(v),
            Listed::Workloads(v) => p.workloads = Some(v),
        }
        self.maybe_snapshot();
    }

    fn maybe_snapshot(&mut self) {
        if !self.pending.as_ref().is_some_and(Pending::ready) {
            return;
        }
        let Some(p) = self.pending.take() else {
            return;
        };
        tracing::info!(
            "cluster snapshot after {:?}: {} tasks, {} nodes",
            self.started.elapsed(),
            p.tasks.as_ref().map_or(0, Vec::len),
            p.nodes.as_ref().map_or(0, Vec::len)
        );
        self.emit(BackendEvent::Snapshot {
            tasks: (p.tasks.unwrap_or_default().into_iter())
                .map(Held::compact)
                .collect(),
            nodes: p.nodes.unwrap_or_default(),
            agents: p.agents.unwrap_or_default(),
        });
        for w in p.workloads.unwrap_or_default() {
            self.emit(BackendEvent::WorkloadUpdated(Box::new(w)));
        }
        for e in p.queued {
            self.emit(e);
        }
    }

    // ---- commands --------------------------------------------------------------------------

    fn command(&mut self, c: Command) {
        match c {
            Command::Submit { replace: true, .. } => self.emit(BackendEvent::Error(
                "submit --replace is for the local state; on a cluster use kubectl apply".into(),
            )),
            Command::Submit { path, .. } => {
                let (ctx, prev) = (self.ctx.clone(), self.last_submit.take());
                self.last_submit = Some(tokio::spawn(async move {
                    if let Some(prev) = prev {
                        let _ = prev.await;
                    }
                    let r = ops::submit(&ctx.client, &ctx.submit_namespace(), path).await;
                    ctx.emit(match r {
                        Ok(m) => BackendEvent::Notice(m),
                        Err(e) => BackendEvent::Error(e),
                    });
                }));
            }
            Command::Requeue(key) => {
                let ctx = self.ctx.clone();
                self.spawn_op(async move { ops::requeue(&ctx, &key).await });
            }
            Command::Cancel(key) => {
                let ctx = self.ctx.clone();
                self.spawn_op(async move { ops::cancel(&ctx, &key).await });
            }
            Command::RejectPush(key) => {
                let ctx = self.ctx.clone();
                self.spawn_op(async move { ops::reject(&ctx, &key).await });
            }
            Command::ApprovePush(key) => self.start_job(key, Job::Push),
            Command::OpenPr(key) => self.start_job(key, Job::OpenPr),
            Command::LoadTranscript(key) => {
                self.followed.retain(|f| *f != key);
                self.followed.push_back(key.clone());
                while self.followed.len() > FOLLOWED {
                    self.followed.pop_front();
                }
                self.load_transcript(key);
            }
            Command::LoadDiff(key) => {
                let ctx = self.ctx.clone();
                tokio::spawn(async move {
                    let files = ops::diff(&ctx, &key).await;
                    // Earlier attempts are kept only in the embedded state.
                    let latest = None;
                    ctx.emit(BackendEvent::Diff {
                        task: key,
                        files,
                        latest,
                    });
                });
            }
            Command::Note { task, text } => {
                let ctx = self.ctx.clone();
                self.spawn_op(async move { ops::note(&ctx, &task, text).await });
            }
            Command::RequestChanges { task, feedback } => {
                let ctx = self.ctx.clone();
                self.spawn_op(async move { ops::request_changes(&ctx, &task, &feedback).await });
            }
            Command::Shutdown => {}
            // A finished task was listed as its summary: the full one from the apiserver.
            Command::LoadTask(key) => {
                let ctx = self.ctx.clone();
                tokio::spawn(async move {
                    if let Some(e) = ops::load_task(&ctx, &key).await {
                        ctx.emit(e);
                    }
                });
            }
            Command::CreateTask(t) => {
                let ctx = self.ctx.clone();
                self.spawn_op(async move { super::intake::create_task(&ctx, *t).await });
            }
            Command::WithdrawDecision(key) => {
                let ctx = self.ctx.clone();
                self.spawn_op(async move { super::decide::withdraw(&ctx, &key).await });
            }
            Command::LoadAttempt { task, attempt } => {
                let ctx = self.ctx.clone();
                tokio::spawn(async move {
                    let view = transcript::attempt(&ctx, &task, attempt).await;
                    ctx.emit(BackendEvent::Attempt(Box::new(view)));
                });
            }
        }
    }

    /// Runs a command whose outcome is a notice or an error.
    fn spawn_op(&self, op: impl Future<Output = Result<String, String>> + Send + 'static) {
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            let e = match op.await {
                Ok(m) => BackendEvent::Notice(m),
                Err(e) => BackendEvent::Error(e),
            };
            ctx.emit(e);
        });
    }

    /// Pushes or opens a PR; one job per task at a time; ends with `JobDone`.
    fn start_job(&mut self, key: TaskKey, job: Job) {
        if !self.jobs.insert(key.clone()) {
            return self.emit(BackendEvent::JobDone {
                task: key,
                job,
                outcome: Err("a job for this task is already running".into()),
            });
        }
        let (ctx, itx) = (self.ctx.clone(), self.itx.clone());
        tokio::spawn(async move {
            let outcome = match job {
                Job::Push => ops::approve(&ctx, &key).await,
                Job::OpenPr => ops::open_pr(&ctx, &key).await,
            };
            ctx.emit(BackendEvent::JobDone {
                task: key.clone(),
                job,
                outcome,
            });
            let _ = itx.send(Msg::JobEnded(key));
        });
    }

    /// Reads a transcript; one read per task at a time, repeated once if asked meanwhile (so
    /// an older read never lands after a newer one).
    fn load_transcript(&mut self, key: TaskKey) {
        if let Some(again) = self.loads.get_mut(&key) {
            *again = true;
            return;
        }
        self.loads.insert(key.clone(), false);
        let (ctx, itx) = (self.ctx.clone(), self.itx.clone());
        tokio::spawn(async move {
            let r = transcript::load(&ctx, &key).await;
            let _ = itx.send(Msg::Loaded(key, r));
        });
    }
}
