//! `Agent`: a reusable role definition referenced by tasks through `spec.agentRef`.

use super::agent_context::{ContextStrategy, StuckLoopDetection};
use super::agent_runtime::{AgentExecution, AgentMcp, AgentVision, Provider, ProviderConfig};
use super::common::{LocalObjectReference, RequiredCapability};
use super::gate::CoderGate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Informational role; `reviewer` GO verdicts skip the commit path (upstream #545).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentRole {
    Coder,
    Verifier,
    Reviewer,
    Planner,
}

/// How tool calls travel on the wire (extension; upstream users asked for adapters, #589).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ToolProtocol {
    /// OpenAI `tools` + `tool_calls` (upstream behaviour).
    #[default]
    OpenaiTools,
    /// Each turn is one JSON object constrained by `response_format` json_schema, so a small
    /// model cannot emit a malformed or missing call (llama.cpp enforces the grammar).
    JsonSchema,
}

/// One worked example shown to the model before the task (extension). Tiny models only call
/// tools reliably after seeing one call per tool.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FewShotExample {
    /// The example request; empty continues the previous example (multi-step exchanges).
    #[serde(default)]
    pub user: String,
    /// The tool the model answers with.
    pub tool: String,
    /// Its arguments.
    pub arguments: serde_json::Value,
    /// What the tool returned.
    #[serde(default)]
    pub result: String,
}

/// What the model's commands may reach over the network (extension, issue 9). `none` by
/// default; the operator's config can override it for every Agent.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxNetwork {
    /// No usable network: a private network namespace, and no IP socket can be opened.
    #[default]
    None,
    /// A private network namespace with only `lo` up: servers the command starts are
    /// reachable from inside it; the host's and the outside world's are not.
    Loopback,
    /// The host's network, unfiltered.
    Full,
}

impl SandboxNetwork {
    /// The manifest/config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxNetwork::None => "none",
            SandboxNetwork::Loopback => "loopback",
            SandboxNetwork::Full => "full",
        }
    }
}

impl std::str::FromStr for SandboxNetwork {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(SandboxNetwork::None),
            "loopback" => Ok(SandboxNetwork::Loopback),
            "full" => Ok(SandboxNetwork::Full),
            _ => Err("expected none, loopback or full".into()),
        }
    }
}

/// Extension: how the sandbox around the model's commands is opened up for this Agent
/// (issue 9). Everything else about the sandbox is fixed policy; see README "Containment".
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentSandbox {
    /// `none` (default), `loopback` or `full`; the config's `[sandbox] network` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<SandboxNetwork>,
    /// Extra host paths the commands may read (never write), e.g. `~/.m2`; added to the
    /// config's toolchain caches (`~/.cargo`, `~/.rustup`, `~/go`, `~/.cache/pip` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_paths: Option<Vec<String>>,
}

