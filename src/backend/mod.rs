//! The console's backends: what the UI talks to. One vocabulary (events in, commands out) is
//! shared by the embedded backend (this machine is the fleet) and the cluster backend (a
//! Kubernetes apiserver holds the fleet), so the UI never knows which one it drives.

pub mod attempt;
pub mod cluster;
pub mod embedded;
pub mod jobs;

use crate::agent::transcript::Record;
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::fleet::TaskKey;
use crate::workspace::FileDiff;
use tokio::sync::{mpsc, watch};

pub use attempt::AttemptView;

/// What a backend reports to the UI.
#[derive(Clone, Debug)]
pub enum BackendEvent {
    /// First event after start: everything the store holds (tasks shared with the backend's
    /// own copy where it keeps one, so thousands of them are not held twice).
    Snapshot {
        tasks: Vec<(TaskKey, crate::fleet::held::Held)>,
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
    /// A task's whole change as per-file diffs (every attempt, since its branch left the
    /// default branch), answering [`Command::LoadDiff`]; `Err` says why it cannot be shown
    /// here (e.g. which node holds the workspace). `latest`: the current attempt's own change
    /// when an earlier attempt left a commit under it.
    Diff {
        task: TaskKey,
        files: Result<Vec<FileDiff>, String>,
        latest: Option<attempt::AttemptDiff>,
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
    /// The scheduler Lease changed hands: its holder now (the fleet pane's title says it).
    Leader(String),
    /// One attempt of a task, answering [`Command::LoadAttempt`].
    Attempt(Box<AttemptView>),
    /// A task's transcript is this journal on this machine, answering
    /// [`Command::LoadTranscript`]: the console reads it itself, its tail first, the rest in
    /// the background (a journal may be hundreds of MB).
    Journal {
        task: TaskKey,
        path: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    Push,
    OpenPr,
}

/// What the UI asks of a backend.
#[derive(Clone, Debug)]
pub enum Command {
    /// Load a manifest file (Agents and AgenticTasks) into the store; with `replace`, objects
    /// of an existing name replace the stored ones instead of being refused.
    Submit {
        path: std::path::PathBuf,
        replace: bool,
    },
    ApprovePush(TaskKey),
    RejectPush(TaskKey),
    OpenPr(TaskKey),
    Requeue(TaskKey),
    Cancel(TaskKey),
    /// The UI opened this task: send its transcript ([`BackendEvent::Transcript`]), and send
    /// it again when it changes.
    LoadTranscript(TaskKey),
    /// The UI wants the task's change: answer with [`BackendEvent::Diff`], computed from the
    /// task's workspace where that workspace is.
    LoadDiff(TaskKey),
    /// The operator's note to a running task: a user message before its next chat turn.
    Note {
        task: TaskKey,
        text: String,
    },
    /// The operator's feedback on a GO awaiting approval: attempt N+1 in the same workspace,
    /// from the GO commit, bounded by the Agent's `maxReviewIterations` (issue 12).
    RequestChanges {
        task: TaskKey,
        feedback: String,
    },
    Shutdown,
    /// Create this task (the issue picker's), refused when a task for the same issue of the
    /// same repository is not finished; answers with the task's update and a notice, or an
    /// error saying why.
    CreateTask(Box<AgenticTask>),
    /// The attempt selector: send attempt `attempt` (1-based) of the task, with its status,
    /// journal and diff ([`BackendEvent::Attempt`]). Live updates stay with the current
    /// attempt ([`Command::LoadTranscript`]).
    LoadAttempt {
        task: TaskKey,
        attempt: u32,
    },
    /// Withdraw the task's pending decision (written for the node that ran it, on a
    /// cluster), before that node takes it (issue 13).
    WithdrawDecision(TaskKey),
    /// The UI holds only the task's summary (`fleet::summary`, a Snapshot's finished task):
    /// send the full task as a [`BackendEvent::TaskUpdated`] (or `TaskDeleted` if it is gone).
    LoadTask(TaskKey),
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
