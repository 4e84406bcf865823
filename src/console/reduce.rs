//! What the backend's events do to the console: the mirror follows the fleet, the operator
//! hears about what needs them (status line, bell), transcripts are streamed live or loaded
//! from the backend, diffs are handed to a job that builds their view, and job results land
//! in the status line.

use super::pane::{Focus, View};
use super::state::{App, Effect, Level, Loaded};
use crate::agent::LoopEvent;
use crate::agent::transcript::Record;
use crate::api::{AgenticTask, TaskPhase};
use crate::backend::{BackendEvent, Command, Job};
use crate::console::diff::DiffView;
use crate::console::transcript::{JournalItem, Transcript, journal_items};
use crate::executor::ExecEvent;
use crate::fleet::TaskKey;
use crate::fleet::TaskState;
use crate::fleet::held::is_finished;
use crate::fleet::outcome::failure;
use crate::fleet::task_state;
use crate::oai::StreamEvent;

impl App {
    pub fn on_backend(&mut self, ev: BackendEvent) -> Vec<Effect> {
        let mut fx = Vec::new();
        match ev {
            BackendEvent::Snapshot {
                tasks,
                nodes,
                agents,
            } => {
                self.mirror.replace(tasks, nodes, agents);
                self.reorder();
                fx.extend(self.ensure_transcript());
            }
            BackendEvent::TaskUpdated(t) => fx = self.on_task_updated(*t),
            BackendEvent::TaskDeleted(key) => fx = self.on_task_deleted(key),
            BackendEvent::NodeUpdated(n) => self.mirror.put_node(*n),
            BackendEvent::NodeDeleted(name) => {
                self.mirror.remove_node(&name);
                self.selected_node = self
                    .selected_node
                    .min(self.mirror.nodes.len().saturating_sub(1));
            }
            BackendEvent::AgentUpdated(a) => self.mirror.put_agent(*a),
            BackendEvent::AgentDeleted { namespace, name } => {
                self.mirror.remove_agent(namespace, name)
            }
            BackendEvent::WorkloadUpdated(w) => self.mirror.put_workload(*w),
            BackendEvent::WorkloadDeleted { namespace, name } => {
                self.mirror.remove_workload(namespace, name)
            }
            BackendEvent::Transcript { task, records } => {
                self.on_transcript_loaded(task, records);
            }
            BackendEvent::Diff {
                task,
                files,
                latest,
            } => fx.extend(self.on_diff(task, files, latest)),
            BackendEvent::Run { task, event } => self.on_run(task, event),
            BackendEvent::JobDone { task, job, outcome } => {
                self.jobs.remove(&(task.clone(), job));
                match (job, outcome) {
                    (Job::Push, Ok(m)) => self.say(format!("{task}: {m}"), Level::Info),
                    (Job::OpenPr, Ok(url)) => {
                        self.say(format!("{task}: pull request {url}"), Level::Info)
                    }
                    (_, Err(e)) => self.say(format!("{task}: {e}"), Level::Error),
                }
            }
            BackendEvent::Notice(m) => self.say(m, Level::Info),
            BackendEvent::Error(m) => self.say(m, Level::Error),
            BackendEvent::Leader(holder) if holder.is_empty() => {
                self.say("no scheduler holds the lease".to_string(), Level::Warn);
                self.leader = None;
            }
            BackendEvent::Leader(holder) => {
                let holder = crate::oai::terminal_safe(&holder).to_string();
                self.say(format!("scheduler: {holder} leads"), Level::Info);
                self.leader = Some(holder);
            }
            BackendEvent::Attempt(v) => self.on_attempt(*v),
            BackendEvent::Journal { task, path } => fx = self.on_journal(task, path),
        }
        fx
    }