// kube's derive repeats `printcolumn(...)` by design; clippy reads that as a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "foreman.llmkube.dev",
    version = "v1alpha1",
    kind = "Agent",
    namespaced,
    status = "AgentStatus",
    shortname = "ag",
    derive = "PartialEq",
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role"),
    printcolumn(name = "Model", type_ = "string", json_path = ".spec.model"),
    printcolumn(
        name = "InferenceService",
        type_ = "string",
        json_path = ".spec.inferenceServiceRef.name"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AgentSpec {
    pub role: AgentRole,
    /// Sent verbatim as the chat request's `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// InferenceService whose endpoint the loop calls; empty name = deterministic Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_service_ref: Option<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Decimal string in `0..=2` (upstream's regex admits 2.9; we reject it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-2](\.[0-9]+)?$"))]
    pub temperature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 500), extend("default" = 50))]
    pub max_turns: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 20), extend("default" = 3))]
    pub max_retries: Option<i32>,
    /// P550: the response-header timeout of one chat turn (the body streams). HEAD (#532,
    /// #602): the whole loop's budget, with `requestTurnTimeoutSeconds` per request. The CRD
    /// default is HEAD's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 3600))]
    pub request_timeout_seconds: Option<i32>,
    /// Upstream HEAD: the response-header wait of one chat request before it is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 120))]
    pub request_turn_timeout_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 30))]
    pub bash_timeout_seconds: Option<i32>,
    /// Tool whitelist.
    #[schemars(length(min = 1))]
    pub tools: Vec<String>,
    /// Replaces the task's own `requiredCapability` when the task references this Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_capability: Option<RequiredCapability>,
    /// Extension: wire protocol for tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_protocol: Option<ToolProtocol>,
    /// `max_tokens` per turn; 0 or unset = the server's default (an extension until HEAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_output_tokens: Option<i32>,
    /// Extension: stop sequences sent with every turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Extension: during the last N turns only `submit_result` is offered, so a run ends with
    /// the model's verdict instead of `MaxTurnsExhausted` (upstream HEAD's convergence
    /// forcing). 0 or unset = off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub converge_turns: Option<i32>,
    /// Extension: worked tool-call examples placed before the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub few_shot: Option<Vec<FewShotExample>>,
    /// Extension: the sandbox's network and extra read-only paths (issue 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<AgentSandbox>,
    /// Upstream HEAD: `local` (default) or `cloud-proxy` (see `providerConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "local"))]
    pub provider: Option<Provider>,
    /// Upstream HEAD: the cloud-proxy endpoint, model and API-key Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_config: Option<ProviderConfig>,
    /// Upstream HEAD: at most this many of the Agent's tasks in flight; unset = unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrent_tasks: Option<i32>,
    /// Upstream HEAD: sent verbatim as `chat_template_kwargs` (e.g. `enable_thinking: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Upstream HEAD: `window` (default) or `session`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "window"))]
    pub context_strategy: Option<ContextStrategy>,
    /// Upstream HEAD: the soft token budget of one request; older tool results are masked
    /// past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub context_window_tokens: Option<i32>,
    /// Upstream HEAD: the most recent tool results always kept in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 50))]
    pub observation_window_turns: Option<i32>,
    /// Upstream HEAD: the stuck-loop detector's thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck_loop_detection: Option<StuckLoopDetection>,
    /// Upstream HEAD: a cluster-scoped ModelProfile layered onto this Agent (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_profile_ref: Option<String>,
    /// Upstream HEAD: re-runs of a coder after its envtest gate fails (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_envtest_iterations: Option<i32>,
    /// Upstream HEAD: in-process or a per-task Job (only in-process runs here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<AgentExecution>,
    /// Upstream HEAD: MCP servers whose tools the model may call (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<AgentMcp>,
    /// Upstream HEAD: images in the payload sent to the model (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision: Option<AgentVision>,
    /// Extension: the longest assistant reply (content plus tool-call arguments) read from
    /// the stream, in bytes; default 1 MiB. A longer reply is cut off and the model nudged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024))]
    pub max_reply_bytes: Option<i64>,
    /// Extension: at most this many tool calls of one reply run (default 32); the rest are
    /// answered with an error the model can read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_tool_calls_per_turn: Option<i32>,
    /// Extension (issue 12): commands run in the sandbox after a GO commit, before approval;
    /// a task's own `gate` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<CoderGate>,
    /// Extension (issue 12; upstream HEAD has it on Workload): how many times the operator
    /// may request changes on one task (3 when unset, applied in code: a schema default would
    /// be stored on every Agent and differ from upstream's CRDs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_review_iterations: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

/// Tool calls of one reply that run when neither the Agent nor the operator's config says.
pub const DEFAULT_MAX_TOOL_CALLS_PER_TURN: usize = 32;

