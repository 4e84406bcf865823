//! Upstream HEAD's gate and verdict policy types, shared by AgenticTask and Workload: how a
//! change is built and tested before a GO counts, and which change classes a coder may
//! self-approve (accepted and stored; this project's executor does not run upstream's gates),
//! and our own coder gate (extension, issue 12): commands run in the sandbox after a GO commit,
//! before the operator approves, and the record of one run of them.

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

/// What happens when the coder gate fails.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GateOnFail {
    /// The failure output goes back to the model as a user message for another round (up to
    /// `maxAttempts` gate runs); when they are used up the run still ends awaiting approval,
    /// and approving it needs a second confirmation.
    Retry,
    /// The run ends with outcome `CODER-GATE-FAILED` (nothing to approve).
    #[default]
    Stop,
}

/// Extension (issue 12; upstream HEAD has no coder-side gate field, only `gateProfile` for its
/// verify Job): shell commands run in order, each with `sh -c` in the task's sandbox and
/// workspace, after the model's GO commit. The first failing command fails the gate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoderGate {
    /// e.g. `["cargo test"]`, `["make fmt vet test"]`.
    #[schemars(length(min = 1))]
    pub commands: Vec<String>,
    /// The budget of one gate run, all commands together; default 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 600))]
    pub timeout_seconds: Option<i32>,
    /// `stop` (default) or `retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_fail: Option<GateOnFail>,
    /// Gate runs at most (the first included) when `onFail: retry`; default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 20), extend("default" = 3))]
    pub max_attempts: Option<i32>,
}

impl CoderGate {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(match self.timeout_seconds {
            Some(n) if n > 0 => n as u64,
            _ => 600,
        })
    }

    pub fn on_fail(&self) -> GateOnFail {
        self.on_fail.unwrap_or_default()
    }

    /// Gate runs allowed: 1 under `stop`, `maxAttempts` (default 3) under `retry`.
    pub fn max_attempts(&self) -> u32 {
        match self.on_fail() {
            GateOnFail::Stop => 1,
            GateOnFail::Retry => match self.max_attempts {
                Some(n) if n > 0 => n as u32,
                _ => 3,
            },
        }
    }
}

/// Where one gate run stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GateStatus {
    Pending,
    Passed,
    Failed,
}

impl GateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GateStatus::Pending => "pending",
            GateStatus::Passed => "passed",
            GateStatus::Failed => "failed",
        }
    }
}

/// One run of the coder gate, as the task's `status.result.extra.gate`, the journal's `gate`
/// line and the console's gate column show it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateRun {
    pub status: GateStatus,
    /// 1 for the first gate run of the task.
    pub attempt: u32,
    /// Of the whole gate run (0 while pending).
    #[serde(default)]
    pub duration_ms: u64,
    /// The command that failed (absent when all passed or while pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// The commands' output, head and tail kept around an omission marker.
    #[serde(default)]
    pub output: String,
    /// The commit the gate ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// `status.result.extra` key of the last [`GateRun`].
pub const GATE_EXTRA: &str = "gate";

impl GateRun {
    /// The gate run recorded in a task's result extra (`other["gate"]`), if any.
    pub fn of_extra(other: &serde_json::Map<String, serde_json::Value>) -> Option<GateRun> {
        other
            .get(GATE_EXTRA)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The gate run a task's `status.result` carries (`extra.gate`), if any.
    pub fn of_result(result: Option<&serde_json::Value>) -> Option<GateRun> {
        let v = result?.get("extra")?.get(GATE_EXTRA)?;
        serde_json::from_value(v.clone()).ok()
    }

    /// The queue's gate cell: `passed 1.2s`, `failed 3.0s`, `pending`.
    pub fn cell(&self) -> String {
        match self.status {
            GateStatus::Pending => "pending".into(),
            s => format!("{} {:.1}s", s.as_str(), self.duration_ms as f64 / 1000.0),
        }
    }
}
