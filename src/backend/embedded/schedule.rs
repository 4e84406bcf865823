//! The embedded backend's scheduling: the same pure pass as `foreman scheduler`
//! ([`plan`]), its status patches applied to the store. What only this backend has stays here:
//! this machine is the one node and runs every task it places, up to `max_concurrent` at once,
//! each launched into an isolated workspace.

use super::runner::{Internal, Runner};
use crate::agent::{LoopEvent, TurnStats};
use crate::api::{Agent, AgenticTask, FleetNode};
use crate::backend::BackendEvent;
use crate::executor::outcome::{Precondition, precondition_failed};
use crate::executor::terminal::{Terminal, apply_terminal};
use crate::executor::{ExecEvent, execute_pinned};
use crate::fleet::TaskKey;
use crate::fleet::patch::apply_merge_patch;
use crate::fleet::schedule::{Scope, Target, What, plan};
use crate::fleet::status::{mark_claimed, now};
use std::sync::Arc;

/// What the pass shows [`plan`]: this machine with a fresh heartbeat, idle while a slot is
/// free and busy once `max_concurrent` runs are going (so plan only drops stale `Scheduled`
/// conditions), and the tasks with the node of their runs hidden (local concurrency is
/// `max_concurrent`, not "one task per node").
/// Only a run's node counts as busy, so only the tasks a run holds are copied to hide it; the
/// thousands of finished ones are shared with the store as they are.
fn plan_view(
    tasks: Vec<Arc<AgenticTask>>,
    node: &FleetNode,
    full: bool,
) -> (Vec<Arc<AgenticTask>>, Arc<FleetNode>) {
    let mut node = node.clone();
    if let Some(s) = node.status.as_mut() {
        s.current_task = full.then(|| "max_concurrent reached".to_string());
        s.last_heartbeat_time = Some(now());
    }
    let tasks = tasks
        .into_iter()
        .map(|t| {
            let placed = t.status.as_ref().is_some_and(|s| {
                s.assigned_node.is_some() && s.phase.is_some_and(|p| !p.is_terminal())
            });
            if !placed {
                return t;
            }
            let mut t = t.as_ref().clone();
            if let Some(s) = t.status.as_mut() {
                s.assigned_node = None;
            }
            Arc::new(t)
        })
        .collect();
    (tasks, Arc::new(node))
}

impl Runner {
    /// Queues the operator's note for a running task's next turn.
    pub(super) fn note(&mut self, key: TaskKey, text: String) {
        if text.trim().is_empty() {
            return self.emit(BackendEvent::Error("an empty note is not sent".into()));
        }
        match self.inboxes.get(&key) {
            Some(inbox) if inbox.push(text) => self.emit(BackendEvent::Notice(
                crate::agent::notes::queued_notice(&key),
            )),
            Some(_) => self.emit(BackendEvent::Error(crate::agent::notes::ended_refusal(
                &key,
            ))),
            None => self.emit(BackendEvent::Error(format!(
                "{key} is not running here; a note reaches only a live run"
            ))),
        }
    }

    /// Hands the notes other processes queued (`foreman note`) to the runs of this process.
    pub(super) fn deliver_notes(&mut self) {
        let mine: Vec<TaskKey> = self.inboxes.keys().cloned().collect();
        if mine.is_empty() {
            return;
        }
        match self.store.take_notes(&mine) {
            Ok(notes) => {
                for (key, text) in notes {
                    self.note(key, text);
                }
            }
            Err(e) => self.emit(BackendEvent::Error(format!(
                "cannot read queued notes: {e}"
            ))),
        }
    }

    /// Scheduling passes until nothing more starts: each launch frees the plan for the next
    /// task while a slot is left, and a Pending mark is placed on the next pass.
    pub(super) fn schedule(&mut self) {
        self.fan_out();
        if !self.slots.ready(self.opts.probe_inference) {
            return;
        }
        for _ in 0..self.cfg.max_concurrent.max(1) + 2 {
            if !self.schedule_pass() {
                break;
            }
        }
    }

    /// One [`plan`] applied; returns whether it launched a run or marked a task Pending.
    fn schedule_pass(&mut self) -> bool {
        let full = self.running.len() >= self.slots.cap(self.cfg.max_concurrent);
        let (tasks, node) = plan_view(self.store.planning(), &self.node, full);
        let agents: Vec<Arc<Agent>> = self.store.agents().into_iter().map(Arc::new).collect();
        let scope = Scope {
            mark_stale: false,
            ..Scope::default()
        };
        let mut again = false;
        for a in plan(&tasks, &[node], &agents, &scope, jiff::Timestamp::now()) {
            let Target::Task { namespace, name } = &a.target else {
                continue;
            };
            let key = TaskKey::new(namespace, name);
            let Some(stored) = self.store.task(&key) else {
                continue;
            };
            let next = match apply_merge_patch(stored, &a.patch) {
                Ok(t) => t,
                Err(e) => {
                    self.emit(BackendEvent::Error(format!("cannot schedule {key}: {e}")));
                    continue;
                }
            };
            match a.what {
                What::Schedule { .. } if !full => {
                    self.launch(next, key);
                    again = true;
                }
                // A full machine is shown busy, so plan places nothing then.
                What::Schedule { .. } => {}
                What::MarkPending => {
                    self.save(&next);
                    again = true;
                }
                _ => {
                    self.save(&next);
                }
            }
        }
        again
    }

