//! The operator-facing state of a task, derived in one place from its phase, verdict,
//! conditions and Result extras (the queue table, the footer hints and the daemons agree).

use super::extra::PushDecision;
use super::reasons::{REASON_INTERRUPTED, REASON_WAITING};
use super::status::result_extra;
use crate::api::{AgenticTask, TaskPhase, Verdict};

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
            let e = result_extra(t);
            if status.and_then(|s| s.verdict) != Some(Verdict::Go) {
                TaskState::Succeeded
            } else if e.pr_url.is_some() {
                TaskState::PrOpen
            } else if e.pushed == Some(true) {
                TaskState::Pushed
            } else if e.push_decision == Some(PushDecision::Rejected) {
                TaskState::Rejected
            } else if e.pushed == Some(false) {
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
    }
}
