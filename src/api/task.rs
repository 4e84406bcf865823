//! `AgenticTask`: the dispatchable unit of work.

use super::common::{LocalObjectReference, RequiredCapability};
use super::gate::{CoderGate, GateProfile, VerdictPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum TaskKind {
    #[serde(rename = "issue-fix")]
    IssueFix,
    #[serde(rename = "verify")]
    Verify,
    #[serde(rename = "freeform")]
    Freeform,
    /// Upstream HEAD: a reviewer reads a coder's branch and returns a verdict.
    #[serde(rename = "review")]
    Review,
    /// Upstream HEAD: merges slice branches into one.
    #[serde(rename = "integrate")]
    Integrate,
    /// Upstream HEAD: reconciles shared identifiers across slices.
    #[serde(rename = "reconcile")]
    Reconcile,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::IssueFix => "issue-fix",
            TaskKind::Verify => "verify",
            TaskKind::Freeform => "freeform",
            TaskKind::Review => "review",
            TaskKind::Integrate => "integrate",
            TaskKind::Reconcile => "reconcile",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum TaskPhase {
    Pending,
    Scheduled,
    Running,
    Verifying,
    Succeeded,
    Failed,
}

impl TaskPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskPhase::Pending => "Pending",
            TaskPhase::Scheduled => "Scheduled",
            TaskPhase::Running => "Running",
            TaskPhase::Verifying => "Verifying",
            TaskPhase::Succeeded => "Succeeded",
            TaskPhase::Failed => "Failed",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskPhase::Succeeded | TaskPhase::Failed)
    }
}

/// Verdicts the CRD admits. A model's `ERROR` is mapped to `INCOMPLETE` before it lands here,
/// because upstream's enum rejects it and wedges the task (§11.2).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum Verdict {
    #[serde(rename = "GO")]
    Go,
    #[serde(rename = "NO-GO")]
    NoGo,
    #[serde(rename = "INCOMPLETE")]
    Incomplete,
    #[serde(rename = "GATE-PASS")]
    GatePass,
    #[serde(rename = "GATE-FAIL")]
    GateFail,
    #[serde(rename = "GATE-ERROR")]
    GateError,
    /// Upstream HEAD: the step did not run (e.g. an escalation that was not needed).
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
            Verdict::Incomplete => "INCOMPLETE",
            Verdict::GatePass => "GATE-PASS",
            Verdict::GateFail => "GATE-FAIL",
            Verdict::GateError => "GATE-ERROR",
            Verdict::Skipped => "Skipped",
        }
    }
    /// Verdicts that satisfy `dependsOn` and Workload rollups (upstream `SucceededOnTarget`).
    pub fn is_on_target(self) -> bool {
        matches!(self, Verdict::Go | Verdict::GatePass)
    }
}

/// Kind-discriminated payload (all fields optional on the wire).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgenticTaskPayload {
    /// `owner/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub issue: Option<i32>,
    /// Explicit branch; overrides the derived name on any kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Prefix for the derived branch name (upstream documents it but ignores it, #510).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_prefix: Option<String>,
    /// Issue body for issue-fix; the whole user message for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Legacy M2 name-based agent; unused by the native executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Upstream HEAD: the branch the work starts from (the repository's default if unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// Upstream HEAD: a coder revision starts from this branch instead of `baseBranch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revise_from_branch: Option<String>,
    /// Upstream HEAD: how an existing task branch is brought up to date (default `reset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "reset"))]
    pub branch_strategy: Option<BranchStrategy>,
    /// Upstream HEAD: the push may overwrite an existing remote branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_overwrite: Option<bool>,
    /// Upstream HEAD: open a pull request after the push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_pull_request: Option<bool>,
    /// Upstream HEAD: text placed before the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_prefix: Option<String>,
    /// Upstream HEAD: the interface a slice must keep (sliced work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// Upstream HEAD: images (data URLs or URLs) for a vision Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// Upstream HEAD: advisory findings of an earlier gate, fed back to a revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_advisories: Option<Vec<GateAdvisory>>,
    /// Upstream HEAD: identifiers one slice defines and others use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_identifiers: Option<Vec<SharedIdentifier>>,
    /// Upstream HEAD: the slices of a sliced change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slices: Option<Vec<Slice>>,
}

/// Upstream HEAD's `payload.branchStrategy`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BranchStrategy {
    #[default]
    Reset,
    Rebase,
}

/// One advisory finding of a gate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct GateAdvisory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An identifier shared between slices.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedIdentifier {
    #[schemars(length(min = 1))]
    pub id: String,
    #[schemars(length(min = 1))]
    pub defined_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_by: Option<Vec<String>>,
}

/// One slice of a sliced change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct Slice {
    #[schemars(length(min = 1))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

/// Why a task failed (upstream HEAD's `status.failureReason`, 14 values).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum FailureReason {
    AgentNotFound,
    InferenceServiceUnavailable,
    AuthUnavailable,
    GitRemoteNotConfigured,
    CloneFailed,
    ModelMisunderstood,
    ToolFailed,
    MaxTurnsExhausted,
    ConstraintViolated,
    Timeout,
    InfrastructureError,
    GateFailed,
    GateError,
    ModelReportedError,
}

// kube's derive repeats `printcolumn(...)` by design; clippy reads that as a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "foreman.llmkube.dev",
    version = "v1alpha1",
    kind = "AgenticTask",
    namespaced,
    status = "AgenticTaskStatus",
    shortname = "at",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.kind"),
    printcolumn(name = "Node", type_ = "string", json_path = ".status.assignedNode"),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AgenticTaskSpec {
    pub kind: TaskKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_ref: Option<LocalObjectReference>,
    /// Used only when `agentRef` is unset; the Agent's capability wins otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_capability: Option<RequiredCapability>,
    pub payload: AgenticTaskPayload,
    /// Wall-clock budget of the whole run; 0 or unset = 2700 s (enforced here, unlike upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub timeout_seconds: Option<i32>,
    /// Same-namespace task names that must succeed on target first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
    /// Higher runs first (honoured here, unlike upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Upstream HEAD: the gate this task's change must pass (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_profile: Option<GateProfile>,
    /// Upstream HEAD: which change classes the coder's own GO may stand for (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_policy: Option<VerdictPolicy>,
    /// Upstream HEAD: turn the Agent's MCP client on for this task (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_enabled: Option<bool>,
    /// Extension (issue 12): this task's coder gate; replaces the Agent's `gate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<CoderGate>,
}

impl AgenticTaskSpec {
    /// The run's budget (upstream's documented default of 2700 s).
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(match self.timeout_seconds {
            Some(n) if n > 0 => n as u64,
            _ => 2700,
        })
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgenticTaskStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<TaskPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Upstream HEAD: why the task failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<FailureReason>,
    /// Upstream HEAD: the Job of an `execution.mode: Job` run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// The Result envelope (a free-form JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("type" = "object", "x-kubernetes-preserve-unknown-fields" = true))]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(rename = "commitSHA", default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}
