//! The console's backends: what the UI talks to. One vocabulary (events in, commands out) is
//! shared by the embedded backend (this machine is the fleet) and the cluster backend (a
//! Kubernetes apiserver holds the fleet), so the UI never knows which one it drives.

pub mod cluster;
pub mod embedded;

use crate::agent::transcript::Record;
use crate::api::{Agent, AgenticTask, FleetNode, TaskPhase, Verdict, Workload};
use tokio::sync::{mpsc, watch};

/// A task's identity across the store, the events and the UI.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey {
    pub namespace: String,
    pub name: String,
}

impl TaskKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> TaskKey {
        TaskKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
    /// The key of a task; an unset namespace is `default`, as kubectl would apply it.
    pub fn of(t: &AgenticTask) -> TaskKey {
        TaskKey::new(
            t.metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            t.metadata.name.clone().unwrap_or_default(),
        )
    }
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What a backend reports to the UI.
#[derive(Clone, Debug)]
pub enum BackendEvent {
    /// First event after start: everything the store holds.
    Snapshot {
        tasks: Vec<AgenticTask>,
        nodes: Vec<FleetNode>,
        agents: Vec<Agent>,
    },
    /// Any persisted change (phase, result, decision, PR url).
    TaskUpdated(Box<AgenticTask>),
    /// The task is gone (deleted from the cluster).
    TaskDeleted(TaskKey),
    /// Heartbeat or capability change of a node.
    NodeUpdated(Box<FleetNode>),
    /// The FleetNode of this name is gone.
    NodeDeleted(String),
    /// An Agent was created or changed.
    AgentUpdated(Box<Agent>),
    AgentDeleted {
        namespace: String,
        name: String,
    },
    /// A Workload was created or changed (the embedded backend has none).
    WorkloadUpdated(Box<Workload>),
    WorkloadDeleted {
        namespace: String,
        name: String,
    },
    /// A task's transcript, answering [`Command::LoadTranscript`] and again whenever the stored
    /// transcript changes while the UI has it open. `Ok(empty)` means nothing is recorded yet.
    Transcript {
        task: TaskKey,
        records: Result<Vec<Record>, String>,
    },
    /// Live stream of a running task.
    Run {
        task: TaskKey,
        event: crate::executor::ExecEvent,
    },
    /// An async job ended: `Ok(message or PR url)` / `Err(clear message)`.
    JobDone {
        task: TaskKey,
        job: Job,
        outcome: Result<String, String>,
    },
    Notice(String),
    Error(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    Push,
    OpenPr,
}

/// What the UI asks of a backend.
#[derive(Clone, Debug)]
pub enum Command {
    /// Load a manifest file (Agents and AgenticTasks) into the store.
    Submit(std::path::PathBuf),
    ApprovePush(TaskKey),
    RejectPush(TaskKey),
    OpenPr(TaskKey),
    Requeue(TaskKey),
    Cancel(TaskKey),
    /// The UI opened this task: send its transcript ([`BackendEvent::Transcript`]), and send
    /// it again when it changes.
    LoadTranscript(TaskKey),
    Shutdown,
}

/// The UI's side of a running backend. Cheap to clone; sending never blocks.
#[derive(Clone)]
pub struct BackendHandle {
    tx: mpsc::UnboundedSender<Command>,
    stopped: watch::Receiver<bool>,
}

impl BackendHandle {
    pub(crate) fn new(
        tx: mpsc::UnboundedSender<Command>,
        stopped: watch::Receiver<bool>,
    ) -> BackendHandle {
        BackendHandle { tx, stopped }
    }

    /// Sends a command; after the backend stopped the command is dropped (nothing to do).
    pub fn send(&self, c: Command) {
        let _ = self.tx.send(c);
    }

    /// Resolves once the backend finished its shutdown (every running task recorded).
    pub async fn stopped(&self) {
        let mut rx = self.stopped.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// Why a backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("state directory {path}: {message}")]
    State { path: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// Derived UI state of a task (one place, used by the queue table and the footer hints).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    Pending,
    /// Pending on `dependsOn`.
    Waiting,
    Scheduled,
    Running,
    AwaitingApproval,
    Pushed,
    PrOpen,
    Rejected,
    Succeeded,
    Failed,
    /// The console stopped while it ran; re-queueable.
    Interrupted,
}

/// Condition reason the scheduler writes while dependencies are in flight.
pub const REASON_WAITING: &str = "WaitingForDependencies";
/// Condition reason of a run cut short by a console stop.
pub const REASON_INTERRUPTED: &str = "Interrupted";

/// The UI state of `t`, derived from its phase, verdict, conditions and Result extras.
pub fn task_state(t: &AgenticTask) -> TaskState {
    let status = t.status.as_ref();
    let has_reason = |r: &str| {
        status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.reason == r))
    };
    match status.and_then(|s| s.phase) {
        None | Some(TaskPhase::Pending) if has_reason(REASON_WAITING) => TaskState::Waiting,
        None | Some(TaskPhase::Pending) => TaskState::Pending,
        Some(TaskPhase::Scheduled) => TaskState::Scheduled,
        Some(TaskPhase::Running) | Some(TaskPhase::Verifying) => TaskState::Running,
        Some(TaskPhase::Failed) if has_reason(REASON_INTERRUPTED) => TaskState::Interrupted,
        Some(TaskPhase::Failed) => TaskState::Failed,
        Some(TaskPhase::Succeeded) => {
            let extra = status
                .and_then(|s| s.result.as_ref())
                .and_then(|r| r.get("extra"));
            let get = |k: &str| extra.and_then(|e| e.get(k));
            if status.and_then(|s| s.verdict) != Some(Verdict::Go) {
                TaskState::Succeeded
            } else if get("prUrl").and_then(|v| v.as_str()).is_some() {
                TaskState::PrOpen
            } else if get("pushed").and_then(|v| v.as_bool()) == Some(true) {
                TaskState::Pushed
            } else if get("pushDecision").and_then(|v| v.as_str()) == Some("rejected") {
                TaskState::Rejected
            } else if get("pushed").and_then(|v| v.as_bool()) == Some(false) {
                TaskState::AwaitingApproval
            } else {
                TaskState::Succeeded
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AgenticTaskStatus;
    use serde_json::json;

    fn task(phase: TaskPhase, verdict: Option<Verdict>, extra: serde_json::Value) -> AgenticTask {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        t.status = Some(AgenticTaskStatus {
            phase: Some(phase),
            verdict,
            result: Some(json!({ "extra": extra })),
            ..Default::default()
        });
        *t
    }

    #[test]
    fn go_states_follow_the_push_and_pr_extras() {
        let go = |e| task_state(&task(TaskPhase::Succeeded, Some(Verdict::Go), e));
        assert_eq!(go(json!({"pushed": false})), TaskState::AwaitingApproval);
        assert_eq!(go(json!({"pushed": true})), TaskState::Pushed);
        assert_eq!(
            go(json!({"pushed": true, "prUrl": "http://x/pull/1"})),
            TaskState::PrOpen
        );
        assert_eq!(
            go(json!({"pushed": false, "pushDecision": "rejected"})),
            TaskState::Rejected
        );
        let nogo = task(
            TaskPhase::Succeeded,
            Some(Verdict::NoGo),
            json!({"pushed": false}),
        );
        assert_eq!(task_state(&nogo), TaskState::Succeeded);
        assert_eq!(
            task_state(&task(TaskPhase::Running, None, json!({}))),
            TaskState::Running
        );
        assert_eq!(TaskKey::new("ns", "a").to_string(), "ns/a");
    }
}
