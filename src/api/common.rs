//! Types shared between kinds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `metav1.Condition.reason`'s pattern (a CamelCase word, `_` `,` `:` inside).
pub const CONDITION_REASON: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
/// `metav1.Condition.type`'s pattern (an optional DNS-subdomain prefix and a name).
pub const CONDITION_TYPE: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
/// `metav1.Condition.message`'s longest value in characters; the apiserver rejects a longer
/// one, so the condition writer cuts messages at this many bytes (never more characters).
pub const CONDITION_MESSAGE_MAX: usize = 32768;

/// Same-namespace reference by name (Kubernetes `LocalObjectReference`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectReference {
    #[serde(default)]
    pub name: String,
}

/// Accelerator a task requires; `any` (the CRD default) matches every node.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    Metal,
    Cuda,
    /// Upstream HEAD: llama.cpp's Vulkan backend (AMD/Intel GPUs).
    Vulkan,
    Any,
}

/// What a node must offer to run a task. Every unset field means "no constraint".
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequiredCapability {
    /// Compared against FleetNode `status.capability.availableRAMGB` (net of the loaded model).
    #[serde(rename = "minRAMGB", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_ram_gb: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_context_tokens: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "any"))]
    pub accelerator: Option<Accelerator>,
    /// Matched against the FleetNode's `metadata.labels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Every listed role must appear in the FleetNode's `spec.roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Upstream HEAD: only nodes whose `installedModels` list the model are eligible, and then
    /// `minRAMGB` is ignored (the model is already loaded). Accepted and stored; the scheduler
    /// does not act on it yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_model_installed: Option<bool>,
}

/// A key of a Secret in the same namespace (Kubernetes `SecretKeySelector`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    #[serde(default)]
    pub name: String,
    pub key: String,
    /// Whether the Secret or its key may be missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}
