//! One command registry: every action the operator can take, its key (from the keymap), where
//! it applies, and its label. The footer hints and the `?` overlay are both generated from it,
//! so they cannot drift (gitui's CommandInfo pattern).

use super::state::{App, Focus, View};
use crate::config::Keymap;
use crate::fleet::TaskState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Command,
    Search,
    SearchNext,
    SearchPrev,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    ToggleFollow,
    OpenDetail,
    Back,
    ViewDiff,
    ViewTranscript,
    ToggleExpand,
    ExpandAll,
    ApprovePush,
    RejectPush,
    OpenPr,
    RetryTask,
    CancelTask,
}

pub struct CommandInfo {
    pub action: Action,
    /// Keymap action name (config `[keymap]`).
    pub name: &'static str,
    pub label: &'static str,
    pub group: &'static str,
    /// Shown in the footer when available (the help overlay lists everything).
    pub quick: bool,
    available: fn(&App) -> bool,
}

impl CommandInfo {
    pub fn available(&self, app: &App) -> bool {
        (self.available)(app)
    }
}

fn always(_: &App) -> bool {
    true
}
fn in_transcript(a: &App) -> bool {
    a.view == View::Transcript && a.selected_task().is_some()
}
fn searching(a: &App) -> bool {
    in_transcript(a) && a.has_search()
}
fn in_diff_or_transcript(a: &App) -> bool {
    a.selected_task().is_some() && a.focus == Focus::Detail
}
fn state_is(a: &App, states: &[TaskState]) -> bool {
    a.selected_state().is_some_and(|s| states.contains(&s))
}
fn awaiting(a: &App) -> bool {
    state_is(a, &[TaskState::AwaitingApproval])
}
fn pushed(a: &App) -> bool {
    state_is(a, &[TaskState::Pushed])
}
fn requeueable(a: &App) -> bool {
    state_is(
        a,
        &[
            TaskState::Failed,
            TaskState::Interrupted,
            TaskState::Rejected,
        ],
    ) || a.selected_incomplete()
}
fn running(a: &App) -> bool {
    state_is(
        a,
        &[
            TaskState::Running,
            TaskState::Scheduled,
            TaskState::Pending,
            TaskState::Waiting,
        ],
    )
}
fn has_change(a: &App) -> bool {
    a.selected_commit().is_some()
}
fn paused(a: &App) -> bool {
    a.view == View::Transcript && !a.transcript_following()
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
        ApprovePush,
        "approve_push",
        "approve push",
        "Task",
        true,
        awaiting
    ),
    cmd!(RejectPush, "reject_push", "reject", "Task", true, awaiting),
    cmd!(OpenPr, "open_pr", "open PR", "Task", true, pushed),
    cmd!(ViewDiff, "view_diff", "diff", "Task", true, has_change),
    cmd!(
        ViewTranscript,
        "view_transcript",
        "transcript",
        "Task",
        true,
        |a| a.view == View::Diff
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
        in_transcript
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
    cmd!(Top, "top", "top", "Navigate", false, always),
    cmd!(
        Bottom,
        "bottom",
        "bottom / follow",
        "Navigate",
        false,
        always
    ),
    cmd!(OpenDetail, "open_detail", "open", "Navigate", false, |a| a
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
];

pub fn info(action: Action) -> &'static CommandInfo {
    COMMANDS
        .iter()
        .find(|c| c.action == action)
        .unwrap_or(&COMMANDS[COMMANDS.len() - 1])
}

/// Resolves a key press to an action through the keymap.
pub fn action_for(keymap: &Keymap, key: &crossterm::event::KeyEvent) -> Option<Action> {
    let name = keymap.action_for(key.code, key.modifiers)?;
    COMMANDS.iter().find(|c| c.name == name).map(|c| c.action)
}

/// Footer hints: available quick commands as `key label` pairs.
pub fn footer(app: &App, keymap: &Keymap) -> Vec<(String, &'static str)> {
    COMMANDS
        .iter()
        .filter(|c| c.quick && c.available(app))
        .filter_map(|c| keymap.get(c.name).map(|k| (k.to_string(), c.label)))
        .collect()
}

/// Help overlay rows: (group, key, label, available now).
pub fn help_rows(app: &App, keymap: &Keymap) -> Vec<(&'static str, String, &'static str, bool)> {
    COMMANDS
        .iter()
        .map(|c| {
            let key = keymap
                .get(c.name)
                .map_or_else(|| "(unbound)".into(), |k| k.to_string());
            (c.group, key, c.label, c.available(app))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_default_key() {
        let mut warnings = Vec::new();
        let cfg = crate::config::Config::defaults(&mut warnings);
        for c in COMMANDS {
            assert!(
                cfg.keymap.get(c.name).is_some(),
                "no default key for {}",
                c.name
            );
        }
        assert!(
            cfg.keymap.conflicts().is_empty(),
            "{:?}",
            cfg.keymap.conflicts()
        );
    }
}
