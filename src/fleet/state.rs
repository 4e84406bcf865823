//! The operator-facing state of a task, derived in one place from its phase, verdict,
//! conditions and Result extras (the queue table, the footer hints and the daemons agree).

use super::reasons::{REASON_INTERRUPTED, REASON_WAITING};
use crate::api::{AgenticTask, TaskPhase, Verdict};
use serde_json::Value;

/// Derived UI state of a task (one place, used by the queue table and the footer hints).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
        Some(TaskPhase::Succeeded) if status.and_then(|s| s.verdict) != Some(Verdict::Go) => {
            TaskState::Succeeded
        }
        Some(TaskPhase::Succeeded) => {
            let extra = status
                .and_then(|s| s.result.as_ref())
                .and_then(|r| r.get("extra"));
            go_state(extra)
        }
    }
}

/// A GO's state from its Result extras (`prUrl`, `pushed`, `pushDecision`: the keys and
/// values of [`super::extra::ResultExtra`]). Read key by key rather than through a whole
/// `ResultExtra`: the queue asks every task's state every frame, and deserializing all of a
/// 10,000-task fleet's extras cost most of a frame. A key of the wrong type reads as absent.
fn go_state(extra: Option<&Value>) -> TaskState {
    let get = |k: &str| extra.and_then(|e| e.get(k));
    let pushed = get("pushed").and_then(Value::as_bool);
    if get("prUrl").is_some_and(Value::is_string) {
        TaskState::PrOpen
    } else if pushed == Some(true) {
        TaskState::Pushed
    } else if get("pushDecision").and_then(Value::as_str) == Some("rejected") {
        TaskState::Rejected
    } else if pushed == Some(false) {
        TaskState::AwaitingApproval
    } else {
        TaskState::Succeeded
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

    #[test]
    fn the_go_state_reads_the_keys_resultextra_writes() {
        use crate::fleet::extra::{PushDecision, ResultExtra};
        let go = |e: &ResultExtra| {
            let v = serde_json::Value::Object(e.to_map());
            task_state(&task(TaskPhase::Succeeded, Some(Verdict::Go), v))
        };
        let at = jiff::Timestamp::UNIX_EPOCH;
        let mut rejected = ResultExtra::decided(PushDecision::Rejected, "op", at);
        rejected.pushed = Some(false);
        assert_eq!(go(&rejected), TaskState::Rejected);
        let approved = ResultExtra::decided(PushDecision::Approved, "op", at);
        assert_eq!(go(&approved), TaskState::Pushed);
        assert_eq!(
            go(&ResultExtra::pull_request("http://x/pull/2", 2)),
            TaskState::PrOpen
        );
        // A key of the wrong type is not taken for a pushed or open PR.
        let odd = json!({"pushed": "yes", "prUrl": 7});
        assert_eq!(
            task_state(&task(TaskPhase::Succeeded, Some(Verdict::Go), odd)),
            TaskState::Succeeded
        );
    }
}