    /// A task changed: a re-queue drops its stale transcript, a new state may ring the bell
    /// and say why (awaiting approval, failed).
    fn on_task_updated(&mut self, t: AgenticTask) -> Vec<Effect> {
        let mut fx = Vec::new();
        let key = TaskKey::of(&t);
        let after = task_state(&t);
        let requeued = self.mirror.is_finished(&key) && !is_finished(&t);
        if is_finished(&t) {
            self.waiting.remove(&key);
        }
        let before = self.mirror.put_task(t).map(|b| b.facts().state);
        if requeued {
            // Re-queued (here or by another console): the old run's transcript is stale.
            self.forget_transcript(&key);
        }
        if before != Some(after) && !self.transcripts.contains_key(&key) {
            // Nothing was recorded when last asked; the new state may have a transcript.
            self.loaded.remove(&key);
        }
        if before != Some(after) {
            let bell = match after {
                TaskState::AwaitingApproval => {
                    self.say(format!("{key} is awaiting push approval"), Level::Warn);
                    self.bell.on_approval()
                }
                TaskState::Failed | TaskState::Succeeded => {
                    if let Some(f) = self.mirror.task(&key).and_then(|t| failure(&t)) {
                        self.say(
                            format!("{key} failed: {}: {}", f.reason, f.message),
                            Level::Error,
                        );
                    }
                    self.bell.on_finish()
                }
                _ => false,
            };
            if bell {
                fx.push(Effect::Bell);
            }
        }
        self.reorder();
        fx.extend(self.ensure_transcript());
        fx
    }

    fn on_task_deleted(&mut self, key: TaskKey) -> Vec<Effect> {
        if !self.mirror.remove_task(&key) {
            return Vec::new();
        }
        self.forget_transcript(&key);
        self.loading.remove(&key);
        self.jobs.retain(|(k, _)| *k != key);
        if self.diff.as_ref().is_some_and(|(k, _)| *k == key) {
            self.diff = None;
            self.view = View::Transcript;
        }
        self.reorder();
        self.ensure_transcript()
    }

    fn on_run(&mut self, task: TaskKey, event: ExecEvent) {
        // Streaming here from now on: later stored copies must not replace the live view.
        self.loaded.remove(&task);
        let node = self
            .mirror
            .task(&task)
            .and_then(|t| t.status.as_ref()?.assigned_node.clone());
        let now = self.now();
        match &event {
            ExecEvent::Loop(LoopEvent::TurnStarted { .. })
            | ExecEvent::Loop(LoopEvent::Stream {
                event: StreamEvent::Retry { .. },
                ..
            }) => {
                self.waiting.insert(task.clone(), now);
                self.prompt_progress.remove(&task);
            }
            ExecEvent::Loop(LoopEvent::Stream {
                event: StreamEvent::PromptProgress { processed, total },
                ..
            }) => {
                self.prompt_progress
                    .insert(task.clone(), (*processed, *total));
            }
            ExecEvent::Loop(_) => {
                self.waiting.remove(&task);
                self.prompt_progress.remove(&task);
            }
            ExecEvent::Status(_) => {}
            ExecEvent::Gate(_) => {
                self.waiting.remove(&task);
            }
        }
        let window = self.context_window(&task);
        let t = self.transcripts.entry(task.clone()).or_default();
        if window.is_some() && t.context_fill().is_none() {
            t.set_context_window(window);
        }
        match event {
            ExecEvent::Status(s) => t.status(&s),
            ExecEvent::Gate(g) => {
                self.gates.insert(task, g);
            }
            ExecEvent::Loop(ev) => match ev {
                LoopEvent::TurnStarted { turn, max_turns } => {
                    t.turn_started(turn, max_turns);
                    self.turns.insert(task, (turn, max_turns));
                }
                LoopEvent::Stream { event, .. } => t.stream(&event),
                LoopEvent::Message { message, .. } => t.push_message(&message),
                LoopEvent::TurnFinished(stats) => {
                    if let (Some(tm), Some(node)) = (stats.timings, node.as_ref())
                        && tm.cache_hit().is_some()
                    {
                        self.live_cache.entry(node.clone()).or_default().record(&tm);
                    }
                    if let Some(tps) = stats.timings.and_then(|t| t.predicted_per_second)
                        && let Some(node) = node
                    {
                        self.live_tps.insert(node, tps);
                    }
                    t.turn_finished(stats);
                }
            },
        }
    }

    /// Context window of the node running `task` (its `maxContextTokens`), for the fill meter.
    fn context_window(&self, task: &TaskKey) -> Option<u64> {
        let node = self
            .mirror
            .task(task)?
            .status
            .as_ref()?
            .assigned_node
            .clone()?;
        let cap = self
            .mirror
            .nodes
            .get(&node)?
            .status
            .as_ref()?
            .capability
            .as_ref()?;
        cap.max_context_tokens.filter(|n| *n > 0).map(|n| n as u64)
    }

