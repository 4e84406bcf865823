//! Why a command does not apply now, and the key that helps: "open PR: push first (a)". Read
//! from the same [`Context`] as the registry's availability rules, so the word matches the
//! rule. `None` for a key that simply has nothing to do here (Esc in the queue, `f` while
//! already following): those stay silent rather than nag.

use super::commands::{Action, Context};
use super::pane::View;
use crate::config::Keymap;
use crate::fleet::TaskState;

/// The status-line word for `action` refused in `cx`: the reason, then what to press.
pub fn refusal(action: Action, cx: &Context, keymap: &Keymap) -> Option<String> {
    let key = |name: &str| {
        keymap
            .get(name)
            .map_or_else(|| format!(":{name}"), |k| k.to_string())
    };
    let label = super::commands::info(action).label;
    let why = match (action, cx.task) {
        (Action::Back | Action::OpenDetail | Action::ToggleFollow | Action::ViewTranscript, _) => {
            return None;
        }
        (Action::ViewDiff, _) if cx.view == View::Diff => return None,
        (
            Action::NextHunk
            | Action::PrevHunk
            | Action::NextFile
            | Action::PrevFile
            | Action::ScrollLeft
            | Action::ScrollRight,
            Some(_),
        ) => format!("no diff is shown (diff: {})", key("view_diff")),
        (Action::SortNext | Action::SortReverse, _) => {
            format!("the queue is not focused (focus it: {})", key("next_pane"))
        }
        (Action::ShowWorkloads, _) => {
            "no Workloads yet (submit one with :submit FILE, or foreman dispatch --workload)"
                .to_string()
        }
        (_, None) => "no task selected (submit one with :submit FILE)".to_string(),
        (Action::ApprovePush | Action::RejectPush, Some(s)) => match s {
            TaskState::Pushed | TaskState::PrOpen => "already pushed".into(),
            TaskState::Rejected => "the push was rejected".into(),
            s if is_active(s) => "the run has not finished".into(),
            TaskState::Succeeded => format!(
                "nothing to push: the run did not reach GO (re-queue: {})",
                key("retry_task")
            ),
            _ => format!(
                "nothing to push: the run failed (re-queue: {})",
                key("retry_task")
            ),
        },
        (Action::OpenPr, Some(s)) => match s {
            TaskState::AwaitingApproval => format!("push first ({})", key("approve_push")),
            TaskState::PrOpen => "the pull request is already open".into(),
            s if is_active(s) => "the run has not finished".into(),
            _ => "nothing was pushed".into(),
        },
        (Action::OpenPrUrl | Action::CopyPrUrl, Some(TaskState::AwaitingApproval)) => {
            format!("no pull request yet: push first ({})", key("approve_push"))
        }
        (Action::OpenPrUrl | Action::CopyPrUrl, Some(TaskState::Pushed)) => {
            format!("no pull request yet (open one: {})", key("open_pr"))
        }
        (Action::OpenPrUrl | Action::CopyPrUrl, Some(_)) => "this task has no pull request".into(),
        (Action::ViewDiff, Some(s)) if is_active(s) => "the run has not committed yet".into(),
        (Action::ViewDiff, Some(_)) => "no commit to show (the run kept no change)".into(),
        (Action::RetryTask, Some(s)) => match s {
            s if is_active(s) => {
                format!("the task is still running (cancel: {})", key("cancel_task"))
            }
            TaskState::AwaitingApproval => format!(
                "a GO awaits approval: push ({}) or reject ({})",
                key("approve_push"),
                key("reject_push")
            ),
            _ => "the run reached its goal".into(),
        },
        (Action::RequestChanges, Some(s)) => match s {
            TaskState::Pushed | TaskState::PrOpen => "already pushed".into(),
            s if is_active(s) => format!("the run has not finished (steer it: {})", key("note")),
            _ => "changes can be requested on a GO awaiting approval".into(),
        },
        (Action::CancelTask, Some(_)) => "the task is not running".into(),
        (Action::PrevAttempt | Action::NextAttempt, Some(_)) if cx.view == View::Transcript => {
            format!(
                "this task has one attempt (re-queue: {})",
                key("retry_task")
            )
        }
        (Action::SearchNext | Action::SearchPrev, Some(_)) if cx.view == View::Transcript => {
            format!("no search yet (search: {})", key("search"))
        }
        (Action::SwitchDiffScope, Some(_)) if cx.view == View::Diff => {
            "one attempt made this change, so the whole change is all there is".into()
        }
        (_, Some(_)) if cx.view == View::Diff => {
            format!("the diff is shown (transcript: {})", key("view_transcript"))
        }
        _ => return None,
    };
    Some(format!("{label}: {why}"))
}

/// Waiting, scheduled or running: the run is not over.
fn is_active(s: TaskState) -> bool {
    matches!(
        s,
        TaskState::Pending | TaskState::Waiting | TaskState::Scheduled | TaskState::Running
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::pane::Focus;

    fn keymap() -> Keymap {
        crate::config::Config::defaults(&mut Vec::new()).keymap
    }

    fn cx(task: Option<TaskState>) -> Context {
        Context {
            view: View::Transcript,
            focus: Focus::Queue,
            task,
            incomplete: false,
            has_change: false,
            has_pr: false,
            filtered: false,
            searching: false,
            following: true,
            picker: false,
            attempts: 1,
            diff_scopes: false,
            decision_pending: false,
            workloads: false,
            workloads_pane: false,
        }
    }

    #[test]
    fn refusals_name_the_reason_and_the_key_that_helps() {
        let km = keymap();
        let say = |a, s| refusal(a, &cx(s), &km);
        assert_eq!(
            say(Action::OpenPr, Some(TaskState::AwaitingApproval)).as_deref(),
            Some("open PR: push first (a)")
        );
        assert_eq!(
            say(Action::RetryTask, Some(TaskState::Running)).as_deref(),
            Some("re-queue: the task is still running (cancel: ctrl-k)")
        );
        assert!(
            say(Action::ApprovePush, Some(TaskState::Failed))
                .unwrap()
                .contains("(re-queue: R)")
        );
        assert!(
            say(Action::ViewDiff, Some(TaskState::Pending))
                .unwrap()
                .contains("not committed")
        );
        assert!(
            say(Action::ApprovePush, None)
                .unwrap()
                .contains("no task selected")
        );
        // Keys with nothing to do here stay silent: Esc in the queue, f while following.
        assert_eq!(say(Action::Back, Some(TaskState::Running)), None);
        assert_eq!(say(Action::ToggleFollow, Some(TaskState::Running)), None);
        // No refusal says the old non-answer.
        for c in super::super::commands::COMMANDS {
            for s in [None, Some(TaskState::Pending), Some(TaskState::Pushed)] {
                if let Some(m) = say(c.action, s) {
                    assert!(!m.contains("not available"), "{m}");
                }
            }
        }
    }
}
