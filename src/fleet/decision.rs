//! An operator's decision on a finished task, written by any console and carried out by the
//! node that holds the task's workspace (issue 13 §1). Pure: the wire forms, where a decision
//! stands, which decisions a task's state admits, and whether the holding node is gone.
//!
//! # The protocol, and why nothing is pushed twice
//!
//! - **Intent**: a console writes the annotation [`ANNOTATION`] (a [`Decision`] as JSON, with a
//!   fresh `id`) by a merge patch carrying the task's `resourceVersion`. Two consoles that read
//!   the same version cannot both write: the second gets 409, re-reads, finds the first's
//!   decision still open ([`Stage::Pending`]) and is told who decided what. A new decision is
//!   refused while one is open; `u` withdraws a pending one (same guard).
//! - **Take**: the holding node's worker sees the annotation through its watch and writes the
//!   [`Mark`] `{id, stage: taken}` into `status.result.extra.decision` — with the version it
//!   saw, *before* it touches git. A withdrawal racing it loses one way or the other: either
//!   the take gets 409 (the worker re-reads and finds nothing to do) or the withdrawal does.
//! - **Act, then done**: the push (or PR) runs, then the outcome is written with the mark
//!   `{id, stage: done}` (or `failed` with the message).
//! - **A crash between take and done** leaves `taken` with this `id`. On restart the worker
//!   resumes it ([`Stage::Taken`] is still its work), but an approval first asks the remote
//!   where the branch is: when it already points at the commit, the push landed before the
//!   crash and only the done-marker is written — so a push happens at most once, and a
//!   decision is never lost (it is on the task, not in the worker's memory). A PR is found
//!   before one is created (`ensure_pr`), so it is opened once too.

use super::state::TaskState;
use crate::api::AgenticTask;
use serde::{Deserialize, Serialize};

/// The task annotation holding the open (or last) decision.
pub const ANNOTATION: &str = "foreman.llmkube.dev/decision";
/// The `status.result.extra` key of the holding node's [`Mark`].
pub const MARK_KEY: &str = "decision";
/// The longest feedback text a decision carries (an annotation value is bounded too).
pub const FEEDBACK_MAX: usize = 16 * 1024;

/// What the operator decided.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Approve,
    Reject,
    RequestChanges,
    OpenPr,
}

impl Action {
    /// The operator's words for it ("approve the push", ...).
    pub fn label(self) -> &'static str {
        match self {
            Action::Approve => "approve the push",
            Action::Reject => "reject the push",
            Action::RequestChanges => "request changes",
            Action::OpenPr => "open the pull request",
        }
    }

    /// Whether a task in `state` admits this decision; the error says why not.
    pub fn admits(self, state: TaskState) -> Result<(), String> {
        let ok = match self {
            Action::Approve | Action::Reject | Action::RequestChanges => {
                state == TaskState::AwaitingApproval
            }
            Action::OpenPr => state == TaskState::Pushed,
        };
        if ok {
            return Ok(());
        }
        let need = match self {
            Action::OpenPr => "a pushed GO",
            _ => "a GO awaiting approval",
        };
        Err(format!(
            "cannot {}: the task is {state:?}, this needs {need}",
            self.label()
        ))
    }
}

/// The annotation's value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// Who decided: the kubeconfig user and context of the console.
    pub by: String,
    /// RFC 3339, whole seconds.
    pub at: String,
    /// Unique per decision: the holder's mark names it, so an old mark never matches a new one.
    pub id: String,
}

