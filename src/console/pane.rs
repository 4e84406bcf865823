//! The three panes as state and drawing both see them: which one has the keys, what the
//! detail pane shows, and which queue rows fit. Below the registry, the state and the drawing,
//! so each of them can use these without importing the others.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Fleet,
    Queue,
    Detail,
}

/// What the detail pane shows for the selected task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Transcript,
    Diff,
}

/// First queue row drawn in a pane of `height` (borders and header take 3 rows) so that the
/// selected row stays visible; shared by drawing and mouse hit-testing.
pub fn queue_first_row(selected: usize, height: u16) -> usize {
    let visible = height.saturating_sub(3).max(1) as usize;
    selected.saturating_sub(visible - 1)
}

/// The queue filter of one Workload's tasks (`workload:NAME`).
pub const FILTER_PREFIX: &str = "workload:";

/// Whether `t` is a task of the Workload named `name` (its label; any namespace the
/// console shows, as the queue does).
pub fn in_workload(t: &crate::fleet::held::Facts, name: &str) -> bool {
    t.workload
        .as_deref()
        .is_some_and(|w| w.eq_ignore_ascii_case(name))
}