    /// A task's stored transcript from the backend (a finished run's journal, a transcript
    /// ConfigMap), first load or update. An update that only grew is appended to the open view,
    /// which keeps its scroll position and follow mode; a rewritten one replaces it. A
    /// transcript streaming live in this console is never replaced by a stored copy.
    pub fn on_transcript_loaded(&mut self, key: TaskKey, result: Result<Vec<Record>, String>) {
        self.loading.remove(&key);
        let records = match result {
            Ok(r) => r,
            Err(e) => return self.say(e, Level::Warn),
        };
        if self.transcripts.contains_key(&key) && !self.loaded.contains_key(&key) {
            return;
        }
        let items = journal_items(&records);
        if let Some((turn, max)) = items.iter().rev().find_map(|i| match i {
            JournalItem::TurnStarted { turn, max_turns } => Some((*turn, *max_turns)),
            _ => None,
        }) {
            self.turns.insert(key.clone(), (turn, max));
        }
        let mark = Loaded {
            records: records.len(),
            items: items.len(),
            hash: records_hash(&records),
        };
        let grown = match (self.loaded.get(&key), self.transcripts.get_mut(&key)) {
            (Some(prev), Some(tr))
                if records.len() >= prev.records
                    && items.len() >= prev.items
                    && records_hash(&records[..prev.records]) == prev.hash =>
            {
                for item in &items[prev.items..] {
                    tr.apply(item);
                }
                true
            }
            _ => false,
        };
        if !grown {
            if records.is_empty() {
                self.transcripts.remove(&key);
            } else {
                self.transcripts
                    .insert(key.clone(), Transcript::replay(items.iter()));
            }
        }
        self.loaded.insert(key, mark);
    }

    /// Drops what the console holds of a task's transcript (a re-queue or a deletion).
    pub(super) fn forget_transcript(&mut self, key: &TaskKey) {
        self.waiting.remove(key);
        self.transcripts.remove(key);
        self.turns.remove(key);
        self.loaded.remove(key);
        self.attempts.forget(key);
        self.journals.forget(key);
    }

    /// A task's diff view is built ([`Effect::BuildDiff`]): open it.
    pub fn on_diff_loaded(&mut self, key: TaskKey, view: DiffView) {
        self.done();
        self.diff = Some((key, view));
        self.view = View::Diff;
        self.focus = Focus::Detail;
    }

    /// Asks the backend for the selected task's transcript when it is not in memory and the
    /// task has one (a finished run's reference) or may be recording one (running elsewhere).
    /// An answer of "nothing yet" is remembered until the task changes state; meanwhile the
    /// backend sends the transcript by itself when it appears.
    pub(super) fn ensure_transcript(&mut self) -> Vec<Effect> {
        let Some(key) = self.selected_key().cloned() else {
            return Vec::new();
        };
        // A summary (a finished task at start) is loaded in full once it is shown.
        let mut fx: Vec<Effect> = self
            .mirror
            .ask_full(&key)
            .map(Effect::Send)
            .into_iter()
            .collect();
        self.journals.touch(&key);
        if self.transcripts.contains_key(&key)
            || self.loading.contains(&key)
            || self.loaded.contains_key(&key)
        {
            return fx;
        }
        if !self
            .mirror
            .task(&key)
            .is_some_and(|t| may_have_transcript(&t))
        {
            return fx;
        }
        self.loading.insert(key.clone());
        fx.push(Effect::Send(Command::LoadTranscript(key)));
        fx
    }
}

/// A finished run that points at its transcript (status.transcriptRef, or the Result's
/// extra.transcriptRef as upstream writes it), or a run in progress.
fn may_have_transcript(t: &AgenticTask) -> bool {
    let Some(s) = t.status.as_ref() else {
        return false;
    };
    let extra_ref = crate::fleet::status::result_extra(t)
        .transcript_ref
        .is_some_and(|v| !v.is_null());
    s.transcript_ref.is_some()
        || extra_ref
        || matches!(s.phase, Some(TaskPhase::Running | TaskPhase::Verifying))
}

/// Fingerprint of journal records (their JSON), to tell "grew" from "rewritten".
fn records_hash(records: &[Record]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for r in records {
        h.write(&serde_json::to_vec(r).unwrap_or_default());
        h.write_u8(b'\n');
    }
    h.finish()
}
