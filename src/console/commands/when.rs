//! Where each command of the registry applies: one predicate per rule, read from the
//! [`Context`] alone (kept apart from the table so the registry stays short).

use super::Context;
use crate::console::pane::{Focus, View};
use crate::fleet::TaskState;

pub(super) fn always(_: &Context) -> bool {
    true
}
pub(super) fn in_transcript(c: &Context) -> bool {
    c.view == View::Transcript && c.task.is_some()
}
pub(super) fn searching(c: &Context) -> bool {
    in_transcript(c) && c.searching
}
/// Back: from the diff or transcript to the queue, or in the queue, clearing its filter.
pub(super) fn in_diff_or_transcript(c: &Context) -> bool {
    (c.task.is_some() && c.focus == Focus::Detail) || (c.focus == Focus::Queue && c.filtered)
}
/// Search the transcript, or (with the queue focused) filter the queue.
pub(super) fn search_or_filter(c: &Context) -> bool {
    in_transcript(c) || c.focus == Focus::Queue
}
pub(super) fn state_is(c: &Context, states: &[TaskState]) -> bool {
    c.task.is_some_and(|s| states.contains(&s))
}
pub(super) fn awaiting(c: &Context) -> bool {
    state_is(c, &[TaskState::AwaitingApproval])
}
/// A decision written for the task's node waits to be taken: `u` withdraws it.
pub(super) fn decided(c: &Context) -> bool {
    c.task.is_some() && c.decision_pending
}
pub(super) fn pushed(c: &Context) -> bool {
    state_is(c, &[TaskState::Pushed])
}
pub(super) fn requeueable(c: &Context) -> bool {
    state_is(
        c,
        &[
            TaskState::Failed,
            TaskState::Interrupted,
            TaskState::Rejected,
        ],
    ) || c.incomplete
}
pub(super) fn running(c: &Context) -> bool {
    state_is(
        c,
        &[
            TaskState::Running,
            TaskState::Scheduled,
            TaskState::Pending,
            TaskState::Waiting,
        ],
    )
}
pub(super) fn queue_focused(c: &Context) -> bool {
    c.focus == Focus::Queue
}
/// A change to diff, not already shown.
pub(super) fn has_change(c: &Context) -> bool {
    c.has_change && c.view != View::Diff
}
pub(super) fn in_diff(c: &Context) -> bool {
    c.view == View::Diff && c.task.is_some()
}
/// The shown diff spans attempts: `v` switches between the whole change and the latest's.
pub(super) fn diff_scopes(c: &Context) -> bool {
    in_diff(c) && c.diff_scopes
}
pub(super) fn paused(c: &Context) -> bool {
    c.view == View::Transcript && !c.following
}
/// The shown task has more than one attempt to step through.
pub(super) fn has_attempts(c: &Context) -> bool {
    c.view == View::Transcript && c.attempts > 1
}
