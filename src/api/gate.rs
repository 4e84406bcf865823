//! Upstream HEAD's gate and verdict policy types, shared by AgenticTask and Workload: how a
//! change is built and tested before a GO counts, and which change classes a coder may
//! self-approve. Accepted and stored; this project's executor does not run upstream's gates.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GateLanguage {
    Go,
    Python,
    Rust,
    Node,
    Generic,
}

/// The commands of a language gate; empty = the language's default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateCommands {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codegen_check: Option<String>,
}

/// Where sources and their tests live.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestLayout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_root: Option<String>,
}

/// Upstream HEAD's `gateProfile`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<GateLanguage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<GateCommands>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_extensions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_layout: Option<TestLayout>,
}

/// Change classes upstream lets a coder's own GO stand for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeClass {
    CodeFix,
    Docs,
    Packaging,
    Config,
    CiPolicy,
    ReleasePolicy,
}

/// Upstream HEAD's `verdictPolicy`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct VerdictPolicy {
    #[serde(rename = "selfGO", default, skip_serializing_if = "Option::is_none")]
    pub self_go: Option<Vec<ChangeClass>>,
}
