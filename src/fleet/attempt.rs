//! A task's attempt number: re-queueing (embedded) or a request for changes (both backends)
//! starts attempt N+1. The current attempt's number is the task's
//! `foreman.llmkube.dev/attempt` annotation (absent: 1), so every reader of the task sees it
//! without asking a store; the worker and both backends read it from here.

use crate::api::AgenticTask;

/// The annotation holding the number of a task's current attempt.
pub const ATTEMPT_ANNOTATION: &str = "foreman.llmkube.dev/attempt";

/// The task's current attempt (1 when never re-queued).
pub fn attempt_of(t: &AgenticTask) -> u32 {
    t.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ATTEMPT_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Sets the task's current attempt to `n`.
pub fn set_attempt(t: &mut AgenticTask, n: u32) {
    t.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(ATTEMPT_ANNOTATION.into(), n.to_string());
}
