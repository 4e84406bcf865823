//! The scheduling pass of the embedded backend: pending tasks in queue order, `dependsOn`
//! (wait or cascade-fail), Agent lookup, first-fit against this machine (its busy flag ignored:
//! local concurrency is `max_concurrent`), then launch into an isolated workspace.

use super::runner::{Internal, Runner};
use crate::agent::{LoopEvent, TurnStats};
use crate::api::{AgenticTask, TaskPhase};
use crate::backend::BackendEvent;
use crate::executor::{ExecEvent, ExecutorConfig, execute};
use crate::fleet::TaskKey;
use crate::fleet::reasons::REASON_WAITING;
use crate::fleet::schedule::rules::{self as rules, Deps};
use crate::fleet::status::{clear_condition, fail_with, now, set_condition, status_mut};
use std::collections::HashMap;

impl Runner {
    /// One scheduling pass, repeated while a cascade failure may unblock more decisions.
    pub(super) fn schedule(&mut self) {
        for _ in 0..16 {
            if !self.schedule_pass() {
                break;
            }
        }
    }

    /// Returns whether a task failed (so dependants need another look).
    fn schedule_pass(&mut self) -> bool {
        let now_unix = jiff::Timestamp::now().as_second();
        let mut node = self.node.clone();
        if let Some(s) = node.status.as_mut() {
            // Local concurrency is max_concurrent, not the node's busy flag.
            s.current_task = None;
            s.last_heartbeat_time = Some(now());
        }
        let tasks = self.store.tasks();
        let mut by_ns: HashMap<String, HashMap<String, &AgenticTask>> = HashMap::new();
        for t in &tasks {
            let k = TaskKey::of(t);
            by_ns.entry(k.namespace).or_default().insert(k.name, t);
        }
        let mut pending: Vec<&AgenticTask> = tasks
            .iter()
            .filter(|t| {
                matches!(
                    t.status.as_ref().and_then(|s| s.phase),
                    None | Some(TaskPhase::Pending)
                )
            })
            .collect();
        pending.sort_by(|a, b| rules::queue_order(a, b));
        let mut failed_any = false;
        let empty = HashMap::new();
        for t in pending {
            let key = TaskKey::of(t);
            let mut t = t.clone();
            match rules::deps(&t, by_ns.get(&key.namespace).unwrap_or(&empty)) {
                Deps::Waiting(msg) => {
                    if set_condition(&mut t, "Scheduled", false, REASON_WAITING, &msg) {
                        self.save(&t);
                    }
                    continue;
                }
                Deps::Failed(msg) => {
                    fail_with(&mut t, "UpstreamFailed", &msg);
                    self.save(&t);
                    failed_any = true;
                    continue;
                }
                Deps::Ready => {}
            }
            let agent_name = t
                .spec
                .agent_ref
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default();
            let Some(agent) = self.store.agent(&key.namespace, &agent_name).cloned() else {
                let msg = if agent_name.is_empty() {
                    "the task has no spec.agentRef; the native executor needs an Agent".to_string()
                } else {
                    format!(
                        "Agent {}/{agent_name} not found; submit it, then re-queue the task",
                        key.namespace
                    )
                };
                fail_with(&mut t, "AgentNotFound", &msg);
                self.save(&t);
                failed_any = true;
                continue;
            };
            let cap = agent
                .spec
                .required_capability
                .clone()
                .or_else(|| t.spec.required_capability.clone())
                .unwrap_or_default();
            if let Some(why) = rules::misfit(&cap, &node, now_unix) {
                let msg = format!("this machine does not fit: {why}");
                if set_condition(&mut t, "Scheduled", false, "Unschedulable", &msg) {
                    self.save(&t);
                }
                continue;
            }
            if self.running.len() >= self.cfg.max_concurrent.max(1) {
                if clear_condition(&mut t, "Scheduled") {
                    self.save(&t);
                }
                continue;
            }
            self.launch(t, agent, key);
        }
        failed_any
    }

    fn launch(&mut self, mut t: AgenticTask, agent: crate::api::Agent, key: TaskKey) {
        clear_condition(&mut t, "Scheduled");
        let s = status_mut(&mut t);
        s.phase = Some(TaskPhase::Scheduled);
        s.assigned_node = Some(self.cfg.node_name.clone());
        s.claimed_at = Some(now());
        self.save(&t);
        let s = status_mut(&mut t);
        s.phase = Some(TaskPhase::Running);
        s.started_at = Some(now());
        self.save(&t);

        let exec_cfg = ExecutorConfig {
            base_url: self.cfg.base_url.clone(),
            git_remote_url: self.cfg.git_remote_url.clone(),
            workspace_root: self.store.workspace_root(),
            namespace: key.namespace.clone(),
            // A GO pushed at once keeps its clone for "open PR"; otherwise the executor keeps
            // it only while a push awaits approval.
            keep_workspace: self.cfg.auto_push,
            identity: self.cfg.identity.clone(),
            push_now: self.cfg.auto_push,
            journal_path: self.store.journal_path(&key),
            token: self.cfg.token.clone(),
        };
        let (itx, events, k) = (self.itx.clone(), self.events.clone(), key.clone());
        let handle = tokio::spawn(async move {
            let mut sink = |ev: ExecEvent| {
                if let ExecEvent::Loop(LoopEvent::TurnFinished(TurnStats {
                    timings: Some(tm), ..
                })) = &ev
                    && let Some(v) = tm.predicted_per_second
                {
                    let _ = itx.send(Internal::Tps(v));
                }
                let _ = events.send(BackendEvent::Run {
                    task: k.clone(),
                    event: ev,
                });
            };
            let res = execute(&t, &agent, &exec_cfg, &mut sink)
                .await
                .map_err(|e| e.to_string());
            let _ = itx.send(Internal::Finished(k, Box::new(res)));
        });
        self.running.insert(key, handle);
        self.heartbeat();
    }
}