/// Upstream defaults (spec §1.1), resolved in one place so the executor and the UI agree.
impl AgentSpec {
    pub fn max_turns(&self) -> u32 {
        match self.max_turns {
            Some(n) if n > 0 => n as u32,
            _ => 50,
        }
    }
    pub fn max_retries(&self) -> u32 {
        self.max_retries.map(|n| n.max(0) as u32).unwrap_or(3)
    }
    /// The response-header wait of one chat request: HEAD's `requestTurnTimeoutSeconds` when
    /// set (the CRD defaults it to 120), else P550's `requestTimeoutSeconds` (default 600),
    /// which meant exactly that before HEAD made it the loop's budget (#602).
    pub fn request_timeout(&self) -> std::time::Duration {
        match self.request_turn_timeout_seconds {
            Some(n) if n > 0 => secs(Some(n), 120),
            _ => secs(self.request_timeout_seconds, 600),
        }
    }
    /// The loop's budget under HEAD's semantics (#602): `requestTimeoutSeconds` (default
    /// 3600) once `requestTurnTimeoutSeconds` is set; `None` for a P550 Agent, whose
    /// `requestTimeoutSeconds` is the per-request wait.
    pub fn loop_budget(&self) -> Option<std::time::Duration> {
        match self.request_turn_timeout_seconds {
            Some(n) if n > 0 => Some(secs(self.request_timeout_seconds, 3600)),
            _ => None,
        }
    }
    /// `max_tokens` per turn; `None` (0 or unset) leaves it to the server, as upstream does.
    pub fn max_output_tokens(&self) -> Option<u32> {
        self.max_output_tokens.filter(|n| *n > 0).map(|n| n as u32)
    }
    pub fn bash_timeout(&self) -> std::time::Duration {
        secs(self.bash_timeout_seconds, 30)
    }
    /// Parsed temperature; `None` means "omit on the wire" (upstream behaviour for empty).
    pub fn temperature(&self) -> Option<f64> {
        self.temperature.as_deref().and_then(|t| t.parse().ok())
    }
    pub fn converge_turns(&self) -> u32 {
        self.converge_turns.map_or(0, |n| n.max(0) as u32)
    }
    pub fn tool_protocol(&self) -> ToolProtocol {
        self.tool_protocol.unwrap_or_default()
    }
    /// The reply cap in bytes (1 MiB unless set; at least 1 KiB).
    pub fn max_reply_bytes(&self) -> usize {
        match self.max_reply_bytes {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX).max(1024),
            _ => 1024 * 1024,
        }
    }
    /// Tool calls run per reply ([`DEFAULT_MAX_TOOL_CALLS_PER_TURN`] unless set; the
    /// operator's `[executor] max_tool_calls_per_turn` fills an unset field before a run).
    pub fn max_tool_calls_per_turn(&self) -> usize {
        match self.max_tool_calls_per_turn {
            Some(n) if n > 0 => n as usize,
            _ => DEFAULT_MAX_TOOL_CALLS_PER_TURN,
        }
    }
    /// Requests for changes allowed on one task (3 unless set; 0 = none).
    pub fn max_review_iterations(&self) -> u32 {
        self.max_review_iterations.map_or(3, |n| n.max(0) as u32)
    }
}

fn secs(v: Option<i32>, default: u64) -> std::time::Duration {
    std::time::Duration::from_secs(match v {
        Some(n) if n > 0 => n as u64,
        _ => default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(yaml: &str) -> AgentSpec {
        crate::api::yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn the_turn_timeout_is_heads_per_request_field_else_p550s() {
        let s = |secs| std::time::Duration::from_secs(secs);
        let p550 = agent("role: coder\ntools: [bash]\nrequestTimeoutSeconds: 900\n");
        assert_eq!(p550.request_timeout(), s(900));
        let head = agent(
            "role: coder\ntools: [bash]\nrequestTimeoutSeconds: 3600\nrequestTurnTimeoutSeconds: 90\n",
        );
        assert_eq!(head.request_timeout(), s(90));
        assert_eq!(
            agent("role: coder\ntools: [bash]\n").request_timeout(),
            s(600)
        );
    }

    #[test]
    fn zero_max_output_tokens_leaves_it_to_the_server() {
        let a = |n: &str| {
            agent(&format!(
                "role: coder\ntools: [bash]\nmaxOutputTokens: {n}\n"
            ))
        };
        assert_eq!(a("0").max_output_tokens(), None);
        assert_eq!(a("512").max_output_tokens(), Some(512));
        assert_eq!(
            agent("role: coder\ntools: [bash]\n").max_output_tokens(),
            None
        );
    }
}
