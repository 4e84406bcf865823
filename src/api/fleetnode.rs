//! `FleetNode`: one machine that runs tasks (cluster-scoped; name = node name).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// kube's derive repeats `printcolumn(...)` by design; clippy reads that as a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "foreman.llmkube.dev",
    version = "v1alpha1",
    kind = "FleetNode",
    status = "FleetNodeStatus",
    shortname = "fn",
    derive = "PartialEq",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Accelerator",
        type_ = "string",
        json_path = ".status.capability.accelerator"
    ),
    printcolumn(
        name = "RAM",
        type_ = "integer",
        json_path = ".status.capability.availableRAMGB"
    ),
    printcolumn(
        name = "Current Task",
        type_ = "string",
        json_path = ".status.currentTask"
    ),
    printcolumn(
        name = "Heartbeat",
        type_ = "date",
        json_path = ".status.lastHeartbeatTime"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct FleetNodeSpec {
    pub node_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tailscale_addr: Option<String>,
    /// Conventionally `worker` and/or `verifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum FleetNodePhase {
    Ready,
    Draining,
    NotReady,
    Unknown,
}

impl FleetNodePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            FleetNodePhase::Ready => "Ready",
            FleetNodePhase::Draining => "Draining",
            FleetNodePhase::NotReady => "NotReady",
            FleetNodePhase::Unknown => "Unknown",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeAccelerator {
    Metal,
    Cuda,
    /// Upstream HEAD: llama.cpp's Vulkan backend.
    Vulkan,
    None,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FleetNodeCapability {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<NodeAccelerator>,
    #[serde(
        rename = "totalRAMGB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0))]
    pub total_ram_gb: Option<i32>,
    /// RAM net of the loaded model.
    #[serde(
        rename = "availableRAMGB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0))]
    pub available_ram_gb: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_context_tokens: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub tokens_per_second: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FleetNodeStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<FleetNodePhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<FleetNodeCapability>,
    /// Namespaced name of the running task (written on claim, cleared after; upstream #977).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Upstream HEAD: the agent binary's version (`foreman <version>` here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// Upstream HEAD: which agent runs the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_kind: Option<AgentKind>,
    /// Upstream HEAD: Go's `GOOS` spelling (`linux`, `darwin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Upstream HEAD: Go's `GOARCH` spelling (`amd64`, `arm64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Upstream HEAD: a staged self-update for the agent (stored only; never acted on here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_request: Option<UpdateRequest>,
}

/// Upstream HEAD's `status.agentKind`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AgentKind {
    ForemanAgent,
    MetalAgent,
}

/// Upstream HEAD's `status.updateRequest`: the binary an AgentRelease asks the node to run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRequest {
    pub target_version: String,
    pub url: String,
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
}
