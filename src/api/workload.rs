//! `Workload`: an intent fanned out into tasks (P550 stub-planner shape).

use super::common::LocalObjectReference;
use super::gate::{GateProfile, VerdictPolicy};
use super::task::{AgenticTaskPayload, TaskKind};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStep {
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(min = 1))]
    pub name: String,
    pub kind: TaskKind,
    pub agent_ref: LocalObjectReference,
    pub payload: AgenticTaskPayload,
    /// Step-local names, rewritten to `<workload>-<step>` on creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub timeout_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Upstream HEAD: the step's gate (stored on the created task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_profile: Option<GateProfile>,
}

// kube's derive repeats `printcolumn(...)` by design; clippy reads that as a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "foreman.llmkube.dev",
    version = "v1alpha1",
    kind = "Workload",
    namespaced,
    status = "WorkloadStatus",
    shortname = "wl",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Repo", type_ = "string", json_path = ".spec.repo"),
    printcolumn(
        name = "Tasks",
        type_ = "integer",
        json_path = ".status.succeededTasks"
    ),
    printcolumn(name = "Failed", type_ = "integer", json_path = ".status.failedTasks"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpec {
    #[schemars(length(min = 1))]
    pub intent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// 0 = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_tasks: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Vec<PipelineStep>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coder_agent_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_agent_ref: Option<LocalObjectReference>,
    /// Upstream HEAD: reviewers run after the coder (stored only, like every field below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer_agent_refs: Option<Vec<LocalObjectReference>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_reviewer_agent_refs: Option<Vec<LocalObjectReference>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_coder_agent_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_on_failure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_coder_agent_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_review_iterations: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_cloud_reviewers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_overwrite: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_pull_request: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_profile: Option<GateProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_policy: Option<VerdictPolicy>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum WorkloadPhase {
    Planning,
    Planned,
    Dispatched,
    Completed,
    Failed,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<WorkloadPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<ObjectReference>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_tasks: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_tasks: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_tasks: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_model: Option<String>,
    /// Upstream HEAD: review rounds so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_iterations: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}