    /// Starts the run of a task the plan placed on this machine (its patch applied). The claim
    /// is one compare-and-swap: when another console claimed the task first, nothing starts.
    fn launch(&mut self, mut t: AgenticTask, key: TaskKey) {
        let agent_name = t.spec.agent_ref.as_ref().map(|r| r.name.clone());
        let Some(mut agent) = agent_name
            .and_then(|n| self.store.agent(&key.namespace, &n))
            .cloned()
        else {
            // plan fails a named Agent that is missing; a task that names none ends as the
            // cluster's worker ends it: the executor's precondition, AgentNotFound.
            let msg = "the task has no spec.agentRef; the native executor needs an Agent";
            let result = precondition_failed(Precondition::AgentNotFound, msg, 0.0);
            let end = Terminal::Result {
                result: Box::new(result),
                transcript_ref: None,
            };
            apply_terminal(&mut t, &end);
            self.save(&t);
            return;
        };
        self.cfg.agent_defaults.apply_to(&mut agent);
        mark_claimed(&mut t, &self.cfg.node_name);
        let claimed = self.store.claim_task(&t);
        let Some(t) = self.saved(claimed, &t) else {
            return;
        };
        let attempt = crate::backend::embedded::store::attempt_of(&t);
        let exec_cfg = super::revise::exec_config(&self.cfg, &self.store, &key, attempt);
        let sink = self.run_sink(&key);
        let inbox = crate::agent::Inbox::default();
        let notes = inbox.clone();
        let slot = self.slot_for(&key);
        let handle = tokio::spawn(async move {
            let mut f = |ev| sink.send(ev);
            let res = execute_pinned(&t, &agent, &exec_cfg, notes, slot, &mut f)
                .await
                .map_err(|e| e.to_string());
            sink.finished(res);
        });
        self.track(key, inbox, handle);
    }

    /// What the server said (context, models, slots): a new slot count may start queued runs.
    pub(super) fn probed(&mut self, p: super::node::InferenceProbe) {
        let first = !self.slots.ready(true);
        self.slots.set_total(p.total_slots);
        if p != self.probe {
            self.probe = p;
            self.heartbeat();
        }
        if first {
            self.schedule();
        }
    }

    /// The server slot a starting run is pinned to (None: the count is unknown or all held).
    pub(super) fn slot_for(&mut self, key: &TaskKey) -> Option<u32> {
        let running = &self.running;
        self.slots.take(key, |k| running.contains_key(k))
    }

    /// Where a run's events go: each to the UI, its generation speed to the actor.
    pub(super) fn run_sink(&self, key: &TaskKey) -> RunSink {
        RunSink {
            itx: self.itx.clone(),
            events: self.events.clone(),
            key: key.clone(),
        }
    }

    /// A run started: it holds the task (and its notes inbox) until [`Internal::Finished`].
    pub(super) fn track(
        &mut self,
        key: TaskKey,
        inbox: crate::agent::Inbox,
        handle: tokio::task::JoinHandle<()>,
    ) {
        self.inboxes.insert(key.clone(), inbox);
        self.running.insert(key, handle);
        self.heartbeat();
    }
}

/// A running task's line back to the actor and the UI (moved into the run's future).
pub(super) struct RunSink {
    itx: tokio::sync::mpsc::UnboundedSender<Internal>,
    events: tokio::sync::mpsc::UnboundedSender<BackendEvent>,
    key: TaskKey,
}

impl RunSink {
    pub(super) fn send(&self, ev: ExecEvent) {
        if let ExecEvent::Loop(LoopEvent::TurnFinished(TurnStats {
            timings: Some(tm), ..
        })) = &ev
            && let Some(v) = tm.predicted_per_second
        {
            let _ = self.itx.send(Internal::Tps(v));
        }
        let _ = self.events.send(BackendEvent::Run {
            task: self.key.clone(),
            event: ev,
        });
    }

    /// The run ended: the actor records its outcome.
    pub(super) fn finished(self, res: Result<crate::executor::RunReport, String>) {
        let _ = self.itx.send(Internal::Finished(self.key, Box::new(res)));
    }
}
