//! Types shared between kinds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    pub accelerator: Option<Accelerator>,
    /// Matched against the FleetNode's `metadata.labels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Every listed role must appear in the FleetNode's `spec.roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}