impl Decision {
    /// A new decision with a fresh id; request changes needs non-empty feedback.
    pub fn new(
        action: Action,
        feedback: Option<&str>,
        by: &str,
        at: jiff::Timestamp,
    ) -> Result<Decision, String> {
        let feedback = feedback.map(str::trim).filter(|f| !f.is_empty());
        if action == Action::RequestChanges && feedback.is_none() {
            return Err("empty feedback is not sent; say what to change".into());
        }
        if feedback.is_some_and(|f| f.len() > FEEDBACK_MAX) {
            return Err(format!(
                "the feedback is over {} KiB; shorten it",
                FEEDBACK_MAX / 1024
            ));
        }
        let at = jiff::Timestamp::from_second(at.as_second()).unwrap_or(at);
        Ok(Decision {
            action,
            feedback: feedback.map(str::to_string),
            by: by.to_string(),
            at: at.to_string(),
            id: format!("{}-{:08x}", at.as_second(), fastrand::u32(..)),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The task's decision annotation: `None` when absent, `Err` when unreadable.
    pub fn of(t: &AgenticTask) -> Option<Result<Decision, String>> {
        let raw = t.metadata.annotations.as_ref()?.get(ANNOTATION)?;
        Some(
            serde_json::from_str(raw)
                .map_err(|e| format!("the {ANNOTATION} annotation is not a decision: {e}")),
        )
    }

    /// "approve the push by alice@prod at 2026-…".
    pub fn describe(&self) -> String {
        format!("{} by {} at {}", self.action.label(), self.by, self.at)
    }
}

/// How far the holding node got with a decision.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Progress {
    Taken,
    Done,
    Failed,
}

/// The holding node's record in `status.result.extra.decision`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub id: String,
    pub stage: Progress,
    pub node: String,
    pub at: String,
    /// What came of it: "pushed abc123", the PR URL, the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Mark {
    pub fn new(id: &str, stage: Progress, node: &str, message: Option<String>) -> Mark {
        let t = jiff::Timestamp::now();
        let at = jiff::Timestamp::from_second(t.as_second()).unwrap_or(t);
        Mark {
            id: id.to_string(),
            stage,
            node: node.to_string(),
            at: at.to_string(),
            message,
        }
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn of(t: &AgenticTask) -> Option<Mark> {
        let e = super::status::result_extra(t);
        serde_json::from_value(e.other.get(MARK_KEY)?.clone()).ok()
    }
}

/// Where the task's decision stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// No decision, or an unreadable annotation (its error).
    None(Option<String>),
    /// Written, not yet taken by the holding node: withdrawable.
    Pending(Decision),
    /// Taken by the holding node, not finished (in progress, or the node crashed meanwhile).
    Taken(Decision),
    /// Carried out, or failed (the mark says what came of it).
    Ended(Decision, Mark),
}

impl Stage {
    pub fn of(t: &AgenticTask) -> Stage {
        let d = match Decision::of(t) {
            None => return Stage::None(None),
            Some(Err(e)) => return Stage::None(Some(e)),
            Some(Ok(d)) => d,
        };
        match Mark::of(t).filter(|m| m.id == d.id) {
            None => Stage::Pending(d),
            Some(m) if m.stage == Progress::Taken => Stage::Taken(d),
            Some(m) => Stage::Ended(d, m),
        }
    }

    /// The decision still to be carried out (pending or taken).
    pub fn open(&self) -> Option<&Decision> {
        match self {
            Stage::Pending(d) | Stage::Taken(d) => Some(d),
            _ => None,
        }
    }
}

/// The open decision of `t` in words, if there is one.
pub fn describe_open(t: &AgenticTask) -> Option<String> {
    Stage::of(t).open().map(Decision::describe)
}

/// Whether a console may write a new decision now: refused while one is open, saying whose.
pub fn may_decide(t: &AgenticTask, action: Action) -> Result<(), String> {
    if let Some(d) = Stage::of(t).open() {
        return Err(format!(
            "already decided: {}; it waits for the node that ran the task (withdraw it with u while it is pending)",
            d.describe()
        ));
    }
    action.admits(super::task_state(t))
}

/// How long a node has been gone, if it is: no FleetNode at all (`Some(None)`), or its last
/// heartbeat older than the scheduler's staleness bound (`Some(Some(secs))`). `None`: alive.
pub fn gone_for(node: Option<&crate::api::FleetNode>, now_unix: i64) -> Option<Option<i64>> {
    let Some(n) = node else {
        return Some(None);
    };
    let last = n
        .status
        .as_ref()?
        .last_heartbeat_time
        .as_ref()?
        .0
        .as_second();
    let age = now_unix - last;
    (age > super::schedule::rules::HEARTBEAT_TIMEOUT_SECS).then_some(Some(age))
}

/// The line the console shows on a task whose decision waits: "decision waits for node X,
/// gone 5m" when the node is gone.
pub fn waiting_line(d: &Decision, node: &str, gone: Option<Option<i64>>) -> String {
    let who = format!("{} waits for node {node}", d.action.label());
    match gone {
        None => format!("{who} (decided by {})", d.by),
        Some(None) => format!("{who}, which has no FleetNode; withdraw it with u"),
        Some(Some(secs)) => format!("{who}, gone {}; withdraw it with u", ago(secs)),
    }
}

fn ago(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
