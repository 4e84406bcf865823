//! One command registry: every action the operator can take, its key (from the keymap), where
//! it applies, and its label. The footer hints, the `?` overlay and the keymap lookup are all
//! generated from it, so they cannot drift (gitui's CommandInfo pattern). Where a command
//! applies is read from a [`Context`], a small picture of the console the state computes, so
//! the registry needs nothing above it.

mod when;

use super::pane::{Focus, View};
use crate::config::{Keymap, Scope};
use crate::fleet::TaskState;
use when::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Command,
    Search,
    SearchNext,
    SearchPrev,
    SortNext,
    SortReverse,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Top,
    Bottom,
    ToggleFollow,
    OpenDetail,
    Back,
    ViewDiff,
    ViewTranscript,
    ToggleExpand,
    ExpandAll,
    NextHunk,
    PrevHunk,
    NextFile,
    PrevFile,
    ScrollLeft,
    ScrollRight,
    ApprovePush,
    RejectPush,
    OpenPr,
    OpenPrUrl,
    CopyPrUrl,
    RetryTask,
    CancelTask,
    NewFromIssue,
    PickerRepo,
    PickerLabel,
    PickerSearch,
    PickerMore,
    PickerPick,
    PickerClose,
    PickerUp,
    PickerDown,
    Note,
    RequestChanges,
    PrevAttempt,
    NextAttempt,
    SwitchDiffScope,
    WithdrawDecision,
    ShowWorkloads,
    WorkloadsUp,
    WorkloadsDown,
    WorkloadsOpen,
    WorkloadsClose,
}

/// What the availability rules look at: the console's focus and view and a few facts about the
/// selected task, computed by the state (`App::context`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pub view: View,
    pub focus: Focus,
    /// The selected task's state; `None` when nothing is selected.
    pub task: Option<TaskState>,
    /// The selected run finished off target (INCOMPLETE or NO-GO): it may be re-queued.
    pub incomplete: bool,
    /// The selected task has a commit to diff.
    pub has_change: bool,
    /// The selected task's pull request is known (`extra.prUrl`).
    pub has_pr: bool,
    /// The queue is filtered (Esc clears it).
    pub filtered: bool,
    /// The selected transcript has an active search.
    pub searching: bool,
    /// The selected transcript follows its tail (or there is none).
    pub following: bool,
    /// The issue picker is open (it takes the keys).
    pub picker: bool,
    /// How many attempts the selected task has had (0: no task).
    pub attempts: u32,
    /// The shown diff has a second scope (whole change / latest attempt).
    pub diff_scopes: bool,
    /// The selected task has a decision written for its node, not yet taken (`u`).
    pub decision_pending: bool,
    /// The console knows at least one Workload (`w` shows them).
    pub workloads: bool,
    /// The Workloads pane is open (it takes the keys).
    pub workloads_pane: bool,
}

impl Context {
    /// Where key presses go now: the open overlay, else the focused pane (the detail pane by
    /// what it shows).
    pub fn scope(&self) -> Scope {
        if self.workloads_pane {
            return Scope::Workloads;
        }
        match (self.picker, self.focus, self.view) {
            (true, _, _) => Scope::Picker,
            (_, Focus::Fleet, _) => Scope::Fleet,
            (_, Focus::Queue, _) => Scope::Queue,
            (_, Focus::Detail, View::Transcript) => Scope::Transcript,
            (_, Focus::Detail, View::Diff) => Scope::Diff,
        }
    }
}

pub struct CommandInfo {
    pub action: Action,
    /// Keymap action name (config `[keymap]`).
    pub name: &'static str,
    pub label: &'static str,
    pub group: &'static str,
    /// Shown in the footer when available (the help overlay lists everything).
    pub quick: bool,
    available: fn(&Context) -> bool,
}

impl CommandInfo {
    /// The label where the keys go now: `/` searches a transcript but filters the queue, and
    /// the footer should say which.
    pub fn label_in(&self, cx: &Context) -> &'static str {
        match self.action {
            Action::Search if cx.focus == Focus::Queue => "filter",
            _ => self.label,
        }
    }

    /// In the scope the keys go to now, and its rule holds.
    pub fn available(&self, cx: &Context) -> bool {
        self.scope().overlaps(cx.scope()) && (self.available)(cx)
    }

    /// Where the command applies ([`Scope::of`] its keymap name).
    pub fn scope(&self) -> Scope {
        Scope::of(self.name)
    }
}

