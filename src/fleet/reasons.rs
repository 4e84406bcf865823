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
