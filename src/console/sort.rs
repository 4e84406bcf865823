//! The queue's sort (k9s-style): `s` steps the column (state, age, node, priority, name), `S`
//! reverses it. Each column has the direction an operator wants first (the newest, the
//! highest priority, a to z); ties keep the default order (state, then newest), so a sort
//! never shuffles equal rows from frame to frame.

use crate::api::AgenticTask;
use crate::fleet::{TaskKey, TaskState, task_state};
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortColumn {
    /// Running and awaiting first, then pending, then finished (the default order).
    #[default]
    State,
    Age,
    Node,
    Priority,
    Name,
}

impl SortColumn {
    /// The cycle `s` steps through.
    pub const ALL: [SortColumn; 5] = [
        SortColumn::State,
        SortColumn::Age,
        SortColumn::Node,
        SortColumn::Priority,
        SortColumn::Name,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortColumn::State => "state",
            SortColumn::Age => "age",
            SortColumn::Node => "node",
            SortColumn::Priority => "priority",
            SortColumn::Name => "name",
        }
    }

    /// The queue header this column sorts (`None`: not a column of the table).
    pub fn header(self) -> Option<&'static str> {
        match self {
            SortColumn::State => Some("STATE"),
            SortColumn::Age => Some("AGE"),
            SortColumn::Node => Some("NODE"),
            SortColumn::Priority => None,
            SortColumn::Name => Some("TASK"),
        }
    }
}

/// The operator's sort: a column and whether `S` reversed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueSort {
    pub column: SortColumn,
    pub reversed: bool,
}

impl QueueSort {
    /// `s`: the next column, in its own first direction.
    pub fn next(self) -> QueueSort {
        let all = SortColumn::ALL;
        let i = all.iter().position(|c| *c == self.column).unwrap_or(0);
        QueueSort {
            column: all[(i + 1) % all.len()],
            reversed: false,
        }
    }

    /// `S`: the same column the other way.
    pub fn reverse(self) -> QueueSort {
        QueueSort {
            reversed: !self.reversed,
            ..self
        }
    }

    /// The default order draws no mark (it is what every queue starts with).
    pub fn is_default(self) -> bool {
        self == QueueSort::default()
    }

    /// The arrow drawn after the sorted header: ↑ in the column's first direction, ↓ reversed.
    pub fn arrow(self) -> &'static str {
        if self.reversed { "↓" } else { "↑" }
    }

    /// Sorts `keys` (all present in `tasks`' lookup) in this order.
    pub fn sort(self, keys: &mut [(TaskKey, &AgenticTask)]) {
        keys.sort_by(|(ka, a), (kb, b)| {
            let primary = self.compare(a, b);
            let primary = if self.reversed {
                primary.reverse()
            } else {
                primary
            };
            primary
                .then_with(|| default_order(a, b))
                .then_with(|| ka.cmp(kb))
        });
    }

    fn compare(self, a: &AgenticTask, b: &AgenticTask) -> Ordering {
        match self.column {
            SortColumn::State => rank(task_state(a)).cmp(&rank(task_state(b))),
            // Newest first: the smallest age.
            SortColumn::Age => created(b).cmp(&created(a)),
            SortColumn::Node => node(a).cmp(&node(b)),
            // Highest first: it runs first.
            SortColumn::Priority => priority(b).cmp(&priority(a)),
            SortColumn::Name => a.metadata.name.cmp(&b.metadata.name),
        }
    }
}

/// State rank, then newest first.
fn default_order(a: &AgenticTask, b: &AgenticTask) -> Ordering {
    rank(task_state(a))
        .cmp(&rank(task_state(b)))
        .then_with(|| created(b).cmp(&created(a)))
}

fn rank(s: TaskState) -> u8 {
    match s {
        TaskState::AwaitingApproval => 0,
        TaskState::Running => 1,
        TaskState::Scheduled => 2,
        TaskState::Pending | TaskState::Waiting => 3,
        _ => 4,
    }
}

fn created(t: &AgenticTask) -> i64 {
    t.metadata
        .creation_timestamp
        .as_ref()
        .map_or(0, |c| c.0.as_second())
}

/// Unassigned tasks sort after every node.
fn node(t: &AgenticTask) -> (bool, String) {
    match t.status.as_ref().and_then(|s| s.assigned_node.clone()) {
        Some(n) => (false, n),
        None => (true, String::new()),
    }
}

fn priority(t: &AgenticTask) -> i32 {
    t.spec.priority.unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_cycles_every_column_and_back_and_s_upper_only_flips_the_direction() {
        let mut s = QueueSort::default();
        let mut seen = vec![s.column];
        for _ in 0..5 {
            s = s.reverse().next();
            assert!(!s.reversed, "a new column starts in its first direction");
            seen.push(s.column);
        }
        assert_eq!(
            seen,
            [
                SortColumn::State,
                SortColumn::Age,
                SortColumn::Node,
                SortColumn::Priority,
                SortColumn::Name,
                SortColumn::State
            ]
        );
        let r = s.reverse();
        assert_eq!((r.column, r.reversed, r.arrow()), (s.column, true, "↓"));
        assert_eq!(r.reverse(), s);
    }
}
