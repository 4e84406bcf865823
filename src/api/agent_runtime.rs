//! Upstream HEAD's Agent fields for where the model is served and where the loop runs:
//! `provider`/`providerConfig` (cloud-proxy), `execution` (in-process or a Job), `mcp` and
//! `vision`. They are typed here so a manifest written for upstream loads, is validated as
//! strictly as upstream's CRD validates it, and survives a round trip through our CRDs.

use super::common::SecretKeySelector;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The model-serving backend (upstream HEAD; default `local`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Resolve `inferenceServiceRef` (upstream v0.1 behaviour).
    #[default]
    Local,
    /// An OpenAI-compatible HTTP endpoint (typically a LiteLLM gateway), see `providerConfig`.
    CloudProxy,
}

/// Settings of a non-local provider; required when `provider` is `cloud-proxy`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConfig {
    /// The endpoint chat completions go to, including `/v1`.
    #[serde(rename = "baseURL", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub base_url: Option<String>,
    /// The model the proxy expects; overrides `spec.model` on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub model: Option<String>,
    /// The Secret key holding the bearer token; unset = no `Authorization` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<SecretKeySelector>,
}

/// Where the agent loop runs (upstream HEAD).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ExecutionMode {
    /// In the agent's own process (the only mode this project runs).
    #[default]
    InProcess,
    /// In a per-task Kubernetes Job.
    Job,
}

/// Upstream HEAD's `execution`: omitted = in-process.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentExecution {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "InProcess"))]
    pub mode: Option<ExecutionMode>,
    /// The per-task Job image; required when `mode` is `Job`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The Job's wall-clock bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 3600))]
    pub active_deadline_seconds: Option<i64>,
    /// The Job container's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<JobResources>,
}

/// Kubernetes `ResourceRequirements`, typed here because k8s-openapi's schema for a quantity
/// lacks the pattern upstream's CRD checks it against, and its `claims` is no list-map.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct JobResources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantities")]
    pub limits: Option<std::collections::BTreeMap<String, Quantity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "quantities")]
    pub requests: Option<std::collections::BTreeMap<String, Quantity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub claims: Option<Vec<ResourceClaim>>,
}

/// One entry of `pod.spec.resourceClaims` the container uses.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct ResourceClaim {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// The pattern of a Kubernetes quantity (`500m`, `2Gi`, `1e3`), as upstream's CRD has it.
const QUANTITY: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// A map of resource name to quantity: an int-or-string checked against [`QUANTITY`].
fn quantities(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": {
            "x-kubernetes-int-or-string": true,
            "pattern": QUANTITY,
        },
    })
}

/// Upstream HEAD's MCP client settings; unset or `enabled: false` = no MCP tools.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentMcp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Go duration bounding one MCP call (`30s` when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_timeout: Option<String>,
    /// An MCP tool result is cut at this size (32768 when 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_result_bytes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<McpServer>>,
}

/// The MCP transports upstream knows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum McpTransport {
    Http,
}

/// One MCP server; its tools are named `mcp__<name>__<tool>`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServer {
    pub name: String,
    pub transport: McpTransport,
    pub url: String,
    /// Tool names this server may expose (`*` for all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<McpHeader>>,
}

/// An HTTP header sent to an MCP server, its value read from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpHeader {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<SecretKeySelector>,
}

/// Upstream HEAD's multimodal input: images in a task payload sent to the model.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentVision {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Per message (4 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images: Option<i32>,
    /// Per image after base64 (4 MiB when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_image_bytes: Option<i64>,
}
