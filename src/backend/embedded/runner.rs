//! The backend actor: owns the store, schedules, runs tasks, applies job results. Everything
//! that changes a task goes through here, so the files and the events never disagree.

use super::node::{self, InferenceProbe};
use super::{EmbeddedConfig, EmbeddedOptions, Store};
use crate::api::fleetnode::NodeAccelerator;
use crate::api::{AgenticTask, FleetNode, Object};
use crate::backend::jobs;
use crate::backend::{BackendEvent, Command, Job};
use crate::executor::RunReport;
use crate::executor::terminal::{Terminal, apply_terminal, envelope_of};
use crate::fleet::TaskKey;
use crate::fleet::TaskState;
use crate::fleet::extra::{PushDecision, ResultExtra};
use crate::fleet::reasons::REASON_INTERRUPTED;
use crate::fleet::status::{fail_with, merge_extra, result_extra};
use crate::fleet::task_state;
use crate::workspace::auth::redact_url;
use jiff::Timestamp;
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub(super) enum Internal {
    Finished(TaskKey, Box<Result<RunReport, String>>),
    Tps(f64),
    Probe(InferenceProbe),
    PushDone(TaskKey, Result<String, String>),
    PrDone(TaskKey, Result<jobs::PrOpened, String>),
    Loaded(Result<Vec<Object>, String>, bool),
}

pub struct Runner {
    pub(super) cfg: EmbeddedConfig,
    pub(super) opts: EmbeddedOptions,
    pub(super) store: Store,
    pub(super) events: mpsc::UnboundedSender<BackendEvent>,
    pub(super) itx: mpsc::UnboundedSender<Internal>,
    pub(super) irx: mpsc::UnboundedReceiver<Internal>,
    pub(super) running: HashMap<TaskKey, JoinHandle<()>>,
    /// The notes inbox of each running task.
    pub(super) inboxes: HashMap<TaskKey, crate::agent::Inbox>,
    pub(super) jobs: HashSet<TaskKey>,
    pub(super) accelerator: NodeAccelerator,
    pub(super) probe: InferenceProbe,
    pub(super) tps: Option<f64>,
    pub(super) slots: super::slots::Slots,
    pub(super) node: FleetNode,
    /// The latest manifest load: each load waits for the one before, so files submitted in
    /// order (an Agent, then the task that references it) land in that order.
    pub(super) last_load: Option<JoinHandle<()>>,
}

impl Runner {
    pub fn new(
        cfg: EmbeddedConfig,
        opts: EmbeddedOptions,
        store: Store,
        events: mpsc::UnboundedSender<BackendEvent>,
    ) -> Runner {
        let (itx, irx) = mpsc::unbounded_channel();
        let accelerator = crate::fleet::host::probe_accelerator();
        let probe = InferenceProbe::default();
        let node = node::local_node(&cfg.node_name, accelerator, &probe, None, &[]);
        Runner {
            cfg,
            opts,
            store,
            events,
            itx,
            irx,
            running: HashMap::new(),
            inboxes: HashMap::new(),
            jobs: HashSet::new(),
            accelerator,
            probe,
            tps: None,
            slots: Default::default(),
            node,
            last_load: None,
        }
    }

    pub(super) fn emit(&self, e: BackendEvent) {
        let _ = self.events.send(e);
    }

    /// Writes the task (compare-and-swap) and tells the UI; returns the stored copy, or None
    /// when it was not written (the error is shown).
    pub(super) fn save(&mut self, t: &AgenticTask) -> Option<AgenticTask> {
        let r = self.store.save_task(t);
        self.saved(r, t)
    }

    /// Reports the outcome of a task write.
    pub(super) fn saved(
        &mut self,
        r: Result<AgenticTask, super::StoreError>,
        t: &AgenticTask,
    ) -> Option<AgenticTask> {
        match r {
            Ok(stored) => {
                self.emit(BackendEvent::TaskUpdated(Box::new(stored.clone())));
                Some(stored)
            }
            Err(e @ super::StoreError::Conflict { .. }) => {
                self.emit(BackendEvent::Error(e.to_string()));
                self.refresh();
                None
            }
            Err(e) => {
                self.emit(BackendEvent::Error(format!(
                    "cannot save task {}: {e}; check the state directory is writable",
                    TaskKey::of(t)
                )));
                None
            }
        }
    }

