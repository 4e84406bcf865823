//! The console's side of the embedded backend, as the backend suites see it: the latest copy
//! of every task and node from the events, the job outcomes, diffs and errors, and waits on
//! them with a deadline. One harness, so every suite reads the events the same way.
#![allow(dead_code)]

use foreman::api::{AgenticTask, FleetNode};
use foreman::backend::attempt::AttemptDiff;
use foreman::backend::embedded::{EmbeddedConfig, EmbeddedOptions, start_embedded_with};
use foreman::backend::{BackendEvent, BackendHandle, Command, Job};
use foreman::fleet::status::result_extra;
use foreman::fleet::{TaskKey, TaskState, task_state};
use foreman::workspace::FileDiff;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// Clocks a little faster than the product's, the inference probe off (a scripted peer
/// answers every request from one queue).
pub fn opts() -> EmbeddedOptions {
    EmbeddedOptions {
        probe_inference: false,
        schedule_every: Duration::from_millis(100),
        heartbeat_every: Duration::from_millis(500),
        probe_every: Duration::from_secs(60),
        refresh_every: Duration::from_millis(100),
    }
}

/// The UI's view: the latest copy of every task from the events.
pub struct Ui {
    pub rx: mpsc::UnboundedReceiver<BackendEvent>,
    pub tasks: HashMap<String, AgenticTask>,
    pub node: Option<FleetNode>,
    pub run_events: HashMap<String, usize>,
    pub jobs: Vec<(Job, Result<String, String>)>,
    pub diffs: Vec<(TaskKey, Result<Vec<FileDiff>, String>)>,
    pub errors: Vec<String>,
    pub snapshot: Option<Vec<AgenticTask>>,
    /// The latest attempt's own change from the last diff answer.
    pub latest: Option<AttemptDiff>,
}

impl Ui {
    pub fn start(cfg: EmbeddedConfig) -> (Ui, BackendHandle) {
        Self::start_with(cfg, opts())
    }

    pub fn start_with(cfg: EmbeddedConfig, opts: EmbeddedOptions) -> (Ui, BackendHandle) {
        let (tx, rx) = mpsc::unbounded_channel();
        let h = start_embedded_with(cfg, opts, tx).unwrap();
        let ui = Ui {
            rx,
            tasks: HashMap::new(),
            node: None,
            run_events: HashMap::new(),
            jobs: Vec::new(),
            diffs: Vec::new(),
            errors: Vec::new(),
            snapshot: None,
            latest: None,
        };
        (ui, h)
    }

    pub fn apply(&mut self, e: BackendEvent) {
        match e {
            BackendEvent::Snapshot { tasks, nodes, .. } => {
                let tasks: Vec<_> = tasks
                    .into_iter()
                    .map(|(_, t)| t.task().unwrap().into_owned())
                    .collect();
                for t in &tasks {
                    self.tasks.insert(TaskKey::of(t).name, t.clone());
                }
                self.node = nodes.into_iter().next();
                self.snapshot = Some(tasks);
            }
            BackendEvent::TaskUpdated(t) => {
                self.tasks.insert(TaskKey::of(&t).name, *t);
            }
            BackendEvent::NodeUpdated(n) => self.node = Some(*n),
            BackendEvent::Run { task, .. } => *self.run_events.entry(task.name).or_default() += 1,
            BackendEvent::JobDone { job, outcome, .. } => self.jobs.push((job, outcome)),
            BackendEvent::Diff {
                task,
                files,
                latest,
            } => {
                self.diffs.push((task, files));
                self.latest = latest;
            }
            BackendEvent::Error(e) => self.errors.push(e),
            BackendEvent::Notice(_) => {}
            // Deletions, agents, workloads and transcripts: not what this suite checks.
            _ => {}
        }
    }

    pub fn state(&self, name: &str) -> Option<TaskState> {
        self.tasks.get(name).map(task_state)
    }

    /// The commit of `name`'s current Result.
    pub fn sha(&self, name: &str) -> String {
        result_extra(&self.tasks[name])
            .commit_sha
            .unwrap_or_default()
    }

    /// The next diff answer: the whole change and the latest attempt's own.
    pub async fn diff(
        &mut self,
        h: &BackendHandle,
        key: TaskKey,
    ) -> (Vec<FileDiff>, Option<AttemptDiff>) {
        self.diffs.clear();
        h.send(Command::LoadDiff(key));
        self.until("the diff", |u| !u.diffs.is_empty()).await;
        let (_, files) = self.diffs.remove(0);
        (files.expect("the whole change"), self.latest.take())
    }

    pub fn reason(&self, name: &str) -> String {
        self.tasks
            .get(name)
            .and_then(|t| t.status.as_ref()?.conditions.as_ref()?.last().cloned())
            .map(|c| c.reason)
            .unwrap_or_default()
    }

    /// Waits up to 15 s for `f` to hold.
    pub async fn until(&mut self, what: &str, f: impl Fn(&Ui) -> bool) {
        self.until_within(what, Duration::from_secs(15), f).await
    }

    /// Waits up to `within` for `f` to hold (a real model needs minutes, not seconds).
    pub async fn until_within(&mut self, what: &str, within: Duration, f: impl Fn(&Ui) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        while !f(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => self.apply(e),
                _ => panic!(
                    "timed out waiting for {what}; states: {:?}; errors: {:?}",
                    self.tasks
                        .iter()
                        .map(|(k, t)| (k.clone(), task_state(t), self.reason(k)))
                        .collect::<Vec<_>>(),
                    self.errors
                ),
            }
        }
    }

    /// Drains events for `d` (to check something does NOT happen).
    pub async fn settle(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.apply(e);
        }
    }
}

/// Writes `text` to `dir/file` and submits it.
pub fn submit(h: &BackendHandle, dir: &Path, file: &str, text: &str) {
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    h.send(Command::Submit {
        path: p,
        replace: false,
    });
}
