//! Request changes in the store (issue 12): the GO under review becomes attempt N in the
//! attempt history, and the task, as attempt N+1, is claimed for its revision run in the same
//! transaction, so the reviewed Result, journal and commit are never overwritten and a second
//! console cannot start the same revision.

use super::{Store, StoreError, attempts};
use crate::api::{AgenticTask, AgenticTaskStatus, TaskPhase};
use crate::fleet::status::mark_claimed;
use crate::fleet::{TaskKey, TaskState, task_state};

impl Store {
    /// Archives the current attempt (a GO awaiting approval) and claims the task for attempt
    /// N+1, Running on `node` with a fresh status. Returns the stored task and N+1. A task in
    /// any other state is refused and nothing is written.
    pub fn begin_revision(
        &mut self,
        key: &TaskKey,
        node: &str,
    ) -> Result<(AgenticTask, u32), StoreError> {
        let mut t = self
            .task(key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        let state = task_state(&t);
        if state != TaskState::AwaitingApproval {
            return Err(StoreError::WrongState {
                key: key.clone(),
                state: format!("{state:?}"),
                why: "changes can be requested only on a GO awaiting approval",
            });
        }
        let reviewed = t.status.clone().unwrap_or_default();
        let n = attempts::attempt_of(&t);
        t.status = Some(AgenticTaskStatus {
            phase: Some(TaskPhase::Running),
            assigned_node: Some(node.to_string()),
            ..Default::default()
        });
        mark_claimed(&mut t, node);
        attempts::set_attempt(&mut t, n + 1);
        let stored =
            self.write_task_with(&t, true, |tx| attempts::archive(tx, key, n, &reviewed))?;
        Ok((stored, n + 1))
    }
}
