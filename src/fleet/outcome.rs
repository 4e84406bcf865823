//! Why a finished run did not reach its goal, in the words the queue, the detail pane and the
//! status line all show: a failed run's last condition, or an off-target Result's reason
//! (`CloneFailed`, `MaxTurnsExhausted`, ...) and summary. A run that "succeeded" with an
//! INCOMPLETE or NO-GO verdict is shown as that, never as a green Succeeded.

use crate::api::{AgenticTask, Verdict};
use crate::fleet::status::result_extra;
use crate::fleet::{TaskState, task_state};

/// A finished run's failure: a short reason (for a table cell) and the message (what went
/// wrong and what to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    pub message: String,
}

/// The failure of `t`, if it finished without reaching its goal.
pub fn failure(t: &AgenticTask) -> Option<Failure> {
    let s = t.status.as_ref()?;
    match task_state(t) {
        TaskState::Failed | TaskState::Interrupted => {
            let c = s.conditions.as_ref().and_then(|c| c.last());
            Some(Failure {
                reason: c.map_or_else(|| "Failed".into(), |c| c.reason.clone()),
                message: c.map_or_else(|| "see the transcript".into(), |c| c.message.clone()),
            })
        }
        TaskState::Succeeded if s.verdict.is_some_and(|v| !v.is_on_target()) => {
            let e = result_extra(t);
            let summary = s
                .result
                .as_ref()
                .and_then(|r| r.get("summary")?.as_str().map(str::to_string));
            let verdict = s.verdict.map_or("INCOMPLETE", |v| v.as_str()).to_string();
            Some(Failure {
                reason: e.reason.or(e.outcome).unwrap_or_else(|| verdict.clone()),
                message: e.error.or(summary).unwrap_or(verdict),
            })
        }
        _ => None,
    }
}

/// The queue's word for an off-target Succeeded (the verdict), else the state's own.
pub fn state_label(t: &AgenticTask) -> &'static str {
    let verdict = t.status.as_ref().and_then(|s| s.verdict);
    label(task_state(t), verdict, failure(t).is_some())
}

/// [`state_label`] from what it reads: the state, the verdict, whether [`failure`] found one
/// (a packed task's facts hold these three, not the task).
pub fn label(st: TaskState, verdict: Option<Verdict>, failed: bool) -> &'static str {
    if st == TaskState::Succeeded && failed {
        return match verdict.map(|v| v.as_str()) {
            Some("NO-GO") => "No-go",
            Some("GATE-FAIL") => "Gate failed",
            _ => "Incomplete",
        };
    }
    match st {
        TaskState::Pending => "Pending",
        TaskState::Waiting => "Waiting",
        TaskState::Scheduled => "Scheduled",
        TaskState::Running => "Running",
        TaskState::AwaitingApproval => "Awaiting approval",
        TaskState::Pushed => "Pushed",
        TaskState::PrOpen => "PR open",
        TaskState::Rejected => "Rejected",
        TaskState::Succeeded => "Succeeded",
        TaskState::Failed => "Failed",
        TaskState::Interrupted => "Interrupted",
    }
}