macro_rules! cmd {
    ($action:ident, $name:literal, $label:literal, $group:literal, $quick:literal, $avail:expr) => {
        CommandInfo {
            action: Action::$action,
            name: $name,
            label: $label,
            group: $group,
            quick: $quick,
            available: $avail,
        }
    };
}

/// Every command, in help-overlay order.
pub static COMMANDS: &[CommandInfo] = &[
    cmd!(
        NewFromIssue,
        "new_from_issue",
        "new from issue",
        "Task",
        false,
        always
    ),
    cmd!(
        ApprovePush,
        "approve_push",
        "approve push",
        "Task",
        true,
        awaiting
    ),
    cmd!(RejectPush, "reject_push", "reject", "Task", true, awaiting),
    cmd!(OpenPr, "open_pr", "open PR", "Task", true, pushed),
    cmd!(
        OpenPrUrl,
        "open_pr_url",
        "open PR in browser",
        "Task",
        true,
        |c| c.has_pr
    ),
    cmd!(CopyPrUrl, "copy_pr_url", "copy PR URL", "Task", true, |c| c
        .has_pr),
    cmd!(ViewDiff, "view_diff", "diff", "Task", true, has_change),
    cmd!(
        ViewTranscript,
        "view_transcript",
        "transcript",
        "Task",
        true,
        |c| c.view == View::Diff
    ),
    cmd!(
        RetryTask,
        "retry_task",
        "re-queue",
        "Task",
        true,
        requeueable
    ),
    cmd!(CancelTask, "cancel_task", "cancel", "Task", true, running),
    cmd!(Note, "note", "note", "Task", true, running),
    cmd!(
        RequestChanges,
        "request_changes",
        "request changes",
        "Task",
        true,
        awaiting
    ),
    cmd!(
        WithdrawDecision,
        "withdraw_decision",
        "withdraw decision",
        "Task",
        true,
        decided
    ),
    cmd!(
        PrevAttempt,
        "prev_attempt",
        "prev attempt",
        "Transcript",
        true,
        has_attempts
    ),
    cmd!(
        NextAttempt,
        "next_attempt",
        "next attempt",
        "Transcript",
        true,
        has_attempts
    ),
    cmd!(
        ToggleFollow,
        "toggle_follow",
        "resume follow",
        "Transcript",
        true,
        paused
    ),
    cmd!(
        Search,
        "search",
        "search",
        "Transcript",
        true,
        search_or_filter
    ),
    cmd!(
        SearchNext,
        "search_next",
        "next match",
        "Transcript",
        false,
        searching
    ),
    cmd!(
        SearchPrev,
        "search_prev",
        "prev match",
        "Transcript",
        false,
        searching
    ),
    cmd!(
        ToggleExpand,
        "toggle_expand",
        "expand",
        "Transcript",
        false,
        in_transcript
    ),
    cmd!(
        ExpandAll,
        "expand_all",
        "expand all",
        "Transcript",
        false,
        in_transcript
    ),
    cmd!(SortNext, "sort_next", "sort", "Queue", true, queue_focused),
    cmd!(
        SortReverse,
        "sort_reverse",
        "reverse sort",
        "Queue",
        false,
        queue_focused
    ),
    cmd!(NextHunk, "next_hunk", "next hunk", "Diff", true, in_diff),
    cmd!(PrevHunk, "prev_hunk", "prev hunk", "Diff", false, in_diff),
    cmd!(NextFile, "next_file", "next file", "Diff", true, in_diff),
    cmd!(PrevFile, "prev_file", "prev file", "Diff", false, in_diff),
    cmd!(
        SwitchDiffScope,
        "diff_scope",
        "whole / latest attempt",
        "Diff",
        true,
        diff_scopes
    ),
    cmd!(
        ScrollLeft,
        "scroll_left",
        "scroll left",
        "Diff",
        false,
        in_diff
    ),
    cmd!(
        ScrollRight,
        "scroll_right",
        "scroll right",
        "Diff",
        true,
        in_diff
    ),
    cmd!(NextPane, "next_pane", "next pane", "Navigate", true, always),
    cmd!(
        PrevPane,
        "prev_pane",
        "previous pane",
        "Navigate",
        false,
        always
    ),
    cmd!(Up, "up", "up", "Navigate", false, always),
    cmd!(Down, "down", "down", "Navigate", false, always),
    cmd!(PageUp, "page_up", "page up", "Navigate", false, always),
    cmd!(
        PageDown,
        "page_down",
        "page down",
        "Navigate",
        false,
        always
    ),
    cmd!(
        HalfPageUp,
        "half_page_up",
        "half page up",
        "Navigate",
        false,
        always
    ),
    cmd!(
        HalfPageDown,
        "half_page_down",
        "half page down",
        "Navigate",
        false,
        always
    ),
    cmd!(Top, "top", "top", "Navigate", false, always),
    cmd!(
        Bottom,
        "bottom",
        "bottom / follow",
        "Navigate",
        false,
        always
    ),
    cmd!(OpenDetail, "open_detail", "open", "Navigate", false, |c| c
        .focus
        != Focus::Detail),
    cmd!(
        Back,
        "back",
        "back",
        "Navigate",
        false,
        in_diff_or_transcript
    ),
    cmd!(
        Command,
        "command",
        "command (:submit FILE)",
        "General",
        false,
        always
    ),
    cmd!(Help, "help", "help", "General", true, always),
    cmd!(Quit, "quit", "quit", "General", true, always),
    cmd!(PickerUp, "picker_up", "up", "Issue picker", false, always),
    cmd!(
        PickerDown,
        "picker_down",
        "down",
        "Issue picker",
        false,
        always
    ),
    cmd!(
        PickerPick,
        "picker_pick",
        "create task",
        "Issue picker",
        true,
        always
    ),
    cmd!(
        PickerSearch,
        "picker_search",
        "search",
        "Issue picker",
        true,
        always
    ),
    cmd!(
        PickerLabel,
        "picker_label",
        "label",
        "Issue picker",
        true,
        always
    ),
    cmd!(
        PickerMore,
        "picker_more",
        "more",
        "Issue picker",
        true,
        always
    ),
    cmd!(
        PickerClose,
        "picker_close",
        "close",
        "Issue picker",
        true,
        always
    ),
    cmd!(
        PickerRepo,
        "picker_repo",
        "repo",
        "Issue picker",
        true,
        always
    ),
    cmd!(
        ShowWorkloads,
        "show_workloads",
        "workloads",
        "Workloads",
        true,
        |c| c.workloads
    ),
    cmd!(
        WorkloadsClose,
        "workloads_close",
        "close",
        "Workloads",
        true,
        always
    ),
    cmd!(
        WorkloadsUp,
        "workloads_up",
        "up",
        "Workloads",
        false,
        always
    ),
    cmd!(
        WorkloadsDown,
        "workloads_down",
        "down",
        "Workloads",
        false,
        always
    ),
    cmd!(
        WorkloadsOpen,
        "workloads_open",
        "its tasks",
        "Workloads",
        true,
        always
    ),
];

