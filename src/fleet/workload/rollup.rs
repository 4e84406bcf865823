//! The rollup of a Workload's tasks into its status (spec §5.4, upstream #541): a task counts
//! as succeeded only on target (GO or GATE-PASS); one that succeeded off target (INCOMPLETE,
//! NO-GO, GATE-FAIL...) counts as incomplete, never as done.

use crate::api::{AgenticTask, TaskPhase, Verdict};

/// The tasks of a Workload by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub succeeded: usize,
    pub incomplete: usize,
    pub failed: usize,
    pub in_flight: usize,
}

impl Counts {
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a AgenticTask>) -> Counts {
        let mut c = Counts::default();
        for t in tasks {
            let s = t.status.as_ref();
            c.add(s.and_then(|s| s.phase), s.and_then(|s| s.verdict));
        }
        c
    }

    /// Counts one task of this phase and verdict.
    pub fn add(&mut self, phase: Option<TaskPhase>, verdict: Option<Verdict>) {
        match phase {
            Some(TaskPhase::Succeeded) => {
                if verdict.is_some_and(|v| v.is_on_target()) {
                    self.succeeded += 1;
                } else {
                    self.incomplete += 1;
                }
            }
            Some(TaskPhase::Failed) => self.failed += 1,
            _ => self.in_flight += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.succeeded + self.incomplete + self.failed + self.in_flight
    }
}

/// What the counts say about the Workload: its phase and its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollup {
    /// Every task done and on target: `Completed`, `Completed=True AllChildrenSucceeded`.
    Completed,
    /// Nothing in flight, some failed: `Failed`, `Completed=False ChildrenFailed`.
    Failed,
    /// Nothing in flight, none failed, some off target: `Failed`,
    /// `Completed=False ChildrenIncomplete`.
    Incomplete,
    /// Tasks still to finish: `Dispatched`, `Dispatched=True ChildrenInFlight`.
    InFlight,
}

impl Rollup {
    pub fn of(c: &Counts) -> Rollup {
        if c.in_flight > 0 {
            Rollup::InFlight
        } else if c.failed > 0 {
            Rollup::Failed
        } else if c.incomplete > 0 {
            Rollup::Incomplete
        } else {
            Rollup::Completed
        }
    }
}
