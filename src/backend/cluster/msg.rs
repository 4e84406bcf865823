//! What the watchers and jobs tell the cluster backend's actor: its own inbox, apart from the
//! actor so the watchers depend on the message, not on the actor that reads it.

use crate::agent::transcript::Record;
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::backend::BackendEvent;
use crate::fleet::TaskKey;

/// The first complete list of one kind.
pub(super) enum Listed {
    Tasks(Vec<AgenticTask>),
    Nodes(Vec<FleetNode>),
    Agents(Vec<Agent>),
    Workloads(Vec<Workload>),
}

/// What the watchers and jobs tell the actor.
pub(super) enum Msg {
    Listed(Listed),
    /// A watcher's first list failed (it keeps retrying).
    ListFailed(&'static str),
    /// An object changed: held back until the Snapshot is out, then forwarded.
    Change(BackendEvent),
    /// A notice or error for the operator: forwarded at once.
    Ui(BackendEvent),
    TranscriptChanged(TaskKey),
    TranscriptsResynced,
    Loaded(TaskKey, Result<Vec<Record>, String>),
    JobEnded(TaskKey),
}
