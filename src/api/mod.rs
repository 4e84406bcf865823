//! The four Foreman CRDs (`foreman.llmkube.dev/v1alpha1`), field-for-field compatible with
//! upstream LLMKube P550 and HEAD (spec §1, §12), plus a strict loader that names the file and field of any
//! mistake. Extensions beyond upstream are marked "extension" in their doc comments; on a
//! cluster with only upstream's CRDs they travel in an annotation (`extensions`).

pub mod agent;
pub mod agent_context;
pub mod agent_runtime;
pub mod common;
pub mod extensions;
pub mod fleetnode;
pub mod gate;
pub mod load;
pub mod object;
pub mod rules;
pub mod task;
pub mod workload;
pub mod yaml;

pub use agent::{
    Agent, AgentRole, AgentSandbox, AgentSpec, DEFAULT_MAX_TOOL_CALLS_PER_TURN, FewShotExample,
    SandboxNetwork, ToolProtocol,
};
pub use agent_context::{ContextStrategy, StuckLoopDetection};
pub use agent_runtime::{
    AgentExecution, AgentMcp, AgentVision, ExecutionMode, McpServer, Provider, ProviderConfig,
};
pub use common::{Accelerator, LocalObjectReference, RequiredCapability, SecretKeySelector};
pub use fleetnode::{
    FleetNode, FleetNodeCapability, FleetNodePhase, FleetNodeSpec, FleetNodeStatus,
};
pub use load::{LoadError, Object, load_file, load_file_with, load_str, load_str_with};
pub use task::{
    AgenticTask, AgenticTaskPayload, AgenticTaskSpec, AgenticTaskStatus, FailureReason, TaskKind,
    TaskPhase, Verdict,
};
pub use workload::{Workload, WorkloadSpec, WorkloadStatus};
pub use yaml::Limits;

/// API group shared by all four kinds.
pub const GROUP: &str = "foreman.llmkube.dev";
/// API version shared by all four kinds.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` as it appears in manifests.
pub const API_VERSION: &str = "foreman.llmkube.dev/v1alpha1";