    /// Picks up what other processes wrote (a `foreman submit`, a second console) and tells
    /// the UI with the usual events; new Pending tasks are scheduled at once.
    pub(super) fn refresh(&mut self) {
        let (ch, bad) = match self.store.refresh() {
            Ok(r) => r,
            Err(e) => return self.emit(BackendEvent::Error(format!("cannot read the state: {e}"))),
        };
        for w in bad {
            self.emit(BackendEvent::Error(w));
        }
        if ch.is_empty() {
            return;
        }
        // A new Workload fans out in the pass, so it counts as a task change.
        let tasks_changed =
            !ch.tasks.is_empty() || !ch.deleted_tasks.is_empty() || !ch.workloads.is_empty();
        for t in ch.tasks {
            self.emit(BackendEvent::TaskUpdated(Box::new(t)));
        }
        for k in ch.deleted_tasks {
            self.emit(BackendEvent::TaskDeleted(k));
        }
        for a in ch.agents {
            self.emit(BackendEvent::AgentUpdated(Box::new(a)));
        }
        for (namespace, name) in ch.deleted_agents {
            self.emit(BackendEvent::AgentDeleted { namespace, name });
        }
        for w in ch.workloads {
            self.emit(BackendEvent::WorkloadUpdated(Box::new(w)));
        }
        for (namespace, name) in ch.deleted_workloads {
            self.emit(BackendEvent::WorkloadDeleted { namespace, name });
        }
        // Another console on this machine heartbeats the same node: ours is the one shown.
        if tasks_changed {
            self.schedule();
        }
    }

    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        // The console's first full frame waits for the Snapshot, not for the heartbeat's
        // write (an fsync): the node it shows is updated a moment later.
        self.emit(BackendEvent::Snapshot {
            tasks: self.store.held(),
            nodes: vec![self.node.clone()],
            agents: self.store.agents(),
        });
        self.heartbeat();
        for w in self.store.workloads() {
            self.emit(BackendEvent::WorkloadUpdated(Box::new(w)));
        }
        self.spawn_probe();
        self.schedule();
        let mut sched_tick = tokio::time::interval(self.opts.schedule_every);
        let mut hb_tick = tokio::time::interval(self.opts.heartbeat_every);
        let mut probe_tick = tokio::time::interval(self.opts.probe_every);
        probe_tick.reset();
        let mut refresh_tick = tokio::time::interval(self.opts.refresh_every);
        refresh_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                c = commands.recv() => match c {
                    None | Some(Command::Shutdown) => break,
                    Some(c) => self.command(c),
                },
                Some(i) = self.irx.recv() => self.internal(i),
                _ = sched_tick.tick() => self.schedule(),
                _ = hb_tick.tick() => self.heartbeat(),
                _ = probe_tick.tick() => self.spawn_probe(),
                _ = refresh_tick.tick() => {
                    self.refresh();
                    self.deliver_notes();
                }
            }
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let running: Vec<TaskKey> = self.running.keys().cloned().collect();
        for key in running {
            if let Some(h) = self.running.remove(&key) {
                h.abort();
            }
            if let Some(mut t) = self.store.task(&key).cloned() {
                self.cut_short(
                    &mut t,
                    REASON_INTERRUPTED,
                    "the console stopped while this task ran; re-queue it with R",
                );
                self.save(&t);
            }
        }
        self.emit(BackendEvent::Notice("embedded backend stopped".into()));
    }

    pub(super) fn heartbeat(&mut self) {
        let running: Vec<String> = {
            let mut v: Vec<String> = self.running.keys().map(|k| k.to_string()).collect();
            v.sort();
            v
        };
        self.node = node::local_node(
            &self.cfg.node_name,
            self.accelerator,
            &self.probe,
            self.tps,
            &running,
        );
        if let Err(e) = self.store.save_node(&self.node) {
            self.emit(BackendEvent::Error(format!("cannot save this node: {e}")));
        }
        self.emit(BackendEvent::NodeUpdated(Box::new(self.node.clone())));
        // A run of another process that died (kill -9 of a second console) is marked here.
        match self.store.recover() {
            Ok(cut) => {
                for t in cut {
                    self.emit(BackendEvent::Notice(format!(
                        "{} was interrupted: the process running it stopped; re-queue it with R",
                        TaskKey::of(&t)
                    )));
                    self.emit(BackendEvent::TaskUpdated(Box::new(t)));
                }
            }
            Err(e) => self.emit(BackendEvent::Error(format!("cannot recover runs: {e}"))),
        }
    }

    fn spawn_probe(&self) {
        if !self.opts.probe_inference {
            return;
        }
        let (itx, base) = (self.itx.clone(), self.cfg.base_url.clone());
        tokio::spawn(async move {
            let _ = itx.send(Internal::Probe(node::probe_inference(&base).await));
        });
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Submit { path, replace } => {
                let (itx, prev) = (self.itx.clone(), self.last_load.take());
                let limits = self.cfg.limits.clone();
                self.last_load = Some(tokio::spawn(async move {
                    if let Some(prev) = prev {
                        let _ = prev.await;
                    }
                    let r = tokio::task::spawn_blocking(move || {
                        crate::api::load_file_with(&path, &limits).map_err(|e| e.to_string())
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("manifest loader failed: {e}")));
                    let _ = itx.send(Internal::Loaded(r, replace));
                }));
            }
            Command::ApprovePush(key) => self.approve(key),
            Command::RejectPush(key) => self.reject(key),
            Command::OpenPr(key) => self.open_pr(key),
            Command::Requeue(key) => match self.store.requeue(&key) {
                Ok(t) => {
                    self.emit(BackendEvent::TaskUpdated(Box::new(t)));
                    self.emit(BackendEvent::Notice(format!("{key} re-queued")));
                    self.schedule();
                }
                Err(e) => self.emit(BackendEvent::Error(e.to_string())),
            },
            Command::Cancel(key) => self.cancel(key),
            Command::LoadTranscript(key) => self.load_transcript(key),
            Command::LoadDiff(key) => self.load_diff(key),
            Command::Note { task, text } => self.note(task, text),
            Command::RequestChanges { task, feedback } => self.request_changes(task, feedback),
            Command::Shutdown => {}
            Command::CreateTask(t) => self.create_task(*t),
            Command::LoadAttempt { task, attempt } => self.load_attempt(task, attempt),
            // This machine is the one node: decisions are carried out at once, none wait.
            Command::WithdrawDecision(key) => self.emit(BackendEvent::Error(format!(
                "{key} has no pending decision: on the local state decisions are carried out at once"
            ))),
            Command::LoadTask(key) => match self.store.task(&key).cloned() {
                Some(t) => self.emit(BackendEvent::TaskUpdated(Box::new(t))),
                None => self.emit(BackendEvent::TaskDeleted(key)),
            },
        }
    }

    fn internal(&mut self, i: Internal) {
        match i {
            Internal::Finished(key, res) => {
                let unread = self.inboxes.remove(&key).map(|i| i.close());
                if let Some(n) = unread.map(|u| u.len()).filter(|n| *n > 0) {
                    self.emit(BackendEvent::Error(crate::agent::notes::unread_notice(
                        n, &key,
                    )));
                }
                if self.running.remove(&key).is_some() {
                    self.finished(&key, *res);
                    self.heartbeat();
                    self.schedule();
                }
            }
            Internal::Tps(v) => self.tps = node::average_tps(self.tps, v),
            Internal::Probe(p) => self.probed(p),
            Internal::Loaded(Err(e), _) => self.emit(BackendEvent::Error(e)),
            Internal::Loaded(Ok(objects), replace) => match self.store.submit(objects, replace) {
                Ok(done) => {
                    for k in &done.tasks {
                        if let Some(t) = self.store.task(k).cloned() {
                            self.emit(BackendEvent::TaskUpdated(Box::new(t)));
                        }
                    }
                    for a in self.store.agents() {
                        self.emit(BackendEvent::AgentUpdated(Box::new(a)));
                    }
                    self.emit(BackendEvent::Notice(format!(
                        "submitted {} task(s)",
                        done.tasks.len()
                    )));
                    self.schedule();
                }
                Err(e) => self.emit(BackendEvent::Error(e.to_string())),
            },
            Internal::PushDone(key, res) => {
                self.jobs.remove(&key);
                if res.is_ok()
                    && let Some(mut t) = self.store.task(&key).cloned()
                {
                    let by = &self.cfg.node_name;
                    let decided =
                        ResultExtra::decided(PushDecision::Approved, by, Timestamp::now());
                    merge_extra(&mut t, &decided);
                    self.save(&t);
                }
                self.emit(BackendEvent::JobDone {
                    task: key,
                    job: Job::Push,
                    outcome: res,
                });
            }
            Internal::PrDone(key, res) => {
                self.jobs.remove(&key);
                let outcome = match res {
                    Ok(pr) => {
                        if let Some(mut t) = self.store.task(&key).cloned() {
                            merge_extra(&mut t, &ResultExtra::pull_request(&pr.url, pr.number));
                            self.save(&t);
                        }
                        Ok(pr.url)
                    }
                    Err(e) => Err(e),
                };
                self.emit(BackendEvent::JobDone {
                    task: key,
                    job: Job::OpenPr,
                    outcome,
                });
            }
        }
    }

    /// Names the journal of a run for the console to read: status.transcriptRef, else the journal of the
    /// task's current attempt when one was written (an Interrupted or Failed run, cut short
    /// before it could record its end). Nothing recorded yet is an empty transcript.
    fn load_transcript(&self, key: TaskKey) {
        let path = self.store.task(&key).and_then(|t| {
            t.status
                .as_ref()
                .and_then(|s| s.transcript_ref.clone())
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    let p = self
                        .store
                        .journal_path_of(&key, super::store::attempt_of(t));
                    p.exists().then_some(p)
                })
        });
        let events = self.events.clone();
        match path {
            None => self.emit(BackendEvent::Transcript {
                task: key,
                records: Ok(Vec::new()),
            }),
            Some(p) => {
                let _ = events.send(BackendEvent::Journal { task: key, path: p });
            }
        }
    }

    /// Computes the task's diff from its kept workspace (all workspaces are on this machine)
    /// off the actor.
    fn load_diff(&self, key: TaskKey) {
        let Some(t) = self.store.task(&key).cloned() else {
            return self.emit(BackendEvent::Diff {
                task: key,
                files: Err("no such task".into()),
                latest: None,
            });
        };
        let since = self.previous_commit(&key, &t);
        let events = self.events.clone();
        tokio::spawn(async move {
            let files = jobs::load_diff(&t).await;
            let latest = match since {
                Some((n, sha)) => jobs::load_attempt_diff(&t, n, sha).await,
                None => None,
            };
            let _ = events.send(BackendEvent::Diff {
                task: key,
                files,
                latest,
            });
        });
    }

    fn job_refused(&self, key: TaskKey, job: Job, msg: String) {
        self.emit(BackendEvent::JobDone {
            task: key,
            job,
            outcome: Err(msg),
        });
    }

    fn state_of(&self, key: &TaskKey) -> Option<(AgenticTask, TaskState)> {
        let t = self.store.task(key)?.clone();
        let s = task_state(&t);
        Some((t, s))
    }

    fn approve(&mut self, key: TaskKey) {
        let Some((t, state)) = self.state_of(&key) else {
            return self.job_refused(key.clone(), Job::Push, format!("no task {key}"));
        };
        if state != TaskState::AwaitingApproval {
            return self.job_refused(
                key,
                Job::Push,
                format!("nothing to push: the task is {state:?}"),
            );
        }
        if !self.jobs.insert(key.clone()) {
            return self.job_refused(
                key,
                Job::Push,
                "a job for this task is already running".into(),
            );
        }
        let (itx, token) = (self.itx.clone(), self.cfg.token.clone());
        tokio::spawn(async move {
            let r = jobs::push(&t, &token).await;
            let _ = itx.send(Internal::PushDone(key, r));
        });
    }

    fn reject(&mut self, key: TaskKey) {
        let Some((mut t, state)) = self.state_of(&key) else {
            return self.emit(BackendEvent::Error(format!("no task {key}")));
        };
        if state != TaskState::AwaitingApproval {
            return self.emit(BackendEvent::Error(format!(
                "{key} is not awaiting approval ({state:?}); nothing to reject"
            )));
        }
        let by = &self.cfg.node_name;
        let decided = ResultExtra::decided(PushDecision::Rejected, by, Timestamp::now());
        merge_extra(&mut t, &decided);
        self.save(&t);
        let ws = result_extra(&t).workspace.unwrap_or_default();
        self.emit(BackendEvent::Notice(format!(
            "push of {key} rejected; the workspace {ws} is kept"
        )));
    }

    fn open_pr(&mut self, key: TaskKey) {
        let Some((t, state)) = self.state_of(&key) else {
            return self.job_refused(key.clone(), Job::OpenPr, format!("no task {key}"));
        };
        if !matches!(state, TaskState::Pushed | TaskState::PrOpen) {
            return self.job_refused(
                key,
                Job::OpenPr,
                format!("a pull request needs a pushed branch; the task is {state:?} (approve the push first)"),
            );
        }
        if !self.jobs.insert(key.clone()) {
            return self.job_refused(
                key,
                Job::OpenPr,
                "a job for this task is already running".into(),
            );
        }
        let itx = self.itx.clone();
        let (remote, api, token) = (
            self.cfg.git_remote_url.clone(),
            self.cfg.github_api_base.clone(),
            self.cfg.token.clone(),
        );
        tokio::spawn(async move {
            let r = jobs::open_pr(&t, remote.as_deref(), &api, &token).await;
            let _ = itx.send(Internal::PrDone(key, r));
        });
    }

    fn cancel(&mut self, key: TaskKey) {
        let Some(mut t) = self.store.task(&key).cloned() else {
            return self.emit(BackendEvent::Error(format!("no task {key}")));
        };
        let state = task_state(&t);
        let (reason, message) = ("Cancelled", "cancelled by the operator");
        self.inboxes.remove(&key);
        match self.running.remove(&key) {
            Some(h) => {
                h.abort();
                self.cut_short(&mut t, reason, message);
            }
            None if matches!(state, TaskState::Pending | TaskState::Waiting) => {
                fail_with(&mut t, reason, message)
            }
            None => {
                return self.emit(BackendEvent::Error(format!(
                    "{key} is not running or queued ({state:?}); nothing to cancel"
                )));
            }
        }
        self.save(&t);
        self.heartbeat();
        self.schedule();
    }

    fn finished(&mut self, key: &TaskKey, res: Result<RunReport, String>) {
        let Some(mut t) = self.store.task(key).cloned() else {
            return;
        };
        let mut pushed_go = false;
        let terminal = match res {
            Err(msg) => Terminal::executor_error(msg),
            Ok(rep) => {
                pushed_go = rep.result.verdict == "GO" && rep.pending_push.is_none();
                if rep.result.extra.journal_incomplete == Some(true) {
                    self.emit(BackendEvent::Error(format!(
                        "{key}: writes to its journal {} failed (disk full?); its transcript is incomplete",
                        rep.journal.display()
                    )));
                }
                Terminal::Result {
                    transcript_ref: Some(rep.journal.display().to_string()),
                    result: Box::new(envelope_of(rep)),
                }
            }
        };
        apply_terminal(&mut t, &terminal);
        if pushed_go && self.cfg.auto_push {
            // Pushed at once: the kept clone still serves "open PR" (base branch and commit
            // message).
            let ws = self
                .store
                .workspace_root()
                .join(&key.namespace)
                .join(&key.name);
            if ws.exists() {
                let remote = self.cfg.git_remote_url.as_deref().map(redact_url);
                let kept = ResultExtra {
                    workspace: Some(ws.display().to_string()),
                    remote: Some(remote.unwrap_or_default()),
                    ..Default::default()
                };
                merge_extra(&mut t, &kept);
            }
        }
        self.save(&t);
    }

    /// Ends a run that was cut short (cancel, shutdown) the way a finished one ends.
    fn cut_short(&mut self, t: &mut AgenticTask, reason: &str, message: &str) {
        let end = Terminal::Failed {
            reason: reason.into(),
            message: message.into(),
        };
        apply_terminal(t, &end);
    }
}
