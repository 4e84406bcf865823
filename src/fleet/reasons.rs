//! Condition reasons, spelled once. Upstream's scheduler and agent write these strings and
//! LLMKube's tooling matches on them, so every writer and reader here takes them from this file.

/// The scheduler placed the task on a FleetNode (`Scheduled=True`).
pub const REASON_ASSIGNED: &str = "FleetNodeAssigned";
/// A dependency failed or finished off target: the task is cascade-failed.
pub const REASON_UPSTREAM_FAILED: &str = "UpstreamFailed";
/// The task's `agentRef` names no Agent.
pub const REASON_AGENT_NOT_FOUND: &str = "AgentNotFound";
/// The scheduler is waiting for `dependsOn` tasks to finish.
pub const REASON_WAITING: &str = "WaitingForDependencies";
/// No node fits the task's required capability.
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";
/// A Ready node's heartbeat went stale (`Ready=False`).
pub const REASON_HEARTBEAT_STALE: &str = "HeartbeatStale";
/// A run cut short by a console or agent stop; re-queueable.
pub const REASON_INTERRUPTED: &str = "Interrupted";

use crate::api::FailureReason;

/// Upstream HEAD's `status.failureReason` category of a detailed reason (a condition reason,
/// or a Result's `extra.reason`). HEAD renamed P550's `GitRemoteURLNotConfigured` to
/// `GitRemoteNotConfigured` and folded `BranchCheckoutFailed` into `CloneFailed` and
/// `ToolRegistryBuildFailed` into `InfrastructureError`; the old spellings are still read,
/// so a Result stored by an older version keeps its category. `None`: not a failure of this
/// task (a dependency's failure, as upstream's cascade leaves it unset).
pub fn failure_reason_of(reason: &str) -> Option<FailureReason> {
    use FailureReason as F;
    Some(match reason {
        REASON_UPSTREAM_FAILED | REASON_WAITING | REASON_ASSIGNED => return None,
        REASON_AGENT_NOT_FOUND => F::AgentNotFound,
        "InferenceServiceUnavailable" => F::InferenceServiceUnavailable,
        "AuthUnavailable" => F::AuthUnavailable,
        "GitRemoteNotConfigured" | "GitRemoteURLNotConfigured" => F::GitRemoteNotConfigured,
        "CloneFailed" | "BranchCheckoutFailed" => F::CloneFailed,
        "MaxTurnsExhausted" => F::MaxTurnsExhausted,
        "ModelMisunderstood" | "AssistantHallucinatedFinish" | "StuckLoopDetected" => {
            F::ModelMisunderstood
        }
        "ToolFailed" => F::ToolFailed,
        "ConstraintViolated" => F::ConstraintViolated,
        "Timeout" | "LoopBudgetExhausted" => F::Timeout,
        "GateFailed" => F::GateFailed,
        "GateError" => F::GateError,
        "ModelReportedError" => F::ModelReportedError,
        _ => F::InfrastructureError,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_new_spellings_read_as_heads_category() {
        use FailureReason as F;
        let rows = [
            ("GitRemoteURLNotConfigured", Some(F::GitRemoteNotConfigured)),
            ("GitRemoteNotConfigured", Some(F::GitRemoteNotConfigured)),
            ("BranchCheckoutFailed", Some(F::CloneFailed)),
            ("ToolRegistryBuildFailed", Some(F::InfrastructureError)),
            ("AssistantHallucinatedFinish", Some(F::ModelMisunderstood)),
            ("LoopBudgetExhausted", Some(F::Timeout)),
            ("ModelReportedError", Some(F::ModelReportedError)),
            ("ExecutorError", Some(F::InfrastructureError)),
            (REASON_INTERRUPTED, Some(F::InfrastructureError)),
            (REASON_UPSTREAM_FAILED, None),
        ];
        for (reason, want) in rows {
            assert_eq!(failure_reason_of(reason), want, "{reason}");
        }
    }
}