pub fn info(action: Action) -> &'static CommandInfo {
    COMMANDS
        .iter()
        .find(|c| c.action == action)
        .unwrap_or(&COMMANDS[COMMANDS.len() - 1])
}

/// Resolves a key press to a global action (the `?` overlay's movement and close keys).
pub fn action_for(keymap: &Keymap, key: &crossterm::event::KeyEvent) -> Option<Action> {
    let name = keymap.action_for(key.code, key.modifiers)?;
    COMMANDS.iter().find(|c| c.name == name).map(|c| c.action)
}

/// Resolves a key press to the action it triggers where the keys go now (`cx.scope()`).
pub fn action_in(
    keymap: &Keymap,
    key: &crossterm::event::KeyEvent,
    cx: &Context,
) -> Option<Action> {
    let name = keymap.action_in(key.code, key.modifiers, cx.scope())?;
    COMMANDS.iter().find(|c| c.name == name).map(|c| c.action)
}

/// Footer hints: available quick commands as `key label` pairs.
pub fn footer(cx: &Context, keymap: &Keymap) -> Vec<(String, &'static str)> {
    COMMANDS
        .iter()
        .filter(|c| c.quick && c.available(cx))
        .filter_map(|c| keymap.get(c.name).map(|k| (k.to_string(), c.label_in(cx))))
        .collect()
}

/// Help overlay rows: (group, key, label, available now).
pub fn help_rows(cx: &Context, keymap: &Keymap) -> Vec<(&'static str, String, &'static str, bool)> {
    COMMANDS
        .iter()
        .map(|c| {
            let key = keymap
                .get(c.name)
                .map_or_else(|| "(unbound)".into(), |k| k.to_string());
            (c.group, key, c.label, c.available(cx))
        })
        .collect()
}

#[cfg(test)]
mod tests;
