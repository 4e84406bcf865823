//! The queue's sort (k9s-style): `s` steps the column (state, age, node, priority, name), `S`
//! reverses it. Each column has the direction an operator wants first (the newest, the
//! highest priority, a to z); ties keep the default order (state, then newest), so a sort
//! never shuffles equal rows from frame to frame.

use crate::fleet::TaskState;
use crate::fleet::held::Facts;
use std::borrow::Cow;
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

    /// The queue order of `tasks` (given in key order, each with its name) as indices into
    /// it, how many await approval and whether any has a coder gate (both read in the same
    /// pass). The facts are derived once per task (a packed one carries its own), not in
    /// every comparison: a queue of 10,000 makes ~130,000 of them. Ties end on the position
    /// in `tasks`, which is key order, so the order is total and an unstable sort (no
    /// scratch copy of the queue) gives the same.
    pub fn order(self, tasks: &[(&str, Cow<'_, Facts>)]) -> (Vec<usize>, usize, bool) {
        let mut gated = false;
        let mut keyed: Vec<(SortKey, usize)> = tasks
            .iter()
            .enumerate()
            .map(|(i, (name, f))| {
                gated = gated || f.gated;
                (SortKey::of(name, f), i)
            })
            .collect();
        keyed.sort_unstable_by(|(a, ia), (b, ib)| {
            let primary = self.compare(a, b);
            let primary = if self.reversed {
                primary.reverse()
            } else {
                primary
            };
            primary
                .then_with(|| default_order(a, b))
                .then_with(|| ia.cmp(ib))
        });
        let awaiting = keyed.iter().filter(|(k, _)| k.rank == AWAITING).count();
        (keyed.into_iter().map(|(_, i)| i).collect(), awaiting, gated)
    }

    fn compare(self, a: &SortKey, b: &SortKey) -> Ordering {
        match self.column {
            SortColumn::State => a.rank.cmp(&b.rank),
            // Newest first: the smallest age.
            SortColumn::Age => b.created.cmp(&a.created),
            SortColumn::Node => a.node.cmp(&b.node),
            // Highest first: it runs first.
            SortColumn::Priority => b.priority.cmp(&a.priority),
            SortColumn::Name => a.name.cmp(b.name),
        }
    }
}

/// What the sort compares of one task.
struct SortKey<'a> {
    rank: u8,
    created: i64,
    /// Unassigned tasks sort after every node.
    node: (bool, Option<&'a str>),
    priority: i32,
    name: &'a str,
}

impl<'a> SortKey<'a> {
    fn of(name: &'a str, f: &'a Facts) -> SortKey<'a> {
        SortKey {
            rank: rank(f.state),
            created: f.created,
            node: (f.node.is_none(), f.node.as_deref()),
            priority: f.priority,
            name,
        }
    }
}

/// State rank, then newest first.
fn default_order(a: &SortKey, b: &SortKey) -> Ordering {
    a.rank.cmp(&b.rank).then_with(|| b.created.cmp(&a.created))
}

/// [`rank`] of a task awaiting approval.
const AWAITING: u8 = 0;

fn rank(s: TaskState) -> u8 {
    match s {
        TaskState::AwaitingApproval => AWAITING,
        TaskState::Running => 1,
        TaskState::Scheduled => 2,
        TaskState::Pending | TaskState::Waiting => 3,
        _ => 4,
    }
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
